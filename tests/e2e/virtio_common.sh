# SPDX-License-Identifier: Apache-2.0
# Helpers for the virtio e2e tests (tests/e2e/test_blk_*.sh, test_net_*.sh).
# Sourced, not run. Functions are prefixed vt_. Exit codes: 0 pass, 77 skip, else fail.
# Uses tests/e2e/lib.sh when present (the shared runner's helpers), but only
# needs what is defined here.

VT_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$VT_ROOT/tests/e2e/lib.sh" ] && . "$VT_ROOT/tests/e2e/lib.sh"
VT_EMBER=${EMBER_BIN:-$VT_ROOT/build/ember}
VT_TIMEOUT=${EMBER_E2E_TIMEOUT:-600}   # the emulated KVM host is 10-50x slower

vt_fail() { echo "FAIL: $*" >&2; exit 1; }
vt_skip() { echo "SKIP: $*" >&2; exit 77; }
vt_log() { echo "# $*" >&2; }

# Needs /dev/kvm (run through tests/testbed/run.sh), build/ember and the guest images.
vt_need_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] || vt_skip "no /dev/kvm here: run through tests/testbed/run.sh"
	[ -x "$VT_EMBER" ] || vt_fail "$VT_EMBER missing: make"
	local env=$VT_ROOT/build/guest.env
	[ -f "$env" ] || env=$("$VT_ROOT/guest/build.sh") || vt_fail "guest/build.sh failed"
	. "$env"
	[ -f "$EMBER_GUEST_BZIMAGE" ] || vt_fail "no guest kernel"
	[ -f "$EMBER_GUEST_ROOTFS_EXT4" ] || vt_fail "no guest rootfs"
}

vt_tmpdir() {
	VT_TMP=$(mktemp -d /tmp/ember-e2e-virtio.XXXXXX)
	trap 'vt_cleanup' EXIT
}

vt_cleanup() {
	[ -n "${VT_NETNS:-}" ] && ip netns del "$VT_NETNS" 2>/dev/null
	[ -n "${VT_TMP:-}" ] && rm -rf "$VT_TMP"
	return 0
}

# The guest's command line running SCRIPT (text) through guest/init's ember.sh=.
vt_boot_args() {
	printf 'console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.nopnp quiet ember.sh=%s' \
		"$(printf '%s\n' "$1" | base64 -w0)"
}

# vt_config FILE BOOT_ARGS DRIVES_JSON [NETS_JSON]: a Firecracker config file.
vt_config() {
	cat >"$1" <<JSON
{
  "boot-source": { "kernel_image_path": "$EMBER_GUEST_BZIMAGE", "boot_args": "$2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256 },
  "drives": [ $3 ],
  "network-interfaces": [ ${4:-} ]
}
JSON
}

# vt_run CONFIG LOG [netns]: boot and wait for the guest to power off.
# Returns ember's exit status (0 after the guest's reboot).
vt_run() {
	local cfg=$1 log=$2 ns=${3:-}
	if [ -n "$ns" ]; then
		timeout -k 10 "$VT_TIMEOUT" ip netns exec "$ns" "$VT_EMBER" --no-api --config-file "$cfg" \
			</dev/null >"$log" 2>&1
	else
		timeout -k 10 "$VT_TIMEOUT" "$VT_EMBER" --no-api --config-file "$cfg" </dev/null >"$log" 2>&1
	fi
}

# The guest script's exit code from the console log, or "none".
vt_script_exit() {
	local c
	c=$(tr -d '\r' <"$1" | sed -n 's/^EMBER-SCRIPT-EXIT=\([0-9]*\).*/\1/p' | tail -n1)
	echo "${c:-none}"
}

vt_expect_ok() {
	local log=$1 rc=$2 code
	code=$(vt_script_exit "$log")
	if [ "$rc" != 0 ] || [ "$code" != 0 ]; then
		tail -n 40 "$log" >&2
		vt_fail "ember exit $rc, guest script exit $code"
	fi
}
