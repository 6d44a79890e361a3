#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A second drive appears as /dev/vdb with the right size and serial (GET_ID =
# drive_id), and data written to it lands at the right offset of its file.
set -u
. "$(dirname "$0")/virtio_common.sh"
vt_need_kvm
vt_tmpdir
truncate -s 24M "$VT_TMP/scratch.img"
args=$(vt_boot_args "set -e
[ -b /dev/vdb ]
echo size=\$(cat /sys/block/vdb/size)
echo serial=\$(cat /sys/block/vdb/serial)
[ \"\$(cat /sys/block/vdb/size)\" = 49152 ]
[ \"\$(cat /sys/block/vdb/serial)\" = scratch ]
printf 'EMBER-VDB-PATTERN' | dd of=/dev/vdb bs=512 seek=1000 conv=fsync 2>/dev/null
dd if=/dev/vdb bs=512 skip=1000 count=1 2>/dev/null | head -c 17
echo")
vt_config "$VT_TMP/vm.json" "$args" \
	"{ \"drive_id\": \"rootfs\", \"path_on_host\": \"$EMBER_GUEST_ROOTFS_EXT4\", \"is_root_device\": true, \"is_read_only\": true },
	 { \"drive_id\": \"scratch\", \"path_on_host\": \"$VT_TMP/scratch.img\", \"is_root_device\": false, \"is_read_only\": false }"
vt_run "$VT_TMP/vm.json" "$VT_TMP/console.log"
vt_expect_ok "$VT_TMP/console.log" $?
got=$(dd if="$VT_TMP/scratch.img" bs=512 skip=1000 count=1 2>/dev/null | head -c 17)
[ "$got" = "EMBER-VDB-PATTERN" ] || vt_fail "scratch image holds '$got' at sector 1000"
grep -q 'virtio_mmio.device=4K@0xc0002000:6' "$VT_TMP/console.log" ||
	vt_log "(cmdline not echoed on the console; not checked)"
echo "PASS: second drive /dev/vdb: size, serial and data"
