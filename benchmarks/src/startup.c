// SPDX-License-Identifier: Apache-2.0
/*
 * startup - time from process start to the API socket accepting.
 *
 *   startup [-n N] [-s SOCK] -- CMD [ARGS...]      ("{sock}" in ARGS becomes SOCK)
 *   startup [-n N] -x -- CMD [ARGS...]             time CMD until it exits
 *
 * For each of N runs: remove SOCK, fork + exec CMD, then try connect() on
 * SOCK every 20 us until it succeeds. Prints one JSON line per run:
 *   {"i":0,"wall_us":..,"cpu_us":..,"exit_cpu_us":..}
 * wall_us: fork -> first successful connect. cpu_us: the child's CPU time at
 * that moment (sum of /proc/PID/task/(*)/schedstat run times, ns precision).
 * exit_cpu_us: utime + stime from wait4 after SIGTERM (includes shutdown).
 * With -x: wall_us is fork -> exit and cpu_us is utime + stime.
 * Exit status 0, or 1 when a run failed (socket never accepted within 10 s).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* On-CPU time of every thread of pid, in ns (schedstat field 1). */
static int64_t task_cpu_ns(pid_t pid)
{
	char path[512];
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int64_t sum = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", pid, e->d_name);
		FILE *f = fopen(path, "r");
		long long run;
		if (f) {
			if (fscanf(f, "%lld", &run) == 1)
				sum += run;
			fclose(f);
		}
	}
	closedir(d);
	return sum;
}

static char *subst(const char *s, const char *key, const char *val)
{
	const char *p = strstr(s, key);
	if (!p)
		return strdup(s);
	size_t n = strlen(s) - strlen(key) + strlen(val) + 1;
	char *out = malloc(n);
	snprintf(out, n, "%.*s%s%s", (int)(p - s), s, val, p + strlen(key));
	return out;
}

static pid_t spawn(char **argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	int n = 10, opt;
	bool to_exit = false;
	const char *sock = "/tmp/ember-bench-startup.sock";
	while ((opt = getopt(argc, argv, "+n:s:x")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 's': sock = optarg; break;
		case 'x': to_exit = true; break;
		default:
			fprintf(stderr, "usage: startup [-n N] [-s SOCK] [-x] -- CMD [ARGS...]\n");
			return 2;
		}
	}
	if (optind >= argc)
		return 2;
	int cmdc = argc - optind;
	char **cmd = calloc(cmdc + 1, sizeof(char *));
	for (int j = 0; j < cmdc; j++)
		cmd[j] = subst(argv[optind + j], "{sock}", sock);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock) >= sizeof(sa.sun_path))
		return 2;
	strcpy(sa.sun_path, sock);

	int failed = 0;
	for (int i = 0; i < n; i++) {
		unlink(sock);
		int st;
		struct rusage ru;
		int64_t t0 = mono_ns();
		pid_t pid = spawn(cmd);
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (to_exit) {
			wait4(pid, &st, 0, &ru);
			int64_t t1 = mono_ns();
			printf("{\"i\":%d,\"wall_us\":%.1f,\"cpu_us\":%lld,\"status\":%d}\n", i,
			       (t1 - t0) / 1000.0,
			       (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
				       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
			       WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
			continue;
		}
		int64_t t1 = -1, cpu = -1;
		for (;;) {
			int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
				t1 = mono_ns();
				cpu = task_cpu_ns(pid);
				close(fd);
				break;
			}
			close(fd);
			if (mono_ns() - t0 > 10000000000LL)
				break;
			if (waitpid(pid, &st, WNOHANG) == pid) {
				pid = -1;
				break;
			}
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
		if (pid > 0) {
			kill(pid, SIGTERM);
			if (wait4(pid, &st, 0, &ru) < 0)
				memset(&ru, 0, sizeof(ru));
		} else {
			memset(&ru, 0, sizeof(ru));
		}
		if (t1 < 0) {
			failed++;
			printf("{\"i\":%d,\"error\":\"socket never accepted\"}\n", i);
			continue;
		}
		printf("{\"i\":%d,\"wall_us\":%.1f,\"cpu_us\":%.1f,\"exit_cpu_us\":%lld}\n", i,
		       (t1 - t0) / 1000.0, cpu / 1000.0,
		       (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
			       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
		fflush(stdout);
	}
	unlink(sock);
	return failed ? 1 : 0;
}
