#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The guest's wall clock after a restore. A guest that prints its `date +%s`
# for each line typed on its console is snapshotted, then nothing happens
# for EMBER_CLOCK_WAIT (20) seconds. Loaded with clock_realtime true, its
# clock is the host's (within 5 s; the emulated guest is up to 3 s behind right
# after its boot): the KVM clock was moved on by the time
# since the save. Loaded without it (Firecracker's default), the guest's
# clock is behind the host's by about the time the snapshot lay unused.
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup
WAIT=${EMBER_CLOCK_WAIT:-20}

script='echo "CLOCK-READY"
while read line </dev/console; do echo "GUEST-DATE $line $(date +%s) $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"; done'

# ask DIR PID: the guest's date now (GDATE) and the host's (HDATE), its
# clocksource (CS).
N=0
ask() {
	local d=$1 pid=$2
	N=$((N + 1))
	sn_send "$d" "q$N"
	sn_wait "$d" "^GUEST-DATE q$N " 60 "$pid" "$d: the guest did not answer"
	HDATE=$(date +%s)
	set -- $(tr -d '\r' <"$d/out" | grep -a "^GUEST-DATE q$N " | tail -n 1)
	GDATE=$3 CS=$4
}

sn_start_in "$T/a"
pa=$SN_PID
sn_boot "$T/a" "$script" 1 128
sn_start_vm "$T/a"
sn_wait "$T/a" '^CLOCK-READY' 90 "$pa" "the guest did not start"
ask "$T/a" "$pa"
log "booted guest: $GDATE, host $HDATE, clocksource $CS"
[ $((HDATE - GDATE)) -le 5 ] && [ $((GDATE - HDATE)) -le 5 ] ||
	fail "the booted guest's clock is $GDATE, the host's $HDATE"
sn_snapshot "$T/a" "$T/state" "$T/mem"
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
saved=$(date +%s)
sleep "$WAIT"

sn_start_in "$T/rt"
prt=$SN_PID
sn_load "$T/rt" "$T/state" "$T/mem" '"clock_realtime": true'
ask "$T/rt" "$prt"
log "clock_realtime true: guest $GDATE, host $HDATE ($CS)"
[ $((HDATE - GDATE)) -le 5 ] && [ $((GDATE - HDATE)) -le 5 ] ||
	fail "with clock_realtime the guest's clock is $GDATE, the host's $HDATE ($((HDATE - GDATE)) s behind)"
e2e_kill_tree "$prt" KILL

sn_start_in "$T/norm"
pn=$SN_PID
sn_load "$T/norm" "$T/state" "$T/mem"
ask "$T/norm" "$pn"
behind=$((HDATE - GDATE))
lay=$((HDATE - saved))
log "without clock_realtime: guest $GDATE, host $HDATE: $behind s behind (the snapshot lay $lay s)"
[ "$behind" -ge $((WAIT - 3)) ] && [ "$behind" -le $((lay + 3)) ] ||
	fail "without clock_realtime the guest is $behind s behind, expected about $lay s"
e2e_kill_tree "$pn" KILL
echo "PASS: clock_realtime: the restored guest's clock is the host's; without it, $behind s behind"
