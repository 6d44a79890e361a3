// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp.c - the filters in use: the mode (built-in, none or a user file),
 * one compiled BPF program per thread kind, loaded by each thread for
 * itself, and the report of a trapped syscall. The built-in programs come
 * precompiled (build/gen/seccomp_default.c, from the lists of
 * seccomp_rules.c) and get ember's pid patched in; a --seccomp-filter file is
 * compiled at start-up (seccomp_file.c).
 */
#include "src/seccomp_int.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

enum sc_mode { SC_UNSET, SC_NONE, SC_FILTER };

static enum sc_mode sc_mode;
static struct sock_fprog sc_prog[SC_NKINDS];	/* .len 0: nothing to install */

/* The built-in lists, compiled to BPF at build time by build/seccomp-gen
 * (seccomp_gen.c): build/gen/seccomp_default.c. Loading them costs no
 * libseccomp work at start-up. */
extern const struct sock_filter seccomp_default_main[], seccomp_default_vcpu[],
	seccomp_default_main_running[];
extern const unsigned short seccomp_default_main_len, seccomp_default_vcpu_len,
	seccomp_default_main_running_len;

static void sc_progs_free(void)
{
	for (int i = 0; i < SC_NKINDS; i++) {
		free(sc_prog[i].filter);
		sc_prog[i].filter = NULL;
		sc_prog[i].len = 0;
	}
}

void sc_set_progs(struct sock_fprog p[SC_NKINDS])
{
	sc_progs_free();
	for (int i = 0; i < SC_NKINDS; i++)
		sc_prog[i] = p[i];
	sc_mode = SC_FILTER;
}

/* A copy of a precompiled program with tgkill's tgid placeholder replaced
 * by pid. libseccomp compares a 64-bit argument as two 32-bit halves: the
 * placeholder is the k of exactly one "jeq" per program that has the tgkill
 * rule (the upper half is compared with 0). -EINVAL if the count is not
 * `want`, which would mean the lists and this code disagree. */
static int sc_copy_patched(const struct sock_filter *src, unsigned short len, unsigned want,
			   uint32_t pid, struct sock_fprog *out)
{
	struct sock_filter *f = malloc(len * sizeof(*f));
	unsigned found = 0;

	if (!f)
		return -ENOMEM;
	memcpy(f, src, len * sizeof(*f));
	for (unsigned i = 0; i < len; i++) {
		if (f[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && f[i].k == SC_PID_PLACEHOLDER) {
			f[i].k = pid;
			found++;
		}
	}
	if (found != want) {
		free(f);
		return -EINVAL;
	}
	out->filter = f;
	out->len = len;
	return 0;
}

int seccomp_configure_default(void)
{
	struct sock_fprog p[SC_NKINDS] = { { 0, NULL } };
	uint32_t pid = (uint32_t)getpid();
	int ret;

	ret = sc_copy_patched(seccomp_default_main, seccomp_default_main_len, 1, pid,
			      &p[SECCOMP_THREAD_MAIN]);
	if (!ret)
		ret = sc_copy_patched(seccomp_default_vcpu, seccomp_default_vcpu_len, 0, pid,
				      &p[SECCOMP_THREAD_VCPU]);
	if (!ret)
		ret = sc_copy_patched(seccomp_default_main_running,
				      seccomp_default_main_running_len, 1, pid,
				      &p[SECCOMP_THREAD_MAIN_RUNNING]);
	if (ret) {
		for (int i = 0; i < SC_NKINDS; i++)
			free(p[i].filter);
		return ret;
	}
	sc_set_progs(p);
	return 0;
}

int seccomp_default_is_current(void)
{
	static const struct sock_filter *const built[SC_NKINDS] = {
		[SECCOMP_THREAD_MAIN] = seccomp_default_main,
		[SECCOMP_THREAD_VCPU] = seccomp_default_vcpu,
		[SECCOMP_THREAD_MAIN_RUNNING] = seccomp_default_main_running,
	};
	const unsigned short built_len[SC_NKINDS] = {
		[SECCOMP_THREAD_MAIN] = seccomp_default_main_len,
		[SECCOMP_THREAD_VCPU] = seccomp_default_vcpu_len,
		[SECCOMP_THREAD_MAIN_RUNNING] = seccomp_default_main_running_len,
	};
	struct sock_fprog p[SC_NKINDS];
	int ret = sc_compile_default(p);

	if (ret)
		return ret;
	ret = 1;
	for (int i = 0; i < SC_NKINDS; i++) {
		if (p[i].len != built_len[i] ||
		    memcmp(p[i].filter, built[i], p[i].len * sizeof(struct sock_filter)))
			ret = 0;
		free(p[i].filter);
	}
	return ret;
}

int seccomp_configure_none(void)
{
	sc_progs_free();
	sc_mode = SC_NONE;
	return 0;
}

/* ---- per-thread install ------------------------------------------------- */

int seccomp_install_thread(enum seccomp_thread kind)
{
	if (sc_mode == SC_NONE)
		return 0;
	if (sc_mode != SC_FILTER || (unsigned)kind >= SC_NKINDS)
		return -EINVAL;
	if (!sc_prog[kind].len)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* Flags 0: this thread only (no TSYNC); each thread installs its own. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sc_prog[kind]) < 0)
		return -errno;
	return 0;
}

size_t seccomp_prog_len(enum seccomp_thread kind)
{
	if (sc_mode != SC_FILTER || (unsigned)kind >= SC_NKINDS)
		return 0;
	return sc_prog[kind].len;
}

static void sc_sigsys(int sig, siginfo_t *si, void *uc)
{
	static const char pre[] = "Shutting down VM after intercepting a bad syscall (";
	char num[16], *p = num + sizeof(num);
	unsigned v = (unsigned)si->si_syscall;

	(void)sig;
	(void)uc;
	/* Async-signal-safe: no stdio, format the number by hand. */
	*--p = '\n';
	*--p = '.';
	*--p = ')';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) && p > num);
	if (write(2, pre, sizeof(pre) - 1) > 0 && write(2, p, (size_t)(num + sizeof(num) - p)) > 0)
		v = 0;
	_exit(148);
}

int seccomp_report_violations(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sc_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	return 0;
}
