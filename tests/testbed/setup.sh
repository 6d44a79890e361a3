#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# tests/testbed/setup.sh: prepare the emulated KVM host ("L1") of the test bed.
#
# Fetches Debian's standard x86_64 kernel package (the versioned
# linux-image-*-amd64 that linux-image-amd64 depends on) WITHOUT installing it:
# `apt-get download` + `dpkg-deb -x` into $EMBER_CACHE/testbed/linux-<kver>/.
# Then builds a small L1 initramfs (busybox-static, tests/testbed/l1-init, and
# the .ko files for virtio-pci, 9p and kvm_amd in dependency order), cached
# under a content hash. Writes $EMBER_CACHE/testbed/current.env:
#   TESTBED_KVER, TESTBED_KERNEL (vmlinuz), TESTBED_INITRD, TESTBED_MODDIR
#
# Idempotent; a warm run touches no network and takes well under a second.
# Safe to run concurrently (flock). Needs: apt-get, dpkg-deb, depmod (kmod),
# busybox-static, cpio, gzip. Set EMBER_TESTBED_REFRESH=1 to re-resolve the
# kernel package even when one is cached.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${EMBER_CACHE:-${HOME:-/root}/.cache/ember}
TB=$CACHE/testbed
# Modules L1 needs, by name; their dependencies are added from modules.dep.
MODULES="virtio_pci virtio_mmio 9pnet_virtio 9p kvm_amd"

say() { echo "testbed: $*" >&2; }
die() { say "error: $*"; exit 1; }

mkdir -p "$TB"
exec 9>"$TB/.lock"
flock 9

# ---- 1. the kernel package -------------------------------------------------
kver=""
if [ -z "${EMBER_TESTBED_REFRESH:-}" ] && [ -f "$TB/kernel.ver" ]; then
	kver=$(cat "$TB/kernel.ver")
	[ -f "$TB/linux-$kver/boot/vmlinuz-$kver" ] || kver=""
fi

resolve_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][0-9a-z.+-]*-amd64\)$/\1/p' | head -n 1
}

if [ -z "$kver" ]; then
	command -v apt-get >/dev/null || die "apt-get not found (the test bed needs a Debian host)"
	command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
	command -v depmod >/dev/null || die "depmod not found (apt-get install kmod)"
	pkg=$(resolve_pkg)
	if [ -z "$pkg" ]; then
		[ "$(id -u)" = 0 ] || die "apt-cache knows no linux-image-amd64; run 'apt-get update' as root"
		say "refreshing apt package lists"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2
		pkg=$(resolve_pkg)
	fi
	[ -n "$pkg" ] || die "cannot resolve the kernel package linux-image-amd64 depends on"
	kver=${pkg#linux-image-}
	if [ ! -f "$TB/linux-$kver/boot/vmlinuz-$kver" ]; then
		say "fetching $pkg (not installed; extracted into $TB)"
		dl=$TB/dl.$$
		rm -rf "$dl" "$TB/linux-$kver.tmp"
		mkdir -p "$dl"
		# apt-get download writes into the cwd; as root, keep apt's sandbox user
		# from complaining that it cannot write there.
		(cd "$dl" && apt-get -q -o APT::Sandbox::User=root download "$pkg" </dev/null >&2) ||
			die "apt-get download $pkg failed"
		deb=$(ls "$dl"/*.deb)
		dpkg-deb -x "$deb" "$TB/linux-$kver.tmp"
		rm -rf "$dl"
		# The package's postinst normally runs depmod; do it on the extracted tree.
		depmod -b "$TB/linux-$kver.tmp" "$kver"
		rm -rf "$TB/linux-$kver"
		mv "$TB/linux-$kver.tmp" "$TB/linux-$kver"
	fi
	echo "$kver" >"$TB/kernel.ver.tmp"
	mv "$TB/kernel.ver.tmp" "$TB/kernel.ver"
fi

kdir=$TB/linux-$kver
moddir=$kdir/lib/modules/$kver
init=$HERE/l1-init
busybox=$(command -v busybox 2>/dev/null || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"

# Warm fast path: same kernel, module list, init script and busybox as the
# last build (the kernel tree is immutable once extracted).
key=$( {
	echo "$kver $MODULES"
	cat "$init"
	stat -L -c '%s %Y' "$busybox"
} | cksum)
if [ -f "$TB/current.env" ] && [ "$(cat "$TB/build.key" 2>/dev/null)" = "$key" ]; then
	initrd=$(sed -n "s/^TESTBED_INITRD='\(.*\)'$/\1/p" "$TB/current.env")
	[ -f "$initrd" ] && exit 0
fi

[ -f "$moddir/modules.dep" ] || depmod -b "$kdir" "$kver"

# ---- 2. an uncompressed vmlinux: QEMU boots it through its PVH entry, which
# skips the firmware's bzImage path and the in-guest decompression (several
# seconds under TCG). Falls back to the bzImage if extraction fails.
kernel=$kdir/boot/vmlinuz-$kver
vmlinux=$kdir/boot/vmlinux-$kver
if [ ! -f "$vmlinux" ]; then
	for fmt in xz zstd gzip; do
		case $fmt in
		xz) magic=$(printf '\3757zXZ') dec="xz -qdc" ;;
		zstd) magic=$(printf '\050\265\057\375') dec="zstd -qdc" ;;
		gzip) magic=$(printf '\037\213\010') dec="gzip -qdc" ;;
		esac
		command -v ${dec%% *} >/dev/null || continue
		off=$(LC_ALL=C grep -obUa "$magic" "$kernel" | head -n 1 | cut -d: -f1)
		[ -n "$off" ] || continue
		# (the decompressor complains about the data after the payload)
		tail -c +$((off + 1)) "$kernel" | $dec >"$vmlinux.tmp" 2>/dev/null || true
		if [ "$(head -c 4 "$vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			mv "$vmlinux.tmp" "$vmlinux"
			break
		fi
		rm -f "$vmlinux.tmp"
	done
fi
[ -f "$vmlinux" ] && kernel=$vmlinux

# ---- 3. module load order from modules.dep ---------------------------------
# Print the modules.dep path of module NAME ('-' and '_' are the same).
modpath() {
	awk -F: -v n="$(echo "$1" | tr - _)" '{
		f = $1; sub(/.*\//, "", f); sub(/\.ko.*/, "", f); gsub(/-/, "_", f)
		if (f == n) { print $1; exit }
	}' "$moddir/modules.dep"
}
# Depth-first: dependencies before the module, each once.
order=""
visit() {
	case " $order " in *" $1 "*) return 0 ;; esac
	deps=$(grep -E "^$1:" "$moddir/modules.dep" | sed 's/^[^:]*://')
	for d in $deps; do visit "$d"; done
	order="$order $1"
}
for m in $MODULES; do
	p=$(modpath "$m")
	[ -n "$p" ] || die "module $m not found in $moddir/modules.dep"
	visit "$p"
done

# ---- 4. the initramfs, named by the hash of its inputs ---------------------
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked (apt-get install busybox-static)"
hash=$( {
	echo "$kver $order"
	cat "$init"
	cksum <"$busybox"
	for p in $order; do cksum <"$moddir/$p"; done
} | sha256sum | cut -c1-16)
initrd=$TB/initramfs-$hash.cpio.gz

if [ ! -f "$initrd" ]; then
	say "building L1 initramfs ($hash)"
	st=$TB/initramfs.$$
	rm -rf "$st"
	mkdir -p "$st/bin" "$st/lib/modules" "$st/proc" "$st/sys" "$st/dev" "$st/host" \
		"$st/job" "$st/keep" "$st/tmp"
	cp "$busybox" "$st/bin/busybox"
	cp "$init" "$st/init"
	chmod 755 "$st/init" "$st/bin/busybox"
	: >"$st/lib/modules/load.order"
	for p in $order; do
		name=$(basename "$p")
		case $name in
		*.ko) cp "$moddir/$p" "$st/lib/modules/$name" ;;
		*.ko.xz) xz -dc "$moddir/$p" >"$st/lib/modules/${name%.xz}" ;;
		*.ko.zst) zstd -qdc "$moddir/$p" >"$st/lib/modules/${name%.zst}" ;;
		*.ko.gz) gzip -dc "$moddir/$p" >"$st/lib/modules/${name%.gz}" ;;
		*) die "unknown module file $p" ;;
		esac
		name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
		echo "$name" >>"$st/lib/modules/load.order"
	done
	echo "$kver" >"$st/lib/modules/kver"
	(cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	rm -rf "$st"
fi

cat >"$TB/current.env.tmp" <<EOF
TESTBED_KVER='$kver'
TESTBED_KERNEL='$kernel'
TESTBED_INITRD='$initrd'
TESTBED_MODDIR='$moddir'
EOF
mv "$TB/current.env.tmp" "$TB/current.env"
echo "$key" >"$TB/build.key"

# Drop initramfs images and kernel trees that are no longer current.
for f in "$TB"/initramfs-*.cpio.gz; do
	[ "$f" = "$initrd" ] || rm -f "$f"
done
for d in "$TB"/linux-*; do
	[ -d "$d" ] || continue
	[ "$d" = "$kdir" ] || rm -rf "$d"
done
exit 0
