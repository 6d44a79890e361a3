#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/api.sh OUTDIR - benchmark 6: API latency and requests/s.
#
# Needs no KVM: starts `ember --api-sock S` (log to /dev/null) and runs
# build/bench/apiclient on one kept-alive connection: BENCH_API_REQUESTS
# (default 5000) requests each of GET /, GET /machine-config and
# PUT /machine-config (pre-boot), after 200 warm-up requests; repeated
# BENCH_API_ROUNDS (3) times with a fresh ember.
# Appends apiclient's records (bench=api, round) to OUTDIR/api.jsonl.
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: api.sh OUTDIR}
mkdir -p "$OUT"
bench_build_tools
REQ=${BENCH_API_REQUESTS:-5000}
ROUNDS=${BENCH_API_ROUNDS:-3}
SOCK=$(mktemp -u "${TMPDIR:-/tmp}/ember-bench-api.XXXXXX.sock")
rc=0
for round in $(seq 1 "$ROUNDS"); do
	rm -f "$SOCK"
	"$EMBER" --api-sock "$SOCK" </dev/null >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 1 500); do
		[ -S "$SOCK" ] && break
		sleep 0.01
	done
	if ! "$TOOLS/apiclient" -n "$REQ" "$SOCK" | bench_tag bench=api round="$round" >>"$OUT/api.jsonl"; then
		bench_say "api: round $round failed"
		rc=1
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
rm -f "$SOCK"
bench_say "api: $ROUNDS rounds of $REQ requests per kind done"
exit $rc
