// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp.c - per-thread allowlists, compiled once, loaded per thread.
 *
 * The built-in lists below name, for every syscall (and every ioctl request),
 * who needs it. They were written from the code paths of the main thread
 * (evloop, api, api_http, vm build, virtio blk/net/tap, log, metrics) and
 * the vCPU thread (vcpu.c run loop, MMIO/PIO handlers: serial, i8042,
 * virtio-mmio registers); refine them with `strace -f` of a full boot.
 */
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "log.h"

#define SC_MAX_ARGS  6
#define SC_MAX_RULES 2048
#define SC_MAX_FILE  (1 << 20)

struct sc_cmp {
	uint8_t arg;		/* 0..5 */
	uint8_t op;		/* enum scmp_compare */
	uint64_t a;		/* value, or mask for SCMP_CMP_MASKED_EQ */
	uint64_t b;		/* value for SCMP_CMP_MASKED_EQ */
};

struct sc_rule {
	int nr;
	uint32_t action;	/* 0: the filter's filter_action */
	unsigned n_cmp;
	struct sc_cmp cmp[SC_MAX_ARGS];
	const char *who;	/* who needs it (built-in lists) */
};

struct sc_list {
	uint32_t default_action;
	uint32_t filter_action;
	unsigned n;
	struct sc_rule *rules;
};

/* ---- built-in allowlists ------------------------------------------------ */

#define ALLOW(sys, why) { .nr = SCMP_SYS(sys), .who = why }
#define ALLOW_IF(sys, i, o, v, why) \
	{ .nr = SCMP_SYS(sys), .n_cmp = 1, .cmp = { { .arg = i, .op = o, .a = v } }, .who = why }
#define ALLOW_MASKED(sys, i, m, v, why) \
	{ .nr = SCMP_SYS(sys), .n_cmp = 1, \
	  .cmp = { { .arg = i, .op = SCMP_CMP_MASKED_EQ, .a = m, .b = v } }, .who = why }
#define IOCTL(req, why) ALLOW_IF(ioctl, 1, SCMP_CMP_EQ, (uint64_t)(req), why)

static const struct sc_rule seccomp_main_rules[] = {
	/* I/O on fds the main thread owns */
	ALLOW(read, "evloop: API connections, eventfds, timerfds, signalfd, stdin (serial); "
	      "tap: rx; blk: drive reads"),
	ALLOW(write, "api_http: responses; tap: tx; eventfd signals; log/metrics lines; "
	      "serial: stdout"),
	ALLOW(readv, "tap: rx into a descriptor chain; blk: scattered reads"),
	ALLOW(writev, "tap: tx from a descriptor chain; blk: gathered writes"),
	ALLOW(pread64, "blk: reads at a sector offset"),
	ALLOW(pwrite64, "blk: writes at a sector offset"),
	ALLOW(preadv, "blk: scattered reads at an offset"),
	ALLOW(pwritev, "blk: gathered writes at an offset"),
	ALLOW(lseek, "vm build / PUT /drives: file sizes"),
	ALLOW(fsync, "blk: VIRTIO_BLK_T_FLUSH"),
	ALLOW(fdatasync, "blk: VIRTIO_BLK_T_FLUSH"),
	ALLOW(close, "api_http: closed connections; vm/device teardown"),
	ALLOW(openat, "PUT /boot-source, /drives, /logger, /metrics, /network-interfaces "
	      "(/dev/net/tun), InstanceStart (/dev/kvm) open files inside the jail"),
	ALLOW(newfstatat, "PUT /drives, /boot-source: file type and size (glibc stat)"),
	ALLOW(fstat, "PUT /drives, /boot-source: file size; stdio"),
	ALLOW(statx, "glibc stat on newer kernels"),
	/* event loop and API socket */
	ALLOW(epoll_wait, "evloop_run"),
	ALLOW(epoll_pwait, "evloop_run (glibc epoll_wait)"),
	ALLOW(epoll_ctl, "evloop_add/mod/del"),
	ALLOW(accept4, "api_http: new API connections"),
	ALLOW(unlink, "api_destroy: remove the API socket at exit"),
	ALLOW(unlinkat, "api_destroy: remove the API socket at exit (glibc remove())"),
	ALLOW(recvfrom, "api_http: recv() on API connections"),
	ALLOW(sendto, "api_http: send() on API connections"),
	ALLOW(shutdown, "api_http: half-close after an error response"),
	ALLOW(eventfd2, "InstanceStart: queue ioeventfds, irqfds, vCPU/evloop signalling"),
	ALLOW(timerfd_create, "rate limiters, metrics flush timer"),
	ALLOW(timerfd_settime, "rate limiters, metrics flush timer"),
	ALLOW(timerfd_gettime, "rate limiters"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_GETFL, "O_NONBLOCK on drive/tap/connection fds"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_SETFL, "O_NONBLOCK on drive/tap/connection fds"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_GETFD, "FD_CLOEXEC checks"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_SETFD, "FD_CLOEXEC on new fds"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_DUPFD_CLOEXEC, "devices (InstanceStart, PATCH /drives): "
		 "the running device's own copy of a drive or tap fd"),
	/* memory: never executable */
	ALLOW_MASKED(mmap, 2, PROT_EXEC, 0, "guest RAM (vm build), kvm_run mapping, malloc, "
		     "thread stacks; PROT_EXEC refused"),
	ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0, "malloc arenas, thread stack guard pages; "
		     "PROT_EXEC refused"),
	ALLOW(munmap, "free(), vm teardown, thread stacks"),
	ALLOW(mremap, "realloc() of large blocks"),
	ALLOW(brk, "malloc"),
	ALLOW(madvise, "free() (MADV_DONTNEED), guest RAM (MADV_DONTFORK/HUGEPAGE/MERGEABLE)"),
	/* threads */
	ALLOW_MASKED(clone, 0, CLONE_THREAD, CLONE_THREAD, "vm_start: pthread_create of vCPU "
		     "threads (threads only, never fork)"),
	ALLOW(clone3, "vm_start: pthread_create of vCPU threads (glibc >= 2.34)"),
	ALLOW(set_robust_list, "glibc: start of every new thread"),
	ALLOW(rseq, "glibc: start of every new thread"),
	ALLOW(futex, "device locks, pthread_join, condition variables"),
	ALLOW(tgkill, "vm_pause/vm_destroy: pthread_kill kicks vCPUs out of KVM_RUN"),
	ALLOW(getpid, "pthread_kill, log lines"),
	ALLOW(gettid, "log lines, pthread_kill"),
	ALLOW(exit, "thread exit"),
	ALLOW(exit_group, "process exit (guest reset, fatal errors, SIGTERM)"),
	ALLOW(rt_sigprocmask, "pthread_create (signals blocked while cloning), vCPU kick signal"),
	ALLOW(rt_sigaction, "glibc: the first pthread_create installs its SIGSETXID handler"),
	ALLOW(rt_sigreturn, "return from signal handlers"),
	ALLOW(restart_syscall, "kernel restart of interrupted sleeps"),
	ALLOW(sched_yield, "spinning on vCPU pause"),
	ALLOW(clock_gettime, "timestamps: log, metrics, rate limiters (vDSO fallback)"),
	ALLOW(gettimeofday, "timestamps (vDSO fallback)"),
	ALLOW(clock_nanosleep, "short waits while pausing vCPUs"),
	ALLOW(nanosleep, "short waits while pausing vCPUs"),
	ALLOW(getrandom, "glibc malloc / hash seeds"),
	ALLOW(sigaltstack, "ASan/UBSan builds (make SAN=1): _exit and thread start"),
	ALLOW(sched_getaffinity, "ASan/UBSan builds: thread start"),
	/* installing the vCPU filter on vCPU threads (they inherit this one) */
	ALLOW_IF(seccomp, 0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER,
		 "seccomp_install_thread(SECCOMP_THREAD_VCPU) on a new vCPU thread"),
	ALLOW_IF(prctl, 0, SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, "seccomp_install_thread"),
	ALLOW_IF(prctl, 0, SCMP_CMP_EQ, PR_SET_NAME, "log_set_thread_name / pthread_setname_np"),
	/* ioctls: /dev/kvm system fd (vm build at InstanceStart) */
	IOCTL(KVM_GET_API_VERSION, "vm_create: check the KVM API"),
	IOCTL(KVM_CHECK_EXTENSION, "vm_create: required capabilities"),
	IOCTL(KVM_CREATE_VM, "vm_create"),
	IOCTL(KVM_GET_VCPU_MMAP_SIZE, "vcpu_create: kvm_run size"),
	IOCTL(KVM_GET_SUPPORTED_CPUID, "vm_setup_vcpus: CPUID to filter per vCPU"),
	/* ioctls: VM fd */
	IOCTL(KVM_SET_USER_MEMORY_REGION, "vm_create: guest RAM slots"),
	IOCTL(KVM_SET_TSS_ADDR, "vm_create: TSS at 0xFFFBD000"),
	IOCTL(KVM_SET_IDENTITY_MAP_ADDR, "vm_create: identity map page"),
	IOCTL(KVM_CREATE_IRQCHIP, "vm_create: in-kernel PIC/IOAPIC/LAPIC"),
	IOCTL(KVM_CREATE_PIT2, "vm_create: in-kernel PIT"),
	IOCTL(KVM_CREATE_VCPU, "vcpu_create: one fd per vCPU"),
	IOCTL(KVM_IOEVENTFD, "devices: virtio-mmio QueueNotify -> eventfd"),
	IOCTL(KVM_IRQFD, "devices, i8042: eventfd -> guest IRQ line"),
	IOCTL(KVM_IRQ_LINE, "serial_input: the UART's interrupt level (ISA IRQ 4)"),
	IOCTL(KVM_REGISTER_COALESCED_MMIO, "vm_setup_vcpus: the UART's THR port is batched "
	      "(coalesced port I/O) from the start"),
	/* ioctls: vCPU fds, configured by the main thread before vm_start */
	IOCTL(KVM_SET_CPUID2, "vm_setup_vcpu: filtered CPUID"),
	IOCTL(KVM_SET_MSRS, "vm_setup_vcpu: boot MSRs"),
	IOCTL(KVM_SET_REGS, "vm_setup_vcpu: boot registers"),
	IOCTL(KVM_SET_SREGS, "vm_setup_vcpu: boot segments, paging"),
	IOCTL(KVM_GET_SREGS, "vm_setup_vcpu: read-modify-write of sregs"),
	IOCTL(KVM_SET_FPU, "vm_setup_vcpu: FPU state"),
	IOCTL(KVM_GET_LAPIC, "vm_setup_vcpu: LINT0/LINT1"),
	IOCTL(KVM_SET_LAPIC, "vm_setup_vcpu: LINT0/LINT1"),
	/* ioctls: tap (PUT /network-interfaces, then the guest's features) */
	IOCTL(TUNSETIFF, "config_net_open (PUT /network-interfaces): attach to the named tap"),
	IOCTL(TUNGETIFF, "config_net_open: refuse a tap that TUNSETIFF only just created "
	      "(no IFF_PERSIST: it did not exist)"),
	IOCTL(TUNSETVNETHDRSZ, "tap_open: virtio_net_hdr_v1 size"),
	IOCTL(TUNSETOFFLOAD, "net: offloads the guest acked (done here, not on the vCPU)"),
	/* ioctls: terminal (serial console on stdin) */
	IOCTL(TCGETS, "main: isatty/tcgetattr of stdin"),
	IOCTL(TCSETS, "main: term_raw/term_restore (tcsetattr TCSANOW)"),
};

static const struct sc_rule seccomp_vcpu_rules[] = {
	IOCTL(KVM_RUN, "vcpu_thread: the run loop"),
	IOCTL(KVM_GET_REGS, "vcpu_dump_regs on a fatal exit"),
	IOCTL(KVM_GET_SREGS, "vcpu_dump_regs on a fatal exit"),
	IOCTL(KVM_IRQ_LINE, "serial: the UART's interrupt level after a port access (ISA IRQ 4)"),
	IOCTL(KVM_REGISTER_COALESCED_MMIO, "serial: THR writes batched again (THRE interrupt, "
	      "loopback and divisor latch off)"),
	IOCTL(KVM_UNREGISTER_COALESCED_MMIO, "serial: THR writes exit again (the guest enabled "
	      "the THRE interrupt, loopback or the divisor latch)"),
	/* Nothing else: the main thread configures vCPUs before they start;
	 * virtio devices raise IRQs through irqfds (a write); KVM_INTERRUPT is
	 * never needed with the in-kernel irqchip. */
	ALLOW(write, "serial: THR -> stdout; eventfd signals to the main thread "
	      "(device activation, i8042 reset, boot timer); log lines"),
	ALLOW(futex, "vcpu: pause condition variable; device locks shared with the main thread"),
	ALLOW(rt_sigprocmask, "vcpu: kick signal mask around KVM_RUN"),
	ALLOW(rt_sigreturn, "vcpu: return from the kick signal handler"),
	ALLOW(restart_syscall, "kernel restart of interrupted futex waits"),
	ALLOW(clock_gettime, "log timestamps, boot timer (vDSO fallback)"),
	ALLOW(gettimeofday, "timestamps (vDSO fallback)"),
	ALLOW(gettid, "log lines"),
	ALLOW(getpid, "log lines"),
	ALLOW(sched_yield, "vcpu: spin while pausing"),
	ALLOW_MASKED(mmap, 2, PROT_EXEC, 0, "malloc: per-thread arena; PROT_EXEC refused"),
	ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0, "malloc: arena growth; PROT_EXEC refused"),
	ALLOW(munmap, "malloc: arena trimming"),
	ALLOW(brk, "malloc"),
	ALLOW(madvise, "free(); glibc frees the thread stack with MADV_DONTNEED at exit"),
	ALLOW(exit, "vcpu: thread end"),
	ALLOW(sigaltstack, "ASan/UBSan builds (make SAN=1): _exit"),
	ALLOW(exit_group, "vcpu: fatal exit stops ember"),
};

/* ---- state -------------------------------------------------------------- */

enum sc_mode { SC_UNSET, SC_NONE, SC_FILTER };

static enum sc_mode sc_mode;
static struct sock_fprog sc_prog[2];
static bool sc_prog_builtin;	/* sc_prog points at the precompiled arrays */

#ifndef SECCOMP_GEN
/* The built-in lists, compiled to BPF at build time by this file built as
 * build/seccomp-gen (-DSECCOMP_GEN): build/gen/seccomp_default.c. Loading
 * them costs no libseccomp work at start-up. */
extern const struct sock_filter seccomp_default_main[], seccomp_default_vcpu[];
extern const unsigned short seccomp_default_main_len, seccomp_default_vcpu_len;
#endif

static void sc_progs_free(void)
{
	for (int i = 0; i < 2; i++) {
		if (!sc_prog_builtin)
			free(sc_prog[i].filter);
		sc_prog[i].filter = NULL;
		sc_prog[i].len = 0;
	}
	sc_prog_builtin = false;
}

/* ---- compilation -------------------------------------------------------- */

/* Add r with its own action, or action if it has none. A rule whose action
 * is the filter's default changes nothing, and libseccomp refuses it
 * (-EACCES): skip it. That happens for a user filter with default_action
 * "allow" (a deny list), where the merged vcpu and install rules below are
 * "allow" too. */
static int sc_add_rule(scmp_filter_ctx ctx, uint32_t def, uint32_t action,
		       const struct sc_rule *r)
{
	struct scmp_arg_cmp c[SC_MAX_ARGS];

	if ((r->action ? r->action : action) == def)
		return 0;
	for (unsigned i = 0; i < r->n_cmp; i++) {
		c[i].arg = r->cmp[i].arg;
		c[i].op = r->cmp[i].op;
		c[i].datum_a = r->cmp[i].a;
		c[i].datum_b = r->cmp[i].b;
	}
	return seccomp_rule_add_exact_array(ctx, r->action ? r->action : action, r->nr,
					    r->n_cmp, c);
}

/* Compile a list to BPF into *prog. extra: rules merged in (the vcpu list
 * for the main filter; only those that allow). */
static int sc_compile(const struct sc_list *l, const struct sc_list *extra,
		      struct sock_fprog *prog)
{
	scmp_filter_ctx ctx;
	char *buf = NULL;
	int fd = -1, ret;
	struct stat st;

	ctx = seccomp_init(l->default_action);
	if (!ctx)
		return -ENOMEM;
	/* We set no_new_privs ourselves when loading. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (ret)
		goto out;
	for (unsigned i = 0; i < l->n; i++) {
		ret = sc_add_rule(ctx, l->default_action, l->filter_action, &l->rules[i]);
		if (ret) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
								      l->rules[i].nr);
			log_error("seccomp: rule %u (%s): %s", i, name ? name : "?", strerror(-ret));
			free(name);
			goto out;
		}
	}
	if (extra) {
		static const struct sc_rule install[] = {
			ALLOW_IF(seccomp, 0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, "vCPU filter"),
			ALLOW_IF(prctl, 0, SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, "vCPU filter"),
		};
		for (unsigned i = 0; i < extra->n; i++) {
			const struct sc_rule *r = &extra->rules[i];
			uint32_t act = r->action ? r->action : extra->filter_action;

			if (act != SCMP_ACT_ALLOW)
				continue;
			ret = sc_add_rule(ctx, l->default_action, SCMP_ACT_ALLOW, r);
			/* -EEXIST: main already has the same rule. */
			if (ret && ret != -EEXIST)
				goto out;
		}
		for (unsigned i = 0; i < 2; i++) {
			ret = sc_add_rule(ctx, l->default_action, SCMP_ACT_ALLOW, &install[i]);
			if (ret && ret != -EEXIST)
				goto out;
		}
	}
	/* libseccomp 2.5 exports only to an fd; read the program back. */
	fd = memfd_create("ember-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = seccomp_export_bpf(ctx, fd);
	if (ret)
		goto out;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = -E2BIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		ret = -EIO;
		goto out;
	}
	prog->filter = (struct sock_filter *)buf;
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	buf = NULL;
	ret = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return ret;
}

static int sc_compile_both(const struct sc_list *main_l, const struct sc_list *vcpu_l)
{
	struct sock_fprog p[2] = { { 0, NULL }, { 0, NULL } };
	int ret;

	ret = sc_compile(main_l, vcpu_l, &p[SECCOMP_THREAD_MAIN]);
	if (!ret)
		ret = sc_compile(vcpu_l, NULL, &p[SECCOMP_THREAD_VCPU]);
	if (ret) {
		free(p[0].filter);
		free(p[1].filter);
		return ret;
	}
	sc_progs_free();
	sc_prog[0] = p[0];
	sc_prog[1] = p[1];
	sc_mode = SC_FILTER;
	return 0;
}

static void sc_default_lists(struct sc_list *m, struct sc_list *v)
{
	*m = (struct sc_list){
		.default_action = SCMP_ACT_TRAP, .filter_action = SCMP_ACT_ALLOW,
		.n = sizeof(seccomp_main_rules) / sizeof(seccomp_main_rules[0]),
		.rules = (struct sc_rule *)seccomp_main_rules,
	};
	*v = (struct sc_list){
		.default_action = SCMP_ACT_TRAP, .filter_action = SCMP_ACT_ALLOW,
		.n = sizeof(seccomp_vcpu_rules) / sizeof(seccomp_vcpu_rules[0]),
		.rules = (struct sc_rule *)seccomp_vcpu_rules,
	};
}

#ifdef SECCOMP_GEN
int seccomp_configure_default(void)
{
	struct sc_list m, v;
	sc_default_lists(&m, &v);
	return sc_compile_both(&m, &v);
}

/* build/seccomp-gen: print the built-in lists as BPF in C. */
static void sc_print_prog(const char *name, const struct sock_fprog *p)
{
	printf("const struct sock_filter %s[] = {\n", name);
	for (unsigned i = 0; i < p->len; i++)
		printf("\t{ 0x%04x, %u, %u, 0x%08x },\n", p->filter[i].code, p->filter[i].jt,
		       p->filter[i].jf, p->filter[i].k);
	printf("};\nconst unsigned short %s_len = %u;\n\n", name, p->len);
}

int main(void)
{
	int ret = seccomp_configure_default();
	if (ret) {
		fprintf(stderr, "seccomp-gen: compiling the built-in filters: %s\n", strerror(-ret));
		return 1;
	}
	printf("/* Generated by build/seccomp-gen from src/seccomp.c: do not edit. */\n"
	       "#include <linux/filter.h>\n\n");
	sc_print_prog("seccomp_default_main", &sc_prog[SECCOMP_THREAD_MAIN]);
	sc_print_prog("seccomp_default_vcpu", &sc_prog[SECCOMP_THREAD_VCPU]);
	return fflush(stdout) == 0 ? 0 : 1;
}
#else
int seccomp_configure_default(void)
{
	sc_progs_free();
	sc_prog[SECCOMP_THREAD_MAIN] = (struct sock_fprog){
		.len = seccomp_default_main_len, .filter = (struct sock_filter *)seccomp_default_main };
	sc_prog[SECCOMP_THREAD_VCPU] = (struct sock_fprog){
		.len = seccomp_default_vcpu_len, .filter = (struct sock_filter *)seccomp_default_vcpu };
	sc_prog_builtin = true;
	sc_mode = SC_FILTER;
	return 0;
}

int seccomp_default_is_current(void)
{
	struct sc_list m, v;
	struct sock_fprog p[2] = { { 0, NULL }, { 0, NULL } };
	sc_default_lists(&m, &v);
	int ret = sc_compile(&m, &v, &p[SECCOMP_THREAD_MAIN]);
	if (!ret)
		ret = sc_compile(&v, NULL, &p[SECCOMP_THREAD_VCPU]);
	if (!ret)
		ret = p[0].len == seccomp_default_main_len && p[1].len == seccomp_default_vcpu_len &&
		      !memcmp(p[0].filter, seccomp_default_main, p[0].len * sizeof(struct sock_filter)) &&
		      !memcmp(p[1].filter, seccomp_default_vcpu, p[1].len * sizeof(struct sock_filter))
			      ? 1 : 0;
	free(p[0].filter);
	free(p[1].filter);
	return ret;
}
#endif

int seccomp_configure_none(void)
{
	sc_progs_free();
	sc_mode = SC_NONE;
	return 0;
}

/* ---- the --seccomp-filter file ------------------------------------------ */

static int sc_bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int sc_bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool sc_u64(const cJSON *v, uint64_t max, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	/* Exact integers only: a double holds those up to 2^53. */
	if (d < 0 || d > 9007199254740992.0 || d != (double)(uint64_t)d || (uint64_t)d > max)
		return false;
	*out = (uint64_t)d;
	return true;
}

static int sc_action(const cJSON *v, const char *where, uint32_t *out, char *err,
		     size_t errlen)
{
	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		if (!strcmp(s, "allow"))
			*out = SCMP_ACT_ALLOW;
		else if (!strcmp(s, "kill_process") || !strcmp(s, "kill"))
			*out = SCMP_ACT_KILL_PROCESS;
		else if (!strcmp(s, "kill_thread"))
			*out = SCMP_ACT_KILL_THREAD;
		else if (!strcmp(s, "trap"))
			*out = SCMP_ACT_TRAP;
		else if (!strcmp(s, "log"))
			*out = SCMP_ACT_LOG;
		else
			return sc_bad(err, errlen, "%s: unknown action \"%s\"", where, s);
		return 0;
	}
	if (cJSON_IsObject(v) && cJSON_GetArraySize(v) == 1) {
		const cJSON *e = v->child;
		uint64_t n;

		if (!strcmp(e->string, "errno") && sc_u64(e, 4095, &n)) {
			*out = SCMP_ACT_ERRNO((uint32_t)n);
			return 0;
		}
		if (!strcmp(e->string, "trace") && sc_u64(e, 0xffff, &n)) {
			*out = SCMP_ACT_TRACE((uint32_t)n);
			return 0;
		}
	}
	return sc_bad(err, errlen, "%s: bad action (expected \"allow\", \"kill_process\", "
		      "\"kill_thread\", \"trap\", \"log\", {\"errno\": N} or {\"trace\": N})", where);
}

static int sc_parse_arg(const cJSON *a, const char *where, struct sc_cmp *c, char *err,
			size_t errlen)
{
	const cJSON *f;
	bool dword = false, have_index = false, have_op = false, have_val = false;
	uint64_t idx = 0, val = 0, mask = 0;
	int op = 0;

	if (!cJSON_IsObject(a))
		return sc_bad(err, errlen, "%s: each args entry must be an object", where);
	cJSON_ArrayForEach(f, a) {
		if (!strcmp(f->string, "index")) {
			if (!sc_u64(f, 5, &idx))
				return sc_bad(err, errlen, "%s: \"index\" must be 0..5", where);
			have_index = true;
		} else if (!strcmp(f->string, "type")) {
			if (!cJSON_IsString(f) || (strcmp(f->valuestring, "dword") &&
						   strcmp(f->valuestring, "qword")))
				return sc_bad(err, errlen, "%s: \"type\" must be \"dword\" or \"qword\"",
					      where);
			dword = !strcmp(f->valuestring, "dword");
		} else if (!strcmp(f->string, "op")) {
			static const struct { const char *n; int op; } ops[] = {
				{ "eq", SCMP_CMP_EQ }, { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT },
				{ "le", SCMP_CMP_LE }, { "gt", SCMP_CMP_GT }, { "ge", SCMP_CMP_GE },
			};
			have_op = true;
			if (cJSON_IsString(f)) {
				for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
					if (!strcmp(f->valuestring, ops[i].n))
						op = ops[i].op;
			} else if (cJSON_IsObject(f) && cJSON_GetArraySize(f) == 1 &&
				   !strcmp(f->child->string, "masked_eq") &&
				   sc_u64(f->child, UINT64_MAX, &mask)) {
				op = SCMP_CMP_MASKED_EQ;
			}
			if (!op)
				return sc_bad(err, errlen, "%s: bad \"op\" (eq, ne, lt, le, gt, ge or "
					      "{\"masked_eq\": MASK})", where);
		} else if (!strcmp(f->string, "val")) {
			if (!sc_u64(f, UINT64_MAX, &val))
				return sc_bad(err, errlen, "%s: \"val\" must be a non-negative integer "
					      "(at most 2^53)", where);
			have_val = true;
		} else if (strcmp(f->string, "comment")) {
			return sc_bad(err, errlen, "%s: unknown field \"%s\"", where, f->string);
		}
	}
	if (!have_index || !have_op || !have_val)
		return sc_bad(err, errlen, "%s: args entries need \"index\", \"op\" and \"val\"",
			      where);
	c->arg = (uint8_t)idx;
	if (dword && (op == SCMP_CMP_EQ || op == SCMP_CMP_MASKED_EQ)) {
		/* Compare only the low 32 bits, as Firecracker's dword. */
		c->op = SCMP_CMP_MASKED_EQ;
		c->a = (op == SCMP_CMP_EQ ? 0xffffffffull : mask) & 0xffffffffull;
		c->b = val & 0xffffffffull;
	} else if (op == SCMP_CMP_MASKED_EQ) {
		c->op = SCMP_CMP_MASKED_EQ;
		c->a = mask;
		c->b = val;
	} else {
		c->op = (uint8_t)op;
		c->a = dword ? (val & 0xffffffffull) : val;
	}
	return 0;
}

/* Parse one thread category into l (rules appended). first: set the
 * default/filter actions from it. */
static int sc_parse_list(const cJSON *o, const char *name, struct sc_list *l, bool first,
			 char *err, size_t errlen)
{
	const cJSON *f, *filter = NULL;
	uint32_t def = 0, fact = 0;
	bool have_def = false, have_fact = false;
	char where[96];
	int ret, idx = 0;

	if (!cJSON_IsObject(o))
		return sc_bad(err, errlen, "\"%s\" must be an object", name);
	cJSON_ArrayForEach(f, o) {
		snprintf(where, sizeof(where), "%s.%s", name, f->string);
		if (!strcmp(f->string, "default_action")) {
			ret = sc_action(f, where, &def, err, errlen);
			if (ret)
				return ret;
			have_def = true;
		} else if (!strcmp(f->string, "filter_action")) {
			ret = sc_action(f, where, &fact, err, errlen);
			if (ret)
				return ret;
			have_fact = true;
		} else if (!strcmp(f->string, "filter")) {
			if (!cJSON_IsArray(f))
				return sc_bad(err, errlen, "%s must be an array", where);
			filter = f;
		} else {
			return sc_bad(err, errlen, "%s: unknown field", where);
		}
	}
	if (!have_def || !have_fact || !filter)
		return sc_bad(err, errlen, "\"%s\" needs \"default_action\", \"filter_action\" and "
			      "\"filter\"", name);
	if (first) {
		l->default_action = def;
		l->filter_action = fact;
	}
	cJSON_ArrayForEach(f, filter) {
		struct sc_rule *r;
		const cJSON *g;
		bool have_sys = false;

		snprintf(where, sizeof(where), "%s.filter[%d]", name, idx++);
		if (!cJSON_IsObject(f))
			return sc_bad(err, errlen, "%s must be an object", where);
		if (l->n >= SC_MAX_RULES)
			return sc_bad(err, errlen, "%s: too many rules (at most %d)", where,
				      SC_MAX_RULES);
		r = &l->rules[l->n];
		memset(r, 0, sizeof(*r));
		r->action = fact;
		cJSON_ArrayForEach(g, f) {
			if (!strcmp(g->string, "syscall")) {
				if (!cJSON_IsString(g))
					return sc_bad(err, errlen, "%s.syscall must be a string", where);
				r->nr = seccomp_syscall_resolve_name(g->valuestring);
				if (r->nr == __NR_SCMP_ERROR)
					return sc_bad(err, errlen, "%s: unknown syscall \"%s\"", where,
						      g->valuestring);
				have_sys = true;
			} else if (!strcmp(g->string, "args")) {
				const cJSON *a;

				if (!cJSON_IsArray(g) || cJSON_GetArraySize(g) > SC_MAX_ARGS)
					return sc_bad(err, errlen, "%s.args must be an array of at most "
						      "%d entries", where, SC_MAX_ARGS);
				cJSON_ArrayForEach(a, g) {
					ret = sc_parse_arg(a, where, &r->cmp[r->n_cmp++], err, errlen);
					if (ret)
						return ret;
				}
			} else if (strcmp(g->string, "comment")) {
				return sc_bad(err, errlen, "%s: unknown field \"%s\"", where, g->string);
			}
		}
		if (!have_sys)
			return sc_bad(err, errlen, "%s: missing \"syscall\"", where);
		l->n++;
	}
	return 0;
}

static char *sc_read_file(const char *path, char *err, size_t errlen, int *ret)
{
	struct stat st;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SC_MAX_FILE) {
		close(fd);
		*ret = sc_bad(err, errlen, "%s: not a regular file of at most %d bytes", path,
			      SC_MAX_FILE);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		*ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
		close(fd);
		free(buf);
		*ret = -EIO;
		snprintf(err, errlen, "%s: short read", path);
		return NULL;
	}
	buf[st.st_size] = '\0';
	close(fd);
	return buf;
}

int seccomp_configure_file(const char *path, char *err, size_t errlen)
{
	struct sc_list m = { 0 }, v = { 0 };
	const cJSON *f;
	cJSON *root = NULL;
	char *text;
	int ret;
	bool fc_names;

	text = sc_read_file(path, err, errlen, &ret);
	if (!text)
		return ret;
	m.rules = calloc(SC_MAX_RULES, sizeof(*m.rules));
	v.rules = calloc(SC_MAX_RULES, sizeof(*v.rules));
	if (!m.rules || !v.rules) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	root = cJSON_Parse(text);
	if (!cJSON_IsObject(root)) {
		ret = sc_bad(err, errlen, "%s: not a JSON object", path);
		goto out;
	}
	/* Exactly {main, vcpu} or Firecracker's {vmm, api, vcpu}. */
	fc_names = cJSON_HasObjectItem(root, "vmm");
	cJSON_ArrayForEach(f, root) {
		bool ok = !strcmp(f->string, "vcpu") ||
			  (fc_names ? !strcmp(f->string, "vmm") || !strcmp(f->string, "api")
				    : !strcmp(f->string, "main"));
		if (!ok) {
			ret = sc_bad(err, errlen, "%s: unexpected key \"%s\" (expected \"main\" and "
				     "\"vcpu\", or \"vmm\", \"api\" and \"vcpu\")", path, f->string);
			goto out;
		}
	}
	if (fc_names ? !cJSON_HasObjectItem(root, "api") || !cJSON_HasObjectItem(root, "vcpu")
		     : !cJSON_HasObjectItem(root, "main") || !cJSON_HasObjectItem(root, "vcpu")) {
		ret = sc_bad(err, errlen, "%s: missing a thread category (expected \"main\" and "
			     "\"vcpu\", or \"vmm\", \"api\" and \"vcpu\")", path);
		goto out;
	}
	if (fc_names) {
		ret = sc_parse_list(cJSON_GetObjectItem(root, "vmm"), "vmm", &m, true, err, errlen);
		if (!ret)
			ret = sc_parse_list(cJSON_GetObjectItem(root, "api"), "api", &m, false, err,
					    errlen);
	} else {
		ret = sc_parse_list(cJSON_GetObjectItem(root, "main"), "main", &m, true, err,
				    errlen);
	}
	if (!ret)
		ret = sc_parse_list(cJSON_GetObjectItem(root, "vcpu"), "vcpu", &v, true, err, errlen);
	if (ret)
		goto out;
	ret = sc_compile_both(&m, &v);
	if (ret)
		snprintf(err, errlen, "%s: compiling the filters: %s", path, strerror(-ret));
out:
	cJSON_Delete(root);
	free(text);
	free(m.rules);
	free(v.rules);
	return ret;
}

/* ---- per-thread install ------------------------------------------------- */

int seccomp_install_thread(enum seccomp_thread kind)
{
	if (sc_mode == SC_NONE)
		return 0;
	if (sc_mode != SC_FILTER || (kind != SECCOMP_THREAD_MAIN && kind != SECCOMP_THREAD_VCPU))
		return -EINVAL;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Flags 0: this thread only (no TSYNC); each thread installs its own. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sc_prog[kind]) < 0)
		return -errno;
	return 0;
}

size_t seccomp_prog_len(enum seccomp_thread kind)
{
	if (sc_mode != SC_FILTER || (kind != SECCOMP_THREAD_MAIN && kind != SECCOMP_THREAD_VCPU))
		return 0;
	return sc_prog[kind].len;
}

static void sc_sigsys(int sig, siginfo_t *si, void *uc)
{
	static const char pre[] = "Shutting down VM after intercepting a bad syscall (";
	char num[16], *p = num + sizeof(num);
	unsigned v = (unsigned)si->si_syscall;

	(void)sig;
	(void)uc;
	/* Async-signal-safe: no stdio, format the number by hand. */
	*--p = '\n';
	*--p = '.';
	*--p = ')';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) && p > num);
	if (write(2, pre, sizeof(pre) - 1) > 0 && write(2, p, (size_t)(num + sizeof(num) - p)) > 0)
		v = 0;
	_exit(148);
}

int seccomp_report_violations(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sc_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	return 0;
}
