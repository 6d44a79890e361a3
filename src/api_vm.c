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
#include "src/metrics.h"
#include "src/timeline.h"
#include "src/util.h"
#include "src/vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
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
