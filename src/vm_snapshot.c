// SPDX-License-Identifier: Apache-2.0
/*
 * vm_snapshot.c - taking a snapshot of a paused microVM (vm_snapshot_create,
 * vm.h): its state read from KVM and from every device into the state file,
 * guest RAM (Full, or the pages dirtied since the last one for Diff) into
 * the memory file. The format is docs/snapshot.md's; restoring is vm.c's
 * build (vm_restore).
 */
#include "src/vm.h"
#include "src/vm_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/kvm.h"
#include "src/log.h"
#include "src/serial.h"
#include "src/snapshot.h"
#include "src/snapshot_state.h"
#include "src/x86_state.h"

/* The VM's whole state, read from the paused VM into st. */
static int vm_snapshot_state(struct vm *vm, const struct vm_config *cfg,
			     struct snapshot_state *st, char *err, size_t errlen)
{
	st->mem_size = vm->mem.total;
	st->nvcpus = vm->nvcpus;
	st->flags = vm->boot_timer ? SNAPSHOT_VM_BOOT_TIMER : 0;
	st->vmgenid = vm->vmgenid;
	st->cfg = *cfg;
	int r = x86_vm_save(vm->kvm.vm_fd, &st->vm, err, errlen);
	for (unsigned i = 0; r == 0 && i < vm->nvcpus; i++)
		r = x86_vcpu_save(vm->kvm.kvm_fd, vm->kvm.vm_fd, vm->vcpus[i].fd, i, &st->vcpu[i],
				  err, errlen);
	if (r < 0)
		return r;
	st->vm.tsc_khz = st->vcpu[0].tsc_khz;
	serial_save(&vm->console.serial, &st->serial);
	i8042_save(&vm->i8042, &st->i8042);
	st->ndev = vm->devices ? devices_count(vm->devices) : 0;
	for (unsigned i = 0; i < st->ndev; i++)
		devices_save(vm->devices, i, &st->dev[i]);
	return 0;
}

/* The pages to write for a Diff (KVM's log of the guest's writes and the
 * pages ember's devices wrote), or for a Full with dirty tracking on only to
 * start a new interval. The device bitmap is cleared. *out malloc'd. */
static int vm_take_dirty(struct vm *vm, uint64_t **out, char *err, size_t errlen)
{
	uint64_t words = (vm->mem.total / GUEST_MEM_PAGE + 63) / 64 + 1;
	uint64_t *pages = calloc(words, sizeof(uint64_t));
	if (!pages) {
		snprintf(err, errlen, "dirty page bitmap: out of memory");
		return -ENOMEM;
	}
	int r = kvm_dirty_log(&vm->kvm, &vm->mem, pages, err, errlen);
	if (r < 0) {
		free(pages);
		return r;
	}
	for (uint64_t i = 0; i < words; i++)
		pages[i] |= __atomic_exchange_n(&vm->mem.dirty[i], 0, __ATOMIC_RELAXED);
	*out = pages;
	return 0;
}

/* The memory file was not written: the pages vm_take_dirty took stay dirty
 * for the next snapshot. Frees pages (NULL is fine). */
static void vm_untake_dirty(struct vm *vm, uint64_t *pages)
{
	uint64_t words = (vm->mem.total / GUEST_MEM_PAGE + 63) / 64 + 1;
	for (uint64_t i = 0; pages && i < words; i++)
		__atomic_fetch_or(&vm->mem.dirty[i], pages[i], __ATOMIC_RELAXED);
	free(pages);
}

/* The memory file: Full or Diff (docs/snapshot.md, section 3). */
static int vm_snapshot_memory(struct vm *vm, const char *path, enum vm_snapshot_type type,
			      char *err, size_t errlen)
{
	struct stat st;
	if (type == VM_SNAPSHOT_FULL && vm->mem.file_ino && stat(path, &st) == 0 &&
	    (uint64_t)st.st_dev == vm->mem.file_dev && (uint64_t)st.st_ino == vm->mem.file_ino) {
		snprintf(err, errlen, "mem_file_path %s is the memory file this microVM runs from: a "
			 "Full snapshot would truncate it under the guest (write it to another "
			 "file, or take a Diff into it)", path);
		return -EINVAL;
	}
	uint64_t *pages = NULL;
	int r = vm->mem.dirty ? vm_take_dirty(vm, &pages, err, errlen) : 0;
	if (r < 0)
		return r;
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
		    (type == VM_SNAPSHOT_FULL ? O_TRUNC : 0);
	int fd = open(path, flags, 0600);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "mem_file_path %s: %s", path, strerror(-r));
		vm_untake_dirty(vm, pages);
		return r;
	}
	uint64_t written = 0;
	r = guest_mem_dump(&vm->mem, fd, type == VM_SNAPSHOT_DIFF ? pages : NULL, &written);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		vm_untake_dirty(vm, pages);
	else
		free(pages);
	if (r < 0)
		snprintf(err, errlen, "mem_file_path %s: %s", path, strerror(-r));
	else
		log_info("Snapshot memory file %s: %llu KiB written (%s)", path,
			 (unsigned long long)(written >> 10), type == VM_SNAPSHOT_FULL ? "Full" : "Diff");
	return r;
}

int vm_snapshot_create(struct vm *vm, const struct vm_config *cfg, const char *state_path,
		       const char *mem_path, enum vm_snapshot_type type, char *err,
		       size_t errlen)
{
	if (!vm->started || !vm->paused) {
		snprintf(err, errlen, "the microVM must be paused (PATCH /vm {\"state\": \"Paused\"})");
		return -EBUSY;
	}
	if (type == VM_SNAPSHOT_DIFF && !vm->mem.dirty) {
		snprintf(err, errlen, "a Diff snapshot needs dirty page tracking: set "
			 "track_dirty_pages in machine-config (or in the snapshot load)");
		return -EINVAL;
	}
	struct snapshot_state *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	uint8_t *bytes = NULL;
	size_t len = 0;
	/* Nothing the guest asked of a drive may still be on its way: the
	 * memory and the files must hold its result. */
	int r = devices_io_idle(vm->devices, err, errlen);
	if (r == 0)
		r = vm_snapshot_state(vm, cfg, st, err, errlen);
	if (r == 0) {
		if (type == VM_SNAPSHOT_DIFF)
			st->flags |= SNAPSHOT_VM_DIFF;
		r = snapshot_state_encode(st, &bytes, &len, err, errlen);
	}
	if (r == 0)
		r = vm_snapshot_memory(vm, mem_path, type, err, errlen);
	if (r == 0) {
		char werr[256];
		r = snap_write_file(state_path, bytes, len, werr, sizeof(werr));
		if (r < 0)
			snprintf(err, errlen, "snapshot_path %s", werr);
	}
	free(bytes);
	snapshot_state_free(st);
	free(st);
	return r;
}
