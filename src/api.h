/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - the Firecracker-compatible API: routes, actions (InstanceStart,
 * SendCtrlAltDel, FlushMetrics, pause/resume), the api object.
 *
 * Requests are validated the way Firecracker does (unknown fields, wrong
 * types, missing required fields, path id != body id: 400
 * {"fault_message": "..."}; json_strict.h, config_json.h); drive files and
 * taps are opened at PUT time. Everything runs on the main thread.
 */
#ifndef EMBER_API_H
#define EMBER_API_H

#include <stddef.h>

#include "src/api_http.h"
#include "src/config.h"
#include "src/evloop.h"

struct api;
struct vm;

/* Start serving on sock_path (stale socket removed, live one -> error,
 * mode 0600). cfg is the config to extend (may be prefilled from
 * --config-file); it must outlive the api. instance_id is shown by GET / (NULL:
 * "anonymous-instance"). sock_path NULL: no socket (requests only through
 * api_handle_request(), for tests). Returns NULL with err set. */
struct api *api_create(struct evloop *loop, const char *sock_path, const char *instance_id,
		       struct vm_config *cfg, char *err, size_t errlen);

/* After a config-file boot with the API on: tell the API the VM is running
 * (it then serves the post-boot set) and starts the periodic metrics
 * (metrics_start). The api does not own vm. */
void api_set_vm(struct api *api, struct vm *vm);

/* The VM the API started with InstanceStart (or was given), NULL before. */
struct vm *api_get_vm(struct api *api);

/* Close the socket and unlink its path; destroy the VM if InstanceStart
 * created it (one given by api_set_vm() stays the caller's). NULL is fine. */
void api_destroy(struct api *api);

/* Serve one parsed request (the api_http handler). resp->body is malloc'd
 * (the caller frees it) or NULL. Exposed for unit tests. */
void api_handle_request(struct api *api, const struct api_http_request *req,
			struct api_http_response *resp);

#endif
