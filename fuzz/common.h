/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common.h - shared pieces of the libFuzzer harnesses (fuzz/fuzz_*.c).
 *
 * fz_*: a cursor over the fuzzer's input; reads past the end return zeros,
 * so every input is valid. fuzz_memfd(): an anonymous file holding bytes.
 * fuzz_sandbox_init(): quiet logging and the sandbox directory
 * FUZZ_SANDBOX that the wrapped config/log/metrics calls are confined to
 * (see the --wrap list in fuzz/fuzz.mk).
 */
#ifndef EMBER_FUZZ_COMMON_H
#define EMBER_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_SANDBOX "/tmp/ember-fuzz"

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)(fz_u8(f) | (uint16_t)fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	return (uint64_t)fz_u32(f) | (uint64_t)fz_u32(f) << 32;
}

/* Take up to len bytes; returns how many were taken (*out points at them). */
static inline size_t fz_take(struct fz *f, size_t len, const uint8_t **out)
{
	if (len > f->n)
		len = f->n;
	*out = f->p;
	f->p += len;
	f->n -= len;
	return len;
}

/* An O_RDWR memfd holding data[0..len). Aborts on failure (host problem). */
int fuzz_memfd(const char *name, const void *data, size_t len);

/* Logging off (lines still formatted into /dev/null at LOG_TRACE when
 * verbose_logs), sandbox directory with files kernel, initrd, disk0..3. */
void fuzz_sandbox_init(int verbose_logs);

#endif
