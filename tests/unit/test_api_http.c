// SPDX-License-Identifier: Apache-2.0
/* api_http: request framing (pieces, pipelining, limits, bad framing) and
 * response formatting. No sockets here; tests/api/ drives the real server. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_http.h"

struct parsed {
	int r;
	bool hdr_done;
	struct api_http_request req;
	char err[256];
};

static struct parsed *parse(const char *buf, size_t len)
{
	static struct parsed p;
	memset(&p, 0, sizeof(p));
	p.r = api_http_parse(buf, len, &p.req, &p.hdr_done, p.err, sizeof(p.err));
	return &p;
}

static struct parsed *parse_str(const char *s)
{
	return parse(s, strlen(s));
}

static void test_simple_get(void **state)
{
	const char *s = "GET /machine-config HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
	struct parsed *p = parse_str(s);
	assert_int_equal(p->r, (int)strlen(s));
	assert_int_equal(p->req.method, API_HTTP_GET);
	assert_string_equal(p->req.path, "/machine-config");
	assert_null(p->req.body);
	assert_int_equal(p->req.body_len, 0);
	assert_false(p->req.expect_continue);
}

static void test_put_body(void **state)
{
	const char *s = "PUT /actions HTTP/1.1\r\ncontent-LENGTH:  31 \r\n\r\n"
			"{\"action_type\":\"InstanceStart\"}";
	struct parsed *p = parse_str(s);
	assert_int_equal(p->r, (int)strlen(s));
	assert_int_equal(p->req.method, API_HTTP_PUT);
	assert_int_equal(p->req.body_len, 31);
	assert_memory_equal(p->req.body, "{\"action_type\":\"InstanceStart\"}", 31);
}

/* Every prefix of a request is "need more"; the whole is one request. */
static void test_every_split(void **state)
{
	const char *s = "PATCH /vm HTTP/1.0\r\nContent-Length: 18\r\nX-Other: y\r\n\r\n"
			"{\"state\":\"Paused\"}";
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		struct parsed *p = parse(s, i);
		assert_int_equal(p->r, 0);
	}
	struct parsed *p = parse(s, n);
	assert_int_equal(p->r, (int)n);
	assert_int_equal(p->req.method, API_HTTP_PATCH);
	assert_string_equal(p->req.path, "/vm");
}

static void test_pipelined(void **state)
{
	const char *s = "GET / HTTP/1.1\r\n\r\nPUT /x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
			"GET /version HTTP/1.1\r\n\r\n";
	size_t n = strlen(s), off = 0;
	const char *paths[] = { "/", "/x", "/version" };
	for (int i = 0; i < 3; i++) {
		struct parsed *p = parse(s + off, n - off);
		assert_true(p->r > 0);
		assert_string_equal(p->req.path, paths[i]);
		off += (size_t)p->r;
	}
	assert_int_equal(off, n);
}

static void test_absolute_and_other_uris(void **state)
{
	struct parsed *p = parse_str("GET http://localhost/machine-config HTTP/1.1\r\n\r\n");
	assert_true(p->r > 0);
	assert_string_equal(p->req.path, "/machine-config");
	p = parse_str("GET http://localhost:8080 HTTP/1.1\r\n\r\n");
	assert_true(p->r > 0);
	assert_string_equal(p->req.path, "");
	p = parse_str("GET foo HTTP/1.1\r\n\r\n"); /* routed like "/" (Firecracker) */
	assert_true(p->r > 0);
	assert_string_equal(p->req.path, "");
}

static void test_expect_continue(void **state)
{
	const char *s = "PUT /drives/rootfs HTTP/1.1\r\nExpect: 100-continue\r\n"
			"Content-Length: 10\r\n\r\n";
	struct parsed *p = parse_str(s);
	assert_int_equal(p->r, 0);
	assert_true(p->hdr_done);
	assert_true(p->req.expect_continue);
	p = parse_str("PUT /x HTTP/1.1\r\nContent-Length: 10\r\n");
	assert_int_equal(p->r, 0);
	assert_false(p->hdr_done);
}

static void test_bad_method_version(void **state)
{
	struct parsed *p = parse_str("POST / HTTP/1.1\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	assert_string_equal(p->err, "Unsupported HTTP method.");
	p = parse_str("get / HTTP/1.1\r\n\r\n"); /* methods are case-sensitive */
	assert_int_equal(p->r, -EINVAL);
	p = parse_str("GET / HTTP/2.0\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	assert_string_equal(p->err, "Unsupported HTTP version.");
	p = parse_str("GET /\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	p = parse_str("GET  / HTTP/1.1\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	p = parse_str("GET / HTTP/1.1 x\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	p = parse_str("GET / HTTP/1.1\n\n"); /* bare LF */
	assert_int_equal(p->r, -EINVAL);
}

static void test_bad_headers(void **state)
{
	struct parsed *p = parse_str("GET / HTTP/1.1\r\nNoColon\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	p = parse_str("PUT / HTTP/1.1\r\nContent-Length: abc\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	assert_non_null(strstr(p->err, "Content-Length"));
	p = parse_str("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	p = parse_str("PUT / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	p = parse_str("PUT / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	p = parse_str("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
	assert_non_null(strstr(p->err, "hunked"));
	p = parse_str("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
	assert_int_equal(p->r, -EINVAL);
}

static void test_line_limits(void **state)
{
	char *buf = malloc(API_HTTP_MAX_HEADER * 2);
	/* A request line of exactly the limit (with CRLF) is fine... */
	size_t plen = API_HTTP_MAX_LINE - strlen("GET  HTTP/1.1\r\n");
	int n = sprintf(buf, "GET /");
	memset(buf + n, 'a', plen - 1);
	n += (int)plen - 1;
	n += sprintf(buf + n, " HTTP/1.1\r\n\r\n");
	struct parsed *p = parse(buf, (size_t)n);
	assert_int_equal(p->r, n);
	/* ...one more byte is not. */
	n = sprintf(buf, "GET /");
	memset(buf + n, 'a', plen);
	n += (int)plen;
	n += sprintf(buf + n, " HTTP/1.1\r\n\r\n");
	p = parse(buf, (size_t)n);
	assert_int_equal(p->r, -EINVAL);
	/* An unterminated long line is refused before it completes. */
	memset(buf, 'a', API_HTTP_MAX_LINE);
	p = parse(buf, API_HTTP_MAX_LINE);
	assert_int_equal(p->r, -EINVAL);
	/* A header line over the limit. */
	n = sprintf(buf, "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'b', API_HTTP_MAX_LINE);
	n += API_HTTP_MAX_LINE;
	n += sprintf(buf + n, "\r\n\r\n");
	p = parse(buf, (size_t)n);
	assert_int_equal(p->r, -EINVAL);
	/* Too many headers in total. */
	n = sprintf(buf, "GET / HTTP/1.1\r\n");
	while (n < API_HTTP_MAX_HEADER + 100)
		n += sprintf(buf + n, "X-Filler: %0100d\r\n", 0);
	n += sprintf(buf + n, "\r\n");
	p = parse(buf, (size_t)n);
	assert_int_equal(p->r, -EINVAL);
	free(buf);
}

static void test_body_limit(void **state)
{
	char hdr[128];
	snprintf(hdr, sizeof(hdr), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 API_HTTP_MAX_BODY + 1);
	/* Refused right after the headers, before any body byte. */
	struct parsed *p = parse_str(hdr);
	assert_int_equal(p->r, -E2BIG);
	assert_string_equal(p->err, "Request payload with size 51201 is larger than the limit "
			    "of 51200 allowed by server.");
	/* Exactly the limit is accepted. */
	size_t n = (size_t)snprintf(hdr, sizeof(hdr), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
				    API_HTTP_MAX_BODY);
	char *buf = malloc(n + API_HTTP_MAX_BODY);
	memcpy(buf, hdr, n);
	memset(buf + n, ' ', API_HTTP_MAX_BODY);
	p = parse(buf, n + API_HTTP_MAX_BODY - 1);
	assert_int_equal(p->r, 0);
	p = parse(buf, n + API_HTTP_MAX_BODY);
	assert_int_equal(p->r, (int)(n + API_HTTP_MAX_BODY));
	free(buf);
}

static void test_format(void **state)
{
	char out[512];
	int n = api_http_format(204, NULL, 0, out, sizeof(out));
	out[n] = 0;
	assert_string_equal(out, "HTTP/1.1 204 \r\nServer: Firecracker API\r\n"
			    "Connection: keep-alive\r\n\r\n");
	n = api_http_format(400, "{}", 2, out, sizeof(out));
	out[n] = 0;
	assert_string_equal(out, "HTTP/1.1 400 \r\nServer: Firecracker API\r\n"
			    "Connection: keep-alive\r\nContent-Type: application/json\r\n"
			    "Content-Length: 2\r\n\r\n{}");
	n = api_http_format(200, NULL, 0, out, sizeof(out));
	out[n] = 0;
	assert_non_null(strstr(out, "Content-Length: 0\r\n\r\n"));
	n = api_http_format(100, NULL, 0, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(api_http_format(200, out, 400, out, 100), -ENOSPC);
	assert_string_equal(api_http_method_name(API_HTTP_DELETE), "DELETE");
}

/* Random bytes never crash the parser and never claim more than they have. */
static void test_garbage(void **state)
{
	char buf[2048];
	srand(1);
	for (int iter = 0; iter < 2000; iter++) {
		size_t n = (size_t)(rand() % (int)sizeof(buf));
		const char *seed = "PUT /drives/x HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
		memcpy(buf, seed, strlen(seed));
		for (size_t i = (size_t)(rand() % 40); i < n; i++)
			buf[i] = (char)(rand() % 4 == 0 ? "\r\n: "[rand() % 4] : rand());
		struct parsed *p = parse(buf, n);
		assert_true(p->r <= (int)n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_put_body),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_absolute_and_other_uris),
		cmocka_unit_test(test_expect_continue),
		cmocka_unit_test(test_bad_method_version),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
