// SPDX-License-Identifier: Apache-2.0
/* Shared harness code, and the --wrap diversions that keep the API and
 * config-file harnesses from touching the host: files may only be opened
 * below FUZZ_SANDBOX, tap devices are eventfds, the log goes to /dev/null,
 * metrics are never opened and the metrics timer never starts. */
#include "fuzz/common.h"
#include "src/config.h"
#include "src/log.h"
#include "virtio/blk_file.h"
#include "virtio/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct evloop;

int __real_log_open(const char *path);
int __real_blk_file_open(const char *path, bool read_only, char *err, size_t errlen);
int __real_config_boot_validate(const struct config_boot *b, char *err, size_t errlen);
int __real_config_serial_open(struct config_serial *s, char *err, size_t errlen);

int fuzz_memfd(const char *name, const void *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	const uint8_t *p = data;
	while (len) {
		ssize_t k = write(fd, p, len);
		if (k <= 0) {
			perror("memfd write");
			abort();
		}
		p += k;
		len -= (size_t)k;
	}
	return fd;
}

static void fuzz_put_file(const char *name, size_t size)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", FUZZ_SANDBOX, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror(path);
		abort();
	}
	close(fd);
}

void fuzz_sandbox_init(int verbose_logs)
{
	static int done;
	if (done)
		return;
	done = 1;
	mkdir(FUZZ_SANDBOX, 0700);
	fuzz_put_file("kernel", 4096);
	fuzz_put_file("initrd", 4096);
	for (int i = 0; i < 4; i++) {
		char n[16];
		snprintf(n, sizeof(n), "disk%d", i);
		fuzz_put_file(n, 1 << 20);
	}
	if (__real_log_open("/dev/null") < 0)
		abort();
	log_set_level(verbose_logs ? LOG_TRACE : LOG_OFF);
}

/* Paths inside the sandbox (no "..") are real; everything else is refused
 * with ENOENT, as if it did not exist. */
static int fuzz_path_ok(const char *path)
{
	size_t n = strlen(FUZZ_SANDBOX);
	return !strncmp(path, FUZZ_SANDBOX "/", n + 1) && !strstr(path, "..");
}

int __wrap_log_open(const char *path)
{
	/* Keep the /dev/null target; only tell the caller what open would say. */
	return fuzz_path_ok(path) ? 0 : -ENOENT;
}

int __wrap_metrics_open(const char *path)
{
	return fuzz_path_ok(path) ? 0 : -ENOENT;
}

int __wrap_metrics_start(struct evloop *loop)
{
	return 0;
}

int __wrap_blk_file_open(const char *path, bool read_only, char *err, size_t errlen)
{
	if (!fuzz_path_ok(path)) {
		snprintf(err, errlen, "cannot open %s: %s (os error %d)", path, strerror(ENOENT),
			 ENOENT);
		return -ENOENT;
	}
	return __real_blk_file_open(path, read_only, err, errlen);
}

/* Only files that exist in the sandbox: serial_out_path would otherwise
 * create one for every name the fuzzer makes up. */
int __wrap_config_serial_open(struct config_serial *s, char *err, size_t errlen)
{
	if (!fuzz_path_ok(s->out_path) || access(s->out_path, F_OK) < 0) {
		snprintf(err, errlen, "serial_out_path: cannot open %s: %s (os error %d)",
			 s->out_path, strerror(ENOENT), ENOENT);
		return -ENOENT;
	}
	return __real_config_serial_open(s, err, errlen);
}

int __wrap_tap_open(const char *ifname, char *err, size_t errlen)
{
	if (!ifname[0] || strlen(ifname) >= CONFIG_IFNAME_MAX) {
		snprintf(err, errlen, "invalid tap name '%s'", ifname);
		return -EINVAL;
	}
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		abort();
	return fd;
}

int __wrap_config_boot_validate(const struct config_boot *b, char *err, size_t errlen)
{
	static struct config_boot copy;
	copy = *b;
	if (copy.kernel_path[0] && !fuzz_path_ok(copy.kernel_path))
		snprintf(copy.kernel_path, sizeof(copy.kernel_path), "%s/missing", FUZZ_SANDBOX);
	if (copy.initrd_path[0] && !fuzz_path_ok(copy.initrd_path))
		snprintf(copy.initrd_path, sizeof(copy.initrd_path), "%s/missing", FUZZ_SANDBOX);
	return __real_config_boot_validate(&copy, err, errlen);
}
