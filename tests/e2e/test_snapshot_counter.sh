#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Snapshot and restore of a running guest, with 1 vCPU and then 2 busy ones:
# a guest that counts once a second is paused, snapshotted (Full), its ember
# killed; a fresh ember loads the snapshot (resume_vm) and the guest counts
# on from where it stopped, without booting again. Also: create is refused
# while the VM runs, the paused guest does not count, the memory file is
# sparse (far less than guest RAM on disk), --describe-snapshot reads the
# state file, GET / and GET /vm/config answer for the loaded VM, the load's
# latency is in the metrics and a second load is refused.
# timeout: 1500
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup

# count N once a second; every other vCPU spins in a shell loop.
script='n=$(grep -c ^processor /proc/cpuinfo); echo "EMBER-CPUS=$n"
i=1; while [ $i -lt $n ]; do (while :; do :; done) & i=$((i + 1)); done
c=0; while :; do c=$((c + 1)); echo "count $c"; sleep 1; done'

last_count() { tr -d '\r' <"$1" | grep -ao '^count [0-9]*' | tail -n 1 | cut -d' ' -f2; }

round() { # round VCPUS
	local vcpus=$1 a=$T/a$1 b=$T/b$1 st=$T/state$1 mem=$T/mem$1
	sn_run "$a" "$script" "$vcpus" 256 '^count 3$' 90 "[$vcpus vCPU] the guest did not count"
	local pa=$SN_PID
	grep -aq "EMBER-CPUS=$vcpus" "$a/out" || { sn_show "$a/out"; fail "[$vcpus vCPU] wrong CPU count"; }

	# Create is refused while the VM runs; then pause and snapshot.
	api "$a/api.sock" PUT /snapshot/create "{\"snapshot_path\": \"$st\", \"mem_file_path\": \"$mem\"}"
	sn_expect 400 "must be paused" "[$vcpus vCPU] create on a running VM"
	sn_snapshot "$a" "$st" "$mem" Full
	local n0 n1
	n0=$(last_count "$a/out")
	sleep 2
	n1=$(last_count "$a/out")
	[ "$n0" = "$n1" ] || fail "[$vcpus vCPU] the paused guest kept counting ($n0 -> $n1)"
	e2e_kill_tree "$pa" KILL
	wait "$pa" 2>/dev/null

	# The files: the state file's version, a sparse memory file.
	local v size used
	v=$("$EMBER_BIN" --describe-snapshot "$st") || fail "--describe-snapshot failed"
	[ "$v" = "$("$EMBER_BIN" --snapshot-version)" ] || fail "--describe-snapshot says '$v'"
	size=$(stat -c %s "$mem")
	used=$(($(stat -c %b "$mem") * $(stat -c %B "$mem")))
	[ "$size" = $((256 << 20)) ] || fail "[$vcpus vCPU] memory file of $size bytes, not 256 MiB"
	[ "$used" -lt $((128 << 20)) ] ||
		fail "[$vcpus vCPU] memory file uses $used bytes on disk: not sparse"
	log "[$vcpus vCPU] snapshot at count $n0: state $(stat -c %s "$st") bytes, memory $((used >> 10)) KiB on disk of $((size >> 10)) KiB"

	# A fresh ember: load (resumed) and the count goes on.
	sn_start "$b"
	local pb=$SN_PID
	sn_load "$b" "$st" "$mem"
	local want=$((n0 + 3))
	sn_wait "$b" "^count $want\$" 60 "$pb" "[$vcpus vCPU] the restored guest did not count on to $want"
	tr -d '\r' <"$b/out" | grep -aq "^count $((n0 + 1))\$" ||
		{ sn_show "$b/out"; fail "[$vcpus vCPU] the restored guest did not go on at $((n0 + 1))"; }
	tr -d '\r' <"$b/out" | grep -aqE '^count 1$|EMBER-CPUS' &&
		{ sn_show "$b/out"; fail "[$vcpus vCPU] the restored guest started over"; }
	api "$b/api.sock" GET / || fail "GET /: $API_STATUS"
	echo "$API_BODY" | grep -q '"Running"' || fail "[$vcpus vCPU] state after load: $API_BODY"
	api "$b/api.sock" GET /vm/config || fail "GET /vm/config: $API_STATUS"
	echo "$API_BODY" | python3 -c "
import json, sys
c = json.load(sys.stdin)
assert c['machine-config']['vcpu_count'] == $vcpus and c['machine-config']['mem_size_mib'] == 256, c
assert c['boot-source']['kernel_image_path'] == '$EMBER_GUEST_BZIMAGE', c" ||
		fail "[$vcpus vCPU] GET /vm/config after the load: $API_BODY"
	api "$b/api.sock" PUT /actions '{"action_type": "FlushMetrics"}' || fail "FlushMetrics: $API_STATUS"
	tail -n 1 "$b/metrics" | python3 -c '
import json, sys
m = json.load(sys.stdin)["latencies_us"]
assert m["load_snapshot"] > 0, m' || fail "[$vcpus vCPU] no load_snapshot latency in the metrics"
	grep -a "VM restore:" "$b/log" | tail -n 1 >&2
	# A second load into the running VM is refused.
	api "$b/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$st\", \"mem_file_path\": \"$mem\"}"
	sn_expect 400 "not supported after starting" "[$vcpus vCPU] a second load"
	log "[$vcpus vCPU] restored: counted on from $n0 to $(last_count "$b/out")"
	e2e_kill_tree "$pb" TERM
	wait_for_exit "$pb" "$(e2e_secs 20)" >/dev/null
}

round 1
round 2
echo "PASS: snapshot/restore of a counting guest with 1 and 2 vCPUs"
