#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Jailer tests: run build/ember-jailer as root on this host with a fake exec
# file (tests/jailer/probe.c, static; make builds it and race.c into
# build/tests/jailer/) and check, from outside, what the
# exec'd process got: /proc/<pid>/status (uid/gid, capabilities,
# NoNewPrivs), root, fds, environment, argv, cgroups and limits, netns, pid
# namespace, session. Then every bad input: one line on stderr, non-zero
# exit, nothing left behind (jail dirs, cgroup dirs).
# Ends with "jailer: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() {	# description, then a command that must succeed
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

if [ "$(id -u)" != 0 ]; then
	echo "jailer: tests need root; skipped"
	echo "jailer: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

JAILER=${JAILER:-build/ember-jailer}
[ -x "$JAILER" ] || make -s "$JAILER" >/dev/null || { echo "jailer: 0 passed, 1 failed"; exit 1; }
T=$(mktemp -d /tmp/ember-jailer-test.XXXXXX)
# The jail is named after the exec file: the probes are copied as jailer-probe.
PROBE=$T/jailer-probe
{ make -s build/tests/jailer/probe && cp build/tests/jailer/probe "$PROBE"; } ||
	{ echo "jailer: 0 passed, 1 failed"; exit 1; }
BASE=$T/base			# created by the jailer, removed on failure
NS=ember-jt-$$
CGP=ember-jt-$$			# --parent-cgroup
U=1234; G=4321
ip netns add "$NS" || { echo "jailer: cannot create a netns"; }
V1_PIDS=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ {print $2; exit}' /proc/mounts)
V1_CPU=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpu(,|$)/ {print $2; exit}' /proc/mounts)
V2=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)

cleanup_cgroups() {
	for m in $V1_PIDS $V1_CPU $V2; do
		[ -d "$m/$CGP" ] || continue
		find "$m/$CGP" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
		rmdir "$m/$CGP" 2>/dev/null
	done
}
cleanup() {
	[ -n "${PIDS:-}" ] && kill -9 $PIDS 2>/dev/null
	sleep 0.2
	cleanup_cgroups
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
PIDS=""

# Wait until the probe printed "ready" into file $1 (5 s at most).
wait_ready() {
	for _ in $(seq 50); do grep -q '^ready' "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
field() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "/proc/$1/status"; }
ino() { stat -L -c %d:%i "$1"; }

# ---- 1: the full set, foreground (jailer pid == probe pid) -------------------
ID=t-full
"$JAILER" --id $ID --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
	--netns /run/netns/$NS --parent-cgroup $CGP \
	${V1_PIDS:+--cgroup pids.max=42} ${V1_CPU:+--cgroup cpu.shares=512} \
	--resource-limit no-file=100 --resource-limit fsize=1048576 \
	-- --extra-arg x >"$T/out1" 2>"$T/err1" 3>/dev/null 4>/dev/null &
pid=$!; PIDS="$PIDS $pid"
ROOT=$BASE/jailer-probe/$ID/root
if wait_ready "$T/out1"; then
	ok "full: probe started"
	check "full: Uid is $U" test "$(field $pid Uid)" = "$U $U $U $U"
	check "full: Gid is $G" test "$(field $pid Gid)" = "$G $G $G $G"
	check "full: no supplementary groups" test -z "$(field $pid Groups)"
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		check "full: $c is zero" test "$(field $pid $c)" = 0000000000000000
	done
	check "full: NoNewPrivs 1" test "$(field $pid NoNewPrivs)" = 1
	check "full: / is the jail" test "$(ino /proc/$pid/root)" = "$(ino "$ROOT")"
	check "full: own mount namespace" test "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)"
	check "full: only fds 0 1 2 (inherited 3, 4 closed)" test "$(ls /proc/$pid/fd | sort -n | xargs)" = "0 1 2"
	check "full: probe sees fds 0 1 2" grep -qx 'fds: 0 1 2' "$T/out1"
	check "full: empty environment" test ! -s /proc/$pid/environ
	check "full: argv as Firecracker's jailer" grep -qE "^argv: /jailer-probe --id $ID --start-time-us [0-9]+ --start-time-cpu-us [0-9]+ --parent-cpu-time-us 0 --extra-arg x$" "$T/out1"
	check "full: jail holds exactly the expected files" test "$(ls -A "$ROOT" | sort | xargs)" = "dev jailer-probe jailer-probe.pid run"
	check "full: the probe's / lists them" test "$(sed -n 's/^root: //p' "$T/out1" | tr ' ' '\n' | sort | xargs)" = "dev jailer-probe jailer-probe.pid run"
	check "full: /dev/kvm 10:232 owned $U:$G 0600" grep -qx "dev: /dev/kvm c 10:232 $U:$G 600" "$T/out1"
	check "full: /dev/net/tun 10:200" grep -qx "dev: /dev/net/tun c 10:200 $U:$G 600" "$T/out1"
	check "full: /dev/urandom 1:9" grep -qx "dev: /dev/urandom c 1:9 $U:$G 600" "$T/out1"
	check "full: no /dev/userfaultfd" grep -qx "dev: /dev/userfaultfd missing" "$T/out1"
	check "full: /dev and /dev/net 0700 $U:$G" test "$(stat -c '%a %u:%g' "$ROOT/dev" "$ROOT/dev/net" | xargs)" = "700 $U:$G 700 $U:$G"
	check "full: pid file" test "$(cat "$ROOT/jailer-probe.pid")" = "$pid"
	check "full: jail root 0700 $U:$G" test "$(stat -c '%a %u:%g' "$ROOT")" = "700 $U:$G"
	check "full: exec file copied, root-owned" test "$(stat -c '%u' "$ROOT/jailer-probe")" = 0
	check "full: in the netns" test "$(ino /proc/$pid/ns/net)" = "$(ino /run/netns/$NS)"
	check "full: RLIMIT_NOFILE 100" grep -qE '^Max open files +100 +100' /proc/$pid/limits
	check "full: RLIMIT_FSIZE 1048576" grep -qE '^Max file size +1048576 +1048576' /proc/$pid/limits
	if [ -n "$V1_PIDS" ]; then
		check "full: in pids cgroup /$CGP/$ID" grep -qE ":pids:/$CGP/$ID\$" /proc/$pid/cgroup
		check "full: pids.max = 42" test "$(cat "$V1_PIDS/$CGP/$ID/pids.max")" = 42
	fi
	if [ -n "$V1_CPU" ]; then
		check "full: in cpu cgroup /$CGP/$ID" grep -qE ":cpu(,[a-z]+)*:/$CGP/$ID\$" /proc/$pid/cgroup
		check "full: cpu.shares = 512" test "$(cat "$V1_CPU/$CGP/$ID/cpu.shares")" = 512
	fi
	check "full: nothing on stderr" test ! -s "$T/err1"
else
	bad "full: probe did not start: $(cat "$T/err1")"
fi
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
rm -rf "$BASE"; cleanup_cgroups

# A daemon as Firecracker's jailer makes one: forked twice, in a session of
# its own that it does not lead (so no controlling terminal, ever), parent
# gone (reparented), stdio on /dev/null.
daemon_checks() {	# NAME PID JAILER-PID
	local name=$1 pid=$2 jpid=$3 sid
	sid=$(awk '{print $6}' /proc/$pid/stat)
	check "$name: not the jailer's process" test "$pid" != "$jpid"
	check "$name: not a session leader (double fork)" test "$sid" != "$pid"
	check "$name: a session of its own" test "$sid" != "$(awk '{print $6}' /proc/$$/stat)"
	check "$name: no controlling terminal" test "$(awk '{print $7}' /proc/$pid/stat)" = 0
	check "$name: parent is not the jailer" test "$(field $pid PPid)" != "$jpid"
	check "$name: stdin/out/err on /dev/null" test "$(stat -L -c %t:%T /proc/$pid/fd/0 /proc/$pid/fd/1 /proc/$pid/fd/2 | xargs)" = "1:3 1:3 1:3"
}

# ---- 1b: --userfaultfd: the host's /dev/userfaultfd in the jail --------------
if [ -c /dev/userfaultfd ]; then
	ID=t-uffd
	UFFD_DEV=$(printf '%d:%d' "0x$(stat -c %t /dev/userfaultfd)" "0x$(stat -c %T /dev/userfaultfd)")
	"$JAILER" --id $ID --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
		--userfaultfd >"$T/out1b" 2>"$T/err1b" </dev/null &
	pid=$!; PIDS="$PIDS $pid"
	if wait_ready "$T/out1b"; then
		check "uffd: /dev/userfaultfd $UFFD_DEV owned $U:$G 0600" \
			grep -qx "dev: /dev/userfaultfd c $UFFD_DEV $U:$G 600" "$T/out1b"
		check "uffd: /dev/kvm too" grep -qx "dev: /dev/kvm c 10:232 $U:$G 600" "$T/out1b"
	else
		bad "uffd: probe did not start: $(cat "$T/err1b")"
	fi
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	rm -rf "$BASE"
else
	ok "uffd: skipped (this host has no /dev/userfaultfd)"
fi

# ---- 2: --new-pid-ns --daemonize: jailer exits, pid file names the probe ----
ID=t-pidns
timeout -k 5 30 "$JAILER" --id $ID --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
	--new-pid-ns --daemonize >"$T/out2" 2>"$T/err2" </dev/null &
jpid=$!
wait $jpid
rc=$?
ROOT=$BASE/jailer-probe/$ID/root
check "pidns: jailer exits 0 by itself" test $rc = 0
pid=$(cat "$ROOT/jailer-probe.pid" 2>/dev/null); PIDS="$PIDS $pid"
if [ -n "$pid" ] && [ -d /proc/$pid ]; then
	check "pidns: pid 1 in its namespace" test "$(field $pid NSpid | awk '{print $NF}')" = 1
	daemon_checks pidns $pid $jpid
	check "pidns: CapBnd zero" test "$(field $pid CapBnd)" = 0000000000000000
	check "pidns: Uid $U" test "$(field $pid Uid)" = "$U $U $U $U"
	check "pidns: NoNewPrivs 1" test "$(field $pid NoNewPrivs)" = 1
	check "pidns: / is the jail" test "$(ino /proc/$pid/root)" = "$(ino "$ROOT")"
else
	bad "pidns: no running probe (pid '$pid'): $(cat "$T/err2")"
fi
kill -9 $pid 2>/dev/null
rm -rf "$BASE"

# ---- 3: --daemonize alone: the jailer returns, the daemon is a grandchild ---
ID=t-daemon
timeout -k 5 30 "$JAILER" --id $ID --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
	--daemonize >"$T/out3" 2>"$T/err3" </dev/null &
jpid=$!
wait $jpid
rc=$?
check "daemon: jailer exits 0 by itself" test $rc = 0
check "daemon: nothing on the jailer's stdout/stderr" test ! -s "$T/out3" -a ! -s "$T/err3"
ROOT=$BASE/jailer-probe/$ID/root
pid=$(cat "$ROOT/jailer-probe.pid" 2>/dev/null); PIDS="$PIDS $pid"
if [ -n "$pid" ] && [ -d /proc/$pid ]; then
	daemon_checks daemon $pid $jpid
	check "daemon: not in a new pid namespace" test "$(field $pid NSpid)" = "$pid"
	check "daemon: / is the jail" test "$(ino /proc/$pid/root)" = "$(ino "$ROOT")"
	check "daemon: Uid $U, NoNewPrivs 1" test "$(field $pid Uid) $(field $pid NoNewPrivs)" = "$U $U $U $U 1"
else
	bad "daemon: no running probe: $(cat "$T/err3")"
fi
kill -9 $pid 2>/dev/null
rm -rf "$BASE"

# ---- 3b: as a script uses it: jailer --daemonize, then poll ember's socket --
EMBER=${EMBER:-build/ember}
[ -x "$EMBER" ] || make -s "$EMBER" >/dev/null
if [ -x "$EMBER" ]; then
	ID=t-script
	ROOT=$BASE/ember/$ID/root
	timeout -k 5 60 "$JAILER" --id $ID --exec-file "$EMBER" --uid $U --gid $G \
		--chroot-base-dir "$BASE" --daemonize -- --api-sock /run/api.sock \
		</dev/null >"$T/out7" 2>"$T/err7"
	rc=$?
	check "script: ember-jailer --daemonize returns 0 (not 124: timeout)" test $rc = 0
	code=000
	for _ in $(seq 100); do	# 10 s at most
		code=$(curl -s -o "$T/body7" -w '%{http_code}' --max-time 2 \
			--unix-socket "$ROOT/run/api.sock" http://localhost/ 2>/dev/null)
		[ "$code" = 200 ] && break
		sleep 0.1
	done
	check "script: GET / through the jail's API socket answers 200" test "$code" = 200
	check "script: as instance $ID" grep -q "\"id\": *\"$ID\"" "$T/body7"
	pid=$(cat "$ROOT/ember.pid" 2>/dev/null); PIDS="$PIDS $pid"
	if [ -n "$pid" ] && [ -d /proc/$pid ]; then
		check "script: pid file names ember" test "$(cat /proc/$pid/comm)" = ember
		check "script: ember runs as $U" test "$(field $pid Uid)" = "$U $U $U $U"
	else
		bad "script: no ember running (pid '$pid'): $(cat "$T/err7")"
	fi
	kill -9 $pid 2>/dev/null
	rm -rf "$BASE"
else
	bad "script: no $EMBER"
fi

# ---- 4: cgroup v2 (core files work without any controller enabled) ---------
if [ -n "$V2" ]; then
	ID=t-v2
	"$JAILER" --id $ID --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
		--cgroup-version 2 --parent-cgroup $CGP --cgroup cgroup.max.descendants=3 \
		>"$T/out4" 2>"$T/err4" &
	pid=$!; PIDS="$PIDS $pid"
	if wait_ready "$T/out4"; then
		check "v2: in cgroup /$CGP/$ID" grep -qx "0::/$CGP/$ID" /proc/$pid/cgroup
		check "v2: cgroup.max.descendants = 3" test "$(cat "$V2/$CGP/$ID/cgroup.max.descendants")" = 3
	else
		bad "v2: probe did not start: $(cat "$T/err4")"
	fi
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
	rm -rf "$BASE"; cleanup_cgroups
	# v2 with --parent-cgroup and no --cgroup: join the existing parent
	mkdir -p "$V2/$CGP"
	"$JAILER" --id t-v2p --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
		--cgroup-version 2 --parent-cgroup $CGP >"$T/out5" 2>"$T/err5" &
	pid=$!; PIDS="$PIDS $pid"
	if wait_ready "$T/out5"; then
		check "v2: joined the existing parent /$CGP" grep -qx "0::/$CGP" /proc/$pid/cgroup
	else
		bad "v2 parent: probe did not start: $(cat "$T/err5")"
	fi
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
	rm -rf "$BASE"; cleanup_cgroups
fi

# ---- 5: a dynamically linked exec file: interpreter + libraries copied ------
mkdir -p "$T/dyn"
DPROBE=$T/dyn/jailer-probe
if make -s build/tests/jailer/probe-dyn >"$T/cc5" 2>&1 && cp build/tests/jailer/probe-dyn "$DPROBE"; then
	ID=t-dyn
	"$JAILER" --id $ID --exec-file "$DPROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
		>"$T/out6" 2>"$T/err6" &
	pid=$!; PIDS="$PIDS $pid"
	ROOT=$BASE/jailer-probe/$ID/root
	INTERP=$(readelf -l "$DPROBE" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	if wait_ready "$T/out6"; then
		ok "dyn: dynamically linked probe runs in the jail"
		check "dyn: interpreter $INTERP copied, root-owned 0555" \
			test "$(stat -c '%u:%g %a %F' "$ROOT$INTERP")" = "0:0 555 regular file"
		libc=$(find "$ROOT" -name 'libc.so.6' | head -n1)
		check "dyn: libc.so.6 copied (${libc#$ROOT}), root-owned 0444" \
			test -n "$libc" -a "$(stat -c '%u:%g %a' "$libc" 2>/dev/null)" = "0:0 444"
		check "dyn: library dirs root-owned 0755" \
			test "$(stat -c '%u:%g %a' "$(dirname "$libc")")" = "0:0 755"
		check "dyn: libc identical to the host's" cmp -s "$libc" "${libc#$ROOT}"
		check "dyn: nothing else at the top (no cache needed)" \
			test "$(ls -A "$ROOT" | sort | xargs)" = "$(printf '%s\n' dev jailer-probe jailer-probe.pid run \
				"$(echo "${INTERP#/}" | cut -d/ -f1)" "$(echo "${libc#$ROOT/}" | cut -d/ -f1)" | sort -u | xargs)"
		check "dyn: Uid $U, NoNewPrivs 1" test "$(field $pid Uid) $(field $pid NoNewPrivs)" = "$U $U $U $U 1"
	else
		bad "dyn: probe did not start: $(cat "$T/err6")"
	fi
	kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
	rm -rf "$BASE"
	# a library that is gone: refused at validation, nothing created
	printf 'int ember_gone(void) { return 0; }\n' >"$T/dyn/gone.c"
	printf 'int ember_gone(void);\nint main(void) { return ember_gone(); }\n' >"$T/dyn/usegone.c"
	if cc -shared -fPIC -o "$T/dyn/libembergone.so" "$T/dyn/gone.c" &&
	   cc -o "$T/dyn/usegone" "$T/dyn/usegone.c" -L"$T/dyn" -lembergone; then
		rm -f "$T/dyn/libembergone.so"
		"$JAILER" --id t-gone --exec-file "$T/dyn/usegone" --uid $U --gid $G \
			--chroot-base-dir "$BASE" >"$T/o" 2>"$T/e"
		rc=$?
		if [ $rc != 0 ] && [ "$(wc -l <"$T/e")" = 1 ] &&
		   grep -q '^ember-jailer: validate: --exec-file: .*usegone needs libembergone.so, which is not in' "$T/e" &&
		   [ ! -e "$BASE" ]; then
			ok "dyn: missing library -> $(cat "$T/e")"
		else
			bad "dyn: missing library: rc $rc, $(cat "$T/e"), $(find "$BASE" 2>/dev/null | head -3 | xargs)"
		fi
	fi
else
	bad "dyn: cannot build a dynamic probe: $(cat "$T/cc5")"
fi

# ---- bad input: one line, non-zero, nothing left behind --------------------
# expect_fail NAME STEP-REGEX ARGS... : runs the jailer (base $BASE, which must
# not exist afterwards) and checks the exit status, the single stderr line and
# that no cgroup directory of ours is left.
expect_fail() {
	local name=$1 re=$2; shift 2
	timeout -k 5 60 "$@" >"$T/o" 2>"$T/e" </dev/null
	local rc=$? lines
	lines=$(wc -l <"$T/e")
	if [ $rc = 0 ]; then bad "$name: exit status 0"; return; fi
	if [ "$lines" != 1 ] || ! grep -qE "^ember-jailer: $re" "$T/e"; then
		bad "$name: stderr: $(cat "$T/e")"; return
	fi
	if [ -e "$BASE" ]; then bad "$name: left $(find "$BASE" | head -5 | xargs)"; return; fi
	for m in $V1_PIDS $V1_CPU $V2; do
		if [ -e "$m/$CGP" ]; then bad "$name: left cgroup $m/$CGP"; return; fi
	done
	ok "$name -> $(cat "$T/e")"
}
J() { echo "$JAILER" --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE"; }

expect_fail "bad id" "arguments: --id" $(J) --id 'bad/id'
expect_fail "--userfaultfd with a value" "arguments: unknown argument" $(J) --id x --userfaultfd=1
expect_fail "id too long" "arguments: --id" $(J) --id "$(printf 'a%.0s' $(seq 65))"
expect_fail "id with underscore" "arguments: --id" $(J) --id a_b
expect_fail "--id=value form" "arguments: unknown argument" $(J) --id=x
expect_fail "missing --id" "arguments: missing required argument --id" $(J)
expect_fail "missing exec file" "validate: --exec-file" \
	"$JAILER" --id x --exec-file /nonexistent/ember --uid $U --gid $G --chroot-base-dir "$BASE"
expect_fail "exec file is a directory" "validate: --exec-file" \
	"$JAILER" --id x --exec-file /tmp --uid $U --gid $G --chroot-base-dir "$BASE"
expect_fail "bad uid" "arguments: --uid" \
	"$JAILER" --id x --exec-file "$PROBE" --uid abc --gid $G --chroot-base-dir "$BASE"
expect_fail "uid -1" "arguments: --uid" \
	"$JAILER" --id x --exec-file "$PROBE" --uid -1 --gid $G --chroot-base-dir "$BASE"
expect_fail "uid 0" "arguments: --uid 0: the jailed process must not run as root" \
	"$JAILER" --id x --exec-file "$PROBE" --uid 0 --gid $G --chroot-base-dir "$BASE"
expect_fail "gid 0" "arguments: --gid 0: the jailed process must not run in group root" \
	"$JAILER" --id x --exec-file "$PROBE" --uid $U --gid 0 --chroot-base-dir "$BASE"
expect_fail "bad gid" "arguments: --gid" \
	"$JAILER" --id x --exec-file "$PROBE" --uid $U --gid 4294967296 --chroot-base-dir "$BASE"
expect_fail "missing netns" "validate: --netns" $(J) --id x --netns /run/netns/ember-no-such-ns
expect_fail "unknown cgroup controller" "validate: --cgroup nosuch.x=1: cgroup v1 controller 'nosuch' is not mounted" \
	$(J) --id x --cgroup nosuch.x=1
expect_fail "unknown v2 controller" "validate: --cgroup nosuch.x=1: cgroup v2 controller" \
	$(J) --id x --cgroup-version 2 --cgroup nosuch.x=1
expect_fail "bad cgroup syntax" "arguments: --cgroup" $(J) --id x --cgroup pids.max
expect_fail "bad parent cgroup" "arguments: --parent-cgroup" $(J) --id x --parent-cgroup ../x
expect_fail "bad resource limit" "arguments: --resource-limit" $(J) --id x --resource-limit nproc=1
expect_fail "base parent missing" "validate: --chroot-base-dir" \
	"$JAILER" --id x --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE/a/b"
if [ -n "$V1_PIDS" ]; then
	# these fail after directories were created: everything must be undone
	expect_fail "unknown cgroup file (step 3)" "cgroup: --cgroup pids.nosuch=1: .* does not exist" \
		$(J) --id x --parent-cgroup $CGP --cgroup pids.max=5 --cgroup pids.nosuch=1
	expect_fail "bad cgroup value (step 3)" "cgroup: --cgroup pids.max=lots: writing" \
		$(J) --id x --parent-cgroup $CGP --cgroup pids.max=lots
fi
CG=${V1_PIDS:+--cgroup pids.max=5}
# no-file above fs.nr_open: setrlimit fails after pivot_root and joining cgroups
expect_fail "rlimit too high (after pivot_root)" "limits: setrlimit\(RLIMIT_NOFILE" \
	$(J) --id x --parent-cgroup $CGP $CG --resource-limit no-file=99999999999
cp "$PROBE" "$T/noexec/jailer-probe" 2>/dev/null || { mkdir -p "$T/noexec"; cp "$PROBE" "$T/noexec/jailer-probe"; }
chmod 0644 "$T/noexec/jailer-probe"
expect_fail "exec file not executable (after pivot_root)" "privileges: /jailer-probe is not executable" \
	"$JAILER" --id x --exec-file "$T/noexec/jailer-probe" --uid $U --gid $G \
	--chroot-base-dir "$BASE" --parent-cgroup $CGP $CG
expect_fail "not executable, --new-pid-ns (child fails, parent undoes)" "privileges: /jailer-probe is not executable" \
	"$JAILER" --id x --exec-file "$T/noexec/jailer-probe" --uid $U --gid $G \
	--chroot-base-dir "$BASE" --parent-cgroup $CGP $CG --new-pid-ns
expect_fail "not executable, --daemonize (the daemon fails, the jailer undoes)" "privileges: /jailer-probe is not executable" \
	"$JAILER" --id x --exec-file "$T/noexec/jailer-probe" --uid $U --gid $G \
	--chroot-base-dir "$BASE" --parent-cgroup $CGP $CG --daemonize
expect_fail "not executable, --daemonize --new-pid-ns" "privileges: /jailer-probe is not executable" \
	"$JAILER" --id x --exec-file "$T/noexec/jailer-probe" --uid $U --gid $G \
	--chroot-base-dir "$BASE" --parent-cgroup $CGP $CG --daemonize --new-pid-ns
# ---- a jail made beforehand (Firecracker's jailer takes one; Kata makes one) -
# Kata's layout: <id>/root/run, its files bind-mounted or created in <id>/root,
# the root bind-mounted on itself as a shared mount, all root's and 0750.
P=$BASE/jailer-probe/prep
prep_jail() {
	rm -rf "$BASE"; mkdir -p "$P/root/run"; chmod 0750 "$P" "$P/root" "$P/root/run"
	echo underlying >"$P/root/vmlinux"; : >"$P/root/drive_0"; mkfifo "$P/root/logs.fifo"
}
prep_state() { (cd "$P" && find . -printf '%p %U:%G %m %y\n' | sort); }
echo host-kernel >"$T/kernel-src"; echo hotplugged >"$T/drive-src"
prep_jail
mount --bind "$P/root" "$P/root" && mount --make-shared "$P/root" &&
	mount --bind "$T/kernel-src" "$P/root/vmlinux" || bad "prepared: cannot set up Kata's mounts"
"$JAILER" --id prep --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
	>"$T/out9" 2>"$T/err9" </dev/null &
pid=$!; PIDS="$PIDS $pid"
if wait_ready "$T/out9"; then
	ok "prepared: the jailer takes a jail made beforehand"
	check "prepared: the orchestrator's files are in the jail next to the jailer's" \
		test "$(sed -n 's/^root: //p' "$T/out9" | tr ' ' '\n' | sort | xargs)" = \
		"dev drive_0 jailer-probe jailer-probe.pid logs.fifo run vmlinux"
	check "prepared: a file bind-mounted into it beforehand shows in the jail" \
		test "$(cat /proc/$pid/root/vmlinux)" = host-kernel
	mount --bind "$T/drive-src" "$P/root/drive_0"
	check "prepared: a file bind-mounted into it later shows in the jail (hot-plug)" \
		test "$(cat /proc/$pid/root/drive_0)" = hotplugged
	check "prepared: / and /run handed to $U:$G, 0700" \
		test "$(stat -c '%u:%g %a' "$P/root" "$P/root/run" | xargs)" = "$U:$G 700 $U:$G 700"
	kill -9 $pid; wait $pid 2>/dev/null
else
	bad "prepared: probe did not start: $(cat "$T/err9")"
fi
umount "$P/root/drive_0" 2>/dev/null; umount "$P/root/vmlinux" 2>/dev/null; umount "$P/root" 2>/dev/null
# ... and used once, it is refused: its root now belongs to the VM's uid
"$JAILER" --id prep --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
	-- --exit >"$T/o" 2>"$T/e" </dev/null
rc=$?
check "prepared: the same jail used again is refused (one line)" \
	bash -c "[ $rc = 1 ] && [ \$(wc -l <'$T/e') = 1 ] && grep -q \"^ember-jailer: chroot: $P/root was made beforehand but is not root's alone (owner uid $U, mode 0700)\" '$T/e'"

# refused, with one line, leaving what was there as it was; a failure after
# pivot_root removes only what the jailer added and restores owner and mode
expect_prep_fail() {	# NAME ERROR-REGEX SETUP-COMMAND [JAILER ARGS...]
	local name=$1 re=$2 setup=$3 before rc; shift 3
	prep_jail; eval "$setup"; before=$(prep_state)
	timeout -k 5 60 "$JAILER" --id prep --exec-file "$PROBE" --uid $U --gid $G \
		--chroot-base-dir "$BASE" "$@" -- --exit >"$T/o" 2>"$T/e" </dev/null
	rc=$?
	if [ $rc != 1 ] || [ "$(wc -l <"$T/e")" != 1 ] || ! grep -qE "^ember-jailer: $re" "$T/e"; then
		bad "prepared, $name: rc $rc, $(cat "$T/e")"
	elif [ "$(prep_state)" != "$before" ]; then
		bad "prepared, $name: changed: $(diff <(echo "$before") <(prep_state) | xargs)"
	else
		ok "prepared, $name -> $(cat "$T/e")"
	fi
}
R=".*/base/jailer-probe/prep"
expect_prep_fail "a step after pivot_root fails" "limits: setrlimit\(RLIMIT_NOFILE" : \
	--resource-limit no-file=99999999999
expect_prep_fail "<id> owned by the jail's uid" \
	"chroot: $R was made beforehand but is not root's alone \(owner uid $U, mode 0750\)" \
	'chown $U "$P"'
expect_prep_fail "root group-writable" \
	"chroot: $R/root was made beforehand but is not root's alone \(owner uid 0, mode 0770\)" \
	'chmod 0770 "$P/root"'
expect_prep_fail "/run owned by the jail's uid" \
	"chroot: $R/root/run was made beforehand but is not root's alone \(owner uid $U" \
	'chown $U "$P/root/run"'
expect_prep_fail "/run a symlink" "chroot: opening $R/root/run: a symlink on the way, not followed" \
	'rmdir "$P/root/run"; ln -s /etc "$P/root/run"'
expect_prep_fail "root a symlink" "chroot: opening $R/root: a symlink on the way, not followed" \
	'mv "$P/root" "$P/real"; ln -s real "$P/root"'
expect_prep_fail "/dev already there" "chroot: $R/root/dev already exists \(a jail used before\? remove $R\)" \
	'mkdir "$P/root/dev"'
expect_prep_fail "the exec file already there" "chroot: $R/root/jailer-probe already exists" \
	'cp "$PROBE" "$P/root/"'
# an empty <id> made beforehand gets its root as usual, removed on failure
prep_jail; rm -rf "$P/root"
timeout -k 5 60 "$JAILER" --id prep --exec-file "$PROBE" --uid $U --gid $G --chroot-base-dir "$BASE" \
	--resource-limit no-file=99999999999 -- --exit >"$T/o" 2>"$T/e" </dev/null
rc=$?
check "prepared: an empty <id> keeps no root after a failure" \
	bash -c "[ $rc = 1 ] && [ -d '$P' ] && [ -z \"\$(ls -A '$P')\" ]"
rm -rf "$BASE"

# ---- an attacker with the jail's uid swaps a path of the jail for a symlink -
# tests/jailer/race.c runs the jailer's steps and, after the named one,
# replaces a path in the jail by a symlink to a victim outside it: first as
# uid $U (must be refused: the jail stays root's until the last step), then
# as root (an attacker who won anyway). The jailer must not follow the link:
# the victims keep their contents, owner and mode, and the jail is removed.
RACE=build/tests/jailer/race
if make -s "$RACE" >"$T/ccrace" 2>&1; then
	VICTIM=$T/victim
	chmod 0755 "$T"		# (mktemp's 0700 alone would keep uid $U out)
	victim_state() { find "$VICTIM" -printf '%p %U:%G %m %y\n' | sort; }
	race() {	# STEP WHAT TARGET EXPECTED-ERROR
		local step=$1 what=$2 target=$3 re=$4 before
		rm -rf "$VICTIM"; mkdir -p "$VICTIM/net"; echo secret >"$VICTIM/file"
		chmod 0640 "$VICTIM/file"
		before=$(victim_state)
		"$RACE" "$step" "$what" "$target" --id race --exec-file "$PROBE" --uid $U --gid $G \
			--chroot-base-dir "$BASE" -- --exit >"$T/o" 2>"$T/e" </dev/null
		local rc=$?
		local name="race: $what swapped after step $step"
		check "$name: uid $U cannot write into the jail" grep -qx "attacker: refused as uid $U: Permission denied" "$T/o"
		if [ "$(victim_state)" = "$before" ] && [ "$(cat "$VICTIM/file")" = secret ]; then
			ok "$name: nothing outside the jail changed"
		else
			bad "$name: the victim changed: $(victim_state | xargs)"
		fi
		if [ $rc = 1 ] && [ "$(wc -l <"$T/e")" = 1 ] && grep -qE "^ember-jailer: $re" "$T/e" &&
		   [ ! -e "$BASE/jailer-probe/race" ]; then
			ok "$name: refused -> $(cat "$T/e")"
		else
			bad "$name: rc $rc, $(cat "$T/e"), left: $(find "$BASE" 2>/dev/null | head -3 | xargs)"
		fi
		rm -rf "$BASE"
	}
	R='.*/base/jailer-probe/race/root'
	race chroot dev "$VICTIM" "devices: opening $R/dev: a symlink on the way, not followed"
	race chroot net "$VICTIM" "devices: opening $R/dev/net: a symlink on the way, not followed"
	race chroot run "$VICTIM" "privileges: chown /run in the jail: a symlink on the way, not followed"
	race cgroup kvm "$VICTIM/file" "devices: mknod $R/dev/kvm \(10:232\): File exists"
	race devices kvm "$VICTIM/file" "privileges: chown /dev/kvm in the jail: a symlink on the way, not followed"
	race devices tun "$VICTIM/file" "privileges: chown /dev/net/tun in the jail: a symlink on the way, not followed"
	race devices dev "$VICTIM" "privileges: chown /dev/kvm in the jail: a symlink on the way, not followed"
	race devices net "$VICTIM" "privileges: chown /dev/net/tun in the jail: a symlink on the way, not followed"
else
	bad "race: cannot build tests/jailer/race.c: $(cat "$T/ccrace")"
fi

echo "jailer: $pass passed, $fail failed"
[ $fail = 0 ]
