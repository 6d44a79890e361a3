#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A console reader that falls behind loses nothing: ember's stdout is a FIFO
# shrunk to one page whose reader stops reading for a while as the guest
# writes SLOW_READER_KIB (default 24) KiB, then reads on. Every byte arrives,
# in order (checksum computed in the guest), uart.missed_write_count stays 0
# (the UART's backlog held what the pipe could not), and once ember has
# exited the open file it shared with its parent is blocking again (ember
# makes stdout non-blocking while the VM runs and must put it back: a shell
# writing to the same terminal or pipe afterwards must not get EAGAIN).
# timeout: 600
set -u
. "$(dirname "$0")/lib.sh"
need_kvm
need_ember
need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS
e2e_tmpdir
T=$E2E_TMP
kib=${SLOW_READER_KIB:-24}
# The stall, and how long the guest lives after its burst (longer: the reader
# catches up while ember still runs). Not e2e_secs: 20 times longer buys nothing.
stall=2
[ "$E2E_SLOW" -gt 1 ] && stall=10

# The guest keeps running well after its output, so the reader catches up
# while ember still runs.
script="head -c $((kib * 3 / 4 * 1024)) /dev/urandom | base64 -w 76 >/tmp/f
sum=\$(md5sum </tmp/f | cut -d' ' -f1)
echo SLOW-BEGIN
sleep 1
cat /tmp/f
echo SLOW-END sum=\$sum
sleep $((stall + 4))"
ember_config "$T/vm.json" "$EMBER_GUEST_BZIMAGE" "$EMBER_GUEST_INITRAMFS" \
	"console=ttyS0 reboot=k panic=1 pci=off quiet loglevel=1 ember.sh=$(printf '%s\n' "$script" | base64 -w0)" 1
mkfifo "$T/out"

# The reader: opens the FIFO read-write (so ember's open of it does not wait),
# shrinks it to one page, reads until SLOW-BEGIN, stalls STALL seconds, then
# reads until the file STOP appears and the pipe is empty.
cat >"$T/reader.py" <<'PY'
import fcntl, os, sys, time
fifo, out, stall, stop = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
fd = os.open(fifo, os.O_RDWR)
fcntl.fcntl(fd, 1031, 4096)                     # F_SETPIPE_SZ
fcntl.fcntl(fd, fcntl.F_SETFL, os.O_NONBLOCK)
open(out + ".ready", "w").close()
got, stalled, idle = b"", False, 0
while True:
    try:
        b = os.read(fd, 65536)
    except BlockingIOError:
        b = b""
    got += b
    if not stalled and b"SLOW-BEGIN" in got:
        stalled = True
        time.sleep(stall)
        continue
    if b:
        idle = 0
    elif os.path.exists(stop):
        idle += 1
        if idle > 20:
            break
    time.sleep(0.05)
open(out, "wb").write(got)
PY
python3 "$T/reader.py" "$T/out" "$T/got" "$stall" "$T/stop" &
reader=$!
E2E_PIDS="$E2E_PIDS $reader"
wait_for_file "$T/got.ready" 10 || fail "the reader did not start"
# ember and, after it, the shell that shares its stdout: the file's flags
# afterwards, as the kernel reports them (octal; O_NONBLOCK is 04000).
( "$EMBER_BIN" --no-api --config-file "$T/vm.json" --metrics-path "$T/metrics.json" 2>"$T/err"
  echo "EMBER-EXIT=$?"
  echo "AFTER-$(grep '^flags:' /proc/self/fdinfo/1 | tr -d '\t ')" ) >"$T/out" &
vm=$!
E2E_PIDS="$E2E_PIDS $vm"
wait_for_exit "$vm" "$(e2e_secs 120)" || { tail -n 5 "$T/err" >&2; fail "ember did not end"; }
touch "$T/stop"
wait "$reader" || fail "the reader failed"
tr -d '\r' <"$T/got" >"$T/clean"
show() {
	echo "--- console (last 10 lines, cut)" >&2
	tail -n 10 "$T/clean" | cut -c1-160 >&2
	echo "--- ember stderr" >&2
	tail -n 10 "$T/err" >&2
}
grep -qx 'EMBER-EXIT=0' "$T/clean" || { show; fail "ember did not exit 0"; }
want=$(grep -ao 'SLOW-END sum=[0-9a-f]*' "$T/clean" | head -n1 | cut -d= -f2)
got=$(awk '/^SLOW-BEGIN/ { on = 1; next } /^SLOW-END/ { exit } on' "$T/clean" | md5sum | cut -d' ' -f1)
[ -n "$want" ] && [ "$want" = "$got" ] || { show; fail "the output arrived incomplete or corrupted (guest md5 '$want', host md5 $got)"; }
missed=$(grep -o '"missed_write_count":[0-9]*' "$T/metrics.json" | tail -n1 | cut -d: -f2)
[ "$missed" = 0 ] || { show; fail "uart.missed_write_count is '$missed', want 0"; }
flags=$(sed -n 's/^AFTER-flags://p' "$T/clean")
[ -n "$flags" ] || { show; fail "no flags line from the shell after ember"; }
[ $((0$flags & 04000)) = 0 ] || fail "stdout is still O_NONBLOCK after ember exited (flags $flags)"
log "reader stalled $stall s during a $kib KiB console burst through a 4 KiB pipe: all of it arrived; stdout flags afterwards $flags"
echo "PASS: a stalled console reader lost nothing; stdout is blocking again after ember"
