#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# guest/qemu-check.sh - boot the cached guest images under QEMU TCG (no KVM needed) and
# check that each reaches EMBER-GUEST-READY and returns the test script's exit code.
# Prints one line per boot with the wall time to the marker; exits non-zero on failure.
#
#   guest/qemu-check.sh [ENV]   ENV defaults to the current.env that guest/build.sh prints
#   QEMU_CHECK_TIMEOUT=300      seconds allowed per boot (TCG on a loaded host is slow)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ENV=${1:-$("$HERE/build.sh")} || exit 1
# shellcheck disable=SC1090
. "$ENV"
TIMEOUT=${QEMU_CHECK_TIMEOUT:-300}
BASE="console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fails=0

# boot NAME EXPECT_EXIT EXPECT_CPUS QEMU_ARGS...: run one VM, time the marker.
boot() {
	local name=$1 want_exit=$2 want_cpus=$3 log=$WORK/$1.log
	shift 3
	local start t_ready="" line ok=1
	start=$(date +%s%N)
	while IFS= read -r line; do
		line=${line%$'\r'}
		echo "$line" >>"$log"
		if [ -z "$t_ready" ] && [ "$line" = EMBER-GUEST-READY ]; then
			t_ready=$(( ($(date +%s%N) - start) / 1000000 ))
		fi
	done < <(timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -nographic \
		-no-reboot "$@" </dev/null 2>&1)
	grep -qx "EMBER-SCRIPT-EXIT=$want_exit" "$log" || ok=0
	grep -qx "EMBER-CPUS=$want_cpus" "$log" || ok=0
	[ -n "$t_ready" ] || ok=0
	if [ $ok = 1 ]; then
		printf 'PASS %-28s marker after %5d ms (wall, TCG)\n' "$name" "$t_ready"
	else
		printf 'FAIL %-28s (console log follows)\n' "$name"
		tail -n 30 "$log"
		fails=$((fails + 1))
	fi
}

# demo_cad: the demo shell (no script), then the VMM-side Ctrl-Alt-Del through the
# QEMU monitor (sendkey -> i8042 -> atkbd -> VT -> SIGINT to init): the VM must reset.
demo_cad() {
	local name=microvm-demo-ctrl-alt-del log=$WORK/demo.log sock=$WORK/mon.sock pid i
	timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -nographic -no-reboot \
		-M microvm,acpi=off -device i8042 -m 256 -monitor "unix:$sock,server=on,wait=off" \
		-kernel "$EMBER_GUEST_VMLINUX" -initrd "$EMBER_GUEST_INITRAMFS" \
		-append "$BASE" </dev/null >"$log" 2>&1 &
	pid=$!
	for ((i = 0; i < TIMEOUT * 2; i++)); do
		grep -aq '^EMBER-CPUS=' "$log" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.5
	done
	sleep 2	# let the shell start
	echo "sendkey ctrl-alt-delete" | socat - "UNIX-CONNECT:$sock" >/dev/null 2>&1
	for ((i = 0; i < 60; i++)); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.5
	done
	if kill -0 $pid 2>/dev/null; then
		kill $pid
		wait $pid
		printf 'FAIL %-28s (no reset after Ctrl-Alt-Del)\n' "$name"
		tail -n 20 "$log"
		fails=$((fails + 1))
	elif wait $pid && grep -aq 'reboot: Restarting system' "$log"; then
		printf 'PASS %-28s shell started, reset on Ctrl-Alt-Del\n' "$name"
	else
		printf 'FAIL %-28s (console log follows)\n' "$name"
		tail -n 20 "$log"
		fails=$((fails + 1))
	fi
}

# Inline script: exits 3 only if virtio-net gave it eth0 (and it ran at all).
inline=$(printf 'echo inline script on $(uname -r)\nip link show eth0 || exit 1\nexit 3\n' | base64 -w0)

# microvm: acpi=off so QEMU lists virtio-mmio devices on the command line (as ember
# does; the kernel has no ACPI) and has no i8042 unless asked; without it reboot=k falls back to a BIOS
# restart that -no-reboot does not catch. ember provides the i8042 reset.
boot microvm-bzImage-initramfs 0 1 -M microvm,acpi=off -device i8042 -m 256 \
	-kernel "$EMBER_GUEST_BZIMAGE" -initrd "$EMBER_GUEST_INITRAMFS" \
	-append "$BASE ember.script=hello.sh"
boot microvm-vmlinux-pvh-smp2 0 2 -M microvm,acpi=off -device i8042 -m 256 -smp 2 \
	-kernel "$EMBER_GUEST_VMLINUX" -initrd "$EMBER_GUEST_INITRAMFS" \
	-append "$BASE ember.script=hello"
boot microvm-vmlinux-ext4-inline 3 1 -M microvm,acpi=off -device i8042 -m 256 \
	-kernel "$EMBER_GUEST_VMLINUX" \
	-drive "id=root,if=none,format=raw,readonly=on,file=$EMBER_GUEST_ROOTFS_EXT4" \
	-device virtio-blk-device,drive=root \
	-netdev hubport,id=n0,hubid=0 -device virtio-net-device,netdev=n0 \
	-append "$BASE root=/dev/vda ember.sh=$inline"
demo_cad
if [ -n "${EMBER_GUEST_CLOUD_KERNEL:-}" ]; then
	boot pc-debian-cloud-initramfs 0 2 -M pc -m 512 -smp 2 \
		-kernel "$EMBER_GUEST_CLOUD_KERNEL" -initrd "$EMBER_GUEST_INITRAMFS" \
		-append "$BASE ember.script=hello.sh"
else
	echo "SKIP pc-debian-cloud-initramfs: EMBER_GUEST_CLOUD_KERNEL is empty"
fi
[ $fails = 0 ]
