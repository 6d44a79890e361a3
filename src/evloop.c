// SPDX-License-Identifier: Apache-2.0
#include "src/evloop.h"
#include "src/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct evloop_entry {
	int fd;
	evloop_cb cb;
	void *opaque;
	bool dead;
	struct evloop_entry *next;
};

struct evloop {
	int epfd;
	int stopfd;
	int status;
	int stopping;
	struct evloop_entry *entries;
	struct evloop_entry *graveyard; /* freed after the current batch */
};

struct evloop *evloop_create(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		goto err_free;
	loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->stopfd < 0)
		goto err_ep;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0)
		goto err_stop;
	return loop;
err_stop:
	close(loop->stopfd);
err_ep:
	close(loop->epfd);
err_free:
	free(loop);
	return NULL;
}

static void evloop_reap(struct evloop *loop)
{
	while (loop->graveyard) {
		struct evloop_entry *e = loop->graveyard;
		loop->graveyard = e->next;
		free(e);
	}
}

void evloop_destroy(struct evloop *loop)
{
	if (!loop)
		return;
	while (loop->entries) {
		struct evloop_entry *e = loop->entries;
		loop->entries = e->next;
		free(e);
	}
	evloop_reap(loop);
	close(loop->stopfd);
	close(loop->epfd);
	free(loop);
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_cb cb, void *opaque)
{
	struct evloop_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->cb = cb;
	e->opaque = opaque;
	struct epoll_event ev = { .events = events, .data.ptr = e };
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;
		free(e);
		return err;
	}
	e->next = loop->entries;
	loop->entries = e;
	return 0;
}

static struct evloop_entry *evloop_find(struct evloop *loop, int fd, struct evloop_entry ***link)
{
	for (struct evloop_entry **pp = &loop->entries; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct evloop_entry *e = evloop_find(loop, fd, NULL);
	if (!e)
		return -ENOENT;
	struct epoll_event ev = { .events = events, .data.ptr = e };
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int evloop_del(struct evloop *loop, int fd)
{
	struct evloop_entry **link;
	struct evloop_entry *e = evloop_find(loop, fd, &link);
	if (!e)
		return -ENOENT;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	*link = e->next;
	/* The entry may still be in this batch of events: mark it, free later. */
	e->dead = true;
	e->next = loop->graveyard;
	loop->graveyard = e;
	return 0;
}

int evloop_run(struct evloop *loop)
{
	struct epoll_event evs[32];
	for (;;) {
		int n = epoll_wait(loop->epfd, evs, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct evloop_entry *e = evs[i].data.ptr;
			if (!e) {
				uint64_t v;
				ssize_t r = read(loop->stopfd, &v, sizeof(v));
				(void)r;
				continue;
			}
			if (!e->dead)
				e->cb(e->opaque, evs[i].events);
		}
		evloop_reap(loop);
		if (__atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE) == 2)
			return loop->status;
	}
}

void evloop_stop(struct evloop *loop, int status)
{
	int expected = 0;
	/* 0 -> 1 claims the stop (first caller wins), 1 -> 2 publishes status. */
	if (!__atomic_compare_exchange_n(&loop->stopping, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	loop->status = status;
	__atomic_store_n(&loop->stopping, 2, __ATOMIC_RELEASE);
	uint64_t one = 1;
	ssize_t r = write(loop->stopfd, &one, sizeof(one));
	(void)r;
}

bool evloop_stopping(const struct evloop *loop)
{
	return __atomic_load_n(&loop->stopping, __ATOMIC_ACQUIRE) != 0;
}
