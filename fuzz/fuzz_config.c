// SPDX-License-Identifier: Apache-2.0
/* config_file_load() (--config-file) on the input, read from a memfd
 * through /proc/self/fd. Checks: an error always comes with a message that
 * names the file; a success has a boot source; config_release() closes
 * whatever the load opened (fd count is unchanged afterwards). */
#include "src/config_file.h"
#include "fuzz/common.h"
#include "src/config.h"
#include "src/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct vm_config cfg;
static int verbose;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	fuzz_sandbox_init(verbose);
	return 0;
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];
	static int check_fds = -1;

	if (size > 1 << 20)
		return 0;
	if (check_fds < 0)
		check_fds = getenv("FUZZ_NO_FD_CHECK") == NULL;
	log_set_level(verbose ? LOG_TRACE : LOG_OFF);
	int fd = fuzz_memfd("config", data, size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int before = check_fds ? count_fds() : 0;

	config_init(&cfg);
	err[0] = 0;
	int r = config_file_load(path, &cfg, err, sizeof(err));
	if (r < 0 && (!err[0] || !strstr(err, path)))
		abort();
	if (r == 0 && !cfg.boot.set)
		abort();
	if (r > 0)
		abort();
	config_release(&cfg);
	if (check_fds && count_fds() != before)
		abort();   /* the load leaked or closed a descriptor */
	close(fd);
	return 0;
}
