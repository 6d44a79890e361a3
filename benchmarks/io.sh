#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/io.sh OUTDIR - benchmark 5: virtio-blk and virtio-net throughput.
#
# Must run where /dev/kvm works. The guest side is /tests/iobench
# (tests/guest/iobench.c, in the guest rootfs): it moves data in large
# requests and times each transfer with the monotonic clock (busybox's nc moves
# 1 KiB per system call and its dd has no timer). Each boot repeats every
# transfer BENCH_IO_REP (3) times; report.py takes the median over all
# transfers of all boots.
#
# Block (bench=io): the tuned vmlinux with a scratch disk (a sparse
# BENCH_IO_MB*2 MiB file on tmpfs) as /dev/vda on virtio-mmio, ember and QEMU
# microvm (-device virtio-blk-device) alternating, BENCH_IO_N (4) boots each.
# The guest writes BENCH_IO_MB (64) MiB in 1 MiB O_DIRECT requests then
# fdatasync, then reads it back the same way, and prints (microseconds)
#   EMBER-IO mb=.. write_us=A,B,C read_us=A,B,C
#
# Network (bench=net): guest <-> host TCP over virtio-net on a tap in a
# network namespace of its own (169.254.77.1 host, .2 guest), ember and QEMU
# microvm (-device virtio-net-device, -netdev tap, vhost=off: ember has no
# vhost either) alternating, BENCH_IO_N boots each. The guest sends
# BENCH_NET_MB (64) MiB in 64 KiB writes to a host socat sink and waits until
# the sink has closed (tx), then receives as much from a host socat source
# (rx), and prints
#   EMBER-NET mb=.. tx_us=A,B,C rx_us=A,B,C
# Random reads (bench=randread): the guest reads BENCH_RR_N (4096) 4 KiB
# blocks at random offsets of a BENCH_RR_MB (64) MiB disk of random bytes,
# BENCH_RR_QD (32) readers at once (O_DIRECT), and prints
#   EMBER-RR mb=.. qd=.. n=.. us=T
# The disk is a file on a disk file system (BENCH_RR_DIR, default
# build/bench-io of the checkout; not tmpfs), dropped from the page cache
# (posix_fadvise DONTNEED) before every boot, so the reads reach the file
# system. Three VMMs alternate, BENCH_IO_N boots each: ember with
# io_engine Sync (vmm=ember-sync), ember with io_engine Async
# (vmm=ember-async), QEMU with aio=io_uring (vmm=qemu-io_uring).
# BENCH_RR_NULLBLK_US=N: the same again on a null_blk device whose requests
# take N µs each, many at once (a disk with latency and parallelism; the
# emulated test bed's file system answers from the host's page cache).
# BENCH_IO_SKIP: words of "seq randread net" to leave out.
# Appends records to OUTDIR/io.jsonl; report.py reads the lines from the logs.
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: io.sh OUTDIR}
mkdir -p "$OUT/logs"
bench_build_tools
bench_load_guest
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench-io.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
bench_stage_images "$WORK/img"
RUNS=${BENCH_IO_N:-4}
MB=${BENCH_IO_MB:-64}
REP=${BENCH_IO_REP:-3}
# us CMD...: run an iobench transfer, print its microseconds (nothing on error).
guest_us='us() { /tests/iobench "$@" | sed -n "s/^iobench [a-z]* bytes=[0-9]* us=\([0-9]*\)$/\1/p"; }
all() { v=""; for i in $(seq '"$REP"'); do x=$(us "$@"); v="$v${v:+,}${x:-ERR}"; done; echo "$v"; }'
script="$guest_us
w=\$(all write /dev/vda $MB); r=\$(all read /dev/vda $MB)
echo \"EMBER-IO mb=$MB write_us=\$w read_us=\$r\""
ARGS="$GUEST_CMDLINE $(bench_script_arg "$script")"
DISK=$WORK/scratch.img
truncate -s $((MB * 2))M "$DISK"
bench_ember_config "$WORK/vm.json" "$K_VMLINUX" "$INITRD" "$ARGS" 1 "$BENCH_MEM_MIB" \
	"{\"drive_id\": \"scratch\", \"path_on_host\": \"$DISK\", \"is_root_device\": false, \"is_read_only\": false}"
# acpi=off: QEMU then lists its virtio-mmio devices on the kernel command
# line (as ember does); with ACPI they are only in the DSDT, which the tuned
# kernel does not read.
bench_qemu_argv "$K_VMLINUX" "$INITRD" "$ARGS" "$BENCH_MEM_MIB" acpi=off
QEMU_ARGV+=(-drive "id=scratch,if=none,format=raw,file=$DISK" -device virtio-blk-device,drive=scratch)

io_skip() { case " ${BENCH_IO_SKIP:-} " in *" $1 "*) return 0 ;; esac; return 1; }
io_skip seq && RUNS_SEQ=0 || RUNS_SEQ=$RUNS
for run in $(seq 1 "$RUNS_SEQ"); do
	for vmm in ember qemu; do
		name=io-$vmm-$run
		if [ $vmm = ember ]; then
			# shellcheck disable=SC2086
			cmd=("$EMBER" --no-api $BENCH_EMBER_ARGS --config-file "$WORK/vm.json")
		else
			cmd=("${QEMU_ARGV[@]}")
		fi
		kill=()
		[ $vmm = qemu ] && kill=(-K 1000)
		rec=$("$TOOLS/vmrun" "${kill[@]}" -m EMBER-IO -t $((BENCH_BOOT_TIMEOUT * 2)) -o "$WORK/$name" -- "${cmd[@]}") ||
			bench_say "$vmm io run $run: no EMBER-IO line (see logs/$name.log)"
		mv "$WORK/$name.0.log" "$OUT/logs/$name.log"
		echo "$rec" | grep -v '"summary"' |
			bench_tag bench=io vmm=$vmm run="$run" log="logs/$name.log" >>"$OUT/io.jsonl"
		bench_say "io $vmm run $run: $(grep -a -m1 -o 'EMBER-IO.*' "$OUT/logs/$name.log" | tr -d '\r')"
	done
done

# ---- random reads, Sync vs Async vs QEMU io_uring ----
# rr_runs DISK KIND: BENCH_IO_N boots of each VMM reading DISK at random
# (records tagged disk=KIND), DISK dropped from the page cache before each.
rr_runs() {
	local disk=$1 kind=$2 run vmm name eng kill cmd rec
	for eng in Sync Async; do
		bench_ember_config "$WORK/rr-$eng.json" "$K_VMLINUX" "$INITRD" "$RARGS" 1 "$BENCH_MEM_MIB" \
			"{\"drive_id\": \"rr\", \"path_on_host\": \"$disk\", \"is_root_device\": false, \"is_read_only\": true, \"io_engine\": \"$eng\"}"
	done
	bench_qemu_argv "$K_VMLINUX" "$INITRD" "$RARGS" "$BENCH_MEM_MIB" acpi=off
	QEMU_ARGV+=(-drive "id=rr,if=none,format=raw,readonly=on,aio=io_uring,file=$disk"
		-device virtio-blk-device,drive=rr)
	for run in $(seq 1 "$RUNS"); do
		for vmm in ember-sync ember-async qemu-io_uring; do
			name=rr-$kind-$vmm-$run
			case $vmm in
			ember-sync) cmd=("$EMBER" --no-api $BENCH_EMBER_ARGS --config-file "$WORK/rr-Sync.json") ;;
			ember-async) cmd=("$EMBER" --no-api $BENCH_EMBER_ARGS --config-file "$WORK/rr-Async.json") ;;
			*) cmd=("${QEMU_ARGV[@]}") ;;
			esac
			kill=()
			[ "$vmm" = qemu-io_uring ] && kill=(-K 1000)
			# Cold: the disk's pages leave the page cache before each boot.
			python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$disk" || bench_die "posix_fadvise $disk"
			rec=$("$TOOLS/vmrun" "${kill[@]}" -m EMBER-RR -t $((BENCH_BOOT_TIMEOUT * 3)) -o "$WORK/$name" -- "${cmd[@]}") ||
				bench_say "$vmm randread ($kind) run $run: no EMBER-RR line (see logs/$name.log)"
			mv "$WORK/$name.0.log" "$OUT/logs/$name.log"
			echo "$rec" | grep -v '"summary"' |
				bench_tag bench=randread disk="$kind" vmm=$vmm run="$run" log="logs/$name.log" >>"$OUT/io.jsonl"
			bench_say "randread ($kind) $vmm run $run: $(grep -a -m1 -o 'EMBER-RR.*' "$OUT/logs/$name.log" | tr -d '\r')"
		done
	done
}

# rr_nullblk US: /dev/nullb0, a memory-backed null_blk device whose requests
# complete after US microseconds, many at once (a device with latency and
# parallelism, as an SSD). In the test bed the module comes from its
# extracted kernel package. Prints the device, or nothing.
rr_nullblk() {
	local args="nr_devices=1 gb=1 memory_backed=1 irqmode=2 completion_nsec=$(($1 * 1000)) submit_queues=2 hw_queue_depth=64"
	local d=${EMBER_CACHE:-$HOME/.cache/ember}/testbed/linux-$(uname -r)
	# shellcheck disable=SC2086
	[ -b /dev/nullb0 ] || modprobe null_blk $args 2>/dev/null ||
		{ [ -d "$d" ] && modprobe -d "$d" null_blk $args; } || return 0
	[ -b /dev/nullb0 ] && echo /dev/nullb0
}

if ! io_skip randread; then
	RR_MB=${BENCH_RR_MB:-64} RR_QD=${BENCH_RR_QD:-32} RR_N=${BENCH_RR_N:-4096}
	RR_DIR=${BENCH_RR_DIR:-$REPO/build/bench-io}
	RR_DISK=$RR_DIR/randread.img
	mkdir -p "$RR_DIR"
	if [ "$(stat -c %s "$RR_DISK" 2>/dev/null)" != $((RR_MB << 20)) ]; then
		head -c $((RR_MB << 20)) /dev/urandom >"$RR_DISK.tmp" && mv "$RR_DISK.tmp" "$RR_DISK" ||
			bench_die "cannot write $RR_DISK"
	fi
	rscript="/tests/iobench randread /dev/vda $RR_MB $RR_QD $RR_N | sed -n 's/^iobench randread bytes=[0-9]* us=\([0-9]*\)$/EMBER-RR mb=$RR_MB qd=$RR_QD n=$RR_N us=\1/p'"
	RARGS="$GUEST_CMDLINE $(bench_script_arg "$rscript")"
	rr_runs "$RR_DISK" file
	if [ -n "${BENCH_RR_NULLBLK_US:-}" ]; then
		dev=$(rr_nullblk "$BENCH_RR_NULLBLK_US")
		if [ -n "$dev" ]; then
			rr_runs "$dev" "nullblk-${BENCH_RR_NULLBLK_US}us"
			rmmod null_blk 2>/dev/null
		else
			bench_say "randread: no null_blk module here: the null_blk runs are skipped"
		fi
	fi
fi

# ---- network ----
io_skip net && exit 0
if ! command -v socat >/dev/null || ! command -v ip >/dev/null; then
	bench_say "net: skipped (no socat or ip on this host)"
	exit 0
fi
NMB=${BENCH_NET_MB:-64}
NS=ember-bench-net-$$
HOST_IP=169.254.77.1
nscript="ip addr add 169.254.77.2/30 dev eth0 && ip link set eth0 up || echo EMBER-NET-ERROR ifup
sleep 1
$guest_us
tx=\$(all send $HOST_IP 5001 $NMB); rx=\$(all recv $HOST_IP 5002 $NMB)
echo \"EMBER-NET mb=$NMB tx_us=\$tx rx_us=\$rx\""
NARGS="$GUEST_CMDLINE $(bench_script_arg "$nscript")"
bench_ember_config "$WORK/net.json" "$K_VMLINUX" "$INITRD" "$NARGS" 1 "$BENCH_MEM_MIB"
# network-interfaces: added to the config file made above.
python3 - "$WORK/net.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["network-interfaces"] = [{"iface_id": "eth0", "host_dev_name": "btap0", "guest_mac": "06:00:a9:fe:4d:02"}]
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
bench_qemu_argv "$K_VMLINUX" "$INITRD" "$NARGS" "$BENCH_MEM_MIB" acpi=off
QEMU_ARGV+=(-netdev tap,id=n0,ifname=btap0,script=no,downscript=no,vhost=off
	-device virtio-net-device,netdev=n0,mac=06:00:a9:fe:4d:02)
ip netns add "$NS" || { bench_say "net: cannot create a network namespace: skipped"; exit 0; }
trap 'ip netns del "$NS" 2>/dev/null; rm -rf "$WORK"' EXIT
ip -n "$NS" link set lo up
ip -n "$NS" tuntap add dev btap0 mode tap
ip -n "$NS" addr add "$HOST_IP/30" dev btap0
ip -n "$NS" link set btap0 up
for run in $(seq 1 "$RUNS"); do
	for vmm in ember qemu; do
		name=net-$vmm-$run
		# Host side: a sink and a source of NMB MiB per connection (fork:
		# one per transfer). Each bounded in time: a VMM run that never
		# connects must not leave them waiting, or the next listen fails.
		tmo=$((BENCH_BOOT_TIMEOUT * 2))
		ip netns exec "$NS" timeout "$tmo" socat -u -b 65536 TCP-LISTEN:5001,reuseaddr,fork,bind=$HOST_IP OPEN:/dev/null 2>/dev/null &
		sink=$!
		ip netns exec "$NS" timeout "$tmo" socat -u -b 65536 OPEN:/dev/zero,readbytes=$((NMB << 20)) TCP-LISTEN:5002,reuseaddr,fork,bind=$HOST_IP 2>/dev/null &
		src=$!
		if [ $vmm = ember ]; then
			# shellcheck disable=SC2086
			cmd=(ip netns exec "$NS" "$EMBER" --no-api $BENCH_EMBER_ARGS --config-file "$WORK/net.json")
		else
			cmd=(ip netns exec "$NS" "${QEMU_ARGV[@]}")
		fi
		kill=()
		[ $vmm = qemu ] && kill=(-K 1000)
		rec=$("$TOOLS/vmrun" "${kill[@]}" -m EMBER-NET -t $((BENCH_BOOT_TIMEOUT * 2)) -o "$WORK/$name" -- "${cmd[@]}") ||
			bench_say "$vmm net run $run: no EMBER-NET line (see logs/$name.log)"
		# timeout(1) passes SIGTERM on to its command's process group.
		kill "$sink" "$src" 2>/dev/null
		wait "$sink" "$src" 2>/dev/null
		ip netns exec "$NS" pkill -f "TCP-LISTEN:500[12]" 2>/dev/null
		mv "$WORK/$name.0.log" "$OUT/logs/$name.log"
		echo "$rec" | grep -v '"summary"' |
			bench_tag bench=net vmm=$vmm run="$run" log="logs/$name.log" >>"$OUT/io.jsonl"
		bench_say "net $vmm run $run: $(grep -a -m1 -o 'EMBER-NET.*' "$OUT/logs/$name.log" | tr -d '\r')"
	done
done
