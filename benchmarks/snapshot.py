#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""benchmarks/snapshot.py OUTDIR - benchmark 7: snapshot restore latency.

Run by benchmarks/snapshot.sh inside the test bed (needs /dev/kvm). The guest
(the tuned vmlinux and the busybox initramfs, 1 vCPU, BENCH_MEM_MIB) prints
"TICK n" ten times a second. Per run, interleaved:

- ember cold boot: InstanceStart request -> first TICK on the console;
- ember snapshot: paused after TICK 5, PUT /snapshot/create (Full) time, the
  state file's size, the memory file's size on disk; the VMM is killed;
- ember restore, in a fresh ember already listening: PUT /snapshot/load
  (File backend, resume_vm) request -> its answer (the vCPUs run: ember
  resumes them before it answers), and -> the first TICK after the restore
  (the guest's first console output); ember's own "VM restore:" step times;
- QEMU microvm, the same guest: migrated to a file (stop, migrate to
  "exec:cat > FILE") after TICK 5, then a fresh QEMU started with
  `-incoming defer` restores it: QMP migrate-incoming request -> the RESUME
  event (vCPUs running; `cont` is sent the moment the migration completed,
  since a stopped source leaves the restored VM paused) and -> the first
  TICK.

Writes OUTDIR/snapshot.jsonl (one record per measurement) and
OUTDIR/snapshot.md (medians, and ember's restore over QEMU's; target: <= 0.25).
"""
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

OUT = sys.argv[1]
EMBER = os.environ["EMBER"]
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
KERNEL = os.environ["K_VMLINUX"]
INITRD = os.environ["INITRD"]
MEM = int(os.environ.get("BENCH_MEM_MIB", "128"))
N = int(os.environ.get("BENCH_SNAPSHOT_N", "5"))
QEMU_FAST = os.environ.get("BENCH_QEMU_FAST", "x-option-roms=off,pit=off,pic=off,rtc=off")
WORK = os.environ.get("BENCH_WORK", "/tmp/ember-bench-snapshot")
TIMEOUT = float(os.environ.get("BENCH_BOOT_TIMEOUT", "120"))
SCRIPT = 'i=0; while :; do i=$((i + 1)); echo "TICK $i"; sleep 0.1; done\n'
ARGS = ("console=ttyS0 reboot=k panic=1 quiet i8042.noaux i8042.nomux i8042.nopnp "
        "i8042.dumbkbd ember.sh=" + __import__("base64").b64encode(SCRIPT.encode()).decode())
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmmlib  # noqa: E402
from vmmlib import Console, http, now, ok, wait_path  # noqa: E402,F401

vmmlib.TIMEOUT = TIMEOUT
os.makedirs(WORK, exist_ok=True)
os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
RECORDS = open(os.path.join(OUT, "snapshot.jsonl"), "a")


def record(**kw):
    RECORDS.write(json.dumps(kw) + "\n")
    RECORDS.flush()


def ember_start(name):
    d = os.path.join(WORK, name)
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "api.sock")
    for f in (sock,):
        if os.path.exists(f):
            os.unlink(f)
    c = Console([EMBER, "--api-sock", sock, "--log-path", os.path.join(d, "log")],
                os.path.join(OUT, "logs", f"snapshot-{name}.log"))
    wait_path(sock)
    return c, sock, d


def ember_run(run):
    a, sa, da = ember_start(f"ember-a-{run}")
    try:
        ok(http(sa, "PUT", "/boot-source", {"kernel_image_path": KERNEL, "initrd_path": INITRD,
                                             "boot_args": ARGS}), "boot-source")
        ok(http(sa, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": MEM}), "machine")
        r = ok(http(sa, "PUT", "/actions", {"action_type": "InstanceStart"}), "start")
        t_tick, _ = a.wait(r"^TICK 1$", after=r[3])
        record(bench="snapshot", vmm="ember", what="cold_boot_first_output_ms",
               value=(t_tick - r[3]) * 1e3, run=run)
        a.wait(r"^TICK 5$")
        ok(http(sa, "PATCH", "/vm", {"state": "Paused"}), "pause")
        state, mem = os.path.join(da, "state"), os.path.join(da, "mem")
        r = ok(http(sa, "PUT", "/snapshot/create", {"snapshot_path": state,
                                                    "mem_file_path": mem}), "create")
        st = os.stat(mem)
        record(bench="snapshot", vmm="ember", what="create_full_ms", value=r[2] * 1e3, run=run)
        record(bench="snapshot", vmm="ember", what="state_file_kib",
               value=os.path.getsize(state) / 1024, run=run)
        record(bench="snapshot", vmm="ember", what="mem_file_disk_mib",
               value=st.st_blocks * 512 / 2**20, run=run)
    finally:
        a.kill()
    b, sb, db = ember_start(f"ember-b-{run}")
    try:
        r = ok(http(sb, "PUT", "/snapshot/load", {"snapshot_path": state,
                                                  "mem_backend": {"backend_type": "File",
                                                                  "backend_path": mem},
                                                  "resume_vm": True}), "load")
        t_tick, line = b.wait(r"^TICK \d+$", after=r[3])
        record(bench="snapshot", vmm="ember", what="restore_running_ms", value=r[2] * 1e3,
               run=run)
        record(bench="snapshot", vmm="ember", what="restore_first_output_ms",
               value=(t_tick - r[3]) * 1e3, run=run)
        with open(os.path.join(db, "log")) as f:
            m = re.findall(r"VM restore: (.*)", f.read())
        if m:
            record(bench="snapshot", vmm="ember", what="restore_steps", text=m[-1], run=run)
    finally:
        b.kill()


class Qmp:
    def __init__(self, path):
        wait_path(path)
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.events = []
        self.f.readline()   # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        msg = json.loads(self.f.readline())
        if "event" in msg:
            self.events.append((now(), msg["event"]))
        return msg

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        while True:
            msg = self._read()
            if "return" in msg or "error" in msg:
                if "error" in msg:
                    raise RuntimeError(f"QMP {name}: {msg['error']}")
                return msg["return"]

    def wait_event(self, name, timeout=TIMEOUT):
        end = now() + timeout
        self.s.settimeout(timeout)
        while True:
            for t, e in self.events:
                if e == name:
                    return t
            if now() > end:
                raise RuntimeError(f"no QMP event {name}")
            self._read()


def qemu_argv(qmp, extra=()):
    return [QEMU, "-M", "microvm," + QEMU_FAST, "-accel", "kvm", "-cpu", "host", "-m", str(MEM),
            "-smp", "1", "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", "stdio", "-kernel", KERNEL, "-initrd", INITRD, "-append", ARGS,
            "-qmp", f"unix:{qmp},server=on,wait=off"] + list(extra)


def qemu_run(run):
    d = os.path.join(WORK, f"qemu-{run}")
    os.makedirs(d, exist_ok=True)
    qa, qb, mig = os.path.join(d, "a.qmp"), os.path.join(d, "b.qmp"), os.path.join(d, "mig")
    for f in (qa, qb, mig):
        if os.path.exists(f):
            os.unlink(f)
    a = Console(qemu_argv(qa), os.path.join(OUT, "logs", f"snapshot-qemu-a-{run}.log"))
    try:
        t0 = now()
        t_tick, _ = a.wait(r"^TICK 1$")
        record(bench="snapshot", vmm="qemu", what="cold_boot_first_output_ms",
               value=(t_tick - t0) * 1e3, run=run, note="from process start")
        a.wait(r"^TICK 5$")
        q = Qmp(qa)
        q.cmd("stop")
        t0 = now()
        q.cmd("migrate", uri=f"exec:cat > {mig}")
        while q.cmd("query-migrate").get("status") not in ("completed", "failed"):
            time.sleep(0.01)
        record(bench="snapshot", vmm="qemu", what="create_full_ms", value=(now() - t0) * 1e3,
               run=run)
        record(bench="snapshot", vmm="qemu", what="mem_file_disk_mib",
               value=os.stat(mig).st_blocks * 512 / 2**20, run=run)
    finally:
        a.kill()
    b = Console(qemu_argv(qb, ["-incoming", "defer"]),
                os.path.join(OUT, "logs", f"snapshot-qemu-b-{run}.log"))
    try:
        q = Qmp(qb)
        t0 = now()
        q.cmd("migrate-incoming", uri=f"exec:cat {mig}")
        # The source was stopped, so the restored VM stays paused (QEMU keeps
        # the run state): continue it as soon as the migration completed.
        while q.cmd("query-migrate").get("status") != "completed":
            if now() - t0 > TIMEOUT:
                raise RuntimeError("the incoming migration did not complete")
            time.sleep(0.002)
        q.cmd("cont")
        t_run = q.wait_event("RESUME")
        t_tick, _ = b.wait(r"^TICK \d+$", after=t0)
        record(bench="snapshot", vmm="qemu", what="restore_running_ms", value=(t_run - t0) * 1e3,
               run=run)
        record(bench="snapshot", vmm="qemu", what="restore_first_output_ms",
               value=(t_tick - t0) * 1e3, run=run)
    finally:
        b.kill()


def summary():
    recs = [json.loads(l) for l in open(os.path.join(OUT, "snapshot.jsonl"))]
    vals = {}
    for r in recs:
        if "value" in r:
            vals.setdefault((r["vmm"], r["what"]), []).append(r["value"])
    rows = ["cold_boot_first_output_ms", "restore_running_ms", "restore_first_output_ms",
            "create_full_ms", "state_file_kib", "mem_file_disk_mib"]
    med = {k: statistics.median(v) for k, v in vals.items()}
    out = ["# Snapshot restore (benchmark 7)", "",
           f"Guest: tuned vmlinux + busybox initramfs, 1 vCPU, {MEM} MiB; median of "
           f"{max(len(v) for v in vals.values())} runs [min-max].", "",
           "| measure | ember | QEMU microvm | ember / QEMU |", "|---|---|---|---|"]
    for w in rows:
        cells = []
        for vmm in ("ember", "qemu"):
            v = vals.get((vmm, w))
            cells.append(f"{statistics.median(v):.1f} [{min(v):.1f}-{max(v):.1f}]" if v else "-")
        ratio = (f"{med[('ember', w)] / med[('qemu', w)]:.2f}"
                 if ("ember", w) in med and med.get(("qemu", w)) else "-")
        out.append(f"| {w} | {cells[0]} | {cells[1]} | {ratio} |")
    e, q = med.get(("ember", "restore_first_output_ms")), med.get(("qemu", "restore_first_output_ms"))
    if e and q:
        out += ["", f"Target: ember's restore (load request to first output) <= 0.25x QEMU's: "
                f"{e / q:.2f}x, {'MET' if e / q <= 0.25 else 'MISSED'}."]
    cold = med.get(("ember", "cold_boot_first_output_ms"))
    if e and cold:
        out.append(f"ember restore vs ember cold boot (to first output): {e / cold:.3f}x.")
    steps = [r["text"] for r in recs if r.get("what") == "restore_steps"]
    if steps:
        out += ["", f"ember's restore steps (last run): `{steps[-1]}`"]
    out += ["", "QEMU's cold boot is timed from its process start, ember's from InstanceStart; "
            "both restores from the request that starts them in an already running process "
            "(ember: PUT /snapshot/load; QEMU: QMP migrate-incoming)."]
    text = "\n".join(out) + "\n"
    open(os.path.join(OUT, "snapshot.md"), "w").write(text)
    print(text)


for run in range(1, N + 1):
    for fn in (ember_run, qemu_run) if run % 2 else (qemu_run, ember_run):
        try:
            fn(run)
        except Exception as ex:  # a failed run is reported, the others go on
            print(f"bench: snapshot run {run} {fn.__name__}: {ex}", file=sys.stderr)
summary()
