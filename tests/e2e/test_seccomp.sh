#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# seccomp end to end.
# (a) Default filters, nothing legitimate missing: ember (API mode, 2 vCPUs,
#     logger + metrics files) boots the guest with a writable ext4 root drive
#     (root=/dev/vda via is_root_device) and a tap in a private netns
#     (169.254.99.0/30); the guest writes, syncs, drops caches and re-reads
#     its disk, reads the raw device, pings the host; meanwhile the host
#     PATCHes the drive's and the interface's rate limiters,
#     pauses/resumes the VM, flushes metrics, reads /vm/config and pings the
#     guest; then the guest powers off: exit 0, no violation. After boot the
#     main thread has two filters (the running VM's is narrower), and the
#     API socket is left at exit (no unlink once the VM runs).
# (b) A forbidden syscall ends ember, on each thread kind, with filter files
#     (--seccomp-filter) that allow everything but one syscall:
#     - main thread, "accept4" -> trap: the first API connection ends ember
#       with "Shutting down VM after intercepting a bad syscall (288)." and
#       exit status 148;
#     - vCPU thread, ioctl(KVM_RUN) -> trap: the first KVM_RUN, same line
#       with (16), status 148;
#     - vCPU thread, "write" -> kill_process: the guest's first console byte
#       (the 8250 THR write happens on the vCPU thread) kills ember with
#       SIGSYS (status 159), nothing reaches the console.
# timeout: 480
set -u
. "$(dirname "$0")/lib.sh"
need_kvm
need_ember
need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_ROOTFS_EXT4 EMBER_GUEST_INITRAMFS
command -v curl >/dev/null || _e2e_missing "curl not installed"
command -v ip >/dev/null || _e2e_missing "iproute2 not installed"
e2e_tmpdir
T=$E2E_TMP


# ---- (a) default filters, block + net, full boot ------------------------------
NS=ember-sc-$$
ip netns add "$NS" || fail "ip netns add"
e2e_on_exit "ip netns del $NS 2>/dev/null"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev sctap0 mode tap || fail "cannot create the tap"
ip -n "$NS" addr add 169.254.99.1/30 dev sctap0
ip -n "$NS" link set sctap0 up
cp "$EMBER_GUEST_ROOTFS_EXT4" "$T/rootfs.ext4"
: >"$T/ember.log"
: >"$T/metrics.json"

script='set -e
dd if=/dev/urandom of=/root/blob bs=64k count=64 2>/dev/null
sync
md5sum /root/blob
echo 3 >/proc/sys/vm/drop_caches
md5sum /root/blob
dd if=/dev/vda of=/dev/null bs=1M count=16 2>/dev/null
echo raw-read-ok
ip addr add 169.254.99.2/30 dev eth0
ip link set eth0 up
ping -c 3 -W 10 169.254.99.1
echo EMBER-SC-WAITING
read -r line </dev/console
echo "EMBER-SC-GOT-$line"
rm /root/blob
sync'
args="console=ttyS0 reboot=k panic=1 pci=off i8042.noaux i8042.nomux i8042.nopnp quiet ember.sh=$(printf '%s\n' "$script" | base64 -w0)"
mkfifo "$T/console.in"
exec 7<>"$T/console.in"
SOCK=$T/api.sock
CONSOLE=$T/console.log
# (bash gives a background command /dev/null as stdin unless that command
# redirects it itself: hence the exec inside bash -c)
e2e_bg bash -c 'exec "$@" <"$0"' "$T/console.in" \
	ip netns exec "$NS" ${EMBER_SC_WRAP:-} "$EMBER_BIN" --api-sock "$SOCK" ${EMBER_SC_ARGS:-} \
	>"$T/console.log" 2>&1
PID=$E2E_PID
wait_for_file "$SOCK" "$(e2e_secs 3)" "$PID" || fail "no API socket"
put() {
	api "$SOCK" PUT "$1" "$2" ||
		{ tail -n 20 "$T/console.log" "$T/ember.log" >&2; fail "PUT $1: HTTP $API_STATUS $API_BODY"; }
}
put /logger "{\"log_path\": \"$T/ember.log\", \"level\": \"Info\"}"
put /metrics "{\"metrics_path\": \"$T/metrics.json\"}"
put /boot-source "{\"kernel_image_path\": \"$EMBER_GUEST_BZIMAGE\", \"boot_args\": \"$args\"}"
put /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$T/rootfs.ext4\", \"is_root_device\": true, \"is_read_only\": false}"
put /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "sctap0", "guest_mac": "06:00:a9:fe:63:02"}'
put /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
put /actions '{"action_type": "InstanceStart"}'
wait_for_line "$T/console.log" '^EMBER-SC-WAITING' "$(e2e_secs 20)" "$PID" ||
	{ tail -n 40 "$T/console.log" >&2; fail "(a) the guest did not reach the end of its script"; }
for t in /proc/$PID/task/*; do
	grep -q '^Seccomp:[[:space:]]*2' "$t/status" || fail "(a) thread $(cat "$t/comm") has no filter"
done
# Once the VM runs, the main thread has a second, narrower filter on top of
# its first (vm_start); the vCPU threads have the first and their own.
n=$(sed -n 's/^Seccomp_filters:[[:space:]]*//p' /proc/$PID/status)
[ "$n" = 2 ] || fail "(a) the main thread has '$n' seccomp filters, want 2"
# What the running VM's main filter must still allow: PATCH of the
# drive's and the interface's rate limiters (new timers), then the rest.
api "$SOCK" PATCH /drives/rootfs '{"drive_id": "rootfs", "rate_limiter": {"bandwidth": {"size": 104857600, "refill_time": 100}}}' ||
	fail "(a) PATCH /drives rate limiter: HTTP $API_STATUS $API_BODY"
api "$SOCK" PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"ops": {"size": 10000, "refill_time": 100}}, "tx_rate_limiter": {"bandwidth": {"size": 104857600, "refill_time": 100}}}' ||
	fail "(a) PATCH /network-interfaces: HTTP $API_STATUS $API_BODY"
api "$SOCK" PATCH /vm '{"state": "Paused"}' || fail "(a) pause: HTTP $API_STATUS"
sleep 1
api "$SOCK" PATCH /vm '{"state": "Resumed"}' || fail "(a) resume: HTTP $API_STATUS"
api "$SOCK" PUT /actions '{"action_type": "FlushMetrics"}' || fail "(a) FlushMetrics: HTTP $API_STATUS"
api "$SOCK" GET /vm/config || fail "(a) GET /vm/config: HTTP $API_STATUS"
case $API_BODY in *'"rootfs"'*) ;; *) fail "(a) /vm/config lacks the drive: $API_BODY" ;; esac
api "$SOCK" GET / || fail "(a) GET /: HTTP $API_STATUS"
host_ping "$NS" 169.254.99.2 || fail "(a) host -> guest ping"
# the tty may drop input sent before the read starts: repeat until seen
for _ in $(seq 1 "$(e2e_secs 3)"); do
	echo go >&7
	wait_for_line "$CONSOLE" '^EMBER-SC-GOT-go' 1 "$PID" && break
done
wait_for_exit "$PID" "$(e2e_secs 15)"
rc=$?
con=$(tr -d '\r' <"$T/console.log")
if grep -q 'bad syscall' "$T/console.log" "$T/ember.log"; then
	grep -h 'bad syscall' "$T/console.log" "$T/ember.log" >&2
	fail "(a) the default filters stopped a legitimate syscall"
fi
code=$(echo "$con" | sed -n 's/^EMBER-SCRIPT-EXIT=\([0-9]*\).*/\1/p' | tail -n1)
[ "$rc" = 0 ] && [ "$code" = 0 ] || { echo "$con" | tail -n 30 >&2; fail "(a) ember exit $rc, guest script exit '$code'"; }
echo "$con" | grep -q '^EMBER-SC-GOT-go' || fail "(a) console input did not reach the guest"
sums=$(echo "$con" | sed -n 's/^\([0-9a-f]\{32\}\)  \/root\/blob$/\1/p' | sort -u | wc -l)
[ "$sums" = 1 ] || fail "(a) the re-read blob differs from the written one"
echo "$con" | grep -q ' 0% packet loss' || fail "(a) guest -> host ping lost packets"
[ -s "$T/metrics.json" ] || fail "(a) no metrics written"
# No file removal once the VM runs: api_destroy's unlink got EPERM.
[ -S "$SOCK" ] || fail "(a) the API socket was removed at exit after boot"
log "(a) default filters: block (write, sync, re-read, raw read) + net (ping both ways), PATCH of rate limiters, pause/resume, metrics: exit 0"

# ---- (b) forbidden syscalls ------------------------------------------------------
# filter FILE MAIN_RULES MAIN_ACTION VCPU_RULES VCPU_ACTION: everything allowed
# but the rules, which get the action.
filter() {
	cat >"$1" <<EOF
{
  "main": { "default_action": "allow", "filter_action": $3, "filter": [ $2 ] },
  "vcpu": { "default_action": "allow", "filter_action": $5, "filter": [ $4 ] }
}
EOF
}
cat >"$T/vm.json" <<EOF
{
  "boot-source": { "kernel_image_path": "$EMBER_GUEST_BZIMAGE", "initrd_path": "$EMBER_GUEST_INITRAMFS",
                   "boot_args": "console=ttyS0 reboot=k panic=1 pci=off" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 }
}
EOF

# main thread: accept4 -> trap
filter "$T/main-accept4.json" '{"syscall": "accept4", "comment": "the first API connection"}' '"trap"' '' '"trap"'
e2e_bg "$EMBER_BIN" --api-sock "$T/b1.sock" --seccomp-filter "$T/main-accept4.json" >"$T/b1.log" 2>&1
P=$E2E_PID
wait_for_file "$T/b1.sock" "$(e2e_secs 3)" "$P" || { cat "$T/b1.log" >&2; fail "(b main) no API socket"; }
grep -q '^Seccomp:[[:space:]]*2' /proc/$P/status || fail "(b main) no filter on the main thread"
api "$T/b1.sock" GET / && fail "(b main) the API answered through a forbidden accept4"
wait_for_exit "$P" "$(e2e_secs 2)"
rc=$?
[ $rc = 148 ] || { cat "$T/b1.log" >&2; fail "(b main) exit status $rc, want 148"; }
grep -q 'Shutting down VM after intercepting a bad syscall (288)\.' "$T/b1.log" ||
	{ cat "$T/b1.log" >&2; fail "(b main) no report line for accept4 (288)"; }
log "(b) main thread: accept4 -> 'bad syscall (288)', exit 148"

# vCPU thread: ioctl(KVM_RUN) -> trap (KVM_RUN = _IO(0xAE, 0x80) = 44672)
filter "$T/vcpu-kvmrun.json" '' '"trap"' \
	'{"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": "eq", "val": 44672, "comment": "KVM_RUN"}]}' '"trap"'
timeout -k 5 "$(e2e_secs 6)" "$EMBER_BIN" --no-api --config-file "$T/vm.json" \
	--seccomp-filter "$T/vcpu-kvmrun.json" </dev/null >"$T/b2.log" 2>&1
rc=$?
[ $rc = 148 ] || { tail -n 20 "$T/b2.log" >&2; fail "(b vcpu) exit status $rc, want 148"; }
grep -q 'Shutting down VM after intercepting a bad syscall (16)\.' "$T/b2.log" ||
	{ tail -n 20 "$T/b2.log" >&2; fail "(b vcpu) no report line for ioctl (16)"; }
grep -q 'Linux version' "$T/b2.log" && fail "(b vcpu) the guest ran despite KVM_RUN being forbidden"
log "(b) vCPU thread: ioctl(KVM_RUN) -> 'bad syscall (16)', exit 148"

# vCPU thread: write -> kill_process (the main thread may still write)
filter "$T/vcpu-write.json" '' '"trap"' '{"syscall": "write", "comment": "8250 THR -> stdout"}' '"kill_process"'
timeout -k 5 "$(e2e_secs 6)" "$EMBER_BIN" --no-api --config-file "$T/vm.json" \
	--seccomp-filter "$T/vcpu-write.json" </dev/null >"$T/b3.log" 2>&1
rc=$?
[ $rc = 159 ] || { tail -n 20 "$T/b3.log" >&2; fail "(b vcpu write) exit status $rc, want 159 (SIGSYS)"; }
grep -q 'Linux version' "$T/b3.log" && fail "(b vcpu write) console output got through"
log "(b) vCPU thread: write -> killed by SIGSYS (status 159)"

echo "PASS: default filters boot block+net with nothing missing; forbidden syscalls end ember on the main (accept4) and vCPU (KVM_RUN, write) threads"
