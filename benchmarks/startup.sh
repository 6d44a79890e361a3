#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/startup.sh OUTDIR - benchmark 2: process start -> API socket accepting.
#
# Needs no KVM (ember opens /dev/kvm only at InstanceStart), so it runs on
# this host directly. BENCH_STARTUP_N (default 30) runs of
# `ember --api-sock S` (default seccomp filters): wall time from fork to the
# first successful connect(), and ember's CPU time at that moment (schedstat).
# For scale, the same host's floor: fork+exec+exit of /bin/true and of
# `ember --version` (dynamic loading included). Firecracker's published
# figure (8 CPU ms, ~12 ms wall) is quoted as a reference only.
# Appends records (bench=startup, what=api|version|true) to OUTDIR/startup.jsonl.
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: startup.sh OUTDIR}
mkdir -p "$OUT"
bench_build_tools
N=${BENCH_STARTUP_N:-30}
SOCK=$(mktemp -u "${TMPDIR:-/tmp}/ember-bench-startup.XXXXXX.sock")
# Warm the page cache first.
"$TOOLS/startup" -n 3 -s "$SOCK" -- "$EMBER" --api-sock '{sock}' >/dev/null
"$TOOLS/startup" -n "$N" -s "$SOCK" -- "$EMBER" --api-sock '{sock}' |
	bench_tag bench=startup what=api >>"$OUT/startup.jsonl" || bench_say "startup: a run failed"
"$TOOLS/startup" -n "$N" -x -- "$EMBER" --version | bench_tag bench=startup what=version >>"$OUT/startup.jsonl"
"$TOOLS/startup" -n "$N" -x -- /bin/true | bench_tag bench=startup what=true >>"$OUT/startup.jsonl"
bench_say "startup: $N runs each done"
