#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A jailed ember boots the guest: ember-jailer (uid 123, gid 100, a netns
# with a tap owned by uid 123, cgroup v2 limits) execs the dynamically
# linked build/ember in <base>/ember/<id>/root; the test copies the kernel
# and an ext4 rootfs (owned by the uid) into the jail and drives ember
# through the API socket inside the jail with curl (boot-source, drive,
# network interface, machine-config with 2 vCPUs, InstanceStart).
# While the guest runs (it waits for a line on the serial console), check
# from the host: uid/gid, capabilities, NoNewPrivs, "Seccomp: 2" on every
# thread (main + both vCPUs), / is the jail, every fd besides 0-2 is an
# anonymous inode, a socket, a device node or a file inside the jail, the
# cgroup and its limits, the netns; guest <-> host ping over the tap. Then
# the guest powers off, ember (= the jailer's pid) exits 0; the jail and
# the cgroup are removed.
# timeout: 420
set -u
. "$(dirname "$0")/lib.sh"
need_kvm
need_ember jailer
need_guest EMBER_GUEST_BZIMAGE EMBER_GUEST_ROOTFS_EXT4
command -v curl >/dev/null || _e2e_missing "curl not installed"
command -v ip >/dev/null || _e2e_missing "iproute2 not installed"
e2e_tmpdir

U=123 G=100
ID=jb-$$
BASE=$E2E_TMP/jail		# /tmp: tmpfs without nodev in the test bed
ROOT=$BASE/ember/$ID/root
SOCK=$ROOT/run/api.sock
NS=ember-jb-$$
CGP=ember-e2e-jb-$$
VCPUS=2


# ---- network namespace with a tap the jail's uid may open ------------------
ip netns add "$NS" || fail "ip netns add"
e2e_on_exit "ip netns del $NS 2>/dev/null"
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev jtap0 mode tap user $U || fail "cannot create the tap"
ip -n "$NS" addr add 169.254.88.1/30 dev jtap0
ip -n "$NS" link set jtap0 up

# ---- cgroup v2 with the controllers this host has ---------------------------
CG2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
if [ -z "$CG2" ]; then
	mkdir -p /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && CG2=/sys/fs/cgroup
fi
[ -n "$CG2" ] || fail "no cgroup2 file system"
CGARGS=() CGWANT=()
have_ctl() { grep -qw "$1" "$CG2/cgroup.controllers"; }
if have_ctl memory; then CGARGS+=(--cgroup memory.max=805306368); CGWANT+=("memory.max=805306368"); fi
if have_ctl cpu; then CGARGS+=(--cgroup "cpu.max=200000 100000"); CGWANT+=("cpu.max=200000 100000"); fi
if have_ctl pids; then CGARGS+=(--cgroup pids.max=64); CGWANT+=("pids.max=64"); fi
[ ${#CGARGS[@]} -gt 0 ] || CGARGS=(--cgroup cgroup.max.descendants=0) CGWANT=("cgroup.max.descendants=0")
e2e_on_exit "rmdir $CG2/$CGP/$ID $CG2/$CGP 2>/dev/null"
log "cgroup v2 at $CG2: ${CGWANT[*]}"

# ---- the guest script: network, then wait for "go" on the console -----------
script='set -e
ip addr add 169.254.88.2/30 dev eth0
ip link set eth0 up
ping -c 2 -W 10 169.254.88.1
echo jailed-write >/root/jailed.txt && sync && cat /root/jailed.txt
echo EMBER-JB-WAITING
read -r line </dev/console
echo "EMBER-JB-GOT-$line"
echo ok'
args="console=ttyS0 reboot=k panic=1 pci=off i8042.noaux i8042.nomux i8042.nopnp quiet ember.sh=$(printf '%s\n' "$script" | base64 -w0)"

# Serial input: a FIFO held open read-write here, so neither side blocks.
mkfifo "$E2E_TMP/console.in"
exec 7<>"$E2E_TMP/console.in"
CONSOLE=$E2E_TMP/console.log

# (bash gives a background command /dev/null as stdin unless that command
# redirects it itself: hence the exec inside bash -c; the jailer keeps fd 0)
e2e_bg bash -c 'exec "$@" <"$0"' "$E2E_TMP/console.in" \
	"$EMBER_JAILER_BIN" --id "$ID" --exec-file "$EMBER_BIN" --uid $U --gid $G \
	--chroot-base-dir "$BASE" --netns "/var/run/netns/$NS" \
	--cgroup-version 2 --parent-cgroup "$CGP" "${CGARGS[@]}" \
	-- --api-sock /run/api.sock >"$CONSOLE" 2>&1
PID=$E2E_PID
wait_for_file "$SOCK" "$(e2e_secs 3)" "$PID" || { cat "$CONSOLE" >&2; fail "no API socket in the jail"; }
log "jailed ember $PID is up, socket $SOCK"

# The jail holds the interpreter and libraries of the dynamic build/ember.
interp=$(readelf -l "$EMBER_BIN" 2>/dev/null | sed -n 's/.*program interpreter: \(.*\)]/\1/p')
if [ -n "$interp" ]; then
	[ -f "$ROOT$interp" ] || fail "interpreter $interp not in the jail"
	[ "$(stat -c '%u %a' "$ROOT$interp")" = "0 555" ] || fail "interpreter not root-owned 0555"
fi

# Files for the VM, placed in the jail: the kernel (root-owned, readable)
# and a private copy of the rootfs owned by the VM's uid.
cp "$EMBER_GUEST_BZIMAGE" "$ROOT/vmlinux"
chmod 0444 "$ROOT/vmlinux"
cp "$EMBER_GUEST_ROOTFS_EXT4" "$ROOT/rootfs.ext4"
chown $U:$G "$ROOT/rootfs.ext4"
chmod 0600 "$ROOT/rootfs.ext4"

put() {
	api "$SOCK" PUT "$1" "$2" ||
		{ tail -n 20 "$CONSOLE" >&2; fail "PUT $1: HTTP $API_STATUS $API_BODY"; }
}
put /boot-source "{\"kernel_image_path\": \"/vmlinux\", \"boot_args\": \"$args\"}"
put /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/rootfs.ext4", "is_root_device": true, "is_read_only": false}'
put /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "jtap0", "guest_mac": "06:00:a9:fe:58:02"}'
put /machine-config "{\"vcpu_count\": $VCPUS, \"mem_size_mib\": 128}"
# a path outside the jail does not exist for ember
api "$SOCK" PUT /drives/hostfile "{\"drive_id\": \"hostfile\", \"path_on_host\": \"$EMBER_GUEST_ROOTFS_EXT4\", \"is_root_device\": false, \"is_read_only\": true}" &&
	fail "a host path outside the jail was accepted as a drive"
put /actions '{"action_type": "InstanceStart"}'
log "InstanceStart accepted"

wait_for_line "$CONSOLE" '^EMBER-JB-WAITING' "$(e2e_secs 20)" "$PID" ||
	{ tail -n 40 "$CONSOLE" >&2; fail "the guest did not reach its script"; }
log "guest is running its script; checking ember from the host"

# ---- checks while the guest runs ---------------------------------------------
field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$1"; }
ino() { stat -L -c %d:%i "$1"; }
S=/proc/$PID/status
[ "$(field $S Uid)" = "$U $U $U $U" ] || fail "Uid: $(field $S Uid)"
[ "$(field $S Gid)" = "$G $G $G $G" ] || fail "Gid: $(field $S Gid)"
[ -z "$(field $S Groups)" ] || fail "supplementary groups: $(field $S Groups)"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
	[ "$(field $S $c)" = 0000000000000000 ] || fail "$c: $(field $S $c)"
done
[ "$(field $S NoNewPrivs)" = 1 ] || fail "NoNewPrivs: $(field $S NoNewPrivs)"
n=0 vcpus=0
for t in /proc/$PID/task/*; do
	name=$(cat "$t/comm")
	[ "$(field "$t/status" Seccomp)" = 2 ] || fail "thread $(basename "$t") ($name): Seccomp $(field "$t/status" Seccomp)"
	[ "$(field "$t/status" NoNewPrivs)" = 1 ] || fail "thread $name: NoNewPrivs"
	[ "$(field "$t/status" CapEff)" = 0000000000000000 ] || fail "thread $name: CapEff"
	case $name in vcpu*) vcpus=$((vcpus + 1)) ;; esac
	n=$((n + 1))
done
[ $vcpus = $VCPUS ] || fail "expected $VCPUS vCPU threads, saw $vcpus of $n threads"
log "$n threads ($vcpus vCPUs), every one with Seccomp 2, NoNewPrivs 1, CapEff 0"
[ "$(ino /proc/$PID/root)" = "$(ino "$ROOT")" ] || fail "/ of ember is not the jail"
[ "$(readlink /proc/$PID/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || fail "same mount namespace as the host"
[ "$(ino /proc/$PID/ns/net)" = "$(ino /var/run/netns/$NS)" ] || fail "not in netns $NS"
# fds: 0-2 inherited; every other one is ember's own: an anonymous inode, a
# socket, or one of the jail's files (compared by inode: a path inside
# another mount namespace reads back as seen from that namespace).
jail_inos=""
for f in "$ROOT/dev/kvm" "$ROOT/dev/net/tun" "$ROOT/rootfs.ext4" "$ROOT/vmlinux"; do
	jail_inos="$jail_inos $(ino "$f")"
done
fds="" seen=""
for fd in /proc/$PID/fd/*; do
	num=${fd##*/} target=$(readlink "$fd")
	fds="$fds $num"
	[ "$num" -le 2 ] && continue
	case $target in
	anon_inode:*eventfd*|anon_inode:*eventpoll*|anon_inode:*signalfd*|anon_inode:*timerfd*) ;;
	anon_inode:*kvm-vm*|anon_inode:*kvm-vcpu*) ;;
	socket:\[*\]) ;;
	*)
		i=$(ino "$fd")
		case " $jail_inos " in
		*" $i "*) seen="$seen $i" ;;
		*) fail "unexpected fd $num -> $target" ;;
		esac ;;
	esac
done
for f in "$ROOT/dev/kvm" "$ROOT/rootfs.ext4" "$ROOT/dev/net/tun"; do
	case " $seen " in *" $(ino "$f") "*) ;; *) fail "no fd open on $f" ;; esac
done
log "fds:$fds (all anon inodes, sockets, or inside the jail)"
grep -qx "0::/$CGP/$ID" /proc/$PID/cgroup || fail "cgroup: $(cat /proc/$PID/cgroup)"
for kv in "${CGWANT[@]}"; do
	k=${kv%%=*} v=${kv#*=}
	[ "$(cat "$CG2/$CGP/$ID/$k")" = "$v" ] || fail "$k is '$(cat "$CG2/$CGP/$ID/$k")', want '$v'"
done
# cgroup.procs: ember, plus KVM's own kernel threads for this VM (kvm-pit,
# kvm-nx-lpage-recovery), which KVM attaches to the VM owner's cgroups
for p in $(cat "$CG2/$CGP/$ID/cgroup.procs"); do
	[ "$p" = "$PID" ] && continue
	comm=$(cat /proc/$p/comm 2>/dev/null)
	case $comm in
	kvm*) [ "$(field /proc/$p/status PPid)" = 2 ] || fail "cgroup member $p ($comm) is not a kernel thread" ;;
	*) fail "unexpected process $p ($comm) in the cgroup" ;;
	esac
done
grep -qx "$PID" "$CG2/$CGP/$ID/cgroup.procs" || fail "ember is not in cgroup.procs"
log "cgroup $CGP/$ID holds:$(for p in $(cat "$CG2/$CGP/$ID/cgroup.procs"); do printf ' %s(%s)' "$p" "$(cat /proc/$p/comm)"; done)"
for t in /proc/$PID/task/*; do
	grep -qx "${t##*/}" "$CG2/$CGP/$ID/cgroup.threads" || fail "thread ${t##*/} not in the cgroup"
done
if [ -f "$CG2/$CGP/$ID/memory.current" ]; then
	log "memory.current $(cat "$CG2/$CGP/$ID/memory.current") (max $(cat "$CG2/$CGP/$ID/memory.max"))"
fi
tr -d '\r' <"$CONSOLE" | grep -q ' 0% packet loss' || fail "guest -> host ping over the tap lost packets"
host_ping "$NS" 169.254.88.2 || fail "host -> guest ping"

# ---- let the guest finish: it powers off, ember and the jailer exit 0 -------
# the tty may drop input sent before the read starts: repeat until seen
for _ in $(seq 1 "$(e2e_secs 3)"); do
	echo go >&7
	wait_for_line "$CONSOLE" '^EMBER-JB-GOT-go' 1 "$PID" && break
done
wait_for_exit "$PID" "$(e2e_secs 15)"
rc=$?
tr -d '\r' <"$CONSOLE" | grep -q '^EMBER-JB-GOT-go' || { tail -n 30 "$CONSOLE" >&2; fail "the guest did not read the console"; }
tr -d '\r' <"$CONSOLE" | grep -qx 'jailed-write' || fail "the guest could not write its rootfs"
code=$(tr -d '\r' <"$CONSOLE" | sed -n 's/^EMBER-SCRIPT-EXIT=\([0-9]*\).*/\1/p' | tail -n1)
[ "$rc" = 0 ] && [ "$code" = 0 ] || { tail -n 30 "$CONSOLE" >&2; fail "jailer/ember exit $rc, guest script exit '$code'"; }
grep -q 'bad syscall' "$CONSOLE" && fail "seccomp violation"
if command -v debugfs >/dev/null; then
	debugfs -R 'cat /root/jailed.txt' "$ROOT/rootfs.ext4" 2>/dev/null | grep -qx jailed-write ||
		fail "the guest's write is not on the rootfs image"
fi

rm -rf "${BASE:?}/ember/$ID"
rmdir "$CG2/$CGP/$ID" "$CG2/$CGP" || fail "cgroup directories not removable"
[ ! -e "$BASE/ember/$ID" ] || fail "jail not removed"
echo "PASS: jailed ember (uid $U, gid $G, ${#CGWANT[@]} cgroup limits, netns, $VCPUS vCPUs under seccomp) booted the guest via the API and exited 0"
