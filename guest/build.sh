#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# guest/build.sh - build (or reuse from the cache) ember's guest images:
#   * a minimal kernel from /usr/src/linux-source-6.1.tar.xz + guest/kernel.fragment
#     (ELF vmlinux with the PVH note, and bzImage)
#   * a busybox rootfs: uncompressed initramfs cpio and a 64 MiB ext4 image
#   * Debian's stock cloud kernel (vmlinuz from linux-image-*-cloud-amd64, not installed)
#
# Everything lives under ${EMBER_CACHE:-$HOME/.cache/ember}/guest, in directories named
# after a hash of their inputs, so a warm cache costs about a second. The paths are written
# to build/guest.env in this checkout (shell variables; tests `.` it), and that file's path
# is printed on stdout. $EMBER_CACHE/guest/current.env gets the same text (the images the
# last run anywhere asked for): several checkouts share the cache, each with its own
# kernel.fragment, so tests read their checkout's file, never that one. Progress lines go
# to stderr only when something is built.
#
# Environment:
#   EMBER_CACHE               cache root (default ~/.cache/ember)
#   EMBER_GUEST_ENV           where to write this checkout's env file (default build/guest.env)
#   EMBER_GUEST_JOBS          make -j for the kernel (default 2)
#   EMBER_LINUX_TARBALL       kernel source (default /usr/src/linux-source-6.1.tar.xz)
#   EMBER_BUSYBOX             static busybox binary (default /bin/busybox from busybox-static)
#   EMBER_GUEST_REFRESH_CLOUD=1  re-resolve the newest Debian cloud kernel via apt
#   EMBER_GUEST_NO_CLOUD=1    skip the Debian cloud kernel (EMBER_GUEST_CLOUD_KERNEL stays empty)
set -euo pipefail
# Run from make (make run, make e2e), this script inherits the parent make's
# MAKEFLAGS and MAKELEVEL: the kernel's own makes would then print
# "make[2]: Entering directory" lines into what they output and join the
# parent's jobserver. The kernel build is a make of its own.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
CACHE=${EMBER_CACHE:-$HOME/.cache/ember}
G=$CACHE/guest
FRAGMENT=$HERE/kernel.fragment
INIT=$HERE/init
LINUX_TARBALL=${EMBER_LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
BUSYBOX=${EMBER_BUSYBOX:-/bin/busybox}
JOBS=${EMBER_GUEST_JOBS:-2}
ROOTFS_MIB=64
# Bump when build_kernel changes in a way that changes the image (the kernel key does
# not hash the function text, so cosmetic edits do not cost a rebuild).
KERNEL_RECIPE=1
CLOUD_META=linux-image-cloud-amd64
# Deterministic kernel build metadata (uname -v), so identical inputs give identical images.
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2024"
export KBUILD_BUILD_USER=ember KBUILD_BUILD_HOST=ember
export LC_ALL=C

TMPS=()
cleanup() {
	local t
	for t in "${TMPS[@]}"; do
		rm -rf "$t"
	done
}
trap cleanup EXIT

say() {
	echo "ember-guest: $*" >&2
}

die() {
	say "error: $*"
	exit 1
}

# new_tmp NAME: make a scratch directory inside the cache (same filesystem, so the
# finished result can be renamed into place), removed when the script exits. The
# path is left in $NEW_TMP (not printed: a $(...) subshell would lose TMPS).
new_tmp() {
	NEW_TMP=$(mktemp -d "$G/tmp.$1.XXXXXX")
	TMPS+=("$NEW_TMP")
}

# publish TMPDIR/out DEST: atomically rename a finished output directory into place.
publish() {
	if ! mv -T "$1" "$2" 2>/dev/null; then
		[ -d "$2" ] || die "cannot rename $1 to $2"
	fi
}

hash16() {
	sha256sum | cut -c1-16
}

# run_logged LOG CMD...: run quietly; on failure show the end of the log.
run_logged() {
	local log=$1
	shift
	if ! "$@" >>"$log" 2>&1 </dev/null; then
		say "failed: $* (last lines of $log):"
		tail -n 40 "$log" >&2
		return 1
	fi
}

# ---------------------------------------------------------------- kernel

kernel_key() {
	local src_id
	src_id=$(dpkg-query -W -f='${Package} ${Version}' linux-source-6.1 2>/dev/null || true)
	{
		echo "recipe $KERNEL_RECIPE"
		cat "$FRAGMENT"
		echo "$src_id $(stat -c %s "$LINUX_TARBALL" 2>/dev/null)"
		gcc -dumpfullversion 2>/dev/null || true
	} | hash16
}

# check_fragment CONFIG: every line of the fragment must hold in the final .config,
# so a dependency silently dropping an option fails the build instead.
check_fragment() {
	local cfg=$1 line opt bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*)
			grep -qxF "$line" "$cfg" || { say "fragment: $line did not stick"; bad=1; }
			;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			if grep -q "^$opt=" "$cfg"; then
				say "fragment: $opt should be off"
				bad=1
			fi
			;;
		esac
	done <"$FRAGMENT"
	return $bad
}

# build_kernel DEST: tinyconfig + fragment, built with -j$JOBS; keeps vmlinux,
# bzImage and .config.
build_kernel() {
	local dest=$1 tmp src out log start
	[ -r "$LINUX_TARBALL" ] || die "$LINUX_TARBALL missing (run scripts/deps.sh)"
	command -v lz4 >/dev/null || die "lz4 missing (run scripts/deps.sh)"
	new_tmp kernel
	tmp=$NEW_TMP
	src=$tmp/src
	out=$tmp/out
	log=$G/logs/$(basename "$dest").$$.log
	mkdir -p "$src" "$out" "$G/logs"
	: >"$log"
	say "building guest kernel with -j$JOBS (about 9 minutes on 2 cores; log: $log)"
	start=$(date +%s)
	run_logged "$log" tar -C "$src" --strip-components=1 -xJf "$LINUX_TARBALL"
	run_logged "$log" make -C "$src" ARCH=x86_64 tinyconfig
	(cd "$src" && run_logged "$log" scripts/kconfig/merge_config.sh -m .config "$FRAGMENT")
	run_logged "$log" make -C "$src" ARCH=x86_64 olddefconfig
	check_fragment "$src/.config" || die "kernel.fragment does not apply cleanly"
	run_logged "$log" make -C "$src" ARCH=x86_64 -j"$JOBS" bzImage
	cp "$src/vmlinux" "$out/vmlinux"
	cp "$src/arch/x86/boot/bzImage" "$out/bzImage"
	cp "$src/.config" "$out/config"
	make -s --no-print-directory -C "$src" ARCH=x86_64 kernelrelease >"$out/release" </dev/null
	release_ok "$out/release" || die "kernelrelease printed '$(head -c 200 "$out/release")', not a release"
	echo $(($(date +%s) - start)) >"$out/build-seconds"
	cp "$log" "$out/build.log"
	rm -rf "$src"
	publish "$out" "$dest"
	rm -f "$log"
	say "guest kernel built in $(cat "$dest/build-seconds") s: $dest"
}

# ---------------------------------------------------------------- rootfs

rootfs_key() {
	{
		declare -f build_rootfs
		echo "$ROOTFS_MIB"
		cat "$INIT"
		sha256sum "$BUSYBOX"
		mke2fs -V 2>&1 | head -n1
		if [ -d "$REPO/tests/guest" ]; then
			(cd "$REPO/tests/guest" && find . -maxdepth 1 \( -name '*.sh' -o -name '*.c' \) \
				-type f | sort | xargs -r sha256sum)
		fi
		gcc -dumpfullversion 2>/dev/null || true
	} | hash16
}

# build_rootfs DEST: busybox tree -> initramfs.cpio (uncompressed: the kernel unpacks
# it at memcpy speed) and rootfs.ext4 (mkfs.ext4 -d, no mount, no root needed).
build_rootfs() {
	local dest=$1 tmp root out app f
	[ -x "$BUSYBOX" ] || die "$BUSYBOX missing (run scripts/deps.sh: busybox-static)"
	if readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'Requesting program interpreter'; then
		die "$BUSYBOX is dynamically linked; install busybox-static"
	fi
	new_tmp rootfs
	tmp=$NEW_TMP
	root=$tmp/root
	out=$tmp/out
	mkdir -p "$out" "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt,tests}
	cp "$BUSYBOX" "$root/bin/busybox"
	for app in $("$BUSYBOX" --list); do
		case "$app" in
		busybox | init | linuxrc) continue ;;	# /init is ours
		esac
		ln -s busybox "$root/bin/$app"
	done
	install -m 0755 "$INIT" "$root/init"
	ln -s ../init "$root/sbin/init"	# the kernel runs /sbin/init on a disk root
	printf 'root::0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	printf 'ember\n' >"$root/etc/hostname"
	printf 'export PS1="ember# "\n' >"$root/etc/profile"
	if [ -d "$REPO/tests/guest" ]; then
		for f in "$REPO"/tests/guest/*.sh; do
			[ -f "$f" ] && install -m 0755 "$f" "$root/tests/"
		done
		# Guest test programs (e.g. hostile.c): static, /tests/NAME.
		for f in "$REPO"/tests/guest/*.c; do
			[ -f "$f" ] || continue
			gcc -static -O2 -Wall -o "$root/tests/$(basename "$f" .c)" "$f" ||
				die "gcc -static $f failed"
		done
	fi
	find "$root" -exec touch -h -d @1704067200 {} +
	(cd "$root" && find . -mindepth 1 | sort |
		cpio -o -H newc -R 0:0 --reproducible --quiet) >"$out/initramfs.cpio"
	truncate -s "${ROOTFS_MIB}M" "$out/rootfs.ext4"
	E2FSPROGS_FAKE_TIME=1704067200 mkfs.ext4 -q -F -L ember-root \
		-U 6d656265-7200-4000-8000-726f6f746673 -E root_owner=0:0,hash_seed=6d656265-7200-4000-8000-000000000001 \
		-d "$root" "$out/rootfs.ext4" </dev/null ||
		die "mkfs.ext4 -d failed"
	publish "$out" "$dest"
}

# ---------------------------------------------------------------- Debian cloud kernel

# cloud_resolve: print "PACKAGE VERSION" of the versioned image the cloud meta-package
# depends on, from the local apt lists (refreshed once if they know nothing).
cloud_resolve() {
	local pkg ver i
	for i in 1 2; do
		pkg=$(apt-cache depends "$CLOUD_META" 2>/dev/null </dev/null |
			awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
		if [ -n "$pkg" ]; then
			ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null </dev/null |
				awk '/^Version:/ { print $2; exit }')
			[ -n "$ver" ] && { echo "$pkg $ver"; return 0; }
		fi
		[ "$i" = 1 ] && [ "$(id -u)" = 0 ] || break
		apt-get update -qq </dev/null >/dev/null 2>&1 || break
	done
	return 1
}

# build_cloud DEST PACKAGE: apt-get download the .deb (never installed) and keep
# /boot/vmlinuz-* and its config. Returns 1 on failure (callers fall back).
build_cloud() {
	local dest=$1 pkg=$2 tmp out log
	new_tmp cloud
	tmp=$NEW_TMP
	out=$tmp/out
	log=$tmp/apt.log
	mkdir -p "$out" "$tmp/deb" "$tmp/x" || return 1
	chmod 0755 "$tmp" "$tmp/deb"	# lets apt's _apt user write when run as root
	say "downloading Debian cloud kernel $pkg"
	(cd "$tmp/deb" && run_logged "$log" apt-get download -q "$pkg") || return 1
	dpkg-deb -x "$tmp"/deb/*.deb "$tmp/x" || return 1
	cp "$tmp"/x/boot/vmlinuz-* "$out/vmlinuz" || return 1
	cp "$tmp"/x/boot/config-* "$out/config" 2>/dev/null
	basename "$tmp"/x/boot/vmlinuz-* | sed 's/^vmlinuz-//' >"$out/release" || return 1
	publish "$out" "$dest"
}

# cloud_kernel: set CLOUD to the cached cloud vmlinuz path (fetching it if needed),
# or leave it empty when apt cannot provide one.
cloud_kernel() {
	local pv pkg ver dest have
	# The first version fetched stays pinned (no apt queries) unless refreshed.
	cloud_cached && return 0
	have=$(ls -d "$G"/cloud-*/vmlinuz 2>/dev/null | sort -V | tail -n1 || true)
	if ! pv=$(cloud_resolve); then
		say "warning: apt knows no $CLOUD_META; using a cached cloud kernel if any"
		[ -n "$have" ] && CLOUD=$have
		return 0
	fi
	read -r pkg ver <<<"$pv"
	dest=$G/cloud-$pkg-$ver
	if [ ! -f "$dest/vmlinuz" ] && ! build_cloud "$dest" "$pkg"; then
		say "warning: could not download $pkg; using a cached cloud kernel if any"
		[ -n "$have" ] && CLOUD=$have
		return 0
	fi
	CLOUD=$dest/vmlinuz
}

# ---------------------------------------------------------------- cache checks

# A cache entry is used only when what it holds looks like what was built:
# an entry that fails these checks (a killed copy, a disk error, output of an
# older, broken build step) is removed and built again, never trusted.

# release_ok FILE: one line, a kernel release ("6.1.0", "6.1.0-28-cloud-amd64").
release_ok() {
	[ "$(wc -l <"$1" 2>/dev/null)" = 1 ] && grep -qE '^[0-9]+\.[0-9]+[0-9A-Za-z.+_~-]*$' "$1"
}

# magic_at FILE OFFSET HEX: the bytes at OFFSET are HEX.
magic_at() {
	[ "$(od -An -tx1 -j "$2" -N $((${#3} / 2)) "$1" 2>/dev/null | tr -d ' \n')" = "$3" ]
}

is_elf() { magic_at "$1" 0 7f454c46; }
is_bzimage() { magic_at "$1" 514 48647253; }	# "HdrS" at 0x202

# entry_problem KIND DIR: print what is wrong with a cache entry (nothing if
# it is sound). KIND: kernel, rootfs or cloud.
entry_problem() {
	local dir=$2
	case $1 in
	kernel)
		is_elf "$dir/vmlinux" || { echo "vmlinux is not an ELF file"; return; }
		is_bzimage "$dir/bzImage" || { echo "bzImage has no boot header"; return; }
		release_ok "$dir/release" || echo "release is not a kernel release"
		;;
	rootfs)
		magic_at "$dir/initramfs.cpio" 0 303730373031 || { echo "initramfs.cpio is not a newc cpio archive"; return; }
		[ "$(stat -c %s "$dir/rootfs.ext4" 2>/dev/null)" = $((ROOTFS_MIB << 20)) ] &&
			magic_at "$dir/rootfs.ext4" 1080 53ef || echo "rootfs.ext4 is not a ${ROOTFS_MIB} MiB ext4 image"
		;;
	cloud)
		is_bzimage "$dir/vmlinuz" || { echo "vmlinuz has no boot header"; return; }
		release_ok "$dir/release" || echo "release is not a kernel release"
		;;
	esac
}

# entry_sound KIND DIR: true when DIR is a sound entry. A damaged one is
# removed (under the cache lock) so that the caller builds it again.
entry_sound() {
	local why
	[ -d "$2" ] || return 1
	why=$(entry_problem "$1" "$2")
	[ -z "$why" ] && return 0
	lock_cache
	say "cached $1 $2 is damaged ($why): rebuilding it"
	rm -rf "$2"
	return 1
}

# verify: check every cache entry (kernel-*, rootfs-*, cloud-*) and current.env
# without changing anything; one line per damaged entry; exit 1 if any.
verify() {
	local d kind why bad=0
	for d in "$G"/kernel-* "$G"/rootfs-* "$G"/cloud-*; do
		[ -d "$d" ] || continue
		kind=$(basename "$d")
		kind=${kind%%-*}
		why=$(entry_problem "$kind" "$d")
		[ -z "$why" ] && continue
		echo "damaged: $d: $why"
		bad=1
	done
	if [ -f "$G/current.env" ] && ! env_ok "$G/current.env"; then
		echo "damaged: $G/current.env: not a list of shell assignments"
		bad=1
	fi
	return $bad
}

# env_ok FILE: only comments, blank lines, NAME=value and export lines.
env_ok() {
	! grep -vqE '^(#.*|[A-Z_][A-Z0-9_]*=("[^"$`\\]*"|[^ "$`\\;&|<>()]*)|export( [A-Z_][A-Z0-9_]*)+|)$' "$1"
}

# ---------------------------------------------------------------- main

# lock_cache: serialise writers on $G/.lock (once per run) and drop scratch
# directories left by killed runs. Old ones only: the lock does not reach every
# writer (a test VM sharing the cache over 9p has its own flock namespace), so a
# young tmp.* may belong to a live build elsewhere.
lock_cache() {
	[ -n "${LOCKED:-}" ] && return 0
	mkdir -p "$G" 2>/dev/null || die "cannot create $G"
	if ! { exec 9>>"$G/.lock"; } 2>/dev/null; then
		die "$G is read-only and the images are missing or stale; run guest/build.sh where the cache is writable"
	fi
	flock 9
	find "$G" -maxdepth 1 -name 'tmp.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
	LOCKED=1
}

# cloud_cached: true (and CLOUD set) when no apt work is needed for the cloud kernel.
cloud_cached() {
	CLOUD=""
	[ "${EMBER_GUEST_NO_CLOUD:-0}" = 1 ] && return 0
	[ "${EMBER_GUEST_REFRESH_CLOUD:-0}" = 1 ] && return 1
	CLOUD=$(ls -d "$G"/cloud-*/vmlinuz 2>/dev/null | sort -V | tail -n1 || true)
	[ -n "$CLOUD" ] && entry_sound cloud "$(dirname "$CLOUD")" && return 0
	CLOUD=""
	return 1
}

# env_text KDIR RDIR: the contents of current.env.
env_text() {
	cat <<EOF
# Written by guest/build.sh (the images one checkout asked for); source it with: .
EMBER_GUEST_VMLINUX=$1/vmlinux
EMBER_GUEST_BZIMAGE=$1/bzImage
EMBER_GUEST_KERNEL_RELEASE=$(cat "$1/release")
EMBER_GUEST_INITRAMFS=$2/initramfs.cpio
EMBER_GUEST_ROOTFS_EXT4=$2/rootfs.ext4
EMBER_GUEST_CLOUD_KERNEL=$CLOUD
EMBER_GUEST_CMDLINE="console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux"
export EMBER_GUEST_VMLINUX EMBER_GUEST_BZIMAGE EMBER_GUEST_KERNEL_RELEASE EMBER_GUEST_INITRAMFS
export EMBER_GUEST_ROOTFS_EXT4 EMBER_GUEST_CLOUD_KERNEL EMBER_GUEST_CMDLINE
EOF
}

main() {
	local kdir rdir env text
	if [ "${1:-}" = --verify ]; then
		verify
		return
	fi
	env=$G/current.env
	kdir=$G/kernel-$(kernel_key)
	rdir=$G/rootfs-$(rootfs_key)
	# A warm, unchanged, sound cache is only read, so it may be read-only.
	if ! { entry_sound kernel "$kdir" && entry_sound rootfs "$rdir" && cloud_cached; }; then
		lock_cache	# concurrent runs wait; results are also renamed into place
		entry_sound kernel "$kdir" || build_kernel "$kdir"
		entry_sound rootfs "$rdir" || build_rootfs "$rdir"
		cloud_kernel
	fi
	text=$(env_text "$kdir" "$rdir")
	if [ "$(cat "$env" 2>/dev/null)" != "$text" ]; then
		lock_cache
		new_tmp env
		printf '%s\n' "$text" >"$NEW_TMP/current.env"
		env_ok "$NEW_TMP/current.env" || die "current.env would not be valid shell: $text"
		mv -f "$NEW_TMP/current.env" "$env"
	fi
	# This checkout's own copy (a read-only checkout falls back to the shared one).
	local own=${EMBER_GUEST_ENV:-$REPO/build/guest.env}
	if [ "$(cat "$own" 2>/dev/null)" != "$text" ]; then
		if mkdir -p "$(dirname "$own")" 2>/dev/null && printf '%s\n' "$text" >"$own.tmp.$$" 2>/dev/null &&
			mv -f "$own.tmp.$$" "$own"; then
			:
		else
			rm -f "$own.tmp.$$" 2>/dev/null
			own=$env
		fi
	fi
	echo "$own"
}

# One line, so bash never reads past it while this file is being edited.
main "$@"; exit
