// SPDX-License-Identifier: Apache-2.0
/* Regression tests for problems found by the fuzzers (fuzz/) and the API
 * abuse test (tests/abuse/). One test per finding, named after it; the
 * comment says which tool found it and what went wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/api.h"
#include "src/config_file.h"
#include "src/devices.h"
#include "src/log.h"
#include "src/utf8.h"
#include "src/vm.h"

/* api.o needs these; no VM is ever started here. */
__attribute__((weak)) int vm_create(const struct vm_config *cfg, struct evloop *loop,
				    struct vm **out, char *err, size_t errlen)
{
	snprintf(err, errlen, "no VM in this test");
	return -ENODEV;
}
__attribute__((weak)) int vm_start(struct vm *vm, char *err, size_t errlen) { return 0; }
__attribute__((weak)) int vm_pause(struct vm *vm) { return 0; }
__attribute__((weak)) int vm_resume(struct vm *vm) { return 0; }
__attribute__((weak)) int vm_is_paused(const struct vm *vm) { return 0; }
__attribute__((weak)) int vm_send_ctrl_alt_del(struct vm *vm) { return 0; }
/* As the real ones for a VM without devices. */
__attribute__((weak)) int vm_update_drive(struct vm *vm, const struct config_drive *drive,
					  char *err, size_t errlen)
{
	snprintf(err, errlen, "the VM has no devices");
	return -ENODEV;
}
__attribute__((weak)) int vm_update_net(struct vm *vm, const struct config_net *net, char *err,
					size_t errlen)
{
	snprintf(err, errlen, "the VM has no devices");
	return -ENODEV;
}
__attribute__((weak)) void vm_destroy(struct vm *vm) { }
__attribute__((weak)) int vm_snapshot_create(struct vm *vm, const struct vm_config *cfg, const char *state_path,
		       const char *mem_path, enum vm_snapshot_type type, char *err, size_t errlen)
{
	return 0;
}
__attribute__((weak)) int vm_restore(const struct vm_config *cfg, struct evloop *loop, const struct vm_restore *rs,
	       struct vm **out, char *err, size_t errlen)
{
	snprintf(err, errlen, "fake: no KVM");
	return -ENODEV;
}

static char kernel[64];

static int put(struct api *api, const char *path, const char *body)
{
	struct api_http_request r;
	struct api_http_response resp = { 0 };
	memset(&r, 0, sizeof(r));
	r.method = API_HTTP_PUT;
	snprintf(r.path, sizeof(r.path), "%s", path);
	r.body = body;
	r.body_len = strlen(body);
	api_handle_request(api, &r, &resp);
	free(resp.body);
	return resp.status;
}

/* tests/abuse (h_invalid_utf8): a body with invalid UTF-8 inside a JSON
 * string was accepted (cJSON copies string bytes unchecked), so
 * boot_args held bytes that GET /vm/config then sent back as invalid JSON.
 * Firecracker (serde_json) answers 400. Fixed in api_parse_body() with
 * utf8_valid_prefix() (src/utf8.c). */
static void test_api_invalid_utf8_rejected(void **state)
{
	static const char *const bad[] = { "\xff", "\xc3\x28", "\xed\xa0\x80", "\xc0\xaf",
					   "\xe2\x82", "\xf8\x88\x80\x80\x80", "\x80",
					   "\xf4\x90\x80\x80" };
	struct vm_config cfg;
	struct evloop *loop = evloop_create();
	char err[256], body[512];

	log_set_level(LOG_OFF);
	config_init(&cfg);
	struct api *api = api_create(loop, NULL, NULL, &cfg, err, sizeof(err));
	assert_non_null(api);
	strcpy(kernel, "/tmp/ember-regress-kernel-XXXXXX");
	close(mkstemp(kernel));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"console=%s\"}", kernel,
			 bad[i]);
		assert_int_equal(put(api, "/boot-source", body), 400);
		assert_false(cfg.boot.set);
	}
	/* Valid multi-byte UTF-8 stays accepted. */
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"x=\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
		 kernel);
	assert_int_equal(put(api, "/boot-source", body), 204);
	assert_true(cfg.boot.set);

	/* The config file goes through the same parser. */
	char cf[] = "/tmp/ember-regress-cfg-XXXXXX";
	int fd = mkstemp(cf);
	snprintf(body, sizeof(body), "{\"boot-source\": {\"kernel_image_path\": \"%s\", "
		 "\"boot_args\": \"\xff\"}}", kernel);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	struct vm_config cfg2;
	config_init(&cfg2);
	assert_true(config_file_load(cf, &cfg2, err, sizeof(err)) < 0);
	config_release(&cfg2);
	unlink(cf);

	api_destroy(api);
	config_release(&cfg);
	evloop_destroy(loop);
	unlink(kernel);
}

/* fuzz/fuzz_api (crash-34f6c379...): a request path with invalid UTF-8,
 * "PUT /\x9c\x8d\x96\x91es", was quoted into the fault_message ("Invalid
 * request method and/or path: ...") and cJSON copied the bytes, so the 400
 * body was not valid UTF-8 (not JSON, RFC 8259 8.1). Fixed in
 * api_reply_fault() with utf8_sanitize(). */
static void test_api_fault_message_is_utf8(void **state)
{
	struct vm_config cfg;
	struct evloop *loop = evloop_create();
	char err[256];
	static const char *const paths[] = { "/\x9c\x8d\x96\x91" "es", "/drives/\xff",
					     "/\xe2\x82", "/vsock\xc0" };

	log_set_level(LOG_OFF);
	config_init(&cfg);
	struct api *api = api_create(loop, NULL, NULL, &cfg, err, sizeof(err));
	assert_non_null(api);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (int m = API_HTTP_GET; m <= API_HTTP_DELETE; m++) {
			struct api_http_request r;
			struct api_http_response resp = { 0 };
			memset(&r, 0, sizeof(r));
			r.method = (enum api_http_method)m;
			snprintf(r.path, sizeof(r.path), "%s", paths[i]);
			r.body = "{\"x\": 1}";
			r.body_len = m == API_HTTP_GET ? 0 : strlen(r.body);
			api_handle_request(api, &r, &resp);
			assert_int_equal(resp.status, 400);
			assert_non_null(resp.body);
			assert_int_equal(utf8_valid_prefix(resp.body, resp.body_len), resp.body_len);
			free(resp.body);
		}
	}
	api_destroy(api);
	config_release(&cfg);
	evloop_destroy(loop);
}

static void test_utf8_sanitize(void **state)
{
	char a[] = "ok \xc3\xa9 \xff\xfe x\xe2\x82";
	utf8_sanitize(a);
	assert_string_equal(a, "ok \xc3\xa9 ?? x??");
	char b[] = "";
	utf8_sanitize(b);
	assert_string_equal(b, "");
}

static void test_utf8_valid_prefix(void **state)
{
	assert_int_equal(utf8_valid_prefix("", 0), 0);
	assert_int_equal(utf8_valid_prefix("abc", 3), 3);
	assert_int_equal(utf8_valid_prefix("a\0b", 3), 3);
	assert_int_equal(utf8_valid_prefix("\xc3\xa9", 2), 2);              /* U+00E9 */
	assert_int_equal(utf8_valid_prefix("\xef\xbf\xbf", 3), 3);          /* U+FFFF */
	assert_int_equal(utf8_valid_prefix("\xf4\x8f\xbf\xbf", 4), 4);      /* U+10FFFF */
	assert_int_equal(utf8_valid_prefix("ab\xc3", 3), 2);                /* truncated */
	assert_int_equal(utf8_valid_prefix("\xc1\xbf", 2), 0);              /* overlong */
	assert_int_equal(utf8_valid_prefix("\xe0\x9f\xbf", 3), 0);          /* overlong */
	assert_int_equal(utf8_valid_prefix("\xf0\x8f\xbf\xbf", 4), 0);      /* overlong */
	assert_int_equal(utf8_valid_prefix("x\xed\xbf\xbf", 4), 1);         /* surrogate */
	assert_int_equal(utf8_valid_prefix("\xf4\x90\x80\x80", 4), 0);      /* > U+10FFFF */
	assert_int_equal(utf8_valid_prefix("\xe2\x28\xa1", 3), 0);          /* bad 2nd byte */
	assert_int_equal(utf8_valid_prefix("\xe2\x82\x28", 3), 0);          /* bad 3rd byte */
	assert_int_equal(utf8_valid_prefix("\xfe", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_prefix),
		cmocka_unit_test(test_api_invalid_utf8_rejected),
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test(test_api_fault_message_is_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
