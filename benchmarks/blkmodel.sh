#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/blkmodel.sh OUTDIR - benchmark 5b: the virtio-blk device model
# alone, host-only (no KVM): build/bench/blkmodel (benchmarks/src/blkmodel.c,
# linked with build/libember.a and the unit tests' fake guest memory; built by
# `make build/bench/blkmodel`) drives ember's virtio-blk through the
# virtio-mmio transport with synthetic split rings against a page-cached file
# on /dev/shm, and times plain preadv/pwritev of the same sizes at the same
# offsets in the same run; each case with io_engine Sync and Async side by
# side. Then 4 KiB random reads, 32 in flight, Sync vs Async, on a file of
# build/bench/ (a disk file system, not tmpfs) dropped from the page cache
# before every round.
# Appends records (bench=blkmodel) to OUTDIR/blkmodel.jsonl.
#   BENCH_BLKMODEL_SECS (0.5): seconds per round; 3 rounds per case and side
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: blkmodel.sh OUTDIR}
mkdir -p "$OUT"
bench_build_tools blkmodel
"$TOOLS/blkmodel" -t "${BENCH_BLKMODEL_SECS:-0.5}" -c "${BENCH_BLKMODEL_COLD:-$REPO/build/bench/blkmodel-cold.img}" \
	>"$OUT/blkmodel.txt" || bench_die "blkmodel failed"
grep '^{' "$OUT/blkmodel.txt" >>"$OUT/blkmodel.jsonl"
grep '^|' "$OUT/blkmodel.txt" >&2
