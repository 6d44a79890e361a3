/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bus.h - guest address ranges -> device handlers.
 *
 * Two buses per VM: MMIO (guest-physical addresses) and PIO (x86 ports).
 * Ranges are registered while the VM is built (single-threaded) and never
 * change afterwards, so vCPU threads look them up without a lock.
 * Handlers run on vCPU threads; each device serialises itself.
 */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define BUS_MAX_RANGES 32

/* offset is relative to the range base; len is 1, 2, 4 or 8. On a read the
 * handler fills data[0..len); on a write it consumes it. */
typedef void (*bus_handler)(void *opaque, uint64_t offset, uint8_t *data,
			    uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler handler;
	void *opaque;
};

struct bus {
	unsigned nranges;
	struct bus_range ranges[BUS_MAX_RANGES];
};

/* Returns 0, -EEXIST for an overlap, -ENOSPC when full, -EINVAL for len 0. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_handler h, void *opaque);

/* Dispatch an access. Returns false when no device covers [addr, addr+len);
 * the caller then ignores the write or returns all-ones for the read. */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
