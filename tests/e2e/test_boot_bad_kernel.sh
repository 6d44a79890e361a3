#!/bin/bash
# A missing, truncated or non-kernel file, or an initrd that does not
# fit, gives one clear error line and exit status 1 at once, never a hang.
# timeout: 300
. "$(dirname "$0")/lib.sh"
need_kvm; need_ember; need_guest
e2e_tmpdir

expect_error() {   # name kernel initrd regex
	local name=$1 out=$E2E_TMP/$1.out
	ember_config "$E2E_TMP/$name.json" "$2" "$3" "console=ttyS0 reboot=k panic=1" 1 128
	timeout -k 5 "$(e2e_secs 10)" "$EMBER_BIN" --no-api --config-file "$E2E_TMP/$name.json" \
		</dev/null >"$out" 2>&1
	local rc=$?
	[ "$rc" = 1 ] || { cat "$out" >&2; fail "$name: exit status $rc, want 1"; }
	[ "$(wc -l <"$out")" = 1 ] || { cat "$out" >&2; fail "$name: want exactly one line of output"; }
	grep -Eq "$4" "$out" || { cat "$out" >&2; fail "$name: message does not match /$4/"; }
	log "$name: $(cat "$out")"
}

head -c 100000 "$EMBER_GUEST_BZIMAGE" >"$E2E_TMP/trunc-bz"
head -c 3000 "$EMBER_GUEST_VMLINUX" >"$E2E_TMP/trunc-elf"
printf 'this is not a kernel\n%.0s' $(seq 1 200) >"$E2E_TMP/text"
: >"$E2E_TMP/empty"
head -c $((200 << 20)) /dev/zero >"$E2E_TMP/big-initrd"

expect_error missing "$E2E_TMP/nope" "" 'The kernel file cannot be opened: No such file or directory \(os error 2\) \(kernel_image_path [^ ]*/nope\)'
expect_error truncated-bzimage "$E2E_TMP/trunc-bz" "" 'trunc-bz: kernel: '
expect_error truncated-elf "$E2E_TMP/trunc-elf" "" 'trunc-elf: kernel: '
expect_error not-a-kernel "$E2E_TMP/text" "" 'text: kernel: .*(magic|not)'
expect_error empty "$E2E_TMP/empty" "" 'empty: kernel: '
expect_error missing-initrd "$EMBER_GUEST_BZIMAGE" "$E2E_TMP/nope-initrd" 'The initrd file cannot be opened due to invalid path or invalid permissions. No such file or directory \(os error 2\) \(initrd_path [^ ]*/nope-initrd\)'
expect_error initrd-too-big "$EMBER_GUEST_BZIMAGE" "$E2E_TMP/big-initrd" 'big-initrd: initrd: .*(fit|big)'
log "ok"
