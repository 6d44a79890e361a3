#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/io.sh OUTDIR - benchmark 5: virtio-blk sequential throughput.
#
# Must run where /dev/kvm works. Boots the tuned vmlinux with a scratch disk
# (a sparse BENCH_IO_MB*2 MiB file on tmpfs) as /dev/vda on virtio-mmio,
# ember and QEMU microvm (-device virtio-blk-device) alternating,
# BENCH_IO_N (2) times each. In the guest, busybox dd writes then reads
# BENCH_IO_MB (32) MiB in 1 MiB O_DIRECT requests (write with fsync); the
# guest times each with /proc/uptime (10 ms ticks) and prints
#   EMBER-IO mb=.. write_cs=.. read_cs=..
# Appends records (bench=io) to OUTDIR/io.jsonl; report.py reads the line
# from the log. Network throughput is not measured yet (TODO: needs a tap in
# a namespace on both sides and a traffic tool in the guest).
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: io.sh OUTDIR}
mkdir -p "$OUT/logs"
bench_build_tools
bench_load_guest
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench-io.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
bench_stage_images "$WORK/img"
RUNS=${BENCH_IO_N:-2}
MB=${BENCH_IO_MB:-32}
script="MB=$MB
t() { awk '{printf \"%d\", \$1 * 100}' /proc/uptime; }
a=\$(t); dd if=/dev/zero of=/dev/vda bs=1M count=\$MB oflag=direct conv=fsync 2>/dev/null || echo EMBER-IO-ERROR write
b=\$(t); dd if=/dev/vda of=/dev/null bs=1M count=\$MB iflag=direct 2>/dev/null || echo EMBER-IO-ERROR read
c=\$(t); echo \"EMBER-IO mb=\$MB write_cs=\$((b - a)) read_cs=\$((c - b))\""
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

for run in $(seq 1 "$RUNS"); do
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
