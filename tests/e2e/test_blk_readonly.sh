#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A read-only drive: the guest sees it read-only (VIRTIO_BLK_F_RO) and raw
# writes to it fail; the image is unchanged afterwards.
set -u
. "$(dirname "$0")/virtio_common.sh"
vt_need_kvm
vt_tmpdir
before=$(md5sum <"$EMBER_GUEST_ROOTFS_EXT4" | cut -d' ' -f1)
args=$(vt_boot_args "[ \"\$(cat /sys/block/vda/ro)\" = 1 ] || exit 10
grep -q ' / ext4 ro' /proc/mounts || exit 11
if touch /x 2>/dev/null; then exit 12; fi
# Past the kernel's own read-only check: open for writing must fail too.
if dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct 2>/dev/null; then exit 13; fi
exit 0")
vt_config "$VT_TMP/vm.json" "$args" \
	"{ \"drive_id\": \"rootfs\", \"path_on_host\": \"$EMBER_GUEST_ROOTFS_EXT4\", \"is_root_device\": true, \"is_read_only\": true }"
vt_run "$VT_TMP/vm.json" "$VT_TMP/console.log"
vt_expect_ok "$VT_TMP/console.log" $?
after=$(md5sum <"$EMBER_GUEST_ROOTFS_EXT4" | cut -d' ' -f1)
[ "$before" = "$after" ] || vt_fail "the read-only image changed"
echo "PASS: read-only drive refuses writes"
