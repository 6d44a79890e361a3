/* SPDX-License-Identifier: Apache-2.0 */
/*
 * utf8.h - strict UTF-8 validation (RFC 3629) for API bodies and config
 * files: JSON text must be UTF-8 (RFC 8259 section 8.1), and Firecracker
 * (serde_json) refuses anything else, while cJSON copies string bytes as
 * they are.
 */
#ifndef EMBER_UTF8_H
#define EMBER_UTF8_H

#include <stddef.h>

/* Length of the longest valid UTF-8 prefix of s[0..len): len when all of it
 * is valid. Overlong forms, surrogates (U+D800..DFFF), code points above
 * U+10FFFF and truncated sequences are invalid. NUL bytes are valid here. */
size_t utf8_valid_prefix(const char *s, size_t len);

/* Make the NUL-terminated s valid UTF-8 in place: every byte that does not
 * start a valid sequence becomes '?'. For messages that quote client bytes
 * (a JSON response must be UTF-8). */
void utf8_sanitize(char *s);

#endif
