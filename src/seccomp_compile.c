// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp_compile.c - the rule compiler: lists of struct sc_rule (the
 * built-in lists of seccomp_rules.c, or those parsed from a --seccomp-filter
 * file) into one classic BPF program, through libseccomp. Used at build time
 * by seccomp-gen, and at run time for a filter file and the unit test.
 */
#include "src/seccomp_int.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/log.h"

/* Add r with its own action, or action if it has none. A rule whose action
 * is the filter's default changes nothing, and libseccomp refuses it
 * (-EACCES): skip it. That happens for a user filter with default_action
 * "allow" (a deny list), where the merged vcpu and install rules below are
 * "allow" too. */
static int sc_add_rule(scmp_filter_ctx ctx, uint32_t def, uint32_t action,
		       const struct sc_rule *r)
{
	struct scmp_arg_cmp c[SC_MAX_ARGS];

	if ((r->action ? r->action : action) == def)
		return 0;
	if (r->n_cmp > SC_MAX_ARGS)
		return -EINVAL;
	for (unsigned i = 0; i < r->n_cmp; i++) {
		c[i].arg = r->cmp[i].arg;
		c[i].op = r->cmp[i].op;
		c[i].datum_a = r->cmp[i].a;
		c[i].datum_b = r->cmp[i].b;
	}
	return seccomp_rule_add_exact_array(ctx, r->action ? r->action : action, r->nr,
					    r->n_cmp, c);
}

/* Into a filter that the vCPU threads inherit: every rule of the vcpu list
 * whose action is "allow", and the two calls a vCPU thread makes to add its
 * own filter (seccomp_install_thread), so that the vCPU thread runs under
 * exactly the vcpu list (seccomp.h, "Stacking"). */
static int sc_add_vcpu_rules(scmp_filter_ctx ctx, uint32_t def, const struct sc_list *vcpu)
{
	static const struct sc_rule install[] = {
		{ .nr = SCMP_SYS(seccomp), .n_cmp = 1,
		  .cmp = { { .arg = 0, .op = SCMP_CMP_EQ, .a = SECCOMP_SET_MODE_FILTER } },
		  .who = "vCPU filter" },
		{ .nr = SCMP_SYS(prctl), .n_cmp = 1,
		  .cmp = { { .arg = 0, .op = SCMP_CMP_EQ, .a = PR_SET_NO_NEW_PRIVS } },
		  .who = "vCPU filter" },
	};
	int ret;

	for (unsigned i = 0; i < vcpu->n; i++) {
		const struct sc_rule *r = &vcpu->rules[i];
		uint32_t act = r->action ? r->action : vcpu->filter_action;

		if (act != SCMP_ACT_ALLOW)
			continue;
		ret = sc_add_rule(ctx, def, SCMP_ACT_ALLOW, r);
		/* -EEXIST: main already has the same rule. */
		if (ret && ret != -EEXIST)
			return ret;
	}
	for (unsigned i = 0; i < 2; i++) {
		ret = sc_add_rule(ctx, def, SCMP_ACT_ALLOW, &install[i]);
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

/* The program of ctx into *prog (malloc'ed). libseccomp 2.5 exports only to
 * an fd: export to a memfd and read the program back. */
static int sc_export(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	char *buf = NULL;
	struct stat st;
	int fd, ret;

	fd = memfd_create("ember-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (ret)
		goto out;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = -E2BIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		ret = -EIO;
		goto out;
	}
	prog->filter = (struct sock_filter *)buf;
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int sc_compile(const struct sc_list *const *lists, unsigned n, const struct sc_list *vcpu,
	       struct sock_fprog *prog)
{
	const struct sc_list *l = lists[0];
	scmp_filter_ctx ctx;
	int ret;

	ctx = seccomp_init(l->default_action);
	if (!ctx)
		return -ENOMEM;
	/* We set no_new_privs ourselves when loading. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (ret)
		goto out;
	for (unsigned k = 0; k < n; k++) {
		for (unsigned i = 0; i < lists[k]->n; i++) {
			const struct sc_rule *r = &lists[k]->rules[i];

			ret = sc_add_rule(ctx, l->default_action, l->filter_action, r);
			if (ret) {
				char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
									      r->nr);
				log_error("seccomp: rule %u (%s): %s", i, name ? name : "?",
					  strerror(-ret));
				free(name);
				goto out;
			}
		}
	}
	if (vcpu) {
		ret = sc_add_vcpu_rules(ctx, l->default_action, vcpu);
		if (ret)
			goto out;
	}
	ret = sc_export(ctx, prog);
out:
	seccomp_release(ctx);
	return ret;
}
