#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/boot.sh OUTDIR - benchmark 1: boot latency, ember vs QEMU microvm.
#
# Must run where /dev/kvm works (benchmarks/run.sh calls it inside the test
# bed). Boots the same kernel + initramfs BENCH_N times with each VMM,
# interleaved (run i: every kernel, ember and QEMU in alternating order), after
# one untimed warm-up boot of each VMM. The guest runs `true` and powers off.
# Kernels: the tuned vmlinux (PVH), the tuned bzImage, the Debian cloud kernel
# (BENCH_CLOUD_N runs, default BENCH_N; 0 skips it). Each with the command
# lines of BENCH_BOOT_CMDLINES (default "plain tuned", lib.sh): what a user
# types, and the tuned one.
#
# The guest script prints the guest's own uptime first (EMBER-UPTIME=<s>): the
# guest kernel's boot time, free of the VMM's start-up and of host timing.
# ember must end by itself when the guest reboots (its exit time is kept, and
# end_us is when the console said "reboot: Restarting system");
# QEMU microvm has no i8042 to act on reboot=k, so it is stopped when the guest
# script is done.
# Appends to OUTDIR/boot.jsonl one line per boot: vmrun's record (ready_us =
# process start -> EMBER-GUEST-READY on the console) plus bench, vmm, kernel,
# cmdline, run and log (console + ember's log, under OUTDIR/logs/). report.py
# reads ember's "Boot timeline" line and EMBER-UPTIME from the log.
# Then the exit floor (build/bench/exitfloor, BENCH_N runs of each kind): a
# process holding a 1-vCPU KVM VM with the guest's RAM size, all of it
# touched by its guest, from "decide to exit" to its parent's waitpid(): the
# host kernel's share of any VMM's exit (KVM's VM destroy and the process's
# teardown), once with everything left to exit_group() and once with an
# explicit munmap/close first. One line each in OUTDIR/exitfloor.jsonl.
set -u
. "$(dirname "$0")/lib.sh"
OUT=${1:?usage: boot.sh OUTDIR}
mkdir -p "$OUT/logs"
bench_build_tools vmrun exitfloor
bench_load_guest
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench-boot.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
bench_stage_images "$WORK/img"
CLOUD_N=${BENCH_CLOUD_N:-$BENCH_N}

SCRIPT=$(bench_script_arg "$BENCH_UPTIME_CMD")
CMDLINES=${BENCH_BOOT_CMDLINES:-plain tuned}
kernels="vmlinux bzImage"
[ -n "$K_CLOUD" ] && [ "$CLOUD_N" -gt 0 ] && kernels="$kernels cloud"
[ -z "$K_CLOUD" ] && bench_say "no Debian cloud kernel in the guest images: skipped"

kernel_path() {
	case $1 in
	vmlinux) echo "$K_VMLINUX" ;;
	bzImage) echo "$K_BZIMAGE" ;;
	cloud) echo "$K_CLOUD" ;;
	esac
}
# kernel_args KERNEL CMDLINE
kernel_args() {
	local a
	case $2 in
	plain) a=$BENCH_PLAIN_CMDLINE ;;
	tuned) a=$BENCH_TUNED_CMDLINE ;;
	*) bench_die "BENCH_BOOT_CMDLINES: '$2' is not plain or tuned" ;;
	esac
	# The distro kernel probes PCI; neither VMM has a PCI bus here.
	case $1 in
	cloud) echo "$a pci=off $SCRIPT" ;;
	*) echo "$a $SCRIPT" ;;
	esac
}

for k in $kernels; do
	for c in $CMDLINES; do
		bench_ember_config "$WORK/$k-$c.json" "$(kernel_path $k)" "$INITRD" "$(kernel_args $k $c)" 1 "$BENCH_MEM_MIB"
	done
done

# boot_one VMM KERNEL CMDLINE RUN: one timed boot; RUN "warm" is not recorded.
boot_one() {
	local vmm=$1 k=$2 c=$3 run=$4 name="boot-$1-$2-$3-$4" rec
	if [ "$vmm" = ember ]; then
		# shellcheck disable=SC2086
		rec=$("$TOOLS/vmrun" -r "$BENCH_END_MARKER" -t "$BENCH_BOOT_TIMEOUT" -o "$WORK/$name" -- \
			"$EMBER" --no-api --boot-timer $BENCH_EMBER_ARGS --config-file "$WORK/$k-$c.json")
	else
		bench_qemu_argv "$(kernel_path $k)" "$INITRD" "$(kernel_args $k $c)" "$BENCH_MEM_MIB"
		# QEMU microvm cannot act on reboot=k (no i8042): stop it when the
		# guest script is done.
		rec=$("$TOOLS/vmrun" -r EMBER-SCRIPT-EXIT= -K "$QEMU_KILL_MS" -t "$BENCH_BOOT_TIMEOUT" -o "$WORK/$name" -- "${QEMU_ARGV[@]}")
	fi
	local rc=$?
	[ $rc = 0 ] || bench_say "$vmm $k $c run $run: no EMBER-GUEST-READY (see logs/$name.log)"
	mv "$WORK/$name.0.log" "$OUT/logs/$name.log"
	[ "$run" = warm ] && return
	echo "$rec" | grep -v '"summary"' |
		bench_tag bench=boot vmm="$vmm" kernel="$k" cmdline="$c" run="$run" log="logs/$name.log" \
		>>"$OUT/boot.jsonl"
	local ms up
	ms=$(echo "$rec" | sed -n 's/.*"ready_us":\(-\{0,1\}[0-9]*\).*/\1/p' | head -1)
	up=$(tr -d '\r' <"$OUT/logs/$name.log" | sed -n 's/^EMBER-UPTIME=//p' | head -1)
	bench_say "boot $k $c run $run $vmm: ready after $((ms / 1000)) ms, guest uptime ${up:-?} s"
}

# Warm-up: one untimed boot per VMM (binaries and libraries into the page cache).
first=${CMDLINES%% *}
boot_one ember vmlinux "$first" warm
boot_one qemu vmlinux "$first" warm
# A busy machine can make every boot slow: stop starting new runs after
# BENCH_BOOT_BUDGET seconds (default 600), so the suite stays bounded.
budget=${BENCH_BOOT_BUDGET:-600}
t_start=$(date +%s)
for run in $(seq 1 "$BENCH_N"); do
	if [ $(( $(date +%s) - t_start )) -ge "$budget" ]; then
		bench_say "boot: time budget of $budget s used up after $((run - 1)) runs (BENCH_BOOT_BUDGET)"
		break
	fi
	for k in $kernels; do
		[ "$k" = cloud ] && [ "$run" -gt "$CLOUD_N" ] && continue
		for c in $CMDLINES; do
			# Alternate which VMM goes first, so neither always follows the other.
			if [ $((run % 2)) = 1 ]; then
				boot_one ember "$k" "$c" "$run"; boot_one qemu "$k" "$c" "$run"
			else
				boot_one qemu "$k" "$c" "$run"; boot_one ember "$k" "$c" "$run"
			fi
		done
	done
done

# The exit floor, after the boots (same host, same moment of the run).
for kind in exit explicit; do
	flag=""
	[ $kind = explicit ] && flag=-c
	# shellcheck disable=SC2086
	if ! timeout -k 5 $((BENCH_N * 30 + 30)) "$TOOLS/exitfloor" -n "$BENCH_N" -m "$BENCH_MEM_MIB" $flag |
		bench_tag bench=exitfloor kind=$kind >>"$OUT/exitfloor.jsonl"; then
		bench_say "exit floor ($kind): failed"
	fi
done
