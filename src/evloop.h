/* SPDX-License-Identifier: Apache-2.0 */
/*
 * evloop.h - the main thread's epoll loop.
 *
 * Everything that is not a vCPU runs here: API socket and connections, queue
 * ioeventfds, tap fds, timerfds, stdin, signalfd. Callbacks must not block.
 * Only the main thread calls these functions, except evloop_stop(), which any
 * thread may call (it writes an eventfd).
 */
#ifndef EMBER_EVLOOP_H
#define EMBER_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h> /* EPOLLIN and friends for callers */

struct evloop;

/* Called with the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLHUP, ...). */
typedef void (*evloop_cb)(void *opaque, uint32_t events);

/* Returns NULL with errno set. */
struct evloop *evloop_create(void);
void evloop_destroy(struct evloop *loop);

/* Watch fd for `events`. One registration per fd. Returns 0 or -errno. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb, void *opaque);
/* Change the event mask of a watched fd. Returns 0 or -errno. */
int evloop_mod(struct evloop *loop, int fd, uint32_t events);
/* Stop watching fd (safe from inside any callback, even for the fd whose
 * callback is running). Returns 0 or -errno. */
int evloop_del(struct evloop *loop, int fd);

/* Run until evloop_stop(); returns the status given to it. */
int evloop_run(struct evloop *loop);
/* Ask the loop to return `status` (thread-safe, first call wins). */
void evloop_stop(struct evloop *loop, int status);
/* evloop_stop() was called: the loop has returned, or returns at its next
 * wakeup (any thread). */
bool evloop_stopping(const struct evloop *loop);

#endif
