#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Working-set prefetch (ember --snapshot-prefetch): a guest "function" holds
# 16 MiB in its tmpfs and, for each line typed on its console, answers with
# their MD5. It is snapshotted while waiting. Restored lazily (no flag)
# it answers; restored with --snapshot-prefetch populate and no record yet,
# it answers the same and its first pause writes <state>.ws; restored again
# with the flag, the record is found and prefetched before the vCPUs run,
# the answer is the same, and the page faults ember takes from the request
# to the answer drop below the lazy load's (method populate, then huge). A record made for
# another memory file is ignored with one line and the load still works. The
# restore timeline is in the log and the metrics.
# timeout: 1500
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup

script='yes 0123456789abcdef-ember-working-set | head -c 16777216 >/dev/shm/blob
n=0; echo "FUNCTION-READY"
while read line </dev/console; do n=$((n + 1)); echo "ANSWER $n $(md5sum </dev/shm/blob)"; done'

sn_run "$T/a" "$script" 1 256 '^FUNCTION-READY' 120 "the guest function did not start"
pa=$SN_PID
sn_snapshot "$T/a" "$T/state" "$T/mem"
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null

# call DIR: type a request, wait for the answer; ANSWER gets its text, FAULTS
# ember's page faults from before the request to the answer.
call() {
	local d=$1 pid=$2 f0
	f0=$(sn_faults "$pid")
	sn_send "$d" go
	sn_wait "$d" '^ANSWER 1 ' 120 "$pid" "$d: no answer"
	FAULTS=$(($(sn_faults "$pid") - f0))
	ANSWER=$(tr -d '\r' <"$d/out" | grep -a '^ANSWER 1 ' | head -n 1)
}

# Lazy: no flag.
sn_start_in "$T/lazy"
pl=$SN_PID
sn_load "$T/lazy" "$T/state" "$T/mem"
call "$T/lazy" "$pl"
lazy_answer=$ANSWER lazy_faults=$FAULTS
[ ! -e "$T/state.ws" ] || fail "a load without --snapshot-prefetch wrote a record"
e2e_kill_tree "$pl" KILL

# Recording: no record yet; the first pause writes it.
sn_start_in "$T/rec" --snapshot-prefetch populate
pr=$SN_PID
sn_load "$T/rec" "$T/state" "$T/mem"
grep -q "Working set $T/state.ws: none yet; recording" "$T/rec/log" ||
	{ sn_show "$T/rec/log"; fail "no 'recording' line"; }
call "$T/rec" "$pr"
printf '%s' "$lazy_answer" | grep -Eq '^ANSWER 1 [0-9a-f]{32} ' ||
	fail "the lazy load's answer '$lazy_answer' holds no MD5 of the 16 MiB"
[ "$ANSWER" = "$lazy_answer" ] || fail "recording load answered '$ANSWER', lazy '$lazy_answer'"
api "$T/rec/api.sock" PATCH /vm '{"state": "Paused"}' || fail "pause: $API_STATUS $API_BODY"
grep -q "Working set $T/state.ws: recorded [0-9]* pages" "$T/rec/log" ||
	{ sn_show "$T/rec/log"; fail "no 'recorded' line"; }
[ -s "$T/state.ws" ] || fail "no record file"
recorded=$(grep -o 'recorded [0-9]* pages' "$T/rec/log" | head -n 1 | cut -d' ' -f2)
e2e_kill_tree "$pr" KILL

# Prefetch: the record is used.
sn_start_in "$T/pf" --snapshot-prefetch populate
pp=$SN_PID
sn_load "$T/pf" "$T/state" "$T/mem"
grep -q "Working set $T/state.ws: prefetched [0-9]* pages" "$T/pf/log" ||
	{ sn_show "$T/pf/log"; fail "no 'prefetched' line"; }
call "$T/pf" "$pp"
[ "$ANSWER" = "$lazy_answer" ] || fail "prefetched load answered '$ANSWER', lazy '$lazy_answer'"
pf_faults=$FAULTS
log "faults from request to answer: lazy $lazy_faults, prefetched $pf_faults ($recorded pages recorded)"
[ "$pf_faults" -lt "$lazy_faults" ] ||
	fail "prefetch did not cut the faults: lazy $lazy_faults, prefetched $pf_faults"
wait_for_line "$T/pf/log" 'Restore timeline: .*instance_start=[0-9]*us state_checked=[0-9]*us build_start=[0-9]*us memory_mapped=[0-9]*us prefetch_done=[0-9]*us devices_restored=[0-9]*us build_done=[0-9]*us first_kvm_run=[0-9]*us vcpus_resumed=[0-9]*us first_serial_byte=[0-9]*us' \
	"$(e2e_secs 10)" "$pp" || { sn_show "$T/pf/log"; fail "no restore timeline"; }
api "$T/pf/api.sock" PUT /actions '{"action_type": "FlushMetrics"}' || fail "flush: $API_STATUS"
grep -q '"prefetch_done_us":[0-9]*,"devices_restored_us"' "$T/pf/metrics" ||
	{ sn_show "$T/pf/metrics"; fail "no restore phases in the metrics"; }
e2e_kill_tree "$pp" KILL

# Method huge: the working set's 2 MiB chunks read into anonymous memory:
# the same answer, and the guest's reads fault (almost) no more.
sn_start_in "$T/huge" --snapshot-prefetch huge
ph=$SN_PID
sn_load "$T/huge" "$T/state" "$T/mem"
grep -q "Working set $T/state.ws: prefetched [0-9]* pages .*(huge)" "$T/huge/log" ||
	{ sn_show "$T/huge/log"; fail "no 'prefetched ... (huge)' line"; }
call "$T/huge" "$ph"
[ "$ANSWER" = "$lazy_answer" ] || fail "huge prefetch answered '$ANSWER', lazy '$lazy_answer'"
log "faults from request to answer with huge: $FAULTS"
[ "$FAULTS" -lt "$lazy_faults" ] || fail "huge did not cut the faults: lazy $lazy_faults, huge $FAULTS"
e2e_kill_tree "$ph" KILL

# A record of another memory file (a copy: another inode) is ignored.
cp "$T/mem" "$T/mem2"
sn_start_in "$T/other" --snapshot-prefetch populate
po=$SN_PID
sn_load "$T/other" "$T/state" "$T/mem2"
grep -q "Working set $T/state.ws ignored: recorded for another snapshot: the memory file inode differs; loading without prefetch" "$T/other/log" ||
	{ sn_show "$T/other/log"; fail "a foreign record was not ignored"; }
call "$T/other" "$po"
[ "$ANSWER" = "$lazy_answer" ] || fail "the load beside a foreign record answered '$ANSWER'"
e2e_kill_tree "$po" KILL
echo "PASS: working-set prefetch: same answer, faults $lazy_faults -> $pf_faults (populate), a foreign record ignored"
