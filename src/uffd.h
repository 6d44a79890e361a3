/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uffd.h - guest RAM served by a page-fault handler process (a snapshot
 * load with the Uffd memory backend), speaking Firecracker's protocol
 * (docs/snapshot.md, section 5): ember creates a userfaultfd, registers
 * every RAM region for missing-page faults, connects to the handler's Unix
 * socket and sends, in one message, the JSON array of the regions'
 * mappings with the userfaultfd as SCM_RIGHTS data. From then on each first
 * touch of a page (by the guest, KVM or ember) waits until the handler
 * fills it (UFFDIO_COPY or UFFDIO_ZEROPAGE). Nothing else is said on the
 * socket. Main thread.
 */
#ifndef EMBER_UFFD_H
#define EMBER_UFFD_H

#include <stddef.h>

#include "src/guest_mem.h"

/* Check path before anything is built: it fits a Unix socket address and
 * is a socket. 0 or -errno with one line in err. */
int uffd_check_path(const char *path, char *err, size_t errlen);

/* Hand mem (anonymous RAM, not touched yet) to the handler at path. On
 * success *fd is ember's copy of the userfaultfd (keep it open as long as
 * mem exists) and the JSON sent is logged at debug level. 0 or -errno with
 * one line in err naming the step (userfaultfd, UFFDIO_API,
 * UFFDIO_REGISTER, connect, sendmsg); nothing stays open on error. */
int uffd_serve(const struct guest_mem *mem, const char *path, int *fd, char *err,
	       size_t errlen);

#endif
