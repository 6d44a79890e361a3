#!/bin/bash
# Post-boot through the API with curl: InstanceStart boots the tuned
# guest; GET /vm/config returns what was set; PATCH /vm Paused stops the guest
# (its tick counter stops advancing) and Resumed lets it continue; FlushMetrics
# writes a metrics line; SendCtrlAltDel reboots the guest and ember exits 0.
# timeout: 900
. "$(dirname "$0")/lib.sh"
need_kvm; need_ember; need_guest
e2e_tmpdir
sock=$E2E_TMP/api.sock
script=$(printf 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.2; done\n' | base64 -w0)
"$EMBER_BIN" --api-sock "$sock" --id api-e2e --metrics-path "$E2E_TMP/metrics" </dev/null \
	>"$E2E_TMP/out" 2>&1 &
pid=$!
E2E_PIDS="$E2E_PIDS $pid"
wait_for_file "$sock" "$(e2e_secs 5)" "$pid" || fail "API socket did not appear"

api "$sock" PUT /boot-source "{\"kernel_image_path\": \"$EMBER_GUEST_BZIMAGE\", \"initrd_path\": \"$EMBER_GUEST_INITRAMFS\", \"boot_args\": \"console=ttyS0 reboot=k panic=1 pci=off quiet ember.sh=$script\"}" ||
	fail "PUT /boot-source: $API_STATUS"
api "$sock" PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}' || fail "PUT /machine-config: $API_STATUS"
state() { api "$sock" GET / && printf '%s' "$API_BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
[ "$(state)" = "Not started" ] ||
	fail "GET / before boot: state is not 'Not started'"
api "$sock" PUT /actions '{"action_type": "InstanceStart"}' || fail "InstanceStart: $API_STATUS"
wait_for_line "$E2E_TMP/out" 'tick 3' "$(e2e_secs 30)" "$pid" || { tail -n 30 "$E2E_TMP/out" >&2; fail "guest did not start ticking"; }

api "$sock" GET /vm/config || fail "GET /vm/config: $API_STATUS"
cfg=$API_BODY
printf '%s' "$cfg" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["machine-config"]["vcpu_count"] == 2, c
assert c["machine-config"]["mem_size_mib"] == 128, c
assert c["boot-source"]["kernel_image_path"].endswith("bzImage"), c
' || fail "GET /vm/config does not match the configuration: $cfg"

ticks() { tr -d '\r' <"$E2E_TMP/out" | grep -c '^tick '; }
api "$sock" PATCH /vm '{"state": "Paused"}' || fail "pause: $API_STATUS"
[ "$(state)" = Paused ] || fail "state is not Paused"
t1=$(ticks); sleep 3; t2=$(ticks)
[ "$t1" = "$t2" ] || fail "the guest kept running while paused ($t1 -> $t2 ticks)"
api "$sock" PATCH /vm '{"state": "Resumed"}' || fail "resume: $API_STATUS"
want=$((t2 + 3))
wait_for_line "$E2E_TMP/out" "tick $want\$" "$(e2e_secs 10)" "$pid" || fail "the guest did not continue after resume"
log "paused at $t1 ticks, still $t2 after 3 s; resumed to $(ticks)"

n1=$(wc -l <"$E2E_TMP/metrics")
api "$sock" PUT /actions '{"action_type": "FlushMetrics"}' || fail "FlushMetrics: $API_STATUS"
n2=$(wc -l <"$E2E_TMP/metrics")
[ "$n2" -gt "$n1" ] || fail "FlushMetrics wrote no line"
tail -n 1 "$E2E_TMP/metrics" | python3 -c 'import json,sys; m = json.load(sys.stdin); assert m["vcpu"]["exit_io_out"] > 0, m' ||
	fail "the metrics line is not JSON with vCPU exit counts"

api "$sock" PUT /actions '{"action_type": "SendCtrlAltDel"}' || fail "SendCtrlAltDel: $API_STATUS"
wait_for_exit "$pid" "$(e2e_secs 20)"
rc=$?
[ "$rc" = 0 ] || { tail -n 20 "$E2E_TMP/out" >&2; fail "after SendCtrlAltDel ember exited $rc, want 0"; }
log "ok"
