#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# PUT /serial (and the config file's "serial"): the guest's console goes to
# serial_out_path instead of ember's stdout.
#  1. a regular file, from a config file: the guest's lines are in the file,
#     none on stdout;
#  2. a FIFO with a reader, through the API: the reader gets the guest's
#     lines, GET /vm/config shows the path;
#  3. a file with a rate_limiter (a small bucket of bytes): the guest floods
#     the console and still runs to its end (nothing waits on the limiter),
#     the file holds no more than the bucket allowed, and the metrics count
#     the rest in uart.rate_limiter_dropped_bytes (and what reached the file
#     in uart.write_count, byte for byte).
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
need_kvm
need_ember
need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS
e2e_tmpdir
T=$E2E_TMP
ARGS="console=ttyS0 reboot=k panic=1 pci=off quiet"
b64() { printf '%s\n' "$1" | base64 -w0; }

# ember's exit status within the emulated host's time, or a failure with
# what it printed. $1 pid, $2 its stderr, $3 what it was doing.
ember_done() {
	wait_for_exit "$1" "$(e2e_secs 60)"
	local rc=$?
	[ "$rc" = 0 ] || { tail -n 20 "$2" >&2; fail "$3: ember exited $rc (want 0: the guest powers off)"; }
}

# --- 1. a regular file, from the config file ---
ember_config "$T/file.json" "$EMBER_GUEST_BZIMAGE" "$EMBER_GUEST_INITRAMFS" \
	"$ARGS ember.sh=$(b64 'echo SERIAL-FILE-MARK')" 1 128 \
	"\"serial\": { \"serial_out_path\": \"$T/console.log\" }"
"$EMBER_BIN" --no-api --config-file "$T/file.json" </dev/null >"$T/stdout1" 2>"$T/err1" &
pid=$!
E2E_PIDS="$E2E_PIDS $pid"
ember_done "$pid" "$T/err1" "serial_out_path file"
grep -aq 'SERIAL-FILE-MARK' "$T/console.log" ||
	{ tail -c 2000 "$T/console.log" >&2; fail "the guest's line is not in serial_out_path"; }
grep -aq 'EMBER-SCRIPT-EXIT=0' "$T/console.log" || fail "the guest's script did not end well"
[ ! -s "$T/stdout1" ] || { head -c 500 "$T/stdout1" >&2; fail "guest output on stdout despite serial_out_path"; }
log "file: the console went to serial_out_path ($(wc -c <"$T/console.log") bytes), stdout empty"

# --- 2. a FIFO with a reader, through the API ---
mkfifo "$T/console.fifo"
e2e_bg sh -c "exec cat '$T/console.fifo' >'$T/fifo.out'"
sock=$T/api.sock
"$EMBER_BIN" --api-sock "$sock" </dev/null >"$T/stdout2" 2>"$T/err2" &
pid=$!
E2E_PIDS="$E2E_PIDS $pid"
wait_for_file "$sock" "$(e2e_secs 5)" "$pid" || fail "API socket did not appear"
api "$sock" PUT /boot-source "{\"kernel_image_path\": \"$EMBER_GUEST_BZIMAGE\", \"initrd_path\": \"$EMBER_GUEST_INITRAMFS\", \"boot_args\": \"$ARGS ember.sh=$(b64 'echo SERIAL-FIFO-MARK')\"}" ||
	fail "PUT /boot-source: $API_STATUS $API_BODY"
api "$sock" PUT /serial "{\"serial_out_path\": \"$T/console.fifo\"}" || fail "PUT /serial: $API_STATUS $API_BODY"
api "$sock" GET /vm/config || fail "GET /vm/config: $API_STATUS"
printf '%s' "$API_BODY" | python3 -c '
import json, sys
s = json.load(sys.stdin)["serial"]
assert s == {"serial_out_path": sys.argv[1], "rate_limiter": None}, s
' "$T/console.fifo" || fail "GET /vm/config does not show serial_out_path: $API_BODY"
api "$sock" PUT /actions '{"action_type": "InstanceStart"}' || fail "InstanceStart: $API_STATUS $API_BODY"
ember_done "$pid" "$T/err2" "serial_out_path FIFO"
grep -aq 'SERIAL-FIFO-MARK' "$T/fifo.out" ||
	{ tail -c 2000 "$T/fifo.out" >&2; fail "the FIFO's reader did not get the guest's line"; }
[ ! -s "$T/stdout2" ] || fail "guest output on stdout despite serial_out_path (FIFO)"
log "FIFO: the reader got the console ($(wc -c <"$T/fifo.out") bytes)"

# --- 3. the rate limiter drops what exceeds it ---
# 256 bytes a second after a first 16 KiB: enough for the guest's first lines,
# far less than the ~130 KiB it then writes, however slow the host.
size=256 burst=16384
flood='echo FLOOD-BEGIN; head -c 98304 /dev/urandom | base64 -w 76; echo FLOOD-END'
ember_config "$T/limit.json" "$EMBER_GUEST_BZIMAGE" "$EMBER_GUEST_INITRAMFS" \
	"$ARGS ember.sh=$(b64 "$flood")" 1 128 \
	"\"serial\": { \"serial_out_path\": \"$T/limited.log\", \"rate_limiter\": { \"size\": $size, \"one_time_burst\": $burst, \"refill_time\": 1000 } }"
start=$SECONDS
"$EMBER_BIN" --no-api --config-file "$T/limit.json" --metrics-path "$T/metrics3" </dev/null \
	>"$T/stdout3" 2>"$T/err3" &
pid=$!
E2E_PIDS="$E2E_PIDS $pid"
ember_done "$pid" "$T/err3" "rate-limited serial"
elapsed=$((SECONDS - start + 1))
got=$(wc -c <"$T/limited.log")
grep -aq 'EMBER-GUEST-READY' "$T/limited.log" || fail "the guest's first lines are not in the file (within the burst)"
counts=$(python3 -c '
import json, sys
w = d = 0
for line in open(sys.argv[1]):
    u = json.loads(line)["uart"]
    w += u["write_count"]
    d += u["rate_limiter_dropped_bytes"]
print(w, d)
' "$T/metrics3") || fail "the metrics file is not JSON lines with a uart group"
read -r written dropped <<<"$counts"
log "limiter: $got bytes in the file, $written written, $dropped dropped, in about $elapsed s"
[ "$written" = "$got" ] || fail "uart.write_count says $written bytes, the file has $got"
[ "$dropped" -gt 0 ] || fail "uart.rate_limiter_dropped_bytes is 0: nothing was dropped"
[ $((got + dropped)) -ge 131072 ] || fail "written + dropped is $((got + dropped)), less than the guest's flood"
most=$((burst + size * (elapsed + 1)))
[ "$got" -le "$most" ] || fail "the file has $got bytes, more than the bucket allows in $elapsed s ($most)"
echo "PASS: serial_out_path to a file and to a FIFO; the rate limiter dropped $dropped bytes and counted them"
