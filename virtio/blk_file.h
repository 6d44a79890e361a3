/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_file.h - the host side of virtio-blk: a drive's backing file.
 */
#ifndef EMBER_BLK_FILE_H
#define EMBER_BLK_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Open path as a drive's backing file: the one place ember opens one (PUT
 * /drives, PATCH /drives; main thread). O_RDWR, or O_RDONLY when read_only;
 * a regular file or a block device, opened without blocking on it
 * (util_open_file), close-on-exec. Returns the fd, or -errno with one line
 * in err: "<path> is a FIFO, not a regular file or a block device" (-EINVAL;
 * or another kind of file), or "cannot open <path> read-write: <strerror>
 * (os error N)" (" read-only" when read_only). */
int blk_file_open(const char *path, bool read_only, char *err, size_t errlen);

#endif
