// SPDX-License-Identifier: Apache-2.0
/*
 * config.c - defaults and rules for struct vm_config: the one home of the
 * rules on its values (ids, machine, boot source, one root drive, unique
 * taps and MACs), whoever fills it. It opens no drive file and no tap
 * (virtio/blk_file.c and virtio/tap.c do, called by config_json.c); only
 * config_boot_validate() opens and closes the kernel and initrd to check
 * them, as Firecracker does at PUT /boot-source, and config_serial_open()
 * opens serial_out_path (through util_open_output()) for PUT /serial.
 * Error texts follow Firecracker's where it has one (without its "... error:"
 * prefixes, which api.c adds).
 */
#include "src/config.h"
#include "src/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Slots at and past ndrives/nnets are unused and never read, so they need no
 * fd sentinel: a config in zeroed (static) memory is only read here, and its
 * ~90 KiB of drive and interface slots cost no memory until they are used. */
void config_init(struct vm_config *cfg)
{
	const unsigned char *p = (const unsigned char *)cfg;
	for (size_t i = 0; i < sizeof(*cfg); i++) {
		if (p[i]) {
			memset(cfg, 0, sizeof(*cfg));
			break;
		}
	}
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
	cfg->machine.huge_pages = CONFIG_HUGE_NONE;
	cfg->serial.out_fd = -1;
}

static void config_serial_close(struct config_serial *s)
{
	if (s->out_path[0] && s->out_fd >= 0)
		close(s->out_fd);
	s->out_fd = -1;
}

void config_release(struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		if (cfg->drives[i].fd >= 0)
			close(cfg->drives[i].fd);
		cfg->drives[i].fd = -1;
	}
	for (unsigned i = 0; i < cfg->nnets; i++) {
		if (cfg->nets[i].tap_fd >= 0)
			close(cfg->nets[i].tap_fd);
		cfg->nets[i].tap_fd = -1;
	}
	config_serial_close(&cfg->serial);
}

/* CONFIG_INSTANCE_ID_RULE spells the limit out. */
_Static_assert(CONFIG_ID_MAX == 64, "CONFIG_INSTANCE_ID_RULE says 1-64");

/* ASCII only, whatever the locale. */
static bool config_id_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

int config_id_check(enum config_id_kind kind, const char *id, char *err, size_t errlen)
{
	char extra = kind == CONFIG_ID_INSTANCE ? '-' : '_';
	size_t n = strlen(id);
	bool chars_ok = true;

	for (size_t i = 0; i < n && chars_ok; i++)
		chars_ok = config_id_alnum(id[i]) || id[i] == extra;
	if (n && chars_ok && n <= CONFIG_ID_MAX)
		return 0;
	if (kind == CONFIG_ID_INSTANCE)
		snprintf(err, errlen, "%s", CONFIG_INSTANCE_ID_RULE);
	else if (!n)
		snprintf(err, errlen, "The ID cannot be empty.");
	else if (!chars_ok)
		snprintf(err, errlen, "API Resource IDs can only contain alphanumeric characters "
			 "and underscores.");
	else
		snprintf(err, errlen, "API Resource IDs can be at most %d characters long.",
			 CONFIG_ID_MAX);
	return -EINVAL;
}

int config_machine_validate(const struct config_machine *m, char *err, size_t errlen)
{
	if (m->vcpu_count == 0 || m->vcpu_count > LAYOUT_MAX_VCPUS ||
	    (m->smt && m->vcpu_count > 1 && (m->vcpu_count & 1))) {
		snprintf(err, errlen, "The number of vCPUs must be greater than 0, less than %u "
			 "and must be 1 or an even number if SMT is enabled.", LAYOUT_MAX_VCPUS + 1);
		return -EINVAL;
	}
	if (m->mem_size_mib == 0 || (m->huge_pages == CONFIG_HUGE_2M && (m->mem_size_mib & 1))) {
		snprintf(err, errlen, "The memory size (MiB) is either 0, or not a multiple of "
			 "the configured page size.");
		return -EINVAL;
	}
	if (m->mem_size_mib > CONFIG_MAX_MEM_MIB) {
		snprintf(err, errlen, "The memory size (MiB) %llu is larger than ember's limit "
			 "of %llu MiB.", (unsigned long long)m->mem_size_mib,
			 (unsigned long long)CONFIG_MAX_MEM_MIB);
		return -EINVAL;
	}
	return 0;
}

/* Open and close a file to report errors at configuration time. */
static int config_check_readable(const char *path, const char **kind)
{
	int fd = util_open_file(path, O_RDONLY, false, kind);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int config_boot_validate(const struct config_boot *b, char *err, size_t errlen)
{
	int r;

	if (!b->kernel_path[0]) {
		snprintf(err, errlen, "The kernel file cannot be opened: %s (os error %d) "
			 "(kernel_image_path is empty)", strerror(ENOENT), ENOENT);
		return -EINVAL;
	}
	const char *kind;
	r = config_check_readable(b->kernel_path, &kind);
	if (r < 0 && kind) {
		snprintf(err, errlen, "The kernel file cannot be opened: kernel_image_path %s is %s, "
			 "not a regular file", b->kernel_path, kind);
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "The kernel file cannot be opened: %s (os error %d) "
			 "(kernel_image_path %s)", strerror(-r), -r, b->kernel_path);
		return r;
	}
	if (b->initrd_path[0]) {
		r = config_check_readable(b->initrd_path, &kind);
		if (r < 0 && kind) {
			snprintf(err, errlen, "The initrd file cannot be opened: initrd_path %s is %s, "
				 "not a regular file", b->initrd_path, kind);
			return r;
		}
		if (r < 0) {
			snprintf(err, errlen, "The initrd file cannot be opened due to invalid path "
				 "or invalid permissions. %s (os error %d) (initrd_path %s)",
				 strerror(-r), -r, b->initrd_path);
			return r;
		}
	}
	if (strnlen(b->boot_args, sizeof(b->boot_args)) >= sizeof(b->boot_args)) {
		snprintf(err, errlen, "The kernel command line is too long (limit %zu bytes "
			 "including the NUL).", sizeof(b->boot_args));
		return -EINVAL;
	}
	return 0;
}

int config_mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = *s++;
			int d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return -EINVAL;
			v = v * 16 + d;
		}
		mac[i] = (uint8_t)v;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

void config_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int config_drive_find(const struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->ndrives; i++)
		if (strcmp(cfg->drives[i].drive_id, id) == 0)
			return (int)i;
	return -1;
}

int config_net_find(const struct vm_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->nnets; i++)
		if (strcmp(cfg->nets[i].iface_id, id) == 0)
			return (int)i;
	return -1;
}

int config_serial_open(struct config_serial *s, char *err, size_t errlen)
{
	const char *kind;
	int fd = util_open_output(s->out_path, &kind);

	if (fd < 0 && kind)
		return util_err(err, errlen, fd, "serial_out_path: %s is %s, not a regular file or a FIFO",
				s->out_path, kind);
	if (fd < 0)
		return util_err(err, errlen, fd, "serial_out_path: cannot open %s: %s (os error %d)",
				s->out_path, strerror(-fd), -fd);
	s->out_fd = fd;
	return 0;
}

void config_serial_put(struct vm_config *cfg, const struct config_serial *s)
{
	config_serial_close(&cfg->serial);
	cfg->serial = *s;
	if (!s->out_path[0])
		cfg->serial.out_fd = -1;
}

int config_drive_check(const struct vm_config *cfg, const struct config_drive *d,
		       char *err, size_t errlen)
{
	int idx = config_drive_find(cfg, d->drive_id);

	if (!d->is_root_device)
		return 0;
	for (unsigned i = 0; i < cfg->ndrives; i++) {
		if ((int)i != idx && cfg->drives[i].is_root_device) {
			snprintf(err, errlen, "A root block device already exists!");
			return -EINVAL;
		}
	}
	return 0;
}

int config_drive_put(struct vm_config *cfg, const struct config_drive *d,
		     char *err, size_t errlen)
{
	int idx = config_drive_find(cfg, d->drive_id);
	int r = config_drive_check(cfg, d, err, errlen);

	if (r < 0)
		return r;
	if (idx < 0 && cfg->ndrives >= CONFIG_MAX_DRIVES) {
		snprintf(err, errlen, "Too many drives: ember supports at most %u.",
			 CONFIG_MAX_DRIVES);
		return -ENOSPC;
	}
	if (idx >= 0) {
		if (cfg->drives[idx].fd >= 0 && cfg->drives[idx].fd != d->fd)
			close(cfg->drives[idx].fd);
		/* Remove it; re-inserted below at its place (or first if root). */
		if (d->is_root_device) {
			memmove(&cfg->drives[idx], &cfg->drives[idx + 1],
				(cfg->ndrives - (unsigned)idx - 1) * sizeof(cfg->drives[0]));
			cfg->ndrives--;
		} else {
			cfg->drives[idx] = *d;
			return 0;
		}
	}
	if (d->is_root_device) {
		memmove(&cfg->drives[1], &cfg->drives[0], cfg->ndrives * sizeof(cfg->drives[0]));
		cfg->drives[0] = *d;
	} else {
		cfg->drives[cfg->ndrives] = *d;
	}
	cfg->ndrives++;
	return 0;
}

int config_net_check(const struct vm_config *cfg, const struct config_net *n,
		     const char *mac_text, char *err, size_t errlen)
{
	int idx = config_net_find(cfg, n->iface_id);
	char mac[18];

	for (unsigned i = 0; i < cfg->nnets; i++) {
		const struct config_net *o = &cfg->nets[i];
		if ((int)i == idx)
			continue;
		if (strcmp(n->host_dev_name, o->host_dev_name) == 0) {
			snprintf(err, errlen, "The host device name is already in use: %s",
				 n->host_dev_name);
			return -EINVAL;
		}
		if (n->has_guest_mac && o->has_guest_mac &&
		    memcmp(n->guest_mac, o->guest_mac, 6) == 0) {
			if (!mac_text) {
				config_mac_format(n->guest_mac, mac);
				mac_text = mac;
			}
			snprintf(err, errlen, "The MAC address is already in use: %s", mac_text);
			return -EINVAL;
		}
	}
	return 0;
}

int config_net_put(struct vm_config *cfg, const struct config_net *n,
		   char *err, size_t errlen)
{
	int idx = config_net_find(cfg, n->iface_id);
	int r = config_net_check(cfg, n, NULL, err, errlen);

	if (r < 0)
		return r;
	if (idx < 0 && cfg->nnets >= CONFIG_MAX_NETS) {
		snprintf(err, errlen, "Too many network interfaces: ember supports at most %u.",
			 CONFIG_MAX_NETS);
		return -ENOSPC;
	}
	if (idx >= 0) {
		if (cfg->nets[idx].tap_fd >= 0 && cfg->nets[idx].tap_fd != n->tap_fd)
			close(cfg->nets[idx].tap_fd);
		cfg->nets[idx] = *n;
		return 0;
	}
	cfg->nets[cfg->nnets++] = *n;
	return 0;
}

void config_net_remove(struct vm_config *cfg, unsigned idx)
{
	if (idx >= cfg->nnets)
		return;
	if (cfg->nets[idx].tap_fd >= 0)
		close(cfg->nets[idx].tap_fd);
	memmove(&cfg->nets[idx], &cfg->nets[idx + 1],
		(cfg->nnets - idx - 1) * sizeof(cfg->nets[0]));
	cfg->nnets--;
	cfg->nets[cfg->nnets].tap_fd = -1;
}
