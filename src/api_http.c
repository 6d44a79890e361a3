// SPDX-License-Identifier: Apache-2.0
/*
 * api_http.c - HTTP/1.1 request framing: the parser and the response
 * formatter (the Unix-socket server that uses them is api_http_server.c).
 *
 * The parser is a pure function over the bytes received so far: each call
 * re-reads the request from its start, so a request may arrive in any number
 * of pieces. Lines are bounded (API_HTTP_MAX_LINE), so the rescans are cheap.
 */
#include "src/api_http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static size_t api_http_body_max = API_HTTP_MAX_BODY;

int api_http_set_max_body(size_t max)
{
	if (max > API_HTTP_MAX_BODY_LIMIT)
		return -ERANGE;
	api_http_body_max = max;
	return 0;
}

size_t api_http_max_body(void)
{
	return api_http_body_max;
}

const char *api_http_method_name(enum api_http_method m)
{
	switch (m) {
	case API_HTTP_GET: return "GET";
	case API_HTTP_PUT: return "PUT";
	case API_HTTP_PATCH: return "PATCH";
	case API_HTTP_DELETE: return "DELETE";
	}
	return "?";
}

/* Find the CRLF ending the line at buf[0..len). Returns the line length
 * without CRLF, -EAGAIN if the line is not complete yet, -EINVAL if it is
 * too long or ends with a bare LF. */
static int api_http_line(const char *buf, size_t len)
{
	size_t max = len < API_HTTP_MAX_LINE ? len : API_HTTP_MAX_LINE;
	const char *nl = memchr(buf, '\n', max);
	if (!nl)
		return len >= API_HTTP_MAX_LINE ? -EINVAL : -EAGAIN;
	size_t n = (size_t)(nl - buf);
	if (n == 0 || buf[n - 1] != '\r')
		return -EINVAL;
	return (int)(n - 1);
}

static bool api_http_token_eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static bool api_http_token_caseeq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static int api_http_request_line(const char *l, size_t n, struct api_http_request *req,
				 char *err, size_t errlen)
{
	const char *sp1 = memchr(l, ' ', n);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l)) : NULL;
	if (!sp1 || !sp2 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - l))) {
		snprintf(err, errlen, "Invalid request.");
		return -EINVAL;
	}
	size_t mlen = (size_t)(sp1 - l);
	if (api_http_token_eq(l, mlen, "GET"))
		req->method = API_HTTP_GET;
	else if (api_http_token_eq(l, mlen, "PUT"))
		req->method = API_HTTP_PUT;
	else if (api_http_token_eq(l, mlen, "PATCH"))
		req->method = API_HTTP_PATCH;
	else if (api_http_token_eq(l, mlen, "DELETE"))
		req->method = API_HTTP_DELETE;
	else {
		snprintf(err, errlen, "Unsupported HTTP method.");
		return -EINVAL;
	}
	const char *ver = sp2 + 1;
	size_t vlen = n - (size_t)(ver - l);
	if (!api_http_token_eq(ver, vlen, "HTTP/1.1") && !api_http_token_eq(ver, vlen, "HTTP/1.0")) {
		snprintf(err, errlen, "Unsupported HTTP version.");
		return -EINVAL;
	}
	const char *uri = sp1 + 1;
	size_t ulen = (size_t)(sp2 - uri);
	if (ulen == 0) {
		snprintf(err, errlen, "Invalid URI.");
		return -EINVAL;
	}
	/* RFC 9112 section 3.2: no control characters in a request target. */
	for (size_t i = 0; i < ulen; i++) {
		if ((unsigned char)uri[i] < 0x20 || uri[i] == 0x7f) {
			snprintf(err, errlen, "Invalid URI.");
			return -EINVAL;
		}
	}
	/* Origin form "/p", or absolute form "http://host[:port]/p"; any other
	 * form routes as "" (Firecracker answers it like "/"). */
	if (ulen > 7 && strncasecmp(uri, "http://", 7) == 0) {
		const char *slash = memchr(uri + 7, '/', ulen - 7);
		if (slash) {
			ulen -= (size_t)(slash - uri);
			uri = slash;
		} else {
			ulen = 0;
		}
	} else if (uri[0] != '/') {
		ulen = 0;
	}
	memcpy(req->path, uri, ulen);
	req->path[ulen] = '\0';
	return 0;
}

/* Strip optional whitespace around a field value. */
static void api_http_trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* RFC 9110 tchar. */
static bool api_http_tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static size_t api_http_token_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && api_http_tchar(s[i]))
		i++;
	return i;
}

/* Check one header line "name: value" (RFC 9112 section 5): the name is a
 * non-empty token right before the colon (whitespace there, or at the start
 * of the line as in an obsolete line fold, is a 400), and the value holds no
 * control character but HTAB. Sets the name and trimmed value. */
static int api_http_header_line(const char *l, size_t n, const char **name, size_t *nlen,
				const char **val, size_t *vlen, char *err, size_t errlen)
{
	const char *colon = memchr(l, ':', n);
	if (!colon) {
		snprintf(err, errlen, "Invalid header. Reason: no colon.");
		return -EINVAL;
	}
	*name = l;
	*nlen = (size_t)(colon - l);
	size_t tok = api_http_token_len(l, *nlen);
	if (tok != *nlen) {
		size_t ws = tok;
		while (ws < *nlen && (l[ws] == ' ' || l[ws] == '\t'))
			ws++;
		if (tok && ws == *nlen)
			snprintf(err, errlen, "Invalid header. Reason: whitespace before the colon. "
				 "Key: %.*s", (int)tok, l);
		else if (tok == 0 && *nlen && (l[0] == ' ' || l[0] == '\t'))
			snprintf(err, errlen, "Invalid header. Reason: line starts with whitespace "
				 "(obsolete line folding).");
		else
			snprintf(err, errlen, "Invalid header. Reason: invalid field name.");
		return -EINVAL;
	}
	if (*nlen == 0) {
		snprintf(err, errlen, "Invalid header. Reason: empty field name.");
		return -EINVAL;
	}
	*val = colon + 1;
	*vlen = n - *nlen - 1;
	for (size_t i = 0; i < *vlen; i++) {
		unsigned char ch = (unsigned char)(*val)[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			snprintf(err, errlen, "Invalid header. Reason: control character in the "
				 "value. Key: %.*s", (int)*nlen, *name);
			return -EINVAL;
		}
	}
	api_http_trim(val, vlen);
	return 0;
}

int api_http_parse(const char *buf, size_t len, struct api_http_request *req,
		   bool *hdr_done, char *err, size_t errlen)
{
	size_t off = 0;
	int64_t clen = -1;
	int n;

	*hdr_done = false;
	req->method = API_HTTP_GET;
	req->expect_continue = false;
	req->path[0] = '\0';
	req->body = NULL;
	req->body_len = 0;

	n = api_http_line(buf, len);
	if (n == -EAGAIN)
		return 0;
	if (n < 0) {
		snprintf(err, errlen, "Invalid request.");
		return -EINVAL;
	}
	if (api_http_request_line(buf, (size_t)n, req, err, errlen) < 0)
		return -EINVAL;
	off = (size_t)n + 2;

	/* The header block, request line to empty line, is at most
	 * API_HTTP_MAX_HEADER bytes: refused as soon as it is longer, so a
	 * request at both limits always fits API_HTTP_IN_CAP (api_http.h). */
	for (;;) {
		n = api_http_line(buf + off, len - off);
		if (n == -EAGAIN && len < API_HTTP_MAX_HEADER)
			return 0;
		if (n == -EAGAIN || (n >= 0 && off + (size_t)n + 2 > API_HTTP_MAX_HEADER)) {
			snprintf(err, errlen, "Header section too large.");
			return -EINVAL;
		}
		if (n < 0) {
			snprintf(err, errlen, "Invalid header.");
			return -EINVAL;
		}
		const char *l = buf + off;
		off += (size_t)n + 2;
		if (n == 0)
			break;
		const char *name, *val;
		size_t nlen, vlen;
		if (api_http_header_line(l, (size_t)n, &name, &nlen, &val, &vlen, err, errlen) < 0)
			return -EINVAL;
		if (api_http_token_caseeq(name, nlen, "Content-Length")) {
			uint64_t v = 0;
			bool ok = vlen > 0 && vlen <= 10;
			for (size_t i = 0; ok && i < vlen; i++) {
				if (val[i] < '0' || val[i] > '9')
					ok = false;
				else
					v = v * 10 + (uint64_t)(val[i] - '0');
			}
			if (!ok || v > UINT32_MAX || (clen >= 0 && (uint64_t)clen != v)) {
				snprintf(err, errlen, "Invalid header. Reason: Invalid value. "
					 "Key: Content-Length; Value: %.*s",
					 (int)(vlen > 64 ? 64 : vlen), val);
				return -EINVAL;
			}
			clen = (int64_t)v;
		} else if (api_http_token_caseeq(name, nlen, "Transfer-Encoding")) {
			if (api_http_token_caseeq(val, vlen, "chunked")) {
				snprintf(err, errlen, "Chunked transfer encoding is not supported.");
				return -EINVAL;
			}
			if (!api_http_token_caseeq(val, vlen, "identity")) {
				snprintf(err, errlen, "Invalid header. Reason: Transfer-Encoding.");
				return -EINVAL;
			}
		} else if (api_http_token_caseeq(name, nlen, "Expect")) {
			if (api_http_token_caseeq(val, vlen, "100-continue"))
				req->expect_continue = true;
		}
		/* Other headers (Content-Type, Accept, Host, ...) are ignored. */
	}
	*hdr_done = true;
	if (clen > 0 && (uint64_t)clen > api_http_body_max) {
		snprintf(err, errlen, "Request payload with size %lld is larger than the limit "
			 "of %zu allowed by server.", (long long)clen, api_http_body_max);
		return -E2BIG;
	}
	if (clen > 0) {
		if (len - off < (size_t)clen)
			return 0;
		req->body = buf + off;
		req->body_len = (size_t)clen;
		off += (size_t)clen;
	}
	return (int)off;
}

int api_http_format(int status, bool deprecation, const char *body, size_t body_len, char *out,
		    size_t outlen)
{
	const char *depr = deprecation ? "Deprecation: true\r\n" : "";
	int n;

	if (status == 204 || status == 100)
		n = snprintf(out, outlen, "HTTP/1.1 %d \r\nServer: " API_HTTP_SERVER
			     "\r\nConnection: keep-alive\r\n%s\r\n", status, depr);
	else
		n = snprintf(out, outlen, "HTTP/1.1 %d \r\nServer: " API_HTTP_SERVER
			     "\r\nConnection: keep-alive\r\n%sContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n", status, depr, body_len);
	if (n < 0 || (size_t)n >= outlen)
		return -ENOSPC;
	if (status == 204 || status == 100)
		return n;
	if (body_len > outlen - (size_t)n)
		return -ENOSPC;
	if (body_len)
		memcpy(out + n, body, body_len);
	return n + (int)body_len;
}
