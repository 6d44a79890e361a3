#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The demo microVM's tour of its three devices (make run, scripts/demo-vm.sh):
# the serial console (this text), virtio-blk (the host's data disk: read the
# host's file, write one back) and virtio-net (ping the host end of the tap,
# fetch a page from the host's web server). Prints EMBER-DEMO-<DEVICE>: ok or
# failed lines; exits 0 only when every device worked.
HOST=169.254.100.1
GUEST=169.254.100.2
bad=0

echo "EMBER-DEMO-SERIAL: ok: this console is ember's serial port (ttyS0); kernel $(uname -r), $(nproc) vCPU(s)"

if [ -b /dev/vda ]; then
	mkdir -p /mnt/data
	if mount -t ext4 /dev/vda /mnt/data; then
		echo "virtio-blk: /dev/vda holds: $(cat /mnt/data/hello-from-host.txt)"
		echo "written by the guest at uptime $(cut -d' ' -f1 /proc/uptime) s" >/mnt/data/from-guest.txt
		umount /mnt/data && echo "EMBER-DEMO-BLK: ok: read the host's file, wrote from-guest.txt" ||
			{ echo "EMBER-DEMO-BLK: failed: umount /dev/vda"; bad=1; }
	else
		echo "EMBER-DEMO-BLK: failed: cannot mount /dev/vda"
		bad=1
	fi
else
	echo "EMBER-DEMO-BLK: failed: no /dev/vda"
	bad=1
fi

if [ -e /sys/class/net/eth0 ]; then
	ip addr add "$GUEST/30" dev eth0
	ip link set eth0 up
	echo "virtio-net: eth0 $(cat /sys/class/net/eth0/address) is $GUEST, the host's tap is $HOST"
	# An HTTP GET by hand with nc: Debian's busybox 1.35 wget crashes when given -T.
	if ping -c 2 -W 10 "$HOST" &&
		page=$(printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$HOST" | nc -w 20 "$HOST" 8080 | tail -n 1) &&
		[ -n "$page" ]; then
		echo "virtio-net: the host's web server says: $page"
		echo "EMBER-DEMO-NET: ok: ping and HTTP to the host"
	else
		echo "EMBER-DEMO-NET: failed: no answer from $HOST"
		bad=1
	fi
else
	echo "EMBER-DEMO-NET: failed: no eth0 (the demo runs without a network when it cannot create a network namespace)"
	bad=1
fi
exit $bad
