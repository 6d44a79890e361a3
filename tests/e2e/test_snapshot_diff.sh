#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Diff snapshots: with track_dirty_pages, a Full snapshot, resume; the guest
# writes 32 MiB with a known pattern (seq 1 4400000 into its tmpfs), pause,
# a Diff into the same memory file (much smaller than a Full, at least the
# 32 MiB), then a fresh ember restores from it: the guest's checksum of the
# pattern is the host's (no dirty page lost). A Diff without dirty tracking
# is refused.
# timeout: 1200
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup
want=$(seq 1 4400000 | md5sum | cut -d' ' -f1)

script='echo DIFF-READY
i=0; while [ $i -lt 20 ]; do i=$((i + 1)); echo "wait $i"; sleep 1; done
seq 1 4400000 >/tmp/pattern; echo DIFF-WRITTEN
i=0; while [ $i -lt 25 ]; do i=$((i + 1)); echo "idle $i"; sleep 1; done
while :; do echo "DIFF-MD5 $(md5sum </tmp/pattern | cut -d" " -f1)"; sleep 5; done'

sn_run "$T/a" "$script" 1 256 '^DIFF-READY' 90 "the guest did not start" '"track_dirty_pages": true'
pa=$SN_PID
sn_snapshot "$T/a" "$T/state" "$T/mem" Full
full=$(($(stat -c %b "$T/mem") * 512))
api "$T/a/api.sock" PATCH /vm '{"state": "Resumed"}' || fail "resume: $API_STATUS"
wait_for_line "$T/a/out" '^DIFF-WRITTEN' "$(e2e_secs 120)" "$pa" ||
	{ sn_show "$T/a/out"; fail "the guest did not write the pattern"; }
sn_snapshot "$T/a" "$T/state" "$T/mem" Diff
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
grep -aq '^idle 25' "$T/a/out" && fail "the Diff came after the guest's idle time (too slow)"
diffkib=$(grep -a 'KiB written (Diff)' "$T/a/log" | tail -n 1 | sed 's/.*: \([0-9]*\) KiB written.*/\1/')
fullkib=$(grep -a 'KiB written (Full)' "$T/a/log" | tail -n 1 | sed 's/.*: \([0-9]*\) KiB written.*/\1/')
log "Full wrote ${fullkib:-?} KiB ($((full >> 10)) KiB on disk), the Diff ${diffkib:-?} KiB"
[ -n "$diffkib" ] && [ "$diffkib" -ge 32768 ] && [ "$diffkib" -lt $((256 * 1024)) ] ||
	fail "the Diff wrote ${diffkib:-?} KiB: want at least the 32 MiB pattern and less than RAM"

sn_start "$T/b"
pb=$SN_PID
sn_load "$T/b" "$T/state" "$T/mem"
sn_wait "$T/b" '^DIFF-MD5 ' 120 "$pb" "the restored guest printed no checksum"
got=$(tr -d '\r' <"$T/b/out" | grep -ao '^DIFF-MD5 [0-9a-f]*' | head -n 1 | cut -d' ' -f2)
[ "$got" = "$want" ] || fail "the pattern after the restore: md5 $got, want $want (dirty pages lost)"

# Without dirty tracking a Diff is refused (the restored VM has none).
api "$T/b/api.sock" PATCH /vm '{"state": "Paused"}' || fail "pause b: $API_STATUS"
api "$T/b/api.sock" PUT /snapshot/create "{\"snapshot_path\": \"$T/s2\", \"mem_file_path\": \"$T/m2\",
	\"snapshot_type\": \"Diff\"}"
sn_expect 400 "track_dirty_pages" "a Diff without dirty tracking"
# A Full into the very file the restored RAM is mapped from is refused.
api "$T/b/api.sock" PUT /snapshot/create "{\"snapshot_path\": \"$T/s2\", \"mem_file_path\": \"$T/mem\"}"
sn_expect 400 "is the memory file this microVM runs from" "a Full over the running memory file"
echo "PASS: Diff snapshot: the 32 MiB pattern written after the Full survives the restore"
