// SPDX-License-Identifier: Apache-2.0
/*
 * test_jailer_deps.c - the jailer's ELF interpreter / library resolver
 * (jailer/deps.c, deps_elf.c), on ELF files crafted here in a temporary tree: search
 * order (run paths, $ORIGIN on host and in the jail, ld.so.conf with
 * include, system dirs), SONAME matches, cycles, wrong-machine candidates,
 * missing libraries, malformed headers; then the real /bin/true (dynamic)
 * and busybox (static) of this host.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jailer/deps.h"

static char tmp[256];
static char err[1024];
static struct deps d;

/* Corruptions for elf_write. */
enum { BAD_NONE, BAD_STRTAB_VA, BAD_NEEDED_OFF, BAD_PHNUM, BAD_CLASS, BAD_TRUNCATE,
       BAD_INTERP_NUL };

struct elf_spec {
	uint16_t machine;		/* 0: EM_X86_64 */
	const char *interp;		/* NULL: none */
	const char *needed[8];
	const char *soname, *rpath, *runpath;
	bool no_dynamic;
	int bad;
};

static void mkdirs(const char *rel)
{
	char p[PATH_MAX], *s;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	for (s = p + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

/* Write an ELF64 file at tmp/rel: Ehdr, 3 program headers (PT_LOAD of the
 * whole file at vaddr 0, PT_INTERP, PT_DYNAMIC), interp, strtab, dynamic. */
static void elf_write(const char *rel, const struct elf_spec *s)
{
	unsigned char buf[8192];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	size_t off = sizeof(*eh) + 3 * sizeof(*ph), interp_off = 0, interp_len = 0;
	size_t str_off, str_len = 1, dyn_off, n_dyn = 0;
	Elf64_Dyn dyn[32];
	char path[PATH_MAX];
	unsigned nph = 0;
	int fd;

	memset(buf, 0, sizeof(buf));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = s->bad == BAD_CLASS ? ELFCLASS32 : ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = s->machine ? s->machine : EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	if (s->interp) {
		interp_off = off;
		interp_len = strlen(s->interp) + 1;
		memcpy(buf + off, s->interp, interp_len);
		if (s->bad == BAD_INTERP_NUL)
			buf[off + interp_len - 1] = 'x';
		off += interp_len;
	}
	/* strtab: "\0" then the strings */
	str_off = off;
#define ADD_STR(tag, str) do { \
		size_t l = strlen(str) + 1; \
		memcpy(buf + str_off + str_len, str, l); \
		dyn[n_dyn].d_tag = tag; \
		dyn[n_dyn++].d_un.d_val = str_len; \
		str_len += l; \
	} while (0)
	for (unsigned i = 0; i < 8 && s->needed[i]; i++)
		ADD_STR(DT_NEEDED, s->needed[i]);
	if (s->soname)
		ADD_STR(DT_SONAME, s->soname);
	if (s->rpath)
		ADD_STR(DT_RPATH, s->rpath);
	if (s->runpath)
		ADD_STR(DT_RUNPATH, s->runpath);
#undef ADD_STR
	if (s->bad == BAD_NEEDED_OFF && n_dyn)
		dyn[0].d_un.d_val = 100000;
	dyn[n_dyn].d_tag = DT_STRTAB;
	dyn[n_dyn++].d_un.d_ptr = s->bad == BAD_STRTAB_VA ? 0x100000 : str_off;
	dyn[n_dyn].d_tag = DT_STRSZ;
	dyn[n_dyn++].d_un.d_val = str_len;
	dyn[n_dyn].d_tag = DT_NULL;
	dyn[n_dyn++].d_un.d_val = 0;
	dyn_off = (str_off + str_len + 7) & ~(size_t)7;
	memcpy(buf + dyn_off, dyn, n_dyn * sizeof(*dyn));
	off = dyn_off + n_dyn * sizeof(*dyn);

	ph[nph].p_type = PT_LOAD;
	ph[nph].p_offset = 0;
	ph[nph].p_vaddr = 0;
	ph[nph].p_filesz = ph[nph].p_memsz = off;
	nph++;
	if (s->interp) {
		ph[nph].p_type = PT_INTERP;
		ph[nph].p_offset = interp_off;
		ph[nph].p_filesz = interp_len;
		nph++;
	}
	if (!s->no_dynamic) {
		ph[nph].p_type = PT_DYNAMIC;
		ph[nph].p_offset = dyn_off;
		ph[nph].p_filesz = n_dyn * sizeof(*dyn);
		nph++;
	}
	eh->e_phnum = (uint16_t)(s->bad == BAD_PHNUM ? 60000 : nph);
	if (s->bad == BAD_TRUNCATE)
		off = sizeof(*eh) + 10;
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, off), (ssize_t)off);
	close(fd);
}

static void write_text(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* "tmp/" rel */
static const char *T(const char *rel)
{
	static char b[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	snprintf(b[i], PATH_MAX, "%s/%s", tmp, rel);
	return b[i];
}

static char sys1[PATH_MAX], sys2[PATH_MAX];
static const char *sysdirs[3];
static struct deps_search search;

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/ember-test-deps.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	mkdirs("sys1");
	mkdirs("sys2");
	mkdirs("bin/lib");
	mkdirs("conf.d");
	mkdirs("extra");
	snprintf(sys1, sizeof(sys1), "%s/sys1", tmp);
	snprintf(sys2, sizeof(sys2), "%s/sys2", tmp);
	sysdirs[0] = sys1;
	sysdirs[1] = sys2;
	sysdirs[2] = NULL;
	search.system_dirs = sysdirs;
	search.ld_so_conf = "";
	/* the interpreter: ld.so, SONAME ld-test.so.2 */
	elf_write("ld.so", &(struct elf_spec){ .soname = "ld-test.so.2" });
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int resolve(const char *exec)
{
	err[0] = '\0';
	return deps_resolve(T(exec), "/ember", &search, &d, err, sizeof(err));
}

static int find_jail(const char *jail)
{
	for (unsigned i = 0; i < d.n; i++)
		if (!strcmp(d.files[i].jail, jail))
			return (int)i;
	return -1;
}

static void test_normalize(void **state)
{
	char out[PATH_MAX];

	(void)state;
	static const char *const cases[][2] = {
		{ "/", "/" }, { "//a//b/", "/a/b" }, { "/a/./b", "/a/b" }, { "/a/../b", "/b" },
		{ "/..", "/" }, { "/../../x", "/x" }, { "/a/b/../../..", "/" },
		{ "/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2" },
		{ "/usr/bin/../lib/./x.so", "/usr/lib/x.so" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(deps_normalize(cases[i][0], out, sizeof(out)), 0);
		assert_string_equal(out, cases[i][1]);
	}
	assert_int_equal(deps_normalize("rel/x", out, sizeof(out)), -EINVAL);
	assert_int_equal(deps_normalize("/abcdef", out, 4), -ENAMETOOLONG);
}

static void test_static_and_scripts(void **state)
{
	(void)state;
	/* no PT_INTERP, with a PT_DYNAMIC (static-pie) or without */
	elf_write("static-pie", &(struct elf_spec){ 0 });
	assert_int_equal(resolve("static-pie"), 0);
	assert_false(d.dynamic);
	assert_int_equal(d.n, 0);
	elf_write("static", &(struct elf_spec){ .no_dynamic = true });
	assert_int_equal(resolve("static"), 0);
	assert_false(d.dynamic);
	write_text("script.sh", "#!/bin/sh\necho hi\n");
	assert_int_equal(resolve("script.sh"), 0);
	assert_false(d.dynamic);
	assert_int_equal(d.n, 0);
	write_text("tiny", "\x7f");
	assert_int_equal(resolve("tiny"), 0);
	assert_int_equal(d.n, 0);
}

static void test_search_order(void **state)
{
	(void)state;
	/* libA in both system dirs: the first wins. libA needs libB (only in
	 * sys2) and ld-test.so.2 (the interpreter's SONAME: not searched). */
	elf_write("sys1/libA.so.1", &(struct elf_spec){ .needed = { "libB.so", "ld-test.so.2" },
						      .soname = "libA.so.1" });
	elf_write("sys2/libA.so.1", &(struct elf_spec){ 0 });
	elf_write("sys2/libB.so", &(struct elf_spec){ .soname = "libB.so" });
	elf_write("exec1", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libA.so.1" } });
	assert_int_equal(resolve("exec1"), 0);
	assert_true(d.dynamic);
	assert_false(d.need_cache);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.files[0].host, T("ld.so"));
	assert_string_equal(d.files[0].jail, T("ld.so"));
	assert_true(d.files[0].interp);
	assert_string_equal(d.files[1].host, T("sys1/libA.so.1"));
	assert_string_equal(d.files[1].jail, T("sys1/libA.so.1"));
	assert_false(d.files[1].interp);
	assert_string_equal(d.files[2].jail, T("sys2/libB.so"));
}

static void test_origin_host_vs_jail(void **state)
{
	(void)state;
	/* exec in tmp/bin with RUNPATH $ORIGIN/lib: read from tmp/bin/lib on
	 * the host, placed at /lib in the jail (the exec is /ember there). The
	 * library's own ${ORIGIN}/../extra is relative to its jail path. */
	elf_write("bin/lib/libO.so", &(struct elf_spec){ .needed = { "libP.so" },
						       .runpath = "${ORIGIN}/../extra" });
	mkdirs("bin/extra");
	elf_write("bin/extra/libP.so", &(struct elf_spec){ 0 });
	elf_write("bin/exec2", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libO.so" },
						 .runpath = "/nonexistent:rel/dir::$ORIGIN/lib" });
	assert_int_equal(resolve("bin/exec2"), 0);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.files[1].host, T("bin/lib/libO.so"));
	assert_string_equal(d.files[1].jail, "/lib/libO.so");
	assert_string_equal(d.files[2].host, T("bin/lib/../extra/libP.so"));
	assert_string_equal(d.files[2].jail, "/extra/libP.so");
	assert_false(d.need_cache);
}

static void test_rpath_and_runpath(void **state)
{
	(void)state;
	/* RPATH of the exec applies to libraries without RUNPATH; RUNPATH
	 * disables RPATH. libR is in extra only. */
	elf_write("extra/libR.so", &(struct elf_spec){ 0 });
	elf_write("sys1/libQ.so", &(struct elf_spec){ .needed = { "libR.so" } });
	elf_write("exec3", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libQ.so" },
					     .rpath = T("extra") });
	assert_int_equal(resolve("exec3"), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(find_jail(T("extra/libR.so")), 2);
	/* the same with a RUNPATH on the exec: its RPATH is ignored, and a
	 * RUNPATH is not inherited by libQ */
	elf_write("exec4", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libQ.so" },
					     .rpath = T("extra"), .runpath = "/nonexistent" });
	assert_int_equal(resolve("exec4"), -ENOENT);
	assert_non_null(strstr(err, "needs libR.so"));
	assert_non_null(strstr(err, T("sys1/libQ.so")));
	assert_int_equal(d.n, 0);
}

static void test_cycles_and_dups(void **state)
{
	(void)state;
	/* libC <-> libD need each other; both also need libA; exec needs C, D
	 * and C again: each file once. */
	elf_write("sys1/libC.so", &(struct elf_spec){ .needed = { "libD.so", "libA.so.1" } });
	elf_write("sys1/libD.so", &(struct elf_spec){ .needed = { "libC.so", "libA.so.1" } });
	elf_write("sys1/libA.so.1", &(struct elf_spec){ .soname = "libA.so.1" });
	elf_write("exec5", &(struct elf_spec){ .interp = T("ld.so"),
					     .needed = { "libC.so", "libD.so", "libC.so" } });
	assert_int_equal(resolve("exec5"), 0);
	assert_int_equal(d.n, 4);
	assert_true(find_jail(T("sys1/libC.so")) > 0);
	assert_true(find_jail(T("sys1/libD.so")) > 0);
	assert_true(find_jail(T("sys1/libA.so.1")) > 0);
	/* an absolute DT_NEEDED is taken as is */
	elf_write("exec6", &(struct elf_spec){ .interp = T("ld.so"),
					     .needed = { T("extra/../sys1/libA.so.1") } });
	assert_int_equal(resolve("exec6"), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.files[1].jail, T("sys1/libA.so.1"));
	elf_write("exec7", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "sub/lib.so" } });
	assert_int_equal(resolve("exec7"), -ENOEXEC);
	assert_non_null(strstr(err, "relative"));
}

static void test_wrong_machine_skipped(void **state)
{
	(void)state;
	elf_write("sys1/libM.so", &(struct elf_spec){ .machine = EM_AARCH64 });
	write_text("sys1/libN.so", "INPUT(-lfoo)\n");	/* a linker script */
	elf_write("sys2/libM.so", &(struct elf_spec){ 0 });
	elf_write("sys2/libN.so", &(struct elf_spec){ 0 });
	elf_write("exec8", &(struct elf_spec){ .interp = T("ld.so"),
					     .needed = { "libM.so", "libN.so" } });
	assert_int_equal(resolve("exec8"), 0);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.files[1].jail, T("sys2/libM.so"));
	assert_string_equal(d.files[2].jail, T("sys2/libN.so"));
	/* an interpreter for another machine is an error */
	elf_write("ld-arm.so", &(struct elf_spec){ .machine = EM_AARCH64 });
	elf_write("exec9", &(struct elf_spec){ .interp = T("ld-arm.so") });
	assert_int_equal(resolve("exec9"), -ENOEXEC);
	assert_non_null(strstr(err, "another machine"));
}

static void test_missing(void **state)
{
	(void)state;
	elf_write("exec10", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libnope.so.9" } });
	assert_int_equal(resolve("exec10"), -ENOENT);
	assert_non_null(strstr(err, T("exec10")));
	assert_non_null(strstr(err, "needs libnope.so.9"));
	elf_write("exec11", &(struct elf_spec){ .interp = T("no-such-ld.so") });
	assert_int_equal(resolve("exec11"), -ENOENT);
	assert_non_null(strstr(err, "interpreter"));
	elf_write("exec12", &(struct elf_spec){ .interp = "ld.so" });
	assert_int_equal(resolve("exec12"), -ENOEXEC);
	assert_non_null(strstr(err, "relative PT_INTERP"));
}

static void test_ld_so_conf(void **state)
{
	char conf[2 * PATH_MAX];

	(void)state;
	/* libK only in a directory named by an included conf file: found, and
	 * the jail needs the cache */
	mkdirs("conflib");
	elf_write("conflib/libK.so", &(struct elf_spec){ 0 });
	snprintf(conf, sizeof(conf), "# comment\ninclude conf.d/*.conf\nhwcap 0 nosegneg\n");
	write_text("ld.so.conf", conf);
	snprintf(conf, sizeof(conf), "%s  # trailing comment\n/nonexistent\n", T("conflib"));
	write_text("conf.d/a.conf", conf);
	search.ld_so_conf = T("ld.so.conf");
	elf_write("exec13", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libK.so" } });
	assert_int_equal(resolve("exec13"), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.files[1].jail, T("conflib/libK.so"));
	assert_true(d.need_cache);
	/* a library in a system dir that is also listed in ld.so.conf: no cache */
	snprintf(conf, sizeof(conf), "%s\n", sys1);
	write_text("conf.d/a.conf", conf);
	elf_write("sys1/libS.so", &(struct elf_spec){ 0 });
	elf_write("exec14", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libS.so" } });
	assert_int_equal(resolve("exec14"), 0);
	assert_false(d.need_cache);
	search.ld_so_conf = "";
}

static void test_malformed(void **state)
{
	static const struct { int bad; const char *what; } cases[] = {
		{ BAD_STRTAB_VA, "DT_STRTAB" }, { BAD_NEEDED_OFF, "bad string offset" },
		{ BAD_PHNUM, "bad program headers" }, { BAD_CLASS, "64-bit" },
		{ BAD_TRUNCATE, "program headers" }, { BAD_INTERP_NUL, "PT_INTERP" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		elf_write("bad", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libA.so.1" },
						   .bad = cases[i].bad });
		assert_int_equal(resolve("bad"), -ENOEXEC);
		if (!strstr(err, cases[i].what))
			fail_msg("case %u: '%s' lacks '%s'", i, err, cases[i].what);
		assert_int_equal(d.n, 0);
	}
	/* a malformed library, found by the search: an error naming it */
	elf_write("sys1/libBad.so", &(struct elf_spec){ .needed = { "x" }, .bad = BAD_NEEDED_OFF });
	elf_write("exec15", &(struct elf_spec){ .interp = T("ld.so"), .needed = { "libBad.so" } });
	assert_int_equal(resolve("exec15"), -ENOEXEC);
	assert_non_null(strstr(err, "libBad.so"));
}

static void test_this_host(void **state)
{
	(void)state;
	/* Debian's own files with the default search (real ld.so.conf). */
	if (access("/bin/true", R_OK) == 0) {
		assert_int_equal(deps_resolve("/bin/true", "/true", NULL, &d, err, sizeof(err)), 0);
		assert_true(d.dynamic);
		assert_true(d.n >= 2);
		assert_string_equal(d.files[0].jail, "/lib64/ld-linux-x86-64.so.2");
		assert_true(d.files[0].interp);
		bool libc = false;
		for (unsigned i = 1; i < d.n; i++)
			libc |= !strcmp(strrchr(d.files[i].jail, '/'), "/libc.so.6");
		assert_true(libc);
	}
	if (access("/bin/busybox", R_OK) == 0) {
		assert_int_equal(deps_resolve("/bin/busybox", "/busybox", NULL, &d, err,
					      sizeof(err)), 0);
		/* busybox-static is static; a dynamic busybox would list libc */
		if (!d.dynamic)
			assert_int_equal(d.n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_static_and_scripts),
		cmocka_unit_test(test_search_order),
		cmocka_unit_test(test_origin_host_vs_jail),
		cmocka_unit_test(test_rpath_and_runpath),
		cmocka_unit_test(test_cycles_and_dups),
		cmocka_unit_test(test_wrong_machine_skipped),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_ld_so_conf),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_this_host),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
