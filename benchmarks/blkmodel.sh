#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/blkmodel.sh OUTDIR - benchmark 5b: the virtio-blk device model
# alone, host-only (no KVM): build/bench/blkmodel (benchmarks/src/blkmodel.c,
# linked with build/libember.a and the unit tests' fake guest memory) drives
# ember's virtio-blk through the virtio-mmio transport with synthetic split
# rings against a page-cached file on /dev/shm, and times plain
# preadv/pwritev of the same sizes at the same offsets in the same run.
# Appends records (bench=blkmodel) to OUTDIR/blkmodel.jsonl.
#   BENCH_BLKMODEL_SECS (0.5): seconds per round; 3 rounds per case and side
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: blkmodel.sh OUTDIR}
mkdir -p "$OUT"
ROOT=$REPO
make -C "$ROOT" -s build/libember.a || bench_die "cannot build build/libember.a"
mkdir -p "$TOOLS"
${CC:-cc} -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wno-unused-parameter -pthread \
	-iquote "$ROOT/src" -iquote "$ROOT/virtio" -iquote "$ROOT/tests/unit" \
	$(pkg-config --cflags libcjson) -o "$TOOLS/blkmodel" "$BENCH_DIR/src/blkmodel.c" \
	"$ROOT/tests/unit/vq_fake.c" "$ROOT/build/libember.a" $(pkg-config --libs libseccomp libcjson) ||
	bench_die "cannot compile blkmodel"
"$TOOLS/blkmodel" -t "${BENCH_BLKMODEL_SECS:-0.5}" >"$OUT/blkmodel.txt" || bench_die "blkmodel failed"
grep '^{' "$OUT/blkmodel.txt" >>"$OUT/blkmodel.jsonl"
grep '^|' "$OUT/blkmodel.txt" >&2
