// SPDX-License-Identifier: Apache-2.0
#include "virtio/blk_file.h"
#include "src/util.h"

#include <fcntl.h>
#include <string.h>

int blk_file_open(const char *path, bool read_only, char *err, size_t errlen)
{
	const char *kind;
	int fd = util_open_file(path, read_only ? O_RDONLY : O_RDWR, true, &kind);
	if (fd < 0 && kind)
		return util_err(err, errlen, fd, "%s is %s, not a regular file or a block device",
				path, kind);
	if (fd < 0)
		return util_err(err, errlen, fd, "cannot open %s%s: %s (os error %d)", path,
				read_only ? " read-only" : " read-write", strerror(-fd), -fd);
	return fd;
}
