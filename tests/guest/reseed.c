// SPDX-License-Identifier: Apache-2.0
/*
 * reseed.c - reseed the guest kernel's CRNG now (ioctl RNDRESEEDCRNG on
 * /dev/urandom; root). tests/e2e/test_snapshot_vmgenid.sh runs it just before
 * the snapshot, so that the kernel's own periodic reseed (due when a read
 * finds the key older than min(uptime / 2, 60 s)) cannot come in the first
 * seconds after a restore: what the clones print then depends only on the
 * RNG state they were restored with and on the VM generation id.
 * The ioctl needs an initialised CRNG (else ENODATA), and a guest with no
 * hardware RNG may not have one yet: a blocking getrandom() first waits
 * for it (Linux then gathers timer jitter until it is ready).
 *
 *   gcc -static -O2 -Wall -o reseed tests/guest/reseed.c
 *   reseed        prints "reseed: ok" or the error, exits 0 or 1
 */
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

int main(void)
{
	char b;
	if (getrandom(&b, 1, 0) != 1) {
		printf("reseed: getrandom: %s\n", strerror(errno));
		return 1;
	}
	int fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || ioctl(fd, RNDRESEEDCRNG) < 0) {
		printf("reseed: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	printf("reseed: ok\n");
	return 0;
}
