#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Run every libFuzzer harness (build/fuzz/fuzz_*) for a bounded time, one
# at a time, and report executions, exec/s and coverage per harness.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]   default 60 s each, all harnesses
#   scripts/fuzz.sh 10                       CI-sized pass
#
# Seeds: fuzz/corpus/<name>/ (read-only); what the fuzzer finds accumulates
# in build/fuzz/corpus/<name>/; crashes are written to
# build/fuzz/artifacts/<name>-crash-* and make the harness fail.
# Ends with "fuzz: N passed, N failed"; exit status 1 if any failed.
set -u
cd "$(dirname "$0")/.." || exit 1

secs=${1:-60}
[ $# -gt 0 ] && shift
case $secs in ''|*[!0-9]*) echo "usage: $0 [SECONDS] [HARNESS...]" >&2; exit 2;; esac

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: clang is missing (scripts/deps.sh installs it)" >&2
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
mkdir -p build
make -s -f fuzz/fuzz.mk -j2 fuzz-build >build/fuzz-build.log 2>&1 || {
	mkdir -p build
	make -f fuzz/fuzz.mk fuzz-build 2>&1 | tail -20
	echo "fuzz: build failed"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
}

if [ $# -gt 0 ]; then
	names="$*"
else
	names=$(for f in fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)
fi

pass=0 fail=0
mkdir -p build/fuzz/artifacts build/fuzz/logs
printf '%-8s %10s %9s %7s %7s  %s\n' harness execs exec/s cov ft result
for n in $names; do
	bin=build/fuzz/fuzz_$n
	work=build/fuzz/corpus/$n
	log=build/fuzz/logs/$n.log
	mkdir -p "$work"
	# nice: the fuzzers share the machine with builds; -timeout: a single
	# input taking 10 s is a hang; -rss_limit_mb: ASan's quarantine fits.
	nice -n 10 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 \
		-print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$n-" \
		"$work" "fuzz/corpus/$n" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); res=ok
	else
		fail=$((fail + 1)); res="FAILED (rc $rc, log $log)"
	fi
	printf '%-8s %10s %9s %7s %7s  %s\n' "$n" "${execs:-?}" "${eps:-?}" "${cov:-?}" \
		"${ft:-?}" "$res"
	if [ $rc -ne 0 ]; then
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' \
			"$log" | head -8 | sed 's/^/    /'
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ $fail -eq 0 ]
