// SPDX-License-Identifier: Apache-2.0
/*
 * api.c - Firecracker's API on top of api_http: routing, request bodies
 * (cJSON) to struct vm_config, the actions, and --config-file.
 *
 * Error texts copy Firecracker's where a client could depend on them
 * (docs/firecracker-compat.md); deserialization errors imitate
 * serde's wording ("missing field `x`", "unknown field `x`, expected one of
 * ...").
 */
#include "api.h"
#include "devices.h"
#include "log.h"
#include "metrics.h"
#include "timeline.h"
#include "utf8.h"
#include "vm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

#define API_ERR_LEN 1024

static const char API_DESER_PREFIX[] =
	"An error occurred when deserializing the json body of a request: ";
static const char API_ERR_AFTER_BOOT[] =
	"The requested operation is not supported after starting the microVM.";
static const char API_ERR_BEFORE_BOOT[] =
	"The requested operation is not supported before starting the microVM.";

struct api {
	struct evloop *loop;
	struct api_http_server *srv;
	struct vm_config *cfg;
	struct vm *vm;
	bool owns_vm;                 /* started by InstanceStart: destroyed by us */
	char id[CONFIG_ID_MAX + 1];
	bool show_level, show_origin; /* last logger format set through us */
};

/* What one request or config-file section is applied to. */
struct api_ctx {
	struct vm_config *cfg;
	bool file;     /* from --config-file: no serde prefix */
	char *err;
	size_t errlen;
};

static int api_fail(struct api_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int api_fail(struct api_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A deserialization error, worded like serde's. */
static int api_deser(struct api_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int api_deser(struct api_ctx *c, const char *fmt, ...)
{
	char msg[API_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s%s.", c->file ? "" : API_DESER_PREFIX, msg);
	return -EINVAL;
}

/* ---- typed field access ---- */

/* Reject non-objects, unknown fields (unless allowed is NULL) and
 * duplicates. allowed is NULL-terminated. */
static int api_check_object(struct api_ctx *c, const cJSON *obj, const char *what,
			    const char *const *allowed)
{
	if (!cJSON_IsObject(obj))
		return api_deser(c, "invalid type: expected struct %s", what);
	for (const cJSON *f = obj->child; f; f = f->next) {
		for (const cJSON *g = obj->child; g != f; g = g->next)
			if (strcmp(g->string, f->string) == 0)
				return api_deser(c, "duplicate field `%s`", f->string);
		if (!allowed)
			continue;
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, f->string) == 0)
				ok = true;
		if (!ok) {
			char list[512] = "";
			size_t off = 0;
			for (const char *const *a = allowed; *a && off < sizeof(list); a++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s`%s`",
							a == allowed ? "" : ", ", *a);
			return api_deser(c, "unknown field `%s`, expected one of %s", f->string, list);
		}
	}
	return 0;
}

/* The field, NULL if absent or null (Option<T> = None). */
static const cJSON *api_field(const cJSON *obj, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
	return f && !cJSON_IsNull(f) ? f : NULL;
}

static const char *api_type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsArray(v))
		return "sequence";
	if (cJSON_IsObject(v))
		return "map";
	return "null";
}

static int api_missing(struct api_ctx *c, const cJSON *obj, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (f) /* present but null */
		return api_deser(c, "invalid type: null for field `%s`", name);
	return api_deser(c, "missing field `%s`", name);
}

/* Returns 1 if found, 0 if absent (required: error), <0 on error. */
static int api_get_str(struct api_ctx *c, const cJSON *obj, const char *name, bool required,
		       char *out, size_t outlen)
{
	const cJSON *f = api_field(obj, name);
	if (!f)
		return required ? api_missing(c, obj, name) : 0;
	if (!cJSON_IsString(f))
		return api_deser(c, "invalid type: %s for field `%s`, expected a string",
				 api_type_name(f), name);
	if (strlen(f->valuestring) >= outlen)
		return api_fail(c, "%s: value too long (at most %zu bytes)", name, outlen - 1);
	strcpy(out, f->valuestring);
	return 1;
}

static int api_get_bool(struct api_ctx *c, const cJSON *obj, const char *name, bool required,
			bool *out)
{
	const cJSON *f = api_field(obj, name);
	if (!f)
		return required ? api_missing(c, obj, name) : 0;
	if (!cJSON_IsBool(f))
		return api_deser(c, "invalid type: %s for field `%s`, expected a boolean",
				 api_type_name(f), name);
	*out = cJSON_IsTrue(f);
	return 1;
}

/* A number node whose literal had a fraction or an exponent ("512.0",
 * "5.12e2"): serde refuses those for integer fields even when the value is
 * whole. A bit of cJSON's type word cJSON itself never uses. */
#define API_NUM_FLOAT (1 << 14)

static int api_get_u64(struct api_ctx *c, const cJSON *obj, const char *name, bool required,
		       uint64_t max, uint64_t *out)
{
	const cJSON *f = api_field(obj, name);
	if (!f)
		return required ? api_missing(c, obj, name) : 0;
	if (!cJSON_IsNumber(f))
		return api_deser(c, "invalid type: %s for field `%s`, expected an integer",
				 api_type_name(f), name);
	double d = f->valuedouble;
	if (f->type & API_NUM_FLOAT) {
		/* serde: "floating point `512.0`" (Display keeps a decimal point) */
		char num[64];
		snprintf(num, sizeof(num), "%.17g", d);
		if (!strpbrk(num, ".eEin"))
			strcat(num, ".0");
		return api_deser(c, "invalid type: floating point `%s` for field `%s`, expected "
				 "an integer", num, name);
	}
	if (d < 0 || d != floor(d))
		return api_deser(c, "invalid value: %g for field `%s`, expected a non-negative "
				 "integer", d, name);
	if (d > (double)max)
		return api_deser(c, "invalid value: %g for field `%s`, expected at most %llu",
				 d, name, (unsigned long long)max);
	*out = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
	return 1;
}

/* One of `names` (NULL-terminated); returns the index via *out. */
static int api_get_enum(struct api_ctx *c, const cJSON *obj, const char *name, bool required,
			const char *const *names, int *out)
{
	char v[64];
	int r = api_get_str(c, obj, name, required, v, sizeof(v));
	if (r <= 0) {
		if (r < 0 && cJSON_IsString(api_field(obj, name)))
			goto unknown; /* too long: cannot be a variant */
		return r;
	}
	for (int i = 0; names[i]; i++) {
		if (strcmp(names[i], v) == 0) {
			*out = i;
			return 1;
		}
	}
unknown:;
	char list[256] = "";
	size_t off = 0;
	for (int i = 0; names[i] && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s`%s`",
					i ? ", " : "", names[i]);
	return api_deser(c, "unknown variant `%.64s` for field `%s`, expected one of %s",
			 api_field(obj, name)->valuestring, name, list);
}

/* Resource ids in paths and bodies: config_id_check()'s CONFIG_ID_RESOURCE. */
static int api_check_id(struct api_ctx *c, const char *id)
{
	char err[API_ERR_LEN];
	if (config_id_check(CONFIG_ID_RESOURCE, id, err, sizeof(err)) < 0)
		return api_fail(c, "%s", err);
	return 0;
}

/* TokenBucket: unknown fields are accepted (Firecracker does not deny them). */
static int api_parse_bucket(struct api_ctx *c, const cJSON *obj, const char *name,
			    struct config_token_bucket *b)
{
	const cJSON *f = api_field(obj, name);
	uint64_t size = 0, refill = 0, burst = 0;
	int r;

	memset(b, 0, sizeof(*b));
	if (!f)
		return 0;
	if ((r = api_check_object(c, f, "TokenBucket", NULL)) < 0 ||
	    (r = api_get_u64(c, f, "size", true, UINT64_MAX, &size)) < 0 ||
	    (r = api_get_u64(c, f, "refill_time", true, UINT64_MAX, &refill)) < 0 ||
	    (r = api_get_u64(c, f, "one_time_burst", false, UINT64_MAX, &burst)) < 0)
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

static int api_parse_limiter(struct api_ctx *c, const cJSON *obj, const char *name,
			     struct config_rate_limiter *rl)
{
	static const char *const fields[] = { "bandwidth", "ops", NULL };
	const cJSON *f = api_field(obj, name);
	int r;

	memset(rl, 0, sizeof(*rl));
	if (!f)
		return 0;
	if ((r = api_check_object(c, f, "RateLimiterConfig", fields)) < 0 ||
	    (r = api_parse_bucket(c, f, "bandwidth", &rl->bandwidth)) < 0 ||
	    (r = api_parse_bucket(c, f, "ops", &rl->ops)) < 0)
		return r;
	return 0;
}

/* PATCH semantics (Firecracker vmm_config): an absent bucket stays as it
 * is; size 0 or refill_time 0 disables it; otherwise it is replaced. */
static int api_patch_limiter(struct api_ctx *c, const cJSON *obj, const char *name,
			     struct config_rate_limiter *rl)
{
	static const char *const fields[] = { "bandwidth", "ops", NULL };
	const cJSON *f = api_field(obj, name);
	struct config_token_bucket b;
	int r;

	if (!f)
		return 0;
	if ((r = api_check_object(c, f, "RateLimiterConfig", fields)) < 0)
		return r;
	if (cJSON_GetObjectItemCaseSensitive(f, "bandwidth")) {
		if ((r = api_parse_bucket(c, f, "bandwidth", &b)) < 0)
			return r;
		rl->bandwidth = b;
	}
	if (cJSON_GetObjectItemCaseSensitive(f, "ops")) {
		if ((r = api_parse_bucket(c, f, "ops", &b)) < 0)
			return r;
		rl->ops = b;
	}
	return 0;
}

/* ---- the configuration objects (shared by the API and --config-file) ---- */

static int api_apply_boot_source(struct api_ctx *c, const cJSON *obj)
{
	static const char *const fields[] = { "kernel_image_path", "boot_args", "initrd_path", NULL };
	struct config_boot *b = malloc(sizeof(*b));
	int r;

	if (!b)
		return api_fail(c, "out of memory");
	memset(b, 0, sizeof(*b));
	if ((r = api_check_object(c, obj, "BootSourceConfig", fields)) < 0 ||
	    (r = api_get_str(c, obj, "kernel_image_path", true, b->kernel_path,
			     sizeof(b->kernel_path))) < 0 ||
	    (r = api_get_str(c, obj, "initrd_path", false, b->initrd_path,
			     sizeof(b->initrd_path))) < 0)
		goto out;
	r = api_get_str(c, obj, "boot_args", false, b->boot_args, sizeof(b->boot_args));
	if (r < 0) {
		if (cJSON_IsString(api_field(obj, "boot_args")))
			api_fail(c, "Boot source error: The kernel command line is too long: "
				 "boot_args must be shorter than %zu bytes.", sizeof(b->boot_args));
		goto out;
	}
	b->boot_args_set = r > 0;
	b->set = true;
	char verr[API_ERR_LEN];
	r = config_boot_validate(b, verr, sizeof(verr));
	if (r < 0) {
		api_fail(c, "Boot source error: %s", verr);
		goto out;
	}
	c->cfg->boot = *b;
	r = 0;
out:
	free(b);
	return r;
}

static const char *const api_huge_names[] = { "None", "Transparent", "2M", NULL };
static const char *const api_cpu_templates[] = { "C3", "T2", "T2S", "None", "T2CL", "T2A",
						  "V1N1", NULL };

/* PUT (patch false): required fields, omitted optional ones reset.
 * PATCH: any non-empty subset, merged; all-or-nothing. */
static int api_apply_machine(struct api_ctx *c, const cJSON *obj, bool patch)
{
	static const char *const fields[] = { "vcpu_count", "mem_size_mib", "smt", "cpu_template",
					      "track_dirty_pages", "huge_pages", NULL };
	struct config_machine m;
	uint64_t vcpus = 0, mem = 0;
	int r, huge = 0, tmpl = 0, nfields = 0;

	if ((r = api_check_object(c, obj, "MachineConfig", fields)) < 0)
		return r;
	if (patch) {
		m = c->cfg->machine;
		/* serde reads null as None: {"vcpu_count": null} is empty too. */
		for (const cJSON *f = obj->child; f; f = f->next)
			if (!cJSON_IsNull(f))
				nfields++;
		if (!nfields)
			return api_fail(c, "Empty PATCH request.");
	} else {
		memset(&m, 0, sizeof(m));
		m.huge_pages = CONFIG_HUGE_NONE;
	}
	/* vcpu_count is a u8 in Firecracker: 256 is a type error there. */
	if ((r = api_get_u64(c, obj, "vcpu_count", !patch, 255, &vcpus)) < 0)
		return r;
	if (r)
		m.vcpu_count = (unsigned)vcpus;
	if ((r = api_get_u64(c, obj, "mem_size_mib", !patch, UINT64_MAX, &mem)) < 0)
		return r;
	if (r)
		m.mem_size_mib = mem;
	if ((r = api_get_bool(c, obj, "smt", false, &m.smt)) < 0 ||
	    (r = api_get_bool(c, obj, "track_dirty_pages", false, &m.track_dirty_pages)) < 0)
		return r;
	if ((r = api_get_enum(c, obj, "cpu_template", false, api_cpu_templates, &tmpl)) < 0)
		return r;
	if (r && strcmp(api_cpu_templates[tmpl], "None") != 0)
		return api_fail(c, "Machine config error: ember does not support CPU templates "
				"(cpu_template \"%s\").", api_cpu_templates[tmpl]);
	if ((r = api_get_enum(c, obj, "huge_pages", false, api_huge_names, &huge)) < 0)
		return r;
	if (r) {
		if (huge == 1)
			return api_fail(c, "Machine config error: ember does not support "
					"huge_pages \"Transparent\" (use \"None\" or \"2M\").");
		m.huge_pages = huge == 2 ? CONFIG_HUGE_2M : CONFIG_HUGE_NONE;
	}
	char verr[API_ERR_LEN];
	if ((r = config_machine_validate(&m, verr, sizeof(verr))) < 0)
		return api_fail(c, "Machine config error: %s", verr);
	c->cfg->machine = m;
	return 0;
}

/* path_id NULL: from the config file (no path to compare with). */
static int api_apply_drive(struct api_ctx *c, const cJSON *obj, const char *path_id)
{
	static const char *const fields[] = { "drive_id", "is_root_device", "partuuid",
		"cache_type", "is_read_only", "path_on_host", "rate_limiter", "io_engine",
		"socket", NULL };
	static const char *const caches[] = { "Unsafe", "Writeback", NULL };
	static const char *const engines[] = { "Sync", "Async", NULL };
	struct config_drive d;
	int r, cache = 0, engine = 0;

	memset(&d, 0, sizeof(d));
	d.fd = -1;
	if ((r = api_check_object(c, obj, "BlockDeviceConfig", fields)) < 0 ||
	    (r = api_get_str(c, obj, "drive_id", true, d.drive_id, sizeof(d.drive_id))) < 0 ||
	    (r = api_get_bool(c, obj, "is_root_device", true, &d.is_root_device)) < 0 ||
	    (r = api_get_str(c, obj, "partuuid", false, d.partuuid, sizeof(d.partuuid))) < 0 ||
	    (r = api_get_enum(c, obj, "cache_type", false, caches, &cache)) < 0 ||
	    (r = api_get_bool(c, obj, "is_read_only", false, &d.is_read_only)) < 0 ||
	    (r = api_parse_limiter(c, obj, "rate_limiter", &d.rate_limiter)) < 0 ||
	    (r = api_get_enum(c, obj, "io_engine", false, engines, &engine)) < 0)
		return r;
	if (path_id && strcmp(path_id, d.drive_id) != 0)
		return api_fail(c, "The id from the path does not match the id from the body!");
	if ((r = api_check_id(c, d.drive_id)) < 0)
		return r;
	if (api_field(obj, "socket"))
		return api_fail(c, "Drive config error: ember does not support vhost-user block "
				"devices (socket).");
	if (engine == 1)
		return api_fail(c, "Drive config error: ember does not support io_engine "
				"\"Async\" (use \"Sync\").");
	d.cache_type = cache ? CONFIG_CACHE_WRITEBACK : CONFIG_CACHE_UNSAFE;
	if ((r = api_get_str(c, obj, "path_on_host", true, d.path_on_host,
			     sizeof(d.path_on_host))) < 0)
		return r;
	char verr[API_ERR_LEN];
	/* The cheap rules before opening the file. */
	if ((r = config_drive_check(c->cfg, &d, verr, sizeof(verr))) < 0 ||
	    (r = config_drive_open(&d, verr, sizeof(verr))) < 0)
		return api_fail(c, "Drive config error: %s", verr), r;
	if ((r = config_drive_put(c->cfg, &d, verr, sizeof(verr))) < 0) {
		close(d.fd);
		return api_fail(c, "Drive config error: %s", verr), r;
	}
	return 0;
}

static int api_apply_net(struct api_ctx *c, const cJSON *obj, const char *path_id)
{
	static const char *const fields[] = { "iface_id", "host_dev_name", "guest_mac", "mtu",
		"rx_rate_limiter", "tx_rate_limiter", NULL };
	struct config_net n;
	char mac[32];
	uint64_t mtu = 0;
	int r;

	memset(&n, 0, sizeof(n));
	n.tap_fd = -1;
	if ((r = api_check_object(c, obj, "NetworkInterfaceConfig", fields)) < 0 ||
	    (r = api_get_str(c, obj, "iface_id", true, n.iface_id, sizeof(n.iface_id))) < 0 ||
	    (r = api_get_str(c, obj, "host_dev_name", true, n.host_dev_name,
			     sizeof(n.host_dev_name))) < 0)
		return r;
	if ((r = api_get_str(c, obj, "guest_mac", false, mac, sizeof(mac))) < 0)
		return r;
	if (r) {
		if (config_mac_parse(mac, n.guest_mac) < 0)
			return api_deser(c, "invalid value: string \"%s\" for field `guest_mac`, "
					 "expected a MAC address like 06:00:AC:10:00:02", mac);
		n.has_guest_mac = true;
	}
	if ((r = api_get_u64(c, obj, "mtu", false, 65535, &mtu)) < 0)
		return r;
	if (r && mtu < 68)
		return api_fail(c, "Network interface error: mtu must be between 68 and 65535.");
	n.mtu = (unsigned)mtu;
	if ((r = api_parse_limiter(c, obj, "rx_rate_limiter", &n.rx_rate_limiter)) < 0 ||
	    (r = api_parse_limiter(c, obj, "tx_rate_limiter", &n.tx_rate_limiter)) < 0)
		return r;
	if (path_id && strcmp(path_id, n.iface_id) != 0)
		return api_fail(c, "The id from the path [%s] does not match the id from the "
				"body [%s]!", path_id, n.iface_id);
	if ((r = api_check_id(c, n.iface_id)) < 0)
		return r;
	/* The cheap rules, then the tap. */
	char verr[API_ERR_LEN];
	if ((r = config_net_check(c->cfg, &n, n.has_guest_mac ? mac : NULL, verr,
				  sizeof(verr))) < 0)
		return api_fail(c, "Network interface error: %s", verr);
	int idx = config_net_find(c->cfg, n.iface_id);
	/* Open the new tap before touching the old interface: a failed PUT
	 * changes nothing. A tap is attached to one fd at a time, so when
	 * the interface keeps its tap, the new config takes a copy of the
	 * old fd (config_net_put then closes the old one). */
	const struct config_net *old = idx >= 0 ? &c->cfg->nets[idx] : NULL;
	if (old && old->tap_fd >= 0 && strcmp(old->host_dev_name, n.host_dev_name) == 0) {
		n.tap_fd = fcntl(old->tap_fd, F_DUPFD_CLOEXEC, 3);
		if (n.tap_fd < 0) {
			int e = errno;
			api_fail(c, "Network interface error: host_dev_name %s: dup: %s",
				 n.host_dev_name, strerror(e));
			return -e;
		}
	} else if ((r = config_net_open(&n, verr, sizeof(verr))) < 0) {
		return api_fail(c, "Network interface error: %s", verr), r;
	}
	if ((r = config_net_put(c->cfg, &n, verr, sizeof(verr))) < 0) {
		close(n.tap_fd);
		return api_fail(c, "Network interface error: %s", verr), r;
	}
	return 0;
}

/* Last format set through the API or the config file (log.c has no getter). */
static bool api_log_show_level = true, api_log_show_origin;

static int api_apply_logger(struct api_ctx *c, const cJSON *obj)
{
	static const char *const fields[] = { "log_path", "level", "show_level",
					      "show_log_origin", "module", NULL };
	struct config_logger *l = &c->cfg->logger;
	char path[PATH_MAX], level[32];
	bool show_level = api_log_show_level, show_origin = api_log_show_origin;
	enum log_level lvl = log_get_level();
	int r, has_path, has_level;

	if ((r = api_check_object(c, obj, "LoggerConfig", fields)) < 0 ||
	    (has_path = r = api_get_str(c, obj, "log_path", false, path, sizeof(path))) < 0 ||
	    (has_level = r = api_get_str(c, obj, "level", false, level, sizeof(level))) < 0 ||
	    (r = api_get_bool(c, obj, "show_level", false, &show_level)) < 0 ||
	    (r = api_get_bool(c, obj, "show_log_origin", false, &show_origin)) < 0)
		return r;
	if (api_field(obj, "module"))
		return api_fail(c, "Logger error: ember does not support filtering by module.");
	if (has_level && log_level_parse(level, &lvl) < 0)
		return api_deser(c, "unknown variant `%s` for field `level`, expected one of "
				 "`Error`, `Warning`, `Info`, `Debug`, `Trace`, `Off`", level);
	if (has_path) {
		r = log_open(path);
		if (r < 0)
			return api_fail(c, "Logger error: Failed to open target file: %s: %s "
					"(os error %d)", path, strerror(-r), -r), r;
		snprintf(l->log_path, sizeof(l->log_path), "%s", path);
	}
	log_set_level(lvl);
	log_set_format(show_level, show_origin);
	api_log_show_level = show_level;
	api_log_show_origin = show_origin;
	l->set = true;
	l->level = (int)lvl;
	l->show_level = show_level;
	l->show_log_origin = show_origin;
	return 0;
}

/* Unknown fields are accepted here, as Firecracker does. */
static int api_apply_metrics(struct api_ctx *c, const cJSON *obj, const char *instance_id)
{
	char path[PATH_MAX];
	bool emit_id = false;
	int r;

	if ((r = api_check_object(c, obj, "MetricsConfig", NULL)) < 0 ||
	    (r = api_get_str(c, obj, "metrics_path", true, path, sizeof(path))) < 0 ||
	    (r = api_get_bool(c, obj, "emit_id", false, &emit_id)) < 0)
		return r;
	r = metrics_open(path);
	if (r == -EALREADY)
		return api_fail(c, "Metrics error: Cannot initialize the metrics system due to "
				"bad user input: Reinitialization of metrics not allowed."), r;
	if (r < 0)
		return api_fail(c, "Metrics error: Cannot initialize the metrics system due to "
				"bad user input: %s: %s (os error %d)", path, strerror(-r), -r), r;
	if (emit_id)
		metrics_set_id(instance_id ? instance_id : "anonymous-instance");
	c->cfg->metrics.set = true;
	snprintf(c->cfg->metrics.metrics_path, sizeof(c->cfg->metrics.metrics_path), "%s", path);
	return 0;
}

/* ---- JSON output ---- */

static cJSON *api_bucket_json(const struct config_token_bucket *b)
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

static cJSON *api_limiter_json(const struct config_rate_limiter *rl)
{
	if (!rl->bandwidth.set && !rl->ops.set)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "bandwidth", api_bucket_json(&rl->bandwidth));
	cJSON_AddItemToObject(o, "ops", api_bucket_json(&rl->ops));
	return o;
}

static cJSON *api_machine_json(const struct config_machine *m)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "vcpu_count", m->vcpu_count);
	cJSON_AddNumberToObject(o, "mem_size_mib", (double)m->mem_size_mib);
	cJSON_AddBoolToObject(o, "smt", m->smt);
	cJSON_AddBoolToObject(o, "track_dirty_pages", m->track_dirty_pages);
	cJSON_AddStringToObject(o, "huge_pages", m->huge_pages == CONFIG_HUGE_2M ? "2M" : "None");
	return o;
}

static void api_add_str_or_null(cJSON *o, const char *name, const char *s, bool set)
{
	if (set)
		cJSON_AddStringToObject(o, name, s);
	else
		cJSON_AddNullToObject(o, name);
}

/* GET /vm/config: every key Firecracker returns, null/[] for what ember
 * lacks (logger and metrics are always null there too). */
static cJSON *api_vm_config_json(const struct vm_config *cfg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNullToObject(o, "balloon");
	cJSON *drives = cJSON_AddArrayToObject(o, "drives");
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		const struct config_drive *d = &cfg->drives[i];
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "drive_id", d->drive_id);
		api_add_str_or_null(j, "partuuid", d->partuuid, d->partuuid[0]);
		cJSON_AddBoolToObject(j, "is_root_device", d->is_root_device);
		cJSON_AddStringToObject(j, "cache_type",
					d->cache_type == CONFIG_CACHE_WRITEBACK ? "Writeback" : "Unsafe");
		cJSON_AddBoolToObject(j, "is_read_only", d->is_read_only);
		cJSON_AddStringToObject(j, "path_on_host", d->path_on_host);
		cJSON_AddItemToObject(j, "rate_limiter", api_limiter_json(&d->rate_limiter));
		cJSON_AddStringToObject(j, "io_engine", "Sync");
		cJSON_AddNullToObject(j, "socket");
		cJSON_AddItemToArray(drives, j);
	}
	cJSON *boot = cJSON_AddObjectToObject(o, "boot-source");
	cJSON_AddStringToObject(boot, "kernel_image_path", cfg->boot.kernel_path);
	api_add_str_or_null(boot, "initrd_path", cfg->boot.initrd_path, cfg->boot.initrd_path[0]);
	api_add_str_or_null(boot, "boot_args", cfg->boot.boot_args, cfg->boot.boot_args_set);
	cJSON_AddNullToObject(o, "cpu-config");
	cJSON_AddNullToObject(o, "logger");
	cJSON_AddItemToObject(o, "machine-config", api_machine_json(&cfg->machine));
	cJSON_AddNullToObject(o, "metrics");
	cJSON_AddNullToObject(o, "mmds-config");
	cJSON *nets = cJSON_AddArrayToObject(o, "network-interfaces");
	for (unsigned i = 0; i < cfg->nnets; i++) {
		const struct config_net *n = &cfg->nets[i];
		cJSON *j = cJSON_CreateObject();
		char mac[18];
		config_mac_format(n->guest_mac, mac);
		cJSON_AddStringToObject(j, "iface_id", n->iface_id);
		cJSON_AddStringToObject(j, "host_dev_name", n->host_dev_name);
		api_add_str_or_null(j, "guest_mac", mac, n->has_guest_mac);
		if (n->mtu)
			cJSON_AddNumberToObject(j, "mtu", n->mtu);
		else
			cJSON_AddNullToObject(j, "mtu");
		cJSON_AddItemToObject(j, "rx_rate_limiter", api_limiter_json(&n->rx_rate_limiter));
		cJSON_AddItemToObject(j, "tx_rate_limiter", api_limiter_json(&n->tx_rate_limiter));
		cJSON_AddItemToArray(nets, j);
	}
	cJSON_AddNullToObject(o, "vsock");
	cJSON_AddNullToObject(o, "entropy");
	cJSON_AddArrayToObject(o, "pmem");
	cJSON_AddNullToObject(o, "memory-hotplug");
	return o;
}

/* ---- requests ---- */

static uint64_t api_now_us(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void api_reply_json(struct api_http_response *resp, int status, cJSON *o)
{
	resp->status = status;
	resp->body = cJSON_PrintUnformatted(o);
	resp->body_len = resp->body ? strlen(resp->body) : 0;
	cJSON_Delete(o);
	if (!resp->body)
		resp->status = 500;
}

static void api_reply_fault(struct api_http_response *resp, const char *text)
{
	/* Messages quote the request path: keep the JSON valid UTF-8. */
	char msg[API_ERR_LEN];
	snprintf(msg, sizeof(msg), "%s", text);
	utf8_sanitize(msg);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fault_message", msg);
	log_error("Received Error. Status code: 400 Bad Request. Message: %s", msg);
	api_reply_json(resp, 400, o);
}

static bool api_started(const struct api *api)
{
	return api->vm != NULL;
}

static int api_action(struct api *api, struct api_ctx *c, const cJSON *obj)
{
	static const char *const fields[] = { "action_type", NULL };
	static const char *const actions[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics",
					       NULL };
	int r, a = 0;

	if ((r = api_check_object(c, obj, "ActionBody", fields)) < 0 ||
	    (r = api_get_enum(c, obj, "action_type", true, actions, &a)) < 0)
		return r;
	if (a == 0) { /* InstanceStart */
		if (api_started(api))
			return api_fail(c, API_ERR_AFTER_BOOT);
		if (!c->cfg->boot.set)
			return api_fail(c, "Start microvm error: Cannot start microvm without "
					"kernel configuration.");
		uint64_t t0 = api_now_us(CLOCK_MONOTONIC);
		char verr[API_ERR_LEN] = "";
		timeline_mark(TIMELINE_INSTANCE_START);
		struct vm *vm = NULL;
		r = vm_create(c->cfg, api->loop, &vm, verr, sizeof(verr));
		if (r == 0) {
			r = vm_start(vm, verr, sizeof(verr));
			if (r < 0) {
				vm_destroy(vm);
				vm = NULL;
			}
		}
		if (r < 0) /* not fatal: the API stays pre-boot (Firecracker too) */
			return api_fail(c, "Start microvm error: %s",
					verr[0] ? verr : strerror(-r)), r;
		api->vm = vm;
		api->owns_vm = true;
		metrics_store(&metrics.latencies_us.instance_start, api_now_us(CLOCK_MONOTONIC) - t0);
		metrics_start(api->loop);
		return 0;
	}
	if (!api_started(api))
		return api_fail(c, API_ERR_BEFORE_BOOT);
	if (a == 1) {
		r = vm_send_ctrl_alt_del(api->vm);
		if (r < 0)
			return api_fail(c, "SendCtrlAltDel error: %s", strerror(-r)), r;
		return 0;
	}
	r = metrics_flush();
	if (r < 0)
		return api_fail(c, "Metrics error: Cannot flush the metrics: %s", strerror(-r)), r;
	return 0;
}

static int api_patch_vm(struct api *api, struct api_ctx *c, const cJSON *obj)
{
	static const char *const fields[] = { "state", NULL };
	static const char *const states[] = { "Paused", "Resumed", NULL };
	int r, s = 0;

	if ((r = api_check_object(c, obj, "Vm", fields)) < 0 ||
	    (r = api_get_enum(c, obj, "state", true, states, &s)) < 0)
		return r;
	if (!api_started(api))
		return api_fail(c, API_ERR_BEFORE_BOOT);
	uint64_t t0 = api_now_us(CLOCK_MONOTONIC);
	r = s == 0 ? vm_pause(api->vm) : vm_resume(api->vm);
	if (r < 0)
		return api_fail(c, "%s error: %s", s == 0 ? "Pause" : "Resume", strerror(-r)), r;
	metrics_store(s == 0 ? &metrics.latencies_us.pause_vm : &metrics.latencies_us.resume_vm,
		      api_now_us(CLOCK_MONOTONIC) - t0);
	return 0;
}

/* PATCH /drives/{id} after boot: a new backing file and/or rate limiter,
 * applied by the running device, then recorded in the config. */
static int api_patch_drive(struct api *api, struct api_ctx *c, const cJSON *obj,
			   const char *path_id)
{
	static const char *const fields[] = { "drive_id", "path_on_host", "rate_limiter", NULL };
	struct config_drive d;
	char verr[API_ERR_LEN];
	int r, has_path, idx;

	memset(&d, 0, sizeof(d));
	if ((r = api_check_object(c, obj, "BlockDeviceUpdateConfig", fields)) < 0 ||
	    (r = api_get_str(c, obj, "drive_id", true, d.drive_id, sizeof(d.drive_id))) < 0 ||
	    (has_path = r = api_get_str(c, obj, "path_on_host", false, d.path_on_host,
					sizeof(d.path_on_host))) < 0)
		return r;
	if (strcmp(path_id, d.drive_id) != 0)
		return api_fail(c, "The id from the path does not match the id from the body!");
	if ((r = api_check_id(c, d.drive_id)) < 0)
		return r;
	if (!api_started(api))
		return api_fail(c, API_ERR_BEFORE_BOOT);
	idx = config_drive_find(c->cfg, d.drive_id);
	if (idx < 0)
		return api_fail(c, "Drive config error: The block device ID is invalid: %s",
				d.drive_id), -ENOENT;
	/* The merged config: the current drive with the new fields. */
	struct config_drive merged = c->cfg->drives[idx];
	if ((r = api_patch_limiter(c, obj, "rate_limiter", &merged.rate_limiter)) < 0)
		return r;
	merged.fd = -1;
	if (has_path) {
		snprintf(merged.path_on_host, sizeof(merged.path_on_host), "%s", d.path_on_host);
		if ((r = config_drive_open(&merged, verr, sizeof(verr))) < 0)
			return api_fail(c, "Drive update error: %s", verr), r;
	}
	struct devices *devs = vm_devices(api->vm);
	r = devs ? devices_update_drive(devs, &merged, verr, sizeof(verr)) : -ENODEV;
	if (r < 0) {
		if (merged.fd >= 0)
			close(merged.fd);
		return api_fail(c, "Drive update error: %s", devs ? verr : "the VM has no devices"), r;
	}
	struct config_drive *cur = &c->cfg->drives[idx];
	if (merged.fd >= 0) {
		if (cur->fd >= 0)
			close(cur->fd);
	} else {
		merged.fd = cur->fd;
	}
	*cur = merged;
	return 0;
}

/* PATCH /network-interfaces/{id} after boot: new rate limiters. */
static int api_patch_net(struct api *api, struct api_ctx *c, const cJSON *obj,
			 const char *path_id)
{
	static const char *const fields[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter",
					      NULL };
	char id[CONFIG_ID_MAX + 1], verr[API_ERR_LEN];
	int r, idx;

	if ((r = api_check_object(c, obj, "NetworkInterfaceUpdateConfig", fields)) < 0 ||
	    (r = api_get_str(c, obj, "iface_id", true, id, sizeof(id))) < 0)
		return r;
	if (strcmp(path_id, id) != 0)
		return api_fail(c, "The id from the path [%s] does not match the id from the "
				"body [%s]!", path_id, id);
	if ((r = api_check_id(c, id)) < 0)
		return r;
	idx = config_net_find(c->cfg, id);
	struct config_net merged;
	if (idx >= 0)
		merged = c->cfg->nets[idx];
	else
		memset(&merged, 0, sizeof(merged));
	if ((r = api_patch_limiter(c, obj, "rx_rate_limiter", &merged.rx_rate_limiter)) < 0 ||
	    (r = api_patch_limiter(c, obj, "tx_rate_limiter", &merged.tx_rate_limiter)) < 0)
		return r;
	if (!api_started(api))
		return api_fail(c, API_ERR_BEFORE_BOOT);
	if (idx < 0)
		return api_fail(c, "Network interface error: Invalid network interface ID: %s",
				id), -ENOENT;
	struct devices *devs = vm_devices(api->vm);
	r = devs ? devices_update_net(devs, &merged, verr, sizeof(verr)) : -ENODEV;
	if (r < 0)
		return api_fail(c, "Network interface update error: %s",
				devs ? verr : "the VM has no devices"), r;
	c->cfg->nets[idx] = merged;
	return 0;
}

/* Firecracker paths for devices and features ember does not have. */
static const struct { const char *seg; const char *what; } api_unsupported[] = {
	{ "vsock", "virtio-vsock devices" },
	{ "balloon", "the balloon device" },
	{ "entropy", "the entropy (virtio-rng) device" },
	{ "mmds", "the microVM metadata service (MMDS)" },
	{ "pmem", "virtio-pmem devices" },
	{ "hotplug", "memory hotplug" },
	{ "cpu-config", "custom CPU templates" },
	{ "snapshot", "snapshots" },
	{ "serial", "serial output configuration" },
};

/* Per-endpoint request/failure counters. */
static void api_count(enum api_http_method m, const char *seg, bool failed)
{
	uint64_t *cnt = NULL, *fail = NULL;
	struct { const char *seg; uint64_t *c, *f; } put[] = {
		{ "actions", &metrics.put_api_requests.actions_count, &metrics.put_api_requests.actions_fails },
		{ "boot-source", &metrics.put_api_requests.boot_source_count, &metrics.put_api_requests.boot_source_fails },
		{ "drives", &metrics.put_api_requests.drive_count, &metrics.put_api_requests.drive_fails },
		{ "logger", &metrics.put_api_requests.logger_count, &metrics.put_api_requests.logger_fails },
		{ "machine-config", &metrics.put_api_requests.machine_cfg_count, &metrics.put_api_requests.machine_cfg_fails },
		{ "metrics", &metrics.put_api_requests.metrics_count, &metrics.put_api_requests.metrics_fails },
		{ "network-interfaces", &metrics.put_api_requests.network_count, &metrics.put_api_requests.network_fails },
	}, patch[] = {
		{ "drives", &metrics.patch_api_requests.drive_count, &metrics.patch_api_requests.drive_fails },
		{ "network-interfaces", &metrics.patch_api_requests.network_count, &metrics.patch_api_requests.network_fails },
		{ "machine-config", &metrics.patch_api_requests.machine_cfg_count, &metrics.patch_api_requests.machine_cfg_fails },
		{ "vm", &metrics.patch_api_requests.vm_count, &metrics.patch_api_requests.vm_fails },
	};
	if (m == API_HTTP_GET) {
		if (!seg[0])
			cnt = &metrics.get_api_requests.instance_info_count;
		else if (!strcmp(seg, "machine-config"))
			cnt = &metrics.get_api_requests.machine_cfg_count;
		else if (!strcmp(seg, "version"))
			cnt = &metrics.get_api_requests.vmm_version_count;
		else if (!strcmp(seg, "vm"))
			cnt = &metrics.get_api_requests.vm_config_count;
		fail = &metrics.get_api_requests.fails;
	} else if (m == API_HTTP_PUT) {
		for (size_t i = 0; i < sizeof(put) / sizeof(put[0]); i++)
			if (!strcmp(seg, put[i].seg))
				cnt = put[i].c, fail = put[i].f;
		if (!cnt)
			cnt = &metrics.put_api_requests.unsupported_count;
	} else if (m == API_HTTP_PATCH) {
		for (size_t i = 0; i < sizeof(patch) / sizeof(patch[0]); i++)
			if (!strcmp(seg, patch[i].seg))
				cnt = patch[i].c, fail = patch[i].f;
		if (!cnt)
			cnt = &metrics.patch_api_requests.unsupported_count;
	}
	if (cnt)
		metrics_inc(cnt);
	if (failed && fail)
		metrics_inc(fail);
}

/* cJSON reads numbers with strtod, which takes what RFC 8259 (and serde,
 * Firecracker's parser) refuse: leading zeros ("00512", "-01"), "1.", "1.e5".
 * Check every number token outside strings against the JSON grammar
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? first. Returns the offset of
 * the first bad token, or len if all are fine. The body is valid UTF-8. */
static size_t api_json_numbers_ok(const char *s, size_t len)
{
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
			continue;
		}
		if (ch != '-' && (ch < '0' || ch > '9'))
			continue;
		/* The token is the longest run cJSON would hand to strtod. */
		size_t start = i, end = i;
		while (end < len && ((s[end] >= '0' && s[end] <= '9') || s[end] == '-' ||
				     s[end] == '+' || s[end] == '.' || s[end] == 'e' || s[end] == 'E'))
			end++;
		size_t j = start;
		if (s[j] == '-')
			j++;
		if (j >= end || s[j] < '0' || s[j] > '9')
			return start;
		if (s[j] == '0') {
			j++;
		} else {
			while (j < end && s[j] >= '0' && s[j] <= '9')
				j++;
		}
		if (j < end && s[j] == '.') {
			size_t d = ++j;
			while (j < end && s[j] >= '0' && s[j] <= '9')
				j++;
			if (j == d)
				return start;
		}
		if (j < end && (s[j] == 'e' || s[j] == 'E')) {
			j++;
			if (j < end && (s[j] == '+' || s[j] == '-'))
				j++;
			size_t d = j;
			while (j < end && s[j] >= '0' && s[j] <= '9')
				j++;
			if (j == d)
				return start;
		}
		if (j != end)
			return start;
		i = end - 1;
	}
	return len;
}

static size_t api_numbers_in_order(cJSON *v, cJSON **out, size_t max, size_t n)
{
	for (; v; v = v->next) {
		if (cJSON_IsNumber(v)) {
			if (n < max)
				out[n] = v;
			n++;
		} else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
			n = api_numbers_in_order(v->child, out, max, n);
		}
	}
	return n;
}

/* Tag the number nodes written with '.', 'e' or 'E'. The body passed
 * api_json_numbers_ok and parsed, so its number tokens (outside strings,
 * starting with '-' or a digit) are the tree's number nodes in document
 * order. */
static void api_json_mark_floats(cJSON *root, const char *s, size_t len)
{
	size_t count = api_numbers_in_order(root, NULL, 0, 0);
	if (!count)
		return;
	cJSON **nodes = calloc(count, sizeof(*nodes));
	if (!nodes)
		return;
	api_numbers_in_order(root, nodes, count, 0);
	size_t k = 0;
	bool in_str = false;
	for (size_t i = 0; i < len && k < count; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
			continue;
		}
		if (ch != '-' && (ch < '0' || ch > '9'))
			continue;
		bool is_float = false;
		for (; i < len && strchr("0123456789+-.eE", s[i]) && s[i]; i++)
			if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
				is_float = true;
		i--;
		if (is_float)
			nodes[k]->type |= API_NUM_FLOAT;
		k++;
	}
	free(nodes);
}

/* Parse a request body; NULL with c->err set on failure. */
static cJSON *api_parse_body(struct api_ctx *c, const char *body, size_t len)
{
	const char *end = NULL;
	/* cJSON passes invalid UTF-8 through; Firecracker (serde) refuses it. */
	size_t good = utf8_valid_prefix(body, len);
	if (good < len) {
		api_deser(c, "invalid unicode code point at byte %zu", good);
		return NULL;
	}
	size_t badnum = api_json_numbers_ok(body, len);
	if (badnum < len) {
		api_deser(c, "invalid number at byte %zu", badnum);
		return NULL;
	}
	cJSON *o = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!o) {
		size_t at = end && end >= body ? (size_t)(end - body) : 0;
		api_deser(c, "invalid JSON at byte %zu", at);
		return NULL;
	}
	for (; end && end < body + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
			cJSON_Delete(o);
			api_deser(c, "trailing characters at byte %zu", (size_t)(end - body));
			return NULL;
		}
	}
	api_json_mark_floats(o, body, len);
	return o;
}

/* Route one request. Returns 0 (204 unless *out set for a 200) or -errno
 * with c->err set. */
static int api_route(struct api *api, struct api_ctx *c, const struct api_http_request *req,
		     char segs[][API_HTTP_MAX_LINE], int nsegs, cJSON **out)
{
	enum api_http_method m = req->method;
	const char *s0 = segs[0];
	const char *mname = api_http_method_name(m);
	bool has_body = req->body_len > 0;
	cJSON *obj = NULL;
	int r;

	for (size_t i = 0; i < sizeof(api_unsupported) / sizeof(api_unsupported[0]); i++)
		if (!strcmp(s0, api_unsupported[i].seg))
			return api_fail(c, "ember does not support %s (%s /%s).",
					api_unsupported[i].what, mname, s0);

	if (m == API_HTTP_GET) {
		if (has_body)
			return api_fail(c, "GET request cannot have a body.");
		if (!s0[0]) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", api->id);
			cJSON_AddStringToObject(o, "state", !api_started(api) ? "Not started" :
						vm_is_paused(api->vm) ? "Paused" : "Running");
			cJSON_AddStringToObject(o, "vmm_version", EMBER_VERSION);
			cJSON_AddStringToObject(o, "app_name", "ember");
			*out = o;
			return 0;
		}
		if (!strcmp(s0, "version")) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "firecracker_version", EMBER_VERSION);
			*out = o;
			return 0;
		}
		if (!strcmp(s0, "machine-config")) {
			*out = api_machine_json(&c->cfg->machine);
			return 0;
		}
		if (!strcmp(s0, "vm") && nsegs >= 2 && !strcmp(segs[1], "config")) {
			*out = api_vm_config_json(c->cfg);
			return 0;
		}
		return api_fail(c, "Invalid request method and/or path: %s %s.", mname, s0);
	}
	if ((m == API_HTTP_PUT || m == API_HTTP_PATCH) && !has_body)
		return api_fail(c, "Empty %s request.", mname);

	/* Path ids come before the body is looked at (Firecracker's order). */
	bool with_id = !strcmp(s0, "drives") || !strcmp(s0, "network-interfaces");
	const char *id = nsegs >= 2 ? segs[1] : "";
	if (with_id && (m == API_HTTP_PUT || m == API_HTTP_PATCH || m == API_HTTP_DELETE) &&
	    (r = api_check_id(c, id)) < 0)
		return r;

	if (m == API_HTTP_DELETE) {
		if (!with_id)
			return api_fail(c, "Invalid request method and/or path: %s %s.", mname, s0);
		if (!api_started(api))
			return api_fail(c, API_ERR_BEFORE_BOOT);
		return api_fail(c, "ember does not support device hotplug (%s /%s).", mname, s0);
	}

	static const char *const put_paths[] = { "actions", "boot-source", "drives", "logger",
		"machine-config", "metrics", "network-interfaces", NULL };
	static const char *const patch_paths[] = { "machine-config", "drives",
		"network-interfaces", "vm", NULL };
	bool known = false;
	for (const char *const *p = m == API_HTTP_PUT ? put_paths : patch_paths; *p; p++)
		if (!strcmp(*p, s0))
			known = true;
	if (!known)
		return api_fail(c, "Invalid request method and/or path: %s %s.", mname, s0);

	obj = api_parse_body(c, req->body, req->body_len);
	if (!obj)
		return -EINVAL;
	bool pre_only = m == API_HTTP_PUT && strcmp(s0, "actions") != 0;
	if (!strcmp(s0, "machine-config"))
		pre_only = true;
	if (pre_only && api_started(api)) {
		r = api_fail(c, API_ERR_AFTER_BOOT);
		goto out;
	}
	if (m == API_HTTP_PUT) {
		if (!strcmp(s0, "actions"))
			r = api_action(api, c, obj);
		else if (!strcmp(s0, "boot-source"))
			r = api_apply_boot_source(c, obj);
		else if (!strcmp(s0, "drives"))
			r = api_apply_drive(c, obj, id);
		else if (!strcmp(s0, "logger"))
			r = api_apply_logger(c, obj);
		else if (!strcmp(s0, "machine-config"))
			r = api_apply_machine(c, obj, false);
		else if (!strcmp(s0, "metrics"))
			r = api_apply_metrics(c, obj, api->id);
		else
			r = api_apply_net(c, obj, id);
	} else {
		if (!strcmp(s0, "machine-config"))
			r = api_apply_machine(c, obj, true);
		else if (!strcmp(s0, "drives"))
			r = api_patch_drive(api, c, obj, id);
		else if (!strcmp(s0, "network-interfaces"))
			r = api_patch_net(api, c, obj, id);
		else
			r = api_patch_vm(api, c, obj);
	}
out:
	cJSON_Delete(obj);
	return r;
}

#define API_MAX_SEGS 8

void api_handle_request(struct api *api, const struct api_http_request *req,
			struct api_http_response *resp)
{
	static char segs[API_MAX_SEGS][API_HTTP_MAX_LINE];
	char err[API_ERR_LEN] = "";
	struct api_ctx c = { .cfg = api->cfg, .err = err, .errlen = sizeof(err) };
	const char *mname = api_http_method_name(req->method);
	cJSON *out = NULL;
	int nsegs = 0;

	/* Leading '/'s trimmed; split on '/'; one trailing '/' ignored. */
	const char *p = req->path;
	while (*p == '/')
		p++;
	memset(segs[0], 0, 1);
	while (nsegs < API_MAX_SEGS) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		memcpy(segs[nsegs], p, n);
		segs[nsegs][n] = '\0';
		nsegs++;
		if (!slash || !slash[1])
			break;
		p = slash + 1;
	}

	if (req->method == API_HTTP_GET || !req->body_len)
		log_info("The API server received a %s request on \"%s\".", mname, req->path);
	else
		log_info("The API server received a %s request on \"%s\" with body \"%.*s\".",
			 mname, req->path, (int)(req->body_len > 4096 ? 4096 : req->body_len),
			 req->body);

	int r = api_route(api, &c, req, segs, nsegs, &out);
	api_count(req->method, segs[0], r < 0);
	if (r < 0) {
		if (out)
			cJSON_Delete(out);
		api_reply_fault(resp, err[0] ? err : "Internal error.");
		return;
	}
	if (out) {
		api_reply_json(resp, 200, out);
		return;
	}
	log_info("The request was executed successfully. Status code: 204 No Content.");
	resp->status = 204;
}

static void api_http_cb(void *opaque, const struct api_http_request *req,
			struct api_http_response *resp)
{
	api_handle_request(opaque, req, resp);
}

struct api *api_create(struct evloop *loop, const char *sock_path, const char *instance_id,
		       struct vm_config *cfg, char *err, size_t errlen)
{
	struct api *api = calloc(1, sizeof(*api));
	if (!api) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	api->loop = loop;
	api->cfg = cfg;
	snprintf(api->id, sizeof(api->id), "%s", instance_id ? instance_id : "anonymous-instance");
	if (sock_path) {
		api->srv = api_http_server_create(loop, sock_path, api_http_cb, api, err, errlen);
		if (!api->srv) {
			free(api);
			return NULL;
		}
		log_info("API server started.");
		uint64_t start = timeline_get(TIMELINE_PROCESS_START);
		if (start)
			metrics_store(&metrics.api_server.process_startup_time_us,
				      (timeline_now_ns() - start) / 1000);
		metrics_store(&metrics.api_server.process_startup_time_cpu_us,
			      api_now_us(CLOCK_PROCESS_CPUTIME_ID));
	}
	return api;
}

void api_set_vm(struct api *api, struct vm *vm)
{
	api->vm = vm;
	api->owns_vm = false;
	metrics_start(api->loop); /* first metrics line + the 60 s timer */
}

struct vm *api_get_vm(struct api *api)
{
	return api->vm;
}

void api_destroy(struct api *api)
{
	if (!api)
		return;
	api_http_server_destroy(api->srv);
	if (api->owns_vm)
		vm_destroy(api->vm);
	free(api);
}

/* ---- --config-file ---- */

static char *api_read_file(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		*err = -errno;
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			if (cap >= (16u << 20)) { /* a config file is small */
				free(buf);
				buf = NULL;
				*err = -EFBIG;
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				*err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (!buf && !*err)
		*err = -ENOMEM;
	fclose(f);
	*len = n;
	return buf;
}

int api_load_config_file(const char *path, struct vm_config *cfg, char *err, size_t errlen)
{
	static const char *const keys[] = { "boot-source", "machine-config", "drives",
		"network-interfaces", "logger", "metrics", NULL };
	static const char *const lacks[] = { "balloon", "vsock", "entropy", "mmds-config",
		"pmem", "memory-hotplug", "cpu-config", "serial", NULL };
	char msg[API_ERR_LEN] = "";
	struct api_ctx c = { .cfg = cfg, .file = true, .err = msg, .errlen = sizeof(msg) };
	const char *where = "";
	int r = 0, ferr = 0;
	size_t len;
	char idx[48];

	char *text = api_read_file(path, &len, &ferr);
	if (!text) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(-ferr));
		return ferr;
	}
	cJSON *root = api_parse_body(&c, text, len);
	free(text);
	if (!root) {
		snprintf(err, errlen, "config file %s: %s", path, msg);
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		r = api_fail(&c, "the top level must be a JSON object");
		goto out;
	}
	for (const cJSON *k = root->child; k; k = k->next) {
		bool ok = false;
		for (const char *const *p = keys; *p; p++)
			if (!strcmp(*p, k->string))
				ok = true;
		if (ok)
			continue;
		where = k->string;
		for (const char *const *p = lacks; *p; p++) {
			if (!strcmp(*p, k->string) && !cJSON_IsNull(k)) {
				r = api_fail(&c, "ember does not support \"%s\"", k->string);
				goto out;
			}
			if (!strcmp(*p, k->string))
				ok = true;
		}
		if (!ok) {
			r = api_fail(&c, "unknown key (ember knows \"boot-source\", \"machine-config\", "
				     "\"drives\", \"network-interfaces\", \"logger\", \"metrics\")");
			goto out;
		}
	}
	if ((r = api_check_object(&c, root, "VmmConfig", NULL)) < 0)
		goto out;
	/* Firecracker's apply order: logger, metrics, machine, boot, drives, nets. */
	const cJSON *o;
	if ((o = api_field(root, "logger")) && (where = "logger", r = api_apply_logger(&c, o)) < 0)
		goto out;
	if ((o = api_field(root, "metrics")) &&
	    (where = "metrics", r = api_apply_metrics(&c, o, NULL)) < 0)
		goto out;
	if ((o = api_field(root, "machine-config")) &&
	    (where = "machine-config", r = api_apply_machine(&c, o, false)) < 0)
		goto out;
	where = "boot-source";
	if (!(o = api_field(root, "boot-source"))) {
		r = api_fail(&c, "missing (required)");
		goto out;
	}
	if ((r = api_apply_boot_source(&c, o)) < 0)
		goto out;
	static const char *const arrays[] = { "drives", "network-interfaces" };
	for (int a = 0; a < 2; a++) {
		where = arrays[a];
		o = api_field(root, arrays[a]);
		if (!o)
			continue;
		if (!cJSON_IsArray(o)) {
			r = api_fail(&c, "must be an array");
			goto out;
		}
		int i = 0;
		for (const cJSON *e = o->child; e; e = e->next, i++) {
			snprintf(idx, sizeof(idx), "%s[%d]", arrays[a], i);
			where = idx;
			/* In a file, a repeated id is a mistake, not an update as with PUT. */
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, a == 0 ? "drive_id" : "iface_id");
			if (cJSON_IsString(id) && (a == 0 ? config_drive_find(cfg, id->valuestring) :
						   config_net_find(cfg, id->valuestring)) >= 0) {
				r = api_fail(&c, "duplicate %s '%s'", a == 0 ? "drive_id" : "iface_id",
					     id->valuestring);
				goto out;
			}
			r = a == 0 ? api_apply_drive(&c, e, NULL) : api_apply_net(&c, e, NULL);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
out:
	if (r < 0)
		snprintf(err, errlen, "config file %s: %s%s%s", path, where, where[0] ? ": " : "", msg);
	cJSON_Delete(root);
	return r;
}
