// SPDX-License-Identifier: Apache-2.0
/*
 * config_json.c - Firecracker's configuration objects (cJSON trees) into
 * struct vm_config and back: boot source, machine, drives, network
 * interfaces, rate limiters, logger, metrics; GET /machine-config and
 * GET /vm/config.
 *
 * Error texts copy Firecracker's where a client could depend on them
 * (docs/firecracker-compat.md). The rules on struct vm_config itself live
 * in config.c; this file reads JSON and calls them.
 *
 * May call: json_strict.c, config.c (checks, opening drive files and taps),
 * cpu_template.c (the templates' names), log.c, metrics.c, cJSON.
 *
 * Over 600 lines on purpose: one reader and one writer per Firecracker
 * object, each pair kept together so the JSON names a reader accepts and the
 * ones GET /vm/config writes cannot drift apart.
 */
#include "src/config_json.h"
#include "src/cpu_template.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/util.h"
#include "virtio/blk_file.h"
#include "virtio/blk_uring.h"
#include "virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const config_json_limiter_fields[] = { "bandwidth", "ops", NULL };

int config_json_resource_id(struct json_ctx *c, const char *id)
{
	char err[JSON_ERR_LEN];
	if (config_id_check(CONFIG_ID_RESOURCE, id, err, sizeof(err)) < 0)
		return json_fail(c, "%s", err);
	return 0;
}

/* ---- rate limiters ---- */

/* TokenBucket: unknown fields are accepted (Firecracker does not deny them). */
static int config_json_bucket(struct json_ctx *c, const cJSON *obj, const char *name,
			      struct ratelimit_bucket_config *b)
{
	const cJSON *f = json_field(obj, name);
	uint64_t size = 0, refill = 0, burst = 0;
	int r;

	memset(b, 0, sizeof(*b));
	if (!f)
		return 0;
	if ((r = json_check_object(c, f, "TokenBucket", NULL)) < 0 ||
	    (r = json_get_u64(c, f, "size", true, UINT64_MAX, &size)) < 0 ||
	    (r = json_get_u64(c, f, "refill_time", true, UINT64_MAX, &refill)) < 0 ||
	    (r = json_get_u64(c, f, "one_time_burst", false, UINT64_MAX, &burst)) < 0)
		return r;
	/* size 0 or refill_time 0 disables the bucket (TokenBucket::new -> None). */
	if (size && refill) {
		b->set = true;
		b->size = size;
		b->refill_time_ms = refill;
		b->one_time_burst = burst;
	}
	return 0;
}

static int config_json_limiter(struct json_ctx *c, const cJSON *obj, const char *name,
			       struct ratelimit_config *rl)
{
	const cJSON *f = json_field(obj, name);
	int r;

	memset(rl, 0, sizeof(*rl));
	if (!f)
		return 0;
	if ((r = json_check_object(c, f, "RateLimiterConfig", config_json_limiter_fields)) < 0 ||
	    (r = config_json_bucket(c, f, "bandwidth", &rl->bandwidth)) < 0 ||
	    (r = config_json_bucket(c, f, "ops", &rl->ops)) < 0)
		return r;
	return 0;
}

int config_json_patch_limiter(struct json_ctx *c, const cJSON *obj, const char *name,
			      struct ratelimit_config *rl)
{
	const cJSON *f = json_field(obj, name);
	struct ratelimit_bucket_config b;
	int r;

	if (!f)
		return 0;
	if ((r = json_check_object(c, f, "RateLimiterConfig", config_json_limiter_fields)) < 0)
		return r;
	if (cJSON_GetObjectItemCaseSensitive(f, "bandwidth")) {
		if ((r = config_json_bucket(c, f, "bandwidth", &b)) < 0)
			return r;
		rl->bandwidth = b;
	}
	if (cJSON_GetObjectItemCaseSensitive(f, "ops")) {
		if ((r = config_json_bucket(c, f, "ops", &b)) < 0)
			return r;
		rl->ops = b;
	}
	return 0;
}

/* ---- JSON -> struct vm_config ---- */

int config_json_boot_source(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj)
{
	static const char *const fields[] = { "kernel_image_path", "boot_args", "initrd_path",
					      NULL };
	struct config_boot *b = malloc(sizeof(*b));
	char verr[JSON_ERR_LEN];
	int r;

	if (!b)
		return json_fail(c, "out of memory");
	memset(b, 0, sizeof(*b));
	if ((r = json_check_object(c, obj, "BootSourceConfig", fields)) < 0 ||
	    (r = json_get_str(c, obj, "kernel_image_path", true, b->kernel_path,
			      sizeof(b->kernel_path))) < 0 ||
	    (r = json_get_str(c, obj, "initrd_path", false, b->initrd_path,
			      sizeof(b->initrd_path))) < 0)
		goto out;
	r = json_get_str(c, obj, "boot_args", false, b->boot_args, sizeof(b->boot_args));
	if (r < 0) {
		if (cJSON_IsString(json_field(obj, "boot_args")))
			json_fail(c, "Boot source error: The kernel command line is too long: "
				  "boot_args must be shorter than %zu bytes.", sizeof(b->boot_args));
		goto out;
	}
	b->boot_args_set = r > 0;
	b->set = true;
	r = config_boot_validate(b, verr, sizeof(verr));
	if (r < 0) {
		json_fail(c, "Boot source error: %s", verr);
		goto out;
	}
	cfg->boot = *b;
	r = 0;
out:
	free(b);
	return r;
}

static const char *const config_json_huge_pages[] = { "None", "Transparent", "2M", NULL };
/* Firecracker's x86_64 variants, in its order (the "expected one of" list). */
static const char *const config_json_cpu_templates[] = { "C3", "T2", "T2S", "None", "T2CL", "T2A",
							  NULL };

/* cpu_template: an absent or null field keeps *t (in a PUT too, as
 * Firecracker does), "None" clears it. */
static int config_json_cpu_template(struct json_ctx *c, const cJSON *obj,
				    enum config_cpu_template *t)
{
	int i = 0, r = json_get_enum(c, obj, "cpu_template", false, config_json_cpu_templates, &i);
	if (r <= 0)
		return r;
	for (int k = 0; k < CONFIG_CPU_TEMPLATE_COUNT; k++)
		if (!strcmp(cpu_template_name((enum config_cpu_template)k),
			    config_json_cpu_templates[i]))
			*t = (enum config_cpu_template)k;
	return 0;
}

int config_json_machine_read(struct json_ctx *c, const struct config_machine *cur,
			     const cJSON *obj, bool patch, struct config_machine *out)
{
	static const char *const fields[] = { "vcpu_count", "mem_size_mib", "smt", "cpu_template",
					      "track_dirty_pages", "huge_pages", NULL };
	struct config_machine m;
	uint64_t vcpus = 0, mem = 0;
	int r, huge = 0, nfields = 0;

	if ((r = json_check_object(c, obj, "MachineConfig", fields)) < 0)
		return r;
	if (patch) {
		m = *cur;
		/* serde reads null as None: {"vcpu_count": null} is empty too. */
		for (const cJSON *f = obj->child; f; f = f->next)
			if (!cJSON_IsNull(f))
				nfields++;
		if (!nfields)
			return json_fail(c, "Empty PATCH request.");
	} else {
		memset(&m, 0, sizeof(m));
		m.huge_pages = CONFIG_HUGE_NONE;
		m.cpu_template = cur->cpu_template;
	}
	/* vcpu_count is a u8 in Firecracker: 256 is a type error there. */
	if ((r = json_get_u64(c, obj, "vcpu_count", !patch, 255, &vcpus)) < 0)
		return r;
	if (r)
		m.vcpu_count = (unsigned)vcpus;
	if ((r = json_get_u64(c, obj, "mem_size_mib", !patch, UINT64_MAX, &mem)) < 0)
		return r;
	if (r)
		m.mem_size_mib = mem;
	if ((r = json_get_bool(c, obj, "smt", false, &m.smt)) < 0 ||
	    (r = json_get_bool(c, obj, "track_dirty_pages", false, &m.track_dirty_pages)) < 0 ||
	    (r = config_json_cpu_template(c, obj, &m.cpu_template)) < 0)
		return r;
	if ((r = json_get_enum(c, obj, "huge_pages", false, config_json_huge_pages, &huge)) < 0)
		return r;
	if (r) {
		if (huge == 1)
			return json_fail(c, "Machine config error: ember does not support "
					 "huge_pages \"Transparent\" (use \"None\" or \"2M\").");
		m.huge_pages = huge == 2 ? CONFIG_HUGE_2M : CONFIG_HUGE_NONE;
	}
	*out = m;
	return 0;
}

int config_json_machine_apply(struct json_ctx *c, struct vm_config *cfg,
			      const struct config_machine *m)
{
	char verr[JSON_ERR_LEN];
	if (config_machine_validate(m, verr, sizeof(verr)) < 0)
		return json_fail(c, "Machine config error: %s", verr);
	cfg->machine = *m;
	return 0;
}

int config_json_machine(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj, bool patch)
{
	struct config_machine m;
	int r = config_json_machine_read(c, &cfg->machine, obj, patch, &m);
	return r < 0 ? r : config_json_machine_apply(c, cfg, &m);
}

/* io_engine "Async": refused at PUT time, with Firecracker's words, when
 * this host cannot run the io_uring engine (no io_uring, or disabled by
 * kernel.io_uring_disabled or a seccomp filter: --seccomp-filter can
 * simulate it with {"errno": 38} for io_uring_setup). */
static int config_json_async_check(struct json_ctx *c)
{
	int r = blk_uring_probe();
	if (r == 0)
		return 0;
	if (blk_uring_unsupported(r))
		return json_fail(c, "Drive config error: Unable to create the virtio block "
				 "device: Virtio backend error: Error coming from the IO engine: "
				 "Unsupported engine type: Async");
	return json_fail(c, "Drive config error: Unable to create the virtio block device: "
			 "Virtio backend error: Error coming from the IO engine: Async error: "
			 "IoUring: Error calling io_uring_setup: %s (os error %d)",
			 strerror(-r), -r);
}

int config_json_drive(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj,
		      const char *path_id)
{
	static const char *const fields[] = { "drive_id", "is_root_device", "partuuid",
		"cache_type", "is_read_only", "path_on_host", "rate_limiter", "io_engine",
		"socket", NULL };
	static const char *const caches[] = { "Unsafe", "Writeback", NULL };
	static const char *const engines[] = { "Sync", "Async", NULL };
	struct config_drive d;
	char verr[JSON_ERR_LEN];
	int r, cache = 0, engine = 0;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	if ((r = json_check_object(c, obj, "BlockDeviceConfig", fields)) < 0 ||
	    (r = json_get_str(c, obj, "drive_id", true, d.drive_id, sizeof(d.drive_id))) < 0 ||
	    (r = json_get_bool(c, obj, "is_root_device", true, &d.is_root_device)) < 0 ||
	    (r = json_get_str(c, obj, "partuuid", false, d.partuuid, sizeof(d.partuuid))) < 0 ||
	    (r = json_get_enum(c, obj, "cache_type", false, caches, &cache)) < 0 ||
	    (r = json_get_bool(c, obj, "is_read_only", false, &d.is_read_only)) < 0 ||
	    (r = config_json_limiter(c, obj, "rate_limiter", &d.rate_limiter)) < 0 ||
	    (r = json_get_enum(c, obj, "io_engine", false, engines, &engine)) < 0)
		return r;
	if (path_id && strcmp(path_id, d.drive_id) != 0)
		return json_fail(c, "The id from the path does not match the id from the body!");
	if ((r = config_json_resource_id(c, d.drive_id)) < 0)
		return r;
	if (json_field(obj, "socket"))
		return json_fail(c, "Drive config error: ember does not support vhost-user block "
				 "devices (socket).");
	if (engine == 1 && (r = config_json_async_check(c)) < 0)
		return r;
	d.io_engine = engine == 1 ? CONFIG_IO_ASYNC : CONFIG_IO_SYNC;
	d.cache_type = cache ? CONFIG_CACHE_WRITEBACK : CONFIG_CACHE_UNSAFE;
	if ((r = json_get_str(c, obj, "path_on_host", true, d.path_on_host,
			      sizeof(d.path_on_host))) < 0)
		return r;
	/* The cheap rules before opening the file. */
	if ((r = config_drive_check(cfg, &d, verr, sizeof(verr))) < 0 ||
	    (r = config_json_drive_open(&d, verr, sizeof(verr))) < 0)
		return json_fail(c, "Drive config error: %s", verr), r;
	if ((r = config_drive_put(cfg, &d, verr, sizeof(verr))) < 0) {
		close(d.fd);
		return json_fail(c, "Drive config error: %s", verr), r;
	}
	return 0;
}

int config_json_drive_open(struct config_drive *d, char *err, size_t errlen)
{
	char why[JSON_ERR_LEN];
	int fd = blk_file_open(d->path_on_host, d->is_read_only, why, sizeof(why));
	if (fd < 0)
		return util_err(err, errlen, fd, "path_on_host: %s", why);
	d->fd = fd;
	return 0;
}

/* n's tap: a copy of the fd of the interface n replaces when that keeps its
 * host_dev_name (a tap is attached to one fd at a time; config_net_put()
 * then closes the old one), else opened. */
static int config_json_net_tap(struct json_ctx *c, const struct vm_config *cfg,
			       struct config_net *n)
{
	int idx = config_net_find(cfg, n->iface_id);
	const struct config_net *old = idx >= 0 ? &cfg->nets[idx] : NULL;
	char verr[JSON_ERR_LEN];
	int r;

	if (old && old->tap_fd >= 0 && strcmp(old->host_dev_name, n->host_dev_name) == 0) {
		n->tap_fd = fcntl(old->tap_fd, F_DUPFD_CLOEXEC, 3);
		if (n->tap_fd < 0) {
			int e = errno;
			json_fail(c, "Network config error: host_dev_name %s: dup: %s",
				  n->host_dev_name, strerror(e));
			return -e;
		}
	} else if ((r = tap_open(n->host_dev_name, verr, sizeof(verr))) < 0) {
		return json_fail(c, "Network config error: Could not create the network device: %s",
				 verr), r;
	} else {
		n->tap_fd = r;
	}
	return 0;
}

int config_json_net(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj,
		    const char *path_id)
{
	static const char *const fields[] = { "iface_id", "host_dev_name", "guest_mac", "mtu",
		"rx_rate_limiter", "tx_rate_limiter", NULL };
	struct config_net n;
	char mac[32], verr[JSON_ERR_LEN];
	uint64_t mtu = 0;
	int r;

	memset(&n, 0, sizeof(n));
	n.tap_fd = -1;
	if ((r = json_check_object(c, obj, "NetworkInterfaceConfig", fields)) < 0 ||
	    (r = json_get_str(c, obj, "iface_id", true, n.iface_id, sizeof(n.iface_id))) < 0 ||
	    (r = json_get_str(c, obj, "host_dev_name", true, n.host_dev_name,
			      sizeof(n.host_dev_name))) < 0)
		return r;
	if ((r = json_get_str(c, obj, "guest_mac", false, mac, sizeof(mac))) < 0)
		return r;
	if (r) {
		if (config_mac_parse(mac, n.guest_mac) < 0)
			return json_deser(c, "invalid value: string \"%s\" for field `guest_mac`, "
					  "expected a MAC address like 06:00:AC:10:00:02", mac);
		n.has_guest_mac = true;
	}
	if ((r = json_get_u64(c, obj, "mtu", false, 65535, &mtu)) < 0)
		return r;
	if (r && mtu < 68)
		return json_fail(c, "Network config error: mtu must be between 68 and 65535.");
	n.mtu = (unsigned)mtu;
	if ((r = config_json_limiter(c, obj, "rx_rate_limiter", &n.rx_rate_limiter)) < 0 ||
	    (r = config_json_limiter(c, obj, "tx_rate_limiter", &n.tx_rate_limiter)) < 0)
		return r;
	if (path_id && strcmp(path_id, n.iface_id) != 0)
		return json_fail(c, "The id from the path [%s] does not match the id from the "
				 "body [%s]!", path_id, n.iface_id);
	if ((r = config_json_resource_id(c, n.iface_id)) < 0)
		return r;
	/* The cheap rules, then the tap: a failed PUT changes nothing. */
	if ((r = config_net_check(cfg, &n, n.has_guest_mac ? mac : NULL, verr, sizeof(verr))) < 0)
		return json_fail(c, "Network config error: %s", verr);
	if ((r = config_json_net_tap(c, cfg, &n)) < 0)
		return r;
	if ((r = config_net_put(cfg, &n, verr, sizeof(verr))) < 0) {
		close(n.tap_fd);
		return json_fail(c, "Network config error: %s", verr), r;
	}
	return 0;
}

/* Last format set through the API or the config file (log.c has no getter). */
static bool config_json_log_show_level = true, config_json_log_show_origin;

int config_json_logger(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj)
{
	static const char *const fields[] = { "log_path", "level", "show_level",
					      "show_log_origin", "module", NULL };
	struct config_logger *l = &cfg->logger;
	char path[PATH_MAX], level[32], module[sizeof(l->module)];
	bool show_level = config_json_log_show_level, show_origin = config_json_log_show_origin;
	enum log_level lvl = log_get_level();
	int r, has_path, has_level, has_module;

	if ((r = json_check_object(c, obj, "LoggerConfig", fields)) < 0 ||
	    (has_path = r = json_get_str(c, obj, "log_path", false, path, sizeof(path))) < 0 ||
	    (has_level = r = json_get_str(c, obj, "level", false, level, sizeof(level))) < 0 ||
	    (r = json_get_bool(c, obj, "show_level", false, &show_level)) < 0 ||
	    (r = json_get_bool(c, obj, "show_log_origin", false, &show_origin)) < 0)
		return r;
	if (has_level && log_level_parse(level, &lvl) < 0)
		return json_deser(c, "unknown variant `%s` for field `level`, expected one of "
				  "`Error`, `Warning`, `Info`, `Debug`, `Trace`, `Off`", level);
	has_module = r = json_get_str(c, obj, "module", false, module, sizeof(module));
	if (r < 0 && cJSON_IsString(json_field(obj, "module")))
		return json_fail(c, "Logger error: module \"%.64s...\" is not one of ember's "
				 "modules: " LOG_MODULE_RULE ".",
				 json_field(obj, "module")->valuestring);
	if (r < 0)
		return r;
	if (has_module && !log_module_valid(module))
		return json_fail(c, "Logger error: module \"%s\" is not one of ember's modules: "
				 LOG_MODULE_RULE ".", module);
	if (has_path) {
		r = log_open(path);
		if (r < 0)
			return json_fail(c, "Logger error: Failed to open target file: %s: %s "
					 "(os error %d)", path, strerror(-r), -r), r;
		snprintf(l->log_path, sizeof(l->log_path), "%s", path);
	}
	if (has_module)
		log_set_module(module); /* checked above */
	log_set_level(lvl);
	log_set_format(show_level, show_origin);
	config_json_log_show_level = show_level;
	config_json_log_show_origin = show_origin;
	l->set = true;
	l->level = (int)lvl;
	l->show_level = show_level;
	l->show_log_origin = show_origin;
	if (has_module)
		snprintf(l->module, sizeof(l->module), "%s", module);
	return 0;
}

int config_json_metrics(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj,
			const char *instance_id)
{
	char path[PATH_MAX];
	bool emit_id = false;
	int r;

	if ((r = json_check_object(c, obj, "MetricsConfig", NULL)) < 0 ||
	    (r = json_get_str(c, obj, "metrics_path", true, path, sizeof(path))) < 0 ||
	    (r = json_get_bool(c, obj, "emit_id", false, &emit_id)) < 0)
		return r;
	r = metrics_open(path);
	if (r == -EALREADY)
		return json_fail(c, "Metrics error: Cannot initialize the metrics system due to "
				 "bad user input: Reinitialization of metrics not allowed."), r;
	if (r < 0)
		return json_fail(c, "Metrics error: Cannot initialize the metrics system due to "
				 "bad user input: %s: %s (os error %d)", path, strerror(-r), -r), r;
	if (emit_id)
		metrics_set_id(instance_id ? instance_id : "anonymous-instance");
	cfg->metrics.set = true;
	snprintf(cfg->metrics.metrics_path, sizeof(cfg->metrics.metrics_path), "%s", path);
	return 0;
}

int config_json_serial(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj)
{
	static const char *const fields[] = { "serial_out_path", "rate_limiter", NULL };
	struct config_serial *sc = malloc(sizeof(*sc));
	char verr[JSON_ERR_LEN];
	int r, has_path = 0;

	if (!sc)
		return json_fail(c, "out of memory");
	memset(sc, 0, sizeof(*sc));
	sc->out_fd = -1;
	if ((r = json_check_object(c, obj, "SerialConfig", fields)) < 0 ||
	    (has_path = r = json_get_str(c, obj, "serial_out_path", false, sc->out_path,
					 sizeof(sc->out_path))) < 0 ||
	    (r = config_json_bucket(c, obj, "rate_limiter", &sc->rate_limiter)) < 0)
		goto out;
	if (has_path && !sc->out_path[0]) {
		r = json_fail(c, "Serial config error: serial_out_path is empty.");
		goto out;
	}
	if (sc->out_path[0] && (r = config_serial_open(sc, verr, sizeof(verr))) < 0) {
		json_fail(c, "Serial config error: %s", verr);
		goto out;
	}
	sc->set = true;
	config_serial_put(cfg, sc);
	r = 0;
out:
	free(sc);
	return r;
}

/* ---- struct vm_config -> JSON ---- */

static cJSON *config_json_from_bucket(const struct ratelimit_bucket_config *b)
{
	if (!b->set)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "size", (double)b->size);
	if (b->one_time_burst)
		cJSON_AddNumberToObject(o, "one_time_burst", (double)b->one_time_burst);
	else
		cJSON_AddNullToObject(o, "one_time_burst");
	cJSON_AddNumberToObject(o, "refill_time", (double)b->refill_time_ms);
	return o;
}

static cJSON *config_json_from_limiter(const struct ratelimit_config *rl)
{
	if (!rl->bandwidth.set && !rl->ops.set)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "bandwidth", config_json_from_bucket(&rl->bandwidth));
	cJSON_AddItemToObject(o, "ops", config_json_from_bucket(&rl->ops));
	return o;
}

cJSON *config_json_from_machine(const struct config_machine *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "vcpu_count", m->vcpu_count);
	cJSON_AddNumberToObject(o, "mem_size_mib", (double)m->mem_size_mib);
	cJSON_AddBoolToObject(o, "smt", m->smt);
	if (m->cpu_template != CONFIG_CPU_TEMPLATE_NONE) /* Firecracker omits it then */
		cJSON_AddStringToObject(o, "cpu_template", cpu_template_name(m->cpu_template));
	cJSON_AddBoolToObject(o, "track_dirty_pages", m->track_dirty_pages);
	cJSON_AddStringToObject(o, "huge_pages", m->huge_pages == CONFIG_HUGE_2M ? "2M" : "None");
	return o;
}

static void config_json_add_str_or_null(cJSON *o, const char *name, const char *s, bool set)
{
	if (set)
		cJSON_AddStringToObject(o, name, s);
	else
		cJSON_AddNullToObject(o, name);
}

static cJSON *config_json_from_drive(const struct config_drive *d)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "drive_id", d->drive_id);
	config_json_add_str_or_null(j, "partuuid", d->partuuid, d->partuuid[0]);
	cJSON_AddBoolToObject(j, "is_root_device", d->is_root_device);
	cJSON_AddStringToObject(j, "cache_type",
				d->cache_type == CONFIG_CACHE_WRITEBACK ? "Writeback" : "Unsafe");
	cJSON_AddBoolToObject(j, "is_read_only", d->is_read_only);
	cJSON_AddStringToObject(j, "path_on_host", d->path_on_host);
	cJSON_AddItemToObject(j, "rate_limiter", config_json_from_limiter(&d->rate_limiter));
	cJSON_AddStringToObject(j, "io_engine", d->io_engine == CONFIG_IO_ASYNC ? "Async" : "Sync");
	cJSON_AddNullToObject(j, "socket");
	return j;
}

static cJSON *config_json_from_net(const struct config_net *n)
{
	cJSON *j = cJSON_CreateObject();
	char mac[18];
	config_mac_format(n->guest_mac, mac);
	cJSON_AddStringToObject(j, "iface_id", n->iface_id);
	cJSON_AddStringToObject(j, "host_dev_name", n->host_dev_name);
	config_json_add_str_or_null(j, "guest_mac", mac, n->has_guest_mac);
	if (n->mtu)
		cJSON_AddNumberToObject(j, "mtu", n->mtu);
	else
		cJSON_AddNullToObject(j, "mtu");
	cJSON_AddItemToObject(j, "rx_rate_limiter", config_json_from_limiter(&n->rx_rate_limiter));
	cJSON_AddItemToObject(j, "tx_rate_limiter", config_json_from_limiter(&n->tx_rate_limiter));
	return j;
}

cJSON *config_json_from_config(const struct vm_config *cfg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNullToObject(o, "balloon");
	cJSON *drives = cJSON_AddArrayToObject(o, "drives");
	for (unsigned i = 0; i < cfg->ndrives; i++)
		cJSON_AddItemToArray(drives, config_json_from_drive(&cfg->drives[i]));
	cJSON *boot = cJSON_AddObjectToObject(o, "boot-source");
	cJSON_AddStringToObject(boot, "kernel_image_path", cfg->boot.kernel_path);
	config_json_add_str_or_null(boot, "initrd_path", cfg->boot.initrd_path,
				    cfg->boot.initrd_path[0]);
	config_json_add_str_or_null(boot, "boot_args", cfg->boot.boot_args,
				    cfg->boot.boot_args_set);
	cJSON_AddNullToObject(o, "cpu-config");
	cJSON_AddNullToObject(o, "logger");
	cJSON_AddItemToObject(o, "machine-config", config_json_from_machine(&cfg->machine));
	cJSON_AddNullToObject(o, "metrics");
	cJSON_AddNullToObject(o, "mmds-config");
	cJSON *nets = cJSON_AddArrayToObject(o, "network-interfaces");
	for (unsigned i = 0; i < cfg->nnets; i++)
		cJSON_AddItemToArray(nets, config_json_from_net(&cfg->nets[i]));
	cJSON_AddNullToObject(o, "vsock");
	cJSON_AddNullToObject(o, "entropy");
	cJSON_AddArrayToObject(o, "pmem");
	cJSON_AddNullToObject(o, "memory-hotplug");
	if (cfg->serial.set) {
		/* Only once configured: Firecracker's output has no such key. */
		cJSON *ser = cJSON_AddObjectToObject(o, "serial");
		config_json_add_str_or_null(ser, "serial_out_path", cfg->serial.out_path,
					    cfg->serial.out_path[0]);
		cJSON_AddItemToObject(ser, "rate_limiter",
				      config_json_from_bucket(&cfg->serial.rate_limiter));
	}
	return o;
}
