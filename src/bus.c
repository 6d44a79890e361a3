// SPDX-License-Identifier: Apache-2.0
#include "src/bus.h"

#include <errno.h>

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_handler h, void *opaque)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	if (bus->nranges >= BUS_MAX_RANGES)
		return -ENOSPC;
	for (unsigned i = 0; i < bus->nranges; i++) {
		const struct bus_range *r = &bus->ranges[i];
		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	bus->ranges[bus->nranges++] = (struct bus_range){ base, len, h, opaque };
	return 0;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	for (unsigned i = 0; i < bus->nranges; i++) {
		const struct bus_range *r = &bus->ranges[i];
		if (addr >= r->base && addr - r->base < r->len && len <= r->len - (addr - r->base)) {
			r->handler(r->opaque, addr - r->base, data, len, is_write);
			return true;
		}
	}
	return false;
}
