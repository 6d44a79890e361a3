// SPDX-License-Identifier: Apache-2.0
/* seccomp_configure_file() (--seccomp-filter) on the input, read from a
 * memfd through /proc/self/fd. Checks: an error is negative and comes with
 * one line that starts with the file name; a success leaves a main and a
 * vcpu program and none for the running VM; the parser and the rule builder
 * stay inside their arrays (ASan, UBSan). No filter is installed. */
#include "fuzz/common.h"
#include "src/log.h"
#include "src/seccomp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_sandbox_init(getenv("FUZZ_VERBOSE") != NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[512];

	if (size > 1 << 20)
		return 0;
	int fd = fuzz_memfd("seccomp", data, size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	int r = seccomp_configure_file(path, err, sizeof(err));
	if (r > 0)
		abort();
	if (r < 0 && (!err[0] || strncmp(err, path, strlen(path)) || strchr(err, '\n')))
		abort();	/* every error is one line that starts with the file */
	if (r == 0 && (!seccomp_prog_len(SECCOMP_THREAD_MAIN) ||
		       !seccomp_prog_len(SECCOMP_THREAD_VCPU) ||
		       seccomp_prog_len(SECCOMP_THREAD_MAIN_RUNNING)))
		abort();
	seccomp_configure_none();	/* frees the programs */
	close(fd);
	return 0;
}
