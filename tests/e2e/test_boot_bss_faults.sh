#!/bin/bash
# The PVH vmlinux's bss, as the guest sees it: ember leaves the bss of fresh
# guest RAM alone (it is zero), so the guest's own clear_bss is the first
# touch of the 2 MiB that holds only bss, and the host backs it with one huge
# page: one nested-paging fault (KVM's kvm_page_fault trace event) for those
# 2 MiB, where reading it from the VMM first (the host's huge zero page, then
# split by the guest's write) made it 1024 faults, one or two per 4 KiB page.
# Needs tracefs (root) and transparent huge pages on the KVM host; skips
# without them, or when the kernel's last segment leaves no 2 MiB of bss only.
# timeout: 300
. "$(dirname "$0")/lib.sh"
need_kvm; need_ember; need_guest EMBER_GUEST_VMLINUX EMBER_GUEST_INITRAMFS
e2e_tmpdir

thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
case $thp in
*"[always]"* | *"[madvise]"*) ;;
*) skip "transparent huge pages are off on this KVM host ($thp)" ;;
esac
command -v readelf >/dev/null || skip "readelf (binutils) is not installed"

# The last PT_LOAD of the vmlinux: where its file bytes end and its bss ends.
readelf -lW "$EMBER_GUEST_VMLINUX" >"$E2E_TMP/phdrs" || fail "readelf $EMBER_GUEST_VMLINUX"
fend=0 mend=0
while read -r type _ _ paddr filesz memsz _; do
	[ "$type" = LOAD ] || continue
	fend=$((paddr + filesz)) mend=$((paddr + memsz))
done <"$E2E_TMP/phdrs"
[ "${mend:-0}" -gt 0 ] || fail "no PT_LOAD segment in $EMBER_GUEST_VMLINUX"
huge=$((2 << 20))
region=$(((mend - 1) / huge * huge))
[ "$region" -ge "$fend" ] ||
	skip "the bss of $EMBER_GUEST_VMLINUX shares its last 2 MiB with file bytes"
log "bss ends at $(printf '%#x' "$mend"); 2 MiB of bss only at $(printf '%#x' "$region")"

T=/sys/kernel/tracing
if ! [ -e $T/events/kvm/kvm_page_fault/enable ]; then
	mount -t tracefs nodev $T 2>/dev/null
	[ -e $T/events/kvm/kvm_page_fault/enable ] || skip "no tracefs with kvm:kvm_page_fault"
fi
[ -w $T/tracing_on ] || skip "tracefs is not writable (run as root)"
trace_reset() {
	echo 0 >$T/tracing_on
	echo 0 >$T/events/kvm/kvm_page_fault/enable
	echo 0 >$T/options/record-tgid
	echo >$T/trace
}
trace_reset
e2e_on_exit trace_reset
echo 1 >$T/options/record-tgid
echo 1 >$T/events/kvm/kvm_page_fault/enable

ember_config "$E2E_TMP/vm.json" "$EMBER_GUEST_VMLINUX" "$EMBER_GUEST_INITRAMFS" \
	"console=ttyS0 reboot=k panic=1 quiet ember.sh=$(echo true | base64 -w0)"
echo 1 >$T/tracing_on
"$EMBER_BIN" --no-api --config-file "$E2E_TMP/vm.json" </dev/null >"$E2E_TMP/out" 2>&1 &
pid=$!
wait_for_exit $pid "$(e2e_secs 60)"
rc=$?
echo 0 >$T/tracing_on
tr -d '\r' <"$E2E_TMP/out" >"$E2E_TMP/out.txt"
grep -q 'EMBER-SCRIPT-EXIT=0' "$E2E_TMP/out.txt" ||
	{ tail -n 30 "$E2E_TMP/out.txt" >&2; fail "the guest script did not finish (ember exit $rc)"; }

# "vcpu0-123 (  120) [001] .... 12.3: kvm_page_fault: vcpu 0 rip 0x.. address 0x.. error_code 0x.."
cat $T/trace >"$E2E_TMP/trace"
all=$(grep -c "($(printf '%7d' "$pid"))" "$E2E_TMP/trace")
n=$(grep "($(printf '%7d' "$pid"))" "$E2E_TMP/trace" |
	sed -n 's/.*kvm_page_fault: .* address \(0x[0-9a-f]*\).*/\1/p' |
	while read -r a; do
		[ $((a)) -ge "$region" ] && [ $((a)) -lt $((region + huge)) ] && echo
	done | wc -l)
[ "$all" -gt 0 ] || fail "no kvm_page_fault event of ember's vCPU in the trace"
log "$all nested-paging faults in the whole boot, $n in the 2 MiB of bss only"
[ "$n" -le 4 ] || fail "$n faults in the 2 MiB of bss only, want one (a huge page)"
log "ok"
