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
 * IFF_VNET_HDR), nonblocking and close-on-exec: the one place ember opens a
 * tap (PUT /network-interfaces, main thread). A tap that TUNSETIFF would
 * only create now (it was not there, or not persistent) is refused and
 * removed again. Returns the fd, or -errno with one line in err in
 * Firecracker's words ("Open tap device failed: ..."), naming ifname:
 * -EINVAL for a bad name, -ENODEV when no such tap exists (with ember's
 * reason after Firecracker's sentence), -EBUSY when another process holds
 * it, -EPERM/-EACCES without the right to attach, and the open error of
 * /dev/net/tun. The virtio-net header length is set by whoever builds the
 * device (tap_set_vnet_hdr_len). */
int tap_open(const char *ifname, char *err, size_t errlen);

/* Set the virtio-net header length the tap reads and writes. 0 or -errno. */
int tap_set_vnet_hdr_len(int fd, int len);

/* TUNSETOFFLOAD: which offloads the guest can take on receive. 0 or -errno. */
int tap_set_offload(int fd, unsigned flags);

#endif
