# SPDX-License-Identifier: Apache-2.0
# benchmarks/lib.sh - shared by the benchmark scripts (sourced, bash).
#
# Provides: REPO, EMBER, QEMU, TOOLS (compiled helpers), BENCH_N, guest image
# variables (bench_load_guest), ember config writers, the QEMU microvm
# command line, and record helpers that tag vmrun's JSON lines.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
EMBER=${BENCH_EMBER:-$REPO/build/ember}
QEMU=${BENCH_QEMU:-qemu-system-x86_64}
TOOLS=${BENCH_TOOLS:-$REPO/build/bench}
BENCH_N=${BENCH_N:-10}
# Extra ember flags for the boot runs (e.g. --no-seccomp).
BENCH_EMBER_ARGS=${BENCH_EMBER_ARGS:-}
BENCH_MEM_MIB=${BENCH_MEM_MIB:-128}
# Seconds allowed for one guest boot (the emulated KVM host is 10-50x slower).
BENCH_BOOT_TIMEOUT=${BENCH_BOOT_TIMEOUT:-120}

bench_say() { echo "bench: $*" >&2; }
bench_die() { echo "bench: error: $*" >&2; exit 1; }

# bench_build_tools [NAME...]: build the C helpers (default: vmrun startup
# apiclient) with make into build/bench/ (cheap when current). With
# BENCH_TOOLS set, the tools found there are used as they are.
bench_build_tools() {
	[ -n "${BENCH_TOOLS:-}" ] && return 0
	local t targets=()
	[ $# -gt 0 ] || set -- vmrun startup apiclient
	for t in "$@"; do
		targets+=("build/bench/$t")
	done
	make -C "$REPO" -s "${targets[@]}" >&2 || bench_die "cannot build ${targets[*]}"
}

# bench_load_guest: source this checkout's build/guest.env from guest/build.sh
# (never builds; the cache's current.env if this checkout never ran it).
bench_load_guest() {
	local env=${BENCH_GUEST_ENV:-$REPO/build/guest.env}
	[ -f "$env" ] || [ -n "${BENCH_GUEST_ENV:-}" ] ||
		env=${EMBER_CACHE:-$HOME/.cache/ember}/guest/current.env
	[ -f "$env" ] || bench_die "no guest images ($env): run 'make guest' first"
	# shellcheck disable=SC1090
	. "$env"
	GUEST_CMDLINE=${EMBER_GUEST_CMDLINE:-console=ttyS0 reboot=k panic=1}
}

# The two command lines of the boot benchmark: what a user types, and the
# tuned one (no console chatter, and the i8042 options Firecracker's users add
# so that Linux does not probe its PS/2 controller).
BENCH_PLAIN_CMDLINE=${BENCH_PLAIN_CMDLINE:-console=ttyS0 reboot=k panic=1}
BENCH_TUNED_CMDLINE=${BENCH_TUNED_CMDLINE:-console=ttyS0 reboot=k panic=1 quiet i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd}

# bench_stage_images DIR: copy the kernels and initramfs to DIR (a tmpfs
# inside the emulated host, so no boot reads them over 9p) and set
# K_VMLINUX, K_BZIMAGE, K_CLOUD, INITRD.
bench_stage_images() {
	local d=$1
	mkdir -p "$d"
	cp "$EMBER_GUEST_VMLINUX" "$d/vmlinux"
	cp "$EMBER_GUEST_BZIMAGE" "$d/bzImage"
	cp "$EMBER_GUEST_INITRAMFS" "$d/initramfs.cpio"
	K_VMLINUX=$d/vmlinux K_BZIMAGE=$d/bzImage K_CLOUD="" INITRD=$d/initramfs.cpio
	if [ -n "${EMBER_GUEST_CLOUD_KERNEL:-}" ] && [ -f "$EMBER_GUEST_CLOUD_KERNEL" ]; then
		cp "$EMBER_GUEST_CLOUD_KERNEL" "$d/cloud-vmlinuz"
		K_CLOUD=$d/cloud-vmlinuz
	fi
}

# bench_py_setup NAME OUTDIR: the common start of a benchmark whose work is
# in NAME.py: OUT (absolute, created), ember built, the guest images loaded
# and staged in WORK (BENCH_WORK, default /tmp/ember-bench-NAME); /dev/kvm usable.
bench_py_setup() {
	[ -n "$2" ] || bench_die "usage: $1.sh OUTDIR"
	mkdir -p "$2" && OUT=$(cd "$2" && pwd) || bench_die "$2: cannot create"
	[ -x "$EMBER" ] || bench_die "$EMBER not built: run 'make' first"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] ||
		bench_die "/dev/kvm is not usable here: run tests/testbed/run.sh -- benchmarks/$1.sh $2"
	bench_load_guest
	WORK=${BENCH_WORK:-/tmp/ember-bench-$1}
	bench_stage_images "$WORK/images"
}

# bench_script_arg SCRIPT: the kernel argument that makes the guest's /init
# run SCRIPT after printing EMBER-GUEST-READY, then power off.
bench_script_arg() {
	printf 'ember.sh=%s' "$(printf '%s\n' "$1" | base64 -w0)"
}

# The script line that prints the guest's own uptime as EMBER-UPTIME=<s>, the
# first thing the script does, then the kernel's "sched_clock: Marking stable"
# line as EMBER-SCHED-CLOCK: /proc/uptime does not count the time the guest's
# clock lost before it switched to kvm-clock (it counts jiffies until then,
# and there are no ticks before the local APIC timer runs, nor for ticks the
# guest took late); that line says how much (report.py).
BENCH_UPTIME_CMD='read up _ </proc/uptime; echo "EMBER-UPTIME=$up"; echo "EMBER-SCHED-CLOCK: $(dmesg | grep "sched_clock: Marking stable")"'

# The guest's last words before the reset (pr_emerg: printed even with quiet).
BENCH_END_MARKER='reboot: Restarting system'


# bench_ember_config FILE KERNEL INITRD ARGS VCPUS MIB [DRIVE_JSON]
bench_ember_config() {
	local f=$1 kernel=$2 initrd=$3 args=$4 vcpus=$5 mib=$6 drives=${7:-}
	{
		printf '{\n  "boot-source": {"kernel_image_path": "%s", ' "$kernel"
		[ -n "$initrd" ] && printf '"initrd_path": "%s", ' "$initrd"
		printf '"boot_args": "%s"},\n' "$args"
		printf '  "machine-config": {"vcpu_count": %d, "mem_size_mib": %d, "smt": false}' "$vcpus" "$mib"
		[ -n "$drives" ] && printf ',\n  "drives": [%s]' "$drives"
		printf '\n}\n'
	} >"$f"
}

# bench_qemu_argv KERNEL INITRD ARGS MIB [MACHINE_OPTS]: sets the array
# QEMU_ARGV to QEMU's microvm machine with the same guest (extra device args
# may be appended). microvm has no i8042, so the guest's reboot=k does not end
# QEMU: run it under `vmrun -K` (QEMU_KILL_MS). The machine gets microvm's
# fast options (BENCH_QEMU_FAST): no option ROMs (no firmware detour before
# the kernel), no PIT, no PIC and no RTC (the guest probes none of them).
QEMU_KILL_MS=0
BENCH_QEMU_FAST=${BENCH_QEMU_FAST:-x-option-roms=off,pit=off,pic=off,rtc=off}
bench_qemu_argv() {
	local m=microvm${BENCH_QEMU_FAST:+,$BENCH_QEMU_FAST}
	QEMU_ARGV=("$QEMU" -M "$m${5:+,$5}" -accel kvm -cpu host -m "$4" -smp 1 -nodefaults
		-no-user-config -nographic -no-reboot -serial stdio -kernel "$1")
	[ -n "$2" ] && QEMU_ARGV+=(-initrd "$2")
	QEMU_ARGV+=(-append "$3")
}

# bench_tag KEY=VALUE... : prefix every JSON object read on stdin with the
# given string fields (values without quotes or backslashes).
bench_tag() {
	local pre="" kv
	for kv in "$@"; do
		pre="$pre\"${kv%%=*}\":\"${kv#*=}\","
	done
	sed "s|^{|{$pre|"
}

# bench_host_kind: "real KVM" or "emulated KVM host (QEMU TCG, nested SVM)".
bench_host_kind() {
	case ${EMBER_TESTBED:-direct} in
	emulated) echo "emulated" ;;
	*) echo "real-kvm" ;;
	esac
}
