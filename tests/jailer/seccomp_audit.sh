#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Which syscalls and ioctls does ember really use, per thread? For refining
# the allowlists in src/seccomp_rules.c. Runs the given ember command line under
# strace -f (run it where KVM works, e.g. through tests/testbed/run.sh), then
# prints, for the main thread (the first pid) and the other threads (vCPUs),
# every syscall name and ioctl request seen, and any SIGSYS kill; then the
# main thread's calls once the VM runs (after its second filter,
# SECCOMP_THREAD_MAIN_RUNNING, went in: what that filter must allow).
#
#   tests/testbed/run.sh -- tests/jailer/seccomp_audit.sh build/ember --no-api --config-file vm.json
#
# The strace log stays in $AUDIT_LOG (default /tmp/ember-seccomp-audit.log).
set -u
[ $# -ge 1 ] || { echo "usage: $0 EMBER [ARGS...]" >&2; exit 2; }
command -v strace >/dev/null || { echo "$0: strace is not installed" >&2; exit 2; }
LOG=${AUDIT_LOG:-/tmp/ember-seccomp-audit.log}
strace -f -qq -o "$LOG" "$@"
rc=$?
main=$(awk 'NR == 1 {print $1}' "$LOG")
summary() {	# awk filter on the pid column
	awk "$1" "$LOG" | sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z_0-9]+) resumed>.*/\1(/' |
		grep -oE '^[a-z_0-9]+\(' | tr -d '(' | sort | uniq -c | sort -rn
	echo "  ioctls:"
	awk "$1" "$LOG" | grep -oE 'ioctl\([0-9]+, [A-Z_0-9x]+' | awk '{print $2}' |
		sort | uniq -c | sort -rn | sed 's/^/  /'
}
echo "== main thread (pid $main)"
summary "\$1 == $main"
echo "== other threads (vCPUs)"
summary "\$1 != $main"
# the line of the main thread's second seccomp(SECCOMP_SET_MODE_FILTER, ...)
run=$(awk -v m="$main" '$1 == m && /seccomp\(SECCOMP_SET_MODE_FILTER/ { if (++n == 2) { print NR; exit } }' "$LOG")
if [ -n "$run" ]; then
	echo "== main thread once the VM runs (from line $run)"
	summary "NR > $run && \$1 == $main"
fi
if grep -q 'killed by SIGSYS' "$LOG"; then
	echo "== killed by seccomp:"
	grep -B1 'killed by SIGSYS' "$LOG" | grep -v 'killed by\|^--'
fi
exit $rc
