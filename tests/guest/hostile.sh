#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Guest side of the misbehaving-guest test. Runs /tests/hostile
# (tests/guest/hostile.c, built static by the rootfs builder) which attacks
# the virtio-mmio devices, MMIO gap, I/O ports and serial port, then
# triple-faults the VM. It never returns when it works: the host-side runner
# expects ember to exit with its documented code and the serial log to end
# with "hostile: triple-fault now". Must be the last test of a boot.
# HOSTILE_ARGS: extra arguments (e.g. "--no-triple --seed 42").
set -u
bin=/tests/hostile
if [ ! -x "$bin" ]; then
	echo "hostile: SKIP: $bin missing (rootfs built without tests/guest/hostile.c)"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "hostile: SKIP: needs root"; exit 0; }
# shellcheck disable=SC2086
exec "$bin" ${HOSTILE_ARGS:-}
