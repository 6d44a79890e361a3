// SPDX-License-Identifier: Apache-2.0
#include "virtio/tap.h"
#include "src/util.h"

#include <errno.h>
#include <fcntl.h>
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
		return util_err(err, errlen, -EINVAL, "invalid tap name '%s'", ifname);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return util_err(err, errlen, -e, "cannot open /dev/net/tun for %s: %s (os error %d)",
				ifname, strerror(e), e);
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		return util_err(err, errlen, -e, "cannot open tap device %s (TUNSETIFF): "
				"%s (os error %d)", ifname, strerror(e), e);
	}
	/* With CAP_NET_ADMIN, TUNSETIFF creates a missing tap on the fly. The
	 * user named an existing (persistent) device: a tap that only exists
	 * because we just made it is the "does not exist" error, and closing
	 * our fd removes it again. */
	if (ioctl(fd, TUNGETIFF, &ifr) == 0 && !(ifr.ifr_flags & IFF_PERSIST)) {
		close(fd);
		return util_err(err, errlen, -ENODEV, "tap device %s does not exist", ifname);
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
