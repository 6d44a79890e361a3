// SPDX-License-Identifier: Apache-2.0
/*
 * vmgenid.c - the VM generation id: a random id in guest memory, renewed
 * and announced on every snapshot load (see vmgenid.h).
 */
#include "src/vmgenid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>

#include "src/layout.h"

_Static_assert(LAYOUT_VMGENID_ADDR % 8 == 0, "the generation id is 8-byte aligned (spec)");
_Static_assert(LAYOUT_VMGENID_ADDR + LAYOUT_VMGENID_SIZE <= LAYOUT_RSDP_ADDR,
	       "the generation id page is below the RSDP");
_Static_assert(VMGENID_LEN <= LAYOUT_VMGENID_SIZE, "the id fits its page");

int vmgenid_random(uint8_t id[VMGENID_LEN], char *err, size_t errlen)
{
	size_t got = 0;
	while (got < VMGENID_LEN) {
		ssize_t n = getrandom(id + got, VMGENID_LEN - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			snprintf(err, errlen, "VMGenID: getrandom: %s", strerror(e));
			return -e;
		}
		got += (size_t)n;
	}
	return 0;
}

static int vmgenid_write(const struct vmgenid *vg, const struct guest_mem *mem,
			 const uint8_t id[VMGENID_LEN], char *err, size_t errlen)
{
	if (guest_mem_write(mem, vg->gpa, id, VMGENID_LEN) < 0) {
		snprintf(err, errlen, "VMGenID: guest RAM does not cover 0x%llx..0x%llx",
			 (unsigned long long)vg->gpa, (unsigned long long)(vg->gpa + VMGENID_LEN));
		return -EFAULT;
	}
	return 0;
}

int vmgenid_setup(struct vmgenid *vg, const struct guest_mem *mem, char *err, size_t errlen)
{
	uint8_t id[VMGENID_LEN];
	struct vmgenid v = { .present = true, .gpa = LAYOUT_VMGENID_ADDR,
			     .gsi = LAYOUT_VMGENID_GSI };
	int r = vmgenid_random(id, err, errlen);
	if (r == 0)
		r = vmgenid_write(&v, mem, id, err, errlen);
	if (r == 0)
		*vg = v;
	return r;
}

int vmgenid_regenerate(const struct vmgenid *vg, const struct guest_mem *mem, int vm_fd,
		       uint8_t *id, char *err, size_t errlen)
{
	uint8_t fresh[VMGENID_LEN];
	if (!vg->present)
		return 0;
	int r = vmgenid_random(fresh, err, errlen);
	if (r == 0)
		r = vmgenid_write(vg, mem, fresh, err, errlen);
	if (r < 0)
		return r;
	/* An edge: the GED's interrupt is edge-triggered, active high. */
	for (unsigned level = 1;; level = 0) {
		struct kvm_irq_level line = { .irq = vg->gsi, .level = level };
		if (ioctl(vm_fd, KVM_IRQ_LINE, &line) < 0) {
			int e = errno;
			snprintf(err, errlen, "VMGenID: KVM_IRQ_LINE %u level %u: %s", vg->gsi, level,
				 strerror(e));
			return -e;
		}
		if (level == 0)
			break;
	}
	if (id)
		memcpy(id, fresh, VMGENID_LEN);
	return 0;
}

void vmgenid_hex(const uint8_t id[VMGENID_LEN], char *out)
{
	for (unsigned i = 0; i < VMGENID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}
