# SPDX-License-Identifier: Apache-2.0
# Helpers for tests/e2e/test_snapshot_*.sh (bash; sourced after lib.sh).
# Functions are prefixed sn_. Every ember they start runs in the background
# (e2e_bg, killed at exit) with its API socket, console and log in a
# directory of the test's temporary directory.
#
#   sn_setup                       the prerequisites (KVM, ember, guest images, curl) and
#                                  T, the test's temporary directory
#   sn_start DIR [NETNS]           ember with DIR/api.sock, DIR/out (console), DIR/log,
#                                  DIR/metrics; sets SN_PID. In NETNS when given. SN_EMBER_ARGS:
#                                  more ember options (word-split), e.g. --no-vmgenid
#   sn_start_in DIR [ARG...]       sn_start with DIR/in (a FIFO) as ember's stdin, so
#                                  sn_send DIR TEXT types a line on the guest's console;
#                                  ARGs go to ember
#   sn_faults PID                  minor + major page faults of the process so far
#   sn_args SCRIPT                 guest command line running SCRIPT (guest/init's ember.sh=)
#   sn_boot DIR SCRIPT VCPUS MEM [MACHINE_JSON_EXTRA]
#                                  PUT boot-source and machine-config (then the caller adds
#                                  devices and calls sn_start_vm)
#   sn_start_vm DIR                InstanceStart
#   sn_wait DIR ERE SECS PID WHAT  wait (e2e_secs SECS) for a line of DIR/out matching ERE;
#                                  else show DIR/out and DIR/log and fail with WHAT
#   sn_run DIR SCRIPT VCPUS MEM ERE SECS WHAT [MACHINE_JSON_EXTRA]
#                                  sn_start, sn_boot, sn_start_vm, sn_wait: a booted guest
#                                  whose script printed ERE; sets SN_PID
#   sn_snapshot DIR STATE MEM [TYPE]  pause, then create (Full by default)
#   sn_load DIR STATE MEM [EXTRA]  load with a File backend and resume_vm; EXTRA: more
#                                  top-level JSON members, e.g. '"track_dirty_pages": true'
#   sn_show FILE...                the last lines of each (for a failure)
#   sn_expect STATUS TEXT WHAT     the last api call answered STATUS with TEXT in its body

sn_setup() {
	need_kvm
	need_ember
	need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS
	command -v curl >/dev/null || _e2e_missing "no curl"
	e2e_tmpdir
	T=$E2E_TMP
}

sn_start() {
	local d=$1 ns=${2:-}
	mkdir -p "$d"
	# shellcheck disable=SC2086 # SN_EMBER_ARGS is a list of options
	if [ -n "$ns" ]; then
		e2e_bg ip netns exec "$ns" "$EMBER_BIN" --api-sock "$d/api.sock" --log-path "$d/log" \
			--metrics-path "$d/metrics" ${SN_EMBER_ARGS:-} </dev/null >"$d/out" 2>&1
	else
		e2e_bg "$EMBER_BIN" --api-sock "$d/api.sock" --log-path "$d/log" \
			--metrics-path "$d/metrics" ${SN_EMBER_ARGS:-} </dev/null >"$d/out" 2>&1
	fi
	SN_PID=$E2E_PID
	wait_for_file "$d/api.sock" "$(e2e_secs 10)" "$SN_PID" || fail "$d: no API socket"
}

declare -A SN_IN
sn_start_in() {
	local d=$1 fd
	shift
	mkdir -p "$d"
	rm -f "$d/in"
	mkfifo "$d/in" || fail "mkfifo $d/in"
	exec {fd}<>"$d/in"   # the write end first: opening the FIFO to read then does not block
	SN_IN[$d]=$fd
	# (bash puts a background command's stdin on /dev/null unless the
	# command itself redirects it: the exec does)
	e2e_bg bash -c 'exec "$@" <"$0"' "$d/in" "$EMBER_BIN" --api-sock "$d/api.sock" \
		--log-path "$d/log" --metrics-path "$d/metrics" "$@" >"$d/out" 2>&1
	SN_PID=$E2E_PID
	wait_for_file "$d/api.sock" "$(e2e_secs 10)" "$SN_PID" || fail "$d: no API socket"
}

sn_send() { printf '%s\n' "$2" >&"${SN_IN[$1]}"; }

sn_faults() { awk '{ print $10 + $12 }' "/proc/$1/stat"; }

sn_args() {
	printf 'console=ttyS0 reboot=k panic=1 pci=off quiet ember.sh=%s' \
		"$(printf '%s\n' "$1" | base64 -w0)"
}

sn_boot() {
	local d=$1 vcpus=$3 mem=$4 extra=${5:+, $5}
	api "$d/api.sock" PUT /boot-source "{\"kernel_image_path\": \"$EMBER_GUEST_BZIMAGE\",
		\"initrd_path\": \"$EMBER_GUEST_INITRAMFS\", \"boot_args\": \"$(sn_args "$2")\"}" ||
		fail "$d: boot-source: $API_STATUS $API_BODY"
	api "$d/api.sock" PUT /machine-config "{\"vcpu_count\": $vcpus, \"mem_size_mib\": $mem$extra}" ||
		fail "$d: machine-config: $API_STATUS $API_BODY"
}

sn_start_vm() {
	api "$1/api.sock" PUT /actions '{"action_type": "InstanceStart"}' ||
		{ sn_show "$1/log"; fail "$1: InstanceStart: $API_STATUS $API_BODY"; }
}

sn_wait() {
	wait_for_line "$1/out" "$2" "$(e2e_secs "$3")" "$4" ||
		{ sn_show "$1/out" "$1/log"; fail "$5"; }
}

sn_run() {
	sn_start "$1"
	sn_boot "$1" "$2" "$3" "$4" "${8:-}"
	sn_start_vm "$1"
	sn_wait "$1" "$5" "$6" "$SN_PID" "$7"
}

sn_snapshot() {
	local d=$1 type=${4:-Full}
	api "$d/api.sock" PATCH /vm '{"state": "Paused"}' || fail "$d: pause: $API_STATUS $API_BODY"
	api "$d/api.sock" PUT /snapshot/create "{\"snapshot_path\": \"$2\", \"mem_file_path\": \"$3\",
		\"snapshot_type\": \"$type\"}" ||
		{ sn_show "$d/log"; fail "$d: create ($type): $API_STATUS $API_BODY"; }
}

sn_load() {
	local d=$1 extra=${4:+, $4}
	api "$d/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$2\",
		\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$3\"},
		\"resume_vm\": true$extra}" ||
		{ sn_show "$d/log"; fail "$d: load: $API_STATUS $API_BODY"; }
}

sn_show() {
	local f
	for f in "$@"; do echo "--- $f" >&2; tr -d '\r' <"$f" | tail -n 15 >&2; done
}

sn_expect() {
	[ "$API_STATUS" = "$1" ] || fail "$3: HTTP $API_STATUS ($API_BODY), want $1"
	[ -z "$2" ] || printf '%s' "$API_BODY" | grep -qF -- "$2" ||
		fail "$3: '$API_BODY' lacks '$2'"
}
