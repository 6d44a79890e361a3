// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp_file.c - --seccomp-filter FILE: Firecracker's seccompiler JSON
 * format (seccomp.h describes it) parsed into lists of rules, compiled
 * (seccomp_compile.c) and made the programs in use. Every error is one line
 * that starts with the file's name. The one user of cJSON besides api.c.
 */
#include "src/seccomp_int.h"
#include "src/util.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define SC_MAX_RULES 2048
#define SC_MAX_FILE  (1 << 20)

/* A bad file: one line into err, -EINVAL. */
#define sc_bad(err, errlen, ...) util_err(err, errlen, -EINVAL, __VA_ARGS__)

/* A string from the file, fit for a one-line message: at most 48 bytes,
 * control characters and non-ASCII bytes shown as '?'. */
static const char *sc_text(const char *s, char buf[52])
{
	size_t n = 0;

	for (; s[n] && n < 48; n++)
		buf[n] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
	if (s[n]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* The member f of an object whose keys are names[] (NULL-ended, at most 32):
 * its index in names, or -EINVAL naming an unknown or repeated key. cJSON
 * keeps every copy of a repeated key, and each key describes one thing (a
 * second "args" once overran the argument array): refuse repeats. */
static int sc_key(const cJSON *f, const char *const *names, uint32_t *seen, const char *where,
		  char *err, size_t errlen)
{
	char t[52];

	for (unsigned i = 0; names[i]; i++) {
		if (strcmp(f->string, names[i]))
			continue;
		if (*seen & (1u << i))
			return sc_bad(err, errlen, "%s: duplicate key \"%s\"", where, names[i]);
		*seen |= 1u << i;
		return (int)i;
	}
	return sc_bad(err, errlen, "%s: unknown field \"%s\"", where, sc_text(f->string, t));
}

static bool sc_u64(const cJSON *v, uint64_t max, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	/* Exact integers only: a double holds those up to 2^53. */
	if (d < 0 || d > 9007199254740992.0 || d != (double)(uint64_t)d || (uint64_t)d > max)
		return false;
	*out = (uint64_t)d;
	return true;
}

static int sc_action(const cJSON *v, const char *where, uint32_t *out, char *err,
		     size_t errlen)
{
	char t[52];

	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		if (!strcmp(s, "allow"))
			*out = SCMP_ACT_ALLOW;
		else if (!strcmp(s, "kill_process") || !strcmp(s, "kill"))
			*out = SCMP_ACT_KILL_PROCESS;
		else if (!strcmp(s, "kill_thread"))
			*out = SCMP_ACT_KILL_THREAD;
		else if (!strcmp(s, "trap"))
			*out = SCMP_ACT_TRAP;
		else if (!strcmp(s, "log"))
			*out = SCMP_ACT_LOG;
		else
			return sc_bad(err, errlen, "%s: unknown action \"%s\"", where,
				      sc_text(s, t));
		return 0;
	}
	if (cJSON_IsObject(v) && cJSON_GetArraySize(v) == 1) {
		const cJSON *e = v->child;
		uint64_t n;

		if (!strcmp(e->string, "errno") && sc_u64(e, 4095, &n)) {
			*out = SCMP_ACT_ERRNO((uint32_t)n);
			return 0;
		}
		if (!strcmp(e->string, "trace") && sc_u64(e, 0xffff, &n)) {
			*out = SCMP_ACT_TRACE((uint32_t)n);
			return 0;
		}
	}
	return sc_bad(err, errlen, "%s: bad action (expected \"allow\", \"kill_process\", "
		      "\"kill_thread\", \"trap\", \"log\", {\"errno\": N} or {\"trace\": N})", where);
}

static int sc_parse_arg(const cJSON *a, const char *where, struct sc_cmp *c, char *err,
			size_t errlen)
{
	static const char *const keys[] = { "index", "type", "op", "val", "comment", NULL };
	enum { K_INDEX, K_TYPE, K_OP, K_VAL };
	const cJSON *f;
	bool dword = false;
	uint64_t idx = 0, val = 0, mask = 0;
	uint32_t seen = 0;
	int op = 0, k;

	if (!cJSON_IsObject(a))
		return sc_bad(err, errlen, "%s: each args entry must be an object", where);
	cJSON_ArrayForEach(f, a) {
		if ((k = sc_key(f, keys, &seen, where, err, errlen)) < 0)
			return k;
		if (k == K_INDEX) {
			if (!sc_u64(f, 5, &idx))
				return sc_bad(err, errlen, "%s: \"index\" must be 0..5", where);
		} else if (k == K_TYPE) {
			if (!cJSON_IsString(f) || (strcmp(f->valuestring, "dword") &&
						   strcmp(f->valuestring, "qword")))
				return sc_bad(err, errlen, "%s: \"type\" must be \"dword\" or \"qword\"",
					      where);
			dword = !strcmp(f->valuestring, "dword");
		} else if (k == K_OP) {
			static const struct { const char *n; int op; } ops[] = {
				{ "eq", SCMP_CMP_EQ }, { "ne", SCMP_CMP_NE }, { "lt", SCMP_CMP_LT },
				{ "le", SCMP_CMP_LE }, { "gt", SCMP_CMP_GT }, { "ge", SCMP_CMP_GE },
			};
			if (cJSON_IsString(f)) {
				for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
					if (!strcmp(f->valuestring, ops[i].n))
						op = ops[i].op;
			} else if (cJSON_IsObject(f) && cJSON_GetArraySize(f) == 1 &&
				   !strcmp(f->child->string, "masked_eq") &&
				   sc_u64(f->child, UINT64_MAX, &mask)) {
				op = SCMP_CMP_MASKED_EQ;
			}
			if (!op)
				return sc_bad(err, errlen, "%s: bad \"op\" (eq, ne, lt, le, gt, ge or "
					      "{\"masked_eq\": MASK})", where);
		} else if (k == K_VAL) {
			if (!sc_u64(f, UINT64_MAX, &val))
				return sc_bad(err, errlen, "%s: \"val\" must be a non-negative integer "
					      "(at most 2^53)", where);
		}
	}
	if ((seen & (1u << K_INDEX | 1u << K_OP | 1u << K_VAL)) !=
	    (1u << K_INDEX | 1u << K_OP | 1u << K_VAL))
		return sc_bad(err, errlen, "%s: args entries need \"index\", \"op\" and \"val\"",
			      where);
	c->arg = (uint8_t)idx;
	if (dword && (op == SCMP_CMP_EQ || op == SCMP_CMP_MASKED_EQ)) {
		/* Compare only the low 32 bits, as Firecracker's dword. */
		c->op = SCMP_CMP_MASKED_EQ;
		c->a = (op == SCMP_CMP_EQ ? 0xffffffffull : mask) & 0xffffffffull;
		c->b = val & 0xffffffffull;
	} else if (op == SCMP_CMP_MASKED_EQ) {
		c->op = SCMP_CMP_MASKED_EQ;
		c->a = mask;
		c->b = val;
	} else {
		c->op = (uint8_t)op;
		c->a = dword ? (val & 0xffffffffull) : val;
	}
	return 0;
}

/* One rule: { "syscall": NAME, "comment": ..., "args": [...] } into r. */
static int sc_parse_rule(const cJSON *o, const char *where, struct sc_rule *r, char *err,
			 size_t errlen)
{
	static const char *const keys[] = { "syscall", "args", "comment", NULL };
	enum { K_SYSCALL, K_ARGS };
	const cJSON *g, *a;
	uint32_t seen = 0;
	char t[52];
	int k, ret;

	if (!cJSON_IsObject(o))
		return sc_bad(err, errlen, "%s must be an object", where);
	cJSON_ArrayForEach(g, o) {
		if ((k = sc_key(g, keys, &seen, where, err, errlen)) < 0)
			return k;
		if (k == K_SYSCALL) {
			if (!cJSON_IsString(g))
				return sc_bad(err, errlen, "%s.syscall must be a string", where);
			r->nr = seccomp_syscall_resolve_name(g->valuestring);
			if (r->nr == __NR_SCMP_ERROR)
				return sc_bad(err, errlen, "%s: unknown syscall \"%s\"", where,
					      sc_text(g->valuestring, t));
		} else if (k == K_ARGS) {
			if (!cJSON_IsArray(g))
				return sc_bad(err, errlen, "%s.args must be an array", where);
			cJSON_ArrayForEach(a, g) {
				if (r->n_cmp >= SC_MAX_ARGS)
					return sc_bad(err, errlen, "%s.args: more than %d entries",
						      where, SC_MAX_ARGS);
				ret = sc_parse_arg(a, where, &r->cmp[r->n_cmp], err, errlen);
				if (ret)
					return ret;
				r->n_cmp++;
			}
		}
	}
	if (!(seen & 1u << K_SYSCALL))
		return sc_bad(err, errlen, "%s: missing \"syscall\"", where);
	return 0;
}

/* Parse one thread category into l (rules appended). first: set the
 * default/filter actions from it. */
static int sc_parse_list(const cJSON *o, const char *name, struct sc_list *l, bool first,
			 char *err, size_t errlen)
{
	static const char *const keys[] = { "default_action", "filter_action", "filter", NULL };
	enum { K_DEFAULT, K_FILTER_ACTION, K_FILTER };
	const cJSON *f, *filter = NULL;
	uint32_t def = 0, fact = 0, seen = 0;
	char where[96];
	int ret, k, idx = 0;

	if (!cJSON_IsObject(o))
		return sc_bad(err, errlen, "\"%s\" must be an object", name);
	cJSON_ArrayForEach(f, o) {
		if ((k = sc_key(f, keys, &seen, name, err, errlen)) < 0)
			return k;
		snprintf(where, sizeof(where), "%s.%s", name, keys[k]);
		if (k == K_DEFAULT) {
			ret = sc_action(f, where, &def, err, errlen);
			if (ret)
				return ret;
		} else if (k == K_FILTER_ACTION) {
			ret = sc_action(f, where, &fact, err, errlen);
			if (ret)
				return ret;
		} else {
			if (!cJSON_IsArray(f))
				return sc_bad(err, errlen, "%s must be an array", where);
			filter = f;
		}
	}
	if (seen != (1u << K_DEFAULT | 1u << K_FILTER_ACTION | 1u << K_FILTER))
		return sc_bad(err, errlen, "\"%s\" needs \"default_action\", \"filter_action\" and "
			      "\"filter\"", name);
	if (first) {
		l->default_action = def;
		l->filter_action = fact;
	}
	cJSON_ArrayForEach(f, filter) {
		struct sc_rule *r;

		snprintf(where, sizeof(where), "%s.filter[%d]", name, idx++);
		if (l->n >= SC_MAX_RULES)
			return sc_bad(err, errlen, "%s: too many rules (at most %d)", where,
				      SC_MAX_RULES);
		r = &l->rules[l->n];
		memset(r, 0, sizeof(*r));
		r->action = fact;
		ret = sc_parse_rule(f, where, r, err, errlen);
		if (ret)
			return ret;
		l->n++;
	}
	return 0;
}

static char *sc_read_file(const char *path, char *err, size_t errlen, int *ret)
{
	struct stat st;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SC_MAX_FILE) {
		close(fd);
		*ret = sc_bad(err, errlen, "%s: not a regular file of at most %d bytes", path,
			      SC_MAX_FILE);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		*ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (read(fd, buf, (size_t)st.st_size) != st.st_size) {
		close(fd);
		free(buf);
		*ret = -EIO;
		snprintf(err, errlen, "%s: short read", path);
		return NULL;
	}
	buf[st.st_size] = '\0';
	close(fd);
	return buf;
}

/* The parsed file's lists into m and v; err without the file name. */
static int sc_parse_file(const cJSON *root, struct sc_list *m, struct sc_list *v, char *err,
			 size_t errlen)
{
	static const char *const keys[] = { "main", "vcpu", "vmm", "api", NULL };
	enum { K_MAIN, K_VCPU, K_VMM, K_API };
	const uint32_t ours = 1u << K_MAIN | 1u << K_VCPU,
		       fc = 1u << K_VMM | 1u << K_API | 1u << K_VCPU;
	const cJSON *f;
	uint32_t seen = 0;
	int ret;

	if (!cJSON_IsObject(root))
		return sc_bad(err, errlen, "not a JSON object");
	cJSON_ArrayForEach(f, root) {
		if ((ret = sc_key(f, keys, &seen, "top level", err, errlen)) < 0)
			return ret;
	}
	/* Exactly {main, vcpu} or Firecracker's {vmm, api, vcpu}. */
	if (seen != ours && seen != fc) {
		bool mixed = (seen & 1u << K_MAIN) && (seen & (1u << K_VMM | 1u << K_API));

		return sc_bad(err, errlen, "%s (expected \"main\" and \"vcpu\", or \"vmm\", "
			      "\"api\" and \"vcpu\")", mixed ?
			      "mixes the two sets of thread categories" : "missing a thread category");
	}
	if (seen == fc) {
		ret = sc_parse_list(cJSON_GetObjectItem(root, "vmm"), "vmm", m, true, err, errlen);
		if (!ret)
			ret = sc_parse_list(cJSON_GetObjectItem(root, "api"), "api", m, false, err,
					    errlen);
	} else {
		ret = sc_parse_list(cJSON_GetObjectItem(root, "main"), "main", m, true, err,
				    errlen);
	}
	if (!ret)
		ret = sc_parse_list(cJSON_GetObjectItem(root, "vcpu"), "vcpu", v, true, err,
				    errlen);
	return ret;
}

int seccomp_configure_file(const char *path, char *err, size_t errlen)
{
	struct sc_list m = { 0 }, v = { 0 };
	const struct sc_list *main_l[] = { &m }, *vcpu_l[] = { &v };
	struct sock_fprog p[SC_NKINDS] = { { 0, NULL } };
	cJSON *root = NULL;
	char *text, why[200];
	int ret;

	text = sc_read_file(path, err, errlen, &ret);
	if (!text)
		return ret;
	m.rules = calloc(SC_MAX_RULES, sizeof(*m.rules));
	v.rules = calloc(SC_MAX_RULES, sizeof(*v.rules));
	if (!m.rules || !v.rules) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	root = cJSON_Parse(text);
	ret = sc_parse_file(root, &m, &v, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	/* A file has no post-boot category: SECCOMP_THREAD_MAIN_RUNNING stays
	 * empty and the main filter stays as it is once the VM runs. */
	ret = sc_compile(main_l, 1, &v, &p[SECCOMP_THREAD_MAIN]);
	if (!ret)
		ret = sc_compile(vcpu_l, 1, NULL, &p[SECCOMP_THREAD_VCPU]);
	if (ret) {
		free(p[SECCOMP_THREAD_MAIN].filter);
		snprintf(err, errlen, "%s: compiling the filters: %s", path, strerror(-ret));
		goto out;
	}
	sc_set_progs(p);
out:
	cJSON_Delete(root);
	free(text);
	free(m.rules);
	free(v.rules);
	return ret;
}
