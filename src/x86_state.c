// SPDX-License-Identifier: Apache-2.0
/*
 * x86_state.c - an x86 VM's and its vCPUs' KVM state for snapshots (see
 * x86_state.h). Layer 3 (KVM glue). x86_cpu.c sets a vCPU up for a boot;
 * this file reads and writes the state of one that ran.
 */
#include "src/x86_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "src/cpu_template.h"
#include "src/util.h"
#include "src/x86_cpu.h"

/* Saved besides what KVM_GET_MSR_INDEX_LIST lists: PAT and the MTRRs
 * (ember's boot turns them on). One the vCPU refuses to read is left out. */
static const uint32_t x86_extra_msrs[] = {
	0x277,                                   /* PAT */
	0x2ff,                                   /* MTRR default type */
	0x250, 0x258, 0x259,                     /* fixed-range MTRRs */
	0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,   /* variable MTRRs */
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
};

/* A TSC within this many parts per million of the saved one needs no
 * scaling (the host's own estimate wobbles). */
#define X86_TSC_PPM 250


void x86_vcpu_state_free(struct x86_vcpu_state *st)
{
	free(st->xsave);
	free(st->msrs);
	free(st->cpuid);
	st->xsave = NULL;
	st->msrs = NULL;
	st->cpuid = NULL;
	st->xsave_len = st->nmsrs = st->ncpuid = 0;
}

/* The MSRs to save: KVM's list plus the extras, without repeats. *out is
 * malloc'd. */
static int x86_msr_list(int kvm_fd, uint32_t **out, uint32_t *n, char *err, size_t errlen)
{
	struct kvm_msr_list probe = { .nmsrs = 0 };
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return util_err(err, errlen, -errno, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	uint32_t cap = probe.nmsrs + (uint32_t)(sizeof(x86_extra_msrs) / sizeof(x86_extra_msrs[0]));
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + cap * sizeof(uint32_t));
	if (!l)
		return util_err(err, errlen, -ENOMEM, "MSR list: out of memory");
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		int e = errno;
		free(l);
		return util_err(err, errlen, -e, "KVM_GET_MSR_INDEX_LIST: %s", strerror(e));
	}
	uint32_t k = l->nmsrs;
	for (size_t i = 0; i < sizeof(x86_extra_msrs) / sizeof(x86_extra_msrs[0]); i++) {
		bool dup = false;
		for (uint32_t j = 0; j < k && !dup; j++)
			dup = l->indices[j] == x86_extra_msrs[i];
		if (!dup && k < cap)
			l->indices[k++] = x86_extra_msrs[i];
	}
	if (k > X86_STATE_MAX_MSRS)
		k = X86_STATE_MAX_MSRS;
	uint32_t *idx = malloc(k * sizeof(uint32_t) + 1);
	if (!idx) {
		free(l);
		return util_err(err, errlen, -ENOMEM, "MSR list: out of memory");
	}
	memcpy(idx, l->indices, k * sizeof(uint32_t));
	free(l);
	*out = idx;
	*n = k;
	return 0;
}

/* KVM_GET_MSRS of every MSR in idx[0..n): KVM stops at the first one it
 * refuses; that one is left out and the rest read on. */
static int x86_read_msrs(int fd, const uint32_t *idx, uint32_t n, struct x86_vcpu_state *st)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));
	st->msrs = calloc(n + 1, sizeof(struct kvm_msr_entry));
	if (!m || !st->msrs) {
		free(m);
		return -ENOMEM;
	}
	uint32_t at = 0;
	while (at < n) {
		uint32_t want = n - at;
		m->nmsrs = want;
		for (uint32_t i = 0; i < want; i++)
			m->entries[i] = (struct kvm_msr_entry){ .index = idx[at + i] };
		int got = ioctl(fd, KVM_GET_MSRS, m);
		if (got < 0) {
			int e = errno;
			free(m);
			return -e;
		}
		memcpy(st->msrs + st->nmsrs, m->entries, (size_t)got * sizeof(struct kvm_msr_entry));
		st->nmsrs += (uint32_t)got;
		at += (uint32_t)got + 1;  /* skip the refused one */
	}
	free(m);
	return 0;
}

static int x86_read_cpuid(int fd, struct x86_vcpu_state *st)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + X86_STATE_MAX_CPUID *
				      sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return -ENOMEM;
	c->nent = X86_STATE_MAX_CPUID;
	if (ioctl(fd, KVM_GET_CPUID2, c) < 0) {
		int e = errno;
		free(c);
		return -e;
	}
	st->cpuid = malloc(c->nent * sizeof(struct kvm_cpuid_entry2) + 1);
	if (!st->cpuid) {
		free(c);
		return -ENOMEM;
	}
	memcpy(st->cpuid, c->entries, c->nent * sizeof(struct kvm_cpuid_entry2));
	st->ncpuid = c->nent;
	free(c);
	return 0;
}

/* The XSAVE area: KVM_GET_XSAVE2 when the host's is larger than struct
 * kvm_xsave (AMX), else KVM_GET_XSAVE; none without XSAVE. */
static int x86_read_xsave(int vm_fd, int fd, struct x86_vcpu_state *st)
{
	int size = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	bool two = size > (int)X86_STATE_XSAVE_MIN;
	if (!two && ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) <= 0)
		return 0;
	uint32_t len = two ? (uint32_t)size : X86_STATE_XSAVE_MIN;
	if (len > X86_STATE_MAX_XSAVE)
		return -E2BIG;
	st->xsave = calloc(1, len);
	if (!st->xsave)
		return -ENOMEM;
	if (ioctl(fd, two ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, st->xsave) < 0)
		return -errno;
	st->xsave_len = len;
	return 0;
}

int x86_vcpu_save(int kvm_fd, int vm_fd, int fd, unsigned index, struct x86_vcpu_state *st,
		  char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	static const struct {
		unsigned long req;
		size_t off;
		const char *name;
	} gets[] = {
		{ KVM_GET_REGS, offsetof(struct x86_vcpu_state, regs), "KVM_GET_REGS" },
		{ KVM_GET_SREGS, offsetof(struct x86_vcpu_state, sregs), "KVM_GET_SREGS" },
		{ KVM_GET_FPU, offsetof(struct x86_vcpu_state, fpu), "KVM_GET_FPU" },
		{ KVM_GET_LAPIC, offsetof(struct x86_vcpu_state, lapic), "KVM_GET_LAPIC" },
		{ KVM_GET_MP_STATE, offsetof(struct x86_vcpu_state, mp), "KVM_GET_MP_STATE" },
		{ KVM_GET_VCPU_EVENTS, offsetof(struct x86_vcpu_state, events),
		  "KVM_GET_VCPU_EVENTS" },
		{ KVM_GET_DEBUGREGS, offsetof(struct x86_vcpu_state, dregs), "KVM_GET_DEBUGREGS" },
	};
	int r = 0;
	const char *step = "";
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]) && r == 0; i++) {
		step = gets[i].name;
		if (ioctl(fd, gets[i].req, (char *)st + gets[i].off) < 0)
			r = -errno;
	}
	if (r == 0 && ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0 &&
	    ioctl(fd, KVM_GET_XCRS, &st->xcrs) < 0) {
		step = "KVM_GET_XCRS";
		r = -errno;
	}
	if (r == 0) {
		step = "XSAVE area";
		r = x86_read_xsave(vm_fd, fd, st);
	}
	if (r == 0) {
		step = "KVM_GET_TSC_KHZ";
		int khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
		if (khz < 0)
			r = -errno;
		else
			st->tsc_khz = (uint32_t)khz;
	}
	uint32_t *idx = NULL, n = 0;
	if (r == 0 && (r = x86_msr_list(kvm_fd, &idx, &n, err, errlen)) < 0) {
		char why[200];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "vCPU %u: %s", index, why);
		x86_vcpu_state_free(st);
		return r;
	}
	if (r == 0) {
		step = "KVM_GET_MSRS";
		r = x86_read_msrs(fd, idx, n, st);
	}
	free(idx);
	if (r == 0) {
		step = "KVM_GET_CPUID2";
		r = x86_read_cpuid(fd, st);
	}
	if (r < 0) {
		snprintf(err, errlen, "vCPU %u: %s: %s", index, step, strerror(-r));
		x86_vcpu_state_free(st);
	}
	return r;
}

/* KVM_SET_TSC_KHZ when the vCPU's TSC is not the saved frequency. */
static int x86_set_tsc(int fd, unsigned index, uint32_t khz, char *err, size_t errlen)
{
	if (!khz)
		return 0;
	int now = ioctl(fd, KVM_GET_TSC_KHZ, 0);
	if (now > 0) {
		uint64_t d = (uint64_t)(now > (int)khz ? (uint32_t)now - khz : khz - (uint32_t)now);
		if (d * 1000000u <= (uint64_t)khz * X86_TSC_PPM)
			return 0;
	}
	if (ioctl(fd, KVM_SET_TSC_KHZ, (unsigned long)khz) < 0)
		return util_err(err, errlen, -errno, "vCPU %u: the TSC runs at %d kHz here, the snapshot's at %u "
				"kHz, and KVM cannot scale it (KVM_SET_TSC_KHZ: %s)", index, now, khz,
				strerror(errno));
	return 0;
}

static int x86_set_msrs(int fd, unsigned index, const struct x86_vcpu_state *st, char *err,
			size_t errlen)
{
	if (!st->nmsrs)
		return 0;
	struct kvm_msrs *m = malloc(sizeof(*m) + st->nmsrs * sizeof(struct kvm_msr_entry));
	if (!m)
		return util_err(err, errlen, -ENOMEM, "vCPU %u: out of memory", index);
	memset(m, 0, sizeof(*m));
	m->nmsrs = st->nmsrs;
	memcpy(m->entries, st->msrs, st->nmsrs * sizeof(struct kvm_msr_entry));
	int got = ioctl(fd, KVM_SET_MSRS, m);
	int e = errno;
	free(m);
	if (got < 0)
		return util_err(err, errlen, -e, "vCPU %u: KVM_SET_MSRS: %s", index, strerror(e));
	if ((uint32_t)got < st->nmsrs)
		return util_err(err, errlen, -EINVAL, "vCPU %u: KVM_SET_MSRS: this host refused MSR 0x%x = 0x%llx",
				index, st->msrs[got].index, (unsigned long long)st->msrs[got].data);
	return 0;
}

int x86_vcpu_restore(int fd, unsigned index, const struct x86_vcpu_state *st, char *err,
		     size_t errlen)
{
	struct kvm_cpuid2 *c = malloc(sizeof(*c) + st->ncpuid * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		return util_err(err, errlen, -ENOMEM, "vCPU %u: out of memory", index);
	memset(c, 0, sizeof(*c));
	c->nent = st->ncpuid;
	memcpy(c->entries, st->cpuid, st->ncpuid * sizeof(struct kvm_cpuid_entry2));
	int r = ioctl(fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	if (r < 0)
		return util_err(err, errlen, r, "vCPU %u: KVM_SET_CPUID2: %s", index, strerror(-r));
	if ((r = x86_set_tsc(fd, index, st->tsc_khz, err, errlen)) < 0)
		return r;

	/* The vCPU events go last (after the LAPIC and MSRs) and get the
	 * fields KVM_GET_VCPU_EVENTS always fills marked valid. */
	struct kvm_vcpu_events ev = st->events;
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	uint8_t xsave_buf[X86_STATE_XSAVE_MIN];
	const void *xsave = st->xsave;
	if (st->xsave_len && st->xsave_len < X86_STATE_XSAVE_MIN) {
		memset(xsave_buf, 0, sizeof(xsave_buf));
		memcpy(xsave_buf, st->xsave, st->xsave_len);
		xsave = xsave_buf;
	}
	const struct {
		unsigned long req;
		const void *arg;
		const char *name;
		bool skip;
	} sets[] = {
		{ KVM_SET_MP_STATE, &st->mp, "KVM_SET_MP_STATE", false },
		{ KVM_SET_REGS, &st->regs, "KVM_SET_REGS", false },
		{ KVM_SET_SREGS, &st->sregs, "KVM_SET_SREGS", false },
		{ KVM_SET_FPU, &st->fpu, "KVM_SET_FPU", false },
		{ KVM_SET_XSAVE, xsave, "KVM_SET_XSAVE", st->xsave_len == 0 },
		{ KVM_SET_XCRS, &st->xcrs, "KVM_SET_XCRS", st->xcrs.nr_xcrs == 0 },
		{ KVM_SET_DEBUGREGS, &st->dregs, "KVM_SET_DEBUGREGS", false },
		{ KVM_SET_LAPIC, &st->lapic, "KVM_SET_LAPIC", false },
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (!sets[i].skip && ioctl(fd, sets[i].req, sets[i].arg) < 0)
			return util_err(err, errlen, -errno, "vCPU %u: %s: %s", index, sets[i].name,
					strerror(errno));
	if ((r = x86_set_msrs(fd, index, st, err, errlen)) < 0)
		return r;
	if (ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return util_err(err, errlen, -errno, "vCPU %u: KVM_SET_VCPU_EVENTS: %s", index, strerror(errno));
	return 0;
}

int x86_vm_save(int vm_fd, struct x86_vm_state *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	st->realtime_ns = util_clock_ns(CLOCK_REALTIME);
	if (ioctl(vm_fd, KVM_GET_CLOCK, &st->clock) < 0)
		return util_err(err, errlen, -errno, "KVM_GET_CLOCK: %s", strerror(errno));
	if (ioctl(vm_fd, KVM_GET_PIT2, &st->pit) < 0)
		return util_err(err, errlen, -errno, "KVM_GET_PIT2: %s", strerror(errno));
	for (unsigned i = 0; i < 3; i++) {
		st->chip[i].chip_id = i;
		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &st->chip[i]) < 0)
			return util_err(err, errlen, -errno, "KVM_GET_IRQCHIP %u: %s", i, strerror(errno));
	}
	return 0;
}

int x86_vm_restore(int vm_fd, const struct x86_vm_state *st, bool clock_realtime, char *err,
		   size_t errlen)
{
	if (ioctl(vm_fd, KVM_SET_PIT2, &st->pit) < 0)
		return util_err(err, errlen, -errno, "KVM_SET_PIT2: %s", strerror(errno));
	struct kvm_clock_data clock = { .clock = st->clock.clock };
	uint64_t now = util_clock_ns(CLOCK_REALTIME);
	if (clock_realtime && now > st->realtime_ns)
		clock.clock += now - st->realtime_ns;
	if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return util_err(err, errlen, -errno, "KVM_SET_CLOCK: %s", strerror(errno));
	for (unsigned i = 0; i < 3; i++) {
		struct kvm_irqchip chip = st->chip[i];
		chip.chip_id = i;
		if (ioctl(vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			return util_err(err, errlen, -errno, "KVM_SET_IRQCHIP %u: %s", i, strerror(errno));
	}
	return 0;
}

/* ---- host check ---- */

static const struct kvm_cpuid_entry2 *x86_leaf(const struct kvm_cpuid_entry2 *e, uint32_t n,
					       uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == function &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == index))
			return &e[i];
	return NULL;
}

int x86_state_host_check(int kvm_fd, int vm_fd, const struct x86_vcpu_state *v, unsigned n,
			 enum config_cpu_template tpl, char *err, size_t errlen)
{
	/* Feature registers, and the bits a guest may have without KVM
	 * reporting them: those ember's CPUID sets (hypervisor, TSC deadline,
	 * HTT, AMD's CMP_LEGACY), those that follow the guest's CR4 (OSXSAVE,
	 * OSPKE), and below those tpl turns on (the T2 family's ERMS, which
	 * KVM may not report but takes, as at the boot that applied it). */
	static const struct {
		uint32_t function, index;
		unsigned reg;            /* 0 eax, 1 ebx, 2 ecx, 3 edx */
		uint32_t free;
	} regs[] = {
		{ 1, 0, 2, (1u << 31) | (1u << 24) | (1u << 27) },
		{ 1, 0, 3, 1u << 28 },
		{ 7, 0, 1, 0 }, { 7, 0, 2, 1u << 4 }, { 7, 0, 3, 0 },
		{ 0xd, 0, 0, 0 }, { 0xd, 0, 3, 0 }, { 0xd, 1, 0, 0 },
		{ 0x80000001, 0, 2, 1u << 1 }, { 0x80000001, 0, 3, 0 },
	};
	static const char regname[4][4] = { "EAX", "EBX", "ECX", "EDX" };
	char why[200];
	struct kvm_cpuid2 *host = x86_cpu_supported_cpuid(kvm_fd, why, sizeof(why));
	if (!host)
		return util_err(err, errlen, -ENODEV, "%s", why);
	int r = 0;
	for (unsigned c = 0; c < n && r == 0; c++) {
		for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]) && r == 0; i++) {
			const struct kvm_cpuid_entry2 *s = x86_leaf(v[c].cpuid, v[c].ncpuid,
								     regs[i].function, regs[i].index);
			const struct kvm_cpuid_entry2 *h = x86_leaf(host->entries, host->nent,
								     regs[i].function, regs[i].index);
			if (!s)
				continue;
			const uint32_t *sv = &s->eax, *hv = h ? &h->eax : NULL;
			uint32_t want = sv[regs[i].reg] & ~regs[i].free &
					~cpu_template_cpuid_set(tpl, regs[i].function,
								regs[i].index, regs[i].reg);
			uint32_t have = hv ? hv[regs[i].reg] : 0;
			if (want & ~have)
				r = util_err(err, errlen, -EINVAL, "vCPU %u: CPUID leaf 0x%x.%u %s bits 0x%08x are "
					     "not available on this host (it offers 0x%08x)", c,
					     regs[i].function, regs[i].index,
					     regname[regs[i].reg], want & ~have, have);
		}
	}
	free(host);
	if (r < 0)
		return r;
	int size = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	uint32_t host_xsave = size > (int)X86_STATE_XSAVE_MIN ? (uint32_t)size :
			      ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0 ?
			      X86_STATE_XSAVE_MIN : 0;
	for (unsigned c = 0; c < n; c++)
		if (v[c].xsave_len > host_xsave)
			return util_err(err, errlen, -EINVAL, "vCPU %u: an XSAVE area of %u bytes, this host's is "
					"%u bytes", c, v[c].xsave_len, host_xsave);
	int khz = ioctl(vm_fd, KVM_GET_TSC_KHZ, 0);
	bool scale = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0;
	for (unsigned c = 0; c < n && khz > 0 && !scale; c++) {
		uint32_t want = v[c].tsc_khz;
		uint64_t d = want > (uint32_t)khz ? want - (uint32_t)khz : (uint32_t)khz - want;
		if (want && d * 1000000u > (uint64_t)want * X86_TSC_PPM)
			return util_err(err, errlen, -EINVAL, "vCPU %u: the snapshot's TSC runs at %u kHz, this "
					"host's at %d kHz, and KVM cannot scale it", c, want, khz);
	}
	return 0;
}
