// SPDX-License-Identifier: Apache-2.0
/*
 * api.c - Firecracker's API on top of api_http: routing and the actions.
 * Bodies are read by json_strict.c and applied to struct vm_config by
 * config_json.c (which --config-file, config_file.c, shares).
 *
 * Error texts copy Firecracker's where a client could depend on them
 * (docs/firecracker-compat.md).
 */
#include "api.h"
#include "config_json.h"
#include "devices.h"
#include "json_strict.h"
#include "log.h"
#include "metrics.h"
#include "timeline.h"
#include "utf8.h"
#include "vm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

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
	char msg[JSON_ERR_LEN];
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

static int api_action(struct api *api, struct json_ctx *c, const cJSON *obj)
{
	static const char *const fields[] = { "action_type", NULL };
	static const char *const actions[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics",
					       NULL };
	int r, a = 0;

	if ((r = json_check_object(c, obj, "ActionBody", fields)) < 0 ||
	    (r = json_get_enum(c, obj, "action_type", true, actions, &a)) < 0)
		return r;
	if (a == 0) { /* InstanceStart */
		if (api_started(api))
			return json_fail(c, "%s", API_ERR_AFTER_BOOT);
		if (!api->cfg->boot.set)
			return json_fail(c, "Start microvm error: Cannot start microvm without "
					 "kernel configuration.");
		uint64_t t0 = api_now_us(CLOCK_MONOTONIC);
		char verr[JSON_ERR_LEN] = "";
		timeline_mark(TIMELINE_INSTANCE_START);
		struct vm *vm = NULL;
		r = vm_create(api->cfg, api->loop, &vm, verr, sizeof(verr));
		if (r == 0) {
			r = vm_start(vm, verr, sizeof(verr));
			if (r < 0) {
				vm_destroy(vm);
				vm = NULL;
			}
		}
		if (r < 0) /* not fatal: the API stays pre-boot (Firecracker too) */
			return json_fail(c, "Start microvm error: %s",
					 verr[0] ? verr : strerror(-r)), r;
		api->vm = vm;
		api->owns_vm = true;
		metrics_store(&metrics.latencies_us.instance_start, api_now_us(CLOCK_MONOTONIC) - t0);
		metrics_start(api->loop);
		return 0;
	}
	if (!api_started(api))
		return json_fail(c, "%s", API_ERR_BEFORE_BOOT);
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

static int api_patch_vm(struct api *api, struct json_ctx *c, const cJSON *obj)
{
	static const char *const fields[] = { "state", NULL };
	static const char *const states[] = { "Paused", "Resumed", NULL };
	int r, s = 0;

	if ((r = json_check_object(c, obj, "Vm", fields)) < 0 ||
	    (r = json_get_enum(c, obj, "state", true, states, &s)) < 0)
		return r;
	if (!api_started(api))
		return json_fail(c, "%s", API_ERR_BEFORE_BOOT);
	uint64_t t0 = api_now_us(CLOCK_MONOTONIC);
	r = s == 0 ? vm_pause(api->vm) : vm_resume(api->vm);
	if (r < 0)
		return json_fail(c, "%s error: %s", s == 0 ? "Pause" : "Resume", strerror(-r)), r;
	metrics_store(s == 0 ? &metrics.latencies_us.pause_vm : &metrics.latencies_us.resume_vm,
		      api_now_us(CLOCK_MONOTONIC) - t0);
	return 0;
}

/* PATCH /drives/{id} after boot: a new backing file and/or rate limiter,
 * applied by the running device, then recorded in the config. */
static int api_patch_drive(struct api *api, struct json_ctx *c, const cJSON *obj,
			   const char *path_id)
{
	static const char *const fields[] = { "drive_id", "path_on_host", "rate_limiter", NULL };
	struct config_drive d;
	char verr[JSON_ERR_LEN];
	int r, has_path, idx;

	memset(&d, 0, sizeof(d));
	if ((r = json_check_object(c, obj, "BlockDeviceUpdateConfig", fields)) < 0 ||
	    (r = json_get_str(c, obj, "drive_id", true, d.drive_id, sizeof(d.drive_id))) < 0 ||
	    (has_path = r = json_get_str(c, obj, "path_on_host", false, d.path_on_host,
					 sizeof(d.path_on_host))) < 0)
		return r;
	if (strcmp(path_id, d.drive_id) != 0)
		return json_fail(c, "The id from the path does not match the id from the body!");
	if ((r = config_json_resource_id(c, d.drive_id)) < 0)
		return r;
	if (!api_started(api))
		return json_fail(c, "%s", API_ERR_BEFORE_BOOT);
	idx = config_drive_find(api->cfg, d.drive_id);
	if (idx < 0)
		return json_fail(c, "Drive config error: The block device ID is invalid: %s",
				 d.drive_id), -ENOENT;
	/* The merged config: the current drive with the new fields. */
	struct config_drive merged = api->cfg->drives[idx];
	if ((r = config_json_patch_limiter(c, obj, "rate_limiter", &merged.rate_limiter)) < 0)
		return r;
	merged.fd = -1;
	if (has_path) {
		snprintf(merged.path_on_host, sizeof(merged.path_on_host), "%s", d.path_on_host);
		if ((r = config_drive_open(&merged, verr, sizeof(verr))) < 0)
			return json_fail(c, "Drive update error: %s", verr), r;
	}
	struct devices *devs = vm_devices(api->vm);
	r = devs ? devices_update_drive(devs, &merged, verr, sizeof(verr)) : -ENODEV;
	if (r < 0) {
		if (merged.fd >= 0)
			close(merged.fd);
		return json_fail(c, "Drive update error: %s",
				 devs ? verr : "the VM has no devices"), r;
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

/* PATCH /network-interfaces/{id} after boot: new rate limiters. */
static int api_patch_net(struct api *api, struct json_ctx *c, const cJSON *obj,
			 const char *path_id)
{
	static const char *const fields[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter",
					      NULL };
	char id[CONFIG_ID_MAX + 1], verr[JSON_ERR_LEN];
	int r, idx;

	if ((r = json_check_object(c, obj, "NetworkInterfaceUpdateConfig", fields)) < 0 ||
	    (r = json_get_str(c, obj, "iface_id", true, id, sizeof(id))) < 0)
		return r;
	if (strcmp(path_id, id) != 0)
		return json_fail(c, "The id from the path [%s] does not match the id from the "
				 "body [%s]!", path_id, id);
	if ((r = config_json_resource_id(c, id)) < 0)
		return r;
	idx = config_net_find(api->cfg, id);
	struct config_net merged;
	if (idx >= 0)
		merged = api->cfg->nets[idx];
	else
		memset(&merged, 0, sizeof(merged));
	if ((r = config_json_patch_limiter(c, obj, "rx_rate_limiter",
					   &merged.rx_rate_limiter)) < 0 ||
	    (r = config_json_patch_limiter(c, obj, "tx_rate_limiter",
					   &merged.tx_rate_limiter)) < 0)
		return r;
	if (!api_started(api))
		return json_fail(c, "%s", API_ERR_BEFORE_BOOT);
	if (idx < 0)
		return json_fail(c, "Network interface error: Invalid network interface ID: %s",
				 id), -ENOENT;
	struct devices *devs = vm_devices(api->vm);
	r = devs ? devices_update_net(devs, &merged, verr, sizeof(verr)) : -ENODEV;
	if (r < 0)
		return json_fail(c, "Network interface update error: %s",
				 devs ? verr : "the VM has no devices"), r;
	api->cfg->nets[idx] = merged;
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

/* Route one request. Returns 0 (204 unless *out set for a 200) or -errno
 * with c->err set. */
static int api_route(struct api *api, struct json_ctx *c, const struct api_http_request *req,
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
			return json_fail(c, "ember does not support %s (%s /%s).",
					 api_unsupported[i].what, mname, s0);

	if (m == API_HTTP_GET) {
		if (has_body)
			return json_fail(c, "GET request cannot have a body.");
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
			*out = config_json_from_machine(&api->cfg->machine);
			return 0;
		}
		if (!strcmp(s0, "vm") && nsegs >= 2 && !strcmp(segs[1], "config")) {
			*out = config_json_from_config(api->cfg);
			return 0;
		}
		return json_fail(c, "Invalid request method and/or path: %s %s.", mname,
				 s0);
	}
	if ((m == API_HTTP_PUT || m == API_HTTP_PATCH) && !has_body)
		return json_fail(c, "Empty %s request.", mname);

	/* Path ids come before the body is looked at (Firecracker's order). */
	bool with_id = !strcmp(s0, "drives") || !strcmp(s0, "network-interfaces");
	const char *id = nsegs >= 2 ? segs[1] : "";
	if (with_id && (m == API_HTTP_PUT || m == API_HTTP_PATCH || m == API_HTTP_DELETE) &&
	    (r = config_json_resource_id(c, id)) < 0)
		return r;

	if (m == API_HTTP_DELETE) {
		if (!with_id)
			return json_fail(c, "Invalid request method and/or path: %s %s.", mname, s0);
		if (!api_started(api))
			return json_fail(c, "%s", API_ERR_BEFORE_BOOT);
		return json_fail(c, "ember does not support device hotplug (%s /%s).", mname, s0);
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
		return json_fail(c, "Invalid request method and/or path: %s %s.", mname, s0);

	obj = json_parse(c, req->body, req->body_len);
	if (!obj)
		return -EINVAL;
	bool pre_only = m == API_HTTP_PUT && strcmp(s0, "actions") != 0;
	if (!strcmp(s0, "machine-config"))
		pre_only = true;
	if (pre_only && api_started(api)) {
		r = json_fail(c, "%s", API_ERR_AFTER_BOOT);
		goto out;
	}
	if (m == API_HTTP_PUT) {
		if (!strcmp(s0, "actions"))
			r = api_action(api, c, obj);
		else if (!strcmp(s0, "boot-source"))
			r = config_json_boot_source(c, api->cfg, obj);
		else if (!strcmp(s0, "drives"))
			r = config_json_drive(c, api->cfg, obj, id);
		else if (!strcmp(s0, "logger"))
			r = config_json_logger(c, api->cfg, obj);
		else if (!strcmp(s0, "machine-config"))
			r = config_json_machine(c, api->cfg, obj, false);
		else if (!strcmp(s0, "metrics"))
			r = config_json_metrics(c, api->cfg, obj, api->id);
		else
			r = config_json_net(c, api->cfg, obj, id);
	} else {
		if (!strcmp(s0, "machine-config"))
			r = config_json_machine(c, api->cfg, obj, true);
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
	char err[JSON_ERR_LEN] = "";
	struct json_ctx c = { .err = err, .errlen = sizeof(err) };
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
