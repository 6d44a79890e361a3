// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - ember's command line (Firecracker's flags), exit codes, and the
 * main thread's event loop.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "src/api.h"
#include "src/api_http.h"
#include "src/config.h"
#include "src/config_file.h"
#include "src/evloop.h"
#include "src/log.h"
#include "src/metrics.h"
#include "src/seccomp.h"
#include "src/prefetch.h"
#include "src/snapshot.h"
#include "src/timeline.h"
#include "src/vm.h"

/* Exit codes (Firecracker's FcExitCode where one applies). */
#define EXIT_OK          0
#define EXIT_GENERIC     1
#define EXIT_BAD_ARGS    153

#define DEFAULT_API_SOCK "/run/firecracker.socket" /* Firecracker's */

struct opts {
	const char *api_sock;
	const char *id;
	const char *config_file;
	const char *log_path;
	const char *level;
	const char *module;
	const char *metrics_path;
	const char *seccomp_filter;
	const char *mmds_size_limit;	/* accepted; ember has no MMDS */
	bool no_api, no_seccomp, boot_timer, no_vmgenid, show_level, show_origin;
	bool api_sock_set;
	unsigned long long start_time_us;
	unsigned long long max_payload;	/* --http-api-max-payload-size */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: ember [OPTIONS]\n"
		"A minimal KVM microVM monitor with Firecracker's API.\n\n"
		"  --api-sock PATH          API socket (default " DEFAULT_API_SOCK ")\n"
		"  --id ID                  instance id: " CONFIG_INSTANCE_ID_RULE "\n"
		"  --config-file FILE       build and boot from a Firecracker JSON config file\n"
		"  --no-api                 no API socket (needs --config-file)\n"
		"  --log-path PATH          log to a file or FIFO\n"
		"  --level LEVEL            Error, Warning, Info (default), Debug, Trace, Off\n"
		"  --module MODULE          log only the lines of ember's modules starting with\n"
		"                           MODULE (\"src/api\", \"virtio\", \"virtio/blk\", ...)\n"
		"  --show-level             print the level in log lines\n"
		"  --show-log-origin        print file:line in log lines\n"
		"  --metrics-path PATH      metrics as JSON lines\n"
		"  --boot-timer             log guest boot time when the guest writes 123 at 0xC0000000\n"
		"  --no-vmgenid             no VM generation id: no VMGenID device at boot, and a\n"
		"                           snapshot load keeps the saved id (clones share RNG state)\n"
		"  --no-seccomp             disable seccomp filters (debugging only)\n"
		"  --snapshot-prefetch M    snapshot loads (File backend) record the restored guest's\n"
		"                           working set in <snapshot_path>.ws at its first pause, and\n"
		"                           later loads prefetch it; M: populate, read, willneed\n"
		"                           or huge\n"
		"  --seccomp-filter FILE    load seccomp filters from FILE (see docs/production.md)\n"
		"  --http-api-max-payload-size N  largest API request body in bytes (default 51200)\n"
		"  --mmds-size-limit N      accepted as Firecracker's; no effect (ember has no MMDS)\n"
		"  --enable-pci             refused: ember has no PCI (its devices are virtio-mmio)\n"
		"  --start-time-us N, --start-time-cpu-us N, --parent-cpu-time-us N   set by the jailer\n"
		"  --snapshot-version       print the snapshot format version this ember writes\n"
		"  --describe-snapshot FILE print the format version of a snapshot state file\n"
		"  --version                print the version\n"
		"  --help                   this text\n");
}

static int bad_arg(const char *fmt, const char *a)
{
	fprintf(stderr, "ember: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, " (try --help)\n");
	return -1;
}

/* A non-negative decimal number (Firecracker's u64/usize values). */
static int parse_number(const char *flag, const char *val, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(val, &end, 10);
	if (errno || *end || val[0] < '0' || val[0] > '9') {
		fprintf(stderr, "ember: %s: '%s' is not a number (try --help)\n", flag, val);
		return -1;
	}
	return 0;
}

/* --describe-snapshot FILE: its format version, or why it is not a state
 * file ember reads. */
static int describe_snapshot(const char *path)
{
	char version[32], err[SNAP_ERR_LEN + PATH_MAX];
	if (snap_describe_file(path, version, sizeof(version), err, sizeof(err)) < 0) {
		fprintf(stderr, "ember: --describe-snapshot %s\n", err);
		return EXIT_GENERIC;
	}
	printf("%s\n", version);
	return EXIT_OK;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		const char *val = NULL;
		char name[64];
		if (strcmp(a, "--") == 0)
			break; /* extra args: none used */
		if (strncmp(a, "--", 2) != 0)
			return bad_arg("unexpected argument '%s'", a);
		char *eq = strchr(a, '=');
		size_t nl = eq ? (size_t)(eq - a) : strlen(a);
		if (nl >= sizeof(name))
			return bad_arg("unknown option '%s'", a);
		memcpy(name, a, nl);
		name[nl] = 0;
		static const char *const flags[] = {
			"--no-api", "--no-seccomp", "--boot-timer", "--no-vmgenid", "--show-level",
			"--show-log-origin", "--help", "--version", "--enable-pci",
			"--snapshot-version",
		};
		bool is_flag = false;
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			is_flag |= strcmp(name, flags[k]) == 0;
		if (!is_flag) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
				val = argv[++i];
			else
				return bad_arg("option '%s' needs a value", name);
		} else if (eq) {
			return bad_arg("option '%s' takes no value", name);
		}
		if (!strcmp(name, "--help")) { usage(stdout); exit(EXIT_OK); }
		else if (!strcmp(name, "--version")) { printf("ember v%s\n", EMBER_VERSION); exit(EXIT_OK); }
		else if (!strcmp(name, "--snapshot-version")) { printf("%s\n", snap_version_string()); exit(EXIT_OK); }
		else if (!strcmp(name, "--describe-snapshot")) exit(describe_snapshot(val));
		else if (!strcmp(name, "--no-api")) o->no_api = true;
		else if (!strcmp(name, "--no-seccomp")) o->no_seccomp = true;
		else if (!strcmp(name, "--boot-timer")) o->boot_timer = true;
		else if (!strcmp(name, "--no-vmgenid")) o->no_vmgenid = true;
		else if (!strcmp(name, "--show-level")) o->show_level = true;
		else if (!strcmp(name, "--show-log-origin")) o->show_origin = true;
		else if (!strcmp(name, "--api-sock")) { o->api_sock = val; o->api_sock_set = true; }
		else if (!strcmp(name, "--id")) o->id = val;
		else if (!strcmp(name, "--config-file")) o->config_file = val;
		else if (!strcmp(name, "--log-path")) o->log_path = val;
		else if (!strcmp(name, "--level")) o->level = val;
		else if (!strcmp(name, "--module")) o->module = val;
		else if (!strcmp(name, "--metrics-path")) o->metrics_path = val;
		else if (!strcmp(name, "--seccomp-filter")) o->seccomp_filter = val;
		else if (!strcmp(name, "--snapshot-prefetch")) {
			enum prefetch_method m;
			if (prefetch_parse_method(val, &m) < 0)
				return bad_arg("--snapshot-prefetch: '%s' is not populate, read, willneed, "
					       "huge or off", val);
			prefetch_set_method(m);
		}
		else if (!strcmp(name, "--start-time-us")) {
			if (parse_number(name, val, &o->start_time_us) < 0)
				return -1;
		} else if (!strcmp(name, "--http-api-max-payload-size")) {
			if (parse_number(name, val, &o->max_payload) < 0)
				return -1;
			if (o->max_payload > API_HTTP_MAX_BODY_LIMIT) {
				fprintf(stderr, "ember: --http-api-max-payload-size %s: more than ember's "
					"limit of %u bytes (try --help)\n", val, API_HTTP_MAX_BODY_LIMIT);
				return -1;
			}
		} else if (!strcmp(name, "--mmds-size-limit")) {
			unsigned long long n;
			if (parse_number(name, val, &n) < 0)
				return -1;
			o->mmds_size_limit = val;
		} else if (!strcmp(name, "--enable-pci")) {
			return bad_arg("%s: ember has no PCI; its devices are virtio-mmio only",
				       "--enable-pci");
		} else if (!strcmp(name, "--start-time-cpu-us") || !strcmp(name, "--parent-cpu-time-us")) {
			/* accepted for Firecracker compatibility; not used */
		} else {
			return bad_arg("unknown option '%s'", name);
		}
	}
	if (o->no_api && !o->config_file)
		return bad_arg("%s needs --config-file", "--no-api");
	if (o->no_seccomp && o->seccomp_filter)
		return bad_arg("%s conflicts with --seccomp-filter", "--no-seccomp");
	if (o->no_api && o->api_sock_set)
		return bad_arg("%s conflicts with --api-sock", "--no-api");
	char why[64]; /* CONFIG_INSTANCE_ID_RULE, which --help states too */
	if (o->id && config_id_check(CONFIG_ID_INSTANCE, o->id, why, sizeof(why)) < 0)
		return bad_arg("--id '%s' is invalid: " CONFIG_INSTANCE_ID_RULE, o->id);
	return 0;
}

static struct evloop *g_loop;

static void on_signal(void *opaque, uint32_t events)
{
	int fd = *(int *)opaque;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received signal %u (%s), shutting down", si.ssi_signo, strsignal((int)si.ssi_signo));
	evloop_stop(g_loop, EXIT_OK);
}

/* --level, --module, --log-path, --metrics-path. EXIT_OK, or the exit status
 * after printing why. */
static int setup_output(const struct opts *o)
{
	if (o->module && log_set_module(o->module) < 0) {
		fprintf(stderr, "ember: --module '%s' is not one of ember's modules: "
			LOG_MODULE_RULE "\n", o->module);
		return EXIT_BAD_ARGS;
	}
	if (o->level) {
		enum log_level lvl;
		if (log_level_parse(o->level, &lvl) < 0) {
			fprintf(stderr, "ember: --level '%s' is not one of Error, Warning, Info, Debug, Trace, Off\n", o->level);
			return EXIT_BAD_ARGS;
		}
		log_set_level(lvl);
	}
	if (o->log_path) {
		int r = log_open(o->log_path);
		if (r < 0) {
			fprintf(stderr, "ember: --log-path %s: %s\n", o->log_path, strerror(-r));
			return EXIT_GENERIC;
		}
	}
	if (o->metrics_path) {
		int mr = metrics_open(o->metrics_path);
		if (mr < 0) {
			fprintf(stderr, "ember: --metrics-path %s: %s\n", o->metrics_path, strerror(-mr));
			return EXIT_GENERIC;
		}
	}
	return EXIT_OK;
}

/* Choose the seccomp filters (installed later, per thread). EXIT_OK, or
 * EXIT_GENERIC after printing why. */
static int setup_seccomp(const struct opts *o)
{
	int r;
	if (o->no_seccomp) {
		r = seccomp_configure_none();
	} else if (o->seccomp_filter) {
		char err[256];
		r = seccomp_configure_file(o->seccomp_filter, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "ember: --seccomp-filter %s\n", err);
			return EXIT_GENERIC;
		}
	} else {
		r = seccomp_configure_default();
	}
	if (r == 0 && !o->no_seccomp)
		r = seccomp_report_violations();
	if (r < 0) {
		fprintf(stderr, "ember: seccomp: %s\n", strerror(-r));
		return EXIT_GENERIC;
	}
	return EXIT_OK;
}

/* Create g_loop with the signalfd on it. Signals arrive through the
 * signalfd; vCPU threads inherit the blocked mask, so only the loop sees
 * them. EXIT_OK, or EXIT_GENERIC after printing why. */
static int setup_loop(void)
{
	static int sfd;
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	g_loop = evloop_create();
	if (sfd < 0 || !g_loop) {
		fprintf(stderr, "ember: event loop: %s\n", strerror(errno));
		return EXIT_GENERIC;
	}
	evloop_add(g_loop, sfd, EPOLLIN, on_signal, &sfd);
	return EXIT_OK;
}

/* Everything between the command line and the event loop: the config file,
 * the API socket, the VM of the config file, the main thread's seccomp
 * filter. Sets *api and *vm as they are created, even on error (main tears
 * them down). EXIT_OK, or EXIT_GENERIC after printing why. */
static int start(const struct opts *o, struct vm_config *cfg, struct api **api, struct vm **vm)
{
	char err[512];
	config_init(cfg);
	cfg->boot_timer = o->boot_timer;
	cfg->no_vmgenid = o->no_vmgenid;
	if (o->config_file) {
		vm_prepare(); /* KVM VM creation overlaps the parsing */
		if (config_file_load(o->config_file, cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "ember: %s\n", err);
			return EXIT_GENERIC;
		}
		cfg->boot_timer = o->boot_timer;
		cfg->no_vmgenid = o->no_vmgenid;
	}
	if (!o->no_api) {
		*api = api_create(g_loop, o->api_sock, o->id ? o->id : "anonymous-instance", cfg,
				  err, sizeof(err));
		if (!*api) {
			fprintf(stderr, "ember: %s\n", err);
			return EXIT_GENERIC;
		}
		timeline_mark(TIMELINE_API_READY);
		/* ... and with the client's configuration requests. */
		vm_prepare();
	}
	if (o->config_file) {
		timeline_mark(TIMELINE_INSTANCE_START);
		if (vm_create(cfg, g_loop, vm, err, sizeof(err)) < 0) {
			fprintf(stderr, "ember: %s\n", err);
			return EXIT_GENERIC;
		}
	}
	if (seccomp_install_thread(SECCOMP_THREAD_MAIN) < 0) {
		fprintf(stderr, "ember: cannot install the seccomp filter of the main thread\n");
		return EXIT_GENERIC;
	}
	if (*vm) {
		if (vm_start(*vm, err, sizeof(err)) < 0) {
			fprintf(stderr, "ember: %s\n", err);
			return EXIT_GENERIC;
		}
		if (*api)
			api_set_vm(*api, *vm);  /* also starts the periodic metrics */
		else
			metrics_start(g_loop);
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct vm_config cfg;
	struct opts o = { .api_sock = DEFAULT_API_SOCK, .max_payload = API_HTTP_MAX_BODY };
	struct api *api = NULL;
	struct vm *vm = NULL;
	int status;

	timeline_mark(TIMELINE_PROCESS_START);
	/* glibc reads /etc/localtime on the first time conversion; do it now,
	 * before seccomp forbids open(). */
	tzset();
	if (parse_args(argc, argv, &o) < 0)
		return EXIT_BAD_ARGS;
	if (o.start_time_us)
		timeline_set(TIMELINE_PROCESS_START, o.start_time_us * 1000ULL);
	if (o.id)
		log_set_id(o.id);
	log_set_format(o.show_level, o.show_origin);
	if ((status = setup_output(&o)) != EXIT_OK || (status = setup_seccomp(&o)) != EXIT_OK ||
	    (status = setup_loop()) != EXIT_OK)
		return status;
	if (o.mmds_size_limit)
		log_warn("--mmds-size-limit %s has no effect: ember has no MMDS", o.mmds_size_limit);
	api_http_set_max_body((size_t)o.max_payload); /* checked in parse_args */

	status = start(&o, &cfg, &api, &vm);
	bool ran = status == EXIT_OK;
	if (ran)
		status = evloop_run(g_loop);
	/* The one teardown, for a failed start as for the end of the loop. */
	vm_destroy(vm); /* no-op when the VM was built through the API (api owns it) */
	api_destroy(api);
	if (!ran)
		return status;
	metrics_stop();   /* a last line, then the file is closed */
	if (status == EXIT_OK)
		log_info("ember exiting successfully. exit_code=0");
	else
		log_error("ember exiting with error. exit_code=%d", status);
	return status;
}
