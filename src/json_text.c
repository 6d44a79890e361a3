// SPDX-License-Identifier: Apache-2.0
/*
 * json_text.c - the text under json_strict.c: one pass over a request body
 * or config file with serde_json's grammar, words and positions, before
 * cJSON builds the tree; then the tree is walked beside the text so every
 * node knows where its value starts.
 *
 * May call: cJSON, utf8.c, json_strict.c's error writers.
 */
#include "src/json_text.h"
#include "src/utf8.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* serde_json's nesting limit ("recursion limit exceeded"); cJSON's own is
 * deeper, so nothing cJSON refuses reaches it. */
#define JSON_MAX_DEPTH 128

/* The position serde_json reports for the byte at off (its last consumed or
 * its peeked byte): 1-based line, and the column of that byte counted from 1
 * (0 at the start of an empty text). */
static void json_line_col(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, start = 0;
	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			start = i + 1;
		}
	}
	*line = l;
	*col = off - start + (off < len ? 1 : 0);
}

int json_deser_at(struct json_ctx *c, size_t off, const char *extra, const char *fmt, ...)
{
	char msg[JSON_ERR_LEN];
	size_t line = 1, col = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->text)
		return json_deser(c, "%s%s", msg, extra);
	json_line_col(c->text, c->len, off, &line, &col);
	return json_deser(c, "%s at line %zu column %zu%s", msg, line, col, extra);
}

struct json_scan {
	struct json_ctx *c;
	const char *s;
	size_t len, i;
};

static bool json_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static void json_skip_ws(struct json_scan *sc)
{
	while (sc->i < sc->len && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
				   sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
		sc->i++;
}

/* An error at the byte at sc->i (serde's peek_error), or at the end. */
static int json_syntax(struct json_scan *sc, const char *what)
{
	return json_deser_at(sc->c, sc->i, "", "%s", what);
}

static int json_eof(struct json_scan *sc, const char *what)
{
	return json_deser_at(sc->c, sc->len, "", "EOF while parsing %s", what);
}

static int json_hex4(struct json_scan *sc, unsigned *out)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		if (sc->i >= sc->len)
			return json_eof(sc, "a string");
		char ch = sc->s[sc->i];
		int d = json_digit(ch) ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 :
			(ch >= 'A' && ch <= 'F') ? ch - 'A' + 10 : -1;
		if (d < 0)
			return json_syntax(sc, "invalid escape");
		v = v * 16 + (unsigned)d;
		sc->i++;
	}
	*out = v;
	return 0;
}

/* A string from its opening quote to past its closing one: escapes, no
 * control characters, UTF-8 (RFC 3629), surrogates in pairs. */
static int json_scan_string(struct json_scan *sc)
{
	size_t open = sc->i++;
	for (;;) {
		if (sc->i >= sc->len)
			return json_eof(sc, "a string");
		unsigned char ch = (unsigned char)sc->s[sc->i];
		if (ch == '"') {
			sc->i++;
			break;
		}
		if (ch < 0x20)
			return json_syntax(sc, "control character (\\u0000-\\u001F) found while parsing a string");
		if (ch != '\\') {
			sc->i++;
			continue;
		}
		if (++sc->i >= sc->len)
			return json_eof(sc, "a string");
		ch = (unsigned char)sc->s[sc->i++];
		if (ch != 'u') {
			if (!strchr("\"\\/bfnrt", ch) || !ch) {
				sc->i--;
				return json_syntax(sc, "invalid escape");
			}
			continue;
		}
		unsigned u, lo;
		int r = json_hex4(sc, &u);
		if (r < 0)
			return r;
		if (u >= 0xdc00 && u <= 0xdfff) {
			sc->i--;
			return json_syntax(sc, "lone leading surrogate in hex escape");
		}
		if (u < 0xd800 || u > 0xdbff)
			continue;
		if (sc->i + 1 >= sc->len || sc->s[sc->i] != '\\' || sc->s[sc->i + 1] != 'u') {
			if (sc->i >= sc->len)
				return json_eof(sc, "a string");
			return json_syntax(sc, "unexpected end of hex escape");
		}
		sc->i += 2;
		if ((r = json_hex4(sc, &lo)) < 0)
			return r;
		if (lo < 0xdc00 || lo > 0xdfff) {
			sc->i--;
			return json_syntax(sc, "lone leading surrogate in hex escape");
		}
	}
	/* cJSON passes invalid UTF-8 through; serde refuses it (and reports
	 * it where the string ends). */
	size_t n = sc->i - open;
	if (utf8_valid_prefix(sc->s + open, n) < n)
		return json_deser_at(sc->c, sc->i - 1, "", "invalid unicode code point");
	return 0;
}

/* RFC 8259's number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? (cJSON's
 * strtod would also take "00512", "1." or "0x10"). */
static int json_scan_number_syntax(struct json_scan *sc);

/* A number: its syntax, then its value as serde_json reads it (a double
 * unless it is an integer that fits 64 bits) must be finite. */
static int json_scan_number(struct json_scan *sc)
{
	size_t start = sc->i;
	int r = json_scan_number_syntax(sc);
	size_t n = sc->i - start;
	if (r < 0 || (n <= 19 && !memchr(sc->s + start, 'e', n) && !memchr(sc->s + start, 'E', n)))
		return r;
	char *tok = strndup(sc->s + start, n);
	if (!tok)
		return json_fail(sc->c, "out of memory");
	bool inf = isinf(strtod(tok, NULL));
	free(tok);
	if (inf)
		return json_deser_at(sc->c, sc->i - 1, "", "number out of range");
	return 0;
}

static int json_scan_number_syntax(struct json_scan *sc)
{
	const char *s = sc->s;
	if (s[sc->i] == '-')
		sc->i++;
	if (sc->i >= sc->len)
		return json_eof(sc, "a value");
	if (!json_digit(s[sc->i]))
		return json_syntax(sc, "invalid number");
	if (s[sc->i++] == '0') {
		if (sc->i < sc->len && json_digit(s[sc->i]))
			return json_syntax(sc, "invalid number");
	} else {
		while (sc->i < sc->len && json_digit(s[sc->i]))
			sc->i++;
	}
	if (sc->i < sc->len && s[sc->i] == '.') {
		if (++sc->i >= sc->len)
			return json_eof(sc, "a value");
		if (!json_digit(s[sc->i]))
			return json_syntax(sc, "invalid number");
		while (sc->i < sc->len && json_digit(s[sc->i]))
			sc->i++;
	}
	if (sc->i < sc->len && (s[sc->i] == 'e' || s[sc->i] == 'E')) {
		sc->i++;
		if (sc->i < sc->len && (s[sc->i] == '+' || s[sc->i] == '-'))
			sc->i++;
		if (sc->i >= sc->len)
			return json_eof(sc, "a value");
		if (!json_digit(s[sc->i]))
			return json_syntax(sc, "invalid number");
		while (sc->i < sc->len && json_digit(s[sc->i]))
			sc->i++;
	}
	return 0;
}

static int json_scan_ident(struct json_scan *sc, const char *word)
{
	for (size_t k = 0; word[k]; k++, sc->i++) {
		if (sc->i >= sc->len)
			return json_eof(sc, "a value");
		if (sc->s[sc->i] != word[k])
			return json_syntax(sc, "expected ident");
	}
	return 0;
}

static int json_scan_value(struct json_scan *sc, int depth);

/* An array or an object from its bracket to past the closing one. */
static int json_scan_container(struct json_scan *sc, int depth)
{
	bool obj = sc->s[sc->i] == '{';
	char close = obj ? '}' : ']';
	const char *what = obj ? "an object" : "a list";
	int r;

	if (depth >= JSON_MAX_DEPTH)
		return json_syntax(sc, "recursion limit exceeded");
	sc->i++;
	json_skip_ws(sc);
	if (sc->i < sc->len && sc->s[sc->i] == close) {
		sc->i++;
		return 0;
	}
	for (;;) {
		json_skip_ws(sc);
		if (sc->i >= sc->len)
			return json_eof(sc, what);
		if (obj) {
			if (sc->s[sc->i] != '"')
				return json_syntax(sc, sc->s[sc->i] == '}' ? "trailing comma" :
						   "key must be a string");
			if ((r = json_scan_string(sc)) < 0)
				return r;
			json_skip_ws(sc);
			if (sc->i >= sc->len)
				return json_eof(sc, what);
			if (sc->s[sc->i] != ':')
				return json_syntax(sc, "expected `:`");
			sc->i++;
		} else if (sc->s[sc->i] == ']') {
			return json_syntax(sc, "trailing comma");
		}
		if ((r = json_scan_value(sc, depth + 1)) < 0)
			return r;
		json_skip_ws(sc);
		if (sc->i >= sc->len)
			return json_eof(sc, what);
		if (sc->s[sc->i] == close) {
			sc->i++;
			return 0;
		}
		if (sc->s[sc->i] != ',')
			return json_syntax(sc, obj ? "expected `,` or `}`" : "expected `,` or `]`");
		sc->i++;
	}
}

static int json_scan_value(struct json_scan *sc, int depth)
{
	json_skip_ws(sc);
	if (sc->i >= sc->len)
		return json_eof(sc, "a value");
	switch (sc->s[sc->i]) {
	case '{':
	case '[':
		return json_scan_container(sc, depth);
	case '"':
		return json_scan_string(sc);
	case 't':
		return json_scan_ident(sc, "true");
	case 'f':
		return json_scan_ident(sc, "false");
	case 'n':
		return json_scan_ident(sc, "null");
	default:
		if (sc->s[sc->i] == '-' || json_digit(sc->s[sc->i]))
			return json_scan_number(sc);
		return json_syntax(sc, "expected value");
	}
}

/* The end of the token or container that starts at off in a text that
 * json_scan_value() accepted (past its last byte). */
static size_t json_skip_value(const char *s, size_t len, size_t off)
{
	if (off >= len)
		return len;
	char ch = s[off];
	if (ch == '"') {
		for (off++; off < len && s[off] != '"'; off++)
			if (s[off] == '\\')
				off++;
		return off + 1;
	}
	if (ch == '{' || ch == '[') {
		int depth = 0;
		for (; off < len; off++) {
			if (s[off] == '"') {
				off = json_skip_value(s, len, off) - 1;
			} else if (s[off] == '{' || s[off] == '[') {
				depth++;
			} else if ((s[off] == '}' || s[off] == ']') && --depth == 0) {
				return off + 1;
			}
		}
		return len;
	}
	while (off < len && !strchr(" \t\r\n,:]}", s[off]))
		off++;
	return off;
}

static size_t json_skip_ws_at(const char *s, size_t len, size_t off)
{
	while (off < len && strchr(" \t\r\n", s[off]))
		off++;
	return off;
}

/* Give every node of the tree the offset where its value starts (in
 * valueint, which ember never reads: numbers are read from valuedouble) and
 * tag numbers written with a fraction or an exponent. The tree and the text
 * are walked together: cJSON keeps members and elements in text order. */
static size_t json_locate(cJSON *v, const char *s, size_t len, size_t off)
{
	off = json_skip_ws_at(s, len, off);
	v->valueint = (int)off;
	if (cJSON_IsNumber(v)) {
		size_t end = json_skip_value(s, len, off);
		for (size_t k = off; k < end; k++)
			if (s[k] == '.' || s[k] == 'e' || s[k] == 'E')
				v->type |= JSON_NUM_FLOAT;
		return end;
	}
	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		return json_skip_value(s, len, off);
	off++; /* the bracket */
	for (cJSON *ch = v->child; ch; ch = ch->next) {
		off = json_skip_ws_at(s, len, off);
		if (cJSON_IsObject(v)) {
			off = json_skip_value(s, len, off);	/* the key */
			off = json_skip_ws_at(s, len, off) + 1;	/* the colon */
		}
		off = json_locate(ch, s, len, off);
		off = json_skip_ws_at(s, len, off);
		if (off < len && s[off] == ',')
			off++;
	}
	return json_skip_value(s, len, (size_t)v->valueint);
}

cJSON *json_parse(struct json_ctx *c, const char *text, size_t len)
{
	struct json_scan sc = { .c = c, .s = text, .len = len };

	c->text = text;
	c->len = len;
	if (json_scan_value(&sc, 0) < 0)
		return NULL;
	json_skip_ws(&sc);
	if (sc.i < len) {
		json_syntax(&sc, "trailing characters");
		return NULL;
	}
	if (len > INT_MAX) {
		json_fail(c, "the JSON text is too long");
		return NULL;
	}
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!o) {
		/* The grammar above is JSON's: cJSON refuses only what it cannot
		 * hold (memory, a "\u0000" it cannot decode). */
		json_deser_at(c, end && end >= text ? (size_t)(end - text) : 0, "",
			      "invalid JSON");
		return NULL;
	}
	json_locate(o, text, len, 0);
	return o;
}

size_t json_start(const cJSON *v)
{
	return v->valueint > 0 ? (size_t)v->valueint : 0;
}

size_t json_last(const struct json_ctx *c, const cJSON *v)
{
	if (!c->text)
		return 0;
	size_t end = json_skip_value(c->text, c->len, json_start(v));
	return end ? end - 1 : 0;
}

size_t json_key_last(const struct json_ctx *c, const cJSON *member)
{
	size_t k = json_start(member);
	if (!c->text)
		return 0;
	while (k > 0 && c->text[k] != ':')	/* back over blanks to the colon */
		k--;
	while (k > 0 && c->text[k] != '"')	/* and to the key's closing quote */
		k--;
	return k;
}
