# SPDX-License-Identifier: Apache-2.0
# tests/e2e/lib.sh: helpers for tests/e2e/test_*.sh (bash). Sourced, not run:
#
#   . "$(dirname "$0")/lib.sh"
#
# A test runs inside the test bed (tests/testbed/run.sh): /dev/kvm works,
# /tmp and /run are tmpfs (Unix sockets are fine there), the repository is
# the host's checkout. Exit 0 = pass, 77 = skip, anything else = fail.
#
# Defines (override any of the first three from the environment):
#   EMBER_BIN, EMBER_JAILER_BIN   build/ember, build/ember-jailer
#   EMBER_CACHE                   ~/.cache/ember
#   E2E_ROOT                      the repository root
#   E2E_NAME                      this test's name (test_foo)
#   E2E_SLOW                      1 with real KVM, 20 in the emulated KVM host
#   EMBER_GUEST_*                 from build/guest.env (this checkout's images, written by
#                                 guest/build.sh), else $EMBER_CACHE/guest/current.env
#                                 (EMBER_GUEST_VMLINUX, _BZIMAGE, _INITRAMFS,
#                                 _ROOTFS_EXT4, _CLOUD_KERNEL; see guest/README.md)
# Functions: log, fail, skip, need_kvm, need_ember, need_guest,
# need_guest_program, e2e_tmpdir,
# e2e_bg, e2e_on_exit, e2e_kill_tree, e2e_secs, wait_for_line, wait_for_file,
# wait_for_exit, ember_config, api, host_ping.
#
# An EXIT trap (e2e_cleanup) runs the e2e_on_exit commands, kills what
# e2e_bg started and any other child of the test left running, and removes
# E2E_TMP. A test that sets its own EXIT trap should call e2e_cleanup from it.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_NAME=$(basename "$0" .sh)
EMBER_BIN=${EMBER_BIN:-$E2E_ROOT/build/ember}
EMBER_JAILER_BIN=${EMBER_JAILER_BIN:-$E2E_ROOT/build/ember-jailer}
EMBER_CACHE=${EMBER_CACHE:-${HOME:-/root}/.cache/ember}
if [ "${EMBER_TESTBED:-}" = emulated ]; then E2E_SLOW=${E2E_SLOW:-20}; else E2E_SLOW=${E2E_SLOW:-1}; fi
# shellcheck disable=SC1091
E2E_GUEST_ENV=$E2E_ROOT/build/guest.env
[ -f "$E2E_GUEST_ENV" ] || E2E_GUEST_ENV=$EMBER_CACHE/guest/current.env
# shellcheck disable=SC1090
[ -f "$E2E_GUEST_ENV" ] && . "$E2E_GUEST_ENV"

E2E_TMP=""
E2E_PIDS=""
E2E_ON_EXIT=()

# log MSG...: a progress line on stderr (kept in the runner's log).
log() { echo "# $E2E_NAME: $*" >&2; }

# fail MSG...: end the test as failed.
#
# One exception, in the emulated KVM host only (QEMU TCG running nested SVM,
# see tests/testbed/README.md): there a guest now and then dies in the middle
# of ordinary work (booting, printing), and the same guest on real KVM never
# does. It dies of a triple fault; or its kernel of a double fault (seen
# 2026-12-04: the page-fault handler faulting on its own per-CPU read, as a
# program started); or (seen once, 2026-12-04, 1 s into a 2-vCPU boot) its
# kernel writes the i8042's reset command without printing why: Linux prints
# "reboot: Restarting system" before a reboot and "Kernel panic" before a
# panic's reset, and the test guest boots with reboot=k. When a test fails
# and its ember logs or guest consoles show such a death, fail() exits 75
# (EX_TEMPFAIL) instead, and run.sh runs the test once more and reports that
# it did. Tests that make the guest die on purpose set E2E_TRIPLE_EXPECTED=1
# once it is due. On real KVM all three are always failures.
fail() {
	echo "FAIL: $E2E_NAME: $*" >&2
	local why
	if [ "${EMBER_TESTBED:-}" = emulated ] && [ "${E2E_TRIPLE_EXPECTED:-0}" != 1 ] &&
		[ -n "$E2E_TMP" ] && [ -d "$E2E_TMP" ] && why=$(_e2e_unasked_death); then
		echo "TEMPFAIL: $E2E_NAME: $why, in the emulated KVM host (nested SVM under QEMU TCG)" >&2
		exit 75
	fi
	exit 1
}

# _e2e_unasked_death: print how a guest of this test died, if one did (see
# fail()): a triple fault (ember's log), a double fault (the guest's
# console), or an i8042 reset with no reason from Linux in any file of the
# directory of the ember log that reports it (where the tests keep that
# ember's console). No process substitution: L1 has no /dev/fd.
_e2e_unasked_death() {
	if grep -rlqsI 'guest shutdown (triple fault or reset)' "$E2E_TMP"; then
		echo "the guest died of a triple fault it did not ask for"
		return 0
	fi
	if grep -rlqsa 'traps: PANIC: double fault' "$E2E_TMP"; then
		echo "the guest's kernel died of a double fault it did not ask for"
		return 0
	fi
	local f logs
	logs=$(grep -rlsI 'the guest reset the CPU through the i8042' "$E2E_TMP") || return 1
	while IFS= read -r f; do
		grep -rlqsIE 'Restarting system|Kernel panic|Rebooting in|sysrq: ' "$(dirname "$f")" ||
			{ echo "the guest's kernel reset it without saying why"; return 0; }
	done <<<"$logs"
	return 1
}

# skip MSG...: end the test as skipped (exit 77); say why.
skip() { echo "SKIP: $E2E_NAME: $*" >&2; exit 77; }

# Missing prerequisites skip the test, or fail it with EMBER_E2E_STRICT=1.
_e2e_missing() {
	[ "${EMBER_E2E_STRICT:-0}" = 1 ] && fail "$*"
	skip "$*"
}

# need_kvm: /dev/kvm must open read-write (always true inside the test bed).
need_kvm() {
	[ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null ||
		fail "/dev/kvm does not open: run this through tests/testbed/run.sh or tests/e2e/run.sh"
}

# need_ember: build/ember exists (and build/ember-jailer with argument "jailer").
need_ember() {
	[ -x "$EMBER_BIN" ] || _e2e_missing "$EMBER_BIN not built (make)"
	if [ "${1:-}" = jailer ]; then
		[ -x "$EMBER_JAILER_BIN" ] || _e2e_missing "$EMBER_JAILER_BIN not built (make)"
	fi
	return 0
}

# need_guest [VAR...]: the guest images exist (default: vmlinux, bzImage,
# initramfs and ext4 rootfs; name others, e.g. EMBER_GUEST_CLOUD_KERNEL).
need_guest() {
	local v vars=${*:-EMBER_GUEST_VMLINUX EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS EMBER_GUEST_ROOTFS_EXT4}
	[ -f "$E2E_GUEST_ENV" ] || _e2e_missing "no guest images (make guest)"
	for v in $vars; do
		[ -n "${!v:-}" ] && [ -f "${!v}" ] || _e2e_missing "$v missing (make guest)"
	done
}

# e2e_tmpdir: create E2E_TMP (under /tmp: tmpfs in the emulated host), removed
# at exit. Idempotent. Prints nothing; use "$E2E_TMP".
e2e_tmpdir() {
	[ -n "$E2E_TMP" ] && return 0
	E2E_TMP=$(mktemp -d "/tmp/ember-e2e-$E2E_NAME.XXXXXX") || fail "mktemp"
}

# e2e_on_exit CMD: run shell command CMD at exit (last registered runs first).
e2e_on_exit() { E2E_ON_EXIT=("$1" "${E2E_ON_EXIT[@]}"); }

# e2e_bg CMD [ARGS...]: start CMD in the background, killed at exit.
# Sets E2E_PID. Redirect its output yourself, e.g. e2e_bg ember ... >"$log" 2>&1
# Careful: redirections on the e2e_bg call are opened by the CALLING shell
# before CMD starts, so `e2e_bg cmd <fifo` blocks until the FIFO has a writer:
# open the write end first (exec 7<>"$fifo"), then e2e_bg cmd <"$fifo".
e2e_bg() {
	"$@" &
	E2E_PID=$!
	E2E_PIDS="$E2E_PIDS $E2E_PID"
}

# The direct children of PID (from /proc, no procps needed).
_e2e_children() {
	local f line
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		# "pid (comm) state ppid ...": comm may contain spaces and parentheses
		line=${line##*) }
		line=${line#* }
		[ "${line%% *}" = "$E2E_KT_PARENT" ] && echo "${f//[^0-9]/}"
	done
}

# e2e_kill_tree PID [SIGNAL]: signal PID and all its descendants (default KILL).
e2e_kill_tree() {
	local pid=$1 sig=${2:-KILL} c
	E2E_KT_PARENT=$pid
	for c in $(_e2e_children); do e2e_kill_tree "$c" "$sig"; done
	kill "-$sig" "$pid" 2>/dev/null
	return 0
}

e2e_cleanup() {
	local c p
	trap - EXIT
	for c in "${E2E_ON_EXIT[@]}"; do eval "$c" || true; done
	for p in $E2E_PIDS; do e2e_kill_tree "$p" TERM; done
	# a moment for what was started to exit on its own terms
	for c in 1 2 3 4 5 6 7 8 9 10; do
		for p in $E2E_PIDS; do kill -0 "$p" 2>/dev/null && break; p=""; done
		[ -z "${p:-}" ] && break
		sleep 0.1
	done
	E2E_KT_PARENT=$$
	for p in $(_e2e_children); do
		[ "$p" = "$BASHPID" ] || e2e_kill_tree "$p" KILL
	done
	for p in $E2E_PIDS; do e2e_kill_tree "$p" KILL; done
	[ -n "$E2E_TMP" ] && rm -rf "$E2E_TMP"
	return 0
}
trap 'rc=$?; e2e_cleanup; exit $rc' EXIT

# e2e_secs N: N seconds scaled by E2E_SLOW (for waits on the guest).
e2e_secs() { echo $(($1 * E2E_SLOW)); }

# wait_for_line FILE REGEX TIMEOUT [PID]: wait until a line of FILE matches
# the extended REGEX (carriage returns ignored). Returns 0 when found, 1 after
# TIMEOUT seconds, 2 as soon as PID (if given) has exited without a match.
wait_for_line() {
	local file=$1 re=$2 end=$((SECONDS + $3)) pid=${4:-}
	while :; do
		[ -f "$file" ] && tr -d '\r' <"$file" | grep -Eq -- "$re" && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			[ -f "$file" ] && tr -d '\r' <"$file" | grep -Eq -- "$re" && return 0
			return 2
		fi
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# wait_for_file PATH TIMEOUT [PID]: wait until PATH exists (a socket, a file).
# Returns like wait_for_line.
wait_for_file() {
	local path=$1 end=$((SECONDS + $2)) pid=${3:-}
	while :; do
		[ -e "$path" ] && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			[ -e "$path" ] && return 0
			return 2
		fi
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# wait_for_exit PID TIMEOUT: wait for a child started with e2e_bg (or &) to
# exit; returns its exit status, or 124 (after killing it) on timeout.
wait_for_exit() {
	local pid=$1 end=$((SECONDS + $2))
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then
			e2e_kill_tree "$pid" KILL
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.1
	done
	wait "$pid"
}

# ember_config FILE [KERNEL [INITRD [BOOT_ARGS [VCPUS [MEM_MIB [MORE]]]]]]: write a
# Firecracker-format config file; defaults: the guest bzImage and initramfs,
# "console=ttyS0 reboot=k panic=1 pci=off", 1 vCPU, 128 MiB. An empty INITRD
# leaves initrd_path out. MORE: further top-level members, e.g.
# '"drives": [ ... ]'.
ember_config() {
	local file=$1 kernel=${2:-${EMBER_GUEST_BZIMAGE:-}} initrd=${3-${EMBER_GUEST_INITRAMFS:-}}
	local args=${4:-console=ttyS0 reboot=k panic=1 pci=off} vcpus=${5:-1} mem=${6:-128}
	local more=${7:+,
  $7}
	local initrd_json=""
	[ -n "$initrd" ] && initrd_json=", \"initrd_path\": \"$initrd\""
	cat >"$file" <<EOF
{
  "boot-source": { "kernel_image_path": "$kernel"$initrd_json, "boot_args": "$args" },
  "machine-config": { "vcpu_count": $vcpus, "mem_size_mib": $mem, "smt": false }$more
}
EOF
}

# need_guest_program NAME: skip (or fail, see _e2e_missing) unless the guest
# initramfs has /tests/NAME (tests/guest/NAME.c, built by guest/build.sh).
need_guest_program() {
	cpio -it <"$EMBER_GUEST_INITRAMFS" 2>/dev/null | grep -qx "tests/$1" ||
		_e2e_missing "the initramfs has no tests/$1 (rebuild: guest/build.sh)"
}

# api SOCKET METHOD PATH [JSON]: one HTTP request to an API socket (curl).
# Sets API_STATUS (the HTTP status; 000 when no answer) and API_BODY (the
# response body); prints nothing. Returns 0 for a 2xx status, else 1.
#   api "$sock" PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256}' ||
#       fail "machine-config: $API_STATUS $API_BODY"
api() {
	local sock=$1 method=$2 path=$3 out
	local data=()
	[ $# -ge 4 ] && data=(--data "$4")
	out=$(curl -s --max-time 30 --unix-socket "$sock" -X "$method" \
		-H 'Content-Type: application/json' -H 'Accept: application/json' \
		"${data[@]}" -w '\n%{http_code}' "http://localhost$path")
	API_STATUS=${out##*$'\n'}
	if [ "$out" = "$API_STATUS" ]; then API_BODY=""; else API_BODY=${out%$'\n'*}; fi
	case $API_STATUS in 2??) return 0 ;; *) return 1 ;; esac
}

# host_ping NETNS ADDR: one ICMP echo from the host side, answered within
# 10 s (the test bed has no ping(8); python3 with a raw socket).
host_ping() {
	ip netns exec "$1" python3 - "$2" <<'PY'
import socket, struct, sys, time
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(10)
hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + b"ember-ping"
s.sendto(hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:], (sys.argv[1], 0))
end = time.time() + 10
while time.time() < end:
    data, addr = s.recvfrom(2048)
    ihl = (data[0] & 15) * 4
    if addr[0] == sys.argv[1] and data[ihl] == 0 and data[ihl + 4:ihl + 6] == b"\x42\x42":
        sys.exit(0)
sys.exit(1)
PY
}
