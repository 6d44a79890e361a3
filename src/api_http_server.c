// SPDX-License-Identifier: Apache-2.0
/*
 * api_http_server.c - the API's Unix-socket server (api_http.h): accepting,
 * per-connection input and output buffers, the idle timer and eviction of
 * slow or hostile clients, all non-blocking on the main thread's event loop.
 * Requests are framed by api_http_parse and answered with api_http_format
 * (api_http.c); what a request means is the handler's business.
 *
 * About 600 lines: the connection state machine (read, answer, drain after
 * an error, close) and the timers and eviction that bound it act on the same
 * connection list; apart, each half would need the other's internals.
 */
#include "src/api_http.h"
#include "src/evloop.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct api_http_conn {
	struct api_http_server *srv;
	int fd;
	char *in;                     /* NULL between requests (allocated on demand) */
	size_t in_len, in_cap;
	char *out;                    /* NULL when nothing is queued */
	size_t out_len, out_cap;
	uint32_t events;              /* current epoll mask */
	bool continue_sent;           /* 100 sent for the request being read */
	bool draining;                /* after a framing error: answer, then discard */
	bool peer_eof;                /* client shut its write side */
	bool wr_shut;
	uint64_t last_progress_ns;    /* last byte read or written */
	uint64_t last_done_ns;        /* accepted, or last request answered */
	uint64_t accepted_ns;
	unsigned bad;                 /* requests answered with 4xx (framing or API) */
	struct api_http_conn *next;
};

struct api_http_server {
	struct evloop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	api_http_handler handler;
	void *opaque;
	struct api_http_conn *conns;
	unsigned nconns;
	int timer_fd;                 /* idle deadline of the stalest busy connection */
	uint64_t timer_ns;            /* armed for this CLOCK_MONOTONIC time; 0: disarmed */
	uint64_t idle_ns, evict_ns;
};

/* Busy: a request half read, a response not yet sent, or an error answer
 * waiting for the client to close. Only busy connections time out; an idle
 * keep-alive connection may stay open (it can still be evicted). */
static bool api_http_conn_busy(const struct api_http_conn *c)
{
	return c->in_len || c->out_len || c->draining;
}

static void api_http_conn_close(struct api_http_conn *c)
{
	struct api_http_server *srv = c->srv;
	for (struct api_http_conn **pp = &srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->nconns--;
	evloop_del(srv->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Buffers are held only while in use: an idle connection costs its struct. */
static void api_http_conn_trim(struct api_http_conn *c)
{
	if (!c->in_len && c->in) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	if (!c->out_len && c->out) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
}

/* Room for at least one more input byte, up to API_HTTP_IN_CAP. Returns
 * the room, 0 when the buffer is at its cap or out of memory. */
static size_t api_http_conn_in_room(struct api_http_conn *c)
{
	if (c->in_len == c->in_cap && c->in_cap < API_HTTP_IN_CAP) {
		size_t cap = c->in_cap ? c->in_cap * 4 : 4096;
		if (cap > API_HTTP_IN_CAP)
			cap = API_HTTP_IN_CAP;
		char *p = realloc(c->in, cap);
		if (!p)
			return 0;
		c->in = p;
		c->in_cap = cap;
	}
	return c->in_cap - c->in_len;
}

static int api_http_conn_queue(struct api_http_conn *c, const char *data, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		while (cap < c->out_len + len)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

static int api_http_conn_respond(struct api_http_conn *c, int status, bool deprecation,
				 const char *body, size_t body_len)
{
	char stackbuf[512];
	size_t need = 256 + body_len;
	char *buf = need <= sizeof(stackbuf) ? stackbuf : malloc(need);
	if (!buf)
		return -ENOMEM;
	int n = api_http_format(status, deprecation, body, body_len, buf, need);
	int r = n < 0 ? n : api_http_conn_queue(c, buf, (size_t)n);
	if (buf != stackbuf)
		free(buf);
	return r;
}

/* Firecracker's shape for framing errors: not fault_message, and the string
 * holds a raw newline (so it is not strict JSON). */
static void api_http_conn_fail(struct api_http_conn *c, const char *msg)
{
	char body[512];
	int n = snprintf(body, sizeof(body),
			 "{ \"error\": \"%s\nAll previous unanswered requests will be dropped.\" }",
			 msg);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = (int)strlen(body);
	metrics_inc(&metrics.api_server.parse_errors);
	log_ratelimited(LOG_INFO, "API: HTTP framing error: %s", msg);
	api_http_conn_respond(c, 400, false, body, (size_t)n);
	c->draining = true;
	c->bad++;
	c->in_len = 0;
}

/* Handle every complete request in the input buffer, in order, while the
 * output queue has room. */
static void api_http_conn_process(struct api_http_conn *c)
{
	char err[256];

	while (!c->draining && c->in_len && c->out_len < API_HTTP_MAX_OUT) {
		struct api_http_request req;
		bool hdr_done;
		int n = api_http_parse(c->in, c->in_len, &req, &hdr_done, err, sizeof(err));
		if (n < 0) {
			api_http_conn_fail(c, err);
			break;
		}
		if (n == 0) {
			if (hdr_done && req.expect_continue && !c->continue_sent) {
				api_http_conn_respond(c, 100, false, NULL, 0);
				c->continue_sent = true;
			}
			if (c->peer_eof) /* the rest of this request will never come */
				c->in_len = 0;
			break;
		}
		struct api_http_response resp = { 0 };
		c->srv->handler(c->srv->opaque, &req, &resp);
		if (api_http_conn_respond(c, resp.status, resp.deprecation, resp.body, resp.body_len) < 0)
			metrics_inc(&metrics.api_server.sync_response_fails);
		if (resp.status >= 400 && resp.status < 500)
			c->bad++;
		free(resp.body);
		c->last_done_ns = util_now_ns();
		c->continue_sent = false;
		memmove(c->in, c->in + n, c->in_len - (size_t)n);
		c->in_len -= (size_t)n;
	}
	api_http_conn_trim(c);
}

/* Write what we can. Returns -1 if the connection was closed. */
static int api_http_conn_flush(struct api_http_conn *c)
{
	while (c->out_len) {
		ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			api_http_conn_close(c);
			return -1;
		}
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
		if (w > 0)
			c->last_progress_ns = util_now_ns();
	}
	api_http_conn_trim(c);
	if (c->draining && !c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
	if (c->peer_eof && !c->in_len) {
		api_http_conn_close(c);
		return -1;
	}
	return 0;
}

static void api_http_conn_update(struct api_http_conn *c)
{
	uint32_t ev = 0;
	/* After EOF, only wait for room to write (RDHUP/IN would fire forever). */
	if (!c->peer_eof)
		ev |= EPOLLRDHUP;
	if (!c->peer_eof && (c->draining ||
			     (c->out_len < API_HTTP_MAX_OUT && c->in_len < API_HTTP_IN_CAP)))
		ev |= EPOLLIN;
	if (c->out_len)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		evloop_mod(c->srv->loop, c->fd, ev);
		c->events = ev;
	}
}

static void api_http_conn_read(struct api_http_conn *c)
{
	for (;;) {
		char sink[4096];
		size_t room = c->draining ? sizeof(sink) : api_http_conn_in_room(c);
		if (room == 0)
			return;
		char *dst = c->draining ? sink : c->in + c->in_len;
		ssize_t r = recv(c->fd, dst, room, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->peer_eof = true, c->in_len = 0;
			return;
		}
		if (r == 0) {
			c->peer_eof = true;
			return;
		}
		c->last_progress_ns = util_now_ns();
		if (!c->draining) {
			c->in_len += (size_t)r;
			/* Parse as we go, so a pipelining client cannot fill the
			 * buffer with complete requests before we look at them. */
			api_http_conn_process(c);
			if (c->out_len >= API_HTTP_MAX_OUT)
				return;
		}
	}
}

/* Arm the timer for the earliest idle deadline among busy connections, or
 * disarm it. Called after anything that changes a connection. */
static void api_http_timer_update(struct api_http_server *srv)
{
	uint64_t next = 0;

	for (struct api_http_conn *c = srv->conns; c; c = c->next) {
		if (!api_http_conn_busy(c))
			continue;
		uint64_t d = c->last_progress_ns + srv->idle_ns;
		if (!next || d < next)
			next = d;
	}
	if (next == srv->timer_ns)
		return;
	struct itimerspec its = { 0 };
	/* it_value 0 disarms; an absolute time in the past fires at once. */
	if (next)
		its.it_value = util_timespec(next);
	if (timerfd_settime(srv->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		log_warn("API: timerfd_settime: %s", strerror(errno));
		return;
	}
	srv->timer_ns = next;
}

/* Close every busy connection that made no progress for idle_ns: a client
 * that stops in the middle of a request (slowloris), never reads its
 * answers, or never closes after a framing error. */
static void api_http_on_timer(void *opaque, uint32_t events)
{
	struct api_http_server *srv = opaque;
	uint64_t ticks;

	if (read(srv->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("API: timerfd read: %s", strerror(errno));
	srv->timer_ns = 0; /* one-shot: it fired */
	uint64_t now = util_now_ns();
	struct api_http_conn *c = srv->conns, *next;
	for (; c; c = next) {
		next = c->next;
		if (api_http_conn_busy(c) && now - c->last_progress_ns >= srv->idle_ns) {
			log_ratelimited(LOG_INFO, "API: closing a connection idle for %llu ms "
					"in the middle of a request",
					(unsigned long long)((now - c->last_progress_ns) / 1000000));
			api_http_conn_close(c);
		}
	}
	api_http_timer_update(srv);
}

static void api_http_conn_event(void *opaque, uint32_t events)
{
	struct api_http_conn *c = opaque;
	struct api_http_server *srv = c->srv;

	if (events & EPOLLERR) {
		api_http_conn_close(c);
		goto out;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		api_http_conn_read(c);
	for (;;) {
		size_t before = c->in_len;
		api_http_conn_process(c);
		if (api_http_conn_flush(c) < 0)
			goto out;
		/* Output drained: requests held back by a full queue can go now. */
		if (c->draining || c->in_len == before || c->out_len >= API_HTTP_MAX_OUT)
			break;
	}
	api_http_conn_update(c);
out:
	api_http_timer_update(srv);
}

/* How readily a connection gives up its slot to a new one: the higher, the
 * sooner; 0: not at all. A connection that got a framing error only waits
 * for its client to close; then come the ones with the most 4xx answers
 * (misbehaving clients make room first); a well-behaved one only once it
 * has gone evict_ns without completing a request. */
enum { API_HTTP_KEEP, API_HTTP_STALE, API_HTTP_BAD, API_HTTP_DRAINING };

static int api_http_evict_class(const struct api_http_conn *c, uint64_t now, uint64_t evict_ns)
{
	if (c->draining)
		return API_HTTP_DRAINING;
	if (c->bad)
		return API_HTTP_BAD;
	if (now - c->last_done_ns >= evict_ns)
		return API_HTTP_STALE;
	return API_HTTP_KEEP;
}

/* Whether a should go before b (both evictable, same class or not). */
static bool api_http_evict_before(const struct api_http_conn *a, int ca,
				  const struct api_http_conn *b, int cb)
{
	if (ca != cb)
		return ca > cb;
	if (ca == API_HTTP_BAD && a->bad != b->bad)
		return a->bad > b->bad;
	if (ca == API_HTTP_STALE)
		return a->last_done_ns < b->last_done_ns;
	return a->accepted_ns < b->accepted_ns; /* held its slot longest */
}

/* With all API_HTTP_MAX_CONNS slots taken, the connection a new one
 * replaces; NULL if every connection is well-behaved and answered a
 * request (or was accepted) less than evict_ns ago: a burst of good
 * clients does not push each other out. */
static struct api_http_conn *api_http_victim(struct api_http_server *srv, uint64_t now)
{
	struct api_http_conn *v = NULL;
	int vc = API_HTTP_KEEP;

	for (struct api_http_conn *c = srv->conns; c; c = c->next) {
		int cc = api_http_evict_class(c, now, srv->evict_ns);
		if (cc != API_HTTP_KEEP && (!v || api_http_evict_before(c, cc, v, vc))) {
			v = c;
			vc = cc;
		}
	}
	return v;
}

static void api_http_accept(void *opaque, uint32_t events)
{
	struct api_http_server *srv = opaque;

	/* A bounded batch per wakeup: a flood of connects cannot keep the loop
	 * from serving the connections it has (the listening socket stays
	 * readable, so the rest come next time round). */
	for (int i = 0; i < API_HTTP_ACCEPT_BATCH; i++) {
		int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("API: accept: %s", strerror(errno));
			api_http_timer_update(srv); /* evictions may have changed it */
			return;
		}
		uint64_t now = util_now_ns();
		struct api_http_conn *victim = NULL;
		if (srv->nconns >= API_HTTP_MAX_CONNS &&
		    (victim = api_http_victim(srv, now)) != NULL) {
			log_ratelimited(LOG_INFO, "API: %u connections open; closing one (%s, "
					"%u bad requests, open for %llu ms)", srv->nconns,
					victim->draining ? "after a framing error" :
					victim->bad ? "bad requests" : "no request lately",
					victim->bad, (unsigned long long)
					((now - victim->accepted_ns) / 1000000));
			api_http_conn_close(victim);
		}
		if (srv->nconns >= API_HTTP_MAX_CONNS) {
			static const char busy[] = "HTTP/1.1 503\r\nServer: " API_HTTP_SERVER
				"\r\nConnection: close\r\nContent-Length: 40\r\n\r\n"
				"{ \"error\": \"Too many open connections\" }";
			ssize_t w = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w;
			metrics_inc(&metrics.api_server.connections_refused);
			close(fd);
			continue;
		}
		struct api_http_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = srv;
		c->fd = fd;
		c->last_progress_ns = c->last_done_ns = c->accepted_ns = now;
		c->events = EPOLLIN | EPOLLRDHUP;
		if (evloop_add(srv->loop, fd, c->events, api_http_conn_event, c) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->next = srv->conns;
		srv->conns = c;
		srv->nconns++;
	}
	api_http_timer_update(srv);
}

/* Remove a socket left by a dead process; refuse one that answers. */
static int api_http_clear_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "Failed to open the API socket at: %s. It exists and is "
			 "not a socket.", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "Failed to open the API socket at: %s. Check that it is "
			 "not already used.", path);
		return -EADDRINUSE;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "Failed to open the API socket at: %s: %s", path, strerror(e));
		return -e;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		e = errno;
		snprintf(err, errlen, "Failed to remove the stale API socket %s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

struct api_http_server *api_http_server_create(struct evloop *loop, const char *path,
					       api_http_handler handler, void *opaque,
					       char *err, size_t errlen)
{
	struct api_http_server *srv;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	size_t plen = strlen(path);
	if (plen == 0 || plen >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "API socket path empty or too long (max %zu bytes): %s",
			 sizeof(sa.sun_path) - 1, path);
		return NULL;
	}
	memcpy(sa.sun_path, path, plen + 1);
	err[0] = '\0';
	r = api_http_clear_path(path, err, errlen);
	if (r < 0) {
		if (!err[0])
			snprintf(err, errlen, "API socket %s: %s", path, strerror(-r));
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->handler = handler;
	srv->opaque = opaque;
	srv->idle_ns = API_HTTP_IDLE_MS * 1000000ull;
	srv->evict_ns = API_HTTP_EVICT_MS * 1000000ull;
	memcpy(srv->path, path, plen + 1);
	srv->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (srv->timer_fd < 0) {
		snprintf(err, errlen, "API socket: timerfd_create: %s", strerror(errno));
		goto err_free;
	}
	if (evloop_add(loop, srv->timer_fd, EPOLLIN, api_http_on_timer, srv) < 0) {
		snprintf(err, errlen, "API socket: cannot watch the idle timer");
		goto err_timer;
	}
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0) {
		snprintf(err, errlen, "API socket: socket(AF_UNIX): %s", strerror(errno));
		goto err_timer_del;
	}
	/* The socket inode takes its mode from the umask at bind time. */
	mode_t old = umask(0177);
	r = bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (r < 0) {
		snprintf(err, errlen, "Failed to open the API socket at: %s. Check that it is not "
			 "already used. (%s)", path, strerror(e));
		goto err_close;
	}
	if (listen(srv->fd, API_HTTP_BACKLOG) < 0) {
		snprintf(err, errlen, "API socket %s: listen: %s", path, strerror(errno));
		goto err_unlink;
	}
	if (evloop_add(loop, srv->fd, EPOLLIN, api_http_accept, srv) < 0) {
		snprintf(err, errlen, "API socket %s: cannot watch it", path);
		goto err_unlink;
	}
	return srv;
err_unlink:
	unlink(path);
err_close:
	close(srv->fd);
err_timer_del:
	evloop_del(loop, srv->timer_fd);
err_timer:
	close(srv->timer_fd);
err_free:
	free(srv);
	return NULL;
}

void api_http_server_destroy(struct api_http_server *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		api_http_conn_close(srv->conns);
	evloop_del(srv->loop, srv->fd);
	close(srv->fd);
	evloop_del(srv->loop, srv->timer_fd);
	close(srv->timer_fd);
	unlink(srv->path);
	free(srv);
}

void api_http_server_set_timeouts(struct api_http_server *srv, unsigned idle_ms,
				  unsigned evict_ms)
{
	srv->idle_ns = idle_ms * 1000000ull;
	srv->evict_ns = evict_ms * 1000000ull;
	api_http_timer_update(srv);
}
