#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Static CPU templates on a real guest. The template made for this host's
# vendor (T2A on AMD, T2CL on Intel) boots, and the guest's /proc/cpuinfo
# shows the Haswell-EP signature (family 6, model 63), the features it turns
# on and none of those it hides, some of which the same guest shows without a
# template (so the check is not empty). A template of the other vendor is
# refused with Firecracker's text: by a config-file boot (ember exits 1) and
# by InstanceStart over the API (400; the VM stays "Not started"). A
# snapshot of a guest booted with the template is restored by a fresh ember:
# the guest's CPUID instruction (tests/guest/cpuid.c) answers the same after
# the restore as before it (the template's values, family 6 model 63), and
# GET /vm/config shows the template.
# timeout: 1500
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/snapshot_common.sh"
need_kvm; need_ember; need_guest
e2e_tmpdir

case $(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -n1) in
AuthenticAMD) good=T2A bad=T2S ;;
GenuineIntel) good=T2CL bad=T2A ;;
*) skip "host CPU vendor is neither AMD nor Intel" ;;
esac
log "host $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1): $good fits, $bad does not"

# Linux's names for CPUID bits that both T2A and T2CL clear (leaf 1 ECX/EDX,
# leaf 7, leaf 0xd subleaf 1, 0x80000001, 0x80000008).
hidden="monitor ds_cpl vmx smx est tm2 cid sdbg xtpr pdcm dca dtes64 pn dts acpi tm pbe
hle rtm cqm mpx rdt_a avx512f avx512dq rdseed adx avx512ifma clflushopt clwb intel_pt
avx512pf avx512er avx512cd sha_ni avx512bw avx512vl avx512vbmi umip pku ospke
avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq la57 rdpid
sgx sgx_lc avx512_4vnniw avx512_4fmaps fsrm avx512_vp2intersect xsavec xgetbv1 xsaves
sse4a misalignsse mwaitx mmxext fxsr_opt pdpe1gb wbnoinvd"
# On AMD, Linux sets 3dnowprefetch itself for any 64-bit CPU (long mode
# implies PREFETCHW), whatever CPUID says: check it on Intel only.
if [ "$good" = T2A ]; then hidden="$hidden svm clzero"; else hidden="$hidden 3dnowprefetch"; fi

# The guest prints its CPU as one marker per line (kernel messages may cut
# into a long line).
script=$(base64 -w0 <<'EOF'
sed -n 's/^cpu family[[:space:]]*: /CPU-FAMILY=/p; s/^model[[:space:]]*: /CPU-MODEL=/p' /proc/cpuinfo | head -n2
for f in $(sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -n1); do echo "CPU-FLAG=$f"; done
EOF
)

boot() {   # name template ("" for none)
	local name=$1 tmpl=$2 cfg=$E2E_TMP/$1.json out=$E2E_TMP/$1.out
	ember_config "$cfg" "$EMBER_GUEST_BZIMAGE" "$EMBER_GUEST_INITRAMFS" \
		"console=ttyS0 reboot=k panic=1 pci=off quiet ember.sh=$script" 1 128
	[ -n "$tmpl" ] && sed -i "s/\"smt\": false/\"smt\": false, \"cpu_template\": \"$tmpl\"/" "$cfg"
	log "booting $name"
	timeout -k 5 "$(e2e_secs 30)" "$EMBER_BIN" --no-api --config-file "$cfg" </dev/null >"$out" 2>&1
	local rc=$?
	tr -d '\r' <"$out" >"$out.txt"
	if ! grep -q 'EMBER-SCRIPT-EXIT=0' "$out.txt" || [ "$rc" != 0 ]; then
		tail -n 30 "$out.txt" >&2
		fail "$name: the guest did not run its script (ember exit $rc)"
	fi
	grep -o 'CPU-FLAG=[a-z0-9_]*' "$out.txt" | cut -d= -f2 | sort -u >"$E2E_TMP/$name.flags"
	grep -qx sse2 "$E2E_TMP/$name.flags" || fail "$name: no flags read from the guest"
	log "$name: $(grep -o 'CPU-FAMILY=[0-9]*\|CPU-MODEL=[0-9]*' "$out.txt" | tr '\n' ' ')flags:" \
		"$(tr '\n' ' ' <"$E2E_TMP/$name.flags")"
}

boot plain ""
boot "$good" "$good"
if ! grep -q "CPU-FAMILY=6\$" "$E2E_TMP/$good.out.txt" || ! grep -q "CPU-MODEL=63\$" "$E2E_TMP/$good.out.txt"; then
	grep 'CPU-FAMILY\|CPU-MODEL' "$E2E_TMP/$good.out.txt" >&2
	fail "$good: the guest does not see family 6 model 63"
fi
gone=""
for f in $hidden; do
	grep -qx "$f" "$E2E_TMP/$good.flags" && fail "$good: the guest still sees '$f'"
	grep -qx "$f" "$E2E_TMP/plain.flags" && gone="$gone $f"
done
[ -n "$gone" ] || fail "none of the flags $good hides is there without a template: nothing was checked"
log "$good hid:$gone"
# What the template turns on: ERMS, and on AMD the FP error pointers.
shown=erms
[ "$good" = T2A ] && shown="$shown xsaveerptr"
for f in $shown; do
	grep -qx "$f" "$E2E_TMP/$good.flags" || fail "$good: the guest does not see '$f'"
done
# What no template touches stays.
for f in fpu sse sse2 cx8 apic hypervisor; do
	if grep -qx "$f" "$E2E_TMP/plain.flags" && ! grep -qx "$f" "$E2E_TMP/$good.flags"; then
		fail "$good: the guest lost '$f', which the template does not touch"
	fi
done

# The other vendor's template: a config-file boot ends before the guest runs.
mismatch='Failed to get CPU template: CPU vendor mismatched between actual CPU and CPU template.'
cfg=$E2E_TMP/bad.json
ember_config "$cfg" "" "" "console=ttyS0 reboot=k panic=1 pci=off" 1 128
sed -i "s/\"smt\": false/\"smt\": false, \"cpu_template\": \"$bad\"/" "$cfg"
timeout -k 5 "$(e2e_secs 10)" "$EMBER_BIN" --no-api --config-file "$cfg" </dev/null >"$E2E_TMP/bad.out" 2>&1
rc=$?
[ "$rc" = 1 ] || { cat "$E2E_TMP/bad.out" >&2; fail "$bad in a config file: ember exit $rc, want 1"; }
grep -qF "ember: $mismatch" "$E2E_TMP/bad.out" || { cat "$E2E_TMP/bad.out" >&2; fail "$bad: no vendor error"; }
grep -q "CPU template $bad is made for .* hosts; this host's CPU vendor is " "$E2E_TMP/bad.out" ||
	{ cat "$E2E_TMP/bad.out" >&2; fail "$bad: the log does not say which vendor the template needs"; }
grep -q 'EMBER-GUEST-READY' "$E2E_TMP/bad.out" && fail "$bad: the guest ran"

# ... and over the API: accepted (deprecated) at PUT, refused at InstanceStart.
sock=$E2E_TMP/api.sock
e2e_bg "$EMBER_BIN" --api-sock "$sock" </dev/null >"$E2E_TMP/api.out" 2>&1
pid=$E2E_PID
wait_for_file "$sock" "$(e2e_secs 5)" "$pid" || fail "API socket did not appear"
api "$sock" PUT /boot-source "{\"kernel_image_path\": \"$EMBER_GUEST_BZIMAGE\"}" || fail "PUT /boot-source: $API_STATUS $API_BODY"
headers=$(curl -s -i --max-time 30 --unix-socket "$sock" -X PUT -H 'Content-Type: application/json' \
	--data "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"$bad\"}" http://localhost/machine-config | tr -d '\r')
printf '%s\n' "$headers" | head -n1 | grep -q '^HTTP/1.1 204' || fail "PUT /machine-config $bad: $headers"
printf '%s\n' "$headers" | grep -qx 'Deprecation: true' || fail "PUT /machine-config $bad: no Deprecation header: $headers"
api "$sock" PUT /actions '{"action_type": "InstanceStart"}' && fail "InstanceStart with $bad succeeded"
if [ "$API_STATUS" != 400 ] || ! printf '%s' "$API_BODY" | grep -qF "\"Start microvm error: $mismatch\""; then
	fail "InstanceStart with $bad: $API_STATUS $API_BODY"
fi
api "$sock" GET / && printf '%s' "$API_BODY" | grep -q '"Not started"' || fail "GET / after the refused start: $API_BODY"
kill -0 "$pid" 2>/dev/null || fail "ember exited after the refused InstanceStart"

# A snapshot keeps the template: the restored vCPU gets the CPUID it was
# taken with, not the host's.
T=$E2E_TMP/snap
mkdir -p "$T"
script='/tests/cpuid BEFORE; echo CPUID-PRINTED
i=0; while [ $i -lt 20 ]; do i=$((i + 1)); echo "wait $i"; sleep 1; done
/tests/cpuid AFTER; echo CPUID-AFTER-PRINTED
while :; do sleep 1; done'
sn_run "$T/a" "$script" 1 128 '^CPUID-PRINTED' 90 "snapshot: the $good guest did not print its CPUID" \
	"\"cpu_template\": \"$good\""
pa=$SN_PID
sn_snapshot "$T/a" "$T/state" "$T/mem"
e2e_kill_tree "$pa" KILL
wait "$pa" 2>/dev/null
grep -q '^wait 20' "$T/a/out" && fail "snapshot: it came after the guest's wait (too slow)"
sn_start "$T/b"
pb=$SN_PID
sn_load "$T/b" "$T/state" "$T/mem"
api "$T/b/api.sock" GET /vm/config || fail "snapshot: vm/config: $API_STATUS $API_BODY"
printf '%s' "$API_BODY" | grep -q "\"cpu_template\":\"$good\"" ||
	fail "snapshot: the restored VM's config lacks cpu_template $good: $API_BODY"
sn_wait "$T/b" '^CPUID-AFTER-PRINTED' 90 "$pb" "snapshot: the restored guest did not print its CPUID"
tr -d '\r' <"$T/a/out" | sed -n 's/^BEFORE CPUID //p' >"$T/before"
tr -d '\r' <"$T/b/out" | sed -n 's/^AFTER CPUID //p' >"$T/after"
[ "$(wc -l <"$T/before")" = 8 ] || { cat "$T/before" >&2; fail "snapshot: no CPUID lines before"; }
grep -q '^0x1\.0 000306f' "$T/before" ||
	{ cat "$T/before" >&2; fail "snapshot: leaf 1 before is not $good's family 6 model 63"; }
diff "$T/before" "$T/after" >&2 ||
	fail "snapshot: the restored guest's CPUID differs from the one it was taken with"
log "snapshot: CPUID with $good the same after the restore: $(tr '\n' ';' <"$T/after")"
log "ok"
