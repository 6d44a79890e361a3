#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Data safety, two boots from the initramfs:
#
# 1. Acknowledged writes survive SIGKILL. Drives with cache_type
#    "Writeback" (VIRTIO_BLK_F_FLUSH offered, FLUSH -> fdatasync): the guest
#    writes 1 MiB of random data to a raw drive at a known offset
#    (dd conv=fsync: write, then FLUSH) and a file on an ext4 drive (then
#    `sync`), prints each checksum, and idles. The test SIGKILLs ember the
#    moment the last marker appears on the console; every acknowledged byte
#    must be in the host files (dd at the offset; the ext4 image after a
#    journal replay with e2fsck, read with debugfs).
# 2. A host I/O error reaches the guest. A drive backed by a sparse 16 MiB
#    file on a 2 MiB tmpfs: writing 4 MiB fails with ENOSPC on the host, the
#    guest's dd must fail with an I/O error (not silent loss), data written
#    before the error reads back intact, ember keeps running (its API
#    answers after the error), and the guest powers off normally (exit 0).
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
need_kvm
need_ember
need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS EMBER_GUEST_ROOTFS_EXT4
for tool in debugfs e2fsck md5sum curl; do
	command -v $tool >/dev/null || _e2e_missing "no $tool"
done
e2e_tmpdir
T=$E2E_TMP
# Consoles and logs end up next to the runner's log, for a post-mortem.
e2e_on_exit "mkdir -p '$E2E_ROOT/build/e2e/$E2E_NAME' &&
	cp '$T'/*.console '$T'/*.log '$E2E_ROOT/build/e2e/$E2E_NAME/' 2>/dev/null"

boot_args() { # SCRIPT
	printf 'console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.nopnp ember.sh=%s' \
		"$(printf '%s\n' "$1" | base64 -w0)"
}

vm_config() { # FILE BOOT_ARGS DRIVES_JSON
	cat >"$1" <<EOF
{
  "boot-source": { "kernel_image_path": "$EMBER_GUEST_BZIMAGE",
                   "initrd_path": "$EMBER_GUEST_INITRAMFS", "boot_args": "$2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "drives": [ $3 ]
}
EOF
}

show() { # CONSOLE LOG
	echo "--- console (last 30 lines)" >&2
	tr -d '\r' <"$1" | grep -av '^$' | tail -n 30 >&2
	echo "--- ember log (last 15 lines)" >&2
	tail -n 15 "$2" >&2
}

md5_of() { md5sum | cut -d' ' -f1; }

# ---- 1. SIGKILL after fsync ----
cp "$EMBER_GUEST_ROOTFS_EXT4" "$T/fs.ext4" || fail "copy the rootfs image"
truncate -s 32M "$T/raw.img"
# Raw drive: 1 MiB at byte offset 5 MiB + 4 KiB (sector 10248). ext4: a
# 1 MiB file and a small one, then sync (journal commit + FLUSH).
script='set -e
dd if=/dev/urandom of=/tmp/a bs=4096 count=256 2>/dev/null
dd if=/tmp/a of=/dev/vdb bs=4096 seek=1281 conv=fsync,notrunc 2>/dev/null
echo "SAFE-RAW md5=$(md5sum </tmp/a | cut -d" " -f1)"
mount -t ext4 /dev/vda /mnt
mkdir -p /mnt/safety
dd if=/dev/urandom of=/mnt/safety/blob bs=4096 count=256 2>/dev/null
echo "acknowledged $(date)" >/mnt/safety/note
sync
echo "SAFE-EXT4 md5=$(md5sum </mnt/safety/blob | cut -d" " -f1) note=$(md5sum </mnt/safety/note | cut -d" " -f1)"
# Keep the drive busy with writes that were never acknowledged.
while :; do dd if=/dev/urandom of=/mnt/safety/junk bs=4096 count=64 2>/dev/null; done'
vm_config "$T/kill.json" "$(boot_args "$script")" \
	"{ \"drive_id\": \"fs\", \"path_on_host\": \"$T/fs.ext4\", \"is_root_device\": false,
	   \"is_read_only\": false, \"cache_type\": \"Writeback\" },
	 { \"drive_id\": \"raw\", \"path_on_host\": \"$T/raw.img\", \"is_root_device\": false,
	   \"is_read_only\": false, \"cache_type\": \"Writeback\" }"
e2e_bg "$EMBER_BIN" --no-api --config-file "$T/kill.json" --log-path "$T/kill.log" \
	</dev/null >"$T/kill.console" 2>&1
pid=$E2E_PID
wait_for_line "$T/kill.console" 'SAFE-EXT4 md5=' "$(e2e_secs 20)" "$pid"
r=$?
# Kill first, look later: the marker means "acknowledged", nothing more.
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ "$r" = 0 ] || { show "$T/kill.console" "$T/kill.log"; fail "no SAFE-EXT4 marker (wait: $r)"; }
con=$(tr -d '\r' <"$T/kill.console")
want_raw=$(echo "$con" | sed -n 's/^SAFE-RAW md5=\([0-9a-f]\{32\}\).*/\1/p' | tail -n1)
want_blob=$(echo "$con" | sed -n 's/^SAFE-EXT4 md5=\([0-9a-f]\{32\}\) .*/\1/p' | tail -n1)
want_note=$(echo "$con" | sed -n 's/^SAFE-EXT4 .* note=\([0-9a-f]\{32\}\).*/\1/p' | tail -n1)
[ -n "$want_raw" ] && [ -n "$want_blob" ] && [ -n "$want_note" ] ||
	{ show "$T/kill.console" "$T/kill.log"; fail "markers without checksums"; }
have_raw=$(dd if="$T/raw.img" bs=4096 skip=1281 count=256 2>/dev/null | md5_of)
[ "$have_raw" = "$want_raw" ] || fail "raw drive after SIGKILL: md5 $have_raw, guest wrote $want_raw"
log "raw drive: 1 MiB at offset 5 MiB + 4 KiB intact after SIGKILL"
# The guest did not unmount: replay the journal as the next mount would
# (e2fsck exits 1 when it fixed/replayed something; >= 4 is real damage).
e2fsck -fy "$T/fs.ext4" >"$T/fsck.out" 2>&1
frc=$?
[ "$frc" -lt 4 ] || { cat "$T/fsck.out" >&2; fail "e2fsck after SIGKILL: exit $frc"; }
have_blob=$(debugfs -R 'cat /safety/blob' "$T/fs.ext4" 2>/dev/null | md5_of)
have_note=$(debugfs -R 'cat /safety/note' "$T/fs.ext4" 2>/dev/null | md5_of)
[ "$have_blob" = "$want_blob" ] || fail "ext4 /safety/blob after SIGKILL: md5 $have_blob, guest $want_blob"
[ "$have_note" = "$want_note" ] || fail "ext4 /safety/note after SIGKILL: md5 $have_note, guest $want_note"
log "ext4 drive: synced files intact after SIGKILL (e2fsck exit $frc)"

# ---- 2. host ENOSPC -> guest EIO ----
mkdir -p "$T/small"
mount -t tmpfs -o size=2M tmpfs "$T/small" || _e2e_missing "cannot mount a tmpfs (needs root)"
e2e_on_exit "umount '$T/small' 2>/dev/null"
truncate -s 16M "$T/small/full.img"
# 512 KiB first (fits), then 4 MiB (does not): the guest must see the error
# (O_DIRECT: the write itself fails; conv=fsync: at the latest the flush).
script='dd if=/dev/urandom of=/tmp/b bs=4096 count=128 2>/dev/null
dd if=/tmp/b of=/dev/vda bs=4096 oflag=direct conv=fsync,notrunc 2>&1
echo "FIRST-RC=$? md5=$(md5sum </tmp/b | cut -d" " -f1)"
dd if=/dev/urandom of=/dev/vda bs=65536 seek=16 count=64 oflag=direct conv=fsync,notrunc 2>&1
echo "BIG-RC=$?"
dd if=/dev/vda of=/tmp/c bs=4096 count=128 iflag=direct 2>/dev/null
echo "READBACK-RC=$? md5=$(md5sum </tmp/c | cut -d" " -f1)"
echo AFTER-EIO
until dd if=/dev/vdb bs=512 count=1 iflag=direct 2>/dev/null | grep -q go; do sleep 1; done
echo GOT-go'
vm_config "$T/eio.json" "$(boot_args "$script")" \
	"{ \"drive_id\": \"full\", \"path_on_host\": \"$T/small/full.img\", \"is_root_device\": false,
	   \"is_read_only\": false, \"cache_type\": \"Writeback\" },
	 { \"drive_id\": \"ctl\", \"path_on_host\": \"$T/ctl.img\", \"is_root_device\": false,
	   \"is_read_only\": true }"
sock=$T/api.sock
# After the error the guest waits until the host writes "go" into a second
# drive, so the API is asked while the guest certainly still runs (no
# sleeps: guest clocks in the emulated host are unreliable; no console
# input: the serial interrupt is not reliable there either, see SECURITY.md).
truncate -s 1M "$T/ctl.img"
e2e_bg "$EMBER_BIN" --api-sock "$sock" --config-file "$T/eio.json" --log-path "$T/eio.log" \
	</dev/null >"$T/eio.console" 2>&1
pid=$E2E_PID
# Markers unanchored: the kernel's I/O error lines may land mid-line.
wait_for_line "$T/eio.console" 'AFTER-EIO' "$(e2e_secs 20)" "$pid" ||
	{ show "$T/eio.console" "$T/eio.log"; fail "the guest did not get past the failing write"; }
api "$sock" GET / || { show "$T/eio.console" "$T/eio.log"; fail "API after the I/O error: $API_STATUS"; }
echo "$API_BODY" | grep -q '"state": *"Running"' || fail "instance state after the I/O error: $API_BODY"
printf 'go\n' | dd of="$T/ctl.img" conv=notrunc 2>/dev/null
wait_for_exit "$pid" "$(e2e_secs 20)"
rc=$?
con=$(tr -d '\r' <"$T/eio.console")
[ "$rc" = 0 ] || { show "$T/eio.console" "$T/eio.log"; fail "ember exit $rc (want 0 after the guest's power-off)"; }
echo "$con" | grep -q 'GOT-go' || { show "$T/eio.console" "$T/eio.log"; fail "the guest did not continue"; }
echo "$con" | grep -q '^EMBER-SCRIPT-EXIT=' || fail "the guest script did not finish"
first_rc=$(echo "$con" | sed -n 's/^FIRST-RC=\([0-9]*\).*/\1/p')
first_md5=$(echo "$con" | sed -n 's/^FIRST-RC=.* md5=\([0-9a-f]*\).*/\1/p')
big_rc=$(echo "$con" | sed -n 's/^BIG-RC=\([0-9]*\).*/\1/p')
rb_rc=$(echo "$con" | sed -n 's/^READBACK-RC=\([0-9]*\).*/\1/p')
rb_md5=$(echo "$con" | sed -n 's/^READBACK-RC=.* md5=\([0-9a-f]*\).*/\1/p')
[ "$first_rc" = 0 ] || { show "$T/eio.console" "$T/eio.log"; fail "the 512 KiB write that fits failed ($first_rc)"; }
[ -n "$big_rc" ] && [ "$big_rc" != 0 ] ||
	{ show "$T/eio.console" "$T/eio.log"; fail "the 4 MiB write onto a full host fs did not fail in the guest (rc '$big_rc')"; }
echo "$con" | grep -Eqi 'I/O error|Input/output error' ||
	{ show "$T/eio.console" "$T/eio.log"; fail "the guest never reported an I/O error"; }
[ "$rb_rc" = 0 ] && [ "$rb_md5" = "$first_md5" ] ||
	fail "data written before the error reads back wrong in the guest (rc $rb_rc, md5 $rb_md5 want $first_md5)"
have=$(dd if="$T/small/full.img" bs=4096 count=128 2>/dev/null | md5_of)
[ "$have" = "$first_md5" ] || fail "host file lost the data written before the error"
grep -q 'No space left on device' "$T/eio.log" ||
	{ tail -n 15 "$T/eio.log" >&2; fail "ember did not log the host ENOSPC"; }
log "ENOSPC on the host: guest dd failed (rc $big_rc) with an I/O error, ember kept running"
echo "PASS: data safety: fsync'd data survives SIGKILL (raw + ext4); host ENOSPC -> guest EIO, ember alive"
