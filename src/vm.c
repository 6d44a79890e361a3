// SPDX-License-Identifier: Apache-2.0
/*
 * vm.c - one microVM (see vm.h): its build as an ordered table of steps,
 * its lifecycle (start, pause, resume, Ctrl-Alt-Del, device updates,
 * destroy), the legacy devices' wiring (i8042, CMOS stub, boot timer) and
 * the end of the VM when the guest or a vCPU asks for it. Layer 3 (KVM
 * glue), and the only file where KVM (kvm.c, x86_cpu.c, vcpu.c), guest
 * memory, the console (console.c) and the virtio devices (devices.c) meet;
 * it issues no KVM ioctl itself. Taking a snapshot is vm_snapshot.c;
 * restoring one is this file's build with the restore's own steps.
 *
 * Over 600 lines on purpose: the build's steps, the lifecycle and the
 * teardown all act on the private struct vm (vm_int.h) in an order that
 * only reads right in one place (each step's undo is the teardown's line
 * for it).
 */
#include "src/vm.h"
#include "src/vm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/acpi.h"
#include "src/console.h"
#include "src/cpu_template.h"
#include "src/devices.h"
#include "src/guest_mem.h"
#include "src/i8042.h"
#include "src/kvm.h"
#include "src/layout.h"
#include "src/log.h"
#include "src/mptable.h"
#include "src/prefetch.h"
#include "src/seccomp.h"
#include "src/snapshot_state.h"
#include "src/timeline.h"
#include "src/util.h"
#include "src/uffd.h"
#include "src/vcpu.h"
#include "src/vmgenid.h"
#include "src/x86_boot.h"
#include "src/x86_cpu.h"
#include "src/x86_state.h"

/* ---- guest-triggered events (vCPU threads) ---- */

static void vm_request_exit(struct vm *vm, int status, const char *why)
{
	int expected = 0;
	if (!__atomic_compare_exchange_n(&vm->exiting, &expected, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return;
	vm->exit_req_ns = util_now_ns();
	/* The guest is done: the vCPU that asked (a reset, a fatal exit) goes
	 * no further, instead of running the guest's reboot loop on a CPU the
	 * teardown needs until the main thread kicks it. */
	if (vm->vshared_init)
		vcpu_stop_request(&vm->vshared);
	if (status == 0)
		log_info("Vmm is stopping: %s", why);
	else
		log_error("Vmm is stopping with an error: %s", why);
	evloop_stop(vm->loop, status);
}

static void vm_on_vcpu_exit(void *opaque, int status, const char *why)
{
	vm_request_exit(opaque, status, why);
}

static void vm_on_i8042_reset(void *opaque)
{
	vm_request_exit(opaque, 0, "the guest reset the CPU through the i8042 (reboot)");
}

static void vm_irqfd_kick(int fd)
{
	uint64_t one = 1;
	ssize_t r = write(fd, &one, sizeof(one));
	(void)r; /* the counter cannot overflow in practice; an edge is an edge */
}

static void vm_i8042_irq(void *opaque) { vm_irqfd_kick(((struct vm *)opaque)->i8042_irqfd); }

/* vcpu_shared.pre_exit: the UART's queued THR writes are modelled before
 * the access that caused the exit. */
static void vm_pre_exit(void *opaque)
{
	console_drain(&((struct vm *)opaque)->console);
}

/* Boot-timer device (Firecracker's): a one-byte write of 123 at offset 0
 * marks "guest userspace reached". Everything else is ignored. */
static void vm_boot_timer(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (offset != 0 || len != 1 || data[0] != LAYOUT_BOOT_TIMER_MAGIC)
		return;
	timeline_mark(TIMELINE_BOOT_TIMER);
	timeline_log_boot_time();
}

/* CMOS/RTC ports 0x70-0x71: there is no RTC (guests use kvm-clock). Reads
 * return 0 rather than the floating bus's 0xff, which a guest's rtc_cmos
 * driver takes for "update in progress" and waits on for seconds. */
static void vm_cmos(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	(void)offset;
	if (!is_write)
		memset(data, 0, len);
}

/* ---- build steps: each takes the VM and the config, and on failure
 * returns -errno with one line in err ---- */

static int vm_setup_memory(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	uint64_t mem_mib = cfg->machine.mem_size_mib;
	const struct vm_restore *rs = vm->restore;
	int r = rs && rs->mem_fd >= 0 ? guest_mem_init_file(&vm->mem, mem_mib << 20, rs->mem_fd)
				      : guest_mem_init(&vm->mem, mem_mib << 20);
	if (r < 0) {
		snprintf(err, errlen, "guest memory: cannot map %llu MiB%s: %s",
			 (unsigned long long)mem_mib, rs && rs->mem_fd >= 0 ? " of the memory file" : "",
			 strerror(-r));
		return r;
	}
	if (rs)
		timeline_mark(TIMELINE_MEMORY_MAPPED);
	if (rs && rs->mem_fd >= 0)
		ws_session_prefetch(rs->ws, &vm->mem, rs->mem_fd);
	if (rs && rs->uffd_path) {
		char why[256];
		vm->mem.uffd = true;
		if ((r = uffd_serve(&vm->mem, rs->uffd_path, &vm->uffd_fd, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "guest memory from a page-fault handler: %s", why);
			return r;
		}
	}
	/* Dirty pages for Diff snapshots: ember's devices' writes here, the
	 * guest's in KVM's log (kvm_set_slots sees mem.dirty). */
	if (cfg->machine.track_dirty_pages && (r = guest_mem_track_dirty(&vm->mem)) < 0)
		snprintf(err, errlen, "guest memory: dirty page bitmap: %s", strerror(-r));
	return r;
}

static void vm_open_error(const char *field, const char *path, int r, const char *kind,
			  char *err, size_t errlen)
{
	if (kind)
		snprintf(err, errlen, "%s %s is %s, not a regular file", field, path, kind);
	else
		snprintf(err, errlen, "%s %s: %s", field, path, strerror(-r));
}

static int vm_load_kernel(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	const char *kind;
	int kfd = util_open_file(cfg->boot.kernel_path, O_RDONLY, false, &kind);
	if (kfd < 0) {
		vm_open_error("kernel_image_path", cfg->boot.kernel_path, kfd, kind, err, errlen);
		return kfd;
	}
	char lerr[256];
	int r = x86_load_kernel(&vm->mem, kfd, &vm->kernel, lerr, sizeof(lerr));
	close(kfd);
	vm->mem.untouched = false; /* the kernel is in it now */
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", cfg->boot.kernel_path, lerr);
		return r;
	}
	if (cfg->boot.initrd_path[0]) {
		int ifd = util_open_file(cfg->boot.initrd_path, O_RDONLY, false, &kind);
		if (ifd < 0) {
			vm_open_error("initrd_path", cfg->boot.initrd_path, ifd, kind, err, errlen);
			return ifd;
		}
		r = x86_load_initrd(&vm->mem, ifd, &vm->kernel, &vm->initrd_gpa, &vm->initrd_size,
				    lerr, sizeof(lerr));
		close(ifd);
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", cfg->boot.initrd_path, lerr);
			return r;
		}
	}
	return 0;
}

/* The KVM VM: vm_prepare's, or made now (kvm.h). */
static int vm_setup_machine(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	return kvm_machine_create(&vm->kvm, &vm->prepared, err, errlen);
}

/* Guest RAM as KVM memory slots (needs the machine). */
static int vm_setup_slots(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	return kvm_set_slots(&vm->kvm, &vm->mem, err, errlen);
}

/* The console (UART), the i8042, the CMOS stub and the boot timer. */
static int vm_setup_legacy(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	int r = kvm_irqfd_new(&vm->kvm, LAYOUT_I8042_IRQ, &vm->i8042_irqfd, err, errlen);
	if (r < 0)
		return r;
	r = console_setup(&vm->console, vm->kvm.vm_fd, vm->loop, &vm->pio, &cfg->serial, err,
			  errlen);
	if (r < 0)
		return r;
	i8042_init(&vm->i8042, vm_i8042_irq, vm_on_i8042_reset, vm);
	vm->i8042_init = true;
	if (bus_register(&vm->pio, LAYOUT_I8042_DATA_PORT,
			 LAYOUT_I8042_CMD_PORT - LAYOUT_I8042_DATA_PORT + 1, i8042_pio,
			 &vm->i8042) < 0) {
		snprintf(err, errlen, "legacy devices: port ranges overlap");
		return -EEXIST;
	}
	if (bus_register(&vm->pio, LAYOUT_CMOS_PORT, 2, vm_cmos, vm) < 0) {
		snprintf(err, errlen, "legacy devices: CMOS ports taken");
		return -EEXIST;
	}
	if (cfg->boot_timer &&
	    bus_register(&vm->mmio, LAYOUT_BOOT_TIMER_ADDR, LAYOUT_BOOT_TIMER_SIZE,
			 vm_boot_timer, vm) < 0) {
		snprintf(err, errlen, "boot timer: MMIO range taken");
		return -EEXIST;
	}
	vm->boot_timer = cfg->boot_timer;
	return 0;
}

static int vm_build_cmdline(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	const char *args = cfg->boot.boot_args_set ? cfg->boot.boot_args : CONFIG_DEFAULT_BOOT_ARGS;
	int n = snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", args);
	if (n < 0 || (size_t)n >= sizeof(vm->cmdline)) {
		snprintf(err, errlen, "boot_args: %zu bytes, longer than the %llu-byte limit",
			 strlen(args), LAYOUT_CMDLINE_MAX - 1);
		return -EINVAL;
	}
	/* As Firecracker: no PCI bus on this machine, say so unless the user did. */
	if (!strstr(vm->cmdline, "pci=off")) {
		size_t len = strlen(vm->cmdline);
		if (len + 8 >= sizeof(vm->cmdline)) {
			snprintf(err, errlen, "boot_args: too long to append pci=off (limit %llu bytes)",
				 LAYOUT_CMDLINE_MAX - 1);
			return -EINVAL;
		}
		strcat(vm->cmdline, len ? " pci=off" : "pci=off");
	}
	return 0;
}

static int vm_setup_devices(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	struct devices_env env = {
		.vm_fd = vm->kvm.vm_fd, .mem = &vm->mem, .mmio_bus = &vm->mmio, .loop = vm->loop,
	};
	return devices_create(cfg, &env, vm->cmdline, sizeof(vm->cmdline), &vm->devices,
			      err, errlen);
}

/* Boot parameters (with the final command line), MP table and ACPI. */
static int vm_setup_boot(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	char lerr[256];
	int r = x86_setup_boot(&vm->mem, &vm->kernel, vm->cmdline, vm->initrd_gpa, vm->initrd_size,
			       lerr, sizeof(lerr));
	if (r < 0) {
		snprintf(err, errlen, "boot setup: %s", lerr);
		return r;
	}
	r = mptable_setup(&vm->mem, vm->nvcpus);
	if (r < 0) {
		snprintf(err, errlen, "MP table for %u vCPUs: %s", vm->nvcpus, strerror(-r));
		return r;
	}
	/* ACPI too, for kernels without MP table support: the virtio devices
	 * as devices_create placed them. */
	struct acpi_mmio_dev adevs[LAYOUT_MAX_VIRTIO_DEVS];
	unsigned nadevs = devices_count(vm->devices);
	for (unsigned i = 0; i < nadevs && i < LAYOUT_MAX_VIRTIO_DEVS; i++) {
		struct devices_place p = devices_place(vm->devices, i);
		adevs[i] = (struct acpi_mmio_dev){ .addr = p.addr, .len = p.len, .gsi = p.gsi };
	}
	/* The VM generation id and its device, unless --no-vmgenid. */
	struct acpi_vmgenid avg;
	if (!cfg->no_vmgenid) {
		r = vmgenid_setup(&vm->vmgenid, &vm->mem, err, errlen);
		if (r < 0)
			return r;
		avg = (struct acpi_vmgenid){ .addr = vm->vmgenid.gpa, .gsi = vm->vmgenid.gsi };
	}
	uint64_t rsdp = 0;
	r = acpi_setup(&vm->mem, vm->nvcpus, adevs, nadevs, cfg->no_vmgenid ? NULL : &avg, &rsdp);
	if (r == 0)
		r = x86_set_rsdp(&vm->mem, &vm->kernel, rsdp);
	if (r < 0) {
		snprintf(err, errlen, "ACPI tables for %u vCPUs, %u devices: %s", vm->nvcpus, nadevs,
			 strerror(-r));
		return r;
	}
	return 0;
}

static int vm_thread_init(unsigned index)
{
	(void)index;
	return seccomp_install_thread(SECCOMP_THREAD_VCPU);
}

/* Every vCPU (x86_cpu.h), then the UART's coalesced ring, which lives in
 * vCPU 0's kvm_run mapping. */
static int vm_setup_vcpus(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	vcpu_shared_init(&vm->vshared, &vm->pio, &vm->mmio, vm_on_vcpu_exit, vm);
	vm->vshared.thread_init = vm_thread_init;
	vm->vshared_init = true;
	struct kvm_cpuid2 *supported = x86_cpu_supported_cpuid(vm->kvm.kvm_fd, err, errlen);
	if (!supported)
		return -EINVAL;
	int r = cpu_template_check(cfg->machine.cpu_template, supported, err, errlen);
	for (unsigned i = 0; r == 0 && i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		r = vcpu_create(v, vm->kvm.kvm_fd, vm->kvm.vm_fd, i, &vm->vshared, err, errlen);
		if (r < 0)
			break;
		r = x86_cpu_setup(v, supported, vm->nvcpus, &cfg->machine, &vm->kernel, err,
				  errlen);
		if (r < 0) {
			vcpu_destroy(v);
			break;
		}
	}
	free(supported);
	if (r < 0) {
		/* Forget the vCPUs made so far; vm_destroy closes them. */
		return r;
	}
	if (console_setup_ring(&vm->console, vm->kvm.kvm_fd, vm->vcpus[0].run,
			       vm->vcpus[0].run_size))
		vm->vshared.pre_exit = vm_pre_exit;
	return 0;
}

/* ---- the restore's own steps (vm_restore) ---- */

/* With the machine there and nothing else built: can this host give the
 * vCPUs what they had (x86_state_host_check)? */
static int vm_restore_check(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct snapshot_state *st = vm->restore->st;
	return x86_state_host_check(vm->kvm.kvm_fd, vm->kvm.vm_fd, st->vcpu, st->nvcpus,
				    cfg->machine.cpu_template, err, errlen);
}

/* A new generation id for the restored guest, announced through the GED. */
static int vm_restore_vmgenid(struct vm *vm, char *err, size_t errlen)
{
	uint8_t id[VMGENID_LEN];
	char hex[2 * VMGENID_LEN + 1];
	if (!vm->vmgenid.present)
		return 0;
	int r = vmgenid_regenerate(&vm->vmgenid, &vm->mem, vm->kvm.vm_fd, id, err, errlen);
	if (r == 0) {
		vmgenid_hex(id, hex);
		log_info("VMGenID: new generation id %s", hex);
	}
	return r;
}

/* Everything built: the VM's, the vCPUs' and the devices' state, in that
 * order (the interrupt controllers before the devices drive their lines),
 * then a new VM generation id. */
static int vm_restore_state(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct snapshot_state *st = vm->restore->st;
	int r = x86_vm_restore(vm->kvm.vm_fd, &st->vm, vm->restore->clock_realtime, err, errlen);
	for (unsigned i = 0; r == 0 && i < vm->nvcpus; i++)
		r = x86_vcpu_restore(vm->vcpus[i].fd, i, &st->vcpu[i], err, errlen);
	if (r < 0)
		return r;
	serial_restore(&vm->console.serial, &st->serial, !vm->restore->serial_limiter_given);
	i8042_restore(&vm->i8042, &st->i8042);
	r = devices_restore(vm->devices, st->dev, st->ndev, err, errlen);
	/* Last, with every state in place and before any vCPU runs: a clone
	 * must not share its generation id (and so its RNG) with its siblings. */
	vm->vmgenid = st->vmgenid;
	if (r == 0 && !cfg->no_vmgenid)
		r = vm_restore_vmgenid(vm, err, errlen);
	else if (r == 0 && vm->vmgenid.present)
		log_warn("VMGenID: --no-vmgenid: the guest keeps the snapshot's generation id");
	if (r == 0) {
		timeline_mark(TIMELINE_DEVICES_RESTORED);
		vm->start_paused = true;
		vm->restored = true;
	}
	return r;
}

/*
 * The build, in order. Devices append to the command line, which the boot
 * structures copy; the MP table needs the vCPU count; the boot registers
 * need the loaded kernel. Guest RAM is mapped and the kernel and initrd
 * copied into it before the machine (KVM_CREATE_VM and friends, made by
 * vm_prepare's thread, or here) is needed: the copy overlaps with the
 * machine's creation. Each step is timed for the "VM build" log line (where
 * the VMM's share of a boot goes), under its name.
 */
enum vm_step_when { VM_STEP_ALWAYS, VM_STEP_BOOT, VM_STEP_RESTORE };
static const struct {
	const char *name;
	int (*run)(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen);
	enum vm_step_when when;       /* a boot's step, a restore's, or both */
} vm_steps[] = {
	{ "memory", vm_setup_memory, VM_STEP_ALWAYS },
	{ "kernel", vm_load_kernel, VM_STEP_BOOT },
	{ "machine", vm_setup_machine, VM_STEP_ALWAYS },
	{ "check", vm_restore_check, VM_STEP_RESTORE },
	{ "slots", vm_setup_slots, VM_STEP_ALWAYS },
	{ "legacy", vm_setup_legacy, VM_STEP_ALWAYS },
	{ "cmdline", vm_build_cmdline, VM_STEP_ALWAYS },
	{ "devices", vm_setup_devices, VM_STEP_ALWAYS },
	{ "boot", vm_setup_boot, VM_STEP_BOOT },
	{ "vcpus", vm_setup_vcpus, VM_STEP_ALWAYS },
	{ "state", vm_restore_state, VM_STEP_RESTORE },
};
#define VM_NSTEPS (sizeof(vm_steps) / sizeof(vm_steps[0]))

/* "VM build: memory=12us kernel=...": one entry per step, the machine step
 * marked when vm_prepare's thread made the machine. */
static void vm_log_build(const struct vm *vm, const uint64_t *step_us)
{
	char steps[256];
	size_t off = 0;
	for (unsigned i = 0; i < VM_NSTEPS && off < sizeof(steps); i++)
		if (vm_steps[i].when != (vm->restore ? VM_STEP_BOOT : VM_STEP_RESTORE))
			off += (size_t)snprintf(steps + off, sizeof(steps) - off, "%s%s%s=%lluus",
					off ? " " : "", vm_steps[i].name,
					vm_steps[i].run == vm_setup_machine && vm->prepared ?
						"(prepared, waited)" : "",
					(unsigned long long)step_us[i]);
	log_info("VM %s: %s", vm->restore ? "restore" : "build", steps);
}

void vm_prepare(void)
{
	kvm_prepare();
}

static int vm_build(const struct vm_config *cfg, struct evloop *loop,
		    const struct vm_restore *restore, struct vm **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!restore && (!cfg->boot.set || !cfg->boot.kernel_path[0])) {
		snprintf(err, errlen, "boot-source: no kernel_image_path configured");
		return -EINVAL;
	}
	if (cfg->machine.vcpu_count < 1 || cfg->machine.vcpu_count > LAYOUT_MAX_VCPUS) {
		snprintf(err, errlen, "machine-config: vcpu_count %u is outside 1..%u",
			 cfg->machine.vcpu_count, LAYOUT_MAX_VCPUS);
		return -EINVAL;
	}
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vm->kvm.kvm_fd = vm->kvm.vm_fd = vm->i8042_irqfd = vm->uffd_fd = -1;
	for (unsigned i = 0; i < LAYOUT_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	vm->loop = loop;
	vm->nvcpus = cfg->machine.vcpu_count;
	vm->restore = restore;
	timeline_mark(TIMELINE_BUILD_START);

	uint64_t step_us[VM_NSTEPS] = { 0 };
	int r = 0;
	for (unsigned i = 0; i < VM_NSTEPS && r == 0; i++) {
		if (vm_steps[i].when == (restore ? VM_STEP_BOOT : VM_STEP_RESTORE))
			continue;
		uint64_t t0 = util_now_ns();
		r = vm_steps[i].run(vm, cfg, err, errlen);
		step_us[i] = (util_now_ns() - t0) / 1000;
	}
	if (r < 0) {
		vm_destroy(vm);
		return r;
	}
	timeline_mark(TIMELINE_BUILD_DONE);
	vm_log_build(vm, step_us);
	if (!restore)
		log_debug("kernel command line: %s", vm->cmdline);
	vm->ws = restore ? restore->ws : NULL;   /* ours from now on */
	vm->restore = NULL;   /* the caller's, valid only during the build */
	*out = vm;
	return 0;
}

int vm_create(const struct vm_config *cfg, struct evloop *loop, struct vm **out,
	      char *err, size_t errlen)
{
	return vm_build(cfg, loop, NULL, out, err, errlen);
}

int vm_start(struct vm *vm, char *err, size_t errlen)
{
	if (vm->started) {
		snprintf(err, errlen, "the microVM is already running");
		return -EALREADY;
	}
	int r = vcpu_signal_setup();
	if (r < 0) {
		snprintf(err, errlen, "vCPU kick signal: %s", strerror(-r));
		return r;
	}
	console_start(&vm->console);
	if (vm->start_paused) {
		/* A restored VM: its vCPU threads park before their first
		 * KVM_RUN and its devices wait, until vm_resume(). */
		vm->vshared.paused = true;
		devices_pause(vm->devices, false);
		vm->paused = true;
	}
	timeline_mark(TIMELINE_FIRST_RUN);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		r = vcpu_start(&vm->vcpus[i]);
		if (r < 0) {
			snprintf(err, errlen, "vCPU %u thread: %s", i, strerror(-r));
			vcpu_stop_all(vm->vcpus, vm->nvcpus);
			return r;
		}
	}
	/* The VM runs: from now on the main thread needs only what serves it
	 * (seccomp.c). The vCPU threads, already started, keep their filters. */
	r = seccomp_install_thread(SECCOMP_THREAD_MAIN_RUNNING);
	if (r < 0) {
		snprintf(err, errlen, "seccomp: the main thread's filter for the running VM: %s",
			 strerror(-r));
		vcpu_stop_all(vm->vcpus, vm->nvcpus);
		return r;
	}
	vm->started = true;
	return 0;
}

int vm_pause(struct vm *vm)
{
	if (!vm->started)
		return -EINVAL;
	if (!vm->paused) {
		vcpu_pause_all(vm->vcpus, vm->nvcpus);
		/* Nothing the guest wrote stays in flight: its batched console
		 * bytes reach the UART, its kicked queues are served, then the
		 * devices stop too. */
		console_drain(&vm->console);
		devices_pause(vm->devices, true);
		ws_session_pause(vm->ws, &vm->mem);
	}
	vm->paused = true;
	return 0;
}

int vm_resume(struct vm *vm)
{
	if (!vm->started)
		return -EINVAL;
	if (vm->paused) {
		bool first_after_restore = vm->restored;
		devices_resume(vm->devices);
		if (vm->restored) {
			/* Interrupts the snapshot may have caught on their way. */
			devices_signal_restored(vm->devices);
			vm->restored = false;
		}
		vcpu_resume_all(vm->vcpus, vm->nvcpus);
		if (first_after_restore)
			timeline_mark(TIMELINE_VCPUS_RESUMED);
	}
	vm->paused = false;
	return 0;
}

int vm_is_paused(const struct vm *vm)
{
	return vm->paused;
}

int vm_send_ctrl_alt_del(struct vm *vm)
{
	if (!vm->started)
		return -EINVAL;
	return i8042_ctrl_alt_del(&vm->i8042);
}

/* The devices an update goes to, or NULL with the reason in err. */
static struct devices *vm_devices_to_update(struct vm *vm, char *err, size_t errlen)
{
	if (!vm->devices)
		snprintf(err, errlen, "the VM has no devices");
	return vm->devices;
}

int vm_update_drive(struct vm *vm, const struct config_drive *drive, char *err, size_t errlen)
{
	struct devices *d = vm_devices_to_update(vm, err, errlen);
	return d ? devices_update_drive(d, drive, err, errlen) : -ENODEV;
}

int vm_update_net(struct vm *vm, const struct config_net *net, char *err, size_t errlen)
{
	struct devices *d = vm_devices_to_update(vm, err, errlen);
	return d ? devices_update_net(d, net, err, errlen) : -ENODEV;
}

/* One log line: where the time between the guest's stop request (reboot,
 * vCPU error) and the end of vm_destroy went, offsets in ms; the teardown
 * (vm_leave_to_exit); and when the request came, on CLOCK_MONOTONIC (the
 * benchmarks line it up with the process's end, benchmarks/README.md). */
static void vm_log_exit_timeline(const struct vm *vm, const uint64_t *t, const char *const *names,
				 unsigned n, const char *teardown)
{
	if (!vm->exit_req_ns)
		return;
	char line[256];
	int len = 0;
	for (unsigned i = 0; i < n && len < (int)sizeof(line); i++)
		len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s=%.1fms", i ? " " : "",
				names[i], (double)(t[i] - vm->exit_req_ns) / 1e6);
	log_info("Exit timeline (from the stop request): %s teardown=%s request_monotonic=%.3fms",
		 line, teardown, (double)vm->exit_req_ns / 1e6);
}

/*
 * The process ends right after this VM (the guest or a vCPU asked to stop, or
 * a signal did: the event loop is ending, and main() exits after its one
 * teardown; a VM destroyed while the loop runs, after a failed start or
 * snapshot load, never ran): what is left after the vCPUs stopped and the
 * console was flushed is only memory, mappings and fds, which exit_group()
 * releases anyway. The host kernel then destroys the KVM VM once, at the
 * process's exit, instead of ember undoing each piece first (ioeventfd and
 * irqfd deassigns wait for KVM's SRCU grace periods; benchmarks/README.md).
 * Sanitizer builds, whose leak check runs at exit, and EMBER_FULL_TEARDOWN=1
 * (valgrind, debugging) keep the full teardown.
 */
static bool vm_leave_to_exit(const struct vm *vm)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)vm;
	return false;
#else
	const char *full = getenv("EMBER_FULL_TEARDOWN");
	return vm->started && (vm->exiting || evloop_stopping(vm->loop)) &&
	       !(full && full[0] && strcmp(full, "0"));
#endif
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	static const char *const names[] = { "destroy", "vcpus_stopped", "devices_closed",
					     "memory_freed", "vm_closed" };
	uint64_t t[5];
	t[0] = util_now_ns();
	if (vm->vshared_init) {
		vcpu_stop_all(vm->vcpus, vm->nvcpus);
	}
	t[1] = util_now_ns();
	/* Before vCPU 0's kvm_run, which holds the UART's ring, is unmapped:
	 * the guest's last batched console bytes. A VM that never ran leaves
	 * the terminal to the exit handler. */
	console_destroy(&vm->console, vm->started);
	if (vm_leave_to_exit(vm)) {
		/* As the full teardown: an Async drive's requests in flight
		 * complete (what the guest wrote reaches the file). */
		char ioerr[128];
		devices_io_idle(vm->devices, ioerr, sizeof(ioerr));
		t[2] = util_now_ns();
		static const char *const fast[] = { "destroy", "vcpus_stopped", "console_flushed" };
		vm_log_exit_timeline(vm, t, fast, 3, "exit");
		return; /* the rest is the process's exit (vm_leave_to_exit) */
	}
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].fd >= 0)
			vcpu_destroy(&vm->vcpus[i]);
	if (vm->vshared_init)
		vcpu_shared_destroy(&vm->vshared);
	if (vm->devices)
		devices_destroy(vm->devices);
	if (vm->i8042_init)
		i8042_destroy(&vm->i8042);
	if (vm->i8042_irqfd >= 0)
		close(vm->i8042_irqfd);
	t[2] = util_now_ns();
	guest_mem_free(&vm->mem);
	if (vm->uffd_fd >= 0)
		close(vm->uffd_fd);
	t[3] = util_now_ns();
	kvm_machine_close(&vm->kvm);
	ws_session_free(vm->ws);
	t[4] = util_now_ns();
	vm_log_exit_timeline(vm, t, names, 5, "full");
	free(vm);
}

/* ---- snapshots ---- */

int vm_restore(const struct vm_config *cfg, struct evloop *loop, const struct vm_restore *rs,
	       struct vm **out, char *err, size_t errlen)
{
	return vm_build(cfg, loop, rs, out, err, errlen);
}
