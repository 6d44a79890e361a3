#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# scripts/run-demo.sh (make run): boot the demo microVM on the serial console.
#
# build/ember --no-api --config-file build/run-demo.json with the guest kernel
# and initramfs of guest/build.sh, 2 vCPUs, 256 MiB. The guest gives a shell on
# the console; the VM ends when that shell exits (or `reboot -f`).
# With a usable /dev/kvm ember runs here; otherwise it runs inside the test
# bed's emulated KVM host (tests/testbed/run.sh), much slower; Ctrl-A x quits.
# Without a terminal on stdin (CI), the guest runs tests/guest/hello.sh instead
# of the shell and powers off, and the demo ends.
#
# Environment: EMBER_DEMO_KERNEL (default: the guest vmlinux),
#   EMBER_DEMO_INITRD, EMBER_DEMO_ARGS (extra kernel arguments),
#   EMBER_DEMO_TIMEOUT (seconds, without a terminal; default 900),
#   EMBER_DEMO_VMM=qemu (boot the same guest with QEMU/KVM: checks the plumbing
#   without ember).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)

env_file=$(guest/build.sh) || { echo "run-demo: guest/build.sh failed" >&2; exit 1; }
# shellcheck disable=SC1090
. "$env_file"
kernel=${EMBER_DEMO_KERNEL:-$EMBER_GUEST_VMLINUX}
initrd=${EMBER_DEMO_INITRD:-$EMBER_GUEST_INITRAMFS}
args="console=ttyS0 reboot=k panic=1 pci=off"
if [ -t 0 ]; then
	tty=1
else
	tty=0
	args="$args ember.script=hello.sh"
fi
[ -n "${EMBER_DEMO_ARGS:-}" ] && args="$args $EMBER_DEMO_ARGS"

# In the repository, not /tmp: the emulated KVM host has its own /tmp.
mkdir -p build
cfg=$root/build/run-demo.json
cat >"$cfg" <<EOF
{
  "boot-source": {
    "kernel_image_path": "$kernel",
    "initrd_path": "$initrd",
    "boot_args": "$args"
  },
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 256, "smt": false }
}
EOF

if [ "${EMBER_DEMO_VMM:-ember}" = qemu ]; then
	# The same guest under QEMU with KVM (microvm, devices on the command line).
	vmm="qemu-system-x86_64 -accel kvm -cpu host -M microvm,acpi=off -device i8042 -smp 2 -m 256 \
-nographic -no-reboot -nodefaults -serial stdio -kernel '$kernel' -initrd '$initrd' -append '$args'"
else
	[ -x build/ember ] || { echo "run-demo: build/ember missing (make)" >&2; exit 1; }
	vmm="build/ember --no-api --config-file '$cfg'"
fi

mode=$(tests/testbed/run.sh --check)
if [ "$mode" = "direct /dev/kvm" ]; then
	exec sh -c "exec $vmm"
fi
if [ $tty = 1 ]; then
	echo "run-demo: no usable /dev/kvm: booting through the $mode, slow; Ctrl-A x quits" >&2
	exec tests/testbed/run.sh --interactive -- "exec $vmm"
fi
echo "run-demo: no usable /dev/kvm: booting through the $mode, slow" >&2
exec tests/testbed/run.sh --timeout "${EMBER_DEMO_TIMEOUT:-900}" -- "exec $vmm"
