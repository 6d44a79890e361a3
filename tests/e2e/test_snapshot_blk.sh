#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# virtio-blk drives across a snapshot, one with io_engine Sync and one with
# Async (io_uring): the guest writes and syncs a block on each before the
# snapshot, and keeps writing (and fsyncing) a counter block on the Async
# drive while the VM is paused and snapshotted, so its requests are in
# flight at the pause (the pause waits for them: nothing may be in flight in
# a snapshot). A fresh ember restores it; the guest drops its page cache,
# reads the blocks back, writes another on each and syncs; the host finds
# them all in the images, the counter block whole, and the restored drive
# still Async (GET /vm/config). A drive is reopened at its path and must
# still have the size the guest saw (a resized image is refused with a 400).
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup
truncate -s 4M "$T/disk.img"
truncate -s 4M "$T/async.img"

script='printf "EMBER-BLK-BEFORE\n" | dd of=/dev/vda bs=512 seek=0 conv=notrunc 2>/dev/null
printf "EMBER-ASYNC-BEFORE\n" | dd of=/dev/vdb bs=512 seek=0 conv=notrunc 2>/dev/null
sync
( n=0; while :; do n=$((n + 1))
  printf "ASYNC-COUNT-%08d\n" $n | dd of=/dev/vdb bs=512 seek=1024 conv=notrunc,fsync 2>/dev/null
  done ) &
w=$!
echo BLK-WROTE1
i=0; while [ $i -lt 20 ]; do i=$((i + 1)); echo "wait $i"; sleep 1; done
kill $w; wait $w 2>/dev/null
echo 3 >/proc/sys/vm/drop_caches
echo "BLK-READ1=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -n 1)"
echo "ASYNC-READ1=$(dd if=/dev/vdb bs=512 count=1 2>/dev/null | head -n 1)"
printf "EMBER-BLK-AFTER\n" | dd of=/dev/vda bs=512 seek=2048 conv=notrunc 2>/dev/null
printf "EMBER-ASYNC-AFTER\n" | dd of=/dev/vdb bs=512 seek=2048 conv=notrunc 2>/dev/null
sync; echo BLK-WROTE2
while :; do sleep 1; done'

sn_start "$T/a"
pa=$SN_PID
sn_boot "$T/a" "$script" 1 128
api "$T/a/api.sock" PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/disk.img\",
	\"is_root_device\": false, \"is_read_only\": false, \"cache_type\": \"Writeback\"}" ||
	fail "drives: $API_STATUS $API_BODY"
api "$T/a/api.sock" PUT /drives/adata "{\"drive_id\": \"adata\", \"path_on_host\": \"$T/async.img\",
	\"is_root_device\": false, \"is_read_only\": false, \"cache_type\": \"Writeback\",
	\"io_engine\": \"Async\"}" || fail "drives (Async): $API_STATUS $API_BODY"
sn_start_vm "$T/a"
sn_wait "$T/a" '^BLK-WROTE1' 90 "$pa" "the guest did not write its first block"
wait_for_line "$T/a/out" '^wait 2$' "$(e2e_secs 30)" "$pa" ||
	{ sn_show "$T/a/out"; fail "the guest's counter writer did not get going"; }
sn_snapshot "$T/a" "$T/state" "$T/mem"
grep -q 'virtio-blk adata: io_engine Async' "$T/a/log" ||
	{ sn_show "$T/a/log"; fail "the second drive did not use the Async engine"; }
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
grep -q '^wait 20' "$T/a/out" && fail "the snapshot came after the guest's wait (too slow)"
head -c 16 "$T/disk.img" | grep -q EMBER-BLK-BEFORE || fail "the first block is not in the image"
head -c 18 "$T/async.img" | grep -q EMBER-ASYNC-BEFORE || fail "the first Async block is not in the image"
# The counter the paused guest wrote last reached the image whole.
count1=$(dd if="$T/async.img" bs=512 skip=1024 count=1 2>/dev/null | head -n 1)
printf '%s\n' "$count1" | grep -qx 'ASYNC-COUNT-[0-9]\{8\}' ||
	fail "the Async counter block holds '$count1'"

# The image at another size is refused, then put back.
sn_start "$T/b"
pb=$SN_PID
truncate -s 8M "$T/disk.img"
api "$T/b/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$T/state\", \"mem_file_path\": \"$T/mem\"}"
sn_expect 400 "drive data: $T/disk.img holds 16384 sectors, the guest saw 8192" "a resized drive"
truncate -s 4M "$T/disk.img"
sn_load "$T/b" "$T/state" "$T/mem"
api "$T/b/api.sock" GET /vm/config || fail "vm/config: $API_STATUS $API_BODY"
printf '%s' "$API_BODY" | python3 -c '
import json, sys
d = {x["drive_id"]: x for x in json.load(sys.stdin)["drives"]}
assert d["data"]["io_engine"] == "Sync" and d["adata"]["io_engine"] == "Async", d' ||
	fail "the restored drives are not Sync and Async: $API_BODY"
sn_wait "$T/b" '^BLK-WROTE2' 90 "$pb" "the restored guest did not write its second block"
grep -q 'virtio-blk adata: io_engine Async' "$T/b/log" ||
	{ sn_show "$T/b/log"; fail "the restored Async drive did not use the Async engine"; }
tr -d '\r' <"$T/b/out" | grep -aq '^BLK-READ1=EMBER-BLK-BEFORE$' ||
	{ sn_show "$T/b/out"; fail "the restored guest did not read the first block back"; }
tr -d '\r' <"$T/b/out" | grep -aq '^ASYNC-READ1=EMBER-ASYNC-BEFORE$' ||
	{ sn_show "$T/b/out"; fail "the restored guest did not read the first Async block back"; }
head -c 16 "$T/disk.img" | grep -q EMBER-BLK-BEFORE || fail "the first block is gone"
dd if="$T/disk.img" bs=512 skip=2048 count=1 2>/dev/null | head -c 15 | grep -q EMBER-BLK-AFTER ||
	fail "the second block is not in the image"
dd if="$T/async.img" bs=512 skip=2048 count=1 2>/dev/null | head -c 17 | grep -q EMBER-ASYNC-AFTER ||
	fail "the second Async block is not in the image"
count2=$(dd if="$T/async.img" bs=512 skip=1024 count=1 2>/dev/null | head -n 1)
printf '%s\n' "$count2" | grep -qx 'ASYNC-COUNT-[0-9]\{8\}' ||
	fail "the Async counter block holds '$count2' after the restore"
[ "$count2" \> "$count1" ] || [ "$count2" = "$count1" ] ||
	fail "the Async counter went back: '$count1' at the snapshot, '$count2' after"
grep -q 'virtio-blk [a-z]*: \(read\|write\) of \|virtio-blk [a-z]*: fdatasync' "$T/a/log" "$T/b/log" &&
	fail "ember logged block I/O errors"
echo "PASS: virtio-blk (Sync and Async): written before the snapshot (Async writes in flight at the pause), read back and written after the restore"
