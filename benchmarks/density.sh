#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/density.sh OUTDIR - benchmark 4: start N microVMs at once.
#
# Must run where /dev/kvm works. Starts BENCH_DENSITY_N (default 8) copies of
# the tuned vmlinux guest (1 vCPU, BENCH_MEM_MIB MiB, idle in userspace) in
# parallel, BENCH_DENSITY_RUNS (1) times per VMM, ember and QEMU microvm
# alternating. Rate = N / (time until the last one printed EMBER-GUEST-READY);
# peak memory = the highest sum of the copies' RSS (sampled every 10 ms), and
# each copy's smaps half a second after the last was ready.
# Appends vmrun's per-copy and summary records (bench=density) to
# OUTDIR/density.jsonl.
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: density.sh OUTDIR}
mkdir -p "$OUT/logs"
bench_build_tools
bench_load_guest
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench-density.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
bench_stage_images "$WORK/img"
N=${BENCH_DENSITY_N:-8}
RUNS=${BENCH_DENSITY_RUNS:-1}
ARGS="$GUEST_CMDLINE $(bench_script_arg 'sleep 100000')"
bench_ember_config "$WORK/vm.json" "$K_VMLINUX" "$INITRD" "$ARGS" 1 "$BENCH_MEM_MIB"
bench_qemu_argv "$K_VMLINUX" "$INITRD" "$ARGS" "$BENCH_MEM_MIB"

for run in $(seq 1 "$RUNS"); do
	order="ember qemu"
	[ $((run % 2)) = 0 ] && order="qemu ember"
	for vmm in $order; do
		name=density-$vmm-$run
		if [ $vmm = ember ]; then
			# shellcheck disable=SC2086
			cmd=("$EMBER" --no-api $BENCH_EMBER_ARGS --config-file "$WORK/vm.json")
		else
			cmd=("${QEMU_ARGV[@]}")
		fi
		rec=$("$TOOLS/vmrun" -n "$N" -H -w 500 -g "$BENCH_MEM_MIB" \
			-t $((BENCH_BOOT_TIMEOUT * 3)) -o "$WORK/$name" -- "${cmd[@]}") ||
			bench_say "$vmm density run $run: not every guest became ready"
		for i in $(seq 0 $((N - 1))); do
			mv "$WORK/$name.$i.log" "$OUT/logs/$name.$i.log"
		done
		echo "$rec" | bench_tag bench=density vmm=$vmm run="$run" >>"$OUT/density.jsonl"
		bench_say "density $vmm run $run: $(echo "$rec" | grep '"summary"')"
	done
done
