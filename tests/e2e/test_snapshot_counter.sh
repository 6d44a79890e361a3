#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Snapshot and restore of a running guest, with 1 vCPU and then 2 busy ones:
# a guest that counts once a second is paused, snapshotted (Full), its ember
# killed; a fresh ember loads the snapshot (resume_vm) and the guest counts
# on from where it stopped, without booting again. Also: the memory file is
# sparse (far less than guest RAM on disk), --describe-snapshot reads the
# state file, GET /vm/config answers the snapshot's configuration after the
# load, and the load's latency is in the metrics.
# timeout: 1500
set -u
. "$(dirname "$0")/lib.sh"
need_kvm
need_ember
need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS
command -v curl >/dev/null || _e2e_missing "no curl"
e2e_tmpdir
T=$E2E_TMP

# count N once a second; with BUSY, every other vCPU spins in a shell loop.
script='n=$(grep -c ^processor /proc/cpuinfo); echo "EMBER-CPUS=$n"
i=1; while [ $i -lt $n ]; do (while :; do :; done) & i=$((i + 1)); done
c=0; while :; do c=$((c + 1)); echo "count $c"; sleep 1; done'
args="console=ttyS0 reboot=k panic=1 pci=off quiet ember.sh=$(printf '%s\n' "$script" | base64 -w0)"

show() { # show LOG...: the last lines of each
	for f in "$@"; do echo "--- $f" >&2; tr -d '\r' <"$f" | tail -n 15 >&2; done
}
last_count() { tr -d '\r' <"$1" | grep -ao '^count [0-9]*' | tail -n 1 | cut -d' ' -f2; }

round() { # round VCPUS
	local vcpus=$1 d=$T/r$1
	mkdir -p "$d"
	local sa=$d/a.sock sb=$d/b.sock
	e2e_bg "$EMBER_BIN" --api-sock "$sa" --log-path "$d/a.log" </dev/null >"$d/a.out" 2>&1
	local pa=$E2E_PID
	wait_for_file "$sa" "$(e2e_secs 10)" "$pa" || fail "[$vcpus vCPU] no API socket"
	api "$sa" PUT /boot-source "{\"kernel_image_path\": \"$EMBER_GUEST_BZIMAGE\",
		\"initrd_path\": \"$EMBER_GUEST_INITRAMFS\", \"boot_args\": \"$args\"}" ||
		fail "boot-source: $API_STATUS $API_BODY"
	api "$sa" PUT /machine-config "{\"vcpu_count\": $vcpus, \"mem_size_mib\": 256}" ||
		fail "machine-config: $API_STATUS $API_BODY"
	api "$sa" PUT /actions '{"action_type": "InstanceStart"}' || fail "start: $API_STATUS $API_BODY"
	wait_for_line "$d/a.out" '^count 3$' "$(e2e_secs 90)" "$pa" ||
		{ show "$d/a.out" "$d/a.log"; fail "[$vcpus vCPU] the guest did not count"; }
	grep -aq "EMBER-CPUS=$vcpus" "$d/a.out" || { show "$d/a.out"; fail "[$vcpus vCPU] wrong CPU count"; }

	# Create is refused while the VM runs; then pause and snapshot.
	api "$sa" PUT /snapshot/create "{\"snapshot_path\": \"$d/state\", \"mem_file_path\": \"$d/mem\"}"
	[ "$API_STATUS" = 400 ] && echo "$API_BODY" | grep -q "must be paused" ||
		fail "[$vcpus vCPU] create on a running VM: $API_STATUS $API_BODY"
	api "$sa" PATCH /vm '{"state": "Paused"}' || fail "pause: $API_STATUS $API_BODY"
	api "$sa" PUT /snapshot/create "{\"snapshot_path\": \"$d/state\", \"mem_file_path\": \"$d/mem\",
		\"snapshot_type\": \"Full\"}" || { show "$d/a.log"; fail "[$vcpus vCPU] create: $API_STATUS $API_BODY"; }
	local n0 n1
	n0=$(last_count "$d/a.out")
	sleep 2
	n1=$(last_count "$d/a.out")
	[ "$n0" = "$n1" ] || fail "[$vcpus vCPU] the paused guest kept counting ($n0 -> $n1)"
	e2e_kill_tree "$pa" KILL
	wait "$pa" 2>/dev/null

	# The files: the state file's version, a sparse memory file.
	local v
	v=$("$EMBER_BIN" --describe-snapshot "$d/state") || fail "--describe-snapshot failed"
	[ "$v" = "$("$EMBER_BIN" --snapshot-version)" ] || fail "--describe-snapshot says '$v'"
	local size used
	size=$(stat -c %s "$d/mem")
	used=$(($(stat -c %b "$d/mem") * $(stat -c %B "$d/mem")))
	[ "$size" = $((256 << 20)) ] || fail "[$vcpus vCPU] memory file of $size bytes, not 256 MiB"
	[ "$used" -lt $((128 << 20)) ] ||
		fail "[$vcpus vCPU] memory file uses $used bytes on disk: not sparse"
	log "[$vcpus vCPU] snapshot at count $n0: state $(stat -c %s "$d/state") bytes, memory $((used >> 10)) KiB on disk of $((size >> 10)) KiB"

	# A fresh ember: load (resumed) and the count goes on.
	e2e_bg "$EMBER_BIN" --api-sock "$sb" --log-path "$d/b.log" --metrics-path "$d/b.metrics" \
		</dev/null >"$d/b.out" 2>&1
	local pb=$E2E_PID
	wait_for_file "$sb" "$(e2e_secs 10)" "$pb" || fail "[$vcpus vCPU] no API socket (b)"
	api "$sb" PUT /snapshot/load "{\"snapshot_path\": \"$d/state\",
		\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$d/mem\"},
		\"resume_vm\": true}" || { show "$d/b.log"; fail "[$vcpus vCPU] load: $API_STATUS $API_BODY"; }
	local want=$((n0 + 3))
	wait_for_line "$d/b.out" "^count $want\$" "$(e2e_secs 60)" "$pb" ||
		{ show "$d/b.out" "$d/b.log"; fail "[$vcpus vCPU] the restored guest did not count on to $want"; }
	tr -d '\r' <"$d/b.out" | grep -aq "^count $((n0 + 1))\$" ||
		{ show "$d/b.out"; fail "[$vcpus vCPU] the restored guest did not go on at $((n0 + 1))"; }
	tr -d '\r' <"$d/b.out" | grep -aqE '^count 1$|EMBER-CPUS' &&
		{ show "$d/b.out"; fail "[$vcpus vCPU] the restored guest started over"; }
	api "$sb" GET / || fail "GET /: $API_STATUS"
	echo "$API_BODY" | grep -q '"Running"' || fail "[$vcpus vCPU] state after load: $API_BODY"
	api "$sb" GET /vm/config || fail "GET /vm/config: $API_STATUS"
	echo "$API_BODY" | python3 -c "
import json, sys
c = json.load(sys.stdin)
assert c['machine-config']['vcpu_count'] == $vcpus and c['machine-config']['mem_size_mib'] == 256, c
assert c['boot-source']['kernel_image_path'] == '$EMBER_GUEST_BZIMAGE', c" ||
		fail "[$vcpus vCPU] GET /vm/config after the load: $API_BODY"
	api "$sb" PUT /actions '{"action_type": "FlushMetrics"}' || fail "FlushMetrics: $API_STATUS"
	tail -n 1 "$d/b.metrics" | python3 -c '
import json, sys
m = json.load(sys.stdin)["latencies_us"]
assert m["load_snapshot"] > 0, m' || fail "[$vcpus vCPU] no load_snapshot latency in the metrics"
	grep -a "VM restore:" "$d/b.log" | tail -n 1 >&2
	# A second load into the running VM is refused.
	api "$sb" PUT /snapshot/load "{\"snapshot_path\": \"$d/state\", \"mem_file_path\": \"$d/mem\"}"
	[ "$API_STATUS" = 400 ] || fail "[$vcpus vCPU] a second load: $API_STATUS"
	log "[$vcpus vCPU] restored: counted on from $n0 to $(last_count "$d/b.out")"
	e2e_kill_tree "$pb" TERM
	wait_for_exit "$pb" "$(e2e_secs 20)" >/dev/null
}

round 1
round 2
echo "PASS: snapshot/restore of a counting guest with 1 and 2 vCPUs"
