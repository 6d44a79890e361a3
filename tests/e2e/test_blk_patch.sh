#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# PATCH /drives/{id} after boot, as Firecracker does it:
# - before InstanceStart it is refused (400);
# - bad PATCHes (unknown drive, id mismatch, missing file, a field PATCH does
#   not take) get a 400 naming the problem and leave the drive working;
# - a new path_on_host swaps the backing file: the guest sees the new capacity
#   through the config-change interrupt (/sys/block/vda/size changes with
#   no action of its own) and reads the new file's bytes;
# - the same path again after the host file grew: the new size shows;
# - a rate limiter set by PATCH throttles the guest's reads.
# The guest polls /sys/block/vda/size: each size change is its cue.
# BLK_PATCH_IO_ENGINE=Async (test_blk_patch_async.sh) runs it all with the
# io_uring engine, in API mode under the default seccomp filters: the ring
# made at InstanceStart, each new file registered in it after the requests
# in flight completed.
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
need_kvm
need_ember
need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS
command -v curl >/dev/null || _e2e_missing "no curl"
e2e_tmpdir
T=$E2E_TMP

# a.img: 8 MiB of 'A'; b.img: 16 MiB of 'B' (then grown to 24 MiB).
head -c $((8 << 20)) /dev/zero | tr '\0' A >"$T/a.img"
head -c $((16 << 20)) /dev/zero | tr '\0' B >"$T/b.img"

script='t() { awk "{ printf \"%d\", \$1 * 100 }" /proc/uptime; }
wait_size() { i=0; while [ "$(cat /sys/block/vda/size)" = "$1" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done; }
head4() { dd if=/dev/vda bs=4096 count=1 iflag=direct 2>/dev/null | head -c 4; }
s=$(cat /sys/block/vda/size); echo "PATCH-SIZE0=$s HEAD0=$(head4)"
wait_size $s
s=$(cat /sys/block/vda/size); echo "PATCH-SIZE1=$s HEAD1=$(head4)"
wait_size $s
s=$(cat /sys/block/vda/size); echo "PATCH-SIZE2=$s"
a=$(t); dd if=/dev/vda of=/dev/null bs=64k count=48 iflag=direct 2>/dev/null; b=$(t)
echo "PATCH-RL-CS=$((b - a))"'
args="console=ttyS0 reboot=k panic=1 pci=off quiet ember.sh=$(printf '%s\n' "$script" | base64 -w0)"

sock=$T/api.sock
e2e_bg "$EMBER_BIN" --api-sock "$sock" --log-path "$T/ember.log" </dev/null >"$T/console.log" 2>"$T/stderr.log"
pid=$E2E_PID
wait_for_file "$sock" "$(e2e_secs 10)" || fail "no API socket"
show() {
	echo "--- console (last 20 lines)" >&2
	tr -d '\r' <"$T/console.log" | tail -n 20 >&2
	echo "--- ember log (last 10 lines)" >&2
	tail -n 10 "$T/ember.log" "$T/stderr.log" >&2
}
expect() { # expect STATUS TEXT-IN-FAULT-MESSAGE WHAT
	[ "$API_STATUS" = "$1" ] || { show; fail "$3: HTTP $API_STATUS ($API_BODY), want $1"; }
	[ -z "$2" ] || echo "$API_BODY" | grep -qF -- "$2" ||
		{ show; fail "$3: fault message '$API_BODY' lacks '$2'"; }
}

api "$sock" PUT /boot-source "{\"kernel_image_path\": \"$EMBER_GUEST_BZIMAGE\",
	\"initrd_path\": \"$EMBER_GUEST_INITRAMFS\", \"boot_args\": \"$args\"}" ||
	fail "boot-source: $API_STATUS $API_BODY"
api "$sock" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}' ||
	fail "machine-config: $API_STATUS $API_BODY"
ENGINE=${BLK_PATCH_IO_ENGINE:-Sync}
api "$sock" PUT /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$T/a.img\",
	\"is_root_device\": false, \"is_read_only\": true, \"io_engine\": \"$ENGINE\"}" ||
	fail "drives: $API_STATUS $API_BODY"
api "$sock" PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$T/b.img\"}"
expect 400 "not supported before starting the microVM" "PATCH before InstanceStart"
api "$sock" PUT /actions '{"action_type": "InstanceStart"}' || { show; fail "InstanceStart: $API_STATUS $API_BODY"; }

wait_for_line "$T/console.log" 'PATCH-SIZE0=' "$(e2e_secs 60)" "$pid" || { show; fail "the guest did not start"; }
grep -aq 'PATCH-SIZE0=16384 HEAD0=AAAA' "$T/console.log" ||
	{ show; fail "the guest should see 16384 sectors of 'A' first"; }

# Bad PATCHes: each a 400 naming the problem; nothing changes.
api "$sock" PATCH /drives/nosuch '{"drive_id": "nosuch", "path_on_host": "/dev/null"}'
expect 400 "The block device ID is invalid: nosuch" "PATCH of an unknown drive"
api "$sock" PATCH /drives/scratch "{\"drive_id\": \"other\", \"path_on_host\": \"$T/b.img\"}"
expect 400 "The id from the path does not match the id from the body" "PATCH with mismatched ids"
api "$sock" PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$T/missing.img\"}"
expect 400 "$T/missing.img" "PATCH to a missing file"
mkfifo "$T/fifo"    # no writer: opening it for reading must not block ember
api "$sock" PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$T/fifo\"}"
expect 400 "$T/fifo is a FIFO, not a regular file or a block device" "PATCH to a FIFO"
api "$sock" PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"is_read_only\": false}"
expect 400 "unknown field \`is_read_only\`" "PATCH of a field PATCH does not take"
api "$sock" PATCH /drives/scratch '{"drive_id": "scratch", "rate_limiter": {"bandwidth": {"size": -1, "refill_time": 100}}}'
expect 400 "size" "PATCH with a negative bucket size"
sleep 1
grep -aq 'PATCH-SIZE1=' "$T/console.log" && { show; fail "a refused PATCH changed the drive"; }

# Swap the backing file: 16 MiB of 'B'.
api "$sock" PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$T/b.img\"}" ||
	{ show; fail "PATCH path_on_host: $API_STATUS $API_BODY"; }
wait_for_line "$T/console.log" 'PATCH-SIZE1=' "$(e2e_secs 60)" "$pid" ||
	{ show; fail "the guest never saw the new size (no config-change interrupt?)"; }
grep -aq 'PATCH-SIZE1=32768 HEAD1=BBBB' "$T/console.log" ||
	{ show; fail "after the swap the guest should see 32768 sectors of 'B'"; }

# The same file, grown to 24 MiB, plus a 1 MiB/s rate limiter.
truncate -s 24M "$T/b.img"
api "$sock" PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$T/b.img\",
	\"rate_limiter\": {\"bandwidth\": {\"size\": 1048576, \"refill_time\": 1000}}}" ||
	{ show; fail "PATCH size + rate limiter: $API_STATUS $API_BODY"; }
wait_for_line "$T/console.log" 'PATCH-RL-CS=' "$(e2e_secs 120)" "$pid" ||
	{ show; fail "the guest did not finish its throttled read"; }
grep -aq 'PATCH-SIZE2=49152' "$T/console.log" || { show; fail "the guest should see 49152 sectors after the resize"; }
cs=$(tr -d '\r' <"$T/console.log" | grep -ao 'PATCH-RL-CS=[0-9]*' | cut -d= -f2)
# 3 MiB at 1 MiB/s with a full 1 MiB bucket: at least ~2 s; allow for the
# guest's 10 ms clock and the bucket's first refill.
[ "${cs:-0}" -ge 150 ] || { show; fail "3 MiB read in ${cs} cs with a 1 MiB/s limiter: not throttled"; }
log "throttled read: 3 MiB in $cs cs"

wait_for_exit "$pid" "$(e2e_secs 60)"
rc=$?
grep -aq 'EMBER-SCRIPT-EXIT=0' "$T/console.log" || { show; fail "the guest script failed"; }
[ "$rc" = 0 ] || { show; fail "ember exit $rc"; }
if [ "$ENGINE" = Async ]; then
	grep -q 'virtio-blk scratch: io_engine Async' "$T/ember.log" || { show; fail "the drive did not use the Async engine"; }
	grep -q 'Shutting down VM after intercepting a bad syscall' "$T/stderr.log" "$T/ember.log" &&
		{ show; fail "a seccomp violation"; }
fi
echo "PASS: PATCH /drives ($ENGINE): refused before boot and when bad; swap and resize seen by the guest; rate limiter throttles ($cs cs for 3 MiB)"
