#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/memory.sh OUTDIR - benchmark 3: VMM memory overhead.
#
# Must run where /dev/kvm works. Boots the tuned vmlinux with 1 vCPU and
# BENCH_MEM_MIB (128) MiB, guest idle in userspace (its script is a long
# sleep), BENCH_MEMORY_N (2) times per VMM, ember and QEMU microvm
# interleaved. One second after EMBER-GUEST-READY, vmrun reads
# /proc/PID/smaps: the mapping (or run of adjacent mappings) spanning the
# guest RAM size is the guest's
# memory; VMM overhead = total RSS - RSS of that mapping (also reported:
# private memory and PSS, which do not count shared libraries in full).
# Appends vmrun's records (bench=memory) to OUTDIR/memory.jsonl.
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: memory.sh OUTDIR}
mkdir -p "$OUT/logs"
bench_build_tools
bench_load_guest
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench-mem.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
bench_stage_images "$WORK/img"
RUNS=${BENCH_MEMORY_N:-2}
ARGS="$GUEST_CMDLINE $(bench_script_arg 'sleep 100000')"
bench_ember_config "$WORK/vm.json" "$K_VMLINUX" "$INITRD" "$ARGS" 1 "$BENCH_MEM_MIB"
bench_qemu_argv "$K_VMLINUX" "$INITRD" "$ARGS" "$BENCH_MEM_MIB"

for run in $(seq 1 "$RUNS"); do
	for vmm in ember qemu; do
		name=memory-$vmm-$run
		if [ $vmm = ember ]; then
			# shellcheck disable=SC2086
			cmd=("$EMBER" --no-api $BENCH_EMBER_ARGS --config-file "$WORK/vm.json")
		else
			cmd=("${QEMU_ARGV[@]}")
		fi
		rec=$("$TOOLS/vmrun" -H -w 1000 -g "$BENCH_MEM_MIB" -t "$BENCH_BOOT_TIMEOUT" \
			-o "$WORK/$name" -- "${cmd[@]}") || bench_say "$vmm memory run $run: guest not ready"
		mv "$WORK/$name.0.log" "$OUT/logs/$name.log"
		echo "$rec" | grep -v '"summary"' |
			bench_tag bench=memory vmm=$vmm kernel=vmlinux run="$run" log="logs/$name.log" >>"$OUT/memory.jsonl"
		bench_say "memory $vmm run $run: $(echo "$rec" | head -1 | grep -o '"rss_kb":[0-9]*,.*"guest_rss_kb":[0-9]*')"
	done
done
