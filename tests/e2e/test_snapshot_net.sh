#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# virtio-net across a snapshot: the guest pings the host through a tap in a
# private network namespace; the snapshot is loaded by a fresh ember with
# network_overrides onto a new tap (same address and MAC on the host side),
# and the guest reaches the host again, and the host the guest.
# timeout: 900
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
command -v ip >/dev/null || _e2e_missing "no iproute2"
sn_setup
NS=ember-snap-$$
ip netns add "$NS" || _e2e_missing "cannot create a network namespace"
e2e_on_exit "ip netns del $NS 2>/dev/null"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev snap0 mode tap || fail "cannot create tap snap0"
ip -n "$NS" addr add 169.254.88.1/30 dev snap0
ip -n "$NS" link set snap0 up

script='ip addr add 169.254.88.2/30 dev eth0; ip link set eth0 up
i=0; while :; do i=$((i + 1))
if ping -c 1 -W 2 169.254.88.1 >/dev/null 2>&1; then echo "PING-OK $i"; else echo "PING-FAIL $i"; fi
sleep 1; done'

sn_start "$T/a" "$NS"
pa=$SN_PID
sn_boot "$T/a" "$script" 1 128
api "$T/a/api.sock" PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"snap0\",
	\"guest_mac\": \"06:00:a9:fe:58:02\"}" || fail "network-interfaces: $API_STATUS $API_BODY"
sn_start_vm "$T/a"
sn_wait "$T/a" '^PING-OK' 90 "$pa" "no traffic before the snapshot"
host_ping "$NS" 169.254.88.2 || fail "the host cannot ping the guest before the snapshot"
sn_snapshot "$T/a" "$T/state" "$T/mem"
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
before=$(tr -d '\r' <"$T/a/out" | grep -ao '^PING-[A-Z]* [0-9]*' | tail -n 1 | cut -d' ' -f2)

# A new tap with the old one's address and MAC; the old one goes.
mac=$(ip -n "$NS" -o link show snap0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
ip -n "$NS" link del snap0
ip -n "$NS" tuntap add dev snap1 mode tap || fail "cannot create tap snap1"
ip -n "$NS" link set snap1 address "$mac"
ip -n "$NS" addr add 169.254.88.1/30 dev snap1
ip -n "$NS" link set snap1 up

sn_start "$T/b" "$NS"
pb=$SN_PID
# Without the override the old tap is gone: a 400 naming it.
api "$T/b/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$T/state\", \"mem_file_path\": \"$T/mem\"}"
sn_expect 400 "network interface eth0" "a load onto the deleted tap"
sn_load "$T/b" "$T/state" "$T/mem" \
	'"network_overrides": [{"iface_id": "eth0", "host_dev_name": "snap1"}]'
sn_wait "$T/b" "^PING-OK $((before + 2))\$" 90 "$pb" "the restored guest does not reach the host"
host_ping "$NS" 169.254.88.2 || fail "the host cannot ping the restored guest"
api "$T/b/api.sock" GET /vm/config || fail "GET /vm/config: $API_STATUS"
echo "$API_BODY" | grep -q '"host_dev_name":"snap1"' || fail "GET /vm/config lacks the override: $API_BODY"
log "pings up to $before before the snapshot, $(tr -d '\r' <"$T/b/out" | grep -c '^PING-OK') OK after"
echo "PASS: virtio-net: traffic before the snapshot and after a restore onto a new tap"
