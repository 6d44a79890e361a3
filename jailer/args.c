// SPDX-License-Identifier: Apache-2.0
/*
 * args.c - ember-jailer command line: syntax checks only (no file system).
 */
#include "jailer/jail.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int args_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int args_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool jail_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > JAIL_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* Decimal digits only (no sign, no spaces, no 0x), value <= max. */
static bool args_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* A cgroup file or controller name: no '/', nothing that walks the tree. */
static bool args_cg_name_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* "<controller>.<property>=<value>", as Firecracker: exactly one '=' and a
 * non-empty value; we also refuse newlines in the value. */
static int args_cgroup(struct jail_args *a, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	const char *dot;
	size_t flen, clen;

	if (a->n_cgroups >= JAIL_MAX_CGROUP_ARGS)
		return args_fail(err, errlen, "too many --cgroup arguments (at most %d)",
				 JAIL_MAX_CGROUP_ARGS);
	if (!eq || strchr(eq + 1, '=') || !eq[1] || strchr(eq + 1, '\n'))
		return args_fail(err, errlen,
				 "--cgroup '%s': expected <controller>.<file>=<value>", arg);
	flen = (size_t)(eq - arg);
	dot = memchr(arg, '.', flen);
	if (!dot || dot == arg || dot + 1 == eq || !args_cg_name_ok(arg, flen) ||
	    flen >= sizeof(a->cgroups[0].file))
		return args_fail(err, errlen,
				 "--cgroup '%s': expected <controller>.<file>=<value>", arg);
	clen = (size_t)(dot - arg);
	if (clen >= sizeof(a->cgroups[0].controller))
		return args_fail(err, errlen, "--cgroup '%s': controller name too long", arg);
	a->cgroups[a->n_cgroups].arg = arg;
	memcpy(a->cgroups[a->n_cgroups].file, arg, flen);
	a->cgroups[a->n_cgroups].file[flen] = '\0';
	memcpy(a->cgroups[a->n_cgroups].controller, arg, clen);
	a->cgroups[a->n_cgroups].controller[clen] = '\0';
	a->cgroups[a->n_cgroups].value = eq + 1;
	a->n_cgroups++;
	return 0;
}

static int args_rlimit(struct jail_args *a, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	uint64_t v;

	if (!eq)
		return args_fail(err, errlen, "--resource-limit '%s': expected fsize=N or no-file=N",
				 arg);
	if (!args_parse_u64(eq + 1, UINT64_MAX, &v))
		return args_fail(err, errlen, "--resource-limit '%s': '%s' is not a number", arg,
				 eq + 1);
	if ((size_t)(eq - arg) == 5 && !strncmp(arg, "fsize", 5)) {
		a->has_fsize = true;
		a->fsize = v;
	} else if ((size_t)(eq - arg) == 7 && !strncmp(arg, "no-file", 7)) {
		a->nofile = v;
	} else {
		return args_fail(err, errlen, "--resource-limit '%.*s': unknown resource "
				 "(fsize or no-file)", (int)(eq - arg), arg);
	}
	return 0;
}

/* Relative, no "", "." or ".." components (Firecracker rejects those too). */
static bool args_parent_cgroup_ok(const char *p)
{
	if (!*p || *p == '/')
		return false;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < n; i++)
			if (p[i] == '\n')
				return false;
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			return false;	/* trailing '/' */
	}
	return true;
}

enum args_flag {
	F_ID, F_EXEC, F_UID, F_GID, F_BASE, F_NETNS, F_DAEMON, F_PIDNS, F_CGROUP,
	F_CGVER, F_CGPARENT, F_RLIMIT, F_VERSION, F_HELP, F_UFFD, F_COUNT
};

static const struct {
	const char *name;
	bool value;	/* takes a value */
	bool multi;	/* may repeat */
} args_flags[F_COUNT] = {
	[F_ID] = { "--id", true, false },
	[F_EXEC] = { "--exec-file", true, false },
	[F_UID] = { "--uid", true, false },
	[F_GID] = { "--gid", true, false },
	[F_BASE] = { "--chroot-base-dir", true, false },
	[F_NETNS] = { "--netns", true, false },
	[F_DAEMON] = { "--daemonize", false, false },
	[F_PIDNS] = { "--new-pid-ns", false, false },
	[F_CGROUP] = { "--cgroup", true, true },
	[F_CGVER] = { "--cgroup-version", true, false },
	[F_CGPARENT] = { "--parent-cgroup", true, false },
	[F_RLIMIT] = { "--resource-limit", true, true },
	[F_VERSION] = { "--version", false, false },
	[F_HELP] = { "--help", false, false },
	[F_UFFD] = { "--userfaultfd", false, false },
};

/* --uid or --gid (what: "uid", "gid"): 1..UINT32_MAX-1, since (uid_t)-1
 * means "unchanged" to setresuid; 0 is refused with "must not <not_0>". */
static int args_id(const char *val, const char *what, const char *not_0, uint64_t *v, char *err,
		   size_t errlen)
{
	if (!args_parse_u64(val, UINT32_MAX - 1, v))
		return args_fail(err, errlen, "--%s '%s': not a %s (1..%u)", what, val, what,
				 UINT32_MAX - 1);
	if (*v == 0)
		return args_fail(err, errlen, "--%s 0: the jailed process must not %s", what,
				 not_0);
	return 0;
}

/* Store the value of flag f (val: NULL for a flag without one). */
static int args_apply(struct jail_args *a, int f, const char *val, char *err, size_t errlen)
{
	uint64_t v;
	int ret;

	switch (f) {
	case F_ID:
		a->id = val;
		break;
	case F_EXEC:
		a->exec_file = val;
		break;
	case F_UID:
		ret = args_id(val, "uid", "run as root", &v, err, errlen);
		if (ret)
			return ret;
		a->uid = (uid_t)v;
		break;
	case F_GID:
		ret = args_id(val, "gid", "run in group root", &v, err, errlen);
		if (ret)
			return ret;
		a->gid = (gid_t)v;
		break;
	case F_BASE:
		if (val[0] != '/')
			return args_fail(err, errlen,
					 "--chroot-base-dir '%s': must be an absolute path", val);
		a->chroot_base = val;
		break;
	case F_NETNS:
		a->netns = val;
		break;
	case F_DAEMON:
		a->daemonize = true;
		break;
	case F_PIDNS:
		a->new_pid_ns = true;
		break;
	case F_CGROUP:
		ret = args_cgroup(a, val, err, errlen);
		if (ret)
			return ret;
		break;
	case F_CGVER:
		if (strcmp(val, "1") && strcmp(val, "2"))
			return args_fail(err, errlen, "--cgroup-version '%s': must be 1 or 2", val);
		a->cgroup_version = val[0] - '0';
		break;
	case F_CGPARENT:
		if (!args_parent_cgroup_ok(val))
			return args_fail(err, errlen, "--parent-cgroup '%s': must be a relative "
					 "path without '.', '..' or empty components", val);
		a->parent_cgroup = val;
		break;
	case F_RLIMIT:
		ret = args_rlimit(a, val, err, errlen);
		if (ret)
			return ret;
		break;
	case F_VERSION:
		a->version = true;
		break;
	case F_UFFD:
		a->userfaultfd = true;
		break;
	case F_HELP:
		a->help = true;
		break;
	}
	return 0;
}

/* The required flags are there and the id is valid. */
static int args_required(const struct jail_args *a, const bool *seen, char *err, size_t errlen)
{
	if (!a->id)
		return args_fail(err, errlen, "missing required argument --id");
	if (!jail_id_valid(a->id))
		return args_fail(err, errlen, "--id '%s': must be 1 to %d characters, "
				 "alphanumeric or '-'", a->id, JAIL_ID_MAX);
	if (!a->exec_file)
		return args_fail(err, errlen, "missing required argument --exec-file");
	if (!a->exec_file[0])
		return args_fail(err, errlen, "--exec-file: empty path");
	if (!seen[F_UID])
		return args_fail(err, errlen, "missing required argument --uid");
	if (!seen[F_GID])
		return args_fail(err, errlen, "missing required argument --gid");
	return 0;
}

int jail_args_parse(int argc, char **argv, struct jail_args *a, char *err, size_t errlen)
{
	bool seen[F_COUNT] = { false };
	int i, ret;

	memset(a, 0, sizeof(*a));
	a->chroot_base = JAIL_DEFAULT_BASE;
	a->cgroup_version = 1;
	a->nofile = JAIL_DEFAULT_NOFILE;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL;
		int f;

		if (!strcmp(arg, "--")) {
			a->extra = &argv[i + 1];
			a->n_extra = argc - i - 1;
			break;
		}
		for (f = 0; f < F_COUNT; f++)
			if (!strcmp(arg, args_flags[f].name))
				break;
		if (f == F_COUNT)
			return args_fail(err, errlen, "unknown argument '%s'", arg);
		if (seen[f] && !args_flags[f].multi)
			return args_fail(err, errlen, "argument '%s' given more than once", arg);
		seen[f] = true;
		if (args_flags[f].value) {
			if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
				return args_fail(err, errlen, "argument '%s' needs a value", arg);
			val = argv[++i];
		}
		ret = args_apply(a, f, val, err, errlen);
		if (ret)
			return ret;
	}
	if (a->version || a->help)
		return 0;
	return args_required(a, seen, err, errlen);
}

void jail_usage(int fd)
{
	dprintf(fd,
		"usage: ember-jailer --id ID --exec-file PATH --uid UID --gid GID\n"
		"         [--chroot-base-dir DIR] [--netns PATH] [--daemonize] [--new-pid-ns]\n"
		"         [--cgroup <controller>.<file>=<value>]... [--cgroup-version 1|2]\n"
		"         [--parent-cgroup PATH] [--resource-limit fsize=N|no-file=N]...\n"
		"         [--userfaultfd] [--version] [--help] [-- ember arguments...]\n"
		"Builds <chroot-base-dir>/<exec name>/<id>/root (default base %s), enters\n"
		"it and execs /<exec name> --id ID ... as UID:GID with no capabilities.\n"
		"--userfaultfd: the jail gets the host's /dev/userfaultfd too (snapshot loads\n"
		"with the Uffd memory backend).\n",
		JAIL_DEFAULT_BASE);
}
