// SPDX-License-Identifier: Apache-2.0
/*
 * apiclient - request latency and throughput of a Firecracker-style API on
 * one kept-alive HTTP/1.1 connection over a Unix socket.
 *
 *   apiclient [-n REQUESTS] [-w WARMUP] SOCK
 *
 * For each request kind (GET /, GET /machine-config, PUT /machine-config),
 * sends WARMUP requests, then REQUESTS more one after the other on the same
 * connection, timing each from the first byte written to the last byte of
 * the response read. Prints one JSON line per kind:
 *   {"request":"GET /","n":..,"errors":..,"seconds":..,"rps":..,
 *    "mean_us":..,"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..}
 * errors counts responses with an unexpected status. Exit status 0, or 1
 * when the connection broke.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char rbuf[1 << 17];
static size_t rlen;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* Read one response; returns its status code, or -1 on a broken connection. */
static int read_response(int fd)
{
	for (;;) {
		char *end = memmem(rbuf, rlen, "\r\n\r\n", 4);
		if (end) {
			size_t hlen = end + 4 - rbuf;
			int status = 0;
			if (sscanf(rbuf, "HTTP/1.%*d %d", &status) != 1)
				return -1;
			size_t clen = 0;
			for (char *l = strstr(rbuf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n")) {
				if (!strncasecmp(l + 2, "Content-Length:", 15))
					clen = strtoul(l + 17, NULL, 10);
			}
			while (rlen < hlen + clen) {
				ssize_t r = read(fd, rbuf + rlen, sizeof(rbuf) - rlen);
				if (r <= 0)
					return -1;
				rlen += r;
			}
			size_t used = hlen + clen;
			memmove(rbuf, rbuf + used, rlen - used);
			rlen -= used;
			return status;
		}
		if (rlen == sizeof(rbuf))
			return -1;
		ssize_t r = read(fd, rbuf + rlen, sizeof(rbuf) - rlen - 1);
		if (r <= 0)
			return -1;
		rlen += r;
		rbuf[rlen] = 0;
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

struct kind {
	const char *name, *method, *path, *body;
	int want;
};

int main(int argc, char **argv)
{
	int n = 5000, warm = 200, opt;
	while ((opt = getopt(argc, argv, "n:w:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: apiclient [-n REQUESTS] [-w WARMUP] SOCK\n");
			return 2;
		}
	}
	if (optind >= argc || n < 1)
		return 2;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[optind]) >= sizeof(sa.sun_path))
		return 2;
	strcpy(sa.sun_path, argv[optind]);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(argv[optind]);
		return 1;
	}
	static const struct kind kinds[] = {
		{ "GET /", "GET", "/", NULL, 200 },
		{ "GET /machine-config", "GET", "/machine-config", NULL, 200 },
		{ "PUT /machine-config", "PUT", "/machine-config",
		  "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": false}", 204 },
	};
	int64_t *lat = calloc(n, sizeof(int64_t));
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct kind *q = &kinds[k];
		char req[1024];
		int len;
		if (q->body)
			len = snprintf(req, sizeof(req),
				       "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
				       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				       q->method, q->path, strlen(q->body), q->body);
		else
			len = snprintf(req, sizeof(req),
				       "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
				       q->method, q->path);
		int errors = 0;
		int64_t t_start = 0;
		for (int i = -warm; i < n; i++) {
			if (i == 0)
				t_start = mono_ns();
			int64_t t0 = mono_ns();
			if (write_all(fd, req, len) < 0) {
				perror("write");
				return 1;
			}
			int st = read_response(fd);
			int64_t t1 = mono_ns();
			if (st < 0) {
				fprintf(stderr, "apiclient: connection broken during %s\n", q->name);
				return 1;
			}
			if (i >= 0) {
				lat[i] = t1 - t0;
				if (st != q->want)
					errors++;
			}
		}
		double secs = (mono_ns() - t_start) / 1e9;
		double sum = 0;
		for (int i = 0; i < n; i++)
			sum += lat[i];
		qsort(lat, n, sizeof(int64_t), cmp_i64);
		printf("{\"request\":\"%s\",\"n\":%d,\"errors\":%d,\"seconds\":%.4f,\"rps\":%.0f,"
		       "\"mean_us\":%.2f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f}\n",
		       q->name, n, errors, secs, n / secs, sum / n / 1000.0, lat[n / 2] / 1000.0,
		       lat[(int)(n * 0.9)] / 1000.0, lat[(int)(n * 0.99)] / 1000.0, lat[n - 1] / 1000.0);
		fflush(stdout);
	}
	close(fd);
	return 0;
}
