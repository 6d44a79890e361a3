#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/kvm.sh OUTDIR - the benchmarks that need /dev/kvm, in one go:
# boot, memory, density, I/O (each can be skipped: BENCH_SKIP="io density").
# benchmarks/run.sh runs this inside one test-bed invocation, so ember and
# QEMU are measured side by side on the same (possibly emulated) KVM host.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: kvm.sh OUTDIR}
mkdir -p "$OUT"
. "$HERE/lib.sh"
{
	echo "{\"testbed\":\"$(bench_host_kind)\",\"kernel\":\"$(uname -r)\",\"cpus\":$(nproc),"
	echo "\"cpu_model\":\"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)\","
	echo "\"mem_kib\":$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo),"
	echo "\"qemu\":\"$("$QEMU" --version | head -1)\"}"
} | tr -d '\n' >"$OUT/kvmhost.json"
echo >>"$OUT/kvmhost.json"
rc=0
for b in boot memory density io; do
	case " ${BENCH_SKIP:-} " in *" $b "*) bench_say "$b: skipped (BENCH_SKIP)"; continue ;; esac
	bench_say "=== $b"
	start=$(date +%s)
	"$HERE/$b.sh" "$OUT" || { bench_say "$b failed"; rc=1; }
	echo "{\"bench\":\"$b\",\"seconds\":$(( $(date +%s) - start ))}" >>"$OUT/durations.jsonl"
done
exit $rc
