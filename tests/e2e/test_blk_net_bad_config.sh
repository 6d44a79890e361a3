#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Bad drive / network configuration in --config-file: one error line and exit
# 1, no guest started. Needs no KVM (checked before the VM is built).
set -u
. "$(dirname "$0")/virtio_common.sh"
[ -x "$VT_EMBER" ] || vt_fail "$VT_EMBER missing: make"
vt_tmpdir
EMBER_GUEST_BZIMAGE=$VT_TMP/kernel
: >"$EMBER_GUEST_BZIMAGE"
truncate -s 1M "$VT_TMP/a.img"
chmod 000 "$VT_TMP/a.img"
truncate -s 1M "$VT_TMP/b.img"

FAILED=""
check() {   # check NAME DRIVES NETS
	vt_config "$VT_TMP/bad.json" "console=ttyS0" "$2" "${3:-}"
	timeout 30 "$VT_EMBER" --no-api --config-file "$VT_TMP/bad.json" </dev/null \
		>"$VT_TMP/out" 2>&1
	local rc=$?
	[ "$rc" = 1 ] || { cat "$VT_TMP/out" >&2; vt_fail "$1: exit $rc, want 1"; }
	# Rejected as configuration, not because the VM could not be built.
	if grep -q '/dev/kvm\|KVM' "$VT_TMP/out" ||
	   ! grep -qi 'error\|invalid\|cannot\|already\|no such\|denied\|exist\|duplicate' "$VT_TMP/out"; then
		cat "$VT_TMP/out" >&2
		FAILED="$FAILED; $1"
		return
	fi
	vt_log "$1: $(head -n1 "$VT_TMP/out")"
}
check "missing backing file" \
	"{ \"drive_id\": \"d\", \"path_on_host\": \"$VT_TMP/nope.img\", \"is_root_device\": false, \"is_read_only\": false }"
if [ "$(id -u)" != 0 ]; then
	check "unreadable backing file" \
		"{ \"drive_id\": \"d\", \"path_on_host\": \"$VT_TMP/a.img\", \"is_root_device\": false, \"is_read_only\": true }"
fi
check "two root drives" \
	"{ \"drive_id\": \"r1\", \"path_on_host\": \"$VT_TMP/b.img\", \"is_root_device\": true, \"is_read_only\": true },
	 { \"drive_id\": \"r2\", \"path_on_host\": \"$VT_TMP/b.img\", \"is_root_device\": true, \"is_read_only\": true }"
check "duplicate drive id" \
	"{ \"drive_id\": \"d\", \"path_on_host\": \"$VT_TMP/b.img\", \"is_root_device\": false, \"is_read_only\": true },
	 { \"drive_id\": \"d\", \"path_on_host\": \"$VT_TMP/b.img\", \"is_root_device\": false, \"is_read_only\": true }"
check "bad MAC" "" \
	"{ \"iface_id\": \"n\", \"host_dev_name\": \"vt-none0\", \"guest_mac\": \"06:00:zz:00:00:01\" }"
check "tap that does not exist" "" \
	"{ \"iface_id\": \"n\", \"host_dev_name\": \"vt-none0\" }"
[ -z "$FAILED" ] || vt_fail "accepted as valid configuration:${FAILED#;}"
echo "PASS: bad drive/net configuration rejected"
