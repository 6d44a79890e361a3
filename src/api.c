// SPDX-License-Identifier: Apache-2.0
/*
 * api.c - Firecracker's API on top of api_http: the route table (which
 * method and path runs what, when, and which request counters it bumps),
 * the GET and configuration routes, and the api object's life. The routes
 * that act on the VM are in api_vm.c.
 *
 * Bodies are read by json_strict.c and applied to struct vm_config by
 * config_json.c; error texts copy Firecracker's (docs/firecracker-compat.md).
 *
 * May call: api_http.c, api_vm.c, json_strict.c, config_json.c, vm.c
 * (vm_is_paused, vm_destroy), log.c, metrics.c, timeline.c, utf8.c, cJSON.
 */
#include "src/api.h"
#include "src/api_vm.h"
#include "src/config_json.h"
#include "src/json_strict.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/timeline.h"
#include "src/utf8.h"
#include "src/util.h"
#include "src/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.0.0"
#endif

/* ---- GET ---- */

static int api_get_info(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", api->id);
	cJSON_AddStringToObject(o, "state", !api->vm ? "Not started" :
				vm_is_paused(api->vm) ? "Paused" : "Running");
	cJSON_AddStringToObject(o, "vmm_version", EMBER_VERSION);
	cJSON_AddStringToObject(o, "app_name", "ember");
	*out = o;
	return 0;
}

static int api_get_version(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "firecracker_version", EMBER_VERSION);
	*out = o;
	return 0;
}

static int api_get_machine(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	*out = config_json_from_machine(&api->cfg->machine);
	return 0;
}

static int api_get_vm_config(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	*out = config_json_from_config(api->cfg);
	return 0;
}

/* ---- PUT and PATCH of the configuration (pre-boot) ---- */

static int api_put_boot(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	api->boot_path = true;
	return config_json_boot_source(c, api->cfg, req->body);
}

static int api_put_drive(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	api->boot_path = true;
	return config_json_drive(c, api->cfg, req->body, req->id);
}

static int api_put_logger(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	return config_json_logger(c, api->cfg, req->body);
}

/* PUT and PATCH /machine-config: the body is read before the boot rule (a
 * bad one is a deserialisation error even after boot); from then on a
 * cpu_template in it, "None" included, marks the response deprecated, as
 * Firecracker does for the static templates. */
static int api_machine_check(struct api *api, struct json_ctx *c, struct api_req *req,
			     cJSON **out)
{
	bool patch = !strcmp(req->mname, "PATCH");
	int r = config_json_machine_read(c, &api->cfg->machine, req->body, patch, &req->u.machine);
	if (r == 0 && json_field(req->body, "cpu_template"))
		req->deprecation = patch ? "PATCH /machine-config: cpu_template field is deprecated."
					 : "PUT /machine-config: cpu_template field is deprecated.";
	return r;
}

static int api_apply_machine(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	api->boot_path = true;
	return config_json_machine_apply(c, api->cfg, &req->u.machine);
}

static int api_put_metrics(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	return config_json_metrics(c, api->cfg, req->body, api->id);
}

static int api_put_net(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	api->boot_path = true;
	return config_json_net(c, api->cfg, req->body, req->id);
}

static int api_put_serial(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out)
{
	return config_json_serial(c, api->cfg, req->body);
}

/* ---- the route table ---- */

/* One route: a method and a first path segment. */
struct api_route {
	enum api_http_method method;
	const char *seg;
	const char *sub;              /* the second segment it needs, or NULL */
	bool with_id;                 /* the second segment is a resource id */
	enum api_when when;           /* checked after `check`, before `run` */
	api_step *check;              /* NULL, or body checks that come before the boot rule */
	api_step *run;
	uint64_t *count, *fails;      /* metrics: requests, failed requests (NULL: none) */
};

/* The count and fails counters of a route (metrics.h's names). */
#define API_GET(name) &metrics.get_api_requests.name, &metrics.get_api_requests.fails
#define API_PUT(name) \
	&metrics.put_api_requests.name##_count, &metrics.put_api_requests.name##_fails
#define API_PATCH(name) \
	&metrics.patch_api_requests.name##_count, &metrics.patch_api_requests.name##_fails

static const struct api_route api_routes[] = {
	{ API_HTTP_GET, "", NULL, false, API_ANY_TIME, NULL, api_get_info,
	  API_GET(instance_info_count) },
	{ API_HTTP_GET, "version", NULL, false, API_ANY_TIME, NULL, api_get_version,
	  API_GET(vmm_version_count) },
	{ API_HTTP_GET, "machine-config", NULL, false, API_ANY_TIME, NULL, api_get_machine,
	  API_GET(machine_cfg_count) },
	{ API_HTTP_GET, "vm", "config", false, API_ANY_TIME, NULL, api_get_vm_config,
	  API_GET(vm_config_count) },
	{ API_HTTP_PUT, "actions", NULL, false, API_ANY_TIME, NULL, api_put_actions,
	  API_PUT(actions) },
	{ API_HTTP_PUT, "boot-source", NULL, false, API_PRE_BOOT, NULL, api_put_boot,
	  API_PUT(boot_source) },
	{ API_HTTP_PUT, "drives", NULL, true, API_PRE_BOOT, NULL, api_put_drive, API_PUT(drive) },
	{ API_HTTP_PUT, "logger", NULL, false, API_PRE_BOOT, NULL, api_put_logger,
	  API_PUT(logger) },
	{ API_HTTP_PUT, "machine-config", NULL, false, API_PRE_BOOT, api_machine_check,
	  api_apply_machine, API_PUT(machine_cfg) },
	{ API_HTTP_PUT, "metrics", NULL, false, API_PRE_BOOT, NULL, api_put_metrics,
	  API_PUT(metrics) },
	{ API_HTTP_PUT, "network-interfaces", NULL, true, API_PRE_BOOT, NULL, api_put_net,
	  API_PUT(network) },
	/* Firecracker has no request counters for /serial. */
	{ API_HTTP_PUT, "serial", NULL, false, API_PRE_BOOT, NULL, api_put_serial, NULL, NULL },
	{ API_HTTP_PUT, "snapshot", NULL, false, API_ANY_TIME, NULL, api_put_snapshot, NULL,
	  NULL },
	{ API_HTTP_PATCH, "machine-config", NULL, false, API_PRE_BOOT, api_machine_check,
	  api_apply_machine, API_PATCH(machine_cfg) },
	{ API_HTTP_PATCH, "drives", NULL, true, API_POST_BOOT, api_patch_drive_check,
	  api_patch_drive, API_PATCH(drive) },
	{ API_HTTP_PATCH, "network-interfaces", NULL, true, API_POST_BOOT, api_patch_net_check,
	  api_patch_net, API_PATCH(network) },
	{ API_HTTP_PATCH, "vm", NULL, false, API_POST_BOOT, api_patch_vm_check, api_patch_vm,
	  API_PATCH(vm) },
	{ API_HTTP_DELETE, "drives", NULL, true, API_POST_BOOT, NULL, api_delete_device,
	  NULL, NULL },
	{ API_HTTP_DELETE, "network-interfaces", NULL, true, API_POST_BOOT, NULL,
	  api_delete_device, NULL, NULL },
};

#undef API_GET
#undef API_PUT
#undef API_PATCH

/* What holds for a method whatever the path, and its counters for the paths
 * it has no route for. */
enum api_body { API_BODY_IGNORED, API_BODY_NONE, API_BODY_REQUIRED };
static const struct api_method {
	enum api_body body;
	uint64_t *count, *fails;
} api_methods[] = {
	[API_HTTP_GET] = { API_BODY_NONE, NULL, &metrics.get_api_requests.fails },
	[API_HTTP_PUT] = { API_BODY_REQUIRED, &metrics.put_api_requests.unsupported_count, NULL },
	[API_HTTP_PATCH] = { API_BODY_REQUIRED, &metrics.patch_api_requests.unsupported_count,
			     NULL },
	[API_HTTP_DELETE] = { API_BODY_IGNORED, NULL, NULL },
};

/* Firecracker paths for devices and features ember does not have. */
static const struct { const char *seg; const char *what; } api_unsupported[] = {
	{ "vsock", "virtio-vsock devices" },
	{ "balloon", "the balloon device" },
	{ "entropy", "the entropy (virtio-rng) device" },
	{ "mmds", "the microVM metadata service (MMDS)" },
	{ "pmem", "virtio-pmem devices" },
	{ "hotplug", "memory hotplug" },
	{ "cpu-config", "custom CPU templates" },
};

static const struct api_route *api_route_find(enum api_http_method m, const char *seg)
{
	for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++)
		if (api_routes[i].method == m && !strcmp(api_routes[i].seg, seg))
			return &api_routes[i];
	return NULL;
}

/* Route one request, in Firecracker's order: unsupported features, the
 * method's body rule, the path, its id, the body's JSON, the route's body
 * checks, the boot rule, the handler. Returns 0 (204 unless *out is set
 * for a 200) or -errno with c->err set; *deprecation is what the check or
 * run step found (NULL: nothing deprecated), whatever the result. */
static int api_dispatch(struct api *api, struct json_ctx *c, const struct api_http_request *req,
			const struct api_route *route, const char *segs[2], cJSON **out,
			const char **deprecation)
{
	const struct api_method *meth = &api_methods[req->method];
	struct api_req ar = { .mname = api_http_method_name(req->method), .seg = segs[0],
			      .id = segs[1] ? segs[1] : "" };
	cJSON *body = NULL;
	int r;

	for (size_t i = 0; i < sizeof(api_unsupported) / sizeof(api_unsupported[0]); i++)
		if (!strcmp(ar.seg, api_unsupported[i].seg))
			return json_fail(c, "ember does not support %s (%s /%s).",
					 api_unsupported[i].what, ar.mname, ar.seg);
	if (meth->body == API_BODY_NONE && req->body_len)
		return json_fail(c, "%s request cannot have a body.", ar.mname);
	if (meth->body == API_BODY_REQUIRED && !req->body_len)
		return json_fail(c, "Empty %s request.", ar.mname);
	if (!route || (route->sub && (!segs[1] || strcmp(segs[1], route->sub) != 0)))
		return json_fail(c, "Invalid request method and/or path: %s %s.", ar.mname, ar.seg);
	/* Path ids come before the body is looked at (Firecracker's order). */
	if (route->with_id && (r = config_json_resource_id(c, ar.id)) < 0)
		return r;
	if (meth->body == API_BODY_REQUIRED) {
		body = json_parse(c, req->body, req->body_len);
		if (!body)
			return -EINVAL;
	}
	ar.body = body;
	r = route->check ? route->check(api, c, &ar, out) : 0;
	if (r == 0)
		r = api_gate(api, c, route->when);
	if (r == 0)
		r = route->run(api, c, &ar, out);
	*deprecation = ar.deprecation;
	cJSON_Delete(body);
	return r;
}

/* ---- requests ---- */

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

/* The first two segments of path: leading '/'s trimmed, split on '/', one
 * trailing '/' ignored, later segments ignored. segs[1] is NULL when there
 * is no second segment. */
static void api_split_path(const char *path, char bufs[2][API_HTTP_MAX_LINE], const char *segs[2])
{
	const char *p = path;
	while (*p == '/')
		p++;
	segs[1] = NULL;
	for (int n = 0; n < 2; n++) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		memcpy(bufs[n], p, len);
		bufs[n][len] = '\0';
		segs[n] = bufs[n];
		if (!slash || !slash[1])
			break;
		p = slash + 1;
	}
}

void api_handle_request(struct api *api, const struct api_http_request *req,
			struct api_http_response *resp)
{
	static char bufs[2][API_HTTP_MAX_LINE];
	char err[JSON_ERR_LEN] = "";
	struct json_ctx c = { .err = err, .errlen = sizeof(err) };
	const char *mname = api_http_method_name(req->method);
	const char *segs[2];
	cJSON *out = NULL;

	api_split_path(req->path, bufs, segs);
	if (req->method == API_HTTP_GET || !req->body_len)
		log_info("The API server received a %s request on \"%s\".", mname, req->path);
	else
		log_info("The API server received a %s request on \"%s\" with body \"%.*s\".",
			 mname, req->path, (int)(req->body_len > 4096 ? 4096 : req->body_len),
			 req->body);

	/* The counters are those of the method and first segment, however far
	 * the request got: an empty PUT /drives is a failed drive request, GET
	 * /vm one of /vm/config. */
	const struct api_route *route = api_route_find(req->method, segs[0]);
	const char *deprecation = NULL;
	int r = api_dispatch(api, &c, req, route, segs, &out, &deprecation);
	if (deprecation) { /* on the answer, error or not (Firecracker too) */
		log_warn("%s", deprecation);
		resp->deprecation = true;
	}
	uint64_t *count = route ? route->count : api_methods[req->method].count;
	uint64_t *fails = route ? route->fails : api_methods[req->method].fails;
	if (count)
		metrics_inc(count);
	if (r < 0 && fails)
		metrics_inc(fails);
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

/* ---- the api object ---- */

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
				      (util_now_ns() - start) / 1000);
		metrics_store(&metrics.api_server.process_startup_time_cpu_us,
			      util_clock_us(CLOCK_PROCESS_CPUTIME_ID));
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
