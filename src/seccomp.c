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
#include "vcpu.h"

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
/* Not allowed, but answered with an error instead of the filter's default. */
#define FAIL(sys, e, why) { .nr = SCMP_SYS(sys), .action = SCMP_ACT_ERRNO(e), .who = why }

/* tgkill's first argument in the built-in lists: replaced by ember's pid when
 * the precompiled programs are loaded (sc_copy_patched). Larger than any pid
 * (pid_max is at most 2^22), so an unpatched program allows no tgkill. */
#define SC_PID_PLACEHOLDER 0x5ec0b1d5u

/*
 * The main thread, for its whole life: what it does while the VM runs (the
 * event loop, virtio-blk and virtio-net I/O, the rate limiters' timers,
 * PATCH /drives and PATCH /network-interfaces, PATCH /vm pause and resume,
 * SendCtrlAltDel, FlushMetrics and the periodic metrics, log lines, console
 * input) and what it does when ember exits (vm_destroy, api_destroy,
 * metrics_stop). Snapshots are not implemented: their calls are not here.
 */
static const struct sc_rule seccomp_main_rules[] = {
	/* I/O on fds the main thread owns */
	ALLOW(read, "evloop: API connections, eventfds, timerfds, signalfd, stdin (serial)"),
	ALLOW(write, "api_http: responses; eventfd signals; log/metrics lines; serial: stdout"),
	ALLOW(readv, "net: rx from the tap into a descriptor chain"),
	ALLOW(writev, "net: tx to the tap from a descriptor chain"),
	ALLOW(preadv, "blk: reads at a sector offset"),
	ALLOW(pwritev, "blk: writes at a sector offset"),
	ALLOW(fdatasync, "blk: VIRTIO_BLK_T_FLUSH with cache_type Writeback"),
	ALLOW(lseek, "blk_size: drive size at PUT-time device creation and PATCH /drives"),
	ALLOW(close, "api_http: closed connections; PATCH /drives: the old backing file; "
	      "vm/device teardown"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_DUPFD_CLOEXEC, "devices (InstanceStart, PATCH /drives): "
		 "the running device's own copy of a drive or tap fd"),
	/* config_open_file (PUT /drives, /boot-source, and PATCH /drives once the
	 * VM runs): the file type of what was opened, then O_NONBLOCK off again */
	ALLOW(newfstatat, "config_open_file: file type; InstanceStart: kernel and initrd sizes "
	      "(glibc >= 2.33 makes stat and fstat newfstatat)"),
	ALLOW(fstat, "the same with older C libraries"),
	ALLOW(statx, "glibc stat on newer kernels"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_GETFL, "config_open_file; vm_setup_legacy, "
		 "vm_watch_stdin: O_NONBLOCK on stdout and stdin"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_SETFL, "config_open_file: O_NONBLOCK off once the "
		 "file type is known; vm_setup_legacy, vm_watch_stdin: O_NONBLOCK on stdout, stdin"),
	/* event loop and API socket */
	ALLOW(epoll_wait, "evloop_run"),
	ALLOW(epoll_pwait, "evloop_run (glibc epoll_wait)"),
	ALLOW(epoll_ctl, "evloop_add/mod/del; net: rx watch on and off"),
	ALLOW(accept4, "api_http: new API connections"),
	ALLOW(recvfrom, "api_http: recv() on API connections"),
	ALLOW(sendto, "api_http: send() on API connections"),
	ALLOW(shutdown, "api_http: half-close after an error response"),
	ALLOW(timerfd_create, "metrics_start (right after vm_start): the 60 s flush timer"),
	ALLOW(timerfd_settime, "rate limiters (blk, net rx/tx), metrics flush timer"),
	/* memory: never executable */
	ALLOW_MASKED(mmap, 2, PROT_EXEC, 0, "malloc; guest RAM and kvm_run at InstanceStart; "
		     "thread stacks; PROT_EXEC refused"),
	ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0, "malloc arenas, thread stack guard pages; "
		     "PROT_EXEC refused"),
	ALLOW(munmap, "free(), vm teardown (guest RAM, kvm_run), thread stacks"),
	ALLOW(mremap, "realloc() of large blocks"),
	ALLOW(brk, "malloc"),
	ALLOW(madvise, "free() (MADV_DONTNEED); guest RAM (guest_mem: MADV_HUGEPAGE, "
	      "MADV_DONTDUMP); glibc thread stacks"),
	/* threads and signals */
	ALLOW(futex, "device locks, vCPU pause/resume, pthread_timedjoin_np of vCPU threads"),
	{ .nr = SCMP_SYS(tgkill), .n_cmp = 2,
	  .cmp = { { .arg = 0, .op = SCMP_CMP_EQ, .a = SC_PID_PLACEHOLDER },
		   { .arg = 2, .op = SCMP_CMP_EQ, .a = VCPU_KICK_SIGNAL } },
	  .who = "vcpu_kick (pause, stop): pthread_kill of a vCPU thread; only ember's own "
		 "threads (tgid = ember's pid) and only VCPU_KICK_SIGNAL" },
	ALLOW(getpid, "pthread_kill: the tgkill tgid (glibc does not cache the pid); "
	      "ASan/UBSan builds: reports"),
	ALLOW(gettid, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's thread ids"),
	ALLOW(exit_group, "process exit (guest reset, fatal errors, SIGTERM)"),
	ALLOW(rt_sigprocmask, "pthread_kill (vcpu_kick) blocks signals around its tgkill; "
	      "vcpu_start: the kick signal stays blocked outside vCPU threads"),
	ALLOW(rt_sigreturn, "return from signal handlers"),
	ALLOW(restart_syscall, "kernel restart of interrupted sleeps"),
	ALLOW(clock_gettime, "timestamps: log, metrics, rate limiters, pause waits (vDSO fallback)"),
	ALLOW(gettimeofday, "timestamps (vDSO fallback)"),
	ALLOW(sched_yield, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's spin locks"),
	ALLOW(sigaltstack, "ASan/UBSan builds (make SAN=1): _exit"),
	/* ioctls */
	IOCTL(KVM_IRQ_LINE, "serial_input (console input): the UART's interrupt level "
	      "(ISA IRQ 4)"),
	IOCTL(KVM_IOEVENTFD, "vm_destroy: devices_entry_free deassigns the queue notifiers"),
	IOCTL(KVM_IRQFD, "vm_destroy: devices_entry_free deassigns the device interrupts"),
	IOCTL(TUNSETOFFLOAD, "net: offloads the guest acked, applied when it activates the "
	      "device (done here, not on the vCPU)"),
	IOCTL(TCSETS, "vm_term_restore at exit, vm_term_raw at vm_start (tcsetattr TCSANOW)"),
};

/* The main thread once the VM runs, with the list above: narrower versions
 * of what seccomp_main_boot_rules allows in full before. */
static const struct sc_rule seccomp_main_running_rules[] = {
	ALLOW_MASKED(openat, 2, O_CREAT | O_TRUNC | O_TMPFILE, 0,
		     "PATCH /drives: the new backing file, read-only or read-write; never "
		     "creating or truncating a file"),
	/* Refused with an error, not the default action: api_destroy's unlink of
	 * the API socket at exit then fails quietly and leaves the socket file
	 * (the next ember at that path removes it as stale). */
	FAIL(unlink, EPERM, "api_destroy: no file removal once the VM runs"),
	FAIL(unlinkat, EPERM, "api_destroy: no file removal once the VM runs"),
};

/*
 * The main thread until the VM runs, with seccomp_main_rules: the
 * configuration requests (they open files, the tap), InstanceStart (builds
 * the VM and starts the vCPU threads), and the exit before a VM ever ran.
 * vm_start() then installs the filter of seccomp_main_rules and
 * seccomp_main_running_rules on top (SECCOMP_THREAD_MAIN_RUNNING), and none
 * of these work any more.
 */
static const struct sc_rule seccomp_main_boot_rules[] = {
	ALLOW(openat, "PUT /boot-source, /drives, /logger, /metrics (created if missing), "
	      "/network-interfaces (/dev/net/tun), InstanceStart (/dev/kvm)"),
	ALLOW(pread64, "InstanceStart: kernel and initrd into guest RAM"),
	ALLOW(unlink, "api_destroy: remove the API socket at exit"),
	ALLOW(unlinkat, "api_destroy: remove the API socket at exit (glibc remove())"),
	ALLOW(eventfd2, "InstanceStart: queue ioeventfds, irqfds, vCPU/evloop signalling"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_SETFD, "vm_create_machine: FD_CLOEXEC on the VM fd"),
	/* threads: vm_prepare's thread and the vCPU threads */
	ALLOW_MASKED(clone, 0, CLONE_THREAD, CLONE_THREAD, "vm_prepare, vm_start: pthread_create "
		     "(threads only, never fork)"),
	/* clone3's flags are in memory a filter cannot read: refuse it as an
	 * old kernel would, and glibc's pthread_create falls back to clone. */
	FAIL(clone3, ENOSYS, "pthread_create (glibc >= 2.34) retries with clone"),
	ALLOW(set_robust_list, "glibc: start of every new thread"),
	ALLOW(rseq, "glibc: start of every new thread"),
	ALLOW(exit, "vm_prepare's thread ends"),
	ALLOW(rt_sigaction, "vcpu_signal_setup (vm_start): the kick signal's handler"),
	ALLOW(sched_getaffinity, "ASan/UBSan builds: thread start"),
	/* installing filters: the vCPU threads' own (they inherit this one)
	 * and SECCOMP_THREAD_MAIN_RUNNING */
	ALLOW_IF(seccomp, 0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER,
		 "seccomp_install_thread on vm_prepare's and the vCPU threads, and of the "
		 "running VM's main filter"),
	ALLOW_IF(prctl, 0, SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, "seccomp_install_thread"),
	ALLOW_IF(prctl, 0, SCMP_CMP_EQ, PR_SET_NAME, "vcpu_thread: pthread_setname_np"),
	/* ioctls: /dev/kvm system fd (vm build at InstanceStart) */
	IOCTL(KVM_GET_API_VERSION, "vm_open_kvm: check the KVM API"),
	IOCTL(KVM_CHECK_EXTENSION, "vm_create_machine: required capabilities; vm_setup_cring"),
	IOCTL(KVM_CREATE_VM, "vm_create_machine"),
	IOCTL(KVM_GET_VCPU_MMAP_SIZE, "vcpu_create: kvm_run size"),
	IOCTL(KVM_GET_SUPPORTED_CPUID, "vm_setup_vcpus: CPUID to filter per vCPU"),
	/* ioctls: VM fd */
	IOCTL(KVM_SET_USER_MEMORY_REGION, "vm_setup_slots: guest RAM slots"),
	IOCTL(KVM_SET_TSS_ADDR, "vm_create_machine: TSS at 0xFFFBD000"),
	IOCTL(KVM_SET_IDENTITY_MAP_ADDR, "vm_create_machine: identity map page"),
	IOCTL(KVM_CREATE_IRQCHIP, "vm_create_machine: in-kernel PIC/IOAPIC/LAPIC"),
	IOCTL(KVM_CREATE_PIT2, "vm_create_machine: in-kernel PIT"),
	IOCTL(KVM_CREATE_VCPU, "vcpu_create: one fd per vCPU"),
	IOCTL(KVM_REGISTER_COALESCED_MMIO, "vm_setup_cring: the UART's THR port is batched "
	      "(coalesced port I/O) for the VM's life"),
	/* ioctls: vCPU fds, configured by the main thread before vm_start */
	IOCTL(KVM_SET_CPUID2, "vm_setup_vcpu: filtered CPUID"),
	IOCTL(KVM_SET_MSRS, "vm_setup_msrs: boot MSRs"),
	IOCTL(KVM_SET_REGS, "vm_setup_vcpu: boot registers"),
	IOCTL(KVM_SET_SREGS, "vm_setup_vcpu: boot segments, paging"),
	IOCTL(KVM_SET_FPU, "vm_setup_vcpu: FPU state"),
	IOCTL(KVM_GET_LAPIC, "vm_setup_vcpu: LINT0/LINT1"),
	IOCTL(KVM_SET_LAPIC, "vm_setup_vcpu: LINT0/LINT1"),
	/* ioctls: tap (PUT /network-interfaces, device creation) */
	IOCTL(TUNSETIFF, "config_net_open (PUT /network-interfaces): attach to the named tap"),
	IOCTL(TUNGETIFF, "config_net_open: refuse a tap that TUNSETIFF only just created "
	      "(no IFF_PERSIST: it did not exist)"),
	IOCTL(TUNSETVNETHDRSZ, "devices_add_net (InstanceStart): virtio_net_hdr_v1 size"),
	/* ioctls: terminal (serial console on stdin) */
	IOCTL(TCGETS, "vm_term_raw (vm_start): isatty/tcgetattr of stdin"),
};

static const struct sc_rule seccomp_vcpu_rules[] = {
	IOCTL(KVM_RUN, "vcpu_thread: the run loop"),
	IOCTL(KVM_GET_REGS, "vcpu_dump_regs on a fatal exit"),
	IOCTL(KVM_GET_SREGS, "vcpu_dump_regs on a fatal exit"),
	IOCTL(KVM_IRQ_LINE, "serial: the UART's interrupt level after a port access (ISA IRQ 4)"),
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
	ALLOW(gettid, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's thread ids"),
	ALLOW(getpid, "ASan/UBSan builds (make SAN=1): reports"),
	ALLOW(sched_yield, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's spin locks"),
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

#define SC_NKINDS 3

enum sc_mode { SC_UNSET, SC_NONE, SC_FILTER };

static enum sc_mode sc_mode;
static struct sock_fprog sc_prog[SC_NKINDS];	/* .len 0: nothing to install */

#ifndef SECCOMP_GEN
/* The built-in lists, compiled to BPF at build time by this file built as
 * build/seccomp-gen (-DSECCOMP_GEN): build/gen/seccomp_default.c. Loading
 * them costs no libseccomp work at start-up. */
extern const struct sock_filter seccomp_default_main[], seccomp_default_vcpu[],
	seccomp_default_main_running[];
extern const unsigned short seccomp_default_main_len, seccomp_default_vcpu_len,
	seccomp_default_main_running_len;
#endif

static void sc_progs_free(void)
{
	for (int i = 0; i < SC_NKINDS; i++) {
		free(sc_prog[i].filter);
		sc_prog[i].filter = NULL;
		sc_prog[i].len = 0;
	}
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
	if (r->n_cmp > SC_MAX_ARGS)
		return -EINVAL;
	for (unsigned i = 0; i < r->n_cmp; i++) {
		c[i].arg = r->cmp[i].arg;
		c[i].op = r->cmp[i].op;
		c[i].datum_a = r->cmp[i].a;
		c[i].datum_b = r->cmp[i].b;
	}
	return seccomp_rule_add_exact_array(ctx, r->action ? r->action : action, r->nr,
					    r->n_cmp, c);
}

/* Compile into *prog the rules of lists[0..n), with the default and filter
 * actions of lists[0]. vcpu: for a filter that the vCPU threads inherit, the
 * rules of the vcpu list that allow, and the calls that install the vCPU
 * filter, are merged in (NULL otherwise). */
static int sc_compile(const struct sc_list *const *lists, unsigned n, const struct sc_list *vcpu,
		      struct sock_fprog *prog)
{
	const struct sc_list *l = lists[0];
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
	for (unsigned k = 0; k < n; k++) {
		for (unsigned i = 0; i < lists[k]->n; i++) {
			const struct sc_rule *r = &lists[k]->rules[i];

			ret = sc_add_rule(ctx, l->default_action, l->filter_action, r);
			if (ret) {
				char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, r->nr);
				log_error("seccomp: rule %u (%s): %s", i, name ? name : "?",
					  strerror(-ret));
				free(name);
				goto out;
			}
		}
	}
	if (vcpu) {
		static const struct sc_rule install[] = {
			ALLOW_IF(seccomp, 0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER, "vCPU filter"),
			ALLOW_IF(prctl, 0, SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, "vCPU filter"),
		};
		for (unsigned i = 0; i < vcpu->n; i++) {
			const struct sc_rule *r = &vcpu->rules[i];
			uint32_t act = r->action ? r->action : vcpu->filter_action;

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

/* Replace the programs by p[] (taken over; a .len of 0 installs nothing). */
static void sc_set_progs(struct sock_fprog p[SC_NKINDS])
{
	sc_progs_free();
	for (int i = 0; i < SC_NKINDS; i++)
		sc_prog[i] = p[i];
	sc_mode = SC_FILTER;
}

#define SC_LIST(arr) { .default_action = SCMP_ACT_TRAP, .filter_action = SCMP_ACT_ALLOW, \
		       .n = sizeof(arr) / sizeof(arr[0]), .rules = (struct sc_rule *)arr }

/* The built-in programs, compiled from the lists (seccomp-gen, unit test). */
static int sc_compile_default(struct sock_fprog p[SC_NKINDS])
{
	static const struct sc_list main_l = SC_LIST(seccomp_main_rules),
		boot_l = SC_LIST(seccomp_main_boot_rules),
		running_l = SC_LIST(seccomp_main_running_rules),
		vcpu_l = SC_LIST(seccomp_vcpu_rules);
	static const struct sc_list *const boot[] = { &main_l, &boot_l },
		*const running[] = { &main_l, &running_l }, *const vcpu[] = { &vcpu_l };
	int ret;

	memset(p, 0, SC_NKINDS * sizeof(*p));
	ret = sc_compile(boot, 2, &vcpu_l, &p[SECCOMP_THREAD_MAIN]);
	if (!ret)
		ret = sc_compile(vcpu, 1, NULL, &p[SECCOMP_THREAD_VCPU]);
	if (!ret)
		ret = sc_compile(running, 2, NULL, &p[SECCOMP_THREAD_MAIN_RUNNING]);
	if (ret)
		for (int i = 0; i < SC_NKINDS; i++)
			free(p[i].filter);
	return ret;
}

#ifdef SECCOMP_GEN
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
	struct sock_fprog p[SC_NKINDS];
	int ret = sc_compile_default(p);
	if (ret) {
		fprintf(stderr, "seccomp-gen: compiling the built-in filters: %s\n", strerror(-ret));
		return 1;
	}
	printf("/* Generated by build/seccomp-gen from src/seccomp.c: do not edit. */\n"
	       "#include <linux/filter.h>\n\n");
	sc_print_prog("seccomp_default_main", &p[SECCOMP_THREAD_MAIN]);
	sc_print_prog("seccomp_default_vcpu", &p[SECCOMP_THREAD_VCPU]);
	sc_print_prog("seccomp_default_main_running", &p[SECCOMP_THREAD_MAIN_RUNNING]);
	for (int i = 0; i < SC_NKINDS; i++)
		free(p[i].filter);
	return fflush(stdout) == 0 ? 0 : 1;
}
#else
/* A copy of a precompiled program with tgkill's tgid placeholder replaced
 * by pid. libseccomp compares a 64-bit argument as two 32-bit halves: the
 * placeholder is the k of exactly one "jeq" per program that has the tgkill
 * rule (the upper half is compared with 0). -EINVAL if the count is not
 * `want`, which would mean the lists and this code disagree. */
static int sc_copy_patched(const struct sock_filter *src, unsigned short len, unsigned want,
			   uint32_t pid, struct sock_fprog *out)
{
	struct sock_filter *f = malloc(len * sizeof(*f));
	unsigned found = 0;

	if (!f)
		return -ENOMEM;
	memcpy(f, src, len * sizeof(*f));
	for (unsigned i = 0; i < len; i++) {
		if (f[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && f[i].k == SC_PID_PLACEHOLDER) {
			f[i].k = pid;
			found++;
		}
	}
	if (found != want) {
		free(f);
		return -EINVAL;
	}
	out->filter = f;
	out->len = len;
	return 0;
}

int seccomp_configure_default(void)
{
	struct sock_fprog p[SC_NKINDS] = { { 0, NULL } };
	uint32_t pid = (uint32_t)getpid();
	int ret;

	ret = sc_copy_patched(seccomp_default_main, seccomp_default_main_len, 1, pid,
			      &p[SECCOMP_THREAD_MAIN]);
	if (!ret)
		ret = sc_copy_patched(seccomp_default_vcpu, seccomp_default_vcpu_len, 0, pid,
				      &p[SECCOMP_THREAD_VCPU]);
	if (!ret)
		ret = sc_copy_patched(seccomp_default_main_running,
				      seccomp_default_main_running_len, 1, pid,
				      &p[SECCOMP_THREAD_MAIN_RUNNING]);
	if (ret) {
		for (int i = 0; i < SC_NKINDS; i++)
			free(p[i].filter);
		return ret;
	}
	sc_set_progs(p);
	return 0;
}

int seccomp_default_is_current(void)
{
	static const struct sock_filter *const built[SC_NKINDS] = {
		[SECCOMP_THREAD_MAIN] = seccomp_default_main,
		[SECCOMP_THREAD_VCPU] = seccomp_default_vcpu,
		[SECCOMP_THREAD_MAIN_RUNNING] = seccomp_default_main_running,
	};
	const unsigned short built_len[SC_NKINDS] = {
		[SECCOMP_THREAD_MAIN] = seccomp_default_main_len,
		[SECCOMP_THREAD_VCPU] = seccomp_default_vcpu_len,
		[SECCOMP_THREAD_MAIN_RUNNING] = seccomp_default_main_running_len,
	};
	struct sock_fprog p[SC_NKINDS];
	int ret = sc_compile_default(p);

	if (ret)
		return ret;
	ret = 1;
	for (int i = 0; i < SC_NKINDS; i++) {
		if (p[i].len != built_len[i] ||
		    memcmp(p[i].filter, built[i], p[i].len * sizeof(struct sock_filter)))
			ret = 0;
		free(p[i].filter);
	}
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

/* A string from the file, fit for a one-line message: at most 48 bytes,
 * control characters and non-ASCII bytes shown as '?'. */
static const char *sc_text(const char *s, char buf[52])
{
	size_t n = 0;

	for (; s[n] && n < 48; n++)
		buf[n] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
	if (s[n]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* The member f of an object whose keys are names[] (NULL-ended, at most 32):
 * its index in names, or -EINVAL naming an unknown or repeated key. cJSON
 * keeps every copy of a repeated key, and each key describes one thing (a
 * second "args" once overran the argument array): refuse repeats. */
static int sc_key(const cJSON *f, const char *const *names, uint32_t *seen, const char *where,
		  char *err, size_t errlen)
{
	char t[52];

	for (unsigned i = 0; names[i]; i++) {
		if (strcmp(f->string, names[i]))
			continue;
		if (*seen & (1u << i))
			return sc_bad(err, errlen, "%s: duplicate key \"%s\"", where, names[i]);
		*seen |= 1u << i;
		return (int)i;
	}
	return sc_bad(err, errlen, "%s: unknown field \"%s\"", where, sc_text(f->string, t));
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
	char t[52];

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
			return sc_bad(err, errlen, "%s: unknown action \"%s\"", where,
				      sc_text(s, t));
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
	static const char *const keys[] = { "index", "type", "op", "val", "comment", NULL };
	enum { K_INDEX, K_TYPE, K_OP, K_VAL };
	const cJSON *f;
	bool dword = false;
	uint64_t idx = 0, val = 0, mask = 0;
	uint32_t seen = 0;
	int op = 0, k;

	if (!cJSON_IsObject(a))
		return sc_bad(err, errlen, "%s: each args entry must be an object", where);
	cJSON_ArrayForEach(f, a) {
		if ((k = sc_key(f, keys, &seen, where, err, errlen)) < 0)
			return k;
		if (k == K_INDEX) {
			if (!sc_u64(f, 5, &idx))
				return sc_bad(err, errlen, "%s: \"index\" must be 0..5", where);
		} else if (k == K_TYPE) {
			if (!cJSON_IsString(f) || (strcmp(f->valuestring, "dword") &&
						   strcmp(f->valuestring, "qword")))
				return sc_bad(err, errlen, "%s: \"type\" must be \"dword\" or \"qword\"",
					      where);
			dword = !strcmp(f->valuestring, "dword");
		} else if (k == K_OP) {
			static const struct { const char *n; int op; } ops[] = {
				{ "eq", SCMP_CMP_EQ }, { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT },
				{ "le", SCMP_CMP_LE }, { "gt", SCMP_CMP_GT }, { "ge", SCMP_CMP_GE },
			};
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
		} else if (k == K_VAL) {
			if (!sc_u64(f, UINT64_MAX, &val))
				return sc_bad(err, errlen, "%s: \"val\" must be a non-negative integer "
					      "(at most 2^53)", where);
		}
	}
	if ((seen & (1u << K_INDEX | 1u << K_OP | 1u << K_VAL)) !=
	    (1u << K_INDEX | 1u << K_OP | 1u << K_VAL))
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

/* One rule: { "syscall": NAME, "comment": ..., "args": [...] } into r. */
static int sc_parse_rule(const cJSON *o, const char *where, struct sc_rule *r, char *err,
			 size_t errlen)
{
	static const char *const keys[] = { "syscall", "args", "comment", NULL };
	enum { K_SYSCALL, K_ARGS };
	const cJSON *g, *a;
	uint32_t seen = 0;
	char t[52];
	int k, ret;

	if (!cJSON_IsObject(o))
		return sc_bad(err, errlen, "%s must be an object", where);
	cJSON_ArrayForEach(g, o) {
		if ((k = sc_key(g, keys, &seen, where, err, errlen)) < 0)
			return k;
		if (k == K_SYSCALL) {
			if (!cJSON_IsString(g))
				return sc_bad(err, errlen, "%s.syscall must be a string", where);
			r->nr = seccomp_syscall_resolve_name(g->valuestring);
			if (r->nr == __NR_SCMP_ERROR)
				return sc_bad(err, errlen, "%s: unknown syscall \"%s\"", where,
					      sc_text(g->valuestring, t));
		} else if (k == K_ARGS) {
			if (!cJSON_IsArray(g))
				return sc_bad(err, errlen, "%s.args must be an array", where);
			cJSON_ArrayForEach(a, g) {
				if (r->n_cmp >= SC_MAX_ARGS)
					return sc_bad(err, errlen, "%s.args: more than %d entries",
						      where, SC_MAX_ARGS);
				ret = sc_parse_arg(a, where, &r->cmp[r->n_cmp], err, errlen);
				if (ret)
					return ret;
				r->n_cmp++;
			}
		}
	}
	if (!(seen & 1u << K_SYSCALL))
		return sc_bad(err, errlen, "%s: missing \"syscall\"", where);
	return 0;
}

/* Parse one thread category into l (rules appended). first: set the
 * default/filter actions from it. */
static int sc_parse_list(const cJSON *o, const char *name, struct sc_list *l, bool first,
			 char *err, size_t errlen)
{
	static const char *const keys[] = { "default_action", "filter_action", "filter", NULL };
	enum { K_DEFAULT, K_FILTER_ACTION, K_FILTER };
	const cJSON *f, *filter = NULL;
	uint32_t def = 0, fact = 0, seen = 0;
	char where[96];
	int ret, k, idx = 0;

	if (!cJSON_IsObject(o))
		return sc_bad(err, errlen, "\"%s\" must be an object", name);
	cJSON_ArrayForEach(f, o) {
		if ((k = sc_key(f, keys, &seen, name, err, errlen)) < 0)
			return k;
		snprintf(where, sizeof(where), "%s.%s", name, keys[k]);
		if (k == K_DEFAULT) {
			ret = sc_action(f, where, &def, err, errlen);
			if (ret)
				return ret;
		} else if (k == K_FILTER_ACTION) {
			ret = sc_action(f, where, &fact, err, errlen);
			if (ret)
				return ret;
		} else {
			if (!cJSON_IsArray(f))
				return sc_bad(err, errlen, "%s must be an array", where);
			filter = f;
		}
	}
	if (seen != (1u << K_DEFAULT | 1u << K_FILTER_ACTION | 1u << K_FILTER))
		return sc_bad(err, errlen, "\"%s\" needs \"default_action\", \"filter_action\" and "
			      "\"filter\"", name);
	if (first) {
		l->default_action = def;
		l->filter_action = fact;
	}
	cJSON_ArrayForEach(f, filter) {
		struct sc_rule *r;

		snprintf(where, sizeof(where), "%s.filter[%d]", name, idx++);
		if (l->n >= SC_MAX_RULES)
			return sc_bad(err, errlen, "%s: too many rules (at most %d)", where,
				      SC_MAX_RULES);
		r = &l->rules[l->n];
		memset(r, 0, sizeof(*r));
		r->action = fact;
		ret = sc_parse_rule(f, where, r, err, errlen);
		if (ret)
			return ret;
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

/* The parsed file's lists into m and v; err without the file name. */
static int sc_parse_file(const cJSON *root, struct sc_list *m, struct sc_list *v, char *err,
			 size_t errlen)
{
	static const char *const keys[] = { "main", "vcpu", "vmm", "api", NULL };
	enum { K_MAIN, K_VCPU, K_VMM, K_API };
	const uint32_t ours = 1u << K_MAIN | 1u << K_VCPU,
		       fc = 1u << K_VMM | 1u << K_API | 1u << K_VCPU;
	const cJSON *f;
	uint32_t seen = 0;
	int ret;

	if (!cJSON_IsObject(root))
		return sc_bad(err, errlen, "not a JSON object");
	cJSON_ArrayForEach(f, root) {
		if ((ret = sc_key(f, keys, &seen, "top level", err, errlen)) < 0)
			return ret;
	}
	/* Exactly {main, vcpu} or Firecracker's {vmm, api, vcpu}. */
	if (seen != ours && seen != fc)
		return sc_bad(err, errlen, "%s (expected \"main\" and \"vcpu\", or \"vmm\", \"api\" "
			      "and \"vcpu\")", (seen & 1u << K_MAIN) && (seen & (1u << K_VMM | 1u << K_API)) ?
			      "mixes the two sets of thread categories" : "missing a thread category");
	if (seen == fc) {
		ret = sc_parse_list(cJSON_GetObjectItem(root, "vmm"), "vmm", m, true, err, errlen);
		if (!ret)
			ret = sc_parse_list(cJSON_GetObjectItem(root, "api"), "api", m, false, err,
					    errlen);
	} else {
		ret = sc_parse_list(cJSON_GetObjectItem(root, "main"), "main", m, true, err, errlen);
	}
	if (!ret)
		ret = sc_parse_list(cJSON_GetObjectItem(root, "vcpu"), "vcpu", v, true, err, errlen);
	return ret;
}

int seccomp_configure_file(const char *path, char *err, size_t errlen)
{
	struct sc_list m = { 0 }, v = { 0 };
	const struct sc_list *main_l[] = { &m }, *vcpu_l[] = { &v };
	struct sock_fprog p[SC_NKINDS] = { { 0, NULL } };
	cJSON *root = NULL;
	char *text, why[200];
	int ret;

	text = sc_read_file(path, err, errlen, &ret);
	if (!text)
		return ret;
	m.rules = calloc(SC_MAX_RULES, sizeof(*m.rules));
	v.rules = calloc(SC_MAX_RULES, sizeof(*v.rules));
	if (!m.rules || !v.rules) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	root = cJSON_Parse(text);
	ret = sc_parse_file(root, &m, &v, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	/* A file has no post-boot category: SECCOMP_THREAD_MAIN_RUNNING stays
	 * empty and the main filter stays as it is once the VM runs. */
	ret = sc_compile(main_l, 1, &v, &p[SECCOMP_THREAD_MAIN]);
	if (!ret)
		ret = sc_compile(vcpu_l, 1, NULL, &p[SECCOMP_THREAD_VCPU]);
	if (ret) {
		free(p[SECCOMP_THREAD_MAIN].filter);
		snprintf(err, errlen, "%s: compiling the filters: %s", path, strerror(-ret));
		goto out;
	}
	sc_set_progs(p);
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
	if (sc_mode != SC_FILTER || (unsigned)kind >= SC_NKINDS)
		return -EINVAL;
	if (!sc_prog[kind].len)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Flags 0: this thread only (no TSYNC); each thread installs its own. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sc_prog[kind]) < 0)
		return -errno;
	return 0;
}

size_t seccomp_prog_len(enum seccomp_thread kind)
{
	if (sc_mode != SC_FILTER || (unsigned)kind >= SC_NKINDS)
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
