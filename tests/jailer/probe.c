// SPDX-License-Identifier: Apache-2.0
/*
 * probe.c - the fake "ember" the jailer tests exec (built static: the jail
 * has no libraries). It reports what it sees from inside the jail on stdout,
 * one "key: value" per line, then prints "ready" and waits to be killed (so
 * the test can read /proc/<pid>/ from outside) unless its last argument is
 * "--exit".
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int nenv = 0;

	printf("uid: %u %u\n", (unsigned)getuid(), (unsigned)geteuid());
	printf("gid: %u %u\n", (unsigned)getgid(), (unsigned)getegid());
	printf("pid: %d\n", (int)getpid());
	printf("argv:");
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	for (char **e = environ; e && *e; e++)
		nenv++;
	printf("env: %d\n", nenv);
	printf("fds:");
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			printf(" %d", fd);
	printf("\n");
	printf("root:");
	d = opendir("/");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			printf(" %s", de->d_name);
	if (d)
		closedir(d);
	printf("\n");
	static const char *const devs[] = { "/dev/kvm", "/dev/net/tun", "/dev/urandom",
					     "/dev/userfaultfd" };
	for (unsigned i = 0; i < 4; i++) {
		if (stat(devs[i], &st) == 0)
			printf("dev: %s %s %u:%u %u:%u %o\n", devs[i],
			       S_ISCHR(st.st_mode) ? "c" : "?", major(st.st_rdev),
			       minor(st.st_rdev), (unsigned)st.st_uid, (unsigned)st.st_gid,
			       (unsigned)(st.st_mode & 07777));
		else
			printf("dev: %s missing\n", devs[i]);
	}
	printf("ready\n");
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[argc - 1], "--exit"))
		return 0;
	for (;;)
		pause();
}
