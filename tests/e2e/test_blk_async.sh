#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# io_engine "Async" (io_uring): the guest's root drive (ext4, rw, Writeback)
# and a data drive both use it. The guest writes a file on its root and
# syncs; on the data drive it runs 8 writers at once (many requests in
# flight), fsyncs, drops its caches and reads everything back, then reads
# with 8 readers at once; the host finds the same bytes in both images, the
# root image is consistent (e2fsck), and ember logged the engine for both
# drives and no I/O error.
set -u
. "$(dirname "$0")/virtio_common.sh"
vt_need_kvm
vt_tmpdir
cp --reflink=auto "$EMBER_GUEST_ROOTFS_EXT4" "$VT_TMP/root.ext4"
truncate -s 64M "$VT_TMP/data.img"
token="ember-async-$$-$(date +%s%N)"
args=$(vt_boot_args "set -e
grep -q ' / ext4 rw' /proc/mounts
printf '%s' '$token' >/written.txt
sync
[ -b /dev/vdb ]
dd if=/dev/urandom of=/tmp/chunk bs=64k count=16 2>/dev/null
for i in 0 1 2 3 4 5 6 7; do dd if=/tmp/chunk of=/dev/vdb bs=64k seek=\$((i * 16)) conv=notrunc 2>/dev/null & done
wait
sync
echo 3 >/proc/sys/vm/drop_caches
for i in 0 1 2 3 4 5 6 7; do dd if=/dev/vdb bs=64k skip=\$((i * 16)) count=16 2>/dev/null | md5sum & done | sort -u >/tmp/sums
wait
cat /tmp/sums
echo chunks=\$(wc -l </tmp/sums)
echo chunk=\$(md5sum </tmp/chunk)")
vt_config "$VT_TMP/vm.json" "$args" \
	"{ \"drive_id\": \"rootfs\", \"path_on_host\": \"$VT_TMP/root.ext4\", \"is_root_device\": true, \"is_read_only\": false, \"cache_type\": \"Writeback\", \"io_engine\": \"Async\" },
	 { \"drive_id\": \"data\", \"path_on_host\": \"$VT_TMP/data.img\", \"is_root_device\": false, \"is_read_only\": false, \"cache_type\": \"Writeback\", \"io_engine\": \"Async\" }"
vt_run "$VT_TMP/vm.json" "$VT_TMP/console.log"
vt_expect_ok "$VT_TMP/console.log" $?
con=$(tr -d '\r' <"$VT_TMP/console.log")
for d in rootfs data; do
	echo "$con" | grep -q "virtio-blk $d: io_engine Async" || vt_fail "drive $d did not use the Async engine"
done
echo "$con" | grep -q 'virtio-blk [a-z]*: \(read\|write\) of \|virtio-blk [a-z]*: fdatasync' &&
	vt_fail "ember logged block I/O errors"
# The guest read back one sum for all 8 chunks, the sum of what it wrote.
echo "$con" | grep -q '^chunks=1$' || vt_fail "the guest read back differing chunks"
want=$(echo "$con" | sed -n 's/^chunk=\([0-9a-f]\{32\}\).*/\1/p' | tail -n1)
[ -n "$want" ] || vt_fail "no chunk sum from the guest"
for i in 0 1 2 3 4 5 6 7; do
	have=$(dd if="$VT_TMP/data.img" bs=64k skip=$((i * 16)) count=16 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$have" = "$want" ] || vt_fail "data image chunk $i: host $have, guest wrote $want"
done
got=$(debugfs -R "cat /written.txt" "$VT_TMP/root.ext4" 2>/dev/null)
[ "$got" = "$token" ] || vt_fail "root image holds '$got', guest wrote '$token'"
e2fsck -fn "$VT_TMP/root.ext4" >/dev/null 2>&1 || vt_fail "e2fsck finds the root image inconsistent"
echo "PASS: io_engine Async: root and data drives, parallel writes and reads, data on the host"
