// SPDX-License-Identifier: Apache-2.0
/* Every endpoint's JSON handler, through api_handle_request() (the routing
 * the socket server calls), on a fresh api + config per input.
 *
 * Input: requests separated by NUL bytes. Each is
 *   <method char><path> <body>
 * method: 'G' GET, 'P' PUT, 'A' PATCH, 'D' DELETE (others map by value);
 * the path ends at the first space or newline, the body is the rest.
 * InstanceStart "boots" a fake VM (vm_* below), so the post-boot rules are
 * reached too. Checks: every answer is 200 with a JSON body, 204 without,
 * or 400 with {"fault_message": string}, all valid UTF-8; GET /vm/config
 * always parses. */
#include "src/api.h"
#include "fuzz/common.h"
#include "src/config.h"
#include "src/devices.h"
#include "src/evloop.h"
#include "src/log.h"
#include "src/utf8.h"
#include "src/vm.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a VM that is always created and never runs ---- */
static int fake_vm_obj, fake_paused;
int vm_create(const struct vm_config *cfg, struct evloop *loop, struct vm **out,
	      char *err, size_t errlen)
{
	*out = (struct vm *)&fake_vm_obj;
	return 0;
}
int vm_start(struct vm *vm, char *err, size_t errlen) { return 0; }
int vm_pause(struct vm *vm) { fake_paused = 1; return 0; }
int vm_resume(struct vm *vm) { fake_paused = 0; return 0; }
int vm_is_paused(const struct vm *vm) { return fake_paused; }
int vm_send_ctrl_alt_del(struct vm *vm) { return 0; }
/* The device models accept every update (fds are dup'ed by the real ones). */
int vm_update_drive(struct vm *vm, const struct config_drive *drive, char *err, size_t errlen)
{
	return 0;
}
int vm_update_net(struct vm *vm, const struct config_net *net, char *err, size_t errlen)
{
	return 0;
}
void vm_destroy(struct vm *vm) { }
int vm_snapshot_create(struct vm *vm, const struct vm_config *cfg, const char *state_path,
		       const char *mem_path, enum vm_snapshot_type type, char *err, size_t errlen)
{
	return 0;
}
int vm_restore(const struct vm_config *cfg, struct evloop *loop, const struct vm_restore *rs,
	       struct vm **out, char *err, size_t errlen)
{
	snprintf(err, errlen, "fake: no KVM");
	return -ENODEV;
}

static struct evloop *loop;
static struct vm_config cfg;
static int verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	fuzz_sandbox_init(verbose);
	loop = evloop_create();
	if (!loop)
		abort();
	return 0;
}

static void check_response(const struct api_http_request *req, const struct api_http_response *r)
{
	if (r->status == 204) {
		if (r->body || r->body_len)
			abort();
		return;
	}
	if (r->status != 200 && r->status != 400)
		abort();
	if (!r->body)
		abort();
	if (utf8_valid_prefix(r->body, r->body_len) != r->body_len)
		abort();   /* JSON is UTF-8 (RFC 8259 8.1); cJSON does not check */
	cJSON *o = cJSON_ParseWithLength(r->body, r->body_len);
	if (!o || !cJSON_IsObject(o))
		abort();
	if (r->status == 400 && !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o,
								"fault_message")))
		abort();
	if (r->status == 200 && req->method != API_HTTP_GET)
		abort();
	cJSON_Delete(o);
}

static void do_request(struct api *api, enum api_http_method m, const char *path,
		       const char *body, size_t body_len)
{
	struct api_http_request req;
	struct api_http_response resp;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = m;
	snprintf(req.path, sizeof(req.path), "%s", path);
	req.body = body_len ? body : NULL;
	req.body_len = body_len;
	api_handle_request(api, &req, &resp);
	check_response(&req, &resp);
	free(resp.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	static char path[API_HTTP_MAX_LINE];

	if (size > 4 * API_HTTP_MAX_BODY)
		return 0;
	config_init(&cfg);
	fake_paused = 0;
	log_set_level(verbose ? LOG_TRACE : LOG_OFF);  /* PUT /logger changes it */
	struct api *api = api_create(loop, NULL, "fuzz-id", &cfg, err, sizeof(err));
	if (!api)
		abort();

	const char *p = (const char *)data, *end = p + size;
	for (int n = 0; n < 32 && p < end; n++) {
		const char *rec_end = memchr(p, 0, (size_t)(end - p));
		if (!rec_end)
			rec_end = end;
		enum api_http_method m;
		switch (*p) {
		case 'G': m = API_HTTP_GET; break;
		case 'P': m = API_HTTP_PUT; break;
		case 'A': m = API_HTTP_PATCH; break;
		case 'D': m = API_HTTP_DELETE; break;
		default: m = (enum api_http_method)((uint8_t)*p % 4); break;
		}
		const char *q = p + 1;
		size_t plen = 0;
		while (q + plen < rec_end && q[plen] != ' ' && q[plen] != '\n' &&
		       plen < sizeof(path) - 1)
			plen++;
		memcpy(path, q, plen);
		path[plen] = 0;
		const char *body = q + plen;
		if (body < rec_end)
			body++;   /* the separator */
		do_request(api, m, path, body, (size_t)(rec_end - body));
		p = rec_end + 1;
	}
	/* The state must always serialise. */
	do_request(api, API_HTTP_GET, "/vm/config", NULL, 0);
	do_request(api, API_HTTP_GET, "/", NULL, 0);
	do_request(api, API_HTTP_GET, "/machine-config", NULL, 0);

	api_destroy(api);
	config_release(&cfg);
	return 0;
}
