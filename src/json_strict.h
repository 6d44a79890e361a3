/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_strict.h - JSON read as strictly as Firecracker (serde_json) reads it,
 * for API request bodies and --config-file: text that is UTF-8 and whose
 * numbers follow RFC 8259, typed fields (integers written as floats are
 * floats), unknown and duplicate fields refused. Errors are worded like
 * serde_json's, position included ("missing field `x` at line 1 column 21",
 * "unknown field `x`, expected one of ..."); where ember names the field
 * serde does not, it adds " (field `x`)" after serde's whole sentence.
 *
 * Everything writes one line into the caller's json_ctx and returns -EINVAL
 * (or -ENOMEM); nothing here knows the API or struct vm_config.
 */
#ifndef EMBER_JSON_STRICT_H
#define EMBER_JSON_STRICT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The size of the error lines of the API and the config-file loader. */
#define JSON_ERR_LEN 1024

/* Where errors go. file: from --config-file, so deserialization errors
 * carry no "An error occurred when deserializing the json body of a
 * request: " prefix. */
struct json_ctx {
	bool file;
	char *err;
	size_t errlen;
	/* Set by json_parse(): the text the tree came from, for the
	 * positions of later errors; the caller keeps it alive as long as
	 * the tree. */
	const char *text;
	size_t len;
};

/* Write the formatted line into c->err as it is. Returns -EINVAL. */
int json_fail(struct json_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A deserialization error: the formatted text behind the API's serde
 * prefix (unless c->file) and followed by '.'. Returns -EINVAL. */
int json_deser(struct json_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse text[0..len) as one JSON value followed only by whitespace: RFC
 * 8259's grammar (numbers too: cJSON's strtod would take "00512", "1." or
 * "0x10"), UTF-8 strings (RFC 3629), paired surrogates, at most 128 levels
 * deep; the first error is serde_json's ("expected `,` or `}` at line 1
 * column 9", "EOF while parsing an object", "trailing characters"...).
 * Every node remembers where its value starts (errors about it name that
 * position) and number nodes written with a fraction or an exponent are
 * remembered as floats for json_get_u64(). Returns the tree (cJSON_Delete()
 * it) or NULL with c->err set. */
cJSON *json_parse(struct json_ctx *c, const char *text, size_t len);

/* obj must be an object (else "invalid type: expected struct <what>") with
 * no field twice and, when allowed (NULL-terminated) is not NULL, only the
 * fields it lists. 0 or -EINVAL. */
int json_check_object(struct json_ctx *c, const cJSON *obj, const char *what,
		      const char *const *allowed);

/* The field called name, or NULL when it is absent or null (serde reads
 * null as None). */
const cJSON *json_field(const cJSON *obj, const char *name);

/* The typed getters: 1 when the field was there and *out is set, 0 when it
 * is absent or null and not required (*out untouched), -EINVAL with c->err
 * set when it is required and missing, or of the wrong type or value. */

/* A string of at most outlen - 1 bytes (longer: "<name>: value too long"). */
int json_get_str(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		 char *out, size_t outlen);
int json_get_bool(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		  bool *out);
/* A non-negative integer <= max, written without fraction or exponent. */
int json_get_u64(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		 uint64_t max, uint64_t *out);
/* A string that is one of names (NULL-terminated); *out is its index. */
int json_get_enum(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		  const char *const *names, int *out);

#endif
