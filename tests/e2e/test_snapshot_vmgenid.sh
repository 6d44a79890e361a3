#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# VMGenID: two clones restored at the same time from one snapshot (both from
# the same read-only memory file) must not hand out the same random bytes.
# The guest checks that its vmgenid driver bound to ember's device, reseeds
# its CRNG (tests/guest/reseed.c) so that no periodic reseed is due in the
# seconds after a restore, then prints, once a second, 16 bytes of
# /dev/urandom and the first 8 bytes of the generation id (devmem at
# 0xdf000). After the restore each clone must print other random bytes than
# the other clone, another generation id than the snapshot's and than the
# other clone's, and the kernel's "crng reseeded due to virtual machine
# fork"; each ember logs the new id it wrote.
#
# EMBER_E2E_VMGENID_OFF=1 restores both clones with ember --no-vmgenid: the
# clones then keep the snapshot's id and their random bytes are the same,
# so this test FAILS ("the two clones printed the same random bytes"): the
# proof that the check can fail.
# timeout: 1500
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup

script='if ls /sys/bus/acpi/drivers/vmgenid 2>/dev/null | grep -q VMGENCTR; then echo VMGENID-BOUND; else echo VMGENID-MISSING; fi
sleep 20
/tests/reseed
c=0; f=
while :; do
	c=$((c + 1))
	echo "rand $c $(head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n")"
	echo "gen $c $(devmem 0xdf000 64)"
	if [ -z "$f" ] && dmesg | grep -q "due to virtual machine fork"; then f=1; echo "VMFORK-RESEEDED $c"; fi
	sleep 1
done'

field() { # FILE KIND N: the value of line "KIND N value"
	tr -d '\r' <"$1" | grep -a "^$2 $3 " | head -n 1 | cut -d' ' -f3
}
last_n() { tr -d '\r' <"$1" | grep -ao '^rand [0-9]*' | tail -n 1 | cut -d' ' -f2; }

off=${EMBER_E2E_VMGENID_OFF:-0}
a=$T/a st=$T/state mem=$T/mem
sn_run "$a" "$script" 1 128 '^VMGENID-' 120 "the guest did not start its script"
pa=$SN_PID
grep -aq '^VMGENID-BOUND' "$a/out" ||
	{ sn_show "$a/out"; fail "the guest's vmgenid driver did not bind (no ACPI or no CONFIG_VMGENID?)"; }
sn_wait "$a" '^rand 2 ' 90 "$pa" "the guest did not print random bytes"
grep -aq '^reseed: ok' "$a/out" || { sn_show "$a/out"; fail "the guest could not reseed its CRNG"; }
sn_snapshot "$a" "$st" "$mem" Full
n0=$(last_n "$a/out")
gen0=$(field "$a/out" gen "$n0")
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
log "snapshot after rand $n0 (generation id starts $gen0)"

# Two embers load the same snapshot at once.
[ "$off" = 1 ] && export SN_EMBER_ARGS=--no-vmgenid
b=$T/b c=$T/c
sn_start "$b"
pb=$SN_PID
sn_start "$c"
pc=$SN_PID
sn_load "$b" "$st" "$mem"
sn_load "$c" "$st" "$mem"
want=$((n0 + 3))
for dp in "$b:$pb" "$c:$pc"; do
	d=${dp%:*}
	wait_for_line "$d/out" "^rand $want " "$(e2e_secs 60)" "${dp##*:}" ||
		{ sn_show "$d/out" "$d/log"; fail "clone $d did not go on printing"; }
done

n=$((n0 + 2))   # a second after the restore: the guest has handled the notification
rb=$(field "$b/out" rand "$n") rc=$(field "$c/out" rand "$n")
gb=$(field "$b/out" gen "$n") gc=$(field "$c/out" gen "$n")
log "after the restore (rand $n): clone b $rb, clone c $rc"
log "generation ids: snapshot $gen0, clone b $gb, clone c $gc"
[ -n "$rb" ] && [ -n "$rc" ] && [ -n "$gb" ] && [ -n "$gc" ] ||
	{ sn_show "$b/out" "$c/out"; fail "a clone did not print rand/gen $n"; }
grep -a 'VMGenID' "$b/log" "$c/log" >&2
[ "$rb" != "$rc" ] || fail "the two clones printed the same random bytes after the restore ($rb)"
[ "$gb" != "$gc" ] || fail "the two clones have the same generation id ($gb)"
[ "$gb" != "$gen0" ] && [ "$gc" != "$gen0" ] || fail "a clone kept the snapshot's generation id ($gen0)"
for d in "$b" "$c"; do
	grep -aq '^VMFORK-RESEEDED' "$d/out" ||
		{ sn_show "$d/out"; fail "clone $d: the kernel did not reseed on the VM fork"; }
	grep -aq 'VMGenID: new generation id' "$d/log" ||
		{ sn_show "$d/log"; fail "clone $d: ember logged no new generation id"; }
done
e2e_kill_tree "$pb" TERM
e2e_kill_tree "$pc" TERM
echo "PASS: two clones of one snapshot got different generation ids and different random bytes"
