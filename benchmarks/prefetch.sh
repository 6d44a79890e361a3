#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/prefetch.sh OUTDIR - benchmark 8: restored clones with
# working-set prefetch against lazy restores and cold boots; clone density;
# page-cache sharing (benchmarks/prefetch.py says what is timed). Needs
# /dev/kvm:
#   tests/testbed/run.sh -- benchmarks/prefetch.sh /tmp/out
# Writes OUTDIR/prefetch.jsonl, OUTDIR/prefetch.md and OUTDIR/logs/prefetch-*.
# BENCH_PREFETCH_N (3) runs, BENCH_CLONES (8), BENCH_PREFETCH_MEM_MIB (256) MiB guests.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
bench_py_setup prefetch "${1:-}"
export EMBER K_VMLINUX INITRD BENCH_PREFETCH_MEM_MIB BENCH_WORK=$WORK
python3 "$HERE/prefetch.py" "$OUT"
