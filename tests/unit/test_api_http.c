// SPDX-License-Identifier: Apache-2.0
/* api_http: request framing (pieces, pipelining, limits, bad framing) and
 * response formatting; the server's idle timeout and eviction over a real
 * Unix socket (the loop runs in a second thread). tests/api/ drives the
 * whole ember. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "src/api_http.h"
#include "src/evloop.h"
#include "src/log.h"

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

/* RFC 9112 section 5.1: no whitespace between a field name and its colon;
 * a name is a token (so a line starting with whitespace, an obsolete line
 * fold, is refused too); field values hold no control characters but HTAB. */
static void test_header_name_whitespace(void **state)
{
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nHost : localhost\r\n\r\n",
		"PUT / HTTP/1.1\r\nContent-Length\t: 2\r\n\r\n{}",
		"PUT / HTTP/1.1\r\nContent-Length : 2\r\n\r\n{}",
		"PUT / HTTP/1.1\r\nX: y\r\n Content-Length: 2\r\n\r\n{}",
		"PUT / HTTP/1.1\r\n\tContent-Length: 2\r\n\r\n{}",
		"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET / HTTP/1.1\r\nX(y): z\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\033[2Jb\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct parsed *p = parse_str(bad[i]);
		if (p->r != -EINVAL)
			fail_msg("accepted (%d): %s", p->r, bad[i]);
		assert_non_null(strstr(p->err, "Invalid header."));
	}
	struct parsed *p = parse_str("GET / HTTP/1.1\r\nHost : localhost\r\n\r\n");
	assert_string_equal(p->err, "Invalid header. Reason: whitespace before the colon. "
			    "Key: Host");
	/* Whitespace around the value is fine, and so is obs-text in it. */
	p = parse_str("PUT / HTTP/1.1\r\nContent-Length: \t2 \r\nX-A!#$%&'*+.^_`|~9:\tv\xe9 \t\r\n"
		      "\r\n{}");
	assert_true(p->r > 0);
	assert_int_equal(p->req.body_len, 2);
}

/* A GET whose header block (request line to the empty line, CRLFs
 * included) is exactly `len` bytes: `start` (request line and headers),
 * filler headers, then one padding header. */
static int header_block(char *buf, int len, const char *start)
{
	int n = sprintf(buf, "%s", start);
	while (len - n > 1002)
		n += sprintf(buf + n, "X-Filler: %0988d\r\n", 0);
	n += sprintf(buf + n, "X-Pad: %0*d\r\n\r\n", len - n - 11, 0);
	assert_int_equal(n, len);
	return n;
}

/* The header block is at most API_HTTP_MAX_HEADER bytes, refused as soon
 * as it is longer: so a request at both limits fits a connection's input
 * buffer (API_HTTP_MAX_HEADER + API_HTTP_MAX_BODY). */
static void test_header_block_limit(void **state)
{
	char *buf = malloc(API_HTTP_MAX_HEADER * 2);
	int n = header_block(buf, API_HTTP_MAX_HEADER, "GET / HTTP/1.1\r\n");
	struct parsed *p = parse(buf, (size_t)n);
	assert_int_equal(p->r, API_HTTP_MAX_HEADER);
	/* One byte more is too large, complete or not. */
	n = header_block(buf, API_HTTP_MAX_HEADER + 1, "GET / HTTP/1.1\r\n");
	p = parse(buf, (size_t)n);
	assert_int_equal(p->r, -EINVAL);
	assert_string_equal(p->err, "Header section too large.");
	p = parse(buf, API_HTTP_MAX_HEADER); /* the final LF not there yet */
	assert_int_equal(p->r, -EINVAL);
	p = parse(buf, API_HTTP_MAX_HEADER - 1); /* below the limit: need more */
	assert_int_equal(p->r, 0);
	free(buf);
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

/* --http-api-max-payload-size: the limit moves, Firecracker's message
 * names it, and it cannot go past API_HTTP_MAX_BODY_LIMIT. */
static void test_body_limit_configurable(void **state)
{
	static const char body[] = "{\"vcpu_count\": 1}";	/* 17 bytes */
	char buf[256];
	struct parsed *p;
	size_t n;

	assert_int_equal(api_http_max_body(), API_HTTP_MAX_BODY);
	assert_int_equal(api_http_set_max_body(17), 0);
	n = (size_t)snprintf(buf, sizeof(buf), "PUT /x HTTP/1.1\r\nContent-Length: 17\r\n\r\n%s",
			     body);
	p = parse(buf, n);
	assert_int_equal(p->r, (int)n);
	assert_int_equal(p->req.body_len, 17);
	p = parse_str("PUT /x HTTP/1.1\r\nContent-Length: 18\r\n\r\n");
	assert_int_equal(p->r, -E2BIG);
	assert_string_equal(p->err, "Request payload with size 18 is larger than the limit "
			    "of 17 allowed by server.");
	/* Larger than the default. */
	assert_int_equal(api_http_set_max_body(100000), 0);
	p = parse_str("PUT /x HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	assert_int_equal(p->r, 0); /* the body is still to come */
	p = parse_str("PUT /x HTTP/1.1\r\nContent-Length: 100001\r\n\r\n");
	assert_int_equal(p->r, -E2BIG);
	/* 0: no body at all, but Content-Length: 0 is no body. */
	assert_int_equal(api_http_set_max_body(0), 0);
	p = parse_str("PUT /x HTTP/1.1\r\nContent-Length: 1\r\n\r\n");
	assert_int_equal(p->r, -E2BIG);
	p = parse_str("PUT /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	assert_true(p->r > 0);
	/* Past ember's own limit: refused, the limit stays. */
	assert_int_equal(api_http_set_max_body(API_HTTP_MAX_BODY_LIMIT), 0);
	assert_int_equal(api_http_set_max_body((size_t)API_HTTP_MAX_BODY_LIMIT + 1), -ERANGE);
	assert_int_equal(api_http_max_body(), API_HTTP_MAX_BODY_LIMIT);
	assert_int_equal(api_http_set_max_body(API_HTTP_MAX_BODY), 0);
}

static void test_format(void **state)
{
	static const struct {
		int status;
		bool deprecation;
		const char *body, *want;
	} cases[] = {
		{ 204, false, NULL, "HTTP/1.1 204 \r\nServer: Firecracker API\r\n"
				    "Connection: keep-alive\r\n\r\n" },
		{ 400, false, "{}", "HTTP/1.1 400 \r\nServer: Firecracker API\r\n"
				    "Connection: keep-alive\r\nContent-Type: application/json\r\n"
				    "Content-Length: 2\r\n\r\n{}" },
		{ 200, false, NULL, "HTTP/1.1 200 \r\nServer: Firecracker API\r\n"
				    "Connection: keep-alive\r\nContent-Type: application/json\r\n"
				    "Content-Length: 0\r\n\r\n" },
		{ 100, false, NULL, "HTTP/1.1 100 \r\nServer: Firecracker API\r\n"
				    "Connection: keep-alive\r\n\r\n" },
		/* A deprecated field: the header after Connection, body or not. */
		{ 204, true, NULL, "HTTP/1.1 204 \r\nServer: Firecracker API\r\n"
				   "Connection: keep-alive\r\nDeprecation: true\r\n\r\n" },
		{ 400, true, "{}", "HTTP/1.1 400 \r\nServer: Firecracker API\r\n"
				   "Connection: keep-alive\r\nDeprecation: true\r\n"
				   "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" },
	};
	char out[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *b = cases[i].body;
		int n = api_http_format(cases[i].status, cases[i].deprecation, b, b ? strlen(b) : 0,
					out, sizeof(out));
		assert_true(n > 0);
		out[n] = 0;
		assert_string_equal(out, cases[i].want);
	}
	assert_int_equal(api_http_format(200, false, out, 400, out, 100), -ENOSPC);
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

/* ---- the server: idle timeout and eviction ---- */

static char sock_dir[64], sock_path[100];
static struct evloop *srv_loop;
static struct api_http_server *srv;
static pthread_t srv_thread;

/* 204 for everything but GET /bad (400). */
static void handler_204(void *opaque, const struct api_http_request *req,
			struct api_http_response *resp)
{
	resp->status = strcmp(req->path, "/bad") ? 204 : 400;
}

static void *srv_run(void *arg)
{
	evloop_run(srv_loop);
	return NULL;
}

static void srv_start(unsigned idle_ms, unsigned evict_ms)
{
	char err[256];
	log_set_level(LOG_OFF);
	strcpy(sock_dir, "/tmp/ember-test-http-XXXXXX");
	assert_non_null(mkdtemp(sock_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", sock_dir);
	srv_loop = evloop_create();
	assert_non_null(srv_loop);
	srv = api_http_server_create(srv_loop, sock_path, handler_204, NULL, err, sizeof(err));
	if (!srv)
		fail_msg("api_http_server_create: %s", err);
	api_http_server_set_timeouts(srv, idle_ms, evict_ms);
	assert_int_equal(pthread_create(&srv_thread, NULL, srv_run, NULL), 0);
}

static void srv_stop(void)
{
	evloop_stop(srv_loop, 0);
	pthread_join(srv_thread, NULL);
	api_http_server_destroy(srv);
	evloop_destroy(srv_loop);
	rmdir(sock_dir);
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int cl_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = { .tv_sec = 5 }; /* a send the server never reads fails */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

static void cl_send_n(int fd, const char *s, size_t n)
{
	assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void cl_send(int fd, const char *s)
{
	cl_send_n(fd, s, strlen(s));
}

/* Read one response head within ms. Returns its status, 0 on EOF, -1 on
 * timeout. */
static int cl_status(int fd, int ms)
{
	char buf[512];
	size_t len = 0;
	long end = now_ms() + ms;
	while (len < sizeof(buf) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		ssize_t r = recv(fd, buf + len, 1, 0); /* byte by byte: stop at the head */
		if (r <= 0)
			return 0;
		len++;
		buf[len] = 0;
		if (strstr(buf, "\r\n\r\n")) {
			int st = -1;
			sscanf(buf, "HTTP/1.1 %d", &st);
			return st;
		}
	}
	return -1;
}

/* Wait up to ms for the server to close fd (data before the EOF is
 * skipped). Returns true if it did. */
static bool cl_closed(int fd, int ms)
{
	long end = now_ms() + ms;
	for (;;) {
		char buf[4096];
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
		long left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

/* Whether the server closed fd (not just shut its write side, as after a
 * framing error): a send then fails. Waits up to ms. */
static bool cl_gone(int fd, int ms)
{
	long end = now_ms() + ms;
	for (;;) {
		if (send(fd, " ", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    (errno == EPIPE || errno == ECONNRESET))
			return true;
		if (now_ms() >= end)
			return false;
		usleep(10 * 1000);
	}
}

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

static void test_server_idle_timeout(void **state)
{
	srv_start(400, 100);
	int partial = cl_connect(), idle = cl_connect(), used = cl_connect();
	cl_send(used, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(used, 2000), 204);
	long t0 = now_ms();
	cl_send(partial, "PUT /machine-config HTTP/1.1\r\nContent-Le");
	/* A request that stops half-way is closed after the idle time ... */
	assert_true(cl_closed(partial, 5000));
	long dt = now_ms() - t0;
	if (dt < 300)
		fail_msg("closed after %ld ms, idle timeout is 400", dt);
	/* ... progress restarts the clock ... */
	int slow = cl_connect();
	t0 = now_ms();
	const char *req = "GET / HTTP/1.1\r\n\r\n";
	for (const char *p = req; *p; p++) {
		char b[2] = { *p, 0 };
		cl_send(slow, b);
		usleep(100 * 1000);
	}
	assert_true(now_ms() - t0 > 1000);
	assert_int_equal(cl_status(slow, 2000), 204);
	/* ... and connections between requests stay open. */
	assert_false(cl_closed(idle, 100));
	assert_false(cl_closed(used, 1));
	cl_send(idle, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(idle, 2000), 204);
	cl_send(used, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(used, 2000), 204);
	/* A client that never closes after a framing error: dropped too. */
	int fds0 = count_fds();
	int bad = cl_connect();
	cl_send(bad, "BREW / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(bad, 2000), 400);
	long deadline = now_ms() + 5000;
	while (count_fds() != fds0 + 1 && now_ms() < deadline)
		usleep(20 * 1000);
	assert_int_equal(count_fds(), fds0 + 1); /* only our end is left */
	close(bad);
	close(partial);
	close(idle);
	close(used);
	close(slow);
	srv_stop();
}

static void test_server_evict(void **state)
{
	int c[API_HTTP_MAX_CONNS];
	srv_start(60000, 1000);
	for (int i = 0; i < API_HTTP_MAX_CONNS; i++) {
		c[i] = cl_connect();
		cl_send(c[i], "GET / HT");
		usleep(1000); /* distinct accept times, oldest first */
	}
	/* Every slot was taken less than evict_ms ago: refused, as Firecracker. */
	int x = cl_connect();
	assert_int_equal(cl_status(x, 2000), 503);
	assert_true(cl_closed(x, 2000));
	close(x);
	usleep(1100 * 1000);
	/* c[1] completes a request: now c[0] and then c[2] are the stalest. */
	cl_send(c[1], "TP/1.1\r\n\r\n");
	assert_int_equal(cl_status(c[1], 2000), 204);
	x = cl_connect();
	cl_send(x, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(x, 2000), 204);
	assert_true(cl_closed(c[0], 2000));
	int y = cl_connect();
	cl_send(y, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(y, 2000), 204);
	assert_true(cl_closed(c[2], 2000));
	for (int i = 1; i < API_HTTP_MAX_CONNS; i++)
		if (i != 2)
			assert_false(cl_closed(c[i], i == 1 ? 50 : 1));
	/* The survivors still work. */
	cl_send(c[5], "TP/1.1\r\n\r\n");
	assert_int_equal(cl_status(c[5], 2000), 204);
	/* x and y answered requests just now; the others are the stalest. */
	int z = cl_connect();
	cl_send(z, "GET / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(z, 2000), 204);
	assert_true(cl_closed(c[3], 2000));
	for (int i = 0; i < API_HTTP_MAX_CONNS; i++)
		close(c[i]);
	close(x);
	close(y);
	close(z);
	srv_stop();
}

/* With every slot taken, a new connection replaces first one that got a
 * framing error, then the one with the most 4xx answers; well-behaved
 * connections that were recently busy are kept (the newcomer gets 503). */
static void test_server_evict_bad(void **state)
{
	int c[API_HTTP_MAX_CONNS];
	int n = API_HTTP_MAX_CONNS - 3;
	srv_start(60000, 60000);
	for (int i = 0; i < n; i++) {
		c[i] = cl_connect();
		cl_send(c[i], "GET / HTTP/1.1\r\n\r\n");
		assert_int_equal(cl_status(c[i], 2000), 204);
	}
	int bad2 = cl_connect();
	cl_send(bad2, "GET /bad HTTP/1.1\r\n\r\nGET /bad HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(bad2, 2000), 400);
	assert_int_equal(cl_status(bad2, 2000), 400);
	int draining = cl_connect();
	cl_send(draining, "BREW / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(draining, 2000), 400);
	int bad1 = cl_connect();
	cl_send(bad1, "GET /bad HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	assert_int_equal(cl_status(bad1, 2000), 400);
	assert_int_equal(cl_status(bad1, 2000), 204);
	/* Full: each newcomer is served, and the worst connection goes. */
	int victims[] = { draining, bad2, bad1 }, fresh[3];
	for (int i = 0; i < 3; i++) {
		fresh[i] = cl_connect();
		cl_send(fresh[i], "GET / HTTP/1.1\r\n\r\n");
		assert_int_equal(cl_status(fresh[i], 2000), 204);
		assert_true(cl_gone(victims[i], 2000));
		for (int j = i + 1; j < 3; j++)
			assert_false(cl_gone(victims[j], 0));
	}
	/* Only well-behaved, recently busy connections are left: 503. */
	int x = cl_connect();
	assert_int_equal(cl_status(x, 2000), 503);
	close(x);
	for (int i = 0; i < n; i++) {
		assert_false(cl_gone(c[i], 0));
		close(c[i]);
	}
	for (int i = 0; i < 3; i++) {
		close(victims[i]);
		close(fresh[i]);
	}
	srv_stop();
}

/* A request at the header-block limit with a body at the body limit fits
 * the input buffer and is answered; a longer header block gets its 400 at
 * once instead of stalling until the idle timeout. */
static void test_server_max_request(void **state)
{
	char start[128];
	char *buf = malloc(API_HTTP_MAX_HEADER * 2 + API_HTTP_MAX_BODY);
	srv_start(60000, 60000);
	snprintf(start, sizeof(start), "PUT /x HTTP/1.1\r\nContent-Length: %d\r\n",
		 API_HTTP_MAX_BODY);
	int n = header_block(buf, API_HTTP_MAX_HEADER, start);
	memset(buf + n, ' ', API_HTTP_MAX_BODY);
	int c = cl_connect();
	cl_send_n(c, buf, (size_t)n + API_HTTP_MAX_BODY);
	assert_int_equal(cl_status(c, 3000), 204);
	cl_send(c, "GET / HTTP/1.1\r\n\r\n"); /* the connection goes on */
	assert_int_equal(cl_status(c, 3000), 204);
	close(c);
	/* Its last header line ends at the limit: only the empty line is over. */
	n = header_block(buf, API_HTTP_MAX_HEADER + 2, start);
	memset(buf + n, ' ', API_HTTP_MAX_BODY);
	c = cl_connect();
	cl_send_n(c, buf, (size_t)n + API_HTTP_MAX_BODY);
	assert_int_equal(cl_status(c, 3000), 400);
	close(c);
	srv_stop();
	free(buf);
}

/* What a client sends reaches the log escaped: one line, printable ASCII. */
static void test_server_log_escapes(void **state)
{
	char path[] = "/tmp/ember-test-http-log-XXXXXX", line[1024];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	srv_start(60000, 60000);
	assert_int_equal(log_open(path), 0);
	log_set_level(LOG_INFO);
	int c = cl_connect();
	cl_send(c, "PUT / HTTP/1.1\r\nContent-Length: 1\xff\x9b[2J\\\r\n\r\n");
	assert_int_equal(cl_status(c, 3000), 400);
	log_set_level(LOG_OFF);
	assert_int_equal(log_open("/dev/null"), 0);
	ssize_t r = read(fd, line, sizeof(line) - 1);
	assert_true(r > 0);
	line[r] = 0;
	assert_non_null(strstr(line, "Value: 1\\xff\\x9b[2J\\\\\n"));
	for (ssize_t i = 0; i < r - 1; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			fail_msg("byte 0x%02x at %zd of the log line: %s", (unsigned char)line[i], i, line);
	assert_int_equal(line[r - 1], '\n');
	close(c);
	close(fd);
	unlink(path);
	srv_stop();
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
		cmocka_unit_test(test_header_name_whitespace),
		cmocka_unit_test(test_header_block_limit),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_body_limit_configurable),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_server_idle_timeout),
		cmocka_unit_test(test_server_evict),
		cmocka_unit_test(test_server_evict_bad),
		cmocka_unit_test(test_server_max_request),
		cmocka_unit_test(test_server_log_escapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
