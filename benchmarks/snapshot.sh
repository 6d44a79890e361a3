#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/snapshot.sh OUTDIR - benchmark 7: snapshot restore latency,
# ember vs ember's cold boot vs QEMU microvm restoring the same guest from a
# migration file (benchmarks/snapshot.py says what is timed). Needs /dev/kvm:
#   tests/testbed/run.sh -- benchmarks/snapshot.sh /tmp/out
# Writes OUTDIR/snapshot.jsonl, OUTDIR/snapshot.md and OUTDIR/logs/snapshot-*.
# BENCH_SNAPSHOT_N (5) runs, BENCH_MEM_MIB (128) MiB guests.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
bench_py_setup snapshot "${1:-}"
export EMBER QEMU K_VMLINUX INITRD BENCH_MEM_MIB BENCH_WORK=$WORK
python3 "$HERE/snapshot.py" "$OUT"
