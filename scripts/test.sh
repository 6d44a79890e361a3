#!/bin/bash
# The whole test suite (make test): build (also the sanitizer build and the
# C helpers), guest images, unit tests (also under ASan+UBSan), API, API
# abuse, a short fuzzing pass, jailer, orchestrator compatibility, first-run
# and end-to-end tests
# (tests/README.md has the table). Each suite prints a "<suite>: N passed,
# N failed" line; this script adds them up and ends with one "N passed,
# N failed" line. Exit status: 0 only when nothing failed.
set -u
cd "$(dirname "$0")/.."
log_dir=${TMPDIR:-/tmp}/ember-test.$$
mkdir -p "$log_dir"
total_p=0; total_f=0; total_s=0

run_suite() {   # name, command...
	local name=$1; shift
	echo "=== $name: $*"
	"$@" 2>&1 | tee "$log_dir/$name.log"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed' "$log_dir/$name.log" | tail -1)
	if [ -z "$line" ]; then
		echo "$name: no result line (exit $rc), counted as 1 failure"
		total_f=$((total_f + 1)); return
	fi
	local p f s
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p'); s=${s:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
}

build_suite() {
	local ok=0 bad=0
	for t in "make -j2 all" "make -j2 SAN=1 all" "make -j2 helpers"; do
		if $t >"$log_dir/build.out" 2>&1; then ok=$((ok + 1)); else
			bad=$((bad + 1)); tail -30 "$log_dir/build.out"; fi
	done
	echo "build: $ok passed, $bad failed"
	[ "$bad" = 0 ]
}

guest_suite() {
	if guest/build.sh; then echo "guest: 1 passed, 0 failed"; else echo "guest: 0 passed, 1 failed"; return 1; fi
}

unit_suite() {
	make -j2 $(ls tests/unit/test_*.c | sed 's#tests/unit/\(.*\)\.c#build/tests/\1#') >/dev/null &&
	make -j2 SAN=1 $(ls tests/unit/test_*.c | sed 's#tests/unit/\(.*\)\.c#build/asan/tests/\1#') >/dev/null || {
		echo "unit: 0 passed, 1 failed"; return 1; }
	scripts/run-unit.sh build/tests/test_* | sed 's/^unit:/unit-plain:/'
	local a=${PIPESTATUS[0]}
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 scripts/run-unit.sh build/asan/tests/test_* | sed 's/^unit:/unit-asan:/'
	local b=${PIPESTATUS[0]}
	[ "$a" = 0 ] && [ "$b" = 0 ]
}

run_suite build build_suite
run_suite guest guest_suite
if ls tests/unit/test_*.c >/dev/null 2>&1; then
	unit_suite > "$log_dir/unit-all.log" 2>&1; cat "$log_dir/unit-all.log"
	for s in unit-plain unit-asan; do
		line=$(grep -E "^$s: " "$log_dir/unit-all.log" | tail -1)
		if [ -n "$line" ]; then
			p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
			total_p=$((total_p + p)); total_f=$((total_f + f))
		else
			total_f=$((total_f + 1)); echo "$s: did not run"
		fi
	done
fi
[ -x tests/api/run.sh ] && run_suite api tests/api/run.sh
[ -x tests/abuse/run.sh ] && run_suite abuse tests/abuse/run.sh
[ -x scripts/fuzz.sh ] && run_suite fuzz scripts/fuzz.sh 10
[ -x tests/jailer/run.sh ] && run_suite jailer tests/jailer/run.sh
[ -x tests/compat/run.sh ] && run_suite compat tests/compat/run.sh
[ -x tests/firstrun/run.sh ] && run_suite firstrun tests/firstrun/run.sh
[ -x tests/e2e/run.sh ] && run_suite e2e tests/e2e/run.sh
rm -rf "$log_dir"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" = 0 ]
