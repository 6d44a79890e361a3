// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp_rules.c - the built-in allowlists, as data, and which of them make
 * each thread kind's program (sc_compile_default). seccomp-gen compiles them
 * to BPF when ember is built; the unit test checks that the programs built
 * into ember are still what these lists compile to.
 *
 * The lists name, for every syscall (and every ioctl request), who needs it.
 * They were written from the code paths of the main thread (evloop, api,
 * api_http, vm build, virtio blk/net/tap, log, metrics) and the vCPU thread
 * (vcpu.c run loop, MMIO/PIO handlers: serial, i8042, virtio-mmio
 * registers); refine them with `strace -f` of a full boot.
 */
#include "seccomp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "vcpu.h"

#define ALLOW(sys, why) { .nr = SCMP_SYS(sys), .who = why }
#define ALLOW_IF(sys, i, o, v, why) \
	{ .nr = SCMP_SYS(sys), .n_cmp = 1, .cmp = { { .arg = i, .op = o, .a = v } }, .who = why }
#define ALLOW_MASKED(sys, i, m, v, why) \
	{ .nr = SCMP_SYS(sys), .n_cmp = 1, \
	  .cmp = { { .arg = i, .op = SCMP_CMP_MASKED_EQ, .a = m, .b = v } }, .who = why }
#define IOCTL(req, why) ALLOW_IF(ioctl, 1, SCMP_CMP_EQ, (uint64_t)(req), why)
/* Not allowed, but answered with an error instead of the filter's default. */
#define FAIL(sys, e, why) { .nr = SCMP_SYS(sys), .action = SCMP_ACT_ERRNO(e), .who = why }

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

#define SC_LIST(arr) { .default_action = SCMP_ACT_TRAP, .filter_action = SCMP_ACT_ALLOW, \
		       .n = sizeof(arr) / sizeof(arr[0]), .rules = (struct sc_rule *)arr }

int sc_compile_default(struct sock_fprog p[SC_NKINDS])
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
