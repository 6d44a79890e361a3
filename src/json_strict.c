// SPDX-License-Identifier: Apache-2.0
/*
 * json_strict.c - strict JSON intake for the API and --config-file: typed
 * field access with serde's error wording and positions, over a tree that
 * json_parse() (json_text.c) read as strictly as serde_json reads text.
 *
 * May call: cJSON, json_text.c. Nothing else of ember: it knows neither the
 * API nor struct vm_config.
 */
#include "src/json_strict.h"
#include "src/json_text.h"
#include "src/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char JSON_DESER_PREFIX[] =
	"An error occurred when deserializing the json body of a request: ";

int json_fail(struct json_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	util_verr(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int json_deser(struct json_ctx *c, const char *fmt, ...)
{
	char msg[JSON_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	util_verr(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s%s.", c->file ? "" : JSON_DESER_PREFIX, msg);
	return -EINVAL;
}

/* serde's "expected ..." for a list of names: `a`, `a` or `b`, one of ... */
static void json_expected_list(char *buf, size_t len, const char *const *names)
{
	size_t n = 0, off = 0;
	while (names[n])
		n++;
	if (n == 0) {
		snprintf(buf, len, "there are no fields");
		return;
	}
	off = (size_t)snprintf(buf, len, "expected %s", n > 2 ? "one of " : "");
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s`%s`",
					i == 0 ? "" : n == 2 ? " or " : ", ", names[i]);
}

/* ---- typed field access ---- */

/* Whether the integer literal s[0..n) lies beyond u64 (i64 when negative). */
static bool json_int_wide(const char *s, size_t n)
{
	bool neg = n && s[0] == '-';
	uint64_t v = 0;
	for (size_t k = neg; k < n; k++) {
		unsigned dig = (unsigned)(s[k] - '0');
		if (v > (UINT64_MAX - dig) / 10)
			return true;
		v = v * 10 + dig;
	}
	return neg && v > (uint64_t)INT64_MAX + 1;
}

/* serde's name for what the text holds at v ("string \"x\"", "integer `5`",
 * "floating point `1.5`", "boolean `true`", "null", "sequence", "map"). */
static void json_unexpected(const struct json_ctx *c, const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v) || (cJSON_IsNumber(v) && !(v->type & JSON_NUM_FLOAT))) {
		/* The literal as written: serde quotes strings, and integers
		 * keep every digit. */
		size_t a = json_start(v), n = c->text ? json_last(c, v) + 1 - a : 0;
		const char *kind = cJSON_IsString(v) ? "string " : "integer `";
		if (!c->text) {
			snprintf(buf, len, "%s", cJSON_IsString(v) ? "string" : "integer");
			return;
		}
		if (cJSON_IsNumber(v) && json_int_wide(c->text + a, n))
			goto floating; /* serde_json reads it as a float */
		snprintf(buf, len, "%s%.*s%s", kind, n > 80 ? 80 : (int)n, c->text + a,
			 cJSON_IsString(v) ? (n > 80 ? "...\"" : "") : "`");
		return;
	}
	if (cJSON_IsNumber(v)) {
floating:;
		/* Display of an f64 keeps a decimal point: `512.0`. */
		double d = v->valuedouble;
		char num[400];
		if (d == floor(d) && !isinf(d)) {
			snprintf(num, sizeof(num), "%.0f.0", d);
		} else {
			for (int prec = 1; prec <= 17; prec++) {
				snprintf(num, sizeof(num), "%.*g", prec, d);
				if (strtod(num, NULL) == d)
					break;
			}
		}
		snprintf(buf, len, "floating point `%s`", num);
		return;
	}
	if (cJSON_IsBool(v))
		snprintf(buf, len, "boolean `%s`", cJSON_IsTrue(v) ? "true" : "false");
	else if (cJSON_IsArray(v))
		snprintf(buf, len, "sequence");
	else if (cJSON_IsObject(v))
		snprintf(buf, len, "map");
	else
		snprintf(buf, len, "null");
}

/* Where serde reports a wrong value: containers where they open, the rest
 * where they end. */
static size_t json_value_pos(const struct json_ctx *c, const cJSON *v)
{
	return cJSON_IsArray(v) || cJSON_IsObject(v) ? json_start(v) : json_last(c, v);
}

/* "invalid type: <what v is>, expected <expected> at line L column C
 * (field `name`)" */
static int json_invalid(struct json_ctx *c, const cJSON *v, const char *kind, const char *name,
			const char *expected)
{
	char what[448], field[96] = "";
	json_unexpected(c, v, what, sizeof(what));
	if (name)
		snprintf(field, sizeof(field), " (field `%.64s`)", name);
	return json_deser_at(c, json_value_pos(c, v), field, "invalid %s: %s, expected %s", kind,
			     what, expected);
}

int json_check_object(struct json_ctx *c, const cJSON *obj, const char *what,
		      const char *const *allowed)
{
	char expected[512];
	if (!cJSON_IsObject(obj)) {
		snprintf(expected, sizeof(expected), "struct %s", what);
		return json_invalid(c, obj, "type", NULL, expected);
	}
	for (const cJSON *f = obj->child; f; f = f->next) {
		for (const cJSON *g = obj->child; g != f; g = g->next)
			if (strcmp(g->string, f->string) == 0)
				return json_deser_at(c, json_key_last(c, f), "",
						     "duplicate field `%.64s`", f->string);
		if (!allowed)
			continue;
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, f->string) == 0)
				ok = true;
		if (!ok) {
			json_expected_list(expected, sizeof(expected), allowed);
			return json_deser_at(c, json_key_last(c, f), "", "unknown field `%.64s`, %s",
					     f->string, expected);
		}
	}
	return 0;
}

const cJSON *json_field(const cJSON *obj, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
	return f && !cJSON_IsNull(f) ? f : NULL;
}

/* The field behind a typed getter: 1 with *f set when it is there and is(f)
 * holds, 0 when it is absent or null and not required, else -EINVAL with
 * serde's "missing field" (where the object closes) or "invalid type". */
static int json_typed(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		      cJSON_bool (*is)(const cJSON *), const char *expected, const cJSON **f)
{
	*f = json_field(obj, name);
	if (!*f) {
		if (!required)
			return 0;
		const cJSON *null = cJSON_GetObjectItemCaseSensitive(obj, name);
		if (null)
			return json_invalid(c, null, "type", name, expected);
		return json_deser_at(c, json_last(c, obj), "", "missing field `%s`", name);
	}
	if (!is(*f))
		return json_invalid(c, *f, "type", name, expected);
	return 1;
}

int json_get_str(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		 char *out, size_t outlen)
{
	const cJSON *f;
	int r = json_typed(c, obj, name, required, cJSON_IsString, "a string", &f);
	if (r <= 0)
		return r;
	if (strlen(f->valuestring) >= outlen)
		return json_fail(c, "%s: value too long (at most %zu bytes)", name, outlen - 1);
	strcpy(out, f->valuestring);
	return 1;
}

int json_get_bool(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		  bool *out)
{
	const cJSON *f;
	int r = json_typed(c, obj, name, required, cJSON_IsBool, "a boolean", &f);
	if (r <= 0)
		return r;
	*out = cJSON_IsTrue(f);
	return 1;
}

/* serde's name of the unsigned type whose maximum is max. */
static const char *json_uint_name(uint64_t max, char *buf, size_t len)
{
	if (max == UINT8_MAX)
		return "u8";
	if (max == UINT16_MAX)
		return "u16";
	if (max == UINT32_MAX)
		return "u32";
	if (max == UINT64_MAX)
		return "u64";
	snprintf(buf, len, "an integer at most %llu", (unsigned long long)max);
	return buf;
}

int json_get_u64(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		 uint64_t max, uint64_t *out)
{
	char tbuf[48];
	const char *type = json_uint_name(max, tbuf, sizeof(tbuf));
	const cJSON *f;
	int r = json_typed(c, obj, name, required, cJSON_IsNumber, type, &f);
	if (r <= 0)
		return r;
	/* serde_json: a literal with a fraction or an exponent, or an integer
	 * beyond u64 (i64 when negative), is a float: the wrong type for an
	 * integer field; a negative or too large integer is the right type
	 * with a wrong value. The digits are read exactly, not the double
	 * (which rounds above 2^53). */
	bool neg = false, wide = false;
	uint64_t v = 0;
	if (!(f->type & JSON_NUM_FLOAT) && c->text) {
		size_t a = json_start(f), e = json_last(c, f);
		neg = c->text[a] == '-';
		for (size_t k = a + neg; k <= e && k < c->len; k++) {
			unsigned dig = (unsigned)(c->text[k] - '0');
			if (v > (UINT64_MAX - dig) / 10)
				wide = true;
			v = v * 10 + dig;
		}
		if (neg && v > (uint64_t)INT64_MAX + 1)
			wide = true;
	} else if (!(f->type & JSON_NUM_FLOAT)) {
		double d = f->valuedouble; /* a tree not from json_parse() */
		neg = d < 0;
		wide = d >= 18446744073709551616.0 || d != floor(d);
		v = wide || neg ? 0 : (uint64_t)d;
	}
	if ((f->type & JSON_NUM_FLOAT) || wide)
		return json_invalid(c, f, "type", name, type);
	if ((neg && v) || v > max)
		return json_invalid(c, f, "value", name, type);
	*out = v;
	return 1;
}

int json_get_enum(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		  const char *const *names, int *out)
{
	const cJSON *f;
	int r = json_typed(c, obj, name, required, cJSON_IsString, "variant identifier", &f);
	if (r <= 0)
		return r;
	for (int i = 0; names[i]; i++) {
		if (strcmp(names[i], f->valuestring) == 0) {
			*out = i;
			return 1;
		}
	}
	char expected[256], field[96];
	json_expected_list(expected, sizeof(expected), names);
	snprintf(field, sizeof(field), " (field `%.64s`)", name);
	return json_deser_at(c, json_last(c, f), field, "unknown variant `%.64s`, %s",
			     f->valuestring, expected);
}
