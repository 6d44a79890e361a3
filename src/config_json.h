/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_json.h - Firecracker's JSON objects <-> struct vm_config, in both
 * directions: the objects of PUT /boot-source, /machine-config, /drives,
 * /network-interfaces, /logger, /metrics, /serial (and PATCH
 * /machine-config) are the sections of a --config-file too, so the API (api.c) and the loader
 * (config_file.c) apply them through the same functions; GET
 * /machine-config and GET /vm/config serialise through the others.
 *
 * The apply functions validate obj fully (json_strict.h's rules, then
 * config.c's), are all-or-nothing (on error cfg is as it was), and return
 * 0 or -errno with one line in c->err, with Firecracker's prefix ("Drive
 * config error: ...") where it has one. Main thread only.
 */
#ifndef EMBER_CONFIG_JSON_H
#define EMBER_CONFIG_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "src/config.h"
#include "src/json_strict.h"

/* BootSourceConfig into cfg->boot; the kernel and initrd files are checked
 * (config_boot_validate()). */
int config_json_boot_source(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj);

/* MachineConfig into cfg->machine: config_json_machine_read() then
 * config_json_machine_apply(). PUT (patch false): vcpu_count and
 * mem_size_mib required, omitted optional fields reset, except cpu_template,
 * which an absent or null field leaves as it was ("None" clears it), as in
 * Firecracker. PATCH: a non-empty subset (nulls do not count), merged with
 * the current values. */
int config_json_machine(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj, bool patch);
/* Its two halves. _read: what deserialising obj finds (Firecracker's serde
 * errors, "Empty PATCH request.", ember's refusals of what it lacks), as
 * *out, starting from cur (the current values); cfg is not touched. _apply:
 * the rules between the fields (config_machine_validate(), "Machine config
 * error: ..."), then cfg->machine = *m. The API reads before the boot rule
 * and applies after it. */
int config_json_machine_read(struct json_ctx *c, const struct config_machine *cur,
			     const cJSON *obj, bool patch, struct config_machine *out);
int config_json_machine_apply(struct json_ctx *c, struct vm_config *cfg,
			      const struct config_machine *m);

/* BlockDeviceConfig: a new drive, or the replacement of the one with its
 * drive_id. path_id is the id of the request path, which drive_id must
 * equal (NULL: from a config file, no path). The file is opened here
 * (config_json_drive_open()) after the cheap rules passed. */
int config_json_drive(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj,
		      const char *path_id);

/* Open d->path_on_host as d's backing file (blk_file_open(): O_RDWR, or
 * O_RDONLY when is_read_only) into d->fd; PUT and PATCH /drives.
 * -errno with err "path_on_host: <why>". */
int config_json_drive_open(struct config_drive *d, char *err, size_t errlen);

/* NetworkInterfaceConfig: a new interface, or the replacement of the one
 * with its iface_id; path_id as for config_json_drive(). The tap is opened
 * here (tap_open()), or, when the replaced interface keeps its host_dev_name, its fd is
 * duplicated (a tap is attached to one fd at a time). */
int config_json_net(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj,
		    const char *path_id);

/* LoggerConfig: takes effect at once (log_open(), log_set_level(),
 * log_set_format()) and is recorded in cfg->logger. Repeatable. */
int config_json_logger(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj);

/* MetricsConfig: metrics_open() (once per process) and, with emit_id,
 * metrics_set_id(instance_id, or "anonymous-instance" when NULL). Unknown
 * fields are accepted, as Firecracker does. */
int config_json_metrics(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj,
			const char *instance_id);

/* SerialConfig {serial_out_path, rate_limiter (one TokenBucket of bytes)}:
 * replaces cfg->serial. serial_out_path, when given, is opened here
 * (config_serial_open()); without it the output goes to stdout. */
int config_json_serial(struct json_ctx *c, struct vm_config *cfg, const cJSON *obj);

/* The RateLimiterConfig field called name of a PATCH body, merged into rl:
 * an absent bucket stays as it is, one with size 0 or refill_time 0 is
 * removed, any other replaces it. Absent field: rl unchanged. On error rl
 * may hold the first bucket. */
int config_json_patch_limiter(struct json_ctx *c, const cJSON *obj, const char *name,
			      struct ratelimit_config *rl);

/* A resource id (drive_id, iface_id, path id): config_id_check() with
 * CONFIG_ID_RESOURCE, its text in c->err. 0 or -EINVAL. */
int config_json_resource_id(struct json_ctx *c, const char *id);

/* GET /machine-config. NULL only when out of memory. */
cJSON *config_json_from_machine(const struct config_machine *m);

/* GET /vm/config: every key Firecracker returns, null or [] for what ember
 * lacks (logger and metrics are always null there too), and "serial" once
 * PUT /serial (or the config file's "serial") configured it. */
cJSON *config_json_from_config(const struct vm_config *cfg);

#endif
