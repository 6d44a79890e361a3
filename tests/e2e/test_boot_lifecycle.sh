#!/bin/bash
# The boot timer logs the guest's boot time and ember's timeline;
# SIGTERM ends a running VM cleanly (exit 0, no thread left); serial input
# from ember's stdin reaches the guest's console.
# timeout: 900
. "$(dirname "$0")/lib.sh"
need_kvm; need_ember; need_guest
e2e_tmpdir

# 1. --boot-timer: the guest's init writes 123 at 0xC0000000.
ember_config "$E2E_TMP/t.json" "$EMBER_GUEST_BZIMAGE" "$EMBER_GUEST_INITRAMFS" \
	"console=ttyS0 reboot=k panic=1 pci=off ember.sh=$(echo true | base64 -w0)"
timeout -k 5 "$(e2e_secs 30)" "$EMBER_BIN" --no-api --boot-timer --config-file "$E2E_TMP/t.json" \
	</dev/null >"$E2E_TMP/t.out" 2>&1 || fail "boot-timer run: ember exit $?"
grep -Eq 'Guest-boot-time = +[0-9]+ us [0-9]+ ms, +[0-9]+ CPU us [0-9]+ CPU ms' "$E2E_TMP/t.out" ||
	{ tail -n 20 "$E2E_TMP/t.out" >&2; fail "no Guest-boot-time line"; }
grep -Eq 'Boot timeline: process_start=0us .*build_done=[0-9]+us first_kvm_run=[0-9]+us first_serial_byte=[0-9]+us guest_userspace=[0-9]+us' \
	"$E2E_TMP/t.out" || fail "no complete boot timeline line"
log "boot timer: $(grep -o 'Guest-boot-time.*' "$E2E_TMP/t.out")"

# 2. Interactive guest (no script): type a command on ember's stdin, read the
#    answer on its stdout, then SIGTERM ember.
ember_config "$E2E_TMP/i.json" "$EMBER_GUEST_BZIMAGE" "$EMBER_GUEST_INITRAMFS" \
	"console=ttyS0 reboot=k panic=1 pci=off quiet" 2
mkfifo "$E2E_TMP/in"
exec 7<>"$E2E_TMP/in"   # open both ends first: opening a FIFO for reading alone blocks
# Not e2e_bg: a background command's own redirection is the only way it
# keeps a stdin other than /dev/null in a non-interactive shell.
"$EMBER_BIN" --no-api --config-file "$E2E_TMP/i.json" <"$E2E_TMP/in" >"$E2E_TMP/i.out" 2>&1 &
pid=$!
E2E_PIDS="$E2E_PIDS $pid"
wait_for_line "$E2E_TMP/i.out" 'EMBER-GUEST-READY' "$(e2e_secs 30)" "$pid" ||
	{ tail -n 30 "$E2E_TMP/i.out" >&2; fail "interactive guest did not reach userspace"; }
# The shell prompt may come a little later; keep typing until the answer shows.
for _ in $(seq 1 "$(e2e_secs 10)"); do
	echo 'echo "sum=$((40 + 2))"' >&7
	wait_for_line "$E2E_TMP/i.out" '^sum=42' 2 "$pid" && break
done
tr -d '\r' <"$E2E_TMP/i.out" | grep -q '^sum=42' || fail "serial input did not reach the guest shell"
nthreads=$(ls /proc/"$pid"/task | wc -l)
[ "$nthreads" -ge 3 ] || fail "expected the main thread and 2 vCPU threads, found $nthreads"
kill -TERM "$pid"
wait_for_exit "$pid" "$(e2e_secs 10)"
rc=$?
exec 7>&-
[ "$rc" = 0 ] || fail "SIGTERM: ember exit status $rc, want 0"
grep -q 'received signal 15' "$E2E_TMP/i.out" || fail "no log line for SIGTERM"
log "ok"
