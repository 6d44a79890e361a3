// SPDX-License-Identifier: Apache-2.0
/*
 * kvm.c - the KVM machine (see kvm.h): open and check /dev/kvm, create the
 * VM with its TSS, identity-map page, in-kernel irqchip and PIT, the thread
 * that does both before the configuration is known, guest RAM as memory
 * slots, and irqfds. Layer 3 (KVM glue): it issues the system and VM
 * ioctls of a build; vCPU ioctls are in vcpu.c and x86_cpu.c.
 */
#include "src/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "src/layout.h"
#include "src/seccomp.h"

#define KVM_API_VERSION_EXPECTED 12

static int kvm_open(struct kvm_machine *m, char *err, size_t errlen)
{
	m->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "/dev/kvm: %s — KVM is not available on this host", strerror(e));
		return -ENODEV;
	}
	int v = ioctl(m->kvm_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION_EXPECTED) {
		snprintf(err, errlen, "/dev/kvm: KVM API version %d, ember needs %d — KVM is not "
			 "available on this host", v, KVM_API_VERSION_EXPECTED);
		return -ENODEV;
	}
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_HLT, "KVM_CAP_HLT" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			snprintf(err, errlen, "/dev/kvm: missing capability %s — KVM is not "
				 "available on this host", caps[i].name);
			return -ENODEV;
		}
	}
	return 0;
}

static int kvm_create_machine(struct kvm_machine *m, char *err, size_t errlen)
{
	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0) {
		int e = errno;
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(e));
		return -e;
	}
	fcntl(m->vm_fd, F_SETFD, FD_CLOEXEC);
	if (ioctl(m->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_KVM_TSS_ADDR) < 0)
		goto fail_tss;
	uint64_t idmap = LAYOUT_KVM_IDENTITY_MAP;
	if (ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		goto fail_idmap;
	if (ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		goto fail_irqchip;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		goto fail_pit;
	return 0;
	int e;
fail_tss:
	e = errno;
	snprintf(err, errlen, "KVM_SET_TSS_ADDR 0x%llx: %s", LAYOUT_KVM_TSS_ADDR, strerror(e));
	return -e;
fail_idmap:
	e = errno;
	snprintf(err, errlen, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(e));
	return -e;
fail_irqchip:
	e = errno;
	snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(e));
	return -e;
fail_pit:
	e = errno;
	snprintf(err, errlen, "KVM_CREATE_PIT2: %s", strerror(e));
	return -e;
}

/*
 * The prepare thread's record. The thread writes only this (the machine it
 * made and its status) and touches nothing else; kvm_machine_create() reads
 * it after joining the thread. The thread installs the main thread's seccomp
 * filter first (it allows exactly these calls).
 */
static struct {
	pthread_t thread;
	bool started;
	struct kvm_machine m;
	int ret;
} kvm_pre = { .m = { .kvm_fd = -1, .vm_fd = -1 } };

static void *kvm_prepare_thread(void *arg)
{
	(void)arg;
	struct kvm_machine m = { .kvm_fd = -1, .vm_fd = -1 };
	char err[256]; /* not reported: kvm_machine_create starts over on failure */
	int r = seccomp_install_thread(SECCOMP_THREAD_MAIN);
	if (r == 0) {
		r = kvm_open(&m, err, sizeof(err));
		if (r == 0)
			r = kvm_create_machine(&m, err, sizeof(err));
	}
	kvm_pre.ret = r;
	kvm_pre.m = m;
	return NULL;
}

void kvm_prepare(void)
{
	if (kvm_pre.started)
		return;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN + 16384);
	kvm_pre.started = pthread_create(&kvm_pre.thread, &attr, kvm_prepare_thread, NULL) == 0;
	pthread_attr_destroy(&attr);
}

/* Adopt the machine kvm_prepare made. False when there is none (not
 * prepared, or the preparation failed). */
static bool kvm_take_prepared(struct kvm_machine *m)
{
	if (!kvm_pre.started)
		return false;
	pthread_join(kvm_pre.thread, NULL);
	kvm_pre.started = false;
	*m = kvm_pre.m;
	kvm_pre.m.kvm_fd = kvm_pre.m.vm_fd = -1;
	if (kvm_pre.ret == 0)
		return true;
	/* A failed preparation: start over, so a problem of the thread alone
	 * (its seccomp) changes nothing. */
	kvm_machine_close(m);
	return false;
}

int kvm_machine_create(struct kvm_machine *m, bool *prepared, char *err, size_t errlen)
{
	*prepared = kvm_take_prepared(m);
	if (*prepared)
		return 0;
	int r = kvm_open(m, err, errlen);
	if (r == 0)
		r = kvm_create_machine(m, err, errlen);
	return r;
}

int kvm_set_slots(const struct kvm_machine *m, const struct guest_mem *mem, char *err,
		  size_t errlen)
{
	for (unsigned i = 0; i < mem->nregions; i++) {
		struct kvm_userspace_memory_region region = {
			.slot = i,
			.guest_phys_addr = mem->regions[i].gpa,
			.memory_size = mem->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)mem->regions[i].host,
			/* Dirty pages tracked (track_dirty_pages): KVM logs the
			 * guest's writes for Diff snapshots. */
			.flags = mem->dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		};
		if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
			int e = errno;
			snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION slot %u (0x%llx+0x%llx): %s",
				 i, region.guest_phys_addr, region.memory_size, strerror(e));
			return -e;
		}
	}
	return 0;
}

int kvm_irqfd_new(const struct kvm_machine *m, unsigned gsi, int *out, char *err, size_t errlen)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "eventfd for IRQ %u: %s", gsi, strerror(e));
		return -e;
	}
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };
	if (ioctl(m->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int e = errno;
		snprintf(err, errlen, "KVM_IRQFD for IRQ %u: %s", gsi, strerror(e));
		close(fd);
		return -e;
	}
	*out = fd;
	return 0;
}

void kvm_machine_close(struct kvm_machine *m)
{
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	if (m->kvm_fd >= 0)
		close(m->kvm_fd);
	m->kvm_fd = m->vm_fd = -1;
}

int kvm_dirty_log(const struct kvm_machine *m, const struct guest_mem *mem, uint64_t *pages,
		  char *err, size_t errlen)
{
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];
		uint64_t n = r->size / GUEST_MEM_PAGE;
		uint64_t *bm = calloc((n + 63) / 64 + 1, sizeof(uint64_t));
		if (!bm) {
			snprintf(err, errlen, "dirty log of slot %u: out of memory", i);
			return -ENOMEM;
		}
		struct kvm_dirty_log log = { .slot = i, .dirty_bitmap = bm };
		if (ioctl(m->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int e = errno;
			free(bm);
			snprintf(err, errlen, "KVM_GET_DIRTY_LOG slot %u: %s", i, strerror(e));
			return -e;
		}
		/* Slot page j is page (region offset / 4 KiB + j) of the mapping. */
		uint64_t first = (uint64_t)(r->host - mem->base) / GUEST_MEM_PAGE;
		for (uint64_t j = 0; j < n; j++)
			if ((bm[j / 64] >> (j % 64)) & 1)
				pages[(first + j) / 64] |= 1ULL << ((first + j) % 64);
		free(bm);
	}
	return 0;
}
