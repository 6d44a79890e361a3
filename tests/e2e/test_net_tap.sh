#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Guest <-> host networking over a tap in a private network namespace
# (link-local 169.254.77.0/30): ping both ways' replies, then a 2 MiB TCP
# transfer guest -> host whose md5 must match.
set -u
. "$(dirname "$0")/virtio_common.sh"
vt_need_kvm
command -v ip >/dev/null || vt_skip "no iproute2"
command -v python3 >/dev/null || vt_skip "no python3 for the host-side TCP sink"
vt_tmpdir
VT_NETNS=ember-vt-$$
ip netns add "$VT_NETNS" || vt_skip "cannot create a network namespace"
ip -n "$VT_NETNS" link set lo up
ip -n "$VT_NETNS" tuntap add dev vtap0 mode tap || vt_fail "cannot create the tap"
ip -n "$VT_NETNS" addr add 169.254.77.1/30 dev vtap0
ip -n "$VT_NETNS" link set vtap0 up

# Host side: accept one connection, store what arrives.
ip netns exec "$VT_NETNS" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("169.254.77.1", 5001)); s.listen(1); s.settimeout(float(sys.argv[2]))
c, _ = s.accept(); c.settimeout(float(sys.argv[2]))
with open(sys.argv[1], "wb") as f:
    while True:
        b = c.recv(65536)
        if not b: break
        f.write(b)
' "$VT_TMP/received" "$VT_TIMEOUT" &
sink=$!

args=$(vt_boot_args "set -e
ip addr add 169.254.77.2/30 dev eth0
ip link set eth0 up
cat /sys/class/net/eth0/address
ping -c 3 -W 10 169.254.77.1
dd if=/dev/urandom of=/tmp/payload bs=64k count=32 2>/dev/null
md5sum /tmp/payload
nc 169.254.77.1 5001 </tmp/payload")
vt_config "$VT_TMP/vm.json" "$args" \
	"{ \"drive_id\": \"rootfs\", \"path_on_host\": \"$EMBER_GUEST_ROOTFS_EXT4\", \"is_root_device\": true, \"is_read_only\": true }" \
	"{ \"iface_id\": \"eth0\", \"host_dev_name\": \"vtap0\", \"guest_mac\": \"06:00:a9:fe:4d:02\" }"
vt_run "$VT_TMP/vm.json" "$VT_TMP/console.log" "$VT_NETNS"
rc=$?
wait "$sink"
vt_expect_ok "$VT_TMP/console.log" $rc
log=$(tr -d '\r' <"$VT_TMP/console.log")
echo "$log" | grep -q '^06:00:a9:fe:4d:02$' || vt_fail "guest MAC is not guest_mac"
echo "$log" | grep -q ' 0% packet loss' || vt_fail "ping lost packets"
want=$(echo "$log" | sed -n 's/^\([0-9a-f]\{32\}\)  \/tmp\/payload$/\1/p' | tail -n1)
have=$(md5sum <"$VT_TMP/received" | cut -d' ' -f1)
size=$(stat -c %s "$VT_TMP/received")
[ "$size" = 2097152 ] || vt_fail "host received $size bytes, want 2097152"
[ -n "$want" ] && [ "$want" = "$have" ] || vt_fail "md5 guest '$want' host '$have'"
echo "PASS: virtio-net over tap: ping and 2 MiB TCP with matching md5"
