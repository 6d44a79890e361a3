#!/bin/bash
# The guest kernel's i8042 driver probes ember's PS/2 controller with the
# command line a user types (no i8042.* options, no quiet): it finds the
# keyboard port and no AUX port without a failure or timeout message, atkbd
# binds the keyboard, and the reboot through the i8042 (reboot=k) ends ember
# with status 0 and an exit timeline in its log. Once with the tuned kernel, once with Debian's cloud kernel
# (the distribution's full i8042 and atkbd drivers).
# timeout: 900
. "$(dirname "$0")/lib.sh"
need_kvm; need_ember; need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_INITRAMFS EMBER_GUEST_CLOUD_KERNEL
e2e_tmpdir

# The keyboard appears when atkbd's probe (on the kernel's serio thread) is
# done, which may be after /init started: wait for it a while.
script=$(cat <<'EOF' | base64 -w0
n=0
while [ $n -lt 100 ] && ! grep -q 'Name="AT .*keyboard"' /proc/bus/input/devices 2>/dev/null; do
	sleep 0.1; n=$((n + 1))
done
grep -o 'Name="AT [^"]*"' /proc/bus/input/devices | sed 's/^/KBD-INPUT /'
EOF
)

# boot NAME KERNEL ARGS: boot, check the console and the exit.
boot() {
	local name=$1 kernel=$2 args=$3 out=$E2E_TMP/$1.out rc
	ember_config "$E2E_TMP/$name.json" "$kernel" "$EMBER_GUEST_INITRAMFS" "$args ember.sh=$script" 1 256
	timeout -k 5 "$(e2e_secs 60)" "$EMBER_BIN" --no-api --config-file "$E2E_TMP/$name.json" \
		</dev/null >"$out" 2>&1
	rc=$?
	tr -d '\r' <"$out" >"$out.txt"
	grep -q 'EMBER-SCRIPT-EXIT=0' "$out.txt" ||
		{ tail -n 40 "$out.txt" >&2; fail "$name: the guest script did not finish (ember exit $rc)"; }
	# irq: ISA IRQ 1 (the cloud kernel numbers it after its IOAPIC's GSIs)
	grep -Eq 'serio: i8042 KBD port at 0x60,0x64 irq [0-9]+$' "$out.txt" ||
		{ grep -i 'i8042\|serio' "$out.txt" >&2; fail "$name: no i8042 keyboard port"; }
	if grep -E 'i8042: .*([Ff]ail|[Tt]imeout|[Cc]an.t|giving up|[Ww]arning|noaux)|serio: i8042 AUX' \
		"$out.txt" >&2; then
		fail "$name: the i8042 driver complained or found an AUX port (above)"
	fi
	grep -q '^KBD-INPUT Name="AT .*Set 2 keyboard"' "$out.txt" ||
		{ grep -i 'atkbd\|input:\|KBD-INPUT' "$out.txt" >&2; fail "$name: atkbd did not bind the keyboard"; }
	grep -q 'reset the CPU through the i8042' "$out.txt" ||
		{ tail -n 20 "$out.txt" >&2; fail "$name: ember did not stop on the guest's i8042 reset"; }
	[ "$rc" = 0 ] || fail "$name: ember exit status $rc after the reboot, want 0"
	# The rest of the VM is left to the process's exit (teardown=exit), or
	# undone by ember up to closing the VM fd (teardown=full).
	grep -Eq 'Exit timeline \(from the stop request\): destroy=[0-9.]+ms vcpus_stopped=[0-9.]+ms (console_flushed=[0-9.]+ms teardown=exit|.* vm_closed=[0-9.]+ms teardown=full) ' \
		"$out.txt" || fail "$name: no exit timeline in ember's log"
	log "$name: $(grep -m1 'serio: i8042 KBD' "$out.txt" | cut -c1-60)...; $(grep -m1 '^KBD-INPUT' "$out.txt")"
	log "$name: $(grep -m1 -o 'Exit timeline.*' "$out.txt")"
}

boot tuned "$EMBER_GUEST_BZIMAGE" "console=ttyS0 reboot=k panic=1"
# The distribution kernel probes PCI, which neither ember nor this test has.
boot cloud "$EMBER_GUEST_CLOUD_KERNEL" "console=ttyS0 reboot=k panic=1 pci=off"
log "ok"
