// SPDX-License-Identifier: Apache-2.0
#include "src/utf8.h"

#include <stdint.h>
#include <string.h>

size_t utf8_valid_prefix(const char *str, size_t len)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint8_t lo = 0x80, hi = 0xbf;   /* allowed range of the 2nd byte */

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
			if (c == 0xe0)
				lo = 0xa0;         /* overlong */
			else if (c == 0xed)
				hi = 0x9f;         /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			if (c == 0xf0)
				lo = 0x90;         /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;         /* above U+10FFFF */
		} else {
			return i;                  /* 0x80..0xc1, 0xf5..0xff */
		}
		if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k < n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return i;
		i += n;
	}
	return len;
}

void utf8_sanitize(char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		i += utf8_valid_prefix(s + i, len - i);
		if (i < len)
			s[i++] = '?';
	}
}
