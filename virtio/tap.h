/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tap.h - the host side of virtio-net: a tap device with virtio-net headers.
 */
#ifndef EMBER_TAP_H
#define EMBER_TAP_H

#include <stddef.h>

/* TUNSETOFFLOAD bits (linux/if_tun.h) */
#define TAP_OFFLOAD_CSUM 0x01
#define TAP_OFFLOAD_TSO4 0x02
#define TAP_OFFLOAD_TSO6 0x04
#define TAP_OFFLOAD_UFO  0x10

/* Attach to the existing tap `ifname` (/dev/net/tun, IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR), nonblocking and close-on-exec, with 12-byte virtio-net
 * headers (virtio 1.x). Called at PUT /network-interfaces time (API thread).
 * Returns the fd, or -errno with one line in err: -ENODEV when no such
 * interface exists, -EBUSY when another process holds it, -EINVAL for a
 * bad name, -EPERM/-EACCES without the right to attach. */
int tap_open(const char *ifname, char *err, size_t errlen);

/* Set the virtio-net header length the tap reads and writes. 0 or -errno. */
int tap_set_vnet_hdr_len(int fd, int len);

/* TUNSETOFFLOAD: which offloads the guest can take on receive. 0 or -errno. */
int tap_set_offload(int fd, unsigned flags);

#endif
