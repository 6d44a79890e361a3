// SPDX-License-Identifier: Apache-2.0
/* api: every endpoint's JSON validation, pre/post-boot rules and the config
 * file, through api_handle_request() (no socket, no KVM: the vm_* functions
 * below are weak fakes, so libember's vm.o is never linked in). */
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
#include "src/metrics.h"
#include "src/snapshot_state.h"
#include "src/vm.h"

/* ---- fake VM ---- */
static int fake_create_rc;   /* what vm_create returns */
static int fake_paused, fake_cad, fake_created, fake_destroyed;
static struct vm *fake_vm = (struct vm *)&fake_paused;

__attribute__((weak)) int vm_create(const struct vm_config *cfg, struct evloop *loop,
				    struct vm **out, char *err, size_t errlen)
{
	if (fake_create_rc) {
		snprintf(err, errlen, "fake: no KVM");
		return fake_create_rc;
	}
	fake_created++;
	*out = fake_vm;
	return 0;
}
__attribute__((weak)) int vm_start(struct vm *vm, char *err, size_t errlen) { return 0; }
__attribute__((weak)) int vm_pause(struct vm *vm) { fake_paused = 1; return 0; }
__attribute__((weak)) int vm_resume(struct vm *vm) { fake_paused = 0; return 0; }
__attribute__((weak)) int vm_is_paused(const struct vm *vm) { return fake_paused; }
__attribute__((weak)) int vm_send_ctrl_alt_del(struct vm *vm) { fake_cad++; return 0; }
/* io_engine Async: what the host's io_uring check answers. */
static int fake_probe_rc;
__attribute__((weak)) int blk_uring_probe(void) { return fake_probe_rc; }
static int fake_drive_updates, fake_net_updates;
static struct config_drive fake_last_drive;
__attribute__((weak)) int vm_update_drive(struct vm *vm, const struct config_drive *drive,
					  char *err, size_t errlen)
{
	fake_drive_updates++;
	fake_last_drive = *drive;
	return 0;
}
__attribute__((weak)) int vm_update_net(struct vm *vm, const struct config_net *net, char *err,
					size_t errlen)
{
	fake_net_updates++;
	return 0;
}
__attribute__((weak)) void vm_destroy(struct vm *vm) { if (vm) fake_destroyed++; }
static int fake_snap_creates, fake_restores, fake_restore_rc;
static enum vm_snapshot_type fake_snap_type;
static struct vm_config fake_restore_cfg;
static struct vm_restore fake_restore_rs;          /* its st is gone after the load */
static struct ratelimit_bucket_state fake_restore_serial_bucket;
__attribute__((weak)) int vm_snapshot_create(struct vm *vm, const struct vm_config *c,
					     const char *state_path, const char *mem_path,
					     enum vm_snapshot_type type, char *err, size_t errlen)
{
	if (!fake_paused) {
		snprintf(err, errlen, "the microVM must be paused");
		return -EBUSY;
	}
	fake_snap_creates++;
	fake_snap_type = type;
	return 0;
}
__attribute__((weak)) int vm_restore(const struct vm_config *c, struct evloop *l,
				     const struct vm_restore *rs, struct vm **out, char *err,
				     size_t errlen)
{
	if (fake_restore_rc) {
		snprintf(err, errlen, "fake: no KVM");
		return fake_restore_rc;
	}
	fake_restores++;
	fake_restore_cfg = *c;
	fake_restore_rs = *rs;
	fake_restore_serial_bucket = rs->st->serial.out_limit;
	fake_paused = 1;          /* a restored VM starts paused */
	*out = fake_vm;
	return 0;
}

/* ---- helpers ---- */
static struct vm_config cfg;
static struct api *api;
static struct evloop *loop;
static char kernel[64], disk[64], body[8192];
static bool deprecated;      /* the last answer had "Deprecation: true" */

static int setup(void **state)
{
	log_set_level(LOG_OFF);
	config_init(&cfg);
	loop = evloop_create();
	char err[256];
	api = api_create(loop, NULL, "test-id", &cfg, err, sizeof(err));
	assert_non_null(api);
	strcpy(kernel, "/tmp/ember-test-kernel-XXXXXX");
	close(mkstemp(kernel));
	strcpy(disk, "/tmp/ember-test-disk-XXXXXX");
	close(mkstemp(disk));
	fake_create_rc = 0;
	fake_paused = fake_cad = fake_created = fake_destroyed = 0;
	return 0;
}

static int teardown(void **state)
{
	log_set_module("");
	api_destroy(api);
	config_release(&cfg);
	evloop_destroy(loop);
	unlink(kernel);
	unlink(disk);
	return 0;
}

/* Returns the status; the body (NUL-terminated) is in `body`. */
static int req(enum api_http_method m, const char *path, const char *b)
{
	struct api_http_request r;
	struct api_http_response resp = { 0 };
	memset(&r, 0, sizeof(r));
	r.method = m;
	snprintf(r.path, sizeof(r.path), "%s", path);
	if (b) {
		r.body = b;
		r.body_len = strlen(b);
	}
	api_handle_request(api, &r, &resp);
	deprecated = resp.deprecation;
	body[0] = 0;
	if (resp.body) {
		assert_true(resp.body_len < sizeof(body));
		memcpy(body, resp.body, resp.body_len);
		body[resp.body_len] = 0;
		free(resp.body);
	}
	if (resp.status == 204)
		assert_int_equal(resp.body_len, 0);
	return resp.status;
}

#define GET(p) req(API_HTTP_GET, p, NULL)
#define PUT(p, b) req(API_HTTP_PUT, p, b)
#define PATCH(p, b) req(API_HTTP_PATCH, p, b)
#define FAULT_HAS(s) do { \
		assert_non_null(strstr(body, "{\"fault_message\":\"")); \
		if (!strstr(body, s)) fail_msg("'%s' not in %s", s, body); \
	} while (0)

static void put_kernel(void)
{
	char b[256];
	snprintf(b, sizeof(b), "{\"kernel_image_path\":\"%s\",\"boot_args\":\"console=ttyS0\"}",
		 kernel);
	assert_int_equal(PUT("/boot-source", b), 204);
}

static void boot(void)
{
	put_kernel();
	assert_int_equal(PUT("/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
}

/* ---- tests ---- */

static void test_instance_info_version(void **state)
{
	assert_int_equal(GET("/"), 200);
	assert_string_equal(body, "{\"id\":\"test-id\",\"state\":\"Not started\",\"vmm_version\":\""
			    EMBER_VERSION "\",\"app_name\":\"ember\"}");
	assert_int_equal(GET(""), 200); /* other URI forms route as "/" */
	assert_int_equal(GET("/version"), 200);
	assert_non_null(strstr(body, "\"firecracker_version\":\""));
	assert_int_equal(req(API_HTTP_GET, "/", "{}"), 400);
	FAULT_HAS("GET request cannot have a body.");
}

static void test_routing_errors(void **state)
{
	assert_int_equal(PATCH("/boot-source", "{}"), 400);
	FAULT_HAS("Invalid request method and/or path: PATCH boot-source.");
	assert_int_equal(GET("/nope"), 400);
	FAULT_HAS("Invalid request method and/or path: GET nope.");
	assert_int_equal(req(API_HTTP_PUT, "/machine-config", NULL), 400);
	FAULT_HAS("Empty PUT request.");
	assert_int_equal(req(API_HTTP_PATCH, "/machine-config", NULL), 400);
	FAULT_HAS("Empty PATCH request.");
	assert_int_equal(req(API_HTTP_DELETE, "/machine-config", NULL), 400);
	FAULT_HAS("Invalid request method and/or path: DELETE machine-config.");
	assert_int_equal(req(API_HTTP_DELETE, "/drives/x", NULL), 400);
	FAULT_HAS("not supported before starting");
	/* One trailing slash and extra segments are tolerated, as Firecracker. */
	assert_int_equal(GET("/machine-config/"), 200);
	assert_int_equal(GET("//machine-config/x"), 200);
	/* Bad JSON. */
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":"), 400);
	FAULT_HAS("An error occurred when deserializing the json body of a request");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64} x"), 400);
	FAULT_HAS("trailing characters");
	assert_int_equal(PUT("/machine-config", "[1,64]"), 400);
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"vcpu_count\":2,"
			     "\"mem_size_mib\":64}"), 400);
	FAULT_HAS("duplicate field `vcpu_count`");
}

static void test_unsupported(void **state)
{
	const char *paths[] = { "/vsock", "/balloon", "/balloon/statistics", "/entropy", "/mmds",
		"/mmds/config", "/pmem/p0", "/hotplug/memory", "/cpu-config" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(PUT(paths[i], "{}"), 400);
		FAULT_HAS("ember does not support");
		assert_int_equal(GET(paths[i]), 400);
		FAULT_HAS("ember does not support");
	}
}

static void test_machine_config(void **state)
{
	assert_int_equal(GET("/machine-config"), 200);
	assert_string_equal(body, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"
			    "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":256,"
			     "\"smt\":true,\"track_dirty_pages\":true,\"huge_pages\":\"2M\","
			     "\"cpu_template\":\"None\"}"), 204);
	assert_int_equal(cfg.machine.vcpu_count, 2);
	assert_true(cfg.machine.smt);
	assert_int_equal(cfg.machine.huge_pages, CONFIG_HUGE_2M);
	/* PUT resets omitted optional fields. */
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":4,\"mem_size_mib\":512}"), 204);
	assert_false(cfg.machine.smt);
	assert_false(cfg.machine.track_dirty_pages);
	assert_int_equal(cfg.machine.huge_pages, CONFIG_HUGE_NONE);
	/* PATCH merges, all or nothing. */
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":1024}"), 204);
	assert_int_equal(cfg.machine.vcpu_count, 4);
	assert_int_equal(cfg.machine.mem_size_mib, 1024);
	assert_int_equal(PATCH("/machine-config", "{\"vcpu_count\":3,\"smt\":true}"), 400);
	FAULT_HAS("Machine config error: The number of vCPUs");
	assert_int_equal(cfg.machine.vcpu_count, 4);
	assert_false(cfg.machine.smt);
	assert_int_equal(PATCH("/machine-config", "{}"), 400);
	FAULT_HAS("Empty PATCH request.");
	/* serde reads null as None: only nulls is an empty PATCH too. */
	assert_int_equal(PATCH("/machine-config", "{\"vcpu_count\":null}"), 400);
	FAULT_HAS("Empty PATCH request.");
	assert_int_equal(PATCH("/machine-config", "{\"vcpu_count\":null,\"mem_size_mib\":null,"
			       "\"smt\":null,\"cpu_template\":null,\"track_dirty_pages\":null,"
			       "\"huge_pages\":null}"), 400);
	FAULT_HAS("Empty PATCH request.");
	assert_int_equal(PATCH("/machine-config", "{\"vcpu_count\":null,\"mem_size_mib\":2048}"),
			 204);
	assert_int_equal(cfg.machine.vcpu_count, 4);
	assert_int_equal(cfg.machine.mem_size_mib, 2048);
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":1024}"), 204);
	/* Numbers outside RFC 8259 (cJSON's strtod would take them). */
	static const char *const bad_nums[] = { "00512", "0512", "-01", "-0012", "1.", "1.e3",
		"1e", "1e+", "-", "--1", "1-2", "1..2", "0x10", "1E+-3", NULL };
	for (const char *const *n = bad_nums; *n; n++) {
		char b[128];
		snprintf(b, sizeof(b), "{\"vcpu_count\":2,\"mem_size_mib\": %s}", *n);
		if (PUT("/machine-config", b) != 400)
			fail_msg("accepted %s", b);
		snprintf(b, sizeof(b), "{\"mem_size_mib\":%s}", *n);
		assert_int_equal(PATCH("/machine-config", b), 400);
	}
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\": 00512}"), 400);
	FAULT_HAS("invalid number at line 1 column 19.");
	assert_int_equal(cfg.machine.mem_size_mib, 1024);
	/* ... but fine numbers, and digits inside strings, are untouched. */
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":-1.5e-3}"), 400);
	FAULT_HAS("invalid type: floating point `-0.0015`, expected u64 at line 1 column 23 (field `mem_size_mib`).");
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":-0.25E+1}"), 400);
	FAULT_HAS("floating point `-2.5`");
	/* A whole value written as a float is still a float to serde. */
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":512.0}"), 400);
	FAULT_HAS("invalid type: floating point `512.0`, expected u64 at line 1 column 21 (field `mem_size_mib`).");
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":5.12e2}"), 400);
	FAULT_HAS("floating point `512.0`");
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":512E0}"), 400);
	/* Tagging follows document order: the float is the second number. */
	assert_int_equal(PUT("/machine-config", "{\"cpu_template\":\"1.5\",\"vcpu_count\":2,"
			     "\"mem_size_mib\":1e3}"), 400);
	FAULT_HAS("floating point `1000.0`, expected u64 at line 1 column 55 (field `mem_size_mib`)");
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":-0}"), 400);
	FAULT_HAS("The memory size (MiB) is either 0");
	assert_int_equal(PATCH("/machine-config", "{\"mem_size_mib\":10,\"vcpu_count\":0}"), 400);
	FAULT_HAS("The number of vCPUs must be greater than 0");
	assert_int_equal(cfg.machine.mem_size_mib, 1024);
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":0,"
			     "\"cpu_template\":\"00-1.\\\"01\"}"), 400);
	FAULT_HAS("unknown variant");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":4,\"mem_size_mib\":1024}"), 204);
	/* Errors. */
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":2}"), 400);
	FAULT_HAS("missing field `mem_size_mib` at line 1 column 16.");
	assert_int_equal(PUT("/machine-config", "{\"mem_size_mib\":2}"), 400);
	FAULT_HAS("missing field `vcpu_count` at line 1 column 18.");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":0,\"mem_size_mib\":128}"), 400);
	FAULT_HAS("The number of vCPUs must be greater than 0");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":33,\"mem_size_mib\":128}"), 400);
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":256,\"mem_size_mib\":128}"), 400);
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1.5,\"mem_size_mib\":128}"), 400);
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":-1,\"mem_size_mib\":128}"), 400);
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":\"2\",\"mem_size_mib\":128}"), 400);
	FAULT_HAS("invalid type: string \\\"2\\\", expected u8 at line 1 column 17 (field `vcpu_count`).");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":0}"), 400);
	FAULT_HAS("The memory size (MiB) is either 0");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128,"
			     "\"smt\":1}"), 400);
	FAULT_HAS("`smt`");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128,"
			     "\"huge_pages\":\"Transparent\"}"), 400);
	FAULT_HAS("ember does not support huge_pages");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128,"
			     "\"huge_pages\":\"1G\"}"), 400);
	FAULT_HAS("unknown variant `1G`");
	/* V1N1 is Firecracker's aarch64 template: an unknown variant on x86_64. */
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128,"
			     "\"cpu_template\":\"V1N1\"}"), 400);
	FAULT_HAS("unknown variant `V1N1`, expected one of `C3`, `T2`, `T2S`, `None`, `T2CL`, "
		  "`T2A` at line 1 column 56 (field `cpu_template`).");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128,"
			     "\"bogus\":true}"), 400);
	FAULT_HAS("unknown field `bogus`, expected one of `vcpu_count`");
	assert_int_equal(cfg.machine.mem_size_mib, 1024); /* nothing changed */
}

/* A refused PUT or PATCH /machine-config: its fault, and whether the
 * answer carries "Deprecation: true"; the template stays T2A. */
struct depr_case {
	bool patch;
	const char *body, *fault;
	bool deprecated;
};

static void check_depr_cases(const struct depr_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(c[i].patch ? PATCH("/machine-config", c[i].body)
				 : PUT("/machine-config", c[i].body), 400);
		FAULT_HAS(c[i].fault);
		if (deprecated != c[i].deprecated)
			fail_msg("%s: Deprecation header %d, want %d", c[i].body, deprecated,
				 c[i].deprecated);
		assert_int_equal(cfg.machine.cpu_template, CONFIG_CPU_TEMPLATE_T2A);
	}
}

/* Static CPU templates: the values, what PUT and PATCH keep, GET, and the
 * Deprecation header (on any answer to a body that deserialised with a
 * cpu_template, "None" included; never otherwise). */
static void test_cpu_template(void **state)
{
	static const struct { const char *name; enum config_cpu_template t; } all[] = {
		{ "C3", CONFIG_CPU_TEMPLATE_C3 }, { "T2", CONFIG_CPU_TEMPLATE_T2 },
		{ "T2S", CONFIG_CPU_TEMPLATE_T2S }, { "T2CL", CONFIG_CPU_TEMPLATE_T2CL },
		{ "T2A", CONFIG_CPU_TEMPLATE_T2A }, { "None", CONFIG_CPU_TEMPLATE_NONE },
	};
	char b[256], want[256];
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		snprintf(b, sizeof(b), "{\"vcpu_count\":2,\"mem_size_mib\":256,"
			 "\"cpu_template\":\"%s\"}", all[i].name);
		assert_int_equal(PUT("/machine-config", b), 204);
		assert_true(deprecated);
		assert_int_equal(cfg.machine.cpu_template, all[i].t);
		assert_int_equal(GET("/machine-config"), 200);
		assert_false(deprecated);
		if (all[i].t == CONFIG_CPU_TEMPLATE_NONE)
			snprintf(want, sizeof(want), "\"smt\":false,\"track_dirty_pages\"");
		else
			snprintf(want, sizeof(want), "\"smt\":false,\"cpu_template\":\"%s\","
				 "\"track_dirty_pages\"", all[i].name);
		if (!strstr(body, want))
			fail_msg("'%s' not in %s", want, body);
	}
	/* A PUT without it (or with null) keeps the template; no header. */
	assert_int_equal(PATCH("/machine-config", "{\"cpu_template\":\"T2A\"}"), 204);
	assert_true(deprecated);
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128}"), 204);
	assert_false(deprecated);
	assert_int_equal(cfg.machine.cpu_template, CONFIG_CPU_TEMPLATE_T2A);
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128,"
			     "\"cpu_template\":null}"), 204);
	assert_false(deprecated);
	assert_int_equal(PATCH("/machine-config", "{\"vcpu_count\":2}"), 204);
	assert_false(deprecated);
	assert_int_equal(cfg.machine.cpu_template, CONFIG_CPU_TEMPLATE_T2A);
	assert_int_equal(GET("/vm/config"), 200);
	assert_non_null(strstr(body, "\"cpu_template\":\"T2A\""));
	/* Refused values: not deserialised, so no header; nothing changes. */
	static const char *const bad[] = { "t2", "V1N1", "T2a", "", "none", "C3 " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(b, sizeof(b), "{\"cpu_template\":\"%s\"}", bad[i]);
		assert_int_equal(PATCH("/machine-config", b), 400);
		FAULT_HAS("An error occurred when deserializing the json body of a request: "
			  "unknown variant `");
		assert_false(deprecated);
	}
	/* Each: its answer, and whether it carries the header. */
	static const struct depr_case before_boot[] = {
		{ true, "{\"cpu_template\":2}", "invalid type", false },
		{ true, "{\"cpu_template\":\"T2\",\"x\":1}", "unknown field `x`", false },
		{ true, "{\"cpu_template\":null}", "Empty PATCH request.", false },
		/* deserialised, then refused by the rules */
		{ false, "{\"vcpu_count\":0,\"mem_size_mib\":128,\"cpu_template\":\"T2\"}",
		  "Machine config error: The number of vCPUs", true },
	}, after_boot[] = {
		{ true, "{\"cpu_template\":\"None\"}",
		  "The requested operation is not supported after starting the microVM.", true },
		{ false, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"cpu_template\":\"C3\"}",
		  "not supported after starting", true },
		/* a bad body is still a deserialisation error after boot */
		{ true, "{\"cpu_template\":\"X\"}", "unknown variant `X`", false },
	};
	check_depr_cases(before_boot, sizeof(before_boot) / sizeof(before_boot[0]));
	assert_int_equal(cfg.machine.vcpu_count, 2);
	boot();
	check_depr_cases(after_boot, sizeof(after_boot) / sizeof(after_boot[0]));
	assert_int_equal(cfg.machine.cpu_template, CONFIG_CPU_TEMPLATE_T2A);
}

static void test_boot_source(void **state)
{
	char b[512];
	assert_int_equal(PUT("/boot-source", "{}"), 400);
	FAULT_HAS("missing field `kernel_image_path`");
	assert_int_equal(PUT("/boot-source", "{\"kernel_image_path\":\"/nonexistent\"}"), 400);
	FAULT_HAS("Boot source error: The kernel file cannot be opened: No such file or "
		  "directory (os error 2) (kernel_image_path /nonexistent)");
	snprintf(b, sizeof(b), "{\"kernel_image_path\":\"%s\",\"initrd_path\":\"/nonexistent\"}",
		 kernel);
	assert_int_equal(PUT("/boot-source", b), 400);
	FAULT_HAS("Boot source error: The initrd file cannot be opened due to invalid path or "
		  "invalid permissions. No such file or directory (os error 2) (initrd_path "
		  "/nonexistent)");
	snprintf(b, sizeof(b), "{\"kernel_image_path\":\"%s\",\"extra\":1}", kernel);
	assert_int_equal(PUT("/boot-source", b), 400);
	FAULT_HAS("unknown field `extra`");
	snprintf(b, sizeof(b), "{\"kernel_image_path\":\"%s\",\"boot_args\":null}", kernel);
	assert_int_equal(PUT("/boot-source", b), 204);
	assert_false(cfg.boot.boot_args_set);
	/* Too long a command line. */
	size_t n = sizeof(cfg.boot.boot_args) + 16;
	char *big = malloc(n + 256);
	int off = snprintf(big, 256, "{\"kernel_image_path\":\"%s\",\"boot_args\":\"", kernel);
	memset(big + off, 'a', n);
	strcpy(big + off + n, "\"}");
	assert_int_equal(PUT("/boot-source", big), 400);
	FAULT_HAS("too long");
	free(big);
	put_kernel();
	assert_true(cfg.boot.set);
	assert_string_equal(cfg.boot.boot_args, "console=ttyS0");
	assert_int_equal(GET("/vm/config"), 200);
	assert_non_null(strstr(body, "\"boot_args\":\"console=ttyS0\""));
	assert_non_null(strstr(body, "\"initrd_path\":null"));
}

static void test_drives(void **state)
{
	char b[1024];
	snprintf(b, sizeof(b), "{\"drive_id\":\"rootfs\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":true,\"is_read_only\":true,\"cache_type\":\"Writeback\","
		 "\"io_engine\":\"Sync\",\"rate_limiter\":{\"bandwidth\":{\"size\":1000,"
		 "\"refill_time\":100},\"ops\":{\"size\":0,\"refill_time\":5}}}", disk);
	assert_int_equal(PUT("/drives/rootfs", b), 204);
	assert_int_equal(cfg.ndrives, 1);
	assert_true(cfg.drives[0].fd >= 0);
	assert_int_equal(cfg.drives[0].cache_type, CONFIG_CACHE_WRITEBACK);
	assert_true(cfg.drives[0].rate_limiter.bandwidth.set);
	assert_false(cfg.drives[0].rate_limiter.ops.set); /* size 0 disables */
	/* Path/body id mismatch, bad ids. */
	assert_int_equal(PUT("/drives/other", b), 400);
	FAULT_HAS("The id from the path does not match the id from the body!");
	assert_int_equal(PUT("/drives/", b), 400);
	FAULT_HAS("The ID cannot be empty.");
	assert_int_equal(PUT("/drives/a-b", b), 400);
	FAULT_HAS("API Resource IDs can only contain alphanumeric characters and underscores.");
	/* A second root. */
	snprintf(b, sizeof(b), "{\"drive_id\":\"root2\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":true}", disk);
	assert_int_equal(PUT("/drives/root2", b), 400);
	FAULT_HAS("Drive config error: A root block device already exists!");
	/* Missing file, missing fields, unsupported features. */
	assert_int_equal(PUT("/drives/d1", "{\"drive_id\":\"d1\",\"path_on_host\":\"/nonexistent\","
			     "\"is_root_device\":false}"), 400);
	FAULT_HAS("path_on_host");
	FAULT_HAS("No such file or directory (os error 2)");
	assert_int_equal(PUT("/drives/d1", "{\"drive_id\":\"d1\",\"path_on_host\":\"/x\"}"), 400);
	FAULT_HAS("missing field `is_root_device`");
	/* io_engine Async where the host has no io_uring (ENOSYS), or has it
	 * disabled (EPERM), or runs short of memory: nothing is added. */
	snprintf(b, sizeof(b), "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":false,\"io_engine\":\"Async\"}", disk);
	fake_probe_rc = -ENOSYS;
	assert_int_equal(PUT("/drives/d1", b), 400);
	assert_string_equal(body, "{\"fault_message\":\"Drive config error: Unable to create "
			    "the virtio block device: Virtio backend error: Error coming from the "
			    "IO engine: Unsupported engine type: Async\"}");
	fake_probe_rc = -EPERM;
	assert_int_equal(PUT("/drives/d1", b), 400);
	FAULT_HAS("Unsupported engine type: Async");
	fake_probe_rc = -ENOMEM;
	assert_int_equal(PUT("/drives/d1", b), 400);
	FAULT_HAS("Async error: IoUring: Error calling io_uring_setup: Cannot allocate memory "
		  "(os error 12)");
	assert_int_equal(cfg.ndrives, 1);
	fake_probe_rc = 0;
	assert_int_equal(PUT("/drives/d1", b), 204);
	assert_int_equal(cfg.ndrives, 2);
	assert_int_equal(cfg.drives[1].io_engine, CONFIG_IO_ASYNC);
	assert_int_equal(GET("/vm/config"), 200);
	assert_non_null(strstr(body, "\"io_engine\":\"Async\""));
	assert_non_null(strstr(body, "\"io_engine\":\"Sync\""));
	/* The invalid-value message names both variants. */
	snprintf(b, sizeof(b), "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":false,\"io_engine\":\"async\"}", disk);
	assert_int_equal(PUT("/drives/d1", b), 400);
	FAULT_HAS("unknown variant `async`, expected `Sync` or `Async` at line 1 column");
	snprintf(b, sizeof(b), "{\"drive_id\":\"d1\",\"is_root_device\":false,"
		 "\"socket\":\"/tmp/vhost.sock\"}");
	assert_int_equal(PUT("/drives/d1", b), 400);
	FAULT_HAS("vhost-user");
	snprintf(b, sizeof(b), "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":false,\"rate_limiter\":{\"bandwidth\":{\"size\":1}}}", disk);
	assert_int_equal(PUT("/drives/d1", b), 400);
	FAULT_HAS("missing field `refill_time`");
	snprintf(b, sizeof(b), "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":false,\"rate_limiter\":{\"iops\":{}}}", disk);
	assert_int_equal(PUT("/drives/d1", b), 400);
	FAULT_HAS("unknown field `iops`");
	snprintf(b, sizeof(b), "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":false,\"cache_type\":\"Fast\"}", disk);
	assert_int_equal(PUT("/drives/d1", b), 400);
	FAULT_HAS("unknown variant `Fast`");
	/* A data disk after the root one; the root stays first. */
	snprintf(b, sizeof(b), "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":false}", disk);
	assert_int_equal(PUT("/drives/d1", b), 204);
	assert_int_equal(cfg.ndrives, 2);
	assert_string_equal(cfg.drives[0].drive_id, "rootfs");
	assert_int_equal(GET("/vm/config"), 200);
	assert_non_null(strstr(body, "\"drive_id\":\"rootfs\",\"partuuid\":null,"
			       "\"is_root_device\":true,\"cache_type\":\"Writeback\","
			       "\"is_read_only\":true"));
	assert_non_null(strstr(body, "\"rate_limiter\":{\"bandwidth\":{\"size\":1000,"
			       "\"one_time_burst\":null,\"refill_time\":100},\"ops\":null}"));
	/* PATCH is post-boot only. */
	assert_int_equal(PATCH("/drives/d1", "{\"drive_id\":\"d1\",\"path_on_host\":\"/x\"}"), 400);
	FAULT_HAS("not supported before starting");
	assert_int_equal(PATCH("/drives/d1", "{\"drive_id\":\"d1\",\"is_read_only\":true}"), 400);
	FAULT_HAS("unknown field `is_read_only`");
}

static void test_network_interfaces(void **state)
{
	/* Field validation happens before the tap is opened. */
	assert_int_equal(PUT("/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}"), 400);
	FAULT_HAS("missing field `host_dev_name`");
	assert_int_equal(PUT("/network-interfaces/eth0", "{\"iface_id\":\"eth1\","
			     "\"host_dev_name\":\"tap0\"}"), 400);
	FAULT_HAS("The id from the path [eth0] does not match the id from the body [eth1]!");
	assert_int_equal(PUT("/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
			     "\"host_dev_name\":\"tap0\",\"guest_mac\":\"zz\"}"), 400);
	FAULT_HAS("guest_mac");
	assert_int_equal(PUT("/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
			     "\"host_dev_name\":\"tap0\",\"mtu\":10}"), 400);
	FAULT_HAS("mtu");
	assert_int_equal(PUT("/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
			     "\"host_dev_name\":\"tap0\",\"allow_mmds_requests\":true}"), 400);
	FAULT_HAS("unknown field `allow_mmds_requests`");
	assert_int_equal(PUT("/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
			     "\"host_dev_name\":\"this-name-is-way-too-long\"}"), 400);
	FAULT_HAS("host_dev_name");
	assert_int_equal(PATCH("/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}"), 400);
	FAULT_HAS("not supported before starting");
}

static void test_serial(void **state)
{
	char dir[] = "/tmp/ember-test-serial-XXXXXX", b[1024];
	assert_non_null(mkdtemp(dir));

	/* Not configured: GET /vm/config has no "serial" key (as Firecracker). */
	assert_int_equal(GET("/vm/config"), 200);
	assert_null(strstr(body, "\"serial\""));
	/* {} is stdout without a limit. */
	assert_int_equal(PUT("/serial", "{}"), 204);
	assert_true(cfg.serial.set);
	assert_int_equal(GET("/vm/config"), 200);
	assert_non_null(strstr(body, "\"serial\":{\"serial_out_path\":null,\"rate_limiter\":null}"));

	/* A file and a bucket of bytes: opened at PUT time, shown by GET. */
	snprintf(b, sizeof(b), "{\"serial_out_path\":\"%s/out\",\"rate_limiter\":{\"size\":100,"
		 "\"refill_time\":1000}}", dir);
	assert_int_equal(PUT("/serial", b), 204);
	assert_true(cfg.serial.out_fd >= 0);
	assert_true(cfg.serial.rate_limiter.set);
	assert_int_equal(cfg.serial.rate_limiter.size, 100);
	int fd = cfg.serial.out_fd;
	assert_int_equal(GET("/vm/config"), 200);
	snprintf(b, sizeof(b), "\"serial\":{\"serial_out_path\":\"%s/out\",\"rate_limiter\":"
		 "{\"size\":100,\"one_time_burst\":null,\"refill_time\":1000}}", dir);
	if (!strstr(body, b))
		fail_msg("%s not in %s", b, body);

	/* Refused, and the configuration stays as it was. */
	static const struct { const char *body, *fault; } bad[] = {
		{ "{\"x\":1}", "unknown field `x`" },
		{ "{\"serial_out_path\":5}", "invalid type" },
		{ "{\"serial_out_path\":\"\"}", "Serial config error: serial_out_path is empty." },
		{ "{\"serial_out_path\":\"/nonexistent/dir/out\"}",
		  "Serial config error: serial_out_path: cannot open /nonexistent/dir/out: No such "
		  "file or directory (os error 2)" },
		{ "{\"serial_out_path\":\"/dev/null\"}",
		  "Serial config error: serial_out_path: /dev/null is a character device, not a "
		  "regular file or a FIFO" },
		{ "{\"rate_limiter\":{\"size\":10}}", "missing field `refill_time`" },
		/* One bucket, not the {bandwidth, ops} of drives and interfaces. */
		{ "{\"rate_limiter\":{\"bandwidth\":{\"size\":10,\"refill_time\":10}}}",
		  "missing field `size`" },
		{ "{\"rate_limiter\":5}", "invalid type" },
		{ "[]", "invalid type" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(PUT("/serial", bad[i].body), 400);
		FAULT_HAS(bad[i].fault);
		assert_int_equal(cfg.serial.out_fd, fd);
		assert_true(cfg.serial.rate_limiter.set);
	}
	/* A bucket with size 0 is no limit; nulls are absent fields. A new PUT
	 * replaces the old configuration and closes its file. */
	assert_int_equal(PUT("/serial", "{\"serial_out_path\":null,\"rate_limiter\":{\"size\":0,"
			     "\"refill_time\":100}}"), 204);
	assert_false(cfg.serial.rate_limiter.set);
	assert_int_equal(cfg.serial.out_path[0], '\0');
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(GET("/vm/config"), 200);
	assert_non_null(strstr(body, "\"serial\":{\"serial_out_path\":null,\"rate_limiter\":null}"));
	/* Pre-boot only. */
	boot();
	assert_int_equal(PUT("/serial", "{}"), 400);
	FAULT_HAS("The requested operation is not supported after starting the microVM.");
	assert_int_equal(GET("/serial"), 400);
	FAULT_HAS("Invalid request method and/or path: GET serial.");
	snprintf(b, sizeof(b), "%s/out", dir);
	unlink(b);
	rmdir(dir);
}

static void test_logger_metrics(void **state)
{
	char path[] = "/tmp/ember-test-log-XXXXXX";
	close(mkstemp(path));
	char b[512];
	assert_int_equal(PUT("/logger", "{\"level\":\"Loud\"}"), 400);
	FAULT_HAS("unknown variant `Loud`");
	/* module: one of ember's modules (Firecracker's Rust paths name none). */
	assert_int_equal(PUT("/logger", "{\"module\":\"vmm::builder\"}"), 400);
	FAULT_HAS("Logger error: module \\\"vmm::builder\\\" is not one of ember's modules: "
		  "a module is");
	assert_int_equal(PUT("/logger", "{\"module\":5}"), 400);
	FAULT_HAS("invalid type");
	/* All or nothing: a bad module does not open (create) the log_path. */
	snprintf(b, sizeof(b), "{\"log_path\":\"%s.new\",\"module\":\"src/vm.c\"}", path);
	assert_int_equal(PUT("/logger", b), 400);
	snprintf(b, sizeof(b), "%s.new", path);
	assert_int_equal(access(b, F_OK), -1);
	assert_int_equal(PUT("/logger", "{\"module\":\"virtio::blk\"}"), 204);
	assert_string_equal(cfg.logger.module, "virtio::blk");
	assert_int_equal(PUT("/logger", "{\"level\":\"Off\"}"), 204); /* absent: kept */
	assert_string_equal(cfg.logger.module, "virtio::blk");
	assert_int_equal(PUT("/logger", "{\"module\":\"\"}"), 204);
	assert_int_equal(PUT("/logger", "{\"log_path\":\"/nonexistent/dir/log\"}"), 400);
	FAULT_HAS("Logger error");
	snprintf(b, sizeof(b), "{\"log_path\":\"%s\",\"level\":\"warn\",\"show_level\":true,"
		 "\"show_log_origin\":false}", path);
	assert_int_equal(PUT("/logger", b), 204);
	assert_int_equal(log_get_level(), LOG_WARN);
	assert_int_equal(PUT("/logger", "{\"level\":\"Off\"}"), 204); /* repeatable */
	assert_int_equal(log_get_level(), LOG_OFF);

	assert_int_equal(PUT("/metrics", "{}"), 400);
	FAULT_HAS("missing field `metrics_path`");
	assert_int_equal(PUT("/metrics", "{\"metrics_path\":\"/nonexistent/dir/m\"}"), 400);
	char mpath[] = "/tmp/ember-test-metrics-XXXXXX";
	close(mkstemp(mpath));
	/* Unknown fields are accepted on /metrics (Firecracker does). */
	snprintf(b, sizeof(b), "{\"metrics_path\":\"%s\",\"whatever\":1}", mpath);
	assert_int_equal(PUT("/metrics", b), 204);
	assert_int_equal(PUT("/metrics", b), 400);
	FAULT_HAS("Reinitialization of metrics not allowed.");
	/* The per-endpoint counters saw these requests. */
	char line[8192];
	assert_true(metrics_format(line, sizeof(line), false) > 0);
	assert_non_null(strstr(line, "\"metrics_fails\":"));
	assert_non_null(strstr(line, "\"logger_count\":"));
	assert_int_equal(metrics_flush(), 0);
	int fd = open(mpath, O_RDONLY);
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	assert_true(n > 0);
	line[n] = 0;
	assert_non_null(strstr(line, "{\"utc_timestamp_ms\":"));
	assert_non_null(strstr(line, "\"put_api_requests\":{"));
	assert_int_equal(line[n - 1], '\n');
	metrics_stop();
	unlink(path);
	unlink(mpath);
}

static void test_actions_and_post_boot(void **state)
{
	assert_int_equal(PUT("/actions", "{\"action_type\":\"Reboot\"}"), 400);
	FAULT_HAS("unknown variant `Reboot`");
	assert_int_equal(PUT("/actions", "{\"action_type\":\"InstanceStart\",\"x\":1}"), 400);
	FAULT_HAS("unknown field `x`");
	assert_int_equal(PUT("/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	FAULT_HAS("Start microvm error: Cannot start microvm without kernel configuration.");
	assert_int_equal(PUT("/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 400);
	FAULT_HAS("not supported before starting");
	assert_int_equal(PUT("/actions", "{\"action_type\":\"FlushMetrics\"}"), 400);
	FAULT_HAS("not supported before starting");
	assert_int_equal(PATCH("/vm", "{\"state\":\"Paused\"}"), 400);
	FAULT_HAS("not supported before starting");

	/* A failing start is not fatal: still pre-boot. */
	char db[512];
	snprintf(db, sizeof(db), "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
		 "\"is_root_device\":false,\"rate_limiter\":{\"ops\":{\"size\":5,"
		 "\"refill_time\":10}}}", disk);
	assert_int_equal(PUT("/drives/d1", db), 204);
	put_kernel();
	fake_create_rc = -ENODEV;
	assert_int_equal(PUT("/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	FAULT_HAS("Start microvm error: fake: no KVM");
	assert_int_equal(GET("/"), 200);
	assert_non_null(strstr(body, "\"Not started\""));
	fake_create_rc = 0;
	boot();
	assert_int_equal(fake_created, 1);
	assert_int_equal(GET("/"), 200);
	assert_non_null(strstr(body, "\"state\":\"Running\""));
	assert_ptr_equal(api_get_vm(api), fake_vm);

	/* Post-boot: the pre-boot set is refused. */
	assert_int_equal(PUT("/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	FAULT_HAS("The requested operation is not supported after starting the microVM.");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}"), 400);
	FAULT_HAS("not supported after starting");
	assert_int_equal(PATCH("/machine-config", "{\"vcpu_count\":1}"), 400);
	FAULT_HAS("not supported after starting");
	assert_int_equal(PUT("/boot-source", "{\"kernel_image_path\":\"/x\"}"), 400);
	FAULT_HAS("not supported after starting");
	assert_int_equal(PUT("/logger", "{}"), 400);
	assert_int_equal(PUT("/metrics", "{\"metrics_path\":\"/x\"}"), 400);
	assert_int_equal(PUT("/drives/x", "{}"), 400);
	assert_int_equal(GET("/machine-config"), 200);
	assert_int_equal(GET("/vm/config"), 200);

	/* Pause / resume (idempotent). */
	assert_int_equal(PATCH("/vm", "{\"state\":\"Paused\"}"), 204);
	assert_int_equal(GET("/"), 200);
	assert_non_null(strstr(body, "\"state\":\"Paused\""));
	assert_int_equal(PATCH("/vm", "{\"state\":\"Paused\"}"), 204);
	assert_int_equal(PATCH("/vm", "{\"state\":\"Resumed\"}"), 204);
	assert_int_equal(GET("/"), 200);
	assert_non_null(strstr(body, "\"state\":\"Running\""));
	assert_int_equal(PATCH("/vm", "{\"state\":\"Stopped\"}"), 400);
	FAULT_HAS("unknown variant `Stopped`");
	assert_int_equal(PATCH("/vm", "{}"), 400);
	FAULT_HAS("missing field `state`");

	assert_int_equal(PUT("/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 204);
	assert_int_equal(fake_cad, 1);
	assert_int_equal(PUT("/actions", "{\"action_type\":\"FlushMetrics\"}"), 204);

	/* PATCH drive after boot: unknown ids refused; the device gets the
	 * merged config (absent buckets kept, size 0 disables). */
	assert_int_equal(PATCH("/drives/nope", "{\"drive_id\":\"nope\"}"), 400);
	FAULT_HAS("nope");
	assert_int_equal(PATCH("/network-interfaces/nope", "{\"iface_id\":\"nope\"}"), 400);
	FAULT_HAS("nope");
	assert_int_equal(PATCH("/drives/d1", "{\"drive_id\":\"d1\",\"path_on_host\":\"/nonexistent\"}"), 400);
	FAULT_HAS("os error 2");
	assert_int_equal(fake_drive_updates, 0);
	int oldfd = cfg.drives[0].fd;
	snprintf(db, sizeof(db), "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
		 "\"rate_limiter\":{\"bandwidth\":{\"size\":100,\"refill_time\":1000}}}", disk);
	assert_int_equal(PATCH("/drives/d1", db), 204);
	assert_int_equal(fake_drive_updates, 1);
	assert_true(fake_last_drive.fd >= 0);
	assert_true(fake_last_drive.rate_limiter.bandwidth.set);
	assert_true(fake_last_drive.rate_limiter.ops.set); /* kept */
	assert_int_equal(cfg.drives[0].fd, fake_last_drive.fd);
	assert_int_equal(fcntl(oldfd, F_GETFD), -1); /* old file closed */
	int newfd = cfg.drives[0].fd;
	assert_int_equal(PATCH("/drives/d1", "{\"drive_id\":\"d1\",\"rate_limiter\":"
			       "{\"ops\":{\"size\":0,\"refill_time\":0}}}"), 204);
	assert_int_equal(fake_last_drive.fd, -1); /* no new file for the device */
	assert_false(cfg.drives[0].rate_limiter.ops.set);
	assert_true(cfg.drives[0].rate_limiter.bandwidth.set);
	assert_int_equal(cfg.drives[0].fd, newfd); /* file unchanged */
	/* The VM InstanceStart created is destroyed with the api. */
	api_destroy(api);
	assert_int_equal(fake_destroyed, 1);
	char err[64];
	api = api_create(loop, NULL, NULL, &cfg, err, sizeof(err));
}

/* ---- the route table ---- */

static const char API_AFTER[] =
	"The requested operation is not supported after starting the microVM.";
static const char API_BEFORE[] =
	"The requested operation is not supported before starting the microVM.";

/* Every route, with a body it accepts, what it answers before and after
 * InstanceStart (a status, and a text the fault must hold), and the
 * counters it bumps. A %s in a body is the disk for /drives, the metrics file
 * for /metrics, else the kernel. */
static const struct route_case {
	enum api_http_method m;
	const char *path, *body;
	int pre_status;
	const char *pre_fault;
	int post_status;
	const char *post_fault;
	uint64_t *count, *fails;
} route_cases[] = {
	{ API_HTTP_GET, "/", NULL, 200, NULL, 200, NULL,
	  &metrics.get_api_requests.instance_info_count, &metrics.get_api_requests.fails },
	{ API_HTTP_GET, "/version", NULL, 200, NULL, 200, NULL,
	  &metrics.get_api_requests.vmm_version_count, &metrics.get_api_requests.fails },
	{ API_HTTP_GET, "/machine-config", NULL, 200, NULL, 200, NULL,
	  &metrics.get_api_requests.machine_cfg_count, &metrics.get_api_requests.fails },
	{ API_HTTP_GET, "/vm/config", NULL, 200, NULL, 200, NULL,
	  &metrics.get_api_requests.vm_config_count, &metrics.get_api_requests.fails },
	{ API_HTTP_PUT, "/boot-source", "{\"kernel_image_path\":\"%s\"}", 204, NULL, 400, API_AFTER,
	  &metrics.put_api_requests.boot_source_count,
	  &metrics.put_api_requests.boot_source_fails },
	{ API_HTTP_PUT, "/drives/d1", "{\"drive_id\":\"d1\",\"path_on_host\":\"%s\","
	  "\"is_root_device\":false}", 204, NULL, 400, API_AFTER,
	  &metrics.put_api_requests.drive_count, &metrics.put_api_requests.drive_fails },
	{ API_HTTP_PUT, "/logger", "{\"level\":\"Off\"}", 204, NULL, 400, API_AFTER,
	  &metrics.put_api_requests.logger_count, &metrics.put_api_requests.logger_fails },
	{ API_HTTP_PUT, "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}", 204, NULL,
	  400, API_AFTER, &metrics.put_api_requests.machine_cfg_count,
	  &metrics.put_api_requests.machine_cfg_fails },
	{ API_HTTP_PUT, "/metrics", "{\"metrics_path\":\"%s\"}", 204, NULL, 400, API_AFTER,
	  &metrics.put_api_requests.metrics_count, &metrics.put_api_requests.metrics_fails },
	{ API_HTTP_PUT, "/serial", "{}", 204, NULL, 400, API_AFTER, NULL, NULL },
	{ API_HTTP_PUT, "/network-interfaces/eth0",
	  "{\"iface_id\":\"eth0\",\"host_dev_name\":\"\"}", 400,
	  "Network config error: Could not create the network device: Open tap device failed: "
	  "Invalid interface name", 400, API_AFTER,
	  &metrics.put_api_requests.network_count, &metrics.put_api_requests.network_fails },
	{ API_HTTP_PATCH, "/machine-config", "{\"vcpu_count\":1}", 204, NULL, 400, API_AFTER,
	  &metrics.patch_api_requests.machine_cfg_count,
	  &metrics.patch_api_requests.machine_cfg_fails },
	{ API_HTTP_PATCH, "/drives/d1", "{\"drive_id\":\"d1\"}", 400, API_BEFORE, 204, NULL,
	  &metrics.patch_api_requests.drive_count, &metrics.patch_api_requests.drive_fails },
	{ API_HTTP_PATCH, "/network-interfaces/eth0", "{\"iface_id\":\"eth0\"}", 400, API_BEFORE,
	  400, "Invalid network interface ID: eth0", &metrics.patch_api_requests.network_count,
	  &metrics.patch_api_requests.network_fails },
	{ API_HTTP_PATCH, "/vm", "{\"state\":\"Resumed\"}", 400, API_BEFORE, 204, NULL,
	  &metrics.patch_api_requests.vm_count, &metrics.patch_api_requests.vm_fails },
	{ API_HTTP_DELETE, "/drives/d1", NULL, 400, API_BEFORE, 400, "device hotplug", NULL, NULL },
	{ API_HTTP_DELETE, "/network-interfaces/eth0", NULL, 400, API_BEFORE, 400,
	  "device hotplug", NULL, NULL },
	/* Each action has its own boot rule (InstanceStart: test_actions_and_post_boot;
	 * FlushMetrics would reset the counters). */
	{ API_HTTP_PUT, "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", 400, API_BEFORE, 204,
	  NULL, &metrics.put_api_requests.actions_count, &metrics.put_api_requests.actions_fails },
	/* Create needs a paused VM; load a fresh process (the routes above
	 * configured boot resources). */
	{ API_HTTP_PUT, "/snapshot/create", "{\"snapshot_path\":\"/nonexistent/s\","
	  "\"mem_file_path\":\"/nonexistent/m\"}", 400, API_BEFORE, 400,
	  "Create snapshot error: the microVM must be paused", NULL, NULL },
	{ API_HTTP_PUT, "/snapshot/load", "{\"snapshot_path\":\"/nonexistent/s\","
	  "\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"/nonexistent/m\"}}",
	  400, "Loading a microVM snapshot not allowed after configuring boot-specific "
	  "resources.", 400, API_AFTER, NULL, NULL },
};

static void run_route_case(const struct route_case *rc, bool booted, const char *mpath)
{
	char b[1024];
	int want = booted ? rc->post_status : rc->pre_status;
	const char *fault = booted ? rc->post_fault : rc->pre_fault;
	uint64_t count = rc->count ? *rc->count : 0, fails = rc->fails ? *rc->fails : 0;

	if (rc->body)
		snprintf(b, sizeof(b), rc->body, strstr(rc->path, "/drives") ? disk :
			 strstr(rc->path, "/metrics") ? mpath : kernel);
	int got = req(rc->m, rc->path, rc->body ? b : NULL);
	if (got != want)
		fail_msg("%s %s (%s): %d, not %d: %s", api_http_method_name(rc->m), rc->path,
			 booted ? "post-boot" : "pre-boot", got, want, body);
	if (fault)
		FAULT_HAS(fault);
	if (rc->count)
		assert_int_equal(*rc->count, count + 1);
	if (rc->fails)
		assert_int_equal(*rc->fails, fails + (got == 400));
}

/* Every route before and after boot: the boot rule, and the counters. */
static void test_route_table(void **state)
{
	char mpath[] = "/tmp/ember-test-metrics-XXXXXX";
	close(mkstemp(mpath));
	size_t n = sizeof(route_cases) / sizeof(route_cases[0]);
	for (size_t i = 0; i < n; i++)
		run_route_case(&route_cases[i], false, mpath);
	boot();
	for (size_t i = 0; i < n; i++)
		run_route_case(&route_cases[i], true, mpath);
	metrics_stop();
	unlink(mpath);
}

/* Every path the table knows with each method it has no route for. */
static void test_route_methods(void **state)
{
	static const char *const paths[] = { "/", "/version", "/machine-config", "/vm/config",
		"/actions", "/boot-source", "/drives/d1", "/logger", "/metrics",
		"/network-interfaces/eth0", "/vm", "/serial", "/nope" };
	static const enum api_http_method methods[] = { API_HTTP_GET, API_HTTP_PUT,
							API_HTTP_PATCH, API_HTTP_DELETE };
	size_t n = sizeof(route_cases) / sizeof(route_cases[0]);
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		for (size_t k = 0; k < 4; k++) {
			enum api_http_method m = methods[k];
			/* Routes are found by the first segment: PATCH /vm/config is PATCH /vm. */
			const char *seg = paths[p] + 1;
			int seglen = (int)strcspn(seg, "/");
			bool routed = false;
			for (size_t i = 0; i < n; i++) {
				const char *rseg = route_cases[i].path + 1;
				routed |= route_cases[i].m == m &&
					  !strncmp(rseg, seg, (size_t)seglen) &&
					  (rseg[seglen] == '/' || rseg[seglen] == '\0');
			}
			if (routed)
				continue;
			uint64_t get_fails = metrics.get_api_requests.fails;
			uint64_t put_other = metrics.put_api_requests.unsupported_count;
			uint64_t patch_other = metrics.patch_api_requests.unsupported_count;
			bool has_body = m == API_HTTP_PUT || m == API_HTTP_PATCH;
			assert_int_equal(req(m, paths[p], has_body ? "{}" : NULL), 400);
			char want[128];
			snprintf(want, sizeof(want), "Invalid request method and/or path: %s %.*s.",
				 api_http_method_name(m), seglen, seg);
			FAULT_HAS(want);
			assert_int_equal(metrics.get_api_requests.fails,
					 get_fails + (m == API_HTTP_GET));
			assert_int_equal(metrics.put_api_requests.unsupported_count,
					 put_other + (m == API_HTTP_PUT));
			assert_int_equal(metrics.patch_api_requests.unsupported_count,
					 patch_other + (m == API_HTTP_PATCH));
		}
	}
}

/* The order of the checks: body rules of the method, then the path, its id,
 * the JSON, then (post-boot routes) the body's fields before the boot rule,
 * and (pre-boot routes) the boot rule before the body's fields. */
/* serde_json's wording and position (line, and the column of the byte it
 * stopped at) for every kind of bad body: tools match these texts. Where
 * ember names a field serde does not, its words come after serde's whole
 * sentence. */
static void test_serde_errors(void **state)
{
	(void)state;
	static const struct {
		const char *body, *want;
	} cases[] = {
		{ "{\"vcpu_count\": 2, ", "EOF while parsing an object at line 1 column 18." },
		{ "[1, 2", "EOF while parsing a list at line 1 column 5." },
		{ "{\"a\": \"x", "EOF while parsing a string at line 1 column 8." },
		{ "{\"vcpu_count\": 2,}", "trailing comma at line 1 column 18." },
		{ "[1,]", "trailing comma at line 1 column 4." },
		{ "{\"vcpu_count\" 2}", "expected `:` at line 1 column 15." },
		{ "{\"vcpu_count\": 2 3}", "expected `,` or `}` at line 1 column 18." },
		{ "[1 2]", "expected `,` or `]` at line 1 column 4." },
		{ "{1: 2}", "key must be a string at line 1 column 2." },
		{ "{\"smt\": tru}", "expected ident at line 1 column 12." },
		{ "{\"smt\": x}", "expected value at line 1 column 9." },
		{ "{} x", "trailing characters at line 1 column 4." },
		{ "{\"a\": 01}", "invalid number at line 1 column 8." },
		{ "{\"a\": 1.}", "invalid number at line 1 column 9." },
		{ "{\"a\": -}", "invalid number at line 1 column 8." },
		{ "{\"a\": 1e999}", "number out of range at line 1 column 11." },
		{ "{\"a\": \"\\q\"}", "invalid escape at line 1 column 9." },
		{ "{\"a\": \"\t\"}", "control character (\\\\u0000-\\\\u001F) found while parsing a string "
				 "at line 1 column 8." },
		{ "{\"a\": \"\\udc00\"}", "lone leading surrogate in hex escape at line 1 column 13." },
		{ "{\"a\": \"\\ud800x\"}", "unexpected end of hex escape at line 1 column 14." },
		{ "{\"a\": \"\xc3\x28\"}", "invalid unicode code point at line 1 column 10." },
		/* Positions count lines; a missing field is reported where its
		 * object closes. */
		{ "{\n  \"vcpu_count\": 2\n}", "missing field `mem_size_mib` at line 3 column 1." },
		{ "{\n  \"vcpu_count\": 2,\n  \"mem_size_mib\": 128,\n  \"smt\": 1\n}",
		  "invalid type: integer `1`, expected a boolean at line 4 column 10 (field `smt`)." },
		{ "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"bogus\": 1}",
		  "unknown field `bogus`, expected one of `vcpu_count`, `mem_size_mib`" },
		{ "{\"vcpu_count\": 2, \"vcpu_count\": 2, \"mem_size_mib\": 1}",
		  "duplicate field `vcpu_count` at line 1 column 30." },
		/* Numbers as serde_json reads them: integers that fit 64 bits are
		 * integers (a wrong value), the rest are floats (a wrong type). */
		{ "{\"vcpu_count\": 256, \"mem_size_mib\": 1}",
		  "invalid value: integer `256`, expected u8 at line 1 column 18 (field `vcpu_count`)." },
		{ "{\"vcpu_count\": -1, \"mem_size_mib\": 1}",
		  "invalid value: integer `-1`, expected u8 at line 1 column 17" },
		{ "{\"vcpu_count\": 1, \"mem_size_mib\": 18446744073709551616}",
		  "invalid type: floating point `18446744073709551616.0`, expected u64 at line 1 column 54" },
		{ "{\"vcpu_count\": 1, \"mem_size_mib\": null}",
		  "invalid type: null, expected u64 at line 1 column 38 (field `mem_size_mib`)." },
		{ "[]", "invalid type: sequence, expected struct MachineConfig at line 1 column 1." },
		{ "{\"vcpu_count\": 1, \"mem_size_mib\": 1, \"huge_pages\": \"1G\"}",
		  "unknown variant `1G`, expected one of `None`, `Transparent`, `2M` at line 1 column 55 "
		  "(field `huge_pages`)." },
	};
	char nested[300];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (PUT("/machine-config", cases[i].body) != 400)
			fail_msg("accepted %s", cases[i].body);
		FAULT_HAS("An error occurred when deserializing the json body of a request: ");
		FAULT_HAS(cases[i].want);
	}
	/* Two variants: "expected `a` or `b`". */
	assert_int_equal(PATCH("/vm", "{\"state\": \"Stopped\"}"), 400);
	FAULT_HAS("unknown variant `Stopped`, expected `Paused` or `Resumed` at line 1 column 19");
	/* serde_json's nesting limit. */
	memset(nested, '[', 129);
	memset(nested + 129, ']', 129);
	nested[258] = 0;
	assert_int_equal(PUT("/machine-config", nested), 400);
	FAULT_HAS("recursion limit exceeded at line 1 column 129.");
	assert_int_equal(cfg.machine.mem_size_mib, 128); /* nothing changed */
}

static void test_route_order(void **state)
{
	assert_int_equal(req(API_HTTP_PUT, "/nope", NULL), 400);
	FAULT_HAS("Empty PUT request.");
	assert_int_equal(req(API_HTTP_GET, "/nope", "{}"), 400);
	FAULT_HAS("GET request cannot have a body.");
	assert_int_equal(PUT("/drives/a-b", "{"), 400);
	FAULT_HAS("API Resource IDs can only contain alphanumeric characters and underscores.");
	assert_int_equal(req(API_HTTP_DELETE, "/drives/", NULL), 400);
	FAULT_HAS("The ID cannot be empty.");
	assert_int_equal(PATCH("/drives/d1", "{\"drive_id\":"), 400);
	FAULT_HAS("EOF while parsing a value at line 1 column 12.");
	/* Post-boot routes check the body first. */
	assert_int_equal(PATCH("/vm", "{\"state\":\"Stopped\"}"), 400);
	FAULT_HAS("unknown variant `Stopped`");
	assert_int_equal(PATCH("/drives/d1", "{\"drive_id\":\"d2\"}"), 400);
	FAULT_HAS("The id from the path does not match the id from the body!");
	assert_int_equal(PATCH("/network-interfaces/eth0", "{\"iface_id\":\"eth0\","
			       "\"rx_rate_limiter\":{\"x\":1}}"), 400);
	FAULT_HAS("unknown field `x`");
	/* ... but a drive's rate limiter only once the VM runs. */
	assert_int_equal(PATCH("/drives/d1", "{\"drive_id\":\"d1\",\"rate_limiter\":{\"x\":1}}"),
			 400);
	FAULT_HAS("not supported before starting");
	/* Pre-boot routes check the boot rule first. */
	boot();
	assert_int_equal(PUT("/boot-source", "{}"), 400);
	FAULT_HAS(API_AFTER);
	assert_int_equal(PUT("/drives/d1", "{}"), 400);
	FAULT_HAS(API_AFTER);
	assert_int_equal(PUT("/drives/a-b", "{}"), 400); /* the path id comes first */
	FAULT_HAS("API Resource IDs can only contain");
}

/* ---- config file ---- */

static int load(const char *json, char *err, size_t errlen)
{
	char path[] = "/tmp/ember-test-cfg-XXXXXX";
	int fd = mkstemp(path);
	assert_true(write(fd, json, strlen(json)) == (ssize_t)strlen(json));
	close(fd);
	struct vm_config *c = &cfg;
	config_release(c);
	config_init(c);
	int r = config_file_load(path, c, err, errlen);
	unlink(path);
	return r;
}

static void test_config_file(void **state)
{
	char json[2048], err[512];
	snprintf(json, sizeof(json),
		 "{\"boot-source\":{\"kernel_image_path\":\"%s\",\"boot_args\":\"console=ttyS0\"},"
		 "\"drives\":[{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false},"
		 "{\"drive_id\":\"rootfs\",\"path_on_host\":\"%s\",\"is_root_device\":true}],"
		 "\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":256,"
		 "\"cpu_template\":\"T2CL\"},"
		 "\"network-interfaces\":[],\"balloon\":null,\"logger\":{\"level\":\"Off\"}}",
		 kernel, disk, disk);
	assert_int_equal(load(json, err, sizeof(err)), 0);
	assert_true(cfg.boot.set);
	assert_int_equal(cfg.machine.vcpu_count, 2);
	assert_int_equal(cfg.machine.cpu_template, CONFIG_CPU_TEMPLATE_T2CL);
	assert_int_equal(cfg.ndrives, 2);
	assert_string_equal(cfg.drives[0].drive_id, "rootfs");
	assert_true(cfg.drives[0].fd >= 0);

	assert_int_equal(load("{\"drives\":[]}", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "boot-source"));
	assert_int_equal(load("{\"boot-source\":{}, \"vsock\":{\"guest_cid\":3}}", err,
			      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "vsock"));
	assert_non_null(strstr(err, "does not support"));
	assert_int_equal(load("{\"boot-source\":{}, \"frobnicate\":1}", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "frobnicate"));
	assert_int_equal(load("{\"boot-source\":{\"kernel_image_path\":\"/nonexistent\"}}", err,
			      sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "boot-source: Boot source error"));
	assert_null(strstr(err, "deserializing"));
	snprintf(json, sizeof(json), "{\"boot-source\":{\"kernel_image_path\":\"%s\"},"
		 "\"drives\":[{\"drive_id\":\"a\",\"path_on_host\":\"%s\",\"is_root_device\":true},"
		 "{\"drive_id\":\"b\",\"path_on_host\":\"%s\"}]}", kernel, disk, disk);
	assert_int_equal(load(json, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "drives[1]: missing field `is_root_device`"));
	assert_int_equal(load("{\"boot-source\":", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "EOF while parsing a value at line 1 column 15."));
	assert_int_equal(load("[]", err, sizeof(err)), -EINVAL);
	/* "serial" takes PUT /serial's object; null is no section. */
	char out[] = "/tmp/ember-test-serial-XXXXXX";
	close(mkstemp(out));
	snprintf(json, sizeof(json), "{\"boot-source\":{\"kernel_image_path\":\"%s\"},"
		 "\"serial\":{\"serial_out_path\":\"%s\",\"rate_limiter\":{\"size\":4096,"
		 "\"one_time_burst\":65536,\"refill_time\":1000}}}", kernel, out);
	assert_int_equal(load(json, err, sizeof(err)), 0);
	assert_true(cfg.serial.set);
	assert_true(cfg.serial.out_fd >= 0);
	assert_int_equal(cfg.serial.rate_limiter.one_time_burst, 65536);
	snprintf(json, sizeof(json), "{\"boot-source\":{\"kernel_image_path\":\"%s\"},"
		 "\"serial\":null}", kernel);
	assert_int_equal(load(json, err, sizeof(err)), 0);
	assert_false(cfg.serial.set);
	snprintf(json, sizeof(json), "{\"boot-source\":{\"kernel_image_path\":\"%s\"},"
		 "\"serial\":{\"serial_out_path\":\"/dev/null\"}}", kernel);
	assert_int_equal(load(json, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "serial: Serial config error: serial_out_path: /dev/null is "
			       "a character device"));
	unlink(out);
	assert_int_equal(config_file_load("/nonexistent.json", &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent.json"));
}

/* ---- snapshots ---- */

/* A state file of a 1-vCPU, 64 MiB VM with the drive "rootfs" over `disk`
 * (0 sectors) and, with net, the interface "eth0" on tap0, into path. */
static void write_state_with(const char *path, bool net, const struct snapshot_state *extra);

static void write_state(const char *path, bool net)
{
	write_state_with(path, net, NULL);
}

/* A snapshot of 1 vCPU, 64 MiB, the root drive (and eth0 with net); extra,
 * when given, adds its CPU template, the drive's io_engine and the serial
 * rate limiter (configuration and bucket). */
static void write_state_with(const char *path, bool net, const struct snapshot_state *extra)
{
	static struct snapshot_state st;
	memset(&st, 0, sizeof(st));
	st.mem_size = 64 << 20;
	st.nvcpus = 1;
	config_init(&st.cfg);
	st.cfg.machine.vcpu_count = 1;
	st.cfg.machine.mem_size_mib = 64;
	st.cfg.ndrives = 1;
	strcpy(st.cfg.drives[0].drive_id, "rootfs");
	strcpy(st.cfg.drives[0].path_on_host, disk);
	st.cfg.drives[0].is_root_device = true;
	st.cfg.nnets = net;
	strcpy(st.cfg.nets[0].iface_id, "eth0");
	strcpy(st.cfg.nets[0].host_dev_name, "tap0");
	for (int i = 0; i < 3; i++)
		st.vm.chip[i].chip_id = (uint32_t)i;
	static struct kvm_cpuid_entry2 leaf0 = { .function = 0, .eax = 0xd };
	st.vcpu[0].ncpuid = 1;
	st.vcpu[0].cpuid = &leaf0;
	st.ndev = 1 + net;
	st.dev[0].type = VIRTIO_ID_BLK;
	strcpy(st.dev[0].id, "rootfs");
	st.dev[0].mmio.nqueues = 1;
	st.dev[0].mmio.q[0].num_max = 256;
	st.dev[1].type = VIRTIO_ID_NET;
	strcpy(st.dev[1].id, "eth0");
	st.dev[1].mmio.nqueues = 2;
	st.dev[1].mmio.q[0].num_max = st.dev[1].mmio.q[1].num_max = 256;
	if (extra) {
		st.cfg.machine.cpu_template = extra->cfg.machine.cpu_template;
		st.cfg.drives[0].io_engine = extra->cfg.drives[0].io_engine;
		st.cfg.serial.rate_limiter = extra->cfg.serial.rate_limiter;
		st.serial.out_limit = extra->serial.out_limit;
	}
	uint8_t *b;
	size_t len;
	char err[256];
	assert_int_equal(snapshot_state_encode(&st, &b, &len, err, sizeof(err)), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
	free(b);
}

static void test_snapshot_api(void **state)
{
	char sp[] = "/tmp/ember-test-state-XXXXXX", mp[] = "/tmp/ember-test-mem-XXXXXX";
	close(mkstemp(sp));
	int mfd = mkstemp(mp);
	assert_int_equal(ftruncate(mfd, 1 << 20), 0);   /* too small for 64 MiB */
	char b[1024];
	write_state(sp, true);

	/* The body: exactly one memory backend, known fields, then the checks. */
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"%s\"}", sp);
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS("missing field: either `mem_backend` or `mem_file_path` is required");
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\","
		 "\"mem_backend\":{\"backend_type\":\"File\",\"backend_path\":\"%s\"}}", sp, mp, mp);
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS("too many fields: either `mem_backend` or `mem_file_path` exclusively");
	assert_int_equal(PUT("/snapshot/load", "{\"snapshot_path\":\"/x\",\"mem_file_path\":"
			     "\"/y\",\"bogus\":1}"), 400);
	FAULT_HAS("unknown field `bogus`");
	assert_int_equal(PUT("/snapshot/nope", "{}"), 400);
	FAULT_HAS("Invalid request method and/or path: PUT snapshot.");
	assert_int_equal(PUT("/snapshot/create", "{\"snapshot_path\":\"/x\",\"mem_file_path\":"
			     "\"/y\"}"), 400);
	FAULT_HAS(API_BEFORE);

	/* A missing state file, a damaged one, a too small memory file, an
	 * override of an interface the snapshot lacks: 400, nothing built. */
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"/nonexistent/state\",\"mem_file_path\":"
		 "\"%s\"}", mp);
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS("Load snapshot error: snapshot_path /nonexistent/state: No such file");
	assert_true(deprecated);          /* mem_file_path */
	FILE *f = fopen(sp, "r+");
	fseek(f, 100, SEEK_SET);
	fputc(0x5a, f);
	fclose(f);
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":"
		 "\"File\",\"backend_path\":\"%s\"}}", sp, mp);
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS("checksum mismatch");
	assert_false(deprecated);
	write_state(sp, true);
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS("holds 1048576 bytes, guest RAM is 67108864 bytes");
	assert_int_equal(ftruncate(mfd, 64 << 20), 0);
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":"
		 "\"File\",\"backend_path\":\"%s\"},\"network_overrides\":[{\"iface_id\":"
		 "\"eth9\",\"host_dev_name\":\"tap9\"}]}", sp, mp);
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS("network_overrides: the snapshot has no network interface 'eth9'");
	assert_int_equal(fake_restores, 0);
	assert_int_equal(GET("/"), 200);
	assert_non_null(strstr(body, "\"Not started\""));

	/* Built (the fake), with the override and dirty tracking; paused; the
	 * configuration is the snapshot's. */
	/* The override is what the load opens (no tap here: a clean 400). */
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":"
		 "\"File\",\"backend_path\":\"%s\"},\"network_overrides\":[{\"iface_id\":"
		 "\"eth0\",\"host_dev_name\":\"tap7\"}]}", sp, mp);
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS("Load snapshot error: network interface eth0: host_dev_name: Open tap device "
		  "failed: ");
	FAULT_HAS("Invalid TUN/TAP Backend provided by tap7.");
	assert_int_equal(fake_restores, 0);
	write_state(sp, false);
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":"
		 "\"File\",\"backend_path\":\"%s\"},\"enable_diff_snapshots\":true,"
		 "\"clock_realtime\":true}", sp, mp);
	if (PUT("/snapshot/load", b) != 204)
		fail_msg("load: %s", body);
	assert_true(deprecated);          /* enable_diff_snapshots */
	assert_int_equal(fake_restores, 1);
	assert_true(fake_restore_cfg.machine.track_dirty_pages);
	assert_true(fake_restore_rs.clock_realtime);
	assert_true(fake_restore_rs.mem_fd >= 0);
	assert_true(fake_restore_cfg.drives[0].fd >= 0);
	assert_int_equal(GET("/"), 200);
	assert_non_null(strstr(body, "\"Paused\""));
	assert_int_equal(GET("/vm/config"), 200);
	assert_non_null(strstr(body, "\"drive_id\":\"rootfs\""));
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS(API_AFTER);

	/* Create: paused only; Full by default, Diff asked for. */
	assert_int_equal(PUT("/snapshot/create", "{\"snapshot_path\":\"/x\",\"mem_file_path\":"
			     "\"/y\",\"snapshot_type\":\"Diff\"}"), 204);
	assert_int_equal(fake_snap_type, VM_SNAPSHOT_DIFF);
	assert_int_equal(PATCH("/vm", "{\"state\":\"Resumed\"}"), 204);
	assert_int_equal(PUT("/snapshot/create", "{\"snapshot_path\":\"/x\",\"mem_file_path\":"
			     "\"/y\"}"), 400);
	FAULT_HAS("Create snapshot error: the microVM must be paused");
	assert_int_equal(PUT("/snapshot/create", "{\"snapshot_path\":\"/x\"}"), 400);
	FAULT_HAS("missing field `mem_file_path`");
	assert_int_equal(fake_snap_creates, 1);
	close(mfd);
	unlink(sp);
	unlink(mp);
}

/* What a load takes from the snapshot and what from this process: the CPU
 * template and the drive's io_engine are the snapshot's; the serial output
 * is this process's (PUT /serial, kept by a failed load), its rate limiter
 * the snapshot's unless PUT /serial gave one. */
static void test_snapshot_load_serial(void **state)
{
	char sp[] = "/tmp/ember-test-state-XXXXXX", mp[] = "/tmp/ember-test-mem-XXXXXX";
	char dir[] = "/tmp/ember-test-serial-XXXXXX", b[1024];
	close(mkstemp(sp));
	int mfd = mkstemp(mp);
	assert_int_equal(ftruncate(mfd, 64 << 20), 0);
	assert_non_null(mkdtemp(dir));
	static struct snapshot_state extra;
	extra.cfg.machine.cpu_template = CONFIG_CPU_TEMPLATE_T2A;
	extra.cfg.drives[0].io_engine = CONFIG_IO_ASYNC;
	extra.cfg.serial.rate_limiter = (struct ratelimit_bucket_config){ true, 4096, 0, 100 };
	extra.serial.out_limit = (struct ratelimit_bucket_state){ true, 4096, 100000000, 7 };
	write_state_with(sp, false, &extra);

	/* PUT /serial does not count as a boot resource. */
	snprintf(b, sizeof(b), "{\"serial_out_path\":\"%s/out\"}", dir);
	assert_int_equal(PUT("/serial", b), 204);
	int fd = cfg.serial.out_fd;
	assert_true(fd >= 0);
	/* A load that fails after the checks leaves this process's serial
	 * output as it was: open, and still configured. */
	fake_restore_rc = -ENODEV;
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":"
		 "\"File\",\"backend_path\":\"%s\"}}", sp, mp);
	assert_int_equal(PUT("/snapshot/load", b), 400);
	FAULT_HAS("Load snapshot error: fake: no KVM");
	fake_restore_rc = 0;
	assert_int_equal(cfg.serial.out_fd, fd);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	assert_false(cfg.serial.rate_limiter.set);

	if (PUT("/snapshot/load", b) != 204)
		fail_msg("load: %s", body);
	assert_int_equal(fake_restore_cfg.machine.cpu_template, CONFIG_CPU_TEMPLATE_T2A);
	assert_int_equal(fake_restore_cfg.drives[0].io_engine, CONFIG_IO_ASYNC);
	assert_int_equal(fake_restore_cfg.serial.out_fd, fd);
	assert_true(fake_restore_cfg.serial.rate_limiter.set);
	assert_int_equal(fake_restore_cfg.serial.rate_limiter.size, 4096);
	assert_false(fake_restore_rs.serial_limiter_given);
	assert_int_equal(fake_restore_serial_bucket.budget, 7);
	assert_int_equal(GET("/vm/config"), 200);
	assert_non_null(strstr(body, "\"cpu_template\":\"T2A\""));
	assert_non_null(strstr(body, "\"io_engine\":\"Async\""));
	snprintf(b, sizeof(b), "\"serial\":{\"serial_out_path\":\"%s/out\",\"rate_limiter\":"
		 "{\"size\":4096,\"one_time_burst\":null,\"refill_time\":100}}", dir);
	if (!strstr(body, b))
		fail_msg("GET /vm/config lacks %s: %s", b, body);
	close(mfd);
	unlink(sp);
	unlink(mp);
	snprintf(b, sizeof(b), "rm -rf '%s'", dir);
	assert_int_equal(system(b), 0);
}

/* A rate limiter given with PUT /serial before the load replaces the
 * snapshot's (its bucket starts full: the restore is told so). */
static void test_snapshot_load_serial_limiter(void **state)
{
	char sp[] = "/tmp/ember-test-state-XXXXXX", mp[] = "/tmp/ember-test-mem-XXXXXX", b[512];
	close(mkstemp(sp));
	int mfd = mkstemp(mp);
	assert_int_equal(ftruncate(mfd, 64 << 20), 0);
	static struct snapshot_state extra;
	extra.cfg.serial.rate_limiter = (struct ratelimit_bucket_config){ true, 4096, 0, 100 };
	write_state_with(sp, false, &extra);
	assert_int_equal(PUT("/serial", "{\"rate_limiter\":{\"size\":100,\"refill_time\":10}}"), 204);
	snprintf(b, sizeof(b), "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":"
		 "\"File\",\"backend_path\":\"%s\"}}", sp, mp);
	if (PUT("/snapshot/load", b) != 204)
		fail_msg("load: %s", body);
	assert_true(fake_restore_rs.serial_limiter_given);
	assert_int_equal(fake_restore_cfg.serial.rate_limiter.size, 100);
	assert_int_equal(fake_restore_cfg.serial.rate_limiter.refill_time_ms, 10);
	assert_int_equal(fake_restore_cfg.serial.out_fd, -1);   /* stdout */
	assert_int_equal(fake_restore_cfg.machine.cpu_template, CONFIG_CPU_TEMPLATE_NONE);
	assert_int_equal(fake_restore_cfg.drives[0].io_engine, CONFIG_IO_SYNC);
	close(mfd);
	unlink(sp);
	unlink(mp);
}

static void test_snapshot_load_refused(void **state)
{
	/* After a boot resource, a load is refused (not fatal); logger and
	 * metrics do not count. */
	assert_int_equal(PUT("/logger", "{\"level\":\"Off\"}"), 204);
	assert_int_equal(PUT("/snapshot/load", "{\"snapshot_path\":\"/nonexistent/s\","
			     "\"mem_file_path\":\"/nonexistent/m\"}"), 400);
	FAULT_HAS("snapshot_path /nonexistent/s");
	assert_int_equal(PUT("/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}"), 204);
	assert_int_equal(PUT("/snapshot/load", "{\"snapshot_path\":\"/nonexistent/s\","
			     "\"mem_file_path\":\"/nonexistent/m\"}"), 400);
	FAULT_HAS("Load snapshot error: Loading a microVM snapshot not allowed after configuring "
		  "boot-specific resources.");
	assert_true(deprecated);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_instance_info_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routing_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_template, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network_interfaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logger_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions_and_post_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serde_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_load_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_load_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_load_serial_limiter, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
