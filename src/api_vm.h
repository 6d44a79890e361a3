/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_vm.h - inside the API: the api object and a request as the route
 * handlers see it, shared by api.c (the route table, the requests, the
 * configuration routes) and api_vm.c (the routes that act on the VM).
 * No other file includes it. Main thread only.
 */
#ifndef EMBER_API_VM_H
#define EMBER_API_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "src/api.h"
#include "src/config.h"
#include "src/json_strict.h"

struct api {
	struct evloop *loop;
	struct api_http_server *srv;
	struct vm_config *cfg;
	struct vm *vm;                /* NULL until the VM runs */
	bool owns_vm;                 /* started by InstanceStart: destroyed by us */
	char id[CONFIG_ID_MAX + 1];
	/* A boot resource (boot source, machine config, drive, interface) was
	 * configured: a snapshot load is refused. */
	bool boot_path;
};

/* When a route may run: its boot rule. */
enum api_when { API_ANY_TIME, API_PRE_BOOT, API_POST_BOOT };

/* One request as a route's steps see it. */
struct api_req {
	const char *mname, *seg;      /* method name, first path segment */
	const char *id;               /* second path segment ("" when none) */
	const cJSON *body;            /* NULL for methods without a body */
	const char *deprecation;      /* set by a step: the request uses a
				       * deprecated field (log line, and the
				       * response gets "Deprecation: true") */
	union {                       /* what a check step found, for its run step */
		int state;            /* PATCH /vm: 0 Paused, 1 Resumed */
		struct config_machine machine; /* PUT, PATCH /machine-config */
		struct {
			struct config_drive d;
			bool has_path;
		} drive;              /* PATCH /drives */
		struct {
			int idx;
			struct config_net merged;
		} net;                /* PATCH /network-interfaces */
	} u;
};

/* A route's step. A check step validates what must be validated before the
 * boot rule and may fill req->u for the run step; a run step does the
 * request. Both return 0 (with *out set for a 200 answer, else 204) or
 * -errno with c->err set. */
typedef int api_step(struct api *api, struct json_ctx *c, struct api_req *req, cJSON **out);

/* The boot rule: 0, or -EINVAL with Firecracker's "The requested operation
 * is not supported after (before) starting the microVM." in c->err. */
int api_gate(const struct api *api, struct json_ctx *c, enum api_when when);

/* PUT /actions: InstanceStart (pre-boot), SendCtrlAltDel and FlushMetrics
 * (post-boot); each action applies its own boot rule. */
api_step api_put_actions;
/* PATCH /vm {"state": "Paused" | "Resumed"}: the check step reads state. */
api_step api_patch_vm_check, api_patch_vm;
/* PATCH /drives/{id}: the check step reads drive_id (= the path id) and
 * path_on_host; the run step merges rate_limiter into the drive, opens the
 * new file, and has the running device take both (vm_update_drive()). */
api_step api_patch_drive_check, api_patch_drive;
/* PATCH /network-interfaces/{id}: the check step reads iface_id and merges
 * the rate limiters into a copy of the interface; the run step has the
 * running device take them (vm_update_net()). */
api_step api_patch_net_check, api_patch_net;
/* PUT /snapshot/create (post-boot, VM paused) and PUT /snapshot/load
 * (pre-boot, on a fresh process): the second path segment says which; each
 * applies its own boot rule (docs/snapshot.md, section 5). */
api_step api_put_snapshot;
/* DELETE /drives/{id}, /network-interfaces/{id}: device hotplug, which ember
 * does not support. */
api_step api_delete_device;

#endif
