// SPDX-License-Identifier: Apache-2.0
/*
 * config_file.c - --config-file: reads the file, checks its top-level keys,
 * and applies its sections in Firecracker's order through the same
 * functions as the API's PUT requests (config_json.c).
 *
 * May call: json_strict.c, config_json.c, config.c, cJSON.
 */
#include "src/config_file.h"
#include "src/config_json.h"
#include "src/json_strict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file, malloc'd, *len bytes (no NUL); NULL with *err = -errno. */
static char *config_file_read(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		*err = -errno;
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			if (cap >= (16u << 20)) { /* a config file is small */
				free(buf);
				buf = NULL;
				*err = -EFBIG;
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				*err = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (!buf && !*err)
		*err = -ENOMEM;
	fclose(f);
	*len = n;
	return buf;
}

/* Every top-level key is one ember reads, or one of a feature ember lacks
 * with the value null. *where is set to each key that is not read. */
static int config_file_keys(struct json_ctx *c, const cJSON *root, const char **where)
{
	static const char *const keys[] = { "boot-source", "machine-config", "drives",
		"network-interfaces", "logger", "metrics", "serial", NULL };
	static const char *const lacks[] = { "balloon", "vsock", "entropy", "mmds-config",
		"pmem", "memory-hotplug", "cpu-config", NULL };

	for (const cJSON *k = root->child; k; k = k->next) {
		bool ok = false;
		for (const char *const *p = keys; *p; p++)
			if (!strcmp(*p, k->string))
				ok = true;
		if (ok)
			continue;
		*where = k->string;
		for (const char *const *p = lacks; *p; p++) {
			if (!strcmp(*p, k->string) && !cJSON_IsNull(k))
				return json_fail(c, "ember does not support \"%s\"", k->string);
			if (!strcmp(*p, k->string))
				ok = true;
		}
		if (!ok)
			return json_fail(c, "unknown key (ember knows \"boot-source\", "
					 "\"machine-config\", \"drives\", \"network-interfaces\", "
					 "\"logger\", \"metrics\", \"serial\")");
	}
	return 0;
}

/* "drives", then "network-interfaces": arrays of what PUT takes, applied in
 * order. *where names the array, then the element ("drives[1]", in idx). */
static int config_file_devices(struct json_ctx *c, struct vm_config *cfg, const cJSON *root,
			       const char **where, char *idx, size_t idxlen)
{
	static const char *const arrays[] = { "drives", "network-interfaces" };
	int r;

	for (int a = 0; a < 2; a++) {
		*where = arrays[a];
		const cJSON *o = json_field(root, arrays[a]);
		if (!o)
			continue;
		if (!cJSON_IsArray(o))
			return json_fail(c, "must be an array");
		int i = 0;
		for (const cJSON *e = o->child; e; e = e->next, i++) {
			snprintf(idx, idxlen, "%s[%d]", arrays[a], i);
			*where = idx;
			/* In a file, a repeated id is a mistake, not an update as with PUT. */
			const char *key = a == 0 ? "drive_id" : "iface_id";
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, key);
			if (cJSON_IsString(id) &&
			    (a == 0 ? config_drive_find(cfg, id->valuestring) :
			     config_net_find(cfg, id->valuestring)) >= 0)
				return json_fail(c, "duplicate %s '%s'", key, id->valuestring);
			r = a == 0 ? config_json_drive(c, cfg, e, NULL) :
				     config_json_net(c, cfg, e, NULL);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The sections in Firecracker's order: logger, metrics, machine, boot,
 * drives, nets; then serial (Firecracker's file has no such section: ember
 * reads PUT /serial's object there). */
static int config_file_apply(struct json_ctx *c, struct vm_config *cfg, const cJSON *root,
			     const char **where, char *idx, size_t idxlen)
{
	const cJSON *o;
	int r;

	if ((r = config_file_keys(c, root, where)) < 0 ||
	    (r = json_check_object(c, root, "VmmConfig", NULL)) < 0)
		return r;
	if ((o = json_field(root, "logger")) &&
	    (*where = "logger", r = config_json_logger(c, cfg, o)) < 0)
		return r;
	if ((o = json_field(root, "metrics")) &&
	    (*where = "metrics", r = config_json_metrics(c, cfg, o, NULL)) < 0)
		return r;
	if ((o = json_field(root, "machine-config")) &&
	    (*where = "machine-config", r = config_json_machine(c, cfg, o, false)) < 0)
		return r;
	*where = "boot-source";
	if (!(o = json_field(root, "boot-source")))
		return json_fail(c, "missing (required)");
	if ((r = config_json_boot_source(c, cfg, o)) < 0 ||
	    (r = config_file_devices(c, cfg, root, where, idx, idxlen)) < 0)
		return r;
	if ((o = json_field(root, "serial")) &&
	    (*where = "serial", r = config_json_serial(c, cfg, o)) < 0)
		return r;
	return 0;
}

int config_file_load(const char *path, struct vm_config *cfg, char *err, size_t errlen)
{
	char msg[JSON_ERR_LEN] = "", idx[48];
	struct json_ctx c = { .file = true, .err = msg, .errlen = sizeof(msg) };
	const char *where = "";
	int r = 0, ferr = 0;
	size_t len;

	char *text = config_file_read(path, &len, &ferr);
	if (!text) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(-ferr));
		return ferr;
	}
	cJSON *root = json_parse(&c, text, len);
	if (!root) {
		snprintf(err, errlen, "config file %s: %s", path, msg);
		free(text);
		return -EINVAL;
	}
	if (!cJSON_IsObject(root))
		r = json_fail(&c, "the top level must be a JSON object");
	else
		r = config_file_apply(&c, cfg, root, &where, idx, sizeof(idx));
	if (r < 0)
		snprintf(err, errlen, "config file %s: %s%s%s", path, where, where[0] ? ": " : "",
			 msg);
	cJSON_Delete(root);
	free(text);	/* after the tree: errors quote positions in it */
	return r;
}
