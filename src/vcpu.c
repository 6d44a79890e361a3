// SPDX-License-Identifier: Apache-2.0
#include "src/vcpu.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* VCPU_KICK_SIGNAL (vcpu.h) kicks a vCPU out of KVM_RUN. Its handler does
 * nothing: the interrupted ioctl returns EINTR, or immediate_exit makes the
 * next one. */
static void vcpu_kick_handler(int sig) { (void)sig; }

int vcpu_signal_setup(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	if (VCPU_KICK_SIGNAL < SIGRTMIN || VCPU_KICK_SIGNAL > SIGRTMAX)
		return -EINVAL;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int vcpu_shared_init(struct vcpu_shared *sh, struct bus *pio, struct bus *mmio,
		     void (*on_exit)(void *, int, const char *), void *opaque)
{
	memset(sh, 0, sizeof(*sh));
	sh->pio = pio;
	sh->mmio = mmio;
	sh->on_exit = on_exit;
	sh->opaque = opaque;
	pthread_mutex_init(&sh->lock, NULL);
	pthread_cond_init(&sh->cond, NULL);
	return 0;
}

void vcpu_shared_destroy(struct vcpu_shared *sh)
{
	pthread_cond_destroy(&sh->cond);
	pthread_mutex_destroy(&sh->lock);
}

int vcpu_create(struct vcpu *v, int kvm_fd, int vm_fd, unsigned index,
		struct vcpu_shared *sh, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->index = index;
	v->shared = sh;
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", index, strerror(e));
		return -e;
	}
	int sz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		int e = sz < 0 ? errno : EINVAL;
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(e));
		close(v->fd);
		v->fd = -1;
		return -e;
	}
	v->run_size = (size_t)sz;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		snprintf(err, errlen, "mmap kvm_run of vCPU %u: %s", index, strerror(e));
		v->run = NULL;
		close(v->fd);
		v->fd = -1;
		return -e;
	}
	return 0;
}

void vcpu_dump_regs(const struct vcpu *v, enum log_level lvl)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		log_error("vcpu%u: cannot read registers: %s", v->index, strerror(errno));
		return;
	}
	log_write(lvl, __FILE__, __LINE__, "vcpu%u: rip=0x%llx rsp=0x%llx rbp=0x%llx rflags=0x%llx rax=0x%llx rbx=0x%llx "
		  "rcx=0x%llx rdx=0x%llx rsi=0x%llx rdi=0x%llx", v->index, r.rip, r.rsp, r.rbp,
		  r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi);
	log_write(lvl, __FILE__, __LINE__, "vcpu%u: cr0=0x%llx cr2=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx cs=0x%x "
		  "cs.base=0x%llx", v->index, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
		  s.cs.selector, s.cs.base);
}

/* Returns false when the loop must end (stop requested). Called with no lock. */
static bool vcpu_wait_if_paused(struct vcpu *v)
{
	struct vcpu_shared *sh = v->shared;
	pthread_mutex_lock(&sh->lock);
	if (sh->paused && !sh->stopping) {
		sh->parked++;
		pthread_cond_broadcast(&sh->cond);
		while (sh->paused && !sh->stopping)
			pthread_cond_wait(&sh->cond, &sh->lock);
		sh->parked--;
	}
	bool go = !sh->stopping;
	pthread_mutex_unlock(&sh->lock);
	return go;
}

static void vcpu_end(struct vcpu *v, int status, const char *why)
{
	v->shared->on_exit(v->shared->opaque, status, why);
}

/* Handle one exit. Returns false when the vCPU must stop running the guest. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char why[128];
	if (v->shared->pre_exit)
		v->shared->pre_exit(v->shared->opaque);
	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		/* Data lives inside kvm_run at data_offset; string I/O repeats count times. */
		if (run->io.data_offset >= v->run_size ||
		    (size_t)run->io.size * run->io.count > v->run_size - run->io.data_offset)
			return true;
		uint8_t *p = (uint8_t *)run + run->io.data_offset;
		bool wr = run->io.direction == KVM_EXIT_IO_OUT;
		metrics_inc(wr ? &metrics.vcpu.exit_io_out : &metrics.vcpu.exit_io_in);
		for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size) {
			if (!bus_access(v->shared->pio, run->io.port, p, run->io.size, wr) && !wr)
				memset(p, 0xff, run->io.size); /* nothing there: floating bus */
		}
		return true;
	}
	case KVM_EXIT_MMIO: {
		uint32_t len = run->mmio.len;
		metrics_inc(run->mmio.is_write ? &metrics.vcpu.exit_mmio_write :
			    &metrics.vcpu.exit_mmio_read);
		if (len > sizeof(run->mmio.data))
			len = sizeof(run->mmio.data);
		if (!bus_access(v->shared->mmio, run->mmio.phys_addr, run->mmio.data, len,
				run->mmio.is_write)) {
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, len);
			log_ratelimited(LOG_DEBUG, "vcpu%u: %s of %u bytes at unmapped 0x%llx",
					v->index, run->mmio.is_write ? "write" : "read", len,
					run->mmio.phys_addr);
		}
		return true;
	}
	case KVM_EXIT_HLT:
		metrics_inc(&metrics.vcpu.exit_hlt);
		vcpu_end(v, 0, "the guest halted its CPU");
		return false;
	case KVM_EXIT_SHUTDOWN:
		metrics_inc(&metrics.vcpu.exit_shutdown);
		snprintf(why, sizeof(why), "vcpu%u: guest shutdown (triple fault or reset)", v->index);
		vcpu_end(v, 0, why);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(why, sizeof(why), "vcpu%u: guest system event %u (%s)", v->index,
			 run->system_event.type,
			 run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "reset" :
			 run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ? "shutdown" : "other");
		vcpu_end(v, 0, why);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		metrics_inc(&metrics.vcpu.failures);
		log_error("vcpu%u: KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx", v->index,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_dump_regs(v, LOG_ERROR);
		vcpu_end(v, 1, "vCPU entry failed");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		log_error("vcpu%u: KVM_EXIT_INTERNAL_ERROR, suberror %u", v->index,
			  run->internal.suberror);
		vcpu_dump_regs(v, LOG_ERROR);
		vcpu_end(v, 1, "KVM internal error");
		return false;
	default:
		log_error("vcpu%u: unexpected exit reason %u", v->index, run->exit_reason);
		vcpu_dump_regs(v, LOG_ERROR);
		snprintf(why, sizeof(why), "unexpected vCPU exit %u", run->exit_reason);
		vcpu_end(v, 1, why);
		return false;
	}
}

#define VCPU_STACK_SIZE (1u << 20)

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->index);
	log_set_thread_name(name);
	pthread_setname_np(pthread_self(), name);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (v->shared->thread_init && v->shared->thread_init(v->index) < 0) {
		vcpu_end(v, 1, "vCPU thread set-up failed");
		goto out;
	}
	/*
	 * Pause and stop are looked at only here and when KVM_RUN returns
	 * EINTR, never right after an exit was handled: KVM completes a port
	 * or MMIO read (copies the data into the guest's register) and the
	 * instruction only when it is entered again. A kick sets
	 * immediate_exit, so that entry completes the pending exit and returns
	 * EINTR without running the guest: a parked vCPU's registers are whole
	 * (what a snapshot saves).
	 */
	if (!vcpu_wait_if_paused(v))
		goto out;
	for (;;) {
		int r = ioctl(v->fd, KVM_RUN, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* Kicked: clear the request and look at pause/stop. */
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELEASE);
				if (!vcpu_wait_if_paused(v))
					break;
				continue;
			}
			char why[96];
			snprintf(why, sizeof(why), "vcpu%u: KVM_RUN: %s", v->index, strerror(errno));
			vcpu_dump_regs(v, LOG_ERROR);
			vcpu_end(v, 1, why);
			break;
		}
		if (!vcpu_handle_exit(v))
			break;
	}
out:
	pthread_mutex_lock(&v->shared->lock);
	v->shared->running--;
	pthread_cond_broadcast(&v->shared->cond);
	pthread_mutex_unlock(&v->shared->lock);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	/* The kick signal stays blocked except inside vCPU threads. */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_mutex_lock(&v->shared->lock);
	v->shared->running++;
	pthread_mutex_unlock(&v->shared->lock);
	/* 1 MiB of stack (the exit handlers need a few KiB; sanitizer builds
	 * more). Below 2 MiB on purpose: glibc's default 8 MiB stack can land 2
	 * MiB aligned and then gets a whole transparent huge page on a host in
	 * THP "always" mode, 2 MiB of RSS for a few pages of stack. */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, VCPU_STACK_SIZE);
	int r = pthread_create(&v->thread, &attr, vcpu_thread, v);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_mutex_lock(&v->shared->lock);
		v->shared->running--;
		pthread_mutex_unlock(&v->shared->lock);
		return -r;
	}
	v->started = true;
	return 0;
}

static void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_pause_all(struct vcpu *vcpus, unsigned n)
{
	if (!n)
		return;
	struct vcpu_shared *sh = vcpus[0].shared;
	pthread_mutex_lock(&sh->lock);
	sh->paused = true;
	pthread_mutex_unlock(&sh->lock);
	for (;;) {
		for (unsigned i = 0; i < n; i++)
			vcpu_kick(&vcpus[i]);
		pthread_mutex_lock(&sh->lock);
		/* Wait briefly; re-kick covers a signal that landed just before KVM_RUN. */
		struct timespec ts = util_timespec(util_clock_ns(CLOCK_REALTIME) + 20000000ULL);
		if (sh->parked < sh->running)
			pthread_cond_timedwait(&sh->cond, &sh->lock, &ts);
		bool done = sh->parked >= sh->running;
		pthread_mutex_unlock(&sh->lock);
		if (done)
			return;
	}
}

void vcpu_resume_all(struct vcpu *vcpus, unsigned n)
{
	if (!n)
		return;
	struct vcpu_shared *sh = vcpus[0].shared;
	pthread_mutex_lock(&sh->lock);
	sh->paused = false;
	pthread_cond_broadcast(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
}

void vcpu_stop_request(struct vcpu_shared *sh)
{
	pthread_mutex_lock(&sh->lock);
	sh->stopping = true;
	pthread_cond_broadcast(&sh->cond);
	pthread_mutex_unlock(&sh->lock);
}

void vcpu_stop_all(struct vcpu *vcpus, unsigned n)
{
	/* vCPUs are created in order: without vCPU 0 none was made (a build
	 * that failed before them), none runs, and there is no shared state. */
	if (!n || !vcpus[0].shared)
		return;
	vcpu_stop_request(vcpus[0].shared);
	for (unsigned i = 0; i < n; i++) {
		if (!vcpus[i].started)
			continue;
		/* Kick until the thread is gone: it may be between checks. */
		for (;;) {
			vcpu_kick(&vcpus[i]);
			struct timespec ts = util_timespec(util_clock_ns(CLOCK_REALTIME) +
							   10000000ULL);
			if (pthread_timedjoin_np(vcpus[i].thread, NULL, &ts) == 0)
				break;
		}
		vcpus[i].started = false;
	}
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
