#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A guest that never lets its virtio-blk ring run dry: /tests/hostile
# --refill-blk (tests/guest/hostile.c) detaches the guest's driver, sets up
# a request ring of 256 reads of 64 KiB and, for REFILL_SECS guest seconds,
# makes every completed request available again at once. A device loop that
# ran until the ring was empty would never return to ember's event loop: the
# API, the serial console and SIGTERM would wait for good.
#
# Checks, while the guest floods (between its "flooding" and "done" lines):
# the API answers GET / and GET /vm/config several times (each within a
# generous curl timeout: an answer at all is what counts, no timing target),
# and SIGTERM then ends ember (exit 0) before the flood is over. Before the
# stop, ember's metrics show the device woken again and again (the flood was
# real and ember kept serving it).
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || _e2e_missing "no curl"
need_kvm
need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS
need_guest_program hostile
need_ember
e2e_tmpdir
T=$E2E_TMP

secs=${REFILL_SECS:-600}
truncate -s 1M "$T/scratch.img" || fail "scratch image"
script="/tests/hostile --refill-blk $secs"
ember_config "$T/vm.json" "$EMBER_GUEST_BZIMAGE" "$EMBER_GUEST_INITRAMFS" "console=ttyS0 reboot=k panic=1 pci=off ember.sh=$(printf '%s\n' "$script" | base64 -w0)" \
	1 128 "\"drives\": [ { \"drive_id\": \"scratch\", \"path_on_host\": \"$T/scratch.img\",
              \"is_root_device\": false, \"is_read_only\": true } ]"
sock=$T/api.sock
e2e_bg "$EMBER_BIN" --api-sock "$sock" --config-file "$T/vm.json" --log-path "$T/ember.log" \
	--metrics-path "$T/metrics.json" </dev/null >"$T/console.log" 2>"$T/stderr.log"
pid=$E2E_PID
show() {
	echo "--- console (last 30 lines)" >&2
	tr -d '\r\0' <"$T/console.log" | grep -av '^$' | tail -n 30 | cut -c1-200 >&2
	echo "--- ember log (last 20 lines)" >&2
	tail -n 20 "$T/ember.log" "$T/stderr.log" >&2
}

wait_for_line "$T/console.log" 'hostile: refill dev [0-9]+: flooding' "$(e2e_secs 60)" "$pid" ||
	{ show; fail "the guest did not start its flood"; }
log "the guest floods its request ring"
flooding() { ! tr -d '\r' <"$T/console.log" | grep -aq 'hostile: refill dev [0-9]*: done'; }

# The API, several times, while the flood goes on.
for i in 1 2 3 4 5; do
	api "$sock" GET / || { show; fail "GET / during the flood: status $API_STATUS (no answer?)"; }
	api "$sock" GET /vm/config || { show; fail "GET /vm/config during the flood: $API_STATUS"; }
	sleep 1
done
flooding || { show; fail "the flood ended before the API probes were done (REFILL_SECS=$secs too short?)"; }
log "the API answered 10 requests during the flood"
# The device really was kept busy: each of its wake-ups serves at most 64
# requests and then requeues itself, so the flood shows as many queue events
# (ember's metrics are deltas per flush: add them up).
api "$sock" PUT /actions '{"action_type": "FlushMetrics"}' || { show; fail "FlushMetrics: $API_STATUS $API_BODY"; }
events=$(python3 -c 'import json, sys
print(sum(json.loads(l)["block"]["queue_event_count"] for l in open(sys.argv[1]) if l.strip()))' \
	"$T/metrics.json") || { show; fail "cannot read $T/metrics.json"; }
log "block queue events so far: $events"
[ "$events" -ge 10 ] || { show; fail "only $events block queue events: the guest's flood did not reach the device"; }

# SIGTERM during the flood: the signal is read from the event loop too.
kill -TERM "$pid"
wait_for_exit "$pid" "$(e2e_secs 30)"
rc=$?
[ "$rc" = 124 ] && { show; fail "ember did not exit after SIGTERM during the flood"; }
[ "$rc" = 0 ] || { show; fail "ember exit $rc after SIGTERM (want 0)"; }
flooding || { show; fail "the flood had ended before SIGTERM"; }
grep -q 'received signal 15' "$T/ember.log" || { show; fail "no log line for SIGTERM"; }
! grep -Eq 'SIGSYS|Segmentation|Aborted|AddressSanitizer' "$T/ember.log" "$T/stderr.log" ||
	{ show; fail "ember reported a crash"; }
echo "PASS: API answered and SIGTERM ended ember while the guest kept its ring full"
