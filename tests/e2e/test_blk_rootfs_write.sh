#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The guest's root filesystem is an ext4 image on virtio-blk (rw). The guest
# writes a file, syncs and reboots; the host finds the exact bytes in the image.
set -u
. "$(dirname "$0")/virtio_common.sh"
vt_need_kvm
vt_tmpdir
cp --reflink=auto "$EMBER_GUEST_ROOTFS_EXT4" "$VT_TMP/root.ext4"
token="ember-blk-$$-$(date +%s%N)"
args=$(vt_boot_args "set -e
grep -q ' / ext4 rw' /proc/mounts
[ \"\$(cat /sys/block/vda/ro)\" = 0 ]
printf '%s' '$token' >/written.txt
dd if=/dev/urandom of=/blob bs=4096 count=64 2>/dev/null
md5sum /blob
sync")
vt_config "$VT_TMP/vm.json" "$args" \
	"{ \"drive_id\": \"rootfs\", \"path_on_host\": \"$VT_TMP/root.ext4\", \"is_root_device\": true, \"is_read_only\": false, \"cache_type\": \"Writeback\" }"
vt_run "$VT_TMP/vm.json" "$VT_TMP/console.log"
vt_expect_ok "$VT_TMP/console.log" $?
got=$(debugfs -R "cat /written.txt" "$VT_TMP/root.ext4" 2>/dev/null)
[ "$got" = "$token" ] || vt_fail "image holds '$got', guest wrote '$token'"
want=$(tr -d '\r' <"$VT_TMP/console.log" | sed -n 's/^\([0-9a-f]\{32\}\)  \/blob$/\1/p' | tail -n1)
debugfs -R "dump /blob $VT_TMP/blob" "$VT_TMP/root.ext4" >/dev/null 2>&1
have=$(md5sum <"$VT_TMP/blob" | cut -d' ' -f1)
[ -n "$want" ] && [ "$want" = "$have" ] || vt_fail "blob md5 guest '$want' host '$have'"
e2fsck -fn "$VT_TMP/root.ext4" >/dev/null 2>&1 || vt_fail "e2fsck finds the image inconsistent"
echo "PASS: root ext4 on virtio-blk: guest writes reached the image"
