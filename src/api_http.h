/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_http.h - HTTP/1.1 framing for the API Unix socket (no JSON here).
 *
 * Behaves like Firecracker's micro_http where clients can tell: methods GET,
 * PUT, PATCH, DELETE; HTTP/1.0 and 1.1; Content-Length bodies only, at most
 * api_http_max_body() bytes (API_HTTP_MAX_BODY unless the command line's
 * --http-api-max-payload-size changed it); request line and each header line at most
 * API_HTTP_MAX_LINE bytes; persistent connections, pipelining, requests in
 * any number of pieces; `Expect: 100-continue`. Responses are
 * "HTTP/1.1 <code> \r\n" with Server and Connection: keep-alive headers, then
 * "Deprecation: true" when the handler says so, and Content-Type/Content-Length
 * except for 100 and 204.
 *
 * Framing errors get a 400 with Firecracker's {"error": "..."} body; after
 * one the connection stops reading requests, sends the response, shuts down
 * its write side and discards input until the client closes (so a client
 * still sending a refused body reads the answer instead of EPIPE).
 *
 * Everything runs on the main thread's event loop, non-blocking: a slow
 * client only delays itself. A client that stops reading its responses is
 * no longer read from once API_HTTP_MAX_OUT bytes are queued for it.
 *
 * Slow or hostile clients cannot lock others out (ember's addition to
 * Firecracker's behaviour, which serves 10 connections and refuses the
 * 11th): a connection in the middle of a request, with a response not yet
 * sent, or draining after a framing error is closed once it made no
 * progress (no byte read or written) for API_HTTP_IDLE_MS. An idle
 * keep-alive connection between requests is not timed out.
 *
 * At most API_HTTP_MAX_CONNS connections; each costs its struct and its fd,
 * and holds an input buffer (up to API_HTTP_MAX_HEADER + api_http_max_body())
 * and an output buffer only while a request or response is in flight. When
 * all slots are taken, a new connection closes, in this order: one that
 * got a framing error (it only waits for its client to close), the one with
 * the most requests answered 4xx, or the well-behaved one that has gone
 * longest without a completed request if that was at least
 * API_HTTP_EVICT_MS ago (accepting counts as completing). Only when every
 * connection is well-behaved and answered a request more recently does the
 * new one get Firecracker's 503 "Too many open connections" and is closed.
 * At most API_HTTP_ACCEPT_BATCH connections are accepted per loop wakeup, so
 * a connect flood cannot starve the connections being served.
 */
#ifndef EMBER_API_HTTP_H
#define EMBER_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct evloop;

#define API_HTTP_MAX_BODY    51200  /* default: Firecracker's HTTP_MAX_PAYLOAD_SIZE */
#define API_HTTP_MAX_BODY_LIMIT (1u << 30) /* the most api_http_set_max_body() takes */
#define API_HTTP_MAX_LINE    1024   /* request line, each header line (incl. CRLF) */
#define API_HTTP_MAX_HEADER  16384  /* the whole header block */
/* One connection's input buffer at most: a whole request at both limits. */
#define API_HTTP_IN_CAP      (API_HTTP_MAX_HEADER + api_http_max_body())
#define API_HTTP_SERVER      "Firecracker API" /* the Server header: clients may look for it */
#define API_HTTP_MAX_CONNS   64
#define API_HTTP_ACCEPT_BATCH 16
#define API_HTTP_BACKLOG     128    /* listen(2) backlog */
#define API_HTTP_MAX_OUT     65536
#define API_HTTP_IDLE_MS     10000  /* busy connection without progress: closed */
#define API_HTTP_EVICT_MS    1000   /* min. time without a request before eviction */

enum api_http_method { API_HTTP_GET, API_HTTP_PUT, API_HTTP_PATCH, API_HTTP_DELETE };

struct api_http_request {
	enum api_http_method method;
	char path[API_HTTP_MAX_LINE]; /* origin-form path; "" for other URI forms */
	const char *body;             /* body_len bytes, not NUL-terminated; NULL if none */
	size_t body_len;
	bool expect_continue;         /* "Expect: 100-continue" */
};

/* The body limit of every request parsed from now on, for the whole process
 * (ember serves one API socket; --http-api-max-payload-size, as
 * Firecracker's). 0 refuses every body. Returns 0, or -ERANGE above
 * API_HTTP_MAX_BODY_LIMIT (the limit is then unchanged). */
int api_http_set_max_body(size_t max);
size_t api_http_max_body(void);

/* Parse one request at the start of buf[0..len).
 * Returns the number of bytes it takes (> 0) with *req filled (req->body
 * points into buf); 0 if more bytes are needed (then *hdr_done tells whether
 * the header block is complete, for 100-continue); -E2BIG when
 * Content-Length exceeds api_http_max_body() (detected right after the
 * headers); -EINVAL for any other framing error. On error err holds the
 * message for the client. Depends only on its arguments and the body limit:
 * safe to call again with more bytes. */
int api_http_parse(const char *buf, size_t len, struct api_http_request *req,
		   bool *hdr_done, char *err, size_t errlen);

/* "GET", "PUT", "PATCH", "DELETE". */
const char *api_http_method_name(enum api_http_method m);

/* Write a response (status line, headers, body) into out. Returns its
 * length, or -ENOSPC if it does not fit. body may be NULL when body_len is 0.
 * 204 and 100 never carry a body or Content-Length. deprecation adds the
 * header "Deprecation: true" after Connection (Firecracker's place). */
int api_http_format(int status, bool deprecation, const char *body, size_t body_len, char *out,
		    size_t outlen);

/* What the handler answers: status and an optional malloc'd body (JSON)
 * that the server frees; deprecation: the request used a deprecated field. */
struct api_http_response {
	int status;
	char *body;
	size_t body_len;
	bool deprecation;
};

/* Called once per complete request, in order, on the main thread. It must
 * not block. resp is zeroed before the call. */
typedef void (*api_http_handler)(void *opaque, const struct api_http_request *req,
				 struct api_http_response *resp);

struct api_http_server;

/* Bind and listen on path (AF_UNIX stream, mode 0600) and serve it on loop.
 * An existing socket nobody answers on is removed; one in use, or a path
 * that is not a socket, is an error. Returns NULL with err set. */
struct api_http_server *api_http_server_create(struct evloop *loop, const char *path,
					       api_http_handler handler, void *opaque,
					       char *err, size_t errlen);
/* Close every connection and the listening socket; unlink the path. */
void api_http_server_destroy(struct api_http_server *srv);
/* Change API_HTTP_IDLE_MS / API_HTTP_EVICT_MS for this server (unit tests
 * use short ones). Call on the loop's thread. */
void api_http_server_set_timeouts(struct api_http_server *srv, unsigned idle_ms,
				  unsigned evict_ms);

#endif
