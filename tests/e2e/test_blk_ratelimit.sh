#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A rate-limited drive is measurably throttled: 8 MiB of direct reads through
# a 1 MiB/s bandwidth bucket (1 MiB burst) take at least ~6 s, whatever the
# speed of the host; the same reads from an unlimited drive are timed too.
set -u
. "$(dirname "$0")/virtio_common.sh"
vt_need_kvm
vt_tmpdir
truncate -s 16M "$VT_TMP/slow.img" "$VT_TMP/fast.img"
# t: uptime in centiseconds, without leading zeros (ash reads 087 as octal)
args=$(vt_boot_args "t() { cut -d' ' -f1 /proc/uptime | tr -d . | sed 's/^0*\\(.\\)/\\1/'; }
a=\$(t); dd if=/dev/vdc of=/dev/null bs=1M count=8 iflag=direct 2>/dev/null || exit 5; b=\$(t)
echo FAST-CS=\$((b - a))
a=\$(t); dd if=/dev/vdb of=/dev/null bs=1M count=8 iflag=direct 2>/dev/null || exit 6; b=\$(t)
echo SLOW-CS=\$((b - a))")
rl='"rate_limiter": { "bandwidth": { "size": 1048576, "refill_time": 1000 } }'
vt_config "$VT_TMP/vm.json" "$args" \
	"{ \"drive_id\": \"rootfs\", \"path_on_host\": \"$EMBER_GUEST_ROOTFS_EXT4\", \"is_root_device\": true, \"is_read_only\": true },
	 { \"drive_id\": \"slow\", \"path_on_host\": \"$VT_TMP/slow.img\", \"is_root_device\": false, \"is_read_only\": true, $rl },
	 { \"drive_id\": \"fast\", \"path_on_host\": \"$VT_TMP/fast.img\", \"is_root_device\": false, \"is_read_only\": true }"
vt_run "$VT_TMP/vm.json" "$VT_TMP/console.log"
vt_expect_ok "$VT_TMP/console.log" $?
slow=$(tr -d '\r' <"$VT_TMP/console.log" | sed -n 's/^SLOW-CS=//p')
fast=$(tr -d '\r' <"$VT_TMP/console.log" | sed -n 's/^FAST-CS=//p')
vt_log "8 MiB: throttled ${slow}0 ms, unthrottled ${fast}0 ms"
[ -n "$slow" ] && [ "$slow" -ge 600 ] || vt_fail "throttled read took ${slow:-?} cs, want >= 600"
echo "PASS: rate limiter throttles (${slow}0 ms vs ${fast}0 ms)"
