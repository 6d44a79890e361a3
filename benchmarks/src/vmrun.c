// SPDX-License-Identifier: Apache-2.0
/*
 * vmrun - launch one or more VMM processes, timestamp a marker on their
 * console, optionally sample their memory, and report one JSON line each.
 *
 *   vmrun [options] -- CMD [ARGS...]
 *     -n N       run N copies at once ("{i}" in any ARG becomes the copy index)
 *     -m STR     marker: a copy is "ready" when its output contains STR
 *                (default EMBER-GUEST-READY)
 *     -t SEC     kill copies still running after SEC seconds (default 120)
 *     -o PREFIX  save copy i's stdout+stderr to PREFIX.<i>.log
 *     -H         hold: once every copy is ready, wait -w ms, read each copy's
 *                /proc/PID/smaps, then SIGTERM all (SIGKILL after 10 s)
 *     -w MS      settle time before the smaps sample (default 500)
 *     -g MIB     guest RAM size: the run of adjacent mappings (one of them
 *                anonymous) of that size (+ up to 4 MiB of alignment) is
 *                counted as guest memory
 *     -K MS      SIGTERM a copy still running MS ms after its marker (for VMMs
 *                that do not exit when the guest reboots, e.g. QEMU microvm,
 *                which has no i8042 for reboot=k); its status is then -15
 *
 * Times are CLOCK_MONOTONIC microseconds from just before the first fork
 * (t0_us: that moment on CLOCK_MONOTONIC, to line up with a VMM's own log), so
 * process start (fork + exec + dynamic loading) is part of every figure and
 * the same for every VMM measured. Output (stdout), one line per copy:
 *   {"i":0,"pid":..,"t0_us":..,"start_us":..,"ready_us":..,"end_us":..,"exit_us":..,"status":..,
 *    "utime_us":..,"stime_us":..,"maxrss_kb":..,"rss_kb":..,"pss_kb":..,
 *    "private_kb":..,"guest_rss_kb":..,"guest_private_kb":..,"threads":..}
 * then {"summary":true,"n":..,"ready":..,"all_ready_us":..,
 *       "peak_rss_sum_kb":..}.
 * ready_us (end_us) is -1 when the marker (-r marker) never came; status is the exit code, or
 * -SIGNAL, or -1000 when the copy was killed on timeout.
 * Exit status: 0 when every copy became ready, 1 otherwise, 2 on usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_COPIES 256
#define TAIL_MAX 256

struct copy {
	pid_t pid;
	int fd;			/* read end of the output pipe, -1 at EOF */
	int pidfd;		/* readable when the copy exits (exit_us to the poll's
				 * wakeup, not the next 10 ms tick); -1 without */
	FILE *log;
	int64_t start_us, ready_us, end_us, exit_us;
	int status;
	bool exited, timed_out, termed;
	struct rusage ru;
	struct tail {		/* last bytes seen, for markers across reads */
		char buf[TAIL_MAX];
		size_t len;
	} tail, end_tail;
	long rss_kb, pss_kb, private_kb, guest_rss_kb, guest_private_kb, threads;
};

static struct copy copies[MAX_COPIES];
static int64_t t0_ns;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec - t0_ns) / 1000;
}

static void usage(void)
{
	fprintf(stderr, "usage: vmrun [-n N] [-m MARKER] [-r MARKER] [-t SEC] [-o PREFIX] [-H] [-w MS] [-g MIB] [-K MS] -- CMD [ARGS...]\n");
	exit(2);
}

/* Replace every "{i}" in s with the index; returns a malloc'd string. */
static char *subst_index(const char *s, int i)
{
	char num[16];
	snprintf(num, sizeof(num), "%d", i);
	size_t n = strlen(s) + 1, extra = 0;
	for (const char *p = s; (p = strstr(p, "{i}")); p += 3)
		extra += strlen(num);
	char *out = malloc(n + extra), *o = out;
	if (!out)
		exit(3);
	while (*s) {
		if (!strncmp(s, "{i}", 3)) {
			o = stpcpy(o, num);
			s += 3;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	return out;
}

/* Append data to a tail window and look for the marker. */
static bool feed(struct tail *tl, const char *buf, size_t n, const char *marker)
{
	size_t mlen = strlen(marker);
	bool hit = false;
	while (n) {
		size_t room = TAIL_MAX - tl->len;
		size_t take = n < room ? n : room;
		memcpy(tl->buf + tl->len, buf, take);
		tl->len += take;
		buf += take;
		n -= take;
		if (memmem(tl->buf, tl->len, marker, mlen))
			hit = true;
		/* Keep the last mlen-1 bytes: a marker may straddle two reads. */
		if (tl->len >= mlen) {
			size_t keep = mlen - 1;
			memmove(tl->buf, tl->buf + tl->len - keep, keep);
			tl->len = keep;
		}
	}
	return hit;
}

static long statm_rss_kb(pid_t pid)
{
	char path[64];
	long size, res;
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* One VMA of /proc/PID/smaps. */
struct vma {
	unsigned long start, end;
	bool anon;
	long rss, priv;
};

static void sample_smaps(struct copy *c, long guest_mib)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", c->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	static struct vma v[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		long val;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && strchr(line, ' ')) {
			if (n == (int)(sizeof(v) / sizeof(v[0])))
				break;
			/* Anonymous: no path after the inode field. */
			int fields = 0;
			char *p = line;
			while (*p && fields < 5) {
				while (*p == ' ')
					p++;
				while (*p && *p != ' ' && *p != '\n')
					p++;
				fields++;
			}
			while (*p == ' ')
				p++;
			v[n++] = (struct vma){ .start = a, .end = b, .anon = (*p == '\n' || *p == 0) };
			continue;
		}
		if (!n)
			continue;
		if (sscanf(line, "Rss: %ld kB", &val) == 1) {
			v[n - 1].rss = val;
			c->rss_kb += val;
		} else if (sscanf(line, "Pss: %ld kB", &val) == 1) {
			c->pss_kb += val;
		} else if (sscanf(line, "Private_Clean: %ld kB", &val) == 1 ||
			   sscanf(line, "Private_Dirty: %ld kB", &val) == 1) {
			v[n - 1].priv += val;
			c->private_kb += val;
		}
	}
	fclose(f);
	/* Guest RAM: one anonymous VMA of the guest's size (+ up to 4 MiB of
	 * alignment), or a run of adjacent VMAs, one of them anonymous, of
	 * exactly that size (a VMM that maps kernel or initrd from their files
	 * over the RAM mapping splits it into several; ember did until
	 * 2026-12-01, and now copies them). */
	long lo = guest_mib * 1024, hi = lo + 4096, best_rss = -1, best_priv = 0;
	for (int i = 0; i < n; i++) {
		long size = 0, rss = 0, priv = 0;
		bool anon = false;
		for (int j = i; j < n && (j == i || v[j].start == v[j - 1].end); j++) {
			size += (long)((v[j].end - v[j].start) / 1024);
			rss += v[j].rss;
			priv += v[j].priv;
			anon |= v[j].anon;
			if (size > hi)
				break;
			/* One VMA: the old rule (QEMU pads its RAM block). Several:
			 * exactly the guest's size, so no neighbour (a library)
			 * is counted as guest memory. */
			bool fits = j == i ? size >= lo : size == lo;
			if (anon && fits && rss > best_rss) {
				best_rss = rss;
				best_priv = priv;
			}
		}
	}
	c->guest_rss_kb = best_rss < 0 ? 0 : best_rss;
	c->guest_private_kb = best_priv;

	snprintf(path, sizeof(path), "/proc/%d/status", c->pid);
	f = fopen(path, "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Threads: %ld", &c->threads) == 1)
				break;
		fclose(f);
	}
}

static void reap(int n)
{
	for (;;) {
		int st;
		struct rusage ru;
		pid_t pid = wait4(-1, &st, WNOHANG, &ru);
		if (pid <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct copy *c = &copies[i];
			if (c->pid != pid)
				continue;
			c->exited = true;
			c->exit_us = now_us();
			if (c->pidfd >= 0)
				close(c->pidfd);
			c->pidfd = -1;
			c->ru = ru;
			if (c->timed_out)
				c->status = -1000;
			else if (WIFEXITED(st))
				c->status = WEXITSTATUS(st);
			else
				c->status = -WTERMSIG(st);
		}
	}
}

int main(int argc, char **argv)
{
	int n = 1, timeout_s = 120, settle_ms = 500, kill_after_ms = -1, opt;
	long guest_mib = 0;
	const char *marker = "EMBER-GUEST-READY", *end_marker = NULL, *prefix = NULL;
	bool hold = false;

	while ((opt = getopt(argc, argv, "+n:m:r:t:o:Hw:g:K:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'm': marker = optarg; break;
		case 'r': end_marker = optarg; break;
		case 't': timeout_s = atoi(optarg); break;
		case 'o': prefix = optarg; break;
		case 'H': hold = true; break;
		case 'w': settle_ms = atoi(optarg); break;
		case 'g': guest_mib = atol(optarg); break;
		case 'K': kill_after_ms = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || n < 1 || n > MAX_COPIES || !*marker || strlen(marker) >= TAIL_MAX ||
	    (end_marker && (!*end_marker || strlen(end_marker) >= TAIL_MAX)))
		usage();
	char **cmd = argv + optind;
	int cmdc = argc - optind;
	signal(SIGPIPE, SIG_IGN);

	/* Prepare every argv and log before the clock starts. */
	char **argvs[MAX_COPIES];
	for (int i = 0; i < n; i++) {
		argvs[i] = calloc(cmdc + 1, sizeof(char *));
		for (int j = 0; j < cmdc; j++)
			argvs[i][j] = subst_index(cmd[j], i);
		copies[i].ready_us = -1;
		copies[i].end_us = -1;
		copies[i].exit_us = -1;
		copies[i].fd = -1;
		copies[i].pidfd = -1;
		if (prefix) {
			char path[4096];
			snprintf(path, sizeof(path), "%s.%d.log", prefix, i);
			copies[i].log = fopen(path, "w");
			if (!copies[i].log) {
				perror(path);
				return 2;
			}
		}
	}

	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	for (int i = 0; i < n; i++) {
		struct copy *c = &copies[i];
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			perror("pipe2");
			return 2;
		}
		c->start_us = now_us();
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			int nul = open("/dev/null", O_RDONLY);
			dup2(nul, 0);
			dup2(p[1], 1);
			dup2(p[1], 2);
			setpgid(0, 0);
			execvp(argvs[i][0], argvs[i]);
			fprintf(stderr, "vmrun: exec %s: %s\n", argvs[i][0], strerror(errno));
			_exit(127);
		}
		close(p[1]);
		c->pid = pid;
		c->fd = p[0];
		fcntl(c->fd, F_SETFL, O_NONBLOCK);
		c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* Linux 5.3+; else polled */
	}

	int64_t deadline = (int64_t)timeout_s * 1000000;
	int64_t all_ready = -1, hold_at = -1;
	long peak_sum = 0;
	int64_t next_sample = 0;
	bool sampled = false;
	for (;;) {
		struct pollfd pfd[2 * MAX_COPIES];
		int idx[2 * MAX_COPIES], np = 0, running = 0, ready = 0;
		for (int i = 0; i < n; i++) {
			if (copies[i].fd >= 0) {
				pfd[np].fd = copies[i].fd;
				pfd[np].events = POLLIN;
				idx[np++] = i;
			}
			if (copies[i].pidfd >= 0 && !copies[i].exited) {
				pfd[np].fd = copies[i].pidfd;
				pfd[np].events = POLLIN;
				idx[np++] = -1; /* reap() below takes the exit */
			}
			if (!copies[i].exited)
				running++;
			if (copies[i].ready_us >= 0)
				ready++;
		}
		if (!running && !np)
			break;
		int64_t t = now_us();
		if (ready == n && all_ready < 0) {
			all_ready = t;
			hold_at = t + (int64_t)settle_ms * 1000;
		}
		/* Peak memory of all copies together, sampled every 10 ms. */
		if (t >= next_sample && running) {
			long sum = 0;
			for (int i = 0; i < n; i++)
				if (!copies[i].exited)
					sum += statm_rss_kb(copies[i].pid);
			if (sum > peak_sum)
				peak_sum = sum;
			next_sample = t + 10000;
		}
		if (kill_after_ms >= 0) {
			for (int i = 0; i < n; i++) {
				struct copy *c = &copies[i];
				int64_t from = end_marker ? c->end_us : c->ready_us;
				if (!c->exited && !c->termed && from >= 0 &&
				    t >= from + (int64_t)kill_after_ms * 1000) {
					kill(c->pid, SIGTERM);
					c->termed = true;
				}
			}
		}
		if (hold && hold_at >= 0 && t >= hold_at && !sampled) {
			for (int i = 0; i < n; i++)
				if (!copies[i].exited)
					sample_smaps(&copies[i], guest_mib);
			for (int i = 0; i < n; i++)
				if (!copies[i].exited)
					kill(copies[i].pid, SIGTERM);
			sampled = true;
			deadline = t + 10000000;
		}
		if (t >= deadline) {
			for (int i = 0; i < n; i++) {
				if (!copies[i].exited) {
					copies[i].timed_out = !sampled || copies[i].timed_out;
					kill(-copies[i].pid, SIGKILL);
					kill(copies[i].pid, SIGKILL);
				}
			}
			deadline = t + 5000000;
		}
		int wait_ms = 10;
		if (!running)
			wait_ms = 100; /* only draining pipes */
		int r = poll(pfd, np, np ? wait_ms : 0);
		if (!np)
			usleep(wait_ms * 1000);
		if (r > 0) {
			for (int k = 0; k < np; k++) {
				if (!pfd[k].revents || idx[k] < 0)
					continue;
				struct copy *c = &copies[idx[k]];
				char buf[65536];
				ssize_t got = read(c->fd, buf, sizeof(buf));
				if (got > 0) {
					if (c->ready_us < 0 && feed(&c->tail, buf, got, marker))
						c->ready_us = now_us();
					if (end_marker && c->end_us < 0 &&
					    feed(&c->end_tail, buf, got, end_marker))
						c->end_us = now_us();
					if (c->log)
						fwrite(buf, 1, got, c->log);
				} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
					close(c->fd);
					c->fd = -1;
				}
			}
		}
		reap(n);
		/* A copy that exited with its pipe still held open elsewhere. */
		for (int i = 0; i < n; i++)
			if (copies[i].exited && copies[i].fd >= 0 && now_us() > copies[i].exit_us + 2000000) {
				close(copies[i].fd);
				copies[i].fd = -1;
			}
	}

	int ready = 0;
	all_ready = -1;
	for (int i = 0; i < n; i++) {
		struct copy *c = &copies[i];
		if (c->log)
			fclose(c->log);
		if (c->ready_us >= 0)
			ready++;
		if (c->ready_us > all_ready)
			all_ready = c->ready_us;
		printf("{\"i\":%d,\"pid\":%d,\"t0_us\":%lld,\"start_us\":%lld,\"ready_us\":%lld,\"end_us\":%lld,"
		       "\"exit_us\":%lld,"
		       "\"status\":%d,\"utime_us\":%lld,\"stime_us\":%lld,\"maxrss_kb\":%ld,"
		       "\"rss_kb\":%ld,\"pss_kb\":%ld,\"private_kb\":%ld,\"guest_rss_kb\":%ld,"
		       "\"guest_private_kb\":%ld,\"threads\":%ld}\n",
		       i, c->pid, (long long)(t0_ns / 1000), (long long)c->start_us, (long long)c->ready_us, (long long)c->end_us,
		       (long long)c->exit_us,
		       c->status,
		       (long long)c->ru.ru_utime.tv_sec * 1000000 + c->ru.ru_utime.tv_usec,
		       (long long)c->ru.ru_stime.tv_sec * 1000000 + c->ru.ru_stime.tv_usec,
		       c->ru.ru_maxrss, c->rss_kb, c->pss_kb, c->private_kb, c->guest_rss_kb,
		       c->guest_private_kb, c->threads);
	}
	printf("{\"summary\":true,\"n\":%d,\"ready\":%d,\"all_ready_us\":%lld,\"peak_rss_sum_kb\":%ld}\n",
	       n, ready, (long long)(ready == n ? all_ready : -1), peak_sum);
	return ready == n ? 0 : 1;
}
