#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/e2e/run.sh [NAME...]: run the end-to-end tests.
#
# Runs every tests/e2e/test_*.sh (or only the NAMEs given: "testbed",
# "test_testbed" or "tests/e2e/test_testbed.sh"), each in its own test bed
# (tests/testbed/run.sh: real /dev/kvm, or one fresh emulated KVM host per
# test file, for isolation). Each file is run with bash; its timeout is 300 s
# unless the file has a "# timeout: N" line (EMBER_E2E_TIMEOUT overrides the
# default), and a "# mem: MIB" line sets the emulated host's memory
# (default 2048). Exit 0 = pass, 77 = skip, anything else = fail (124: timed out;
# 75: the emulated KVM host failed the guest, see lib.sh's fail(): retried).
#
# Prints one line per test, "PASS name (12.3 s)", "SKIP name: reason",
# "FAIL name (exit N, 12.3 s)" followed by the last 30 lines of its output,
# then "e2e: N passed, N failed, N skipped". Full logs: build/e2e/<name>.log.
# Exit status: 1 if anything failed, else 0.
#
# Runs guest/build.sh first (on this host; EMBER_E2E_NO_GUEST_BUILD=1 skips it).
# EMBER_E2E_SHARED_L1=1: in the emulated KVM host, boot ONE host for the whole
# run instead of one per test file (saves the L1 boot per test, loses the
# isolation). Default: one per file.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
TESTBED=$ROOT/tests/testbed/run.sh
LOGDIR=${EMBER_E2E_LOGDIR:-$ROOT/build/e2e}
DEFAULT_TIMEOUT=${EMBER_E2E_TIMEOUT:-300}
RETRIES=${EMBER_E2E_RETRIES:-2}
mkdir -p "$LOGDIR"

tests=()
if [ $# -eq 0 ]; then
	for f in tests/e2e/test_*.sh; do [ -f "$f" ] && tests+=("$f"); done
else
	for n in "$@"; do
		n=${n##*/}; n=${n%.sh}; n=${n#test_}
		tests+=("tests/e2e/test_$n.sh")
	done
fi

passed=0 failed=0 skipped=0 retried=0
mode=$("$TESTBED" --check)
echo "e2e: ${#tests[@]} test file(s); test bed: $mode"

if [ "$mode" != "direct /dev/kvm" ]; then
	if ! command -v qemu-system-x86_64 >/dev/null; then
		# Neither /dev/kvm nor QEMU: nothing can boot a guest here. Say so loudly.
		echo "e2e: WARNING: no usable /dev/kvm and no qemu-system-x86_64: SKIPPING ALL E2E TESTS" >&2
		for t in "${tests[@]}"; do echo "SKIP $(basename "$t" .sh): no KVM and no QEMU"; done
		echo "e2e: 0 passed, 0 failed, ${#tests[@]} skipped"
		exit 0
	fi
	# Fetch the kernel / build the initramfs once, outside any test's time.
	if ! "$ROOT/tests/testbed/setup.sh"; then
		for t in "${tests[@]}"; do echo "FAIL $(basename "$t" .sh): test bed setup failed"; done
		echo "e2e: 0 passed, ${#tests[@]} failed, 0 skipped"
		exit 1
	fi
fi

# Guest images are built here, on the host, never inside the emulated KVM
# host (where the cache is read-only: flock does not work across 9p).
if [ -x guest/build.sh ] && [ "${EMBER_E2E_NO_GUEST_BUILD:-0}" != 1 ]; then
	guest/build.sh >/dev/null ||
		echo "e2e: WARNING: guest/build.sh failed; tests that need the guest images will skip or fail" >&2
fi

test_timeout() {
	local t
	t=$(sed -n 's/^#[[:space:]]*timeout:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$1" 2>/dev/null | head -n 1)
	echo "${t:-$DEFAULT_TIMEOUT}"
}

if [ "${EMBER_E2E_SHARED_L1:-0}" = 1 ] && [ "$mode" != "direct /dev/kvm" ]; then
	total=300
	for t in "${tests[@]}"; do total=$((total + $(test_timeout "$t"))); done
	echo "e2e: one emulated KVM host for all tests (EMBER_E2E_SHARED_L1=1)"
	exec "$TESTBED" --timeout "$total" -- tests/e2e/run.sh "$@"
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$LOGDIR/$name.log
	if [ ! -f "$t" ]; then
		echo "FAIL $name: no such test ($t)"
		failed=$((failed + 1))
		continue
	fi
	tmo=$(test_timeout "$t")
	mem=$(sed -n 's/^#[[:space:]]*mem:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
	start=$(now)
	"$TESTBED" --timeout "$tmo" ${mem:+--mem "$mem"} -- bash "$t" >"$log" 2>&1 </dev/null
	rc=$?
	# The emulated KVM host (QEMU TCG, nested SVM) fails on its own now and
	# then: it never reaches the test (no output at all), its kernel hangs in
	# a KVM ioctl (the watchdog report in the log shows where), it freezes
	# as a whole (a timeout without the watchdog's report), or a guest
	# dies in the middle of ordinary work (a triple or double fault, a
	# silent reset: the test exits 75, see lib.sh's fail()). None of these
	# happens on real KVM. Such a test runs again, up to EMBER_E2E_RETRIES (default 2) more
	# times; each failed attempt's log is kept as NAME.attemptN.log and a
	# RETRY line says why.
	# On real KVM nothing is retried.
	attempt=1
	while [ "$attempt" -le "$RETRIES" ]; do
		why=""
		if { [ $rc = 124 ] || [ $rc = 125 ]; } && ! grep -qv '^qemu-system\|^testbed' "$log"; then
			why="the test bed produced no output"
		elif [ "$mode" != "direct /dev/kvm" ] && [ $rc = 124 ] &&
			grep -q "testbed L1: watchdog" "$log" && grep -Eq '(kvm|svm)_[a-z_]+\+0x' "$log"; then
			why="the emulated host's kernel hung in KVM ($(grep -Eo '(kvm|svm)_[a-z_]+\+0x' "$log" | head -n 1 | cut -d+ -f1))"
		elif [ "$mode" != "direct /dev/kvm" ] && [ $rc = 124 ] && [ "$tmo" -gt 80 ] &&
			! grep -q "testbed: L1's watchdog report" "$log"; then
			# The watchdog (armed 45 s before the timeout) never ran: the
			# whole emulated host was frozen, not a process in it.
			why="the emulated host froze (its watchdog never ran)"
		elif [ "$mode" != "direct /dev/kvm" ] && [ $rc = 75 ]; then
			why=$(sed -n 's/^TEMPFAIL: [^:]*: //p' "$log" | tail -n 1)
		fi
		[ -n "$why" ] || break
		cp "$log" "$LOGDIR/$name.attempt$attempt.log"
		echo "RETRY $name (attempt $attempt, $(elapsed "$start" "$(now)") s: $why; log: ${LOGDIR#"$ROOT"/}/$name.attempt$attempt.log)"
		[ "$attempt" = 1 ] && retried=$((retried + 1))
		attempt=$((attempt + 1))
		"$TESTBED" --timeout "$tmo" ${mem:+--mem "$mem"} -- bash "$t" >"$log" 2>&1 </dev/null
		rc=$?
	done
	secs=$(elapsed "$start" "$(now)")
	case $rc in
	0)
		echo "PASS $name ($secs s)"
		passed=$((passed + 1))
		;;
	77)
		why=$(sed -n 's/^SKIP: *//p' "$log" | tail -n 1)
		echo "SKIP $name${why:+: $why}"
		skipped=$((skipped + 1))
		;;
	*)
		case $rc in
		124) what="timed out after $tmo s" ;;
		125) what="test bed error" ;;
		75) what="the guest died in the emulated host, in every attempt" ;;
		*) what="exit $rc" ;;
		esac
		echo "FAIL $name ($what, $secs s)"
		tail -n 30 "$log" | sed 's/^/    | /'
		failed=$((failed + 1))
		;;
	esac
done

[ $retried = 0 ] || echo "e2e: $retried test(s) needed a second attempt because of the emulated KVM host (see RETRY lines)"
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ $failed = 0 ]
