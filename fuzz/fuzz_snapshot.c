// SPDX-License-Identifier: Apache-2.0
/* The snapshot state file reader: snap_parse() on the input as a whole
 * file, then every section it accepted read with a field sequence drawn from
 * the section's own first bytes (ints, blobs, text, counts), then the whole
 * decoder of ember's sections (snapshot_state_decode). Checks: an error
 * always comes with a message; an accepted file's sections lie inside it;
 * a reader never hands out bytes outside its section. */
#include "fuzz/common.h"
#include "src/log.h"
#include "src/snapshot.h"
#include "src/snapshot_state.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_OFF);
	return 0;
}

static void read_section(const struct snap_file *f, const struct snap_section *s)
{
	struct snap_reader r;
	char err[SNAP_ERR_LEN], text[64];
	uint8_t fixed[32];
	snap_r_init(&r, f, s, "S");
	const uint8_t *sec = f->buf + s->off;
	for (unsigned i = 0; i < 64 && !r.bad; i++) {
		uint32_t len;
		const uint8_t *p;
		switch (sec[i % (s->len ? s->len : 1)] % 8) {
		case 0: snap_r_u8(&r, "u8"); break;
		case 1: snap_r_u16(&r, "u16"); break;
		case 2: snap_r_u32(&r, "u32"); break;
		case 3: snap_r_u64(&r, "u64"); break;
		case 4: snap_r_bool(&r, "bool"); break;
		case 5: snap_r_str(&r, "str", text, sizeof(text)); break;
		case 6:
			p = snap_r_blob(&r, "blob", 4096, &len);
			if (p && (p < sec || p + len > sec + s->len))
				abort();
			break;
		default: snap_r_blob_exact(&r, "fixed", fixed, sizeof(fixed)); break;
		}
	}
	if (snap_r_done(&r, err, sizeof(err)) < 0 && !err[0])
		abort();
}

/* decode, encode, decode, encode: the two encodings are the same bytes. */
static void decode_roundtrip(const uint8_t *data, size_t size)
{
	static struct snapshot_state a, b;
	char err[SNAP_ERR_LEN] = "";
	uint8_t *e1 = NULL, *e2 = NULL;
	size_t l1, l2;
	if (snapshot_state_decode(data, size, &a, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();
		return;
	}
	if (snapshot_state_encode(&a, &e1, &l1, err, sizeof(err)) < 0 ||
	    snapshot_state_decode(e1, l1, &b, err, sizeof(err)) < 0 ||
	    snapshot_state_encode(&b, &e2, &l2, err, sizeof(err)) < 0 || l1 != l2 ||
	    memcmp(e1, e2, l1) != 0)
		abort();
	snapshot_state_free(&a);
	snapshot_state_free(&b);
	free(e1);
	free(e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snap_file f;
	char err[SNAP_ERR_LEN] = "";
	if (size > SNAP_MAX_FILE)
		return 0;
	if (snap_parse(data, size, &f, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();
		return 0;
	}
	for (unsigned i = 0; i < f.nsec; i++) {
		if (f.sec[i].off > size || f.sec[i].len > size - f.sec[i].off)
			abort();
		read_section(&f, &f.sec[i]);
	}
	decode_roundtrip(data, size);
	return 0;
}
