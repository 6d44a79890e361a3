#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# API abuse test: a real ember (the ASan/UBSan/LSan build, no KVM
# needed: everything happens before boot) on a Unix socket gets 10,000
# malformed or hostile requests, 100 concurrent clients, 100 clients
# hammering it while a well-behaved one must be served, clients that
# disconnect mid-request and slowloris clients (tests/abuse/abuse.py).
# Then: still answering, no fd leak, config exactly what the valid requests
# set, and on SIGTERM a clean exit with no sanitizer or leak report.
#
#   tests/abuse/run.sh            ABUSE_BIN=build/ember to use another binary
#   ABUSE_RSS_LIMIT_KB=N          allowed RSS growth (64 MiB; 96 MiB under ASan)
#   ABUSE_HAMMER_RSS_KB=N         allowed RSS growth while hammered (16 MiB; 48 MiB under ASan)
# Ends with "abuse: N passed, N failed"; exit status 1 if any failed.
set -u
cd "$(dirname "$0")/../.." || exit 1

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok   $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }
finish() {
	[ -n "${EMBER_PID:-}" ] && kill "$EMBER_PID" 2>/dev/null
	[ -n "${REF_PID:-}" ] && kill "$REF_PID" 2>/dev/null
	echo "abuse: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

BIN=${ABUSE_BIN:-build/asan/ember}
if [ -z "${ABUSE_BIN:-}" ]; then
	if ! make -s SAN=1 build/asan/ember >/dev/null 2>build/abuse-make.log; then
		tail -20 build/abuse-make.log
		bad "make SAN=1 build/asan/ember"
		finish
	fi
fi
[ -x "$BIN" ] || { bad "no $BIN"; finish; }
command -v python3 >/dev/null || { bad "python3 missing"; finish; }

WORK=$(mktemp -d /tmp/ember-abuse.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
head -c 4096 /dev/zero >"$WORK/vmlinux"
truncate -s 8M "$WORK/rootfs.ext4"
truncate -s 1M "$WORK/data.img"

# halt_on_error: the first sanitizer report ends ember (and the test fails);
# LSan runs at exit, which SIGTERM reaches through ember's signalfd.
# A small quarantine keeps the RSS check meaningful under ASan (freed memory
# sits in the quarantine, 256 MiB by default).
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:exitcode=99:quarantine_size_mb=16"
case $BIN in *asan*)
	export ABUSE_RSS_LIMIT_KB=${ABUSE_RSS_LIMIT_KB:-98304}
	export ABUSE_HAMMER_RSS_KB=${ABUSE_HAMMER_RSS_KB:-49152};;
esac
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=98"
export LSAN_OPTIONS="exitcode=97"

start() { # sock log -> pid in $!
	"$BIN" --api-sock "$1" --no-seccomp --id abuse >"$2" 2>&1 &
}
start "$WORK/api.sock" "$WORK/ember.log"
EMBER_PID=$!
start "$WORK/ref.sock" "$WORK/ref.log"
REF_PID=$!
for i in $(seq 100); do
	[ -S "$WORK/api.sock" ] && [ -S "$WORK/ref.sock" ] && break
	sleep 0.1
done
if [ ! -S "$WORK/api.sock" ] || [ ! -S "$WORK/ref.sock" ]; then
	bad "ember did not create its API socket"; tail -5 "$WORK/ember.log"; finish
fi
ok "ember ($BIN) serves $WORK/api.sock"

python3 -u tests/abuse/abuse.py "$WORK/api.sock" "$EMBER_PID" "$WORK/ref.sock" "$WORK" \
	>"$WORK/py.out" 2>&1
cat "$WORK/py.out"
# Fold abuse.py's totals ("abuse-py: N passed, N failed") into ours.
res=$(sed -n 's/^abuse-py: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$WORK/py.out")
if [ -z "$res" ]; then
	bad "abuse.py did not finish"
else
	pass=$((pass + ${res% *})); fail=$((fail + ${res#* }))
fi

stop() { # pid name log
	kill -TERM "$1" 2>/dev/null
	rc=
	for i in $(seq 100); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"; rc=$?; break
		fi
		sleep 0.1
	done
	if [ -z "$rc" ]; then
		kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null
		bad "$2 did not exit within 10 s of SIGTERM"
		return
	fi
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$3"; then
		bad "$2: sanitizer report (exit $rc):"
		grep -E -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$3" | head -40
	elif [ "$rc" -ne 0 ]; then
		bad "$2 exited $rc after SIGTERM"; tail -5 "$3"
	else
		ok "$2 exits 0 on SIGTERM, no sanitizer or leak report"
	fi
}
stop "$EMBER_PID" "ember" "$WORK/ember.log"; EMBER_PID=
stop "$REF_PID" "reference ember" "$WORK/ref.log"; REF_PID=
finish
