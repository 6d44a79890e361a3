// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp_rules.c - the built-in allowlists, as data, and which of them make
 * each thread kind's program (sc_compile_default). seccomp-gen compiles them
 * to BPF when ember is built; the unit test checks that the programs built
 * into ember are still what these lists compile to.
 *
 * Every rule names who needs the call: what the code does, and the function
 * that does it. They were checked against the code of the main thread
 * (evloop, api, api_http, the VM build, virtio blk/net/tap, log, metrics) and
 * of the vCPU thread (vcpu.c run loop, MMIO/PIO handlers: serial, i8042,
 * virtio-mmio registers), and against strace of the unit test under the
 * filters; tests/jailer/seccomp_audit.sh lists what a real boot calls.
 * "ASan/UBSan builds" are calls of the sanitizer runtime (make SAN=1) that
 * ember's own code does not make.
 */
#include "src/seccomp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "src/vcpu.h"

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
 * input and output) and what it does when ember exits (vm_destroy,
 * api_destroy, metrics_stop), and PUT /snapshot/create on the paused VM.
 */
static const struct sc_rule seccomp_main_rules[] = {
	/* I/O on fds the main thread owns */
	ALLOW(read, "evloop callbacks: eventfds (queue notifiers, evloop_stop), timerfds (rate "
	      "limiters, metrics, API idle timer, UART ring drain), the signalfd, stdin (console "
	      "input)"),
	ALLOW(write, "eventfd writes (irqfds, evloop_stop); log and metrics lines; console "
	      "output drained from the UART ring; the SIGSYS report"),
	ALLOW(readv, "net: rx from the tap into a descriptor chain"),
	ALLOW(writev, "net: tx to the tap from a descriptor chain"),
	ALLOW(preadv, "blk: reads at a sector offset"),
	ALLOW(pwritev, "blk: writes at a sector offset; guest_mem_dump (snapshot create): memory "
	      "file pages at their offsets"),
	ALLOW(fdatasync, "blk: VIRTIO_BLK_T_FLUSH with cache_type Writeback"),
	ALLOW(io_uring_enter, "blk, io_engine Async (virtio/blk_uring.c): blk_uring_submit of "
	      "each batch of requests, blk_uring_reap (a CQ overflow flush), blk_uring_drain "
	      "(PATCH /drives, pause/snapshot, teardown); the ring runs only reads, writes and "
	      "fdatasync of its one registered file (io_uring restrictions)"),
	ALLOW_IF(io_uring_register, 1, SCMP_CMP_EQ, IORING_REGISTER_FILES_UPDATE,
		 "blk_uring_set_file (PATCH /drives of an Async drive): the new backing file "
		 "replaces the ring's registered one, the only register operation its "
		 "restrictions leave"),
	ALLOW(lseek, "blk_size: the drive's size, at blk_create (InstanceStart) and blk_update "
	      "(PATCH /drives)"),
	ALLOW(close, "api_http: closed connections; PATCH /drives: the old backing file; "
	      "vm/device teardown"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_DUPFD_CLOEXEC, "devices_entry_open (InstanceStart), "
		 "devices_update_drive (PATCH /drives, through vm_update_drive): the running device's own copy of a drive "
		 "or tap fd; console_setup (InstanceStart): the UART's copy of serial_out_path's fd"),
	/* util_open_file (PUT /boot-source, /drives, InstanceStart's kernel and
	 * initrd, and PATCH /drives once the VM runs): the file type of what was
	 * opened, then O_NONBLOCK off again */
	ALLOW(newfstatat, "util_open_file, util_open_output (PUT /serial): file type; InstanceStart: kernel and initrd sizes "
	      "(x86_load_kernel, guest_mem_load_file); glibc >= 2.33 makes stat and fstat "
	      "newfstatat"),
	ALLOW(fstat, "the same with glibc < 2.33; the sanitizer runtime's internal fstat"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_GETFL, "util_open_file; console_setup, "
		 "console_watch_stdin: O_NONBLOCK on stdout and stdin"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_SETFL, "util_open_file: O_NONBLOCK off once the "
		 "file type is known; console_setup, console_watch_stdin: O_NONBLOCK on "
		 "stdout and stdin"),
	/* event loop and API socket */
	ALLOW(epoll_wait, "evloop_run"),
	ALLOW(ppoll, "console_destroy (vm teardown): waits, a few seconds at most, for a slow "
	      "stdout or serial_out_path to take the guest's last console output"),
	ALLOW(epoll_ctl, "evloop_add/mod/del; net: rx watch on and off"),
	ALLOW(accept4, "api_http: new API connections"),
	ALLOW(recvfrom, "api_http: recv() on API connections"),
	ALLOW(sendto, "api_http: send() of responses on API connections"),
	ALLOW(shutdown, "api_http: half-close after an error response"),
	ALLOW(timerfd_create, "ratelimit_init (devices at InstanceStart), vm_start (the UART "
	      "ring's drain timer), metrics_start (right after vm_start: the 60 s flush timer)"),
	ALLOW(timerfd_settime, "rate limiters (armed, and disarmed by PATCH), metrics flush, "
	      "UART ring drain, api_http's idle timer"),
	/* memory: never executable */
	ALLOW_MASKED(mmap, 2, PROT_EXEC, 0, "malloc; guest RAM (guest_mem_init) and kvm_run "
		     "(vcpu_create) at InstanceStart; the memory file at a snapshot load and, "
		     "with --snapshot-prefetch huge, anonymous chunks over it (MAP_FIXED, "
		     "guest_mem_fill_huge); thread stacks; PROT_EXEC refused"),
	ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0, "malloc arenas, thread stack guard pages; "
		     "PROT_EXEC refused"),
	ALLOW(munmap, "free(); guest_mem_init trims its mapping; vm teardown (guest RAM, "
	      "kvm_run); thread stacks"),
	ALLOW(mremap, "realloc() of a block malloc mapped on its own (API connection buffers, "
	      "cJSON output)"),
	ALLOW(brk, "malloc"),
	ALLOW(madvise, "guest_mem_init (InstanceStart): MADV_HUGEPAGE, MADV_DONTDUMP on guest "
	      "RAM; ws_session_prefetch (snapshot load, --snapshot-prefetch): MADV_WILLNEED, "
	      "MADV_POPULATE_READ on the working set; MADV_DONTNEED: free() in a thread's arena, glibc releasing the stack of "
	      "vm_prepare's thread as it ends"),
	/* threads and signals */
	ALLOW(futex, "locks (devices, log, vCPU state), vcpu_pause_all's wait, pthread_join of "
	      "vm_prepare's thread, pthread_timedjoin_np of vCPU threads"),
	{ .nr = SCMP_SYS(tgkill), .n_cmp = 2,
	  .cmp = { { .arg = 0, .op = SCMP_CMP_EQ, .a = SC_PID_PLACEHOLDER },
		   { .arg = 2, .op = SCMP_CMP_EQ, .a = VCPU_KICK_SIGNAL } },
	  .who = "vcpu_kick (pause, stop): pthread_kill of a vCPU thread; only ember's own "
		 "threads (tgid = ember's pid) and only VCPU_KICK_SIGNAL" },
	ALLOW(getpid, "pthread_kill: the tgkill tgid (glibc does not cache the pid); "
	      "ASan/UBSan builds: reports"),
	ALLOW(gettid, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's thread ids"),
	ALLOW(exit_group, "process exit (guest reset, fatal errors, SIGTERM), the SIGSYS "
	      "report's _exit(148)"),
	ALLOW(rt_sigprocmask, "pthread_kill (vcpu_kick) and pthread_create block signals around "
	      "tgkill and clone; vcpu_start: the kick signal stays blocked outside vCPU threads; "
	      "glibc at the start and end of a thread"),
	ALLOW(rt_sigreturn, "return from the kick signal's handler on a vCPU thread kicked "
	      "before it added its own filter"),
	ALLOW(restart_syscall, "the kernel's restart of a timed wait (vcpu_pause_all, "
	      "vcpu_stop_all) interrupted by a stop signal"),
	ALLOW(clock_gettime, "timestamps (log, metrics, rate limiters, timeline), the pause and "
	      "stop deadlines (the vDSO's syscall fallback)"),
	ALLOW(gettimeofday, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's clock "
	      "(ember's own code uses clock_gettime)"),
	ALLOW(sched_yield, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's spin locks"),
	ALLOW(sigaltstack, "ASan/UBSan builds (make SAN=1): _exit; the alternate signal stack "
	      "of each new thread"),
	/* ioctls */
	IOCTL(KVM_IRQ_LINE, "serial_input (console input), the UART ring's drain: the UART's "
	      "interrupt level (ISA IRQ 4)"),
	IOCTL(KVM_IOEVENTFD, "devices_attach (InstanceStart) assigns the queue notifiers, "
	      "devices_entry_free (vm_destroy) deassigns them"),
	IOCTL(KVM_IRQFD, "devices_attach, kvm_irqfd_new (InstanceStart) assign the device "
	      "interrupts, devices_entry_free (vm_destroy) deassigns them"),
	IOCTL(TUNSETOFFLOAD, "net_apply_offload: the offloads the guest acked, applied at the "
	      "next queue event after it activates or resets the device (not on the vCPU)"),
	IOCTL(TCSETS, "console_term_raw at vm_start, console_term_restore at exit (tcsetattr TCSANOW)"),
	/* PUT /snapshot/create on the paused VM (vm_snapshot_create): reading
	 * the state of the VM and of each vCPU (x86_state.c), the dirty log,
	 * and writing the two files */
	IOCTL(KVM_CHECK_EXTENSION, "x86_vcpu_save: XSAVE area size, XCRs (snapshot create); "
	      "before, kvm_open and console_setup_ring"),
	IOCTL(KVM_GET_MSR_INDEX_LIST, "x86_vcpu_save: the MSRs KVM can save (snapshot create)"),
	IOCTL(KVM_GET_REGS, "x86_vcpu_save (snapshot create); vcpu_dump_regs"),
	IOCTL(KVM_GET_SREGS, "x86_vcpu_save (snapshot create); vcpu_dump_regs, x86_cpu_setup"),
	IOCTL(KVM_GET_FPU, "x86_vcpu_save (snapshot create)"),
	IOCTL(KVM_GET_XSAVE, "x86_vcpu_save (snapshot create): the XSAVE area"),
	IOCTL(KVM_GET_XSAVE2, "x86_vcpu_save (snapshot create): an XSAVE area above 4 KiB"),
	IOCTL(KVM_GET_XCRS, "x86_vcpu_save (snapshot create)"),
	IOCTL(KVM_GET_LAPIC, "x86_vcpu_save (snapshot create); x86_cpu_setup"),
	IOCTL(KVM_GET_MP_STATE, "x86_vcpu_save (snapshot create)"),
	IOCTL(KVM_GET_VCPU_EVENTS, "x86_vcpu_save (snapshot create)"),
	IOCTL(KVM_GET_DEBUGREGS, "x86_vcpu_save (snapshot create)"),
	IOCTL(KVM_GET_TSC_KHZ, "x86_vcpu_save (snapshot create); x86_state_host_check and "
	      "x86_vcpu_restore (snapshot load): the TSC frequency"),
	IOCTL(KVM_GET_MSRS, "x86_vcpu_save (snapshot create); x86_cpu_set_template_msrs: an MSR a "
	      "CPU template (T2S, T2CL) rewrites, as KVM set it for the vCPU"),
	IOCTL(KVM_GET_CPUID2, "x86_vcpu_save (snapshot create)"),
	IOCTL(KVM_GET_CLOCK, "x86_vm_save (snapshot create): the KVM clock"),
	IOCTL(KVM_GET_PIT2, "x86_vm_save (snapshot create)"),
	IOCTL(KVM_GET_IRQCHIP, "x86_vm_save (snapshot create): PIC and IOAPIC"),
	IOCTL(KVM_GET_DIRTY_LOG, "kvm_dirty_log (snapshot create with track_dirty_pages): the "
	      "pages the guest wrote"),
	ALLOW(ftruncate, "guest_mem_dump (snapshot create): the memory file's size (sparse)"),
	ALLOW(pread64, "guest_mem_dump (snapshot create): /proc/self/pagemap, to skip pages the "
	      "guest never touched; guest_mem_resident (PATCH /vm Paused with "
	      "--snapshot-prefetch): the pages a restored guest touched; before boot: kernel, "
	      "initrd, state file, working set record, its prefetch (--snapshot-prefetch read)"),
	ALLOW(rename, "ws_session_pause (the first PATCH /vm Paused after a load with "
	      "--snapshot-prefetch): the working set record, written to a temporary file, "
	      "replaces <snapshot_path>.ws at once (clones of one snapshot may record together)"),
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
	ALLOW_MASKED(openat, 2, O_ACCMODE | (O_TMPFILE & ~O_DIRECTORY), O_WRONLY,
		     "snapshot create: the state and memory files, write-only (created, and "
		     "truncated for the state file and a Full memory file); never read-write, "
		     "never O_TMPFILE"),
};

/*
 * The main thread until the VM runs, with seccomp_main_rules: the
 * configuration requests (they open files, the tap), InstanceStart (builds
 * the VM and starts the vCPU threads), and the exit before a VM ever ran.
 * vm_prepare's thread installs this filter on itself, and each vCPU thread
 * runs under it until it adds its own. vm_start() then installs the filter of
 * seccomp_main_rules and seccomp_main_running_rules on top
 * (SECCOMP_THREAD_MAIN_RUNNING), and none of these work any more.
 */
static const struct sc_rule seccomp_main_boot_rules[] = {
	ALLOW(openat, "PUT /boot-source (checks the files), /drives, /logger, /metrics, /serial "
	      "(created if missing), /network-interfaces (/dev/net/tun); InstanceStart: kernel and initrd "
	      "(vm_load_kernel), /dev/kvm (kvm_open)"),

	ALLOW(unlink, "api_destroy: remove the API socket at exit"),
	ALLOW(getrandom, "vmgenid_random: the VM generation id, at InstanceStart (vmgenid_setup) "
	      "and at every snapshot load (vmgenid_regenerate)"),
	ALLOW(eventfd2, "InstanceStart: devices_attach (queue notifiers, device interrupts), "
	      "kvm_irqfd_new (the i8042's interrupt), blk_uring_create (an Async drive's "
	      "completions)"),
	/* io_engine Async (virtio/blk_uring.c): rings are made before the VM runs */
	ALLOW(io_uring_setup, "PUT /drives with io_engine Async: blk_uring_probe (a ring made "
	      "and closed); InstanceStart: blk_uring_create, one ring per Async drive"),
	ALLOW_IF(io_uring_register, 1, SCMP_CMP_EQ, IORING_REGISTER_RESTRICTIONS,
		 "blk_uring_probe, blk_uring_create: the ring's allowed operations"),
	ALLOW_IF(io_uring_register, 1, SCMP_CMP_EQ, IORING_REGISTER_FILES,
		 "blk_uring_create: the backing file, the only one the ring may use"),
	ALLOW_IF(io_uring_register, 1, SCMP_CMP_EQ, IORING_REGISTER_EVENTFD,
		 "blk_uring_create: the completion eventfd"),
	ALLOW_IF(io_uring_register, 1, SCMP_CMP_EQ, IORING_REGISTER_ENABLE_RINGS,
		 "blk_uring_create: enable the ring once restricted"),
	ALLOW_IF(fcntl, 1, SCMP_CMP_EQ, F_SETFD, "kvm_create_machine: FD_CLOEXEC on the VM fd"),
	/* threads: the vCPU threads (vm_prepare's thread is created before any filter) */
	ALLOW_MASKED(clone, 0, CLONE_THREAD, CLONE_THREAD, "vcpu_start (vm_start): "
		     "pthread_create (threads only, never fork)"),
	/* clone3's flags are in memory a filter cannot read: refuse it as an
	 * old kernel would, and glibc's pthread_create falls back to clone. */
	FAIL(clone3, ENOSYS, "pthread_create (glibc >= 2.34) retries with clone"),
	ALLOW(set_robust_list, "glibc: start of each vCPU thread"),
	ALLOW(rseq, "glibc: start of each vCPU thread"),
	ALLOW(exit, "vm_prepare's thread ends; a vCPU thread whose own filter failed"),
	ALLOW(rt_sigaction, "vcpu_signal_setup (vm_start): the kick signal's handler"),
	ALLOW(sched_getaffinity, "ASan/UBSan builds: thread start (pthread_getattr_np)"),
	/* installing filters: the vCPU threads' own (they inherit this one)
	 * and SECCOMP_THREAD_MAIN_RUNNING */
	ALLOW_IF(seccomp, 0, SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER,
		 "seccomp_install_thread on vm_prepare's and the vCPU threads, and of the "
		 "running VM's main filter"),
	ALLOW_IF(prctl, 0, SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, "seccomp_install_thread"),
	ALLOW_IF(prctl, 0, SCMP_CMP_EQ, PR_SET_NAME, "vcpu_thread: pthread_setname_np, before "
		 "the thread adds its own filter"),
	/* ioctls: /dev/kvm system fd (vm build at InstanceStart) */
	IOCTL(KVM_GET_API_VERSION, "kvm_open: check the KVM API"),
	IOCTL(KVM_CREATE_VM, "kvm_create_machine"),
	IOCTL(KVM_GET_VCPU_MMAP_SIZE, "vcpu_create: kvm_run size"),
	IOCTL(KVM_GET_SUPPORTED_CPUID, "x86_cpu_supported_cpuid: CPUID to filter "
	      "per vCPU"),
	/* ioctls: VM fd */
	IOCTL(KVM_SET_USER_MEMORY_REGION, "vm_setup_slots: guest RAM slots"),
	IOCTL(KVM_SET_TSS_ADDR, "kvm_create_machine: TSS at 0xFFFBD000"),
	IOCTL(KVM_SET_IDENTITY_MAP_ADDR, "kvm_create_machine: identity map page"),
	IOCTL(KVM_CREATE_IRQCHIP, "kvm_create_machine: in-kernel PIC/IOAPIC/LAPIC"),
	IOCTL(KVM_CREATE_PIT2, "kvm_create_machine: in-kernel PIT"),
	IOCTL(KVM_CREATE_VCPU, "vcpu_create: one fd per vCPU"),
	IOCTL(KVM_REGISTER_COALESCED_MMIO, "console_setup_ring: the UART's THR port is batched "
	      "(coalesced port I/O) for the VM's life"),
	/* ioctls: vCPU fds, configured by the main thread before vm_start */
	IOCTL(KVM_SET_CPUID2, "x86_cpu_setup: filtered CPUID (CPU template applied); "
	      "x86_vcpu_restore: the snapshot's"),
	IOCTL(KVM_SET_MSRS, "x86_cpu_set_msrs: boot MSRs; a CPU template's MSRs; x86_vcpu_restore: "
	      "the snapshot's"),
	IOCTL(KVM_SET_REGS, "x86_cpu_setup: boot registers (vCPU 0); x86_vcpu_restore"),
	IOCTL(KVM_SET_SREGS, "x86_cpu_setup: boot segments, paging (vCPU 0); x86_vcpu_restore"),
	IOCTL(KVM_SET_FPU, "x86_cpu_setup: FPU state; x86_vcpu_restore"),
	IOCTL(KVM_SET_LAPIC, "x86_cpu_setup: LINT0/LINT1; x86_vcpu_restore"),
	/* PUT /snapshot/load: the vCPUs' and the VM's state (x86_state.c) */
	IOCTL(KVM_SET_XSAVE, "x86_vcpu_restore (snapshot load)"),
	IOCTL(KVM_SET_XCRS, "x86_vcpu_restore (snapshot load)"),
	IOCTL(KVM_SET_DEBUGREGS, "x86_vcpu_restore (snapshot load)"),
	IOCTL(KVM_SET_MP_STATE, "x86_vcpu_restore (snapshot load)"),
	IOCTL(KVM_SET_VCPU_EVENTS, "x86_vcpu_restore (snapshot load): pending exceptions, "
	      "interrupts, NMIs"),
	IOCTL(KVM_SET_TSC_KHZ, "x86_vcpu_restore (snapshot load): the snapshot's TSC frequency "
	      "when this host's differs"),
	IOCTL(KVM_SET_PIT2, "x86_vm_restore (snapshot load)"),
	IOCTL(KVM_SET_CLOCK, "x86_vm_restore (snapshot load): the KVM clock"),
	IOCTL(KVM_SET_IRQCHIP, "x86_vm_restore (snapshot load): PIC and IOAPIC"),
	/* PUT /snapshot/load with the Uffd backend (uffd_serve) */
	ALLOW(userfaultfd, "uffd_open (snapshot load, Uffd backend): the userfaultfd guest RAM is "
	      "served through"),
	IOCTL(USERFAULTFD_IOC_NEW, "uffd_open: a userfaultfd from /dev/userfaultfd where the "
	      "system call is refused"),
	IOCTL(UFFDIO_API, "uffd_serve: the userfaultfd API handshake"),
	IOCTL(UFFDIO_REGISTER, "uffd_serve: guest RAM registered for missing-page faults"),
	ALLOW_IF(socket, 0, SCMP_CMP_EQ, AF_UNIX, "uffd_serve: the page-fault handler's Unix "
		 "socket (AF_UNIX only)"),
	ALLOW(connect, "uffd_serve: connect to the page-fault handler's socket"),
	ALLOW(sendmsg, "uffd_serve: the mappings and the userfaultfd (SCM_RIGHTS) to the handler"),
	/* ioctls: tap (PUT /network-interfaces, device creation) */
	IOCTL(TUNSETIFF, "tap_open (PUT /network-interfaces): attach to the named tap"),
	IOCTL(TUNGETIFF, "tap_open: refuse a tap that TUNSETIFF only just created "
	      "(no IFF_PERSIST: it did not exist)"),
	IOCTL(TUNSETVNETHDRSZ, "devices_add_net (InstanceStart): virtio_net_hdr_v1 size"),
	/* ioctls: terminal (serial console on stdin) */
	IOCTL(TCGETS, "console_term_raw (vm_start): isatty/tcgetattr of stdin"),
};

static const struct sc_rule seccomp_vcpu_rules[] = {
	IOCTL(KVM_RUN, "vcpu_thread: the run loop"),
	IOCTL(KVM_GET_REGS, "vcpu_dump_regs on a fatal exit"),
	IOCTL(KVM_GET_SREGS, "vcpu_dump_regs on a fatal exit"),
	IOCTL(KVM_IRQ_LINE, "serial: the UART's interrupt level after a port access (ISA IRQ 4)"),
	/* Nothing else: the main thread configures vCPUs before they start;
	 * virtio devices raise IRQs through irqfds (a write); KVM_INTERRUPT is
	 * never needed with the in-kernel irqchip. */
	ALLOW(write, "serial: console output (port writes, the UART ring drained at each exit); "
	      "eventfd writes (irqfds, queue kicks without an ioeventfd, evloop_stop when the "
	      "guest ends the VM); log lines (boot timer, errors); the SIGSYS report"),
	ALLOW(futex, "vcpu: pause condition variable; device, log and UART ring locks shared "
	      "with the main thread"),
	ALLOW(rt_sigprocmask, "glibc blocks signals as the thread ends"),
	ALLOW(rt_sigreturn, "vcpu: return from the kick signal handler"),
	ALLOW(restart_syscall, "the kernel's restart of a timed wait interrupted by a stop "
	      "signal (ember's own waits on this thread have no timeout)"),
	ALLOW(clock_gettime, "log timestamps, boot timer, the serial output's rate limiter (the "
	      "vDSO's syscall fallback)"),
	ALLOW(gettimeofday, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's clock"),
	ALLOW(gettid, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's thread ids"),
	ALLOW(getpid, "ASan/UBSan builds (make SAN=1): reports"),
	ALLOW(sched_yield, "ASan/UBSan builds (make SAN=1): the sanitizer runtime's spin locks"),
	ALLOW_MASKED(mmap, 2, PROT_EXEC, 0, "malloc: per-thread arena; PROT_EXEC refused"),
	ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0, "malloc: arena growth; PROT_EXEC refused"),
	ALLOW(munmap, "malloc: arena trimming"),
	ALLOW(brk, "malloc"),
	ALLOW(madvise, "free(); glibc frees the thread stack with MADV_DONTNEED at exit"),
	ALLOW(exit, "vcpu: thread end"),
	ALLOW(sigaltstack, "ASan/UBSan builds (make SAN=1): the alternate signal stack removed "
	      "at thread end; _exit"),
	ALLOW(exit_group, "the SIGSYS report's _exit(148) after a forbidden call on this "
	      "thread; ASan/UBSan builds: reports"),
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
