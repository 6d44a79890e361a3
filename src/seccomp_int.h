/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp_int.h - what the seccomp*.c files share, and nothing else includes:
 * a rule and a list of rules as the compiler takes them, the compiler, the
 * built-in programs and the store of the compiled programs.
 *
 *   seccomp_rules.c    the built-in allowlists (data) and the programs made of them
 *   seccomp_compile.c  lists of rules -> one BPF program (libseccomp)
 *   seccomp_file.c     --seccomp-filter: the JSON file -> lists -> programs
 *   seccomp.c          the programs in use: configure, install per thread, SIGSYS
 *   seccomp_gen.c      build/seccomp-gen: the built-in programs as C, at build time
 */
#ifndef EMBER_SECCOMP_INT_H
#define EMBER_SECCOMP_INT_H

#include <linux/filter.h>
#include <stdint.h>

#include "src/seccomp.h"

#define SC_MAX_ARGS 6	/* argument checks in one rule (a syscall has 6 arguments) */
#define SC_NKINDS   3	/* enum seccomp_thread */

/* tgkill's first argument in the built-in lists: replaced by ember's pid when
 * the precompiled programs are loaded (seccomp.c, sc_copy_patched). Larger
 * than any pid (pid_max is at most 2^22), so an unpatched program allows no
 * tgkill. */
#define SC_PID_PLACEHOLDER 0x5ec0b1d5u

struct sc_cmp {
	uint8_t arg;		/* 0..5 */
	uint8_t op;		/* enum scmp_compare */
	uint64_t a;		/* value, or mask for SCMP_CMP_MASKED_EQ */
	uint64_t b;		/* value for SCMP_CMP_MASKED_EQ */
};

struct sc_rule {
	int nr;
	uint32_t action;	/* 0: the filter's filter_action */
	unsigned n_cmp;
	struct sc_cmp cmp[SC_MAX_ARGS];
	const char *who;	/* who needs it (built-in lists) */
};

struct sc_list {
	uint32_t default_action;
	uint32_t filter_action;
	unsigned n;
	struct sc_rule *rules;
};

/* Compile into *prog (malloc'ed) the rules of lists[0..n), with the default
 * and filter actions of lists[0]. vcpu: for a filter that the vCPU threads
 * inherit, the rules of the vcpu list that allow, and the calls that install
 * the vCPU filter, are merged in (NULL otherwise). 0 or -errno. */
int sc_compile(const struct sc_list *const *lists, unsigned n, const struct sc_list *vcpu,
	       struct sock_fprog *prog);

/* The built-in programs, compiled from the lists of seccomp_rules.c into
 * p[enum seccomp_thread] (seccomp-gen, and the unit test's comparison).
 * 0 or -errno; nothing to free on error. */
int sc_compile_default(struct sock_fprog p[SC_NKINDS]);

/* Replace the programs in use by p[] (taken over; a .len of 0 installs
 * nothing) and enter filter mode. seccomp.c. */
void sc_set_progs(struct sock_fprog p[SC_NKINDS]);

#endif
