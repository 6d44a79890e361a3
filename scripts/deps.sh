#!/bin/sh
# Install the Debian packages ember's build, guest images and tests need.
# As root it runs apt-get; otherwise it prints the line to run.
set -e
PKGS="build-essential dpkg-dev pkg-config libseccomp-dev libcap-dev libcjson-dev liburing-dev libcmocka-dev
 qemu-system-x86 linux-source-6.1 busybox-static e2fsprogs cpio flex bison bc libelf-dev
 libssl-dev xz-utils kmod curl iproute2 socat python3 dwarves lz4 gnuplot-nox
 python3-yaml python3-jsonschema clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
here=$(dirname "$0")
# cJSON's Debian source, for a static build/ember (never fatal).
[ -z "$missing" ] && exec "$here/cjson-src.sh"
if [ "$(id -u)" != 0 ]; then
	echo "ember: missing packages; run as root: apt-get install -y$missing" >&2
	exit 1
fi
echo "ember: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists once per day at most.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
	apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null
"$here/cjson-src.sh"
