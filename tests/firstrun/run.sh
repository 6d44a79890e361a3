#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/firstrun/run.sh: what a new user does first, checked as they do it.
#
#   cache-verify   guest/build.sh --verify passes on the cache and names a damaged
#                  entry (a release or current.env holding make's "Entering
#                  directory" lines, as an earlier build under `make run` left them)
#   cache-rebuild  a damaged cached rootfs is rebuilt, never used, and the
#                  current.env written is valid shell (in a scratch cache)
#   make-run       `make run` through make, stdin not a terminal, as CI runs it:
#                  exit 0, and the demo guest reports its serial console,
#                  virtio-blk disk and virtio-net link working, and the file it
#                  wrote is read back on the host
# Prints "PASS name" / "FAIL name: why" lines and "firstrun: N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 2
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

env_file=$(guest/build.sh) || { echo "firstrun: guest/build.sh failed"; echo "firstrun: 0 passed, 1 failed"; exit 1; }
. "$env_file"
kdir=$(dirname "$EMBER_GUEST_VMLINUX")
rdir=$(dirname "$EMBER_GUEST_INITRAMFS")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/ember-firstrun.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# cache-verify
t=cache-verify
if ! out=$(guest/build.sh --verify 2>&1); then
	fail $t "the cache in use fails --verify: $out"
else
	sg=$scratch/verify/guest
	mkdir -p "$sg"
	cp -r "$kdir" "$sg/"
	k=$sg/$(basename "$kdir")
	printf "make[2]: Entering directory '/x'\n%s\nmake[2]: Leaving directory '/x'\n" "$EMBER_GUEST_KERNEL_RELEASE" >"$k/release"
	printf "EMBER_GUEST_KERNEL_RELEASE=make[2]: Entering directory '/x'\n" >"$sg/current.env"
	out=$(EMBER_CACHE=$scratch/verify EMBER_GUEST_ENV=$scratch/verify.env guest/build.sh --verify 2>&1)
	rc=$?
	if [ $rc = 1 ] && echo "$out" | grep -q "$k: release is not a kernel release" &&
		echo "$out" | grep -q "current.env: not a list of shell assignments"; then
		pass $t
	else
		fail $t "--verify exit $rc, said: $out"
	fi
fi

# cache-rebuild: kernel entry copied as is, rootfs entry truncated.
t=cache-rebuild
sc=$scratch/rebuild
mkdir -p "$sc/guest"
cp -r "$kdir" "$rdir" "$sc/guest/"
truncate -s 4096 "$sc/guest/$(basename "$rdir")/rootfs.ext4"
if out=$(EMBER_CACHE=$sc EMBER_GUEST_ENV=$sc/own.env EMBER_GUEST_NO_CLOUD=1 guest/build.sh 2>&1); then
	env2=$(echo "$out" | tail -n1)
	if ! echo "$out" | grep -q "rootfs.ext4 is not a 64 MiB ext4 image): rebuilding it"; then
		fail $t "no rebuild reported: $out"
	elif ! EMBER_CACHE=$sc EMBER_GUEST_ENV=$sc/own.env guest/build.sh --verify >/dev/null; then
		fail $t "the rebuilt cache fails --verify"
	elif ! (set -e; . "$env2"; [ "$EMBER_GUEST_KERNEL_RELEASE" = "$(cat "$kdir/release")" ]); then
		fail $t "$env2 does not source to the kernel release"
	else
		pass $t
	fi
else
	fail $t "guest/build.sh failed: $out"
fi

# make-run, exactly as a user types it (a make of its own, stdin not a terminal).
t=make-run
log=build/firstrun-make-run.log
mkdir -p build
make run </dev/null >"$log" 2>&1
rc=$?
why=""
[ $rc = 0 ] || why="make run exited $rc"
for m in 'EMBER-DEMO-SERIAL: ok' 'EMBER-DEMO-BLK: ok' 'EMBER-DEMO-NET: ok' 'EMBER-SCRIPT-EXIT=0' \
	'demo: the guest left on its virtio-blk disk'; do
	tr -d '\r' <"$log" | grep -qF "$m" || why="${why:+$why; }no '$m' in the output"
done
if [ -z "$why" ]; then
	pass $t
	tr -d '\r' <"$log" | grep -E '^(EMBER-DEMO|virtio-|demo:)'
else
	fail $t "$why (log: $log)"
	tail -n 40 "$log"
fi

echo "firstrun: $passed passed, $failed failed"
[ $failed = 0 ]
