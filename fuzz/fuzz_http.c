// SPDX-License-Identifier: Apache-2.0
/* api_http_parse(): the whole input as a stream of pipelined requests.
 * Checks beyond "no crash": a request never takes more bytes than it has,
 * the parse of every prefix of a request agrees with the full parse (needs
 * more bytes, or the same error), and bodies stay inside the buffer and
 * within API_HTTP_MAX_BODY. api_http_format() gets a status and body too. */
#include "src/api_http.h"
#include "fuzz/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void check_prefixes(const char *buf, size_t taken, int full_rc)
{
	struct api_http_request req;
	char err[256];
	bool hdr_done;
	/* Sample a few prefixes: all of them is quadratic. */
	size_t step = taken / 16 + 1;
	for (size_t k = 0; k < taken; k += step) {
		int r = api_http_parse(buf, k, &req, &hdr_done, err, sizeof(err));
		if (r > 0 || (full_rc > 0 && r < 0 && r != -E2BIG))
			abort();   /* a prefix of a good request is complete or bad */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_http_request req;
	char err[256];
	bool hdr_done;
	const char *buf = (const char *)data;
	size_t off = 0;

	for (int n = 0; n < 64 && off < size; n++) {
		err[0] = 0;
		int r = api_http_parse(buf + off, size - off, &req, &hdr_done, err, sizeof(err));
		if (r == 0)
			break;
		if (r < 0) {
			if (r != -EINVAL && r != -E2BIG)
				abort();
			if (!err[0])
				abort();   /* every framing error has a message */
			break;
		}
		if ((size_t)r > size - off)
			abort();
		if (req.body) {
			if (req.body < buf + off || req.body + req.body_len > buf + off + (size_t)r ||
			    req.body_len > API_HTTP_MAX_BODY)
				abort();
		}
		if (strnlen(req.path, sizeof(req.path)) >= sizeof(req.path))
			abort();
		if (!api_http_method_name(req.method))
			abort();
		check_prefixes(buf + off, (size_t)r, r);
		off += (size_t)r;
	}

	/* Formatting: a status from the input, the input as the body. */
	if (size >= 2) {
		static char out[API_HTTP_MAX_BODY + 1024];
		int status = 100 + (data[0] | data[1] << 8) % 500;
		size_t blen = size - 2 > API_HTTP_MAX_BODY ? API_HTTP_MAX_BODY : size - 2;
		bool depr = data[0] & 1;
		int len = api_http_format(status, depr, blen ? buf + 2 : NULL, blen, out,
					  sizeof(out));
		if (len < 0 || (size_t)len > sizeof(out))
			abort();
		/* And into a buffer too small for it. */
		len = api_http_format(status, depr, blen ? buf + 2 : NULL, blen, out, blen / 2 + 8);
		if (len >= 0 && (size_t)len > blen / 2 + 8)
			abort();
	}
	return 0;
}
