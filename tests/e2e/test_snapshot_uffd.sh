#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Uffd memory backend: a counting guest's Full snapshot is loaded by a
# fresh ember whose guest RAM is served page by page by a page-fault handler
# speaking Firecracker's protocol (tests/snapshot/uffd_handler.c): it gets
# the JSON mappings and the userfaultfd, copies each page from the memory
# file when first touched, and the guest counts on. The handler served some
# pages, far fewer than all of RAM (lazily). A handler socket that does not
# exist is a 400.
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
sn_setup
make -s -C "$E2E_ROOT" build/tests/snapshot/uffd_handler || fail "cannot build the handler"
HANDLER=$E2E_ROOT/build/tests/snapshot/uffd_handler

script='c=0; while :; do c=$((c + 1)); echo "count $c"; sleep 1; done'
sn_run "$T/a" "$script" 2 256 '^count 3$' 90 "the guest did not count"
pa=$SN_PID
sn_snapshot "$T/a" "$T/state" "$T/mem"
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
n0=$(tr -d '\r' <"$T/a/out" | grep -ao '^count [0-9]*' | tail -n 1 | cut -d' ' -f2)

sn_start "$T/b"
pb=$SN_PID
uffd_load() {
	api "$T/b/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$T/state\",
		\"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$1\"}, \"resume_vm\": true}"
}
uffd_load "$T/nohandler.sock"
sn_expect 400 "backend_path $T/nohandler.sock: No such file" "a missing handler socket"

e2e_bg "$HANDLER" "$T/uffd.sock" "$T/mem" >"$T/handler.out" 2>&1
ph=$E2E_PID
wait_for_file "$T/uffd.sock" "$(e2e_secs 10)" "$ph" || fail "the handler did not listen"
uffd_load "$T/uffd.sock" || { sn_show "$T/b/log" "$T/handler.out"; fail "load: $API_STATUS $API_BODY"; }
wait_for_line "$T/b/out" "^count $((n0 + 3))\$" "$(e2e_secs 90)" "$pb" ||
	{ sn_show "$T/b/out" "$T/b/log" "$T/handler.out"; fail "the guest did not count on"; }
grep -q '^UFFD-MAPPINGS \[{"base_host_virt_addr":[0-9]*,"size":268435456,"offset":0,"page_size":4096,"page_size_kib":4096}\]$' \
	"$T/handler.out" || { sn_show "$T/handler.out"; fail "unexpected mappings"; }
e2e_kill_tree "$pb" TERM
wait_for_exit "$pb" "$(e2e_secs 20)" >/dev/null
wait_for_line "$T/handler.out" '^UFFD-SERVED ' "$(e2e_secs 20)" "$ph" ||
	{ sn_show "$T/handler.out"; fail "the handler did not finish"; }
served=$(grep -o '^UFFD-SERVED [0-9]*' "$T/handler.out" | cut -d' ' -f2)
[ "$served" -gt 0 ] && [ "$served" -lt $((256 * 256)) ] ||
	fail "the handler served $served pages (want some, fewer than all 65536)"
log "counted on from $n0; the handler served $served pages of 65536"
echo "PASS: Uffd backend: the restored guest runs on pages a page-fault handler serves"
