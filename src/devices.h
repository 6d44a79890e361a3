/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices.h - the glue between the virtio devices and the VM: builds every
 * drive and network interface of a config, puts each on the MMIO bus with
 * its virtio-mmio transport, wires queue notifications (KVM ioeventfd ->
 * event loop -> device) and interrupts (device -> KVM irqfd), and adds the
 * devices to the kernel command line. Main thread only.
 */
#ifndef EMBER_DEVICES_H
#define EMBER_DEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "src/bus.h"
#include "src/config.h"
#include "src/evloop.h"
#include "src/guest_mem.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "virtio/net.h"

struct devices;

/* What the device builder needs from the VM that holds the devices. */
struct devices_env {
	int vm_fd;                     /* for KVM_IOEVENTFD / KVM_IRQFD; < 0: none */
	const struct guest_mem *mem;
	struct bus *mmio_bus;          /* the MMIO handlers go here */
	struct evloop *loop;           /* the main thread's loop */
};

/* Build every drive and net device of cfg. The fds opened at PUT/config time
 * (config_drive.fd, config_net.tap_fd) are dup'ed: cfg keeps its own.
 * Device n sits at LAYOUT_VIRTIO_MMIO_BASE + n * LAYOUT_VIRTIO_MMIO_SIZE with
 * IRQ (GSI) LAYOUT_VIRTIO_IRQ_BASE + n: drives first (the root drive is
 * device 0, /dev/vda), then network interfaces, in config order.
 * env->vm_fd < 0 (tests) skips KVM_IOEVENTFD/KVM_IRQFD; queue kicks then
 * reach the devices through the MMIO handler.
 * cmdline (NUL-terminated, cmdline_size bytes) gets, before any " -- ":
 * " root=/dev/vda ro|rw" (or root=PARTUUID=<uuid>) for the root drive, then
 * " virtio_mmio.device=4K@0x<addr>:<irq>" per device.
 * Returns 0 or -errno with one line in err (and nothing left behind). */
int devices_create(const struct vm_config *cfg, const struct devices_env *env, char *cmdline,
		   size_t cmdline_size, struct devices **out, char *err, size_t errlen);

/* Where devices_create put device i (0 <= i < devices_count(d)), in the
 * order above: its virtio-mmio register window and its GSI. */
struct devices_place {
	uint64_t addr;
	uint64_t len;
	unsigned gsi;
};
unsigned devices_count(const struct devices *d);
struct devices_place devices_place(const struct devices *d, unsigned i);

/* PATCH /drives/{id} after boot. drive is the drive's merged config: when
 * drive->fd >= 0 it is the newly opened backing file (dup'ed; the guest sees
 * the new capacity through a config-change interrupt); the rate limiter is
 * replaced when it differs from the current one. -ENOENT for an unknown id. */
int devices_update_drive(struct devices *d, const struct config_drive *drive, char *err,
			 size_t errlen);

/* PATCH /network-interfaces/{id}: replace the rate limiters that differ.
 * -ENOENT for an unknown id. */
int devices_update_net(struct devices *d, const struct config_net *net, char *err,
		       size_t errlen);

/* PATCH /vm Paused, with the vCPUs parked: with serve, serve to its end
 * every queue the guest kicked (what it submitted before the pause
 * completes: block writes reach the file, frames the tap); then stop every
 * device (no queue is served, whatever fd wakes the loop) until
 * devices_resume(). A restored VM starts stopped without serving. */
void devices_pause(struct devices *d, bool serve);
/* Let the devices run again and look at every queue once (a kick that
 * arrived while they were stopped, or one a snapshot caught in flight). */
void devices_resume(struct devices *d);
/* Before a snapshot of the paused VM: wait until no drive has a request in
 * flight in its io_uring engine (io_engine Async; devices_pause() already
 * waited, so this normally finds none). 0, or -errno with err naming the
 * drive. */
int devices_io_idle(struct devices *d, char *err, size_t errlen);

/* Remove every fd from the loop, deassign the KVM ioeventfds and irqfds and
 * free everything. Call with the vCPUs stopped (MMIO handlers stay
 * registered on the bus, which dies with the VM). NULL is fine. */
void devices_destroy(struct devices *d);

/* ---- snapshot (docs/snapshot.md, VIRTIO section) ---- */

/* One virtio device: what it is (the config's id, VIRTIO_ID_BLK or
 * VIRTIO_ID_NET), its transport and its device-specific state. */
struct devices_state {
	uint32_t type;
	char id[CONFIG_ID_MAX + 1];
	struct virtio_mmio_state mmio;
	union {
		struct blk_state blk;
		struct net_state net;
	} u;
};

/* Device i (0 <= i < devices_count(d)), VM paused. */
void devices_save(struct devices *d, unsigned i, struct devices_state *st);
/* The devices were built from the snapshot's config (the same order, so
 * the same addresses and IRQs): st[0..n) goes to device i, whose type and id
 * must match. 0, or -EINVAL with one line in err naming the device. */
int devices_restore(struct devices *d, const struct devices_state *st, unsigned n, char *err,
		    size_t errlen);
/* After a restore, when the VM runs again: every device whose interrupt
 * status is set interrupts the guest once more (an irqfd edge the snapshot
 * may have caught before KVM delivered it). */
void devices_signal_restored(struct devices *d);

#endif
