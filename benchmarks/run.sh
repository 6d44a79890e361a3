#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/run.sh - the whole benchmark suite (`make bench` runs it after
# `make all guest`). Results go to benchmarks/results/<UTC timestamp>/:
#   results.json, report.md, boot.png, phases.png, the raw *.jsonl records and
#   logs/ (every console and ember log).
#
#   1 boot, 3 memory, 4 density, 5 I/O: need /dev/kvm, so they run in ONE
#     test-bed invocation (tests/testbed/run.sh: directly on real KVM, else
#     inside the emulated KVM host), ember and QEMU microvm interleaved.
#   2 start-up, 6 API: need no KVM and run directly on this machine.
#
# Environment (all optional):
#   BENCH_N=10              boots per VMM and kernel (boot benchmark)
#   BENCH_CLOUD_N           boots of the Debian cloud kernel (default 2: ~50 s each emulated; 0 skips)
#   BENCH_SKIP="io api"     benchmarks to leave out (boot startup memory density io api blkmodel)
#   BENCH_MEMORY_N=2  BENCH_DENSITY_N=8  BENCH_DENSITY_RUNS=1  BENCH_IO_N=4
#   BENCH_IO_MB=32  BENCH_STARTUP_N=30  BENCH_API_REQUESTS=5000  BENCH_API_ROUNDS=3
#   BENCH_EMBER_ARGS        extra ember flags for the guest runs (e.g. --no-seccomp)
#   BENCH_OUT=DIR           result directory instead of results/<timestamp>
#   BENCH_UPDATE_README=1   copy the figures into benchmarks/README.md
#   BENCH_BOOT_BUDGET=600   seconds after which boot.sh starts no new run (busy machines)
#   BENCH_BOOT_CMDLINES="plain tuned"  boot command lines (lib.sh: BENCH_PLAIN_CMDLINE, BENCH_TUNED_CMDLINE)
#   BENCH_QEMU_FAST         QEMU microvm machine options (default x-option-roms=off,pit=off,pic=off,rtc=off)
#   BENCH_TESTBED_TIMEOUT   seconds for the test-bed part (default 2400)
# Exit status: 0 when every benchmark ran (a MISSED target is a finding, not
# an error), 1 when one failed to run.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$(dirname "$HERE")" || exit 1
. "$HERE/lib.sh"
export BENCH_CLOUD_N=${BENCH_CLOUD_N:-2}

[ -x "$EMBER" ] || bench_die "$EMBER not built: run 'make' first"
bench_build_tools
bench_load_guest
OUT=${BENCH_OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
skip() { case " ${BENCH_SKIP:-} " in *" $1 "*) return 0 ;; esac; return 1; }
rc=0
started=$(date +%s)

# The machine the figures come from.
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
{
	printf '{"cpu_model":"%s","cpus":%s,' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(nproc)"
	printf '"mem_mib":%s,' $(( $(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024 ))
	printf '"os":"%s","kernel":"%s","hypervisor":%s,' "$os" "$(uname -r)" \
		"$(grep -qw hypervisor /proc/cpuinfo && echo true || echo false)"
	printf '"loadavg":"%s","git":"%s",' "$(cut -d' ' -f1-3 /proc/loadavg)" \
		"$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src virtio 2>/dev/null || echo +dirty)"
	printf '"testbed_mode":"%s","bench_n":%s,"mem_mib_guest":%s}\n' \
		"$(tests/testbed/run.sh --check | cut -d' ' -f1)" "$BENCH_N" "$BENCH_MEM_MIB"
} >"$OUT/machine.json"
bench_say "results: $OUT"
bench_say "test bed: $(tests/testbed/run.sh --check)"

# 2 and 6: no KVM needed, measured on this machine.
if ! skip startup; then
	bench_say "=== startup"
	"$HERE/startup.sh" "$OUT" || rc=1
fi
if ! skip api; then
	bench_say "=== api"
	"$HERE/api.sh" "$OUT" || rc=1
fi
if ! skip blkmodel; then
	bench_say "=== blkmodel"
	"$HERE/blkmodel.sh" "$OUT" || rc=1
fi

# 1, 3, 4, 5: one test-bed invocation.
envs=()
for v in $(env | sed -n 's/^\(BENCH_[A-Z0-9_]*\)=.*/\1/p'); do
	envs+=(--env "$v")
done
kvm_skip=""
for b in boot memory density io; do skip $b && kvm_skip="$kvm_skip $b"; done
if [ "$(echo $kvm_skip | wc -w)" -lt 4 ]; then
	tests/testbed/run.sh --timeout "${BENCH_TESTBED_TIMEOUT:-2400}" "${envs[@]}" -- \
		"$HERE/kvm.sh" "$OUT" 2>&1 | tee "$OUT/kvm.log"
	trc=${PIPESTATUS[0]}
	if [ "$trc" != 0 ]; then
		bench_say "the KVM benchmarks ended with status $trc (see $OUT/kvm.log)"
		rc=1
	fi
fi

readme=()
[ "${BENCH_UPDATE_README:-0}" = 1 ] && readme=(--readme "$HERE/README.md")
echo "=== targets (details: $OUT/report.md)"
python3 "$HERE/report.py" "$OUT" "${readme[@]}" || rc=1
bench_say "done in $(( $(date +%s) - started )) s; report: $OUT/report.md"
exit $rc
