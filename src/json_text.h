/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_text.h - what json_strict.c needs of the text a tree came from
 * (json_text.c): where each node's value lies, and errors at a position.
 * json_parse() itself is declared in json_strict.h. Nothing else includes
 * this header.
 */
#ifndef EMBER_JSON_TEXT_H
#define EMBER_JSON_TEXT_H

#include "src/json_strict.h"

/* A number node whose literal had a fraction or an exponent ("512.0",
 * "5.12e2"): serde refuses those for integer fields even when the value is
 * whole. A bit of cJSON's type word cJSON itself never uses. */
#define JSON_NUM_FLOAT (1 << 14)

/* A deserialization error at the byte at off of c->text: serde's sentence,
 * then its " at line L column C" (the column of that byte), then ember's
 * words extra (may be ""). Without c->text, no position. Returns -EINVAL. */
int json_deser_at(struct json_ctx *c, size_t off, const char *extra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Where node v's value starts in c->text, where it ends (its last byte), and
 * where the key of an object member ends (its closing quote). */
size_t json_start(const cJSON *v);
size_t json_last(const struct json_ctx *c, const cJSON *v);
size_t json_key_last(const struct json_ctx *c, const cJSON *member);

#endif
