/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - the validated description of one microVM.
 *
 * Filled by config_json.c from API requests and from --config-file; read
 * by vm.c to build the VM. No JSON here: every field is already a C value. The
 * config_*_validate() functions check one object on its own and against the
 * rest of the config; they write one line naming the field into err.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/layout.h"
#include "virtio/ratelimit.h"   /* struct ratelimit_config: a device's limiter */

#define CONFIG_ID_MAX        64    /* drive/iface/instance ids: config_id_check() */
#define CONFIG_MAX_DRIVES    16
#define CONFIG_MAX_NETS      8
#define CONFIG_MAX_MEM_MIB   (1024ULL * 1024ULL) /* 1 TiB */
#define CONFIG_IFNAME_MAX    16    /* IFNAMSIZ incl. NUL */

struct config_boot {
	bool set;
	char kernel_path[PATH_MAX];
	char initrd_path[PATH_MAX];   /* "" = no initrd */
	char boot_args[LAYOUT_CMDLINE_MAX];
	bool boot_args_set;           /* false: ember's default command line */
};

enum config_huge_pages { CONFIG_HUGE_NONE = 0, CONFIG_HUGE_2M };

/* Firecracker's static CPU templates for x86_64 (cpu_template.h). */
enum config_cpu_template {
	CONFIG_CPU_TEMPLATE_NONE = 0,
	CONFIG_CPU_TEMPLATE_C3,
	CONFIG_CPU_TEMPLATE_T2,
	CONFIG_CPU_TEMPLATE_T2S,
	CONFIG_CPU_TEMPLATE_T2CL,
	CONFIG_CPU_TEMPLATE_T2A,
	CONFIG_CPU_TEMPLATE_COUNT
};

struct config_machine {
	unsigned vcpu_count;          /* 1..LAYOUT_MAX_VCPUS, default 1 */
	uint64_t mem_size_mib;        /* default 128 */
	bool smt;                     /* default false */
	bool track_dirty_pages;       /* accepted, default false */
	enum config_huge_pages huge_pages;
	enum config_cpu_template cpu_template; /* default NONE */
};

enum config_cache_type { CONFIG_CACHE_UNSAFE = 0, CONFIG_CACHE_WRITEBACK };
enum config_io_engine { CONFIG_IO_SYNC = 0, CONFIG_IO_ASYNC };

struct config_drive {
	char drive_id[CONFIG_ID_MAX + 1];
	char path_on_host[PATH_MAX];
	bool is_root_device;
	bool is_read_only;
	char partuuid[64];            /* "" = none */
	enum config_cache_type cache_type;
	struct ratelimit_config rate_limiter;
	enum config_io_engine io_engine;  /* Async: checked at PUT time (blk_uring_probe) */
	int fd;                       /* opened at PUT time, -1 if not */
};

struct config_net {
	char iface_id[CONFIG_ID_MAX + 1];
	char host_dev_name[CONFIG_IFNAME_MAX];
	bool has_guest_mac;
	uint8_t guest_mac[6];
	struct ratelimit_config rx_rate_limiter;
	struct ratelimit_config tx_rate_limiter;
	unsigned mtu;                 /* 0 = not set (the device default) */
	int tap_fd;                   /* opened at PUT time, -1 if not */
};

struct config_logger {
	bool set;
	char log_path[PATH_MAX];
	int level;                    /* enum log_level */
	bool show_level;
	bool show_log_origin;
	char module[128];             /* the module filter (log_set_module), "" = none */
};

struct config_metrics {
	bool set;
	char metrics_path[PATH_MAX];
};

/* PUT /serial (the config file's "serial"): where the guest's serial output
 * goes, and how fast. */
struct config_serial {
	bool set;                     /* configured (GET /vm/config shows it) */
	char out_path[PATH_MAX];      /* serial_out_path; "" = ember's stdout */
	struct ratelimit_bucket_config rate_limiter; /* bytes; unset = no limit */
	int out_fd;                   /* out_path opened at PUT time; valid when out_path[0] */
};

struct vm_config {
	struct config_boot boot;
	struct config_machine machine;
	unsigned ndrives;
	struct config_drive drives[CONFIG_MAX_DRIVES];
	unsigned nnets;
	struct config_net nets[CONFIG_MAX_NETS];
	struct config_logger logger;
	struct config_metrics metrics;
	struct config_serial serial;
	bool boot_timer;              /* --boot-timer: the 0xC0000000 device */
	bool no_vmgenid;              /* --no-vmgenid: no VMGenID device, no new id at a load */
};

/* Defaults: 1 vCPU, 128 MiB, smt off, no devices; every fd -1. */
void config_init(struct vm_config *cfg);
/* Close every fd the config holds. */
void config_release(struct vm_config *cfg);

/* The two kinds of id, each with Firecracker's alphabet, and at most
 * CONFIG_ID_MAX characters (Firecracker has that limit for the instance id
 * only; ember's structs have it for both):
 * - CONFIG_ID_RESOURCE: drive_id, iface_id and the ids in API paths:
 *   letters, digits and '_' (Firecracker's API server);
 * - CONFIG_ID_INSTANCE: --id: letters, digits and '-' (Firecracker's and
 *   ember-jailer's --id). */
enum config_id_kind { CONFIG_ID_RESOURCE, CONFIG_ID_INSTANCE };

/* The instance id rule, as --help and the --id error state it. */
#define CONFIG_INSTANCE_ID_RULE "1-64 characters of letters, digits and '-'"

/* 0 when id follows the rule of its kind (ASCII letters and digits only);
 * else -EINVAL with err: for a resource id Firecracker's texts ("The ID
 * cannot be empty.", "API Resource IDs can only contain alphanumeric
 * characters and underscores.") or "API Resource IDs can be at most 64
 * characters long.", checked in that order; for the instance id
 * CONFIG_INSTANCE_ID_RULE. */
int config_id_check(enum config_id_kind kind, const char *id, char *err, size_t errlen);

/* vcpu_count 1..LAYOUT_MAX_VCPUS (1 or even with smt), mem_size_mib 1..
 * CONFIG_MAX_MEM_MIB (even with 2M huge pages). -EINVAL + err. */
int config_machine_validate(const struct config_machine *m, char *err, size_t errlen);
/* kernel_path set and a readable regular file, initrd (if any) too (both are opened
 * and closed, as Firecracker does at PUT time), boot_args fits the command
 * line. -errno + err ("The kernel file cannot be opened: <strerror> (os
 * error N)"). */
int config_boot_validate(const struct config_boot *b, char *err, size_t errlen);

/* Parse "aa:bb:cc:dd:ee:ff" (hex, either case). 0 or -EINVAL. */
int config_mac_parse(const char *s, uint8_t mac[6]);
/* Format as lower-case "aa:bb:cc:dd:ee:ff" into out[18]. */
void config_mac_format(const uint8_t mac[6], char out[18]);

/* Index of the drive / net with this id, or -1. */
int config_drive_find(const struct vm_config *cfg, const char *id);
int config_net_find(const struct vm_config *cfg, const char *id);

/* Open s->out_path for the guest's serial output into s->out_fd with
 * util_open_output(): never blocking ember (a FIFO read-write, anything else
 * write-only, appending, created 0600; O_NONBLOCK stays on, so a full pipe
 * drops output instead of stalling a vCPU), a regular file or a FIFO only,
 * a device never opened. -errno + err naming serial_out_path and the OS
 * error or the file's type. */
int config_serial_open(struct config_serial *s, char *err, size_t errlen);
/* Replace cfg->serial by s (its fd, if any, now owned by cfg); the old fd is
 * closed. */
void config_serial_put(struct vm_config *cfg, const struct config_serial *s);

/* The rule between d and the other drives of cfg (the one with d's
 * drive_id is the one d replaces), cheap enough to check before d's file is
 * opened: at most one is_root_device. -EINVAL + err "A root block device
 * already exists!". The one home of that rule: config_drive_put() applies
 * it too, so every struct vm_config has at most one root drive. */
int config_drive_check(const struct vm_config *cfg, const struct config_drive *d,
		       char *err, size_t errlen);
/* Insert d (fd already open) or replace the drive with the same id (its
 * old fd is closed). Rules: config_drive_check(), at most CONFIG_MAX_DRIVES
 * (-ENOSPC); the root device is kept at index 0, the others keep insertion
 * order. On success cfg owns d->fd; on error (-EINVAL/-ENOSPC + err) the
 * caller still owns it. */
int config_drive_put(struct vm_config *cfg, const struct config_drive *d,
		     char *err, size_t errlen);

/* The rules between n and the other ifaces of cfg (the one with n's
 * iface_id is the one n replaces), checked before n's tap is opened: per
 * other iface, host_dev_name, then guest_mac (when both have one), must
 * differ. -EINVAL + err "The host device name is already in use: <name>"
 * or "The MAC address is already in use: <mac>", where <mac> is mac_text
 * (the client's spelling), or lower case when mac_text is NULL. */
int config_net_check(const struct vm_config *cfg, const struct config_net *n,
		     const char *mac_text, char *err, size_t errlen);
/* Insert n (tap already open) or replace the iface with the same id (its
 * old tap is closed). Rules: config_net_check(), at most CONFIG_MAX_NETS
 * (-ENOSPC). Ownership as config_drive_put(). */
int config_net_put(struct vm_config *cfg, const struct config_net *n,
		   char *err, size_t errlen);
/* Remove the iface at idx, closing its tap. */
void config_net_remove(struct vm_config *cfg, unsigned idx);

/* The default kernel command line when boot_args is not given (Firecracker's). */
#define CONFIG_DEFAULT_BOOT_ARGS \
	"reboot=k panic=1 pci=off nomodule 8250.nr_uarts=1 i8042.noaux i8042.nomux i8042.dumbkbd swiotlb=noforce"

#endif
