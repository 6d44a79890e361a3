// SPDX-License-Identifier: Apache-2.0
#include "virtio/tap.h"
#include "src/util.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if.h>
#include <linux/if_tun.h>

int tap_open(const char *ifname, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, e;

	if (!ifname[0] || strlen(ifname) >= IFNAMSIZ)
		return util_err(err, errlen, -EINVAL, "Open tap device failed: Invalid interface "
				"name (host_dev_name '%s': 1 to %d bytes)", ifname, IFNAMSIZ - 1);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return util_err(err, errlen, -e, "Open tap device failed: Couldn't open "
				"/dev/net/tun: %s (os error %d) (host_dev_name %s)",
				strerror(e), e, ifname);
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	e = ioctl(fd, TUNSETIFF, &ifr) < 0 ? errno : 0;
	/* With CAP_NET_ADMIN, TUNSETIFF creates a missing tap on the fly. The
	 * user named an existing (persistent) device: a tap that only exists
	 * because we just made it is the "does not exist" error, and closing
	 * our fd removes it again. */
	bool made = !e && ioctl(fd, TUNGETIFF, &ifr) == 0 && !(ifr.ifr_flags & IFF_PERSIST);
	if (made)
		e = ENODEV;
	if (e) {
		char why[2 * IFNAMSIZ + 96] = "";
		if (made)
			snprintf(why, sizeof(why), " (tap device %s does not exist: ember attaches "
				 "to an existing tap only, such as one made by `ip tuntap add %s "
				 "mode tap`)", ifname, ifname);
		close(fd);
		return util_err(err, errlen, -e, "Open tap device failed: Error while creating "
				"ifreq structure: %s (os error %d). Invalid TUN/TAP Backend provided "
				"by %s. Check our documentation on setting up the network devices.%s",
				strerror(e), e, ifname, why);
	}
	return fd;
}

int tap_set_vnet_hdr_len(int fd, int len)
{
	return ioctl(fd, TUNSETVNETHDRSZ, &len) < 0 ? -errno : 0;
}

int tap_set_offload(int fd, unsigned flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}
