// SPDX-License-Identifier: Apache-2.0
/*
 * exitfloor - the host kernel's share of a VMM's exit: how long a process
 * that holds a KVM VM takes from "decide to exit" to its parent's waitpid()
 * returning, with nothing of a VMM in between.
 *
 *   exitfloor [-n RUNS] [-m MIB] [-t MIB] [-i N] [-c]
 *     -n RUNS  children to time, one after the other (default 5)
 *     -m MIB   guest RAM (default 128), anonymous, MADV_HUGEPAGE as ember's
 *     -t MIB   how much of it the guest writes, one write per 4 KiB page
 *              from guest physical 8 KiB up (default: all of it), so KVM
 *              holds nested page tables for that much, as after a boot
 *     -i N     also wire N irqfds (GSI 5, 6, ...), as a VMM's devices do
 *              (KVM waits for an SRCU grace period to shut them down)
 *     -c       tear down explicitly before exiting (munmap the kvm_run and
 *              the RAM, close the vCPU and VM fds), as a VMM's cleanup
 *              would; default: exit_group() with everything still open
 *
 * Each child builds what ember builds for a 1-vCPU guest (TSS and identity
 * map addresses, in-kernel irqchip and PIT, one memory slot, one vCPU), runs
 * a 32-bit flat protected-mode loop that touches the RAM and writes port
 * 0x80, then
 * takes the time (CLOCK_MONOTONIC) and exits. One JSON line per child:
 *   {"run":N,"mem_mib":..,"touch_mib":..,"irqfds":..,"explicit":0|1,"guest_us":..,
 *    "teardown_us":..,"exit_us":..}
 * guest_us: KVM_RUN until the port write; teardown_us: the explicit teardown (0
 * without -c); exit_us: "decide to exit" -> the parent's waitpid() back, the
 * teardown included. Exit status 0, or 1 when a child failed (its error on
 * stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what)
{
	fprintf(stderr, "exitfloor: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static void flat_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
				   .present = 1, .db = 1, .s = 1, .g = 1 };
}

/* What the child sends its parent: when it decided to exit, and when its
 * explicit teardown (if any) ended. */
struct report { int64_t decide_us, guest_us, teardown_us; };

static void child(int wfd, size_t mem, size_t touch, unsigned irqfds, int explicit_teardown)
{
	alarm(120); /* a guest that never reaches its port write ends the child */
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	uint64_t idmap = 0xfffbc000;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0 ||
	    ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0 ||
	    ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		die("VM set-up");
	for (unsigned i = 0; i < irqfds; i++) {
		struct kvm_irqfd irqfd = { .fd = (uint32_t)eventfd(0, EFD_CLOEXEC), .gsi = 5 + i };
		if ((int)irqfd.fd < 0 || ioctl(vm, KVM_IRQFD, &irqfd) < 0)
			die("KVM_IRQFD");
	}
	uint8_t *ram = mmap(NULL, mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
			    MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap guest RAM");
	madvise(ram, mem, MADV_HUGEPAGE);
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = mem, .userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	/* At 0x1000: mov eax,0x2000; 1: mov [eax],eax; add eax,0x1000;
	 * cmp eax,LIMIT; jb 1b; out 0x80,al (with the irqchip in the kernel, a
	 * HLT would wait there for an interrupt) */
	uint32_t limit = (uint32_t)(touch < 0x2000 ? 0x2000 : touch);
	uint8_t code[] = { 0xb8, 0x00, 0x20, 0x00, 0x00, 0x89, 0x00, 0x05, 0x00, 0x10, 0x00, 0x00,
			   0x3d, 0, 0, 0, 0, 0x72, 0xf2, 0xe6, 0x80 };
	memcpy(&code[13], &limit, sizeof(limit));
	memcpy(ram + 0x1000, code, sizeof(code));

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size <= 0)
		die("KVM_CREATE_VCPU");
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				   vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	flat_seg(&sregs.cs, 0x8, 11);
	flat_seg(&sregs.ds, 0x10, 3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 |= 1;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
	int64_t t0 = now_us();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0 && errno != EINTR)
			die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0x80)
			break;
		if (run->exit_reason != KVM_EXIT_INTR) {
			errno = EINVAL;
			fprintf(stderr, "exitfloor: unexpected exit %u\n", run->exit_reason);
			_exit(1);
		}
	}
	struct report rep = { .decide_us = now_us() };
	rep.guest_us = rep.decide_us - t0;
	if (explicit_teardown) {
		munmap(run, (size_t)run_size);
		munmap(ram, mem);
		close(vcpu);
		close(vm);
		close(kvm);
		rep.teardown_us = now_us() - rep.decide_us;
	}
	if (write(wfd, &rep, sizeof(rep)) != sizeof(rep))
		die("write");
	_exit(0);
}

int main(int argc, char **argv)
{
	int runs = 5, opt, explicit_teardown = 0;
	unsigned long mem_mib = 128, touch_mib = 0, irqfds = 0;
	while ((opt = getopt(argc, argv, "n:m:t:i:c")) != -1) {
		switch (opt) {
		case 'n': runs = atoi(optarg); break;
		case 'm': mem_mib = strtoul(optarg, NULL, 10); break;
		case 't': touch_mib = strtoul(optarg, NULL, 10); break;
		case 'i': irqfds = strtoul(optarg, NULL, 10); break;
		case 'c': explicit_teardown = 1; break;
		default:
			fprintf(stderr, "usage: exitfloor [-n RUNS] [-m MIB] [-t MIB] [-i N] [-c]\n");
			return 2;
		}
	}
	if (mem_mib < 1 || mem_mib > 3072 || runs < 1 || irqfds > 16) {
		fprintf(stderr, "exitfloor: -m must be 1..3072 MiB (below the 32-bit TSS), -n >= 1, "
			"-i 0..16\n");
		return 2;
	}
	if (!touch_mib || touch_mib > mem_mib)
		touch_mib = mem_mib;
	int rc = 0;
	for (int i = 0; i < runs; i++) {
		int p[2];
		if (pipe(p) < 0)
			die("pipe");
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(p[0]);
			child(p[1], (size_t)mem_mib << 20, (size_t)touch_mib << 20, (unsigned)irqfds,
			      explicit_teardown);
		}
		close(p[1]);
		struct report rep;
		ssize_t n = read(p[0], &rep, sizeof(rep));
		int st;
		waitpid(pid, &st, 0);
		int64_t end = now_us();
		close(p[0]);
		if (n != sizeof(rep) || !WIFEXITED(st) || WEXITSTATUS(st)) {
			rc = 1;
			continue;
		}
		printf("{\"run\":%d,\"mem_mib\":%lu,\"touch_mib\":%lu,\"irqfds\":%lu,\"explicit\":%d,"
		       "\"guest_us\":%lld,\"teardown_us\":%lld,\"exit_us\":%lld}\n", i, mem_mib,
		       touch_mib, irqfds, explicit_teardown, (long long)rep.guest_us, (long long)rep.teardown_us,
		       (long long)(end - rep.decide_us));
		fflush(stdout);
	}
	return rc;
}
