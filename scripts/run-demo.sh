#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# scripts/run-demo.sh (make run): boot the demo microVM.
#
# The guest kernel and initramfs of guest/build.sh, 2 vCPUs, 256 MiB, and all
# three of ember's devices (scripts/demo-vm.sh): the serial console, a virtio-blk
# data disk and a virtio-net tap in a network namespace of its own. The guest
# first tours its devices (tests/guest/demo.sh: reads the host's file from the
# disk and writes one back, pings the host and fetches a page from it), then:
#   with a terminal on stdin: a shell on the console; the VM ends when that
#     shell exits (or `reboot -f`);
#   without one (CI, `make run </dev/null`): the VM powers off after the tour,
#     and the exit status says whether every device worked.
# With a usable /dev/kvm ember runs here; otherwise it runs inside the test
# bed's emulated KVM host (tests/testbed/run.sh), much slower; Ctrl-A x quits.
#
# Environment: EMBER_DEMO_KERNEL (default: the guest vmlinux),
#   EMBER_DEMO_INITRD, EMBER_DEMO_ARGS (extra kernel arguments),
#   EMBER_DEMO_TIMEOUT (seconds, without a terminal; default 900),
#   EMBER_DEMO_VMM=qemu (boot the same guest and devices with QEMU/KVM: checks
#   the plumbing without ember).
set -eu
cd "$(dirname "$0")/.."

env_file=$(guest/build.sh) || { echo "run-demo: guest/build.sh failed" >&2; exit 1; }
# shellcheck disable=SC1090
. "$env_file"
EMBER_DEMO_KERNEL=${EMBER_DEMO_KERNEL:-$EMBER_GUEST_VMLINUX}
EMBER_DEMO_INITRD=${EMBER_DEMO_INITRD:-$EMBER_GUEST_INITRAMFS}
args="console=ttyS0 reboot=k panic=1 pci=off"
if [ -t 0 ]; then
	tty=1
	args="$args ember.setup=demo.sh"
else
	tty=0
	args="$args ember.script=demo.sh"
fi
[ -n "${EMBER_DEMO_ARGS:-}" ] && args="$args $EMBER_DEMO_ARGS"
EMBER_DEMO_CMDLINE=$args
export EMBER_DEMO_KERNEL EMBER_DEMO_INITRD EMBER_DEMO_CMDLINE

mode=$(tests/testbed/run.sh --check)
if [ "$mode" = "direct /dev/kvm" ]; then
	exec scripts/demo-vm.sh
fi
# The test bed passes every EMBER_* variable through.
if [ $tty = 1 ]; then
	echo "run-demo: no usable /dev/kvm: booting through the $mode, slow; Ctrl-A x quits" >&2
	exec tests/testbed/run.sh --interactive -- scripts/demo-vm.sh
fi
echo "run-demo: no usable /dev/kvm: booting through the $mode, slow" >&2
exec tests/testbed/run.sh --timeout "${EMBER_DEMO_TIMEOUT:-900}" -- scripts/demo-vm.sh
