#!/bin/bash
# Debian's stock cloud kernel (a distro bzImage) with the busybox
# initramfs as its initrd boots to userspace on 2 vCPUs; reboot ends ember with 0.
# timeout: 900
. "$(dirname "$0")/lib.sh"
need_kvm; need_ember; need_guest EMBER_GUEST_CLOUD_KERNEL EMBER_GUEST_INITRAMFS
e2e_tmpdir
script=$(printf 'uname -r\n' | base64 -w0)
ember_config "$E2E_TMP/vm.json" "$EMBER_GUEST_CLOUD_KERNEL" "$EMBER_GUEST_INITRAMFS" \
	"console=ttyS0 reboot=k panic=1 pci=off quiet ember.sh=$script" 2 256
timeout -k 5 "$(e2e_secs 40)" "$EMBER_BIN" --no-api --config-file "$E2E_TMP/vm.json" </dev/null >"$E2E_TMP/out" 2>&1
rc=$?
tr -d '\r' <"$E2E_TMP/out" >"$E2E_TMP/out.txt"
grep -q 'EMBER-GUEST-READY' "$E2E_TMP/out.txt" || { tail -n 40 "$E2E_TMP/out.txt" >&2; fail "no userspace marker (ember exit $rc)"; }
grep -q 'cloud-amd64' "$E2E_TMP/out.txt" || fail "uname -r does not name the cloud kernel"
grep -q 'EMBER-CPUS=2$' "$E2E_TMP/out.txt" || fail "the guest does not see 2 vCPUs"
[ "$rc" = 0 ] || fail "ember exit status $rc, want 0"
if grep -q 'WARNING: CPU' "$E2E_TMP/out.txt"; then
	grep -A3 'WARNING: CPU' "$E2E_TMP/out.txt" >&2
	log "note: the guest kernel printed a WARNING (see above)"
fi
log "ok"
