#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Orchestrator compatibility (docs/orchestrators.md): build/ember and
# build/ember-jailer run with the exact command lines that the Firecracker Go
# SDK, Kata Containers' Firecracker driver and firecracker-containerd build,
# then driven with the API requests those orchestrators send before boot. No
# guest is started (no InstanceStart), so no KVM is needed.
#
# "ok   gap: ..." lines are the differences the doc lists, checked to be still
# there. If one of them FAILs, ember changed: update docs/orchestrators.md.
#
# Parts that need root (jailer, network namespace, chroot) are skipped
# without it. Everything created (processes, jails, cgroups, the network
# namespace, temp files) is removed at exit.
# Ends with "compat: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/../.."
pass=0; fail=0; skip=0
ok()   { pass=$((pass + 1)); echo "ok   $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }
skp()  { skip=$((skip + 1)); echo "skip $*"; }
check() {	# description, then a command that must succeed
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}
gap() {		# description, then a command that succeeds while the gap is there
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then ok "gap: $what"
	else bad "gap: $what: not so any more, update docs/orchestrators.md"; fi
}

EMBER=${EMBER:-build/ember}
JAILER=${JAILER:-build/ember-jailer}
for b in "$EMBER" "$JAILER"; do
	[ -x "$b" ] || make -s -j2 "$b" >/dev/null 2>&1
	[ -x "$b" ] || { echo "compat: $b missing and cannot be built"; echo "compat: 0 passed, 1 failed"; exit 1; }
done
command -v curl >/dev/null || { echo "compat: curl missing (make deps)"; echo "compat: 0 passed, 1 failed"; exit 1; }
EMBER=$(realpath "$EMBER"); JAILER=$(realpath "$JAILER")
ROOT_OK=false; [ "$(id -u)" = 0 ] && ROOT_OK=true

T=$(mktemp -d /tmp/ember-compat.XXXXXX)
chmod 0755 "$T"			# the jail's uid must reach hard-linked files' dirs
U=1234; G=4321			# the uid/gid an orchestrator gives the VMM
NS=ember-ct-$$			# network namespace (as a CNI plugin makes one)
NSP=/run/netns/$NS
PIDS=""
CG_CLEAN=""			# cgroup directories to rmdir at exit, deepest first
exec 7>/dev/null 8>/dev/null	# fds that will hold FIFO readers

MOUNTS=""			# bind mounts to undo at exit, deepest first
unmount_all() {
	local m
	for m in $MOUNTS; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	MOUNTS=""
}
cleanup() {
	local p
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	for p in $PIDS; do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
	unmount_all	# before rm -rf, which would go through them
	exec 7>&- 8>&-
	for d in $CG_CLEAN; do rmdir "$d" 2>/dev/null; done
	$ROOT_OK && ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# ---- helpers -----------------------------------------------------------------
wait_sock() {	# PATH [TENTHS]: wait until PATH is a socket (5 s by default)
	local i
	for i in $(seq "${2:-50}"); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}
# api SOCK METHOD PATH [BODY]: sets CODE and BODY from the answer
api() {
	local sock=$1 method=$2 path=$3 data=${4-}
	if [ -n "$data" ]; then
		CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 --unix-socket "$sock" \
			-X "$method" -H 'Content-Type: application/json' -d "$data" "http://localhost$path")
	else
		CODE=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 5 --unix-socket "$sock" \
			-X "$method" "http://localhost$path")
	fi
	BODY=$(cat "$T/body" 2>/dev/null)
}
# api_is SOCK METHOD PATH BODY WANT-CODE [BODY-REGEX]: the answer is that
api_is() {
	api "$1" "$2" "$3" "$4"
	[ "$CODE" = "$5" ] && { [ -z "${6-}" ] || grep -qE -- "$6" <<<"$BODY"; }
}
# expect NAME SOCK METHOD PATH BODY WANT-CODE [BODY-REGEX]; expect_gap the
# same for a documented difference
expect() { local n=$1; shift; if api_is "$@"; then ok "$n"; else bad "$n: $2 $3 -> $CODE $BODY"; fi; }
expect_gap() {
	local n=$1; shift
	if api_is "$@"; then ok "gap: $n"
	else bad "gap: $n: $2 $3 -> $CODE $BODY: not so any more, update docs/orchestrators.md"; fi
}
# stop PID NAME: SIGTERM (what the SDK's StopVMM and Kata's StopVM send), then
# the exit status must be 0
stop() {
	local pid=$1 name=$2 i rc
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" 2>/dev/null; rc=$?
	check "$name: SIGTERM ends it with status 0" test "$rc" = 0
}
is_static() { ! readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }

# A kernel and a root file system as the orchestrators hand them over. ember
# opens them at PUT time only, so their content does not matter here.
head -c 65536 /dev/urandom >"$T/vmlinux"
truncate -s 8M "$T/rootfs.ext4"
chown $U:$G "$T/rootfs.ext4" 2>/dev/null	# writable for the jail's uid

if $ROOT_OK; then
	# The network namespace and tap a CNI plugin (SDK, firecracker-containerd)
	# or Kata's network set-up leaves for the VMM; the tap is owned by the
	# VMM's uid, so the jailed VMM can attach to it.
	ip netns add "$NS" && ip -n "$NS" tuntap add dev tap0 mode tap user $U group $G &&
		ip -n "$NS" link set tap0 up || { bad "cannot create netns $NS with tap0"; NSP=""; }
fi

# =============================================================================
# 1. Firecracker Go SDK, no jailer: firecracker --api-sock S --id VMID [seccomp]
#    (command_builder.go, machine.go configureBuilder/seccompArgs)
# =============================================================================
VMID=9f3c2a4e-1b7d-4c55-8e0a-2d6f1b3c4e5f	# NewMachine's default: a random UUID
sdk_sequence() {	# NAME SOCK PREFIX(for relative paths or "")
	local n=$1 s=$2 p=$3
	# BootstrapLogging: PUT /logger (show_level true, origin false), PUT /metrics
	mkfifo "$T/$n-log.fifo" "$T/$n-metrics.fifo"
	exec 7<>"$T/$n-log.fifo"	# as the SDK with FifoLogWriter: a reader first
	expect "$n: PUT /logger (log FIFO with a reader)" "$s" PUT /logger \
		"{\"log_path\":\"$p$T/$n-log.fifo\",\"level\":\"Debug\",\"show_level\":true,\"show_log_origin\":false}" 204
	# no reader on the metrics FIFO: the SDK never opens one
	expect "$n: PUT /metrics on a FIFO nobody reads (opened read-write, as Firecracker does)" \
		"$s" PUT /metrics "{\"metrics_path\":\"$p$T/$n-metrics.fifo\"}" 204
	# CreateMachine: PUT, then GET /machine-config
	expect "$n: PUT /machine-config {vcpu_count, mem_size_mib, smt}" "$s" PUT /machine-config \
		'{"mem_size_mib":256,"smt":false,"vcpu_count":2}' 204
	expect "$n: GET /machine-config returns it" "$s" GET /machine-config "" 200 \
		'"vcpu_count": *2.*"mem_size_mib": *256'
	# CreateBootSource, AttachDrives (drive ids "1", ...)
	expect "$n: PUT /boot-source" "$s" PUT /boot-source \
		"{\"kernel_image_path\":\"$p$T/vmlinux\",\"boot_args\":\"console=ttyS0 reboot=k panic=1 pci=off\"}" 204
	expect "$n: PUT /drives/1 (root drive)" "$s" PUT /drives/1 \
		"{\"drive_id\":\"1\",\"is_read_only\":false,\"is_root_device\":true,\"path_on_host\":\"$p$T/rootfs.ext4\"}" 204
	# the SDK's describe calls
	expect "$n: GET / has id, state, vmm_version, app_name" "$s" GET / "" 200 \
		'"state": *"Not started"'
	expect "$n: GET /version has firecracker_version" "$s" GET /version "" 200 '"firecracker_version"'
	# AddVsocks / ConfigMmds only run when configured
	expect_gap "$n: PUT /vsock is refused (no virtio-vsock)" "$s" PUT /vsock \
		"{\"guest_cid\":3,\"uds_path\":\"$T/$n.vsock\",\"vsock_id\":\"1\"}" 400
	expect_gap "$n: PUT /mmds/config is refused (no MMDS)" "$s" PUT /mmds/config \
		'{"network_interfaces":["1"],"version":"V1"}' 400
	exec 7>/dev/null 8>/dev/null
}

for variant in no-seccomp seccomp; do
	n=sdk-$variant
	args=(--api-sock "$T/$n.sock" --id "$VMID")
	[ $variant = no-seccomp ] && args+=(--no-seccomp)	# Seccomp.Enabled false (the default)
	"$EMBER" "${args[@]}" </dev/null >"$T/$n.out" 2>"$T/$n.err" &
	pid=$!; PIDS="$PIDS $pid"
	# waitForSocket: the file, then a GET /machine-config that answers, in 3 s
	t0=$(date +%s%N)
	ready=false
	for _ in $(seq 30); do
		if [ -S "$T/$n.sock" ]; then api "$T/$n.sock" GET /machine-config; [ "$CODE" = 200 ] && { ready=true; break; }; fi
		sleep 0.1
	done
	if $ready; then
		ok "$n: ember --api-sock S --id <uuid>${args[4]:+ ${args[4]}} serves GET /machine-config within the SDK's 3 s ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
		expect "$n: GET / id is the VMID" "$T/$n.sock" GET / "" 200 "\"id\": *\"$VMID\""
		[ $variant = no-seccomp ] && sdk_sequence "$n" "$T/$n.sock" ""
		stop $pid "$n"
	else
		bad "$n: no API: $(cat "$T/$n.err")"
	fi
done

# The SDK before 1.0 passed --seccomp-level (Firecracker < 1.0).
"$EMBER" --api-sock "$T/old.sock" --seccomp-level 0 --id "$VMID" </dev/null >/dev/null 2>"$T/old.err"
rc=$?
gap "SDK < 1.0 argv (--seccomp-level 0) is refused with status 153" \
	bash -c "[ $rc = 153 ] && grep -q \"unknown option '--seccomp-level'\" '$T/old.err'"
# ... and its machine-config had ht_enabled (Firecracker 1.0 renamed it smt)
"$EMBER" --api-sock "$T/old2.sock" --no-seccomp </dev/null >/dev/null 2>&1 &
pid=$!; PIDS="$PIDS $pid"
if wait_sock "$T/old2.sock"; then
	expect_gap "SDK < 1.0 machine-config (ht_enabled) is refused" "$T/old2.sock" PUT /machine-config \
		'{"ht_enabled":false,"mem_size_mib":128,"vcpu_count":1}' 400 'unknown field `ht_enabled`'
	expect "a static CPU template (T2) is taken (checked against the host's vendor at boot)" \
		"$T/old2.sock" PUT /machine-config \
		'{"cpu_template":"T2","mem_size_mib":128,"smt":false,"vcpu_count":1}' 204
	stop $pid "sdk-old"
else
	bad "sdk-old: no API socket"
fi

# PUT /network-interfaces/1 as the SDK sends it, in the VM's netns
if $ROOT_OK && [ -n "$NSP" ]; then
	n=sdk-net
	ip netns exec "$NS" "$EMBER" --api-sock "$T/$n.sock" --id "$VMID" --no-seccomp </dev/null >/dev/null 2>"$T/$n.err" &
	pid=$!; PIDS="$PIDS $pid"
	if wait_sock "$T/$n.sock"; then
		expect "$n: PUT /network-interfaces/1 {iface_id, host_dev_name, guest_mac}" "$T/$n.sock" \
			PUT /network-interfaces/1 '{"iface_id":"1","guest_mac":"02:FC:00:00:00:05","host_dev_name":"tap0"}' 204
		stop $pid "$n"
	else
		bad "$n: no API socket: $(cat "$T/$n.err")"
	fi
else
	skp "sdk-net: PUT /network-interfaces needs root (a tap in a netns)"
fi

# =============================================================================
# 2. Firecracker Go SDK with JailerConfig (jailer.go): jailer --id ID --uid U
#    --gid G --exec-file F [--cgroup cpuset.mems=N --cgroup cpuset.cpus=L]
#    [--cgroup-version V] --chroot-base-dir D [--netns NS] [--daemonize]
#    -- --no-seccomp --api-sock /run/firecracker.socket
#    Files: NaiveChrootStrategy hard-links kernel, drives and FIFOs into
#    D/<exec name>/<id>/root and gives the API their base names.
# =============================================================================
CPUSET=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuset(,|$)/ {print $2; exit}' /proc/mounts)
NODE0=$(cat /sys/devices/system/node/node0/cpulist 2>/dev/null)
cg_args=()
if [ -n "$CPUSET" ] && [ -n "$NODE0" ]; then
	# NumaNode 0: the two cpuset values, cgroup v1 (this host's)
	cg_args=(--cgroup cpuset.mems=0 --cgroup "cpuset.cpus=$NODE0" --cgroup-version 1)
	# the jailer's parent cgroup is the exec file's name: remove only what we made
	[ -d "$CPUSET/ember" ] || CG_CLEAN="$CG_CLEAN $CPUSET/ember"
fi
sdk_jail_argv() {	# ID DAEMONIZE(0|1) -> prints nothing, sets JARGV
	JARGV=(--id "$1" --uid $U --gid $G --exec-file "$EMBER" "${cg_args[@]}"
		--chroot-base-dir "$T/jailer")
	[ -n "$NSP" ] && JARGV+=(--netns "$NSP")
	[ "$2" = 1 ] && JARGV+=(--daemonize)
	JARGV+=(-- --no-seccomp --api-sock /run/firecracker.socket)
}
if $ROOT_OK; then
	ID=sdk-jail-$$
	[ -n "$CPUSET" ] && CG_CLEAN="$CPUSET/ember/$ID $CG_CLEAN"
	R=$T/jailer/ember/$ID/root
	S=$R/run/firecracker.socket
	sdk_jail_argv $ID 0
	echo "     ember-jailer ${JARGV[*]}"
	"$JAILER" "${JARGV[@]}" </dev/null >"$T/sj.out" 2>"$T/sj.err" &
	jpid=$!; PIDS="$PIDS $jpid"
	ready=false
	for _ in $(seq 30); do	# the SDK's 3 s
		if [ -S "$S" ]; then api "$S" GET /machine-config; [ "$CODE" = 200 ] && { ready=true; break; }; fi
		sleep 0.1
	done
	if $ready; then
		ok "sdk-jail: socket at <base>/ember/<id>/root/run/firecracker.socket answers within 3 s"
		check "sdk-jail: pid file ember.pid names the process the SDK started" \
			test "$(cat "$R/ember.pid")" = "$jpid"
		check "sdk-jail: that process is ember, as uid $U" \
			test "$(cat /proc/$jpid/comm) $(awk '$1 == "Uid:" {print $2}' /proc/$jpid/status)" = "ember $U"
		check "sdk-jail: its cwd is the jail's / (relative paths resolve in the jail)" \
			test "$(readlink /proc/$jpid/cwd)" = /
		if [ ${#cg_args[@]} -gt 0 ]; then
			check "sdk-jail: in cpuset cgroup /ember/$ID with cpus $NODE0, mems 0" \
				test "$(grep -c ":cpuset:/ember/$ID\$" /proc/$jpid/cgroup) $(cat "$CPUSET/ember/$ID/cpuset.cpus") $(cat "$CPUSET/ember/$ID/cpuset.mems")" = "1 $NODE0 0"
		fi
		[ -n "$NSP" ] && check "sdk-jail: in the netns given by --netns" \
			test "$(stat -L -c %i /proc/$jpid/ns/net)" = "$(stat -L -c %i "$NSP")"
		# LinkFilesHandler: os.Link kernel and drives, Link + Chown the FIFOs
		mkfifo "$T/sj-log.fifo" "$T/sj-metrics.fifo"
		if ln "$T/vmlinux" "$R/vmlinux" && ln "$T/rootfs.ext4" "$R/rootfs.ext4" &&
		   ln "$T/sj-log.fifo" "$R/sj-log.fifo" && ln "$T/sj-metrics.fifo" "$R/sj-metrics.fifo" &&
		   chown $U:$G "$R/sj-log.fifo" "$R/sj-metrics.fifo"; then
			ok "sdk-jail: kernel, drive and FIFOs hard-linked into the jail root"
		else
			bad "sdk-jail: cannot hard-link into $R"
		fi
		exec 7<>"$T/sj-log.fifo" 8<>"$T/sj-metrics.fifo"
		expect "sdk-jail: PUT /logger log_path sj-log.fifo (relative)" "$S" PUT /logger \
			'{"log_path":"sj-log.fifo","level":"Debug","show_level":true,"show_log_origin":false}' 204
		expect "sdk-jail: PUT /metrics metrics_path sj-metrics.fifo" "$S" PUT /metrics \
			'{"metrics_path":"sj-metrics.fifo"}' 204
		exec 7>/dev/null 8>/dev/null
		expect "sdk-jail: PUT /machine-config" "$S" PUT /machine-config \
			'{"mem_size_mib":128,"smt":false,"vcpu_count":1}' 204
		expect "sdk-jail: PUT /boot-source kernel_image_path vmlinux (relative)" "$S" PUT /boot-source \
			'{"kernel_image_path":"vmlinux","boot_args":"console=ttyS0 reboot=k panic=1 pci=off"}' 204
		expect "sdk-jail: PUT /drives/1 path_on_host rootfs.ext4 (relative)" "$S" PUT /drives/1 \
			'{"drive_id":"1","is_read_only":false,"is_root_device":true,"path_on_host":"rootfs.ext4"}' 204
		if [ -n "$NSP" ]; then
			expect "sdk-jail: PUT /network-interfaces/1 (tap in the netns)" "$S" PUT /network-interfaces/1 \
				'{"iface_id":"1","guest_mac":"02:FC:00:00:00:06","host_dev_name":"tap0"}' 204
		fi
		expect "sdk-jail: GET /vm/config shows the jail-relative paths" "$S" GET /vm/config "" 200 \
			'"path_on_host": *"rootfs.ext4"'
		stop $jpid "sdk-jail"
	else
		bad "sdk-jail: no API within 3 s: $(cat "$T/sj.err")"
	fi
	rm -rf "$T/jailer"

	# Daemonize: true
	ID=sdk-jaild-$$
	[ -n "$CPUSET" ] && CG_CLEAN="$CPUSET/ember/$ID $CG_CLEAN"
	R=$T/jailer/ember/$ID/root
	sdk_jail_argv $ID 1
	timeout -k 5 30 "$JAILER" "${JARGV[@]}" </dev/null >"$T/sjd.out" 2>"$T/sjd.err"
	rc=$?
	check "sdk-jail --daemonize: the jailer exits 0 by itself" test $rc = 0
	if wait_sock "$R/run/firecracker.socket"; then
		ok "sdk-jail --daemonize: the API socket appears"
		dpid=$(cat "$R/ember.pid" 2>/dev/null); PIDS="$PIDS $dpid"
		check "sdk-jail --daemonize: ember.pid names the running ember" \
			test "$(cat /proc/$dpid/comm 2>/dev/null)" = ember
		expect "sdk-jail --daemonize: GET /machine-config" "$R/run/firecracker.socket" GET /machine-config "" 200
		kill -TERM "$dpid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
		check "sdk-jail --daemonize: SIGTERM ends the daemon" bash -c "! kill -0 $dpid 2>/dev/null"
	else
		bad "sdk-jail --daemonize: no API socket: $(cat "$T/sjd.err")"
	fi
	rm -rf "$T/jailer"
else
	skp "sdk-jail: the jailer needs root"
fi

# =============================================================================
# 3. Kata Containers (virtcontainers/fc.go)
# =============================================================================
# fcInit first runs "<path> --version" and needs a version >= 0.21.1 from the
# second word of the first line.
vline=$("$EMBER" --version | head -n1)
kv=$(awk '{print $2}' <<<"$vline"); kv=${kv#v}
semver() { [[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; }
version_below() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }
check "kata: --version's first line has a semver as its second word ($vline)" semver "$kv"
gap "kata: ember's version $kv is below Kata's minimum 0.21.1" version_below "$kv" 0.21.1

# The config file Kata writes (fcConfig.json): machine-config with smt,
# boot-source, a read-only non-root "rootfs" drive, 8 empty placeholder
# drives drive_0..drive_7, logger and metrics on FIFOs Kata reads, a hybrid
# vsock, and network interfaces with empty rate limiters.
K=$T/kata/ember/0123456789abcdef0123456789abcdef	# <chroot base>/<exec name>/<id (32)>
KR=$K/root
mkdir -p "$KR/run"
ln "$T/vmlinux" "$KR/vmlinux"; ln "$T/rootfs.ext4" "$KR/rootfs"
mkfifo "$K/logs.fifo" "$K/metrics.fifo"
exec 7<>"$K/logs.fifo" 8<>"$K/metrics.fifo"	# Kata opens its readers first
drives="{\"drive_id\":\"rootfs\",\"path_on_host\":\"$KR/rootfs\",\"is_root_device\":false,\"is_read_only\":true}"
for i in 0 1 2 3 4 5 6 7; do
	: >"$KR/drive_$i"
	drives="$drives,{\"drive_id\":\"drive_$i\",\"path_on_host\":\"$KR/drive_$i\",\"is_root_device\":false,\"is_read_only\":false}"
done
net=""
$ROOT_OK && [ -n "$NSP" ] &&
	net=",\"network-interfaces\":[{\"iface_id\":\"eth0\",\"guest_mac\":\"02:FC:00:00:00:07\",\"host_dev_name\":\"tap0\",\"rx_rate_limiter\":{},\"tx_rate_limiter\":{}}]"
kata_cfg() {	# VSOCK(0|1) -> the JSON
	local vs=""
	[ "$1" = 1 ] && vs=",\"vsock\":{\"guest_cid\":3,\"uds_path\":\"$KR/kata.hvsock\",\"vsock_id\":\"root\"}"
	cat <<EOF
{
	"boot-source": {"kernel_image_path": "$KR/vmlinux", "boot_args": "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 pci=off reboot=k panic=1 iommu=off net.ifnames=0 random.trust_cpu=on acpi=off 8250.nr_uarts=0 agent.log_vport=1025"},
	"machine-config": {"smt": false, "mem_size_mib": 128, "vcpu_count": 1},
	"drives": [$drives],
	"logger": {"level": "Error", "log_path": "$K/logs.fifo"},
	"metrics": {"metrics_path": "$K/metrics.fifo"}$vs$net
}
EOF
}
kata_cfg 1 >"$KR/fcConfig.json"
kata_cfg 0 >"$KR/fcConfig-novsock.json"
krun() {	# CONFIG: Kata's unjailed argv, in the VM's netns when there is one
	local pre=()
	[ -n "$net" ] && pre=(ip netns exec "$NS")
	timeout -k 5 30 "${pre[@]}" "$EMBER" --api-sock "$KR/run/firecracker.socket" --config-file "$1" \
		</dev/null >"$T/k.out" 2>"$T/k.err"
}
krun "$KR/fcConfig.json"; rc=$?
gap "kata: its config file is refused for the vsock it always has (status 1)" \
	bash -c "[ $rc = 1 ] && grep -q 'ember does not support \"vsock\"' '$T/k.err'"
# Without the vsock, everything else in Kata's file must be accepted: ember
# gets past the file to building the VM, which fails for want of /dev/kvm or
# of a real kernel (never a guest), not with a config file error.
krun "$KR/fcConfig-novsock.json"; rc=$?
if [ $rc != 0 ] && ! grep -q 'config file' "$T/k.err" && [ -s "$T/k.err" ]; then
	ok "kata: the rest of its config file (9 drives, 8 empty, FIFOs${net:+, empty rate limiters}) is accepted -> $(tail -n1 "$T/k.err")"
else
	bad "kata: config file without vsock: status $rc: $(cat "$T/k.err")"
fi
exec 7>/dev/null 8>/dev/null

if $ROOT_OK; then
	# Kata's jailer argv: the runtime still runs the VMM as root
	kbase=$T/kata-base
	kjargv=(--id 0123456789abcdef0123456789abcdef --exec-file "$EMBER" --uid 0 --gid 0
		--chroot-base-dir "$kbase" --daemonize)
	[ -n "$NSP" ] && kjargv+=(--netns "$NSP")
	kjargv+=(-- --config-file /fcConfig.json)
	echo "     ember-jailer ${kjargv[*]}"
	timeout -k 5 30 "$JAILER" "${kjargv[@]}" </dev/null >/dev/null 2>"$T/kj.err"; rc=$?
	gap "kata: jailer argv with --uid 0 --gid 0 is refused (status 1, nothing created)" \
		bash -c "[ $rc = 1 ] && grep -q -- '--uid 0: the jailed process must not run as root' '$T/kj.err' && [ ! -e '$kbase' ]"
	# older Kata releases also passed --node 0
	timeout -k 5 30 "$JAILER" --id kata-node-$$ --node 0 --exec-file "$EMBER" --uid $U --gid $G \
		--chroot-base-dir "$kbase" --daemonize -- --config-file /fcConfig.json </dev/null >/dev/null 2>"$T/kj.err"; rc=$?
	gap "kata: --node (older Kata) is an unknown argument" \
		bash -c "[ $rc = 1 ] && grep -q \"unknown argument '--node'\" '$T/kj.err'"
	# Kata prepares the jail before it runs the jailer (fcInitConfiguration,
	# fcJailResource, createDiskPool): <vmPath>/root/run, the root
	# bind-mounted on itself as a shared mount, the kernel, the root file
	# system and fcConfig.json bind-mounted into the root, drive_0..7
	# created there, all root's. Kata runs the VMM as root (refused above),
	# so this runs it as uid $U; it passes no --api-sock and polls
	# <root>/run/firecracker.socket with GET /.
	ID=0123456789abcdef0123456789ab$$	# a 32-character id, as Kata truncates them
	ID=${ID:0:32}
	KV=$kbase/ember/$ID; KJ=$KV/root
	mkdir -p "$KJ/run"; chmod 0750 "$KV" "$KJ" "$KJ/run"
	if mount --bind "$KJ" "$KJ" && mount --make-shared "$KJ"; then
		MOUNTS="$KJ $MOUNTS"
		for f in vmlinux:"$T/vmlinux" rootfs:"$T/rootfs.ext4" fcConfig.json:"$KR/fcConfig-novsock.json"; do
			: >"$KJ/${f%%:*}"
			mount --bind "${f#*:}" "$KJ/${f%%:*}" && MOUNTS="$KJ/${f%%:*} $MOUNTS"
		done
		for i in 0 1 2 3 4 5 6 7; do : >"$KJ/drive_$i"; done
		chown $U:$G "$KJ/drive_0"	# Kata's VMM (root) can write them; ours is $U
	else
		bad "kata: cannot bind-mount the jail root on itself"
	fi
	kjargv=(--id $ID --exec-file "$EMBER" --uid $U --gid $G --chroot-base-dir "$kbase" --daemonize)
	[ -n "$NSP" ] && kjargv+=(--netns "$NSP")
	timeout -k 5 30 "$JAILER" "${kjargv[@]}" </dev/null >/dev/null 2>"$T/kj.err"; rc=$?
	check "kata: the jailer takes the jail Kata prepared (exit 0)" test $rc = 0
	S=$KJ/run/firecracker.socket
	if wait_sock "$S"; then
		dpid=$(cat "$KJ/ember.pid" 2>/dev/null); PIDS="$PIDS $dpid"
		ok "kata: with no --api-sock the socket is <root>/run/firecracker.socket, where Kata polls"
		expect "kata: GET / (Kata's readiness probe) says Not started" "$S" GET / "" 200 \
			'"state": *"Not started"'
		expect "kata: PUT /boot-source /vmlinux (bind-mounted into the jail)" "$S" PUT /boot-source \
			'{"kernel_image_path":"/vmlinux","boot_args":"console=ttyS0 reboot=k panic=1 pci=off"}' 204
		expect "kata: PUT /drives/rootfs /rootfs (bind-mounted, read-only)" "$S" PUT /drives/rootfs \
			'{"drive_id":"rootfs","path_on_host":"/rootfs","is_root_device":false,"is_read_only":true}' 204
		expect "kata: PUT /drives/drive_0 /drive_0 (made in the jail)" "$S" PUT /drives/drive_0 \
			'{"drive_id":"drive_0","path_on_host":"/drive_0","is_root_device":false,"is_read_only":false}' 204
		check "kata: its files are still in the jail root" \
			test "$(ls "$KJ" | grep -c -E '^(vmlinux|rootfs|fcConfig.json|drive_[0-7])$')" = 11
		kill -TERM "$dpid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.1; done
	else
		bad "kata: prepared jail: no API socket at $S: status $rc: $(cat "$T/kj.err")"
	fi
	unmount_all
	rm -rf "$kbase"
else
	skp "kata: jailer argv needs root"
fi

# =============================================================================
# 4. firecracker-containerd (runtime/noop_jailer.go, runc_jailer.go)
# =============================================================================
# Without a jailer: <firecracker_binary_path> --api-sock <relative path to
# <shim_base_dir>/<namespace>#<vmID>/firecracker.sock>, from the shim's cwd
SD="$T/shim-base/default#vm-fcc-$$"
mkdir -p "$SD"
(cd "$SD" && exec "$EMBER" --api-sock firecracker.sock) </dev/null >/dev/null 2>"$T/fcc.err" &
pid=$!; PIDS="$PIDS $pid"
S=$SD/firecracker.sock
if wait_sock "$S"; then
	ok "fcc: --api-sock firecracker.sock (relative) creates it in the shim dir"
	expect "fcc: GET /machine-config (the SDK's readiness probe)" "$S" GET /machine-config "" 200
	# buildVMConfiguration: LogPath/MetricsPath are FIFOs it made with mkfifo;
	# nothing reads them when the SDK sends PUT /logger
	mkfifo "$SD/fc-logs.fifo" "$SD/fc-metrics.fifo"
	expect "fcc: PUT /logger on its FIFO (no reader yet)" "$S" PUT /logger \
		"{\"log_path\":\"$SD/fc-logs.fifo\",\"level\":\"Debug\",\"show_level\":true,\"show_log_origin\":false}" 204
	expect "fcc: PUT /machine-config with its default cpu_template T2" "$S" PUT /machine-config \
		'{"cpu_template":"T2","mem_size_mib":128,"smt":false,"vcpu_count":1}' 204
	expect "fcc: PUT /machine-config with cpu_template \"\" (left out)" "$S" PUT /machine-config \
		'{"mem_size_mib":128,"smt":false,"vcpu_count":1}' 204
	expect_gap "fcc: PUT /vsock for its agent (agent_api) is refused" "$S" PUT /vsock \
		'{"guest_cid":3,"uds_path":"firecracker.vsock","vsock_id":"agent_api"}' 400
	stop $pid "fcc"
else
	bad "fcc: no API socket: $(cat "$T/fcc.err")"
fi

# The runc jailer: runc runs the OCI bundle's process "/firecracker --api-sock
# api.socket" in <bundle>/rootfs, where the binary was copied as "firecracker"
# and the kernel as "kernel-image", as the uid/gid of the CreateVM request.
# chroot --userspec stands in for runc here (no namespaces, same files and
# argv); the jail has nothing but these files, so ember must be static.
if $ROOT_OK && is_static "$EMBER"; then
	RF=$T/bundle/rootfs
	mkdir -p "$RF"; chown $U:$G "$RF"; chmod 0700 "$RF"
	cp --sparse=always "$EMBER" "$RF/firecracker"; chmod 0500 "$RF/firecracker"
	cp --sparse=always "$T/vmlinux" "$RF/kernel-image"; chmod 0400 "$RF/kernel-image"
	cp --sparse=always "$T/rootfs.ext4" "$RF/rootfs.ext4"; chmod 0600 "$RF/rootfs.ext4"
	chown $U:$G "$RF/firecracker" "$RF/kernel-image" "$RF/rootfs.ext4"
	(cd "$T/bundle" && exec chroot --userspec=$U:$G rootfs /firecracker --api-sock api.socket) \
		</dev/null >/dev/null 2>"$T/runc.err" &
	pid=$!; PIDS="$PIDS $pid"
	S=$RF/api.socket
	if wait_sock "$S"; then
		ok "fcc-runc: /firecracker --api-sock api.socket in an empty root creates <bundle>/rootfs/api.socket"
		expect "fcc-runc: GET /machine-config" "$S" GET /machine-config "" 200
		expect "fcc-runc: PUT /boot-source kernel_image_path kernel-image (relative)" "$S" PUT /boot-source \
			'{"kernel_image_path":"kernel-image","boot_args":"console=ttyS0 noapic reboot=k panic=1 pci=off nomodules rw"}' 204
		expect "fcc-runc: PUT /drives/root_drive path_on_host rootfs.ext4 (relative)" "$S" PUT /drives/root_drive \
			'{"drive_id":"root_drive","is_read_only":true,"is_root_device":true,"path_on_host":"rootfs.ext4"}' 204
		stop $pid "fcc-runc"
	else
		bad "fcc-runc: no API socket: $(cat "$T/runc.err")"
	fi
elif ! $ROOT_OK; then
	skp "fcc-runc: chroot needs root"
else
	skp "fcc-runc: $EMBER is dynamically linked; firecracker-containerd copies the binary alone (make with the static default)"
fi

# =============================================================================
# 5. Firecracker flags some launchers always pass (Firecracker's own test
#    framework, MMDS users): --http-api-max-payload-size, --mmds-size-limit;
#    --enable-pci (devices on PCI) is refused
# =============================================================================
n=flags
"$EMBER" --api-sock "$T/$n.sock" --no-seccomp --mmds-size-limit 51200 \
	--http-api-max-payload-size 512000 </dev/null >"$T/$n.out" 2>"$T/$n.err" &
pid=$!; PIDS="$PIDS $pid"
if wait_sock "$T/$n.sock"; then
	ok "$n: --mmds-size-limit 51200 --http-api-max-payload-size 512000 accepted"
	{ printf '{"vcpu_count":1,"mem_size_mib":64}'; head -c 300000 /dev/zero | tr '\0' ' '; } >"$T/big.json"
	expect "$n: a 300 KB body is within the 512000 limit" "$T/$n.sock" PUT /machine-config \
		"@$T/big.json" 204
	stop $pid "$n"
	check "$n: the log says once that --mmds-size-limit has no effect (no MMDS)" \
		test "$(grep -c -- '--mmds-size-limit 51200 has no effect: ember has no MMDS' "$T/$n.err")" = 1
else
	bad "$n: no API socket: $(cat "$T/$n.err")"
fi
"$EMBER" --api-sock "$T/pci.sock" --enable-pci </dev/null >/dev/null 2>"$T/pci.err"; rc=$?
check "flags: --enable-pci is refused with status 153, saying ember has no PCI" \
	bash -c "[ $rc = 153 ] && [ ! -e '$T/pci.sock' ] && grep -q '^ember: --enable-pci: ember has no PCI' '$T/pci.err'"
"$EMBER" --api-sock "$T/mm.sock" --mmds-size-limit lots </dev/null >/dev/null 2>"$T/mm.err"; rc=$?
check "flags: --mmds-size-limit lots is refused with status 153" \
	bash -c "[ $rc = 153 ] && grep -q \"'lots' is not a number\" '$T/mm.err'"

echo "compat: $pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
