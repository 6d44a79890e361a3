#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# scripts/demo-vm.sh: the demo microVM itself, run where /dev/kvm works (on
# this host, or inside the test bed's emulated KVM host) by scripts/run-demo.sh.
#
# Gives the guest all three of ember's devices:
#   serial console  the guest's console on this terminal (or stdout)
#   virtio-blk      build/demo/data.ext4, a small ext4 disk holding a file from
#                   the host; the guest writes from-guest.txt, shown after it exits
#   virtio-net      a tap in a network namespace of its own (ember-demo-PID),
#                   host end 169.254.100.1/30, guest 169.254.100.2, with a busybox
#                   web server on the host end at port 8080
# ember (or QEMU, EMBER_DEMO_VMM=qemu) runs inside that namespace; the
# namespace, tap and web server are removed when the VM ends. Without the
# rights to make a namespace the demo runs without virtio-net and says so.
#
# Environment (set by run-demo.sh): EMBER_DEMO_KERNEL, EMBER_DEMO_INITRD,
#   EMBER_DEMO_CMDLINE, EMBER_DEMO_VMM (ember or qemu).
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
demo=$root/build/demo
disk=$demo/data.ext4
cfg=$demo/vm.json
ns=ember-demo-$$
tap=emdemo0
mac=06:00:a9:fe:64:02
kernel=${EMBER_DEMO_KERNEL:?}
initrd=${EMBER_DEMO_INITRD:?}
args=${EMBER_DEMO_CMDLINE:?}
vmm=${EMBER_DEMO_VMM:-ember}

say() { echo "demo: $*" >&2; }

# The data disk, made anew each run: a file from the host, room for the guest's.
rm -rf "$demo"
mkdir -p "$demo/disk" "$demo/www"
echo "hello from the host, $(uname -n), $(date -u '+%Y-%m-%d %H:%M UTC')" >"$demo/disk/hello-from-host.txt"
truncate -s 8M "$disk"
mkfs.ext4 -q -F -L ember-demo -d "$demo/disk" "$disk" </dev/null || { say "mkfs.ext4 failed"; exit 1; }
echo "hello from the host's web server over virtio-net" >"$demo/www/index.html"

httpd=""
netns=""
cleanup() {
	[ -n "$httpd" ] && kill "$httpd" 2>/dev/null && wait "$httpd" 2>/dev/null
	[ -n "$netns" ] && ip netns del "$netns" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ip netns add "$ns" 2>/dev/null; then
	netns=$ns
	if ip -n "$ns" link set lo up &&
		ip -n "$ns" tuntap add dev "$tap" mode tap &&
		ip -n "$ns" addr add 169.254.100.1/30 dev "$tap" &&
		ip -n "$ns" link set "$tap" up; then
		ip netns exec "$ns" busybox httpd -f -p 169.254.100.1:8080 -h "$demo/www" &
		httpd=$!
	else
		say "could not set up the tap in $ns: the demo runs without virtio-net"
		ip netns del "$ns"
		netns=""
	fi
else
	say "cannot create a network namespace (not root?): the demo runs without virtio-net"
fi

net_json=""
[ -n "$netns" ] && net_json="\"network-interfaces\": [ { \"iface_id\": \"eth0\", \"host_dev_name\": \"$tap\", \"guest_mac\": \"$mac\" } ],"
cat >"$cfg" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$kernel",
    "initrd_path": "$initrd",
    "boot_args": "$args"
  },
  "drives": [ { "drive_id": "data", "path_on_host": "$disk", "is_root_device": false, "is_read_only": false } ],
  $net_json
  "machine-config": { "vcpu_count": 2, "mem_size_mib": 256, "smt": false }
}
JSON

if [ "$vmm" = qemu ]; then
	# The same guest and devices under QEMU/KVM's microvm machine.
	set -- qemu-system-x86_64 -accel kvm -cpu host -M microvm,acpi=off -device i8042 -smp 2 -m 256 \
		-nographic -no-reboot -nodefaults -serial stdio -kernel "$kernel" -initrd "$initrd" -append "$args" \
		-drive id=data,file="$disk",format=raw,if=none -device virtio-blk-device,drive=data
	[ -n "$netns" ] && set -- "$@" -netdev tap,id=n0,ifname="$tap",script=no,downscript=no \
		-device virtio-net-device,netdev=n0,mac="$mac"
else
	[ -x build/ember ] || { say "build/ember missing (make)"; exit 1; }
	set -- build/ember --no-api --config-file "$cfg"
fi
[ -n "$netns" ] && set -- ip netns exec "$netns" "$@"
case " $args " in
*" ember.script="*)
	# The guest's tour ends with EMBER-SCRIPT-EXIT=<its status> on the
	# console, and the VM's own exit status is 0 whatever that was: the
	# console says whether every device worked.
	{ "$@"; echo $? >"$demo/rc"; } | tee "$demo/console.log"
	rc=$(cat "$demo/rc" 2>/dev/null || echo 1)
	if [ "$rc" = 0 ] && ! tr -d '\r' <"$demo/console.log" | grep -qx 'EMBER-SCRIPT-EXIT=0'; then
		say "the guest's device tour did not end with EMBER-SCRIPT-EXIT=0 (console: $demo/console.log)"
		rc=1
	fi
	;;
*)
	"$@"
	rc=$?
	;;
esac
if out=$(debugfs -R 'cat /from-guest.txt' "$disk" 2>/dev/null) && [ -n "$out" ]; then
	echo "demo: the guest left on its virtio-blk disk ($disk): $out"
fi
exit $rc
