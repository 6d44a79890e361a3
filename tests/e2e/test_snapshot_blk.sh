#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A virtio-blk drive across a snapshot: the guest writes and syncs a block
# before the snapshot; a fresh ember restores it, the guest drops its page
# cache, reads the block back from the drive, writes another and syncs; the
# host finds both in the image. The drive is reopened at its path and must
# still have the size the guest saw (a resized image is refused with a 400).
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup
truncate -s 4M "$T/disk.img"

script='printf "EMBER-BLK-BEFORE\n" | dd of=/dev/vda bs=512 seek=0 conv=notrunc 2>/dev/null
sync; echo BLK-WROTE1
i=0; while [ $i -lt 20 ]; do i=$((i + 1)); echo "wait $i"; sleep 1; done
echo 3 >/proc/sys/vm/drop_caches
echo "BLK-READ1=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -n 1)"
printf "EMBER-BLK-AFTER\n" | dd of=/dev/vda bs=512 seek=2048 conv=notrunc 2>/dev/null
sync; echo BLK-WROTE2
while :; do sleep 1; done'

sn_start "$T/a"
pa=$SN_PID
sn_boot "$T/a" "$script" 1 128
api "$T/a/api.sock" PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$T/disk.img\",
	\"is_root_device\": false, \"is_read_only\": false, \"cache_type\": \"Writeback\"}" ||
	fail "drives: $API_STATUS $API_BODY"
sn_start_vm "$T/a"
wait_for_line "$T/a/out" '^BLK-WROTE1' "$(e2e_secs 90)" "$pa" ||
	{ sn_show "$T/a/out" "$T/a/log"; fail "the guest did not write its first block"; }
sn_snapshot "$T/a" "$T/state" "$T/mem"
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
grep -q '^wait 20' "$T/a/out" && fail "the snapshot came after the guest's wait (too slow)"
head -c 16 "$T/disk.img" | grep -q EMBER-BLK-BEFORE || fail "the first block is not in the image"

# The image at another size is refused, then put back.
sn_start "$T/b"
pb=$SN_PID
truncate -s 8M "$T/disk.img"
api "$T/b/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$T/state\", \"mem_file_path\": \"$T/mem\"}"
sn_expect 400 "drive data: $T/disk.img holds 16384 sectors, the guest saw 8192" "a resized drive"
truncate -s 4M "$T/disk.img"
sn_load "$T/b" "$T/state" "$T/mem"
wait_for_line "$T/b/out" '^BLK-WROTE2' "$(e2e_secs 90)" "$pb" ||
	{ sn_show "$T/b/out" "$T/b/log"; fail "the restored guest did not write its second block"; }
tr -d '\r' <"$T/b/out" | grep -aq '^BLK-READ1=EMBER-BLK-BEFORE$' ||
	{ sn_show "$T/b/out"; fail "the restored guest did not read the first block back"; }
head -c 16 "$T/disk.img" | grep -q EMBER-BLK-BEFORE || fail "the first block is gone"
dd if="$T/disk.img" bs=512 skip=2048 count=1 2>/dev/null | head -c 15 | grep -q EMBER-BLK-AFTER ||
	fail "the second block is not in the image"
echo "PASS: virtio-blk: written before the snapshot, read back and written after the restore"
