#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Unpack Debian's own source of the installed libcjson-dev (same version, with
# Debian's patches) into ~/.cache/ember/src/cjson-<version>, so `make` links
# cJSON into build/ember statically: Debian ships no libcjson.a, and a fully
# static ember starts without dynamic loading (less CPU) and maps no shared
# libraries (less RSS). Without it `make` links libcjson dynamically.
#
# apt-get source runs against a private package-list directory and deb-src
# entries derived from the system's deb entries: the system's own apt
# configuration and lists are not touched. Signed indexes are verified as for
# any apt download. Never fatal: on any failure it says why in one line.
set -u
CACHE=${EMBER_CACHE:-${HOME:-/root}/.cache/ember}
say() { echo "ember: cjson source: $*" >&2; }

src=$(dpkg-query -W -f='${source:Package}' libcjson-dev 2>/dev/null) &&
	ver=$(dpkg-query -W -f='${source:Version}' libcjson-dev 2>/dev/null) &&
	[ -n "$src" ] && [ -n "$ver" ] || { say "libcjson-dev not installed"; exit 0; }
dest=$CACHE/src/cjson-$ver
[ -f "$dest/cJSON.c" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	say "not root: not fetched (build/ember links libcjson dynamically)"
	exit 0
fi
command -v dpkg-source >/dev/null || { say "dpkg-source missing (dpkg-dev)"; exit 0; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-cjson.XXXXXX") || exit 0
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/out"
# deb-src twins of the system's deb entries (one-line and deb822 formats).
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f"
done >"$tmp/parts/ember-src.list"
n=0
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	sed 's/^Types:.*/Types: deb-src/' "$f" >"$tmp/parts/ember-src-$n.sources"
done
APT="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$tmp/parts
 -o Dir::State::Lists=$tmp/lists -o APT::Sandbox::User=root -q"
# A third-party repository without sources fails its part; the Debian
# archive's part is what counts, and apt-get source says if it is missing.
# shellcheck disable=SC2086
apt-get $APT update >"$tmp/update.log" 2>&1
# shellcheck disable=SC2086
if ! (cd "$tmp/out" && apt-get $APT source "$src=$ver") >"$tmp/source.log" 2>&1; then
	say "apt-get source $src=$ver failed: $(grep -E '^E:' "$tmp/source.log" | head -n1)"
	exit 0
fi
dir=$(find "$tmp/out" -mindepth 2 -maxdepth 2 -name cJSON.c -printf '%h\n' | head -n1)
if [ -z "$dir" ]; then
	say "no cJSON.c in the unpacked $src $ver"
	exit 0
fi
mkdir -p "$CACHE/src"
rm -rf "$dest.tmp"
mv "$dir" "$dest.tmp" && mv "$dest.tmp" "$dest" && say "unpacked $src $ver into $dest"
exit 0
