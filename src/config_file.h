/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config_file.h - --config-file: a Firecracker configuration file read into
 * a struct vm_config, section by section as the API would apply it.
 */
#ifndef EMBER_CONFIG_FILE_H
#define EMBER_CONFIG_FILE_H

#include <stddef.h>

#include "src/config.h"

/* Parse a Firecracker config file (keys "boot-source", "machine-config",
 * "drives", "network-interfaces", "logger", "metrics"; unknown keys and those
 * ember lacks are an error naming them) into cfg (config_init'ed by the
 * caller). Drive files and taps are opened as PUT would; "logger" and
 * "metrics" take effect at once (log_open, metrics_open). "boot-source" is
 * required; a drive_id or iface_id given twice is an error (not a
 * replacement as with PUT). Returns 0, or -errno with one line in err
 * naming the file and the field ("config file PATH: drives[1]: ..."). On
 * error cfg may hold some opened devices: config_release() it. */
int config_file_load(const char *path, struct vm_config *cfg, char *err, size_t errlen);

#endif
