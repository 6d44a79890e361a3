// SPDX-License-Identifier: Apache-2.0
/* config: defaults, the id rules, machine/boot checks, MAC parsing, drive and
 * net tables and their rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/config.h"
#include "src/config_json.h"
#include "virtio/tap.h"

static struct vm_config cfg;
static char err[512];

static int setup(void **state)
{
	config_init(&cfg);
	err[0] = 0;
	return 0;
}

static int teardown(void **state)
{
	config_release(&cfg);
	return 0;
}

static void test_defaults(void **state)
{
	assert_int_equal(cfg.machine.vcpu_count, 1);
	assert_int_equal(cfg.machine.mem_size_mib, 128);
	assert_false(cfg.machine.smt);
	assert_int_equal(cfg.ndrives, 0);
	assert_int_equal(cfg.nnets, 0);
}

/* 0, or -EINVAL with the text in err. */
static int id_check(enum config_id_kind kind, const char *id)
{
	err[0] = 0;
	return config_id_check(kind, id, err, sizeof(err));
}

/* One validator, one alphabet per kind of id. */
static void test_ids(void **state)
{
	/* Resource ids (drive_id, iface_id, path ids): letters, digits, '_'. */
	assert_int_equal(id_check(CONFIG_ID_RESOURCE, "rootfs"), 0);
	assert_int_equal(id_check(CONFIG_ID_RESOURCE, "a_B_C9"), 0);
	assert_int_equal(id_check(CONFIG_ID_RESOURCE, ""), -EINVAL);
	assert_string_equal(err, "The ID cannot be empty.");
	static const char *const bad[] = { "a-b", "a b", "a/b", "a.b", "\xc3\xa9", NULL };
	for (const char *const *p = bad; *p; p++) {
		assert_int_equal(id_check(CONFIG_ID_RESOURCE, *p), -EINVAL);
		assert_string_equal(err, "API Resource IDs can only contain alphanumeric "
				    "characters and underscores.");
	}
	char long_id[CONFIG_ID_MAX + 2];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = 0;
	assert_int_equal(id_check(CONFIG_ID_RESOURCE, long_id), -EINVAL);
	assert_string_equal(err, "API Resource IDs can be at most 64 characters long.");
	long_id[0] = '-'; /* the alphabet is checked before the length */
	assert_int_equal(id_check(CONFIG_ID_RESOURCE, long_id), -EINVAL);
	assert_non_null(strstr(err, "alphanumeric"));
	long_id[0] = 'x';
	long_id[CONFIG_ID_MAX] = 0;
	assert_int_equal(id_check(CONFIG_ID_RESOURCE, long_id), 0);

	/* The instance id (--id): letters, digits, '-' (Firecracker's and
	 * ember-jailer's rule). */
	assert_int_equal(id_check(CONFIG_ID_INSTANCE, "vm-1"), 0);
	assert_int_equal(id_check(CONFIG_ID_INSTANCE, long_id), 0);
	static const char *const bad_instance[] = { "", "a_b", "a b", "a/b", NULL };
	for (const char *const *p = bad_instance; *p; p++) {
		assert_int_equal(id_check(CONFIG_ID_INSTANCE, *p), -EINVAL);
		assert_string_equal(err, CONFIG_INSTANCE_ID_RULE);
	}
	long_id[CONFIG_ID_MAX] = 'x';
	assert_int_equal(id_check(CONFIG_ID_INSTANCE, long_id), -EINVAL);
}

static void test_machine(void **state)
{
	struct config_machine m = { .vcpu_count = 2, .mem_size_mib = 256 };
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), 0);
	m.vcpu_count = 0;
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "The number of vCPUs must be greater than 0"));
	m.vcpu_count = LAYOUT_MAX_VCPUS;
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), 0);
	m.vcpu_count = LAYOUT_MAX_VCPUS + 1;
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), -EINVAL);
	m.vcpu_count = 3;
	m.smt = true;
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), -EINVAL);
	m.vcpu_count = 1;
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), 0);
	m.mem_size_mib = 0;
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "memory size"));
	m.mem_size_mib = 129;
	m.huge_pages = CONFIG_HUGE_2M;
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), -EINVAL);
	m.mem_size_mib = CONFIG_MAX_MEM_MIB + 2;
	m.huge_pages = CONFIG_HUGE_NONE;
	assert_int_equal(config_machine_validate(&m, err, sizeof(err)), -EINVAL);
}

static void test_boot(void **state)
{
	struct config_boot *b = calloc(1, sizeof(*b));
	assert_int_equal(config_boot_validate(b, err, sizeof(err)), -EINVAL);
	strcpy(b->kernel_path, "/nonexistent/vmlinux");
	assert_int_equal(config_boot_validate(b, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "The kernel file cannot be opened: No such file or directory "
			    "(os error 2) (kernel_image_path /nonexistent/vmlinux)");
	char path[] = "/tmp/ember-test-config-XXXXXX";
	int tmp = mkstemp(path);
	assert_true(tmp >= 0);
	close(tmp);
	strcpy(b->kernel_path, path);
	assert_int_equal(config_boot_validate(b, err, sizeof(err)), 0);
	strcpy(b->initrd_path, "/nonexistent/initrd");
	assert_int_equal(config_boot_validate(b, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "initrd"));
	/* Not a regular file: refused by type, naming the field and path. */
	strcpy(b->initrd_path, "");
	strcpy(b->kernel_path, "/dev/null");
	assert_int_equal(config_boot_validate(b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "The kernel file cannot be opened: kernel_image_path /dev/null "
			    "is a character device, not a regular file");
	strcpy(b->kernel_path, path);
	strcpy(b->initrd_path, "/tmp");
	assert_int_equal(config_boot_validate(b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "The initrd file cannot be opened: initrd_path /tmp "
			    "is a directory, not a regular file");
	unlink(path);
	free(b);
}

static void test_mac(void **state)
{
	uint8_t mac[6];
	char s[18];
	assert_int_equal(config_mac_parse("06:00:AC:10:00:02", mac), 0);
	config_mac_format(mac, s);
	assert_string_equal(s, "06:00:ac:10:00:02");
	assert_int_equal(config_mac_parse("06:00:AC:10:00", mac), -EINVAL);
	assert_int_equal(config_mac_parse("06:00:AC:10:00:02:", mac), -EINVAL);
	assert_int_equal(config_mac_parse("06-00-AC-10-00-02", mac), -EINVAL);
	assert_int_equal(config_mac_parse("0g:00:AC:10:00:02", mac), -EINVAL);
	assert_int_equal(config_mac_parse("", mac), -EINVAL);
}

static struct config_drive mkdrive(const char *id, bool root, const char *path)
{
	struct config_drive d;
	memset(&d, 0, sizeof(d));
	snprintf(d.drive_id, sizeof(d.drive_id), "%s", id);
	snprintf(d.path_on_host, sizeof(d.path_on_host), "%s", path);
	d.is_root_device = root;
	d.fd = -1;
	return d;
}

static void test_drives(void **state)
{
	char path[] = "/tmp/ember-test-config-XXXXXX";
	int tmp = mkstemp(path);
	assert_true(tmp >= 0);
	close(tmp);

	struct config_drive a = mkdrive("data", false, path);
	assert_int_equal(config_json_drive_open(&a, err, sizeof(err)), 0);
	assert_int_equal(config_drive_put(&cfg, &a, err, sizeof(err)), 0);
	struct config_drive r = mkdrive("rootfs", true, path);
	r.is_read_only = true;
	assert_int_equal(config_json_drive_open(&r, err, sizeof(err)), 0);
	assert_int_equal(fcntl(r.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_int_equal(config_drive_put(&cfg, &r, err, sizeof(err)), 0);
	/* The root device goes first. */
	assert_int_equal(cfg.ndrives, 2);
	assert_string_equal(cfg.drives[0].drive_id, "rootfs");
	assert_string_equal(cfg.drives[1].drive_id, "data");
	/* A second root is refused; the caller keeps its fd. */
	struct config_drive r2 = mkdrive("other", true, path);
	assert_int_equal(config_json_drive_open(&r2, err, sizeof(err)), 0);
	assert_int_equal(config_drive_put(&cfg, &r2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "A root block device already exists!");
	close(r2.fd);
	/* Replacing the root by id is fine and closes the old fd. */
	int oldfd = cfg.drives[0].fd;
	struct config_drive r3 = mkdrive("rootfs", true, path);
	assert_int_equal(config_json_drive_open(&r3, err, sizeof(err)), 0);
	assert_int_equal(config_drive_put(&cfg, &r3, err, sizeof(err)), 0);
	assert_int_equal(cfg.ndrives, 2);
	assert_int_equal(cfg.drives[0].fd, r3.fd);
	assert_int_equal(fcntl(oldfd, F_GETFD), -1);
	/* Replacing a non-root drive keeps its place. */
	struct config_drive a2 = mkdrive("data", false, path);
	assert_int_equal(config_json_drive_open(&a2, err, sizeof(err)), 0);
	assert_int_equal(config_drive_put(&cfg, &a2, err, sizeof(err)), 0);
	assert_string_equal(cfg.drives[1].drive_id, "data");
	/* The rule alone, before any file is opened: the root may replace
	 * itself, no other drive may be a second root. */
	struct config_drive probe = mkdrive("other", true, "/nonexistent");
	assert_int_equal(config_drive_check(&cfg, &probe, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "A root block device already exists!");
	snprintf(probe.drive_id, sizeof(probe.drive_id), "rootfs");
	assert_int_equal(config_drive_check(&cfg, &probe, err, sizeof(err)), 0);
	snprintf(probe.drive_id, sizeof(probe.drive_id), "data"); /* data becomes the root */
	assert_int_equal(config_drive_check(&cfg, &probe, err, sizeof(err)), -EINVAL);
	probe.is_root_device = false;
	assert_int_equal(config_drive_check(&cfg, &probe, err, sizeof(err)), 0);
	/* A missing file names the field and the OS error. */
	struct config_drive bad = mkdrive("bad", false, "/nonexistent/disk.img");
	assert_int_equal(config_json_drive_open(&bad, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "path_on_host: cannot open /nonexistent/disk.img read-write: "
			    "No such file or directory (os error 2)");
	assert_int_equal(bad.fd, -1);
	bad.is_read_only = true;
	assert_int_equal(config_json_drive_open(&bad, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "path_on_host: cannot open /nonexistent/disk.img read-only: "
			    "No such file or directory (os error 2)");
	/* The table has a limit. */
	for (unsigned i = cfg.ndrives; i < CONFIG_MAX_DRIVES; i++) {
		char id[16];
		snprintf(id, sizeof(id), "d%u", i);
		struct config_drive d = mkdrive(id, false, path);
		assert_int_equal(config_drive_put(&cfg, &d, err, sizeof(err)), 0);
	}
	struct config_drive over = mkdrive("over", false, path);
	assert_int_equal(config_drive_put(&cfg, &over, err, sizeof(err)), -ENOSPC);
	assert_int_equal(config_drive_find(&cfg, "d5"), 5);
	assert_int_equal(config_drive_find(&cfg, "nope"), -1);
	unlink(path);
}

/* A FIFO nobody writes to: opening it for reading without O_NONBLOCK would
 * wait for a writer forever (the alarm turns that into a failure). */
static void test_fifo_refused(void **state)
{
	char dir[] = "/tmp/ember-test-fifo-XXXXXX";
	char fifo[64];
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(20);
	struct config_boot *b = calloc(1, sizeof(*b));
	strcpy(b->kernel_path, fifo);
	assert_int_equal(config_boot_validate(b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "kernel_image_path"));
	assert_non_null(strstr(err, " is a FIFO, not a regular file"));
	for (int ro = 0; ro < 2; ro++) {
		struct config_drive d = mkdrive("d", false, fifo);
		d.is_read_only = ro;
		assert_int_equal(config_json_drive_open(&d, err, sizeof(err)), -EINVAL);
		assert_int_equal(d.fd, -1);
		char want[128];
		snprintf(want, sizeof(want), "path_on_host: %s is a FIFO, not a regular file or a "
			 "block device", fifo);
		assert_string_equal(err, want);
	}
	alarm(0);
	unlink(fifo);
	rmdir(dir);
	free(b);
}

/* serial_out_path: a regular file (created, appended to) or a FIFO (no
 * reader needed), non-blocking and close-on-exec; anything else refused
 * without opening it, naming the path; a replacement closes the old fd. */
static void test_serial_out(void **state)
{
	char dir[] = "/tmp/ember-test-serial-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct config_serial s = { .set = true, .out_fd = -1 };
	char want[256];

	/* Missing: created, 0600. */
	snprintf(s.out_path, sizeof(s.out_path), "%s/console.log", dir);
	assert_int_equal(config_serial_open(&s, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(fstat(s.out_fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	int fl = fcntl(s.out_fd, F_GETFL);
	assert_int_equal(fl & (O_ACCMODE | O_APPEND | O_NONBLOCK), O_WRONLY | O_APPEND | O_NONBLOCK);
	assert_true(fcntl(s.out_fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(s.out_fd, "one\n", 4), 4);
	config_serial_put(&cfg, &s);
	assert_int_equal(cfg.serial.out_fd, s.out_fd);
	/* Existing: appended to, and the replaced fd is closed. */
	int old = cfg.serial.out_fd;
	s.out_fd = -1;
	assert_int_equal(config_serial_open(&s, err, sizeof(err)), 0);
	assert_int_equal(write(s.out_fd, "two\n", 4), 4);
	config_serial_put(&cfg, &s);
	assert_int_equal(fcntl(old, F_GETFD), -1);
	char buf[16] = { 0 };
	int rfd = open(s.out_path, O_RDONLY);
	assert_int_equal(read(rfd, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "one\ntwo\n");
	close(rfd);
	unlink(s.out_path);

	/* A FIFO without a reader: opened at once, read-write. */
	snprintf(s.out_path, sizeof(s.out_path), "%s/fifo", dir);
	assert_int_equal(mkfifo(s.out_path, 0600), 0);
	alarm(20);
	s.out_fd = -1;
	assert_int_equal(config_serial_open(&s, err, sizeof(err)), 0);
	alarm(0);
	assert_int_equal(fcntl(s.out_fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDWR | O_NONBLOCK);
	/* Back to stdout: the FIFO's fd is closed. */
	config_serial_put(&cfg, &s);
	old = cfg.serial.out_fd;
	struct config_serial none = { .set = true, .out_fd = -1 };
	config_serial_put(&cfg, &none);
	assert_int_equal(fcntl(old, F_GETFD), -1);
	assert_int_equal(cfg.serial.out_fd, -1);
	unlink(s.out_path);

	/* Refused, naming the path: a directory, a device, a missing directory. */
	s.out_fd = -1;
	snprintf(s.out_path, sizeof(s.out_path), "%s", dir);
	assert_int_equal(config_serial_open(&s, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "serial_out_path: %s is a directory, not a regular file or "
		 "a FIFO", dir);
	assert_string_equal(err, want);
	snprintf(s.out_path, sizeof(s.out_path), "/dev/null");
	assert_int_equal(config_serial_open(&s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "serial_out_path: /dev/null is a character device, not a "
			    "regular file or a FIFO");
	snprintf(s.out_path, sizeof(s.out_path), "%s/no/such/file", dir);
	assert_int_equal(config_serial_open(&s, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "serial_out_path: cannot open %s/no/such/file: No such file "
		 "or directory (os error 2)", dir);
	assert_string_equal(err, want);
	assert_int_equal(s.out_fd, -1);
	rmdir(dir);
}

static void test_nets(void **state)
{
	struct config_net n;
	memset(&n, 0, sizeof(n));
	strcpy(n.iface_id, "eth0");
	strcpy(n.host_dev_name, "tap0");
	n.has_guest_mac = true;
	config_mac_parse("06:00:00:00:00:01", n.guest_mac);
	n.tap_fd = -1;
	assert_int_equal(config_net_put(&cfg, &n, err, sizeof(err)), 0);
	struct config_net m = n;
	strcpy(m.iface_id, "eth1");
	strcpy(m.host_dev_name, "tap1");
	assert_int_equal(config_net_put(&cfg, &m, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "The MAC address is already in use: 06:00:00:00:00:01");
	/* config_net_check() quotes the client's spelling of the MAC. */
	assert_int_equal(config_net_check(&cfg, &m, "06:00:00:00:00:01", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "The MAC address is already in use: 06:00:00:00:00:01");
	/* Both clash: the tap name is named first. */
	strcpy(m.host_dev_name, "tap0");
	assert_int_equal(config_net_check(&cfg, &m, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "The host device name is already in use: tap0");
	m.guest_mac[5] = 2;
	assert_int_equal(config_net_put(&cfg, &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "host device name"));
	/* The interface being replaced is not compared with itself. */
	assert_int_equal(config_net_check(&cfg, &n, NULL, err, sizeof(err)), 0);
	strcpy(m.host_dev_name, "tap1");
	assert_int_equal(config_net_put(&cfg, &m, err, sizeof(err)), 0);
	/* Same id replaces. */
	strcpy(m.host_dev_name, "tap2");
	assert_int_equal(config_net_put(&cfg, &m, err, sizeof(err)), 0);
	assert_int_equal(cfg.nnets, 2);
	assert_string_equal(cfg.nets[1].host_dev_name, "tap2");
	config_net_remove(&cfg, 0);
	assert_int_equal(cfg.nnets, 1);
	assert_string_equal(cfg.nets[0].iface_id, "eth1");
	/* Opening: a bad name is refused without touching /dev/net/tun. */
	assert_int_equal(tap_open("", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Open tap device failed: Invalid interface name "
			    "(host_dev_name '': 1 to 15 bytes)");
	assert_int_equal(tap_open("0123456789abcdef", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Open tap device failed: Invalid interface name "
			    "(host_dev_name '0123456789abcdef': 1 to 15 bytes)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nets, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
