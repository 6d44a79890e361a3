#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Bad snapshot requests, each a 400 naming the problem while ember keeps
# answering and builds nothing: create before boot and on a running VM; a
# load of a truncated, a bit-flipped and a wrong-version state file, of a
# memory file smaller than guest RAM, and after a boot PUT. The same ember
# then loads the good snapshot and the guest runs on (nothing half-built).
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup

script='c=0; while :; do c=$((c + 1)); echo "count $c"; sleep 1; done'
sn_start "$T/a"
pa=$SN_PID
api "$T/a/api.sock" PUT /snapshot/create "{\"snapshot_path\": \"$T/state\", \"mem_file_path\": \"$T/mem\"}"
sn_expect 400 "not supported before starting the microVM" "create before boot"
sn_boot "$T/a" "$script" 1 128
sn_start_vm "$T/a"
wait_for_line "$T/a/out" '^count 2$' "$(e2e_secs 90)" "$pa" || fail "the guest did not count"
api "$T/a/api.sock" PUT /snapshot/create "{\"snapshot_path\": \"$T/state\", \"mem_file_path\": \"$T/mem\"}"
sn_expect 400 "must be paused" "create on a running VM"
sn_snapshot "$T/a" "$T/state" "$T/mem"
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
n0=$(tr -d '\r' <"$T/a/out" | grep -ao '^count [0-9]*' | tail -n 1 | cut -d' ' -f2)

size=$(stat -c %s "$T/state")
head -c $((size / 2)) "$T/state" >"$T/truncated"
cp "$T/state" "$T/flipped"
printf '\xff' | dd of="$T/flipped" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
cp "$T/state" "$T/version"
printf '\x07\x00\x00\x00' | dd of="$T/version" bs=1 seek=8 conv=notrunc 2>/dev/null   # major 7, minor 0
truncate -s 64M "$T/short.mem"

sn_start "$T/b"
pb=$SN_PID
load() { # load STATE MEM
	api "$T/b/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$1\",
		\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}, \"resume_vm\": true}"
}
still() { # still WHAT: ember answers, no VM
	api "$T/b/api.sock" GET / || fail "$1: ember no longer answers"
	echo "$API_BODY" | grep -q '"Not started"' || fail "$1: state $API_BODY"
	kill -0 "$pb" 2>/dev/null || fail "$1: ember exited"
}
load "$T/truncated" "$T/mem"
sn_expect 400 "truncated or padded" "a truncated state file"; still truncated
load "$T/flipped" "$T/mem"
sn_expect 400 "checksum mismatch" "a bit-flipped state file"; still flipped
load "$T/version" "$T/mem"
sn_expect 400 "format version 7.0: this ember reads 1.x" "a wrong-version state file"; still version
load "$T/state" "$T/short.mem"
sn_expect 400 "holds 67108864 bytes, guest RAM is 134217728 bytes" "a short memory file"; still short
load "$T/nonexistent" "$T/mem"
sn_expect 400 "snapshot_path $T/nonexistent: No such file" "a missing state file"; still missing
load "$T/state" "$T/nonexistent.mem"
sn_expect 400 "memory file $T/nonexistent.mem" "a missing memory file"; still missing-mem
api "$T/b/api.sock" PUT /snapshot/create "{\"snapshot_path\": \"$T/x\", \"mem_file_path\": \"$T/y\"}"
sn_expect 400 "not supported before starting the microVM" "create before a load"
[ -e "$T/x" ] && fail "a refused create left a file"

# After all that, the good snapshot loads in the same ember.
load "$T/state" "$T/mem" || fail "the good load: $API_STATUS $API_BODY"
sn_wait "$T/b" "^count $((n0 + 2))\$" 60 "$pb" "the guest did not run on after the refused loads"

# A boot PUT first: refused with Firecracker's message.
sn_start "$T/c"
api "$T/c/api.sock" PUT /boot-source "{\"kernel_image_path\": \"$EMBER_GUEST_BZIMAGE\"}" ||
	fail "boot-source: $API_STATUS"
api "$T/c/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$T/state\", \"mem_file_path\": \"$T/mem\"}"
sn_expect 400 "Loading a microVM snapshot not allowed after configuring boot-specific resources." \
	"a load after a boot PUT"
api "$T/c/api.sock" GET / || fail "ember c no longer answers"
echo "PASS: bad snapshot requests: each a 400, ember answering; the good snapshot then loads"
