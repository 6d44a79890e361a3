// SPDX-License-Identifier: Apache-2.0
/*
 * json_strict.c - strict JSON intake for the API and --config-file: UTF-8
 * and RFC 8259 number checks in front of cJSON, floats told from integers,
 * typed field access with serde's error wording.
 *
 * May call: cJSON, utf8.c. Nothing else of ember: it knows neither the API
 * nor struct vm_config.
 */
#include "src/json_strict.h"
#include "src/utf8.h"
#include "src/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char JSON_DESER_PREFIX[] =
	"An error occurred when deserializing the json body of a request: ";

/* A number node whose literal had a fraction or an exponent ("512.0",
 * "5.12e2"): serde refuses those for integer fields even when the value is
 * whole. A bit of cJSON's type word cJSON itself never uses. */
#define JSON_NUM_FLOAT (1 << 14)

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

/* ---- the text: one pass over its number tokens ---- */

/* The number tokens of a text in document order: how many there are, and
 * the indices of those written with '.', 'e' or 'E' (rare: the list is
 * usually empty and never allocated). */
struct json_numbers {
	size_t count;
	size_t *floats;
	size_t nfloats, cap;
};

static bool json_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* The characters cJSON hands to strtod. */
static bool json_number_char(char ch)
{
	return json_digit(ch) || ch == '-' || ch == '+' || ch == '.' || ch == 'e' || ch == 'E';
}

/* Whether s[0..n) is -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number_ok(const char *s, size_t n)
{
	size_t j = 0, d;

	if (s[j] == '-')
		j++;
	if (j >= n || !json_digit(s[j]))
		return false;
	if (s[j] == '0') {
		j++;
	} else {
		while (j < n && json_digit(s[j]))
			j++;
	}
	if (j < n && s[j] == '.') {
		d = ++j;
		while (j < n && json_digit(s[j]))
			j++;
		if (j == d)
			return false;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		j++;
		if (j < n && (s[j] == '+' || s[j] == '-'))
			j++;
		d = j;
		while (j < n && json_digit(s[j]))
			j++;
		if (j == d)
			return false;
	}
	return j == n;
}

static int json_numbers_add_float(struct json_numbers *nums)
{
	if (nums->nfloats == nums->cap) {
		size_t cap = nums->cap ? nums->cap * 2 : 16;
		size_t *f = realloc(nums->floats, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		nums->floats = f;
		nums->cap = cap;
	}
	nums->floats[nums->nfloats++] = nums->count;
	return 0;
}

/* cJSON reads numbers with strtod, which takes what RFC 8259 (and serde)
 * refuse: leading zeros ("00512", "-01"), "1.", "1.e5". A number token is
 * the longest run of strtod's characters that starts, outside a string,
 * with '-' or a digit. Checks each against the grammar and records it in
 * nums. Returns 0, -EINVAL with *bad = the offset of the first bad token,
 * or -ENOMEM. */
static int json_scan_numbers(const char *s, size_t len, struct json_numbers *nums, size_t *bad)
{
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
			continue;
		}
		if (ch != '-' && !json_digit(ch))
			continue;
		size_t end = i;
		bool is_float = false;
		for (; end < len && json_number_char(s[end]); end++)
			if (s[end] == '.' || s[end] == 'e' || s[end] == 'E')
				is_float = true;
		if (!json_number_ok(s + i, end - i)) {
			*bad = i;
			return -EINVAL;
		}
		if (is_float && json_numbers_add_float(nums) < 0)
			return -ENOMEM;
		nums->count++;
		i = end - 1;
	}
	return 0;
}

/* Tag the number nodes written as floats. The text parsed as a whole and its
 * number tokens start outside strings, so they are the tree's number nodes
 * in document order; *k counts the nodes seen, *next indexes nums->floats. */
static void json_mark_floats(cJSON *v, const struct json_numbers *nums, size_t *k, size_t *next)
{
	for (; v && *next < nums->nfloats; v = v->next) {
		if (cJSON_IsNumber(v)) {
			if (nums->floats[*next] == *k) {
				v->type |= JSON_NUM_FLOAT;
				(*next)++;
			}
			(*k)++;
		} else if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
			json_mark_floats(v->child, nums, k, next);
		}
	}
}

cJSON *json_parse(struct json_ctx *c, const char *text, size_t len)
{
	struct json_numbers nums = { 0 };
	const char *end = NULL;
	cJSON *o = NULL;
	size_t bad, k = 0, next = 0;
	int r;

	/* cJSON passes invalid UTF-8 through; Firecracker (serde) refuses it. */
	bad = utf8_valid_prefix(text, len);
	if (bad < len) {
		json_deser(c, "invalid unicode code point at byte %zu", bad);
		return NULL;
	}
	r = json_scan_numbers(text, len, &nums, &bad);
	if (r == -ENOMEM) {
		json_fail(c, "out of memory");
		goto out;
	}
	if (r < 0) {
		json_deser(c, "invalid number at byte %zu", bad);
		goto out;
	}
	o = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!o) {
		json_deser(c, "invalid JSON at byte %zu",
			   end && end >= text ? (size_t)(end - text) : (size_t)0);
		goto out;
	}
	for (; end && end < text + len; end++) {
		if (*end != ' ' && *end != '\t' && *end != '\r' && *end != '\n') {
			json_deser(c, "trailing characters at byte %zu", (size_t)(end - text));
			cJSON_Delete(o);
			o = NULL;
			goto out;
		}
	}
	json_mark_floats(o, &nums, &k, &next);
out:
	free(nums.floats);
	return o;
}

/* ---- typed field access ---- */

int json_check_object(struct json_ctx *c, const cJSON *obj, const char *what,
		      const char *const *allowed)
{
	if (!cJSON_IsObject(obj))
		return json_deser(c, "invalid type: expected struct %s", what);
	for (const cJSON *f = obj->child; f; f = f->next) {
		for (const cJSON *g = obj->child; g != f; g = g->next)
			if (strcmp(g->string, f->string) == 0)
				return json_deser(c, "duplicate field `%s`", f->string);
		if (!allowed)
			continue;
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, f->string) == 0)
				ok = true;
		if (!ok) {
			char list[512] = "";
			size_t off = 0;
			for (const char *const *a = allowed; *a && off < sizeof(list); a++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s`%s`",
							a == allowed ? "" : ", ", *a);
			return json_deser(c, "unknown field `%s`, expected one of %s", f->string,
					  list);
		}
	}
	return 0;
}

const cJSON *json_field(const cJSON *obj, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
	return f && !cJSON_IsNull(f) ? f : NULL;
}

static const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsArray(v))
		return "sequence";
	if (cJSON_IsObject(v))
		return "map";
	return "null";
}

static int json_missing(struct json_ctx *c, const cJSON *obj, const char *name)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, name)) /* present but null */
		return json_deser(c, "invalid type: null for field `%s`", name);
	return json_deser(c, "missing field `%s`", name);
}

/* The field behind a typed getter: 1 with *f set when it is there and is(f)
 * holds, 0 when it is absent or null and not required, else -EINVAL with
 * serde's "missing field" or "invalid type ... expected <expected>". */
static int json_typed(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		      cJSON_bool (*is)(const cJSON *), const char *expected, const cJSON **f)
{
	*f = json_field(obj, name);
	if (!*f)
		return required ? json_missing(c, obj, name) : 0;
	if (!is(*f))
		return json_deser(c, "invalid type: %s for field `%s`, expected %s",
				  json_type_name(*f), name, expected);
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

int json_get_u64(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		 uint64_t max, uint64_t *out)
{
	const cJSON *f;
	int r = json_typed(c, obj, name, required, cJSON_IsNumber, "an integer", &f);
	if (r <= 0)
		return r;
	double d = f->valuedouble;
	if (f->type & JSON_NUM_FLOAT) {
		/* serde: "floating point `512.0`" (Display keeps a decimal point) */
		char num[64];
		snprintf(num, sizeof(num), "%.17g", d);
		if (!strpbrk(num, ".eEin"))
			strcat(num, ".0");
		return json_deser(c, "invalid type: floating point `%s` for field `%s`, expected "
				  "an integer", num, name);
	}
	if (d < 0 || d != floor(d))
		return json_deser(c, "invalid value: %g for field `%s`, expected a non-negative "
				  "integer", d, name);
	if (d > (double)max)
		return json_deser(c, "invalid value: %g for field `%s`, expected at most %llu",
				  d, name, (unsigned long long)max);
	*out = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
	return 1;
}

int json_get_enum(struct json_ctx *c, const cJSON *obj, const char *name, bool required,
		  const char *const *names, int *out)
{
	char v[64];
	int r = json_get_str(c, obj, name, required, v, sizeof(v));
	if (r <= 0) {
		if (r < 0 && cJSON_IsString(json_field(obj, name)))
			goto unknown; /* too long: cannot be a variant */
		return r;
	}
	for (int i = 0; names[i]; i++) {
		if (strcmp(names[i], v) == 0) {
			*out = i;
			return 1;
		}
	}
unknown:;
	char list[256] = "";
	size_t off = 0;
	for (int i = 0; names[i] && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s`%s`",
					i ? ", " : "", names[i]);
	return json_deser(c, "unknown variant `%.64s` for field `%s`, expected one of %s",
			  json_field(obj, name)->valuestring, name, list);
}
