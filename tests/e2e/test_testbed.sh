#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The test bed itself: /dev/kvm opens, KVM_GET_API_VERSION is 12, a VM and a
# vCPU can be created, Unix sockets work in the temp dir, and the repository
# is writable.
# timeout: 120
set -u
. "$(dirname "$0")/lib.sh"
need_kvm
e2e_tmpdir
log "mode: ${EMBER_TESTBED:-unknown}, kernel $(uname -r)"

python3 - "$E2E_TMP/sock" <<'EOF' || fail "KVM/socket checks failed"
import fcntl, os, socket, sys

KVM_GET_API_VERSION = 0xAE00      # _IO(KVMIO, 0x00)
KVM_CREATE_VM = 0xAE01            # _IO(KVMIO, 0x01)
KVM_CHECK_EXTENSION = 0xAE03      # _IO(KVMIO, 0x03)
KVM_CREATE_VCPU = 0xAE41          # _IO(KVMIO, 0x41)
KVM_CAP_IRQCHIP = 0

kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
ver = fcntl.ioctl(kvm, KVM_GET_API_VERSION)
print("KVM_GET_API_VERSION =", ver)
if ver != 12:
    sys.exit("unexpected KVM API version %d" % ver)
if fcntl.ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0:
    sys.exit("KVM_CAP_IRQCHIP missing")
vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
print("created vm fd", vm, "vcpu fd", vcpu)

path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cli.connect(path)
conn, _ = srv.accept()
cli.sendall(b"ping")
if conn.recv(4) != b"ping":
    sys.exit("unix socket round trip failed")
print("unix socket ok:", path)
EOF

# The checkout is the host's: a file written here is a file written there.
probe=$E2E_ROOT/build/.testbed-probe.$$
mkdir -p "$E2E_ROOT/build" || fail "cannot create build/"
e2e_on_exit "rm -f '$probe'"
echo "probe" >"$probe" && [ "$(cat "$probe")" = probe ] || fail "cannot write into the repository"
echo "PASS: /dev/kvm works (API 12), VM + vCPU created, Unix socket in $E2E_TMP"
