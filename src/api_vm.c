// SPDX-License-Identifier: Apache-2.0
/*
 * api_vm.c - the API routes that act on the VM: the actions (InstanceStart,
 * SendCtrlAltDel, FlushMetrics), pause and resume, and the post-boot
 * updates of drives and network interfaces. api.c's route table points here
 * and applies the boot rules.
 *
 * May call: json_strict.c, config_json.c, config.c, vm.c (the vm_*
(vm_update_* for post-boot device updates), metrics.c, timeline.c, cJSON.
 */
#include "src/api_vm.h"
#include "src/config_json.h"
#include "src/devices.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/prefetch.h"
#include "src/snapshot.h"
#include "src/snapshot_state.h"
#include "src/timeline.h"
#include "src/util.h"
#include "src/uffd.h"
#include "src/vm.h"
#include "virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char API_ERR_AFTER_BOOT[] =
	"The requested operation is not supported after starting the microVM.";
static const char API_ERR_BEFORE_BOOT[] =
	"The requested operation is not supported before starting the microVM.";

int api_gate(const struct api *api, struct json_ctx *c, enum api_when when)
{
	if (when == API_PRE_BOOT && api->vm)
		return json_fail(c, "%s", API_ERR_AFTER_BOOT);
	if (when == API_POST_BOOT && !api->vm)
		return json_fail(c, "%s", API_ERR_BEFORE_BOOT);
	return 0;
}

static int api_instance_start(struct api *api, struct json_ctx *c)
{
	char verr[JSON_ERR_LEN] = "";
	struct vm *vm = NULL;
	int r;

	if (!api->cfg->boot.set)
		return json_fail(c, "Start microvm error: Cannot start microvm without kernel "
				 "configuration.");
	uint64_t t0 = util_clock_us(CLOCK_MONOTONIC);
	timeline_mark(TIMELINE_INSTANCE_START);
	r = vm_create(api->cfg, api->loop, &vm, verr, sizeof(verr));
	if (r == 0) {
		r = vm_start(vm, verr, sizeof(verr));
		if (r < 0) {
			vm_destroy(vm);
			vm = NULL;
		}
	}
	if (r < 0) /* not fatal: the API stays pre-boot (Firecracker too) */
		return json_fail(c, "Start microvm error: %s", verr[0] ? verr : strerror(-r)), r;
	api->vm = vm;
	api->owns_vm = true;
	metrics_store(&metrics.latencies_us.instance_start, util_clock_us(CLOCK_MONOTONIC) - t0);
	metrics_start(api->loop);
	return 0;
}

/* The route runs at any time: each action has its own boot rule. */
int api_put_actions(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	static const char *const fields[] = { "action_type", NULL };
	static const char *const actions[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics",
					       NULL };
	int r, a = 0;

	if ((r = json_check_object(c, req->body, "ActionBody", fields)) < 0 ||
	    (r = json_get_enum(c, req->body, "action_type", true, actions, &a)) < 0 ||
	    (r = api_gate(api, c, a == 0 ? API_PRE_BOOT : API_POST_BOOT)) < 0)
		return r;
	if (a == 0)
		return api_instance_start(api, c);
	if (a == 1) {
		r = vm_send_ctrl_alt_del(api->vm);
		if (r < 0)
			return json_fail(c, "SendCtrlAltDel error: %s", strerror(-r)), r;
		return 0;
	}
	r = metrics_flush();
	if (r < 0)
		return json_fail(c, "Metrics error: Cannot flush the metrics: %s", strerror(-r)), r;
	return 0;
}

/* ---- PATCH of the running VM (post-boot): check the body, then run ---- */

int api_patch_vm_check(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	static const char *const fields[] = { "state", NULL };
	static const char *const states[] = { "Paused", "Resumed", NULL };
	int r;

	if ((r = json_check_object(c, req->body, "Vm", fields)) < 0 ||
	    (r = json_get_enum(c, req->body, "state", true, states, &req->u.state)) < 0)
		return r;
	return 0;
}

int api_patch_vm(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	bool pause = req->u.state == 0;
	uint64_t t0 = util_clock_us(CLOCK_MONOTONIC);
	int r = pause ? vm_pause(api->vm) : vm_resume(api->vm);

	if (r < 0)
		return json_fail(c, "%s error: %s", pause ? "Pause" : "Resume", strerror(-r)), r;
	metrics_store(pause ? &metrics.latencies_us.pause_vm : &metrics.latencies_us.resume_vm,
		      util_clock_us(CLOCK_MONOTONIC) - t0);
	return 0;
}

int api_patch_drive_check(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	static const char *const fields[] = { "drive_id", "path_on_host", "rate_limiter", NULL };
	struct config_drive *d = &req->u.drive.d;
	int r;

	memset(d, 0, sizeof(*d));
	if ((r = json_check_object(c, req->body, "BlockDeviceUpdateConfig", fields)) < 0 ||
	    (r = json_get_str(c, req->body, "drive_id", true, d->drive_id,
			      sizeof(d->drive_id))) < 0 ||
	    (r = json_get_str(c, req->body, "path_on_host", false, d->path_on_host,
			      sizeof(d->path_on_host))) < 0)
		return r;
	req->u.drive.has_path = r > 0;
	if (strcmp(req->id, d->drive_id) != 0)
		return json_fail(c, "The id from the path does not match the id from the body!");
	return config_json_resource_id(c, d->drive_id);
}

/* A new backing file and/or rate limiter, applied by the running device,
 * then recorded in the config. */
int api_patch_drive(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	const struct config_drive *d = &req->u.drive.d;
	char verr[JSON_ERR_LEN];
	int r, idx = config_drive_find(api->cfg, d->drive_id);

	if (idx < 0)
		return json_fail(c, "Drive config error: The block device ID is invalid: %s",
				 d->drive_id), -ENOENT;
	/* The merged config: the current drive with the new fields. */
	struct config_drive merged = api->cfg->drives[idx];
	if ((r = config_json_patch_limiter(c, req->body, "rate_limiter",
					   &merged.rate_limiter)) < 0)
		return r;
	merged.fd = -1;
	if (req->u.drive.has_path) {
		snprintf(merged.path_on_host, sizeof(merged.path_on_host), "%s", d->path_on_host);
		if ((r = config_json_drive_open(&merged, verr, sizeof(verr))) < 0)
			return json_fail(c, "Drive update error: %s", verr), r;
	}
	r = vm_update_drive(api->vm, &merged, verr, sizeof(verr));
	if (r < 0) {
		if (merged.fd >= 0)
			close(merged.fd);
		return json_fail(c, "Drive update error: %s", verr), r;
	}
	struct config_drive *cur = &api->cfg->drives[idx];
	if (merged.fd >= 0) {
		if (cur->fd >= 0)
			close(cur->fd);
	} else {
		merged.fd = cur->fd;
	}
	*cur = merged;
	return 0;
}

int api_patch_net_check(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	static const char *const fields[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter",
					      NULL };
	struct config_net *merged = &req->u.net.merged;
	char id[CONFIG_ID_MAX + 1];
	int r;

	if ((r = json_check_object(c, req->body, "NetworkInterfaceUpdateConfig", fields)) < 0 ||
	    (r = json_get_str(c, req->body, "iface_id", true, id, sizeof(id))) < 0)
		return r;
	if (strcmp(req->id, id) != 0)
		return json_fail(c, "The id from the path [%s] does not match the id from the "
				 "body [%s]!", req->id, id);
	if ((r = config_json_resource_id(c, id)) < 0)
		return r;
	req->u.net.idx = config_net_find(api->cfg, id);
	if (req->u.net.idx >= 0) {
		*merged = api->cfg->nets[req->u.net.idx];
	} else {
		memset(merged, 0, sizeof(*merged));
		snprintf(merged->iface_id, sizeof(merged->iface_id), "%s", id);
	}
	if ((r = config_json_patch_limiter(c, req->body, "rx_rate_limiter",
					   &merged->rx_rate_limiter)) < 0 ||
	    (r = config_json_patch_limiter(c, req->body, "tx_rate_limiter",
					   &merged->tx_rate_limiter)) < 0)
		return r;
	return 0;
}

/* New rate limiters, applied by the running device, then recorded. */
int api_patch_net(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	const struct config_net *merged = &req->u.net.merged;
	char verr[JSON_ERR_LEN];

	if (req->u.net.idx < 0)
		return json_fail(c, "Network config error: Invalid network interface ID: %s",
				 merged->iface_id), -ENOENT;
	int r = vm_update_net(api->vm, merged, verr, sizeof(verr));
	if (r < 0)
		return json_fail(c, "Network interface update error: %s", verr), r;
	api->cfg->nets[req->u.net.idx] = *merged;
	return 0;
}

int api_delete_device(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	return json_fail(c, "ember does not support device hotplug (%s /%s).", req->mname,
			 req->seg);
}

/* ---- PUT /snapshot/create and /snapshot/load ---- */

static int api_snapshot_create(struct api *api, struct json_ctx *c, struct api_req *req)
{
	static const char *const fields[] = { "snapshot_path", "mem_file_path", "snapshot_type",
					      NULL };
	static const char *const types[] = { "Full", "Diff", NULL };
	char state_path[PATH_MAX], mem_path[PATH_MAX], verr[JSON_ERR_LEN];
	int r, type = 0;

	if ((r = json_check_object(c, req->body, "CreateSnapshotParams", fields)) < 0 ||
	    (r = json_get_str(c, req->body, "snapshot_path", true, state_path,
			      sizeof(state_path))) < 0 ||
	    (r = json_get_str(c, req->body, "mem_file_path", true, mem_path,
			      sizeof(mem_path))) < 0 ||
	    (r = json_get_enum(c, req->body, "snapshot_type", false, types, &type)) < 0 ||
	    (r = api_gate(api, c, API_POST_BOOT)) < 0)
		return r;
	uint64_t t0 = util_clock_us(CLOCK_MONOTONIC);
	r = vm_snapshot_create(api->vm, api->cfg, state_path, mem_path,
			       type ? VM_SNAPSHOT_DIFF : VM_SNAPSHOT_FULL, verr, sizeof(verr));
	if (r < 0)
		return json_fail(c, "Create snapshot error: %s", verr), r;
	metrics_store(type ? &metrics.latencies_us.diff_create_snapshot :
		      &metrics.latencies_us.full_create_snapshot, util_clock_us(CLOCK_MONOTONIC) - t0);
	log_info("Snapshot created: %s (%s), memory %s", state_path, types[type], mem_path);
	return 0;
}

/* What PUT /snapshot/load asks for. */
struct api_load {
	char state_path[PATH_MAX];
	char mem_path[PATH_MAX];
	bool uffd;
	bool track_dirty, resume, clock_realtime;
	unsigned noverrides;
	struct {
		char iface_id[CONFIG_ID_MAX + 1];
		char host_dev_name[CONFIG_IFNAME_MAX];
	} overrides[CONFIG_MAX_NETS];
};

/* mem_backend, or the deprecated mem_file_path: exactly one of them. */
static int api_load_backend(struct json_ctx *c, const cJSON *body, struct api_load *l,
			    const char **deprecation)
{
	static const char *const fields[] = { "backend_type", "backend_path", NULL };
	static const char *const kinds[] = { "File", "Uffd", NULL };
	const cJSON *mb = json_field(body, "mem_backend");
	int r, kind = 0;

	if (mb && json_field(body, "mem_file_path"))
		return json_deser(c, "too many fields: either `mem_backend` or `mem_file_path` "
				  "exclusively is required");
	if (!mb) {
		r = json_get_str(c, body, "mem_file_path", false, l->mem_path, sizeof(l->mem_path));
		if (r == 0)
			return json_deser(c, "missing field: either `mem_backend` or `mem_file_path` "
					  "is required");
		*deprecation = "PUT /snapshot/load: mem_file_path field is deprecated.";
		return r < 0 ? r : 0;
	}
	if ((r = json_check_object(c, mb, "MemBackendConfig", fields)) < 0 ||
	    (r = json_get_enum(c, mb, "backend_type", true, kinds, &kind)) < 0 ||
	    (r = json_get_str(c, mb, "backend_path", true, l->mem_path, sizeof(l->mem_path))) < 0)
		return r;
	l->uffd = kind == 1;
	return 0;
}

/* network_overrides: [{iface_id, host_dev_name}] (unknown fields are
 * accepted, as Firecracker does). */
static int api_load_overrides(struct json_ctx *c, const cJSON *body, struct api_load *l)
{
	const cJSON *a = json_field(body, "network_overrides");
	int r;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return json_deser(c, "invalid type: expected a sequence (field `network_overrides`)");
	for (const cJSON *o = a->child; o; o = o->next) {
		if (l->noverrides == CONFIG_MAX_NETS)
			return json_fail(c, "Load snapshot error: more than %u network_overrides",
					 CONFIG_MAX_NETS);
		typeof(l->overrides[0]) *ov = &l->overrides[l->noverrides++];
		if ((r = json_check_object(c, o, "NetworkOverride", NULL)) < 0 ||
		    (r = json_get_str(c, o, "iface_id", true, ov->iface_id,
				      sizeof(ov->iface_id))) < 0 ||
		    (r = json_get_str(c, o, "host_dev_name", true, ov->host_dev_name,
				      sizeof(ov->host_dev_name))) < 0)
			return r;
	}
	return 0;
}

/* The body of PUT /snapshot/load into l; a deprecated field sets
 * *deprecation (Firecracker's warning), whatever the result. */
static int api_load_parse(struct json_ctx *c, const cJSON *body, struct api_load *l,
			  const char **deprecation)
{
	static const char *const fields[] = { "snapshot_path", "mem_backend", "mem_file_path",
		"track_dirty_pages", "enable_diff_snapshots", "resume_vm", "network_overrides",
		"clock_realtime", NULL };
	bool diff = false;
	int r;

	memset(l, 0, sizeof(*l));
	if ((r = json_check_object(c, body, "LoadSnapshotConfig", fields)) < 0 ||
	    (r = json_get_str(c, body, "snapshot_path", true, l->state_path,
			      sizeof(l->state_path))) < 0 ||
	    (r = api_load_backend(c, body, l, deprecation)) < 0 ||
	    (r = json_get_bool(c, body, "track_dirty_pages", false, &l->track_dirty)) < 0 ||
	    (r = json_get_bool(c, body, "enable_diff_snapshots", false, &diff)) < 0)
		return r;
	if (r > 0)
		*deprecation = "PUT /snapshot/load: enable_diff_snapshots field is deprecated.";
	l->track_dirty |= diff;
	if ((r = json_get_bool(c, body, "resume_vm", false, &l->resume)) < 0 ||
	    (r = json_get_bool(c, body, "clock_realtime", false, &l->clock_realtime)) < 0 ||
	    (r = api_load_overrides(c, body, l)) < 0)
		return r;
	return 0;
}

/* The snapshot's configuration made ready to build: the overrides applied,
 * drive files and taps opened (each drive still as large as the guest saw
 * it). On error the caller config_release()s cfg. */
static int api_load_config(struct json_ctx *c, const struct snapshot_state *st,
			   const struct api_load *l, struct vm_config *cfg)
{
	char verr[JSON_ERR_LEN];
	cfg->boot_timer = st->flags & SNAPSHOT_VM_BOOT_TIMER;
	cfg->machine.track_dirty_pages = l->track_dirty;
	for (unsigned i = 0; i < l->noverrides; i++) {
		int idx = config_net_find(cfg, l->overrides[i].iface_id);
		if (idx < 0)
			return json_fail(c, "Load snapshot error: network_overrides: the snapshot has "
					 "no network interface '%s'", l->overrides[i].iface_id);
		snprintf(cfg->nets[idx].host_dev_name, sizeof(cfg->nets[idx].host_dev_name), "%s",
			 l->overrides[i].host_dev_name);
	}
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		struct config_drive *d = &cfg->drives[i];
		if (config_json_drive_open(d, verr, sizeof(verr)) < 0)
			return json_fail(c, "Load snapshot error: drive %s: %s", d->drive_id, verr);
		off_t end = lseek(d->fd, 0, SEEK_END);
		uint64_t sectors = end < 0 ? 0 : (uint64_t)end / 512;
		if (sectors != st->dev[i].u.blk.capacity)
			return json_fail(c, "Load snapshot error: drive %s: %s holds %llu sectors, the "
					 "guest saw %llu", d->drive_id, d->path_on_host,
					 (unsigned long long)sectors,
					 (unsigned long long)st->dev[i].u.blk.capacity);
	}
	for (unsigned i = 0; i < cfg->nnets; i++) {
		struct config_net *n = &cfg->nets[i];
		if ((n->tap_fd = tap_open(n->host_dev_name, verr, sizeof(verr))) < 0) {
			n->tap_fd = -1;
			return json_fail(c, "Load snapshot error: network interface %s: host_dev_name: %s",
					 n->iface_id, verr);
		}
	}
	return 0;
}

/* The File backend's memory file: a regular file holding guest RAM. */
static int api_load_mem_file(struct json_ctx *c, const struct api_load *l, uint64_t mem_size,
			     int *fd)
{
	const char *kind;
	struct stat sb;
	*fd = util_open_file(l->mem_path, O_RDONLY, false, &kind);
	if (*fd < 0)
		return kind ? json_fail(c, "Load snapshot error: memory file %s is %s, not a regular "
					"file", l->mem_path, kind) :
			      json_fail(c, "Load snapshot error: memory file %s: %s", l->mem_path,
					strerror(-*fd));
	if (fstat(*fd, &sb) < 0 || (uint64_t)sb.st_size < mem_size)
		return json_fail(c, "Load snapshot error: memory file %s holds %lld bytes, guest RAM "
				 "is %llu bytes", l->mem_path, (long long)sb.st_size,
				 (unsigned long long)mem_size);
	return 0;
}

/* Build and start the VM of a decoded snapshot; on success the API serves
 * it and its configuration. */
static int api_load_build(struct api *api, struct json_ctx *c, const struct api_load *l,
			  const struct snapshot_state *st, const uint8_t *state, size_t state_len)
{
	char verr[JSON_ERR_LEN] = "";
	struct vm_config *cfg = malloc(sizeof(*cfg));
	struct vm *vm = NULL;
	int mem_fd = -1, r;

	if (!cfg)
		return json_fail(c, "Load snapshot error: out of memory"), -ENOMEM;
	*cfg = st->cfg;
	cfg->logger = api->cfg->logger;
	cfg->metrics = api->cfg->metrics;
	/* The serial output is the host's: where this process sends it (PUT
	 * /serial's file, else stdout; the fd stays api->cfg's until the load
	 * succeeds). Its rate limiter is the snapshot's, bucket included,
	 * unless PUT /serial gave one for this load. */
	bool serial_limiter_given = api->cfg->serial.rate_limiter.set;
	struct ratelimit_bucket_config saved_limiter = cfg->serial.rate_limiter;
	cfg->serial = api->cfg->serial;
	if (!serial_limiter_given)
		cfg->serial.rate_limiter = saved_limiter;
	cfg->serial.set = api->cfg->serial.set || saved_limiter.set;
	cfg->no_vmgenid = api->cfg->no_vmgenid;   /* this ember's --no-vmgenid */
	if (l->uffd)
		r = uffd_check_path(l->mem_path, verr, sizeof(verr)) < 0 ?
			json_fail(c, "Load snapshot error: %s", verr) : 0;
	else
		r = api_load_mem_file(c, l, st->mem_size, &mem_fd);
	if (r == 0)
		r = api_load_config(c, st, l, cfg);
	if (r == 0) {
		struct vm_restore rs = { .st = st, .mem_fd = mem_fd,
					 .uffd_path = l->uffd ? l->mem_path : NULL,
					 .clock_realtime = l->clock_realtime,
					 .serial_limiter_given = serial_limiter_given };
		/* --snapshot-prefetch: the working set next to the state file */
		rs.ws = ws_session_open(l->state_path, state, state_len, mem_fd, st->mem_size);
		r = vm_restore(cfg, api->loop, &rs, &vm, verr, sizeof(verr));
		if (r < 0)
			ws_session_free(rs.ws);
		if (r == 0 && (r = vm_start(vm, verr, sizeof(verr))) < 0) {
			vm_destroy(vm);
			vm = NULL;
		}
		if (r < 0)
			json_fail(c, "Load snapshot error: %s", verr[0] ? verr : strerror(-r));
	}
	if (mem_fd >= 0)
		close(mem_fd);
	if (r < 0) {
		cfg->serial.out_fd = -1;   /* api->cfg's */
		config_release(cfg);
		free(cfg);
		return r;
	}
	*api->cfg = *cfg;   /* fresh before but for the serial fd, which cfg took over */
	free(cfg);
	api->vm = vm;
	api->owns_vm = true;
	metrics_start(api->loop);
	if (l->resume)
		vm_resume(vm);
	return 0;
}

static int api_snapshot_load(struct api *api, struct json_ctx *c, struct api_req *req)
{
	struct api_load *l = malloc(sizeof(*l));
	struct snapshot_state *st = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char ferr[JSON_ERR_LEN];
	int r;

	if (!l)
		return json_fail(c, "Load snapshot error: out of memory"), -ENOMEM;
	if ((r = api_load_parse(c, req->body, l, &req->deprecation)) < 0 ||
	    (r = api_gate(api, c, API_PRE_BOOT)) < 0)
		goto out;
	if (api->boot_path) {
		r = json_fail(c, "Load snapshot error: Loading a microVM snapshot not allowed after "
			      "configuring boot-specific resources.");
		goto out;
	}
	uint64_t t0 = util_clock_us(CLOCK_MONOTONIC);
	timeline_mark(TIMELINE_INSTANCE_START);
	st = malloc(sizeof(*st));
	if (!st) {
		r = json_fail(c, "Load snapshot error: out of memory");
		goto out;
	}
	if ((r = snap_read_file(l->state_path, &buf, &len, ferr, sizeof(ferr))) < 0) {
		json_fail(c, "Load snapshot error: snapshot_path %s", ferr);
		free(st);
		st = NULL;
		goto out;
	}
	if ((r = snapshot_state_decode(buf, len, st, ferr, sizeof(ferr))) < 0) {
		json_fail(c, "Load snapshot error: snapshot_path %s: %s", l->state_path, ferr);
		free(st);
		st = NULL;
		goto out;
	}
	timeline_mark(TIMELINE_STATE_CHECKED);
	if ((r = api_load_build(api, c, l, st, buf, len)) == 0) {
		metrics_store(&metrics.latencies_us.load_snapshot, util_clock_us(CLOCK_MONOTONIC) - t0);
		log_info("Snapshot loaded: %s (memory %s%s)", l->state_path, l->mem_path,
			 l->resume ? ", resumed" : ", paused");
	}
out:
	if (st) {
		snapshot_state_free(st);
		free(st);
	}
	free(buf);
	free(l);
	return r;
}

int api_put_snapshot(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	if (!strcmp(req->id, "create"))
		return api_snapshot_create(api, c, req);
	if (!strcmp(req->id, "load"))
		return api_snapshot_load(api, c, req);
	return json_fail(c, "Invalid request method and/or path: %s %s.", req->mname, req->seg);
}
