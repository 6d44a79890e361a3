#!/bin/bash
# The tuned kernel as ELF vmlinux (PVH entry) and as bzImage (64-bit
# entry) with the initramfs, on 1 and 2 vCPUs: the guest reaches userspace,
# sees every vCPU, runs its script, reboots, and ember exits 0 saying why.
# The exit path: after the reboot ember stops the vCPUs, flushes the console
# (the guest's last line, "reboot: Restarting system", is out) and leaves the
# rest of the VM to the process's exit ("teardown=exit" in its Exit timeline
# line, before its last log line); with EMBER_FULL_TEARDOWN=1 it undoes
# everything itself first ("teardown=full", up to closing the KVM VM).
# timeout: 900
. "$(dirname "$0")/lib.sh"
need_kvm; need_ember; need_guest
e2e_tmpdir

boot() {   # name kernel vcpus [teardown: exit (default) or full]
	local name=$1 kernel=$2 vcpus=$3 teardown=${4:-exit} cfg=$E2E_TMP/$1.json out=$E2E_TMP/$1.out
	local script; script=$(printf 'echo guest-says-hi-%s\n' "$name" | base64 -w0)
	ember_config "$cfg" "$kernel" "$EMBER_GUEST_INITRAMFS" \
		"console=ttyS0 reboot=k panic=1 pci=off quiet ember.sh=$script" "$vcpus" 128
	log "booting $name"
	local full=0
	[ "$teardown" = full ] && full=1
	EMBER_FULL_TEARDOWN=$full timeout -k 5 "$(e2e_secs 30)" "$EMBER_BIN" --no-api --config-file "$cfg" \
		</dev/null >"$out" 2>&1
	local rc=$?
	tr -d '\r' <"$out" >"$out.txt"
	# Markers are matched anywhere on a line, and the guest boots `quiet`:
	# the kernel may print from another CPU in the middle of a console line.
	grep -q 'EMBER-GUEST-READY' "$out.txt" || { tail -n 30 "$out.txt" >&2; fail "$name: no userspace marker (ember exit $rc)"; }
	grep -q "EMBER-CPUS=$vcpus\$" "$out.txt" || { grep EMBER-CPUS "$out.txt" >&2; fail "$name: guest does not see $vcpus vCPUs"; }
	grep -q "guest-says-hi-$name" "$out.txt" || { tail -n 30 "$out.txt" >&2; fail "$name: the guest script did not run"; }
	grep -q 'EMBER-SCRIPT-EXIT=0' "$out.txt" || { tail -n 30 "$out.txt" >&2; fail "$name: guest script failed"; }
	[ "$rc" = 0 ] || { tail -n 20 "$out.txt" >&2; fail "$name: ember exit status $rc after the guest rebooted, want 0"; }
	grep -q 'Vmm is stopping: .*reboot' "$out.txt" || fail "$name: no log line saying why ember stopped"
	grep -q 'reboot: Restarting system' "$out.txt" ||
		{ tail -n 5 "$out.txt" >&2; fail "$name: the guest's last console line is missing (console not flushed at exit)"; }
	local tl; tl=$(grep -n 'Exit timeline' "$out.txt" | tail -n 1)
	case $tl in
	*"teardown=$teardown "*) ;;
	*) fail "$name: Exit timeline line '${tl#*:}' does not say teardown=$teardown" ;;
	esac
	[ "$teardown" = exit ] || case $tl in *vm_closed=*) ;; *) fail "$name: full teardown without vm_closed: $tl" ;; esac
	local last; last=$(grep -n 'ember exiting successfully' "$out.txt" | tail -n 1)
	[ -n "$last" ] && [ "${tl%%:*}" -lt "${last%%:*}" ] ||
		fail "$name: want the Exit timeline (line ${tl%%:*}) before the last log line (line ${last%%:*})"
	log "$name: ok"
}

boot vmlinux-1cpu "$EMBER_GUEST_VMLINUX" 1
boot vmlinux-2cpu "$EMBER_GUEST_VMLINUX" 2
boot bzimage-1cpu "$EMBER_GUEST_BZIMAGE" 1
boot bzimage-2cpu "$EMBER_GUEST_BZIMAGE" 2
boot vmlinux-1cpu-full "$EMBER_GUEST_VMLINUX" 1 full
