// SPDX-License-Identifier: Apache-2.0
#include "virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

int tap_open(const char *ifname, char *err, size_t errlen)
{
	struct ifreq ifr;
	size_t len = strlen(ifname);
	int fd, r;

	if (len == 0 || len >= IFNAMSIZ) {
		snprintf(err, errlen, "Invalid tap name '%s'", ifname);
		return -EINVAL;
	}
	/* TUNSETIFF would create a missing device: refuse, the host owns taps. */
	if (if_nametoindex(ifname) == 0) {
		snprintf(err, errlen, "Could not open tap device %s: no such device", ifname);
		return -ENODEV;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "Could not open /dev/net/tun: %s", strerror(errno));
		return r;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, len);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		snprintf(err, errlen, "Could not attach to tap device %s: TUNSETIFF: %s",
			 ifname, strerror(errno));
		goto err_close;
	}
	r = tap_set_vnet_hdr_len(fd, 12);
	if (r) {
		snprintf(err, errlen, "tap %s: TUNSETVNETHDRSZ 12: %s", ifname, strerror(-r));
		goto err_close;
	}
	return fd;
err_close:
	close(fd);
	return r;
}

int tap_set_vnet_hdr_len(int fd, int len)
{
	return ioctl(fd, TUNSETVNETHDRSZ, &len) < 0 ? -errno : 0;
}

int tap_set_offload(int fd, unsigned flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}
