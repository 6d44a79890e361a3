#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""benchmarks/prefetch.py OUTDIR - benchmark 8: restored clones that answer fast.

Run by benchmarks/prefetch.sh inside the test bed (needs /dev/kvm). The guest
"function" (the tuned vmlinux, the busybox initramfs, 1 vCPU, BENCH_PREFETCH_MEM_MIB
256) fills 64 MiB of its tmpfs at start, prints FUNCTION-READY, then answers
each line typed on its console by reading those 64 MiB (dd to /dev/null) and
printing "ANSWER <line> <bytes>". One cold boot is snapshotted (Full) while it
waits; the memory file lies in BENCH_WORK (tmpfs in the emulated test bed:
its page cache is warm, so what is measured is the cost of faults, not disk).

- latency, N runs, interleaved: a fresh ember per load; PUT /snapshot/load
  (resume_vm) request -> the request typed right after its answer -> ANSWER.
  Kinds: lazy (no flag), prefetch with --snapshot-prefetch populate, read,
  willneed and huge (the record written once before, by a recording load and its
  pause), and the cold boot of the same guest (InstanceStart -> READY ->
  request -> ANSWER). ember's page faults (minflt + majflt of
  /proc/PID/stat) from the load request to the answer, and from the load's
  answer to the answer (the guest's share).
- density: BENCH_CLONES (8) embers started at once, each loading the
  snapshot (prefetch BENCH_DENSITY_METHOD, huge) or cold-booting, typing a request when ready:
  instances answering per second = N / (start -> the last ANSWER).
- sharing: N = 1, 4, 8 clones (populate prefetch) restored from the one
  memory file, each having answered once: RSS, PSS and Private_Dirty of each
  ember (/proc/PID/smaps_rollup). PSS per extra clone = (PSS total(N) - PSS
  total(1)) / (N - 1), against the clones' dirtied pages (Private_Dirty)
  + 2 MiB.

Writes OUTDIR/prefetch.jsonl and OUTDIR/prefetch.md.
"""
import base64
import json
import os
import re
import statistics
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmmlib  # noqa: E402
from vmmlib import Console, http, now, ok, wait_path  # noqa: E402

OUT = sys.argv[1]
EMBER = os.environ["EMBER"]
KERNEL = os.environ["K_VMLINUX"]
INITRD = os.environ["INITRD"]
MEM = int(os.environ.get("BENCH_PREFETCH_MEM_MIB", "256"))
N = int(os.environ.get("BENCH_PREFETCH_N", "3"))
CLONES = int(os.environ.get("BENCH_CLONES", "8"))
WORK = os.environ.get("BENCH_WORK", "/tmp/ember-bench-prefetch")
vmmlib.TIMEOUT = float(os.environ.get("BENCH_BOOT_TIMEOUT", "300"))
SCRIPT = ('yes 0123456789abcdef-ember-function | head -c 67108864 >/dev/shm/blob\n'
          'echo FUNCTION-READY\n'
          'while read line </dev/console; do\n'
          '  b=$(dd if=/dev/shm/blob of=/dev/null bs=1M 2>&1 | grep "records out")\n'
          '  echo "ANSWER $line $b"\n'
          'done\n')
ARGS = ("console=ttyS0 reboot=k panic=1 quiet i8042.noaux i8042.nomux i8042.nopnp "
        "i8042.dumbkbd ember.sh=" + base64.b64encode(SCRIPT.encode()).decode())
os.makedirs(WORK, exist_ok=True)
os.makedirs(os.path.join(OUT, "logs"), exist_ok=True)
RECORDS = open(os.path.join(OUT, "prefetch.jsonl"), "a")
STATE, MEMFILE = os.path.join(WORK, "state"), os.path.join(WORK, "mem")
SEQ = [0]
KINDS = ["lazy", "populate", "read", "willneed", "huge", "cold"]
DENSITY_METHOD = os.environ.get("BENCH_DENSITY_METHOD", "huge")


def record(**kw):
    RECORDS.write(json.dumps(kw) + "\n")
    RECORDS.flush()


def faults(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[7]) + int(f[9])      # minflt, majflt (fields 10 and 12)


def ember(name, extra=()):
    SEQ[0] += 1
    d = os.path.join(WORK, f"{name}-{SEQ[0]}")
    os.makedirs(d, exist_ok=True)
    sock = os.path.join(d, "api.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    c = Console([EMBER, "--api-sock", sock, "--log-path", os.path.join(d, "log"), *extra],
                os.path.join(OUT, "logs", f"prefetch-{name}-{SEQ[0]}.log"), stdin=True)
    c.sock, c.dir = sock, d
    wait_path(sock)
    return c


def cold(c):
    """Boot c; returns (InstanceStart time, READY time)."""
    ok(http(c.sock, "PUT", "/boot-source", {"kernel_image_path": KERNEL, "initrd_path": INITRD,
                                            "boot_args": ARGS}), "boot-source")
    ok(http(c.sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": MEM}), "machine")
    r = ok(http(c.sock, "PUT", "/actions", {"action_type": "InstanceStart"}), "start")
    t, _ = c.wait(r"^FUNCTION-READY", after=r[3])
    return r[3], t


def load(c):
    return ok(http(c.sock, "PUT", "/snapshot/load", {
        "snapshot_path": STATE, "mem_backend": {"backend_type": "File", "backend_path": MEMFILE},
        "resume_vm": True}), "load")


def ask(c, tag, after):
    c.type(tag)
    t, line = c.wait(rf"^ANSWER {tag} ", after=after)
    return t, line


def make_snapshot():
    for f in (STATE, MEMFILE, STATE + ".ws"):
        if os.path.exists(f):
            os.unlink(f)
    c = ember("snap")
    try:
        cold(c)
        ok(http(c.sock, "PATCH", "/vm", {"state": "Paused"}), "pause")
        ok(http(c.sock, "PUT", "/snapshot/create", {"snapshot_path": STATE,
                                                    "mem_file_path": MEMFILE}), "create")
    finally:
        c.kill()
    # The working set: one recording load, one request, the pause.
    c = ember("record", ["--snapshot-prefetch", "populate"])
    try:
        r = load(c)
        _, line = ask(c, "rec", r[3])
        ok(http(c.sock, "PATCH", "/vm", {"state": "Paused"}), "pause")
        m = re.search(r"recorded (\d+) pages", open(os.path.join(c.dir, "log")).read())
        record(bench="prefetch", what="recorded_pages", value=int(m.group(1)) if m else -1)
        return line.split(" ", 2)[2]
    finally:
        c.kill()


def latency(run, kind, answer):
    extra = [] if kind in ("lazy", "cold") else ["--snapshot-prefetch", kind]
    c = ember(kind, extra)
    try:
        f0 = faults(c.p.pid)
        if kind == "cold":
            t0, t_ready = cold(c)
            t_loaded, f1 = t_ready, faults(c.p.pid)
        else:
            r = load(c)
            t0, t_loaded, f1 = r[3], r[3] + r[2], faults(c.p.pid)
        t, line = ask(c, f"r{run}", t_loaded)
        f2 = faults(c.p.pid)
        if line.split(" ", 2)[2] != answer:
            raise RuntimeError(f"{kind}: answered '{line}', expected '{answer}'")
        record(bench="prefetch", kind=kind, run=run, what="answer_ms", value=(t - t0) * 1e3)
        record(bench="prefetch", kind=kind, run=run, what="load_ms", value=(t_loaded - t0) * 1e3)
        record(bench="prefetch", kind=kind, run=run, what="faults_total", value=f2 - f0)
        record(bench="prefetch", kind=kind, run=run, what="faults_guest", value=f2 - f1)
        log = open(os.path.join(c.dir, "log")).read()
        m = re.findall(r"Restore timeline: (.*)", log)
        if m:
            record(bench="prefetch", kind=kind, run=run, what="timeline", text=m[-1])
        m = re.findall(r"prefetched .* in (\d+) reads, (\d+) us", log)
        if m:
            record(bench="prefetch", kind=kind, run=run, what="prefetch_us", value=int(m[-1][1]),
                   reads=int(m[-1][0]))
    finally:
        c.kill()


def density(kind):
    """CLONES instances at once: start -> the last ANSWER."""
    t0 = now()
    done, errs = [], []

    def one(i):
        try:
            c = ember(f"dens-{kind}",
                      [] if kind == "cold" else ["--snapshot-prefetch", DENSITY_METHOD])
            try:
                if kind == "cold":
                    _, after = cold(c)
                else:
                    r = load(c)
                    after = r[3] + r[2]
                t, _ = ask(c, f"d{i}", after)
                done.append(t)
            finally:
                c.kill()
        except Exception as e:   # noqa: BLE001 (counted, reported)
            errs.append(repr(e))
    th = [threading.Thread(target=one, args=(i,)) for i in range(CLONES)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    for e in errs:
        print(f"density {kind}: an instance failed: {e}", file=sys.stderr)
    record(bench="prefetch", kind=kind, what="density_per_s",
           value=len(done) / (max(done) - t0) if done else 0, n=CLONES, failed=len(errs))


def rollup(pid):
    v = {}
    for line in open(f"/proc/{pid}/smaps_rollup"):
        m = re.match(r"(\w+):\s+(\d+) kB", line)
        if m:
            v[m.group(1)] = int(m.group(2))
    return v


def sharing(n):
    cs = []
    try:
        for i in range(n):
            c = ember("share", ["--snapshot-prefetch", "populate"])
            cs.append(c)
            r = load(c)
            ask(c, f"s{i}", r[3])
        vals = [rollup(c.p.pid) for c in cs]
        record(bench="prefetch", what="sharing", n=n,
               rss_kib=sum(v["Rss"] for v in vals), pss_kib=sum(v["Pss"] for v in vals),
               private_dirty_kib=sum(v["Private_Dirty"] for v in vals))
    finally:
        for c in cs:
            c.kill()


def med(recs, **kw):
    xs = [r["value"] for r in recs if all(r.get(k) == v for k, v in kw.items())]
    return statistics.median(xs) if xs else float("nan")


def summary():
    recs = [json.loads(line) for line in open(os.path.join(OUT, "prefetch.jsonl"))]
    kinds = KINDS
    lines = ["# Benchmark 8: restored clones (working-set prefetch)", "",
             f"Guest: 1 vCPU, {MEM} MiB, a function reading 64 MiB of its memory; medians of "
             f"{N} runs.", "",
             "| kind | load request -> answer | -> load done | faults (total) | faults (guest) |",
             "|---|---|---|---|---|"]
    for k in kinds:
        lines.append(f"| {k} | {med(recs, kind=k, what='answer_ms'):.1f} ms | "
                     f"{med(recs, kind=k, what='load_ms'):.1f} ms | "
                     f"{med(recs, kind=k, what='faults_total'):.0f} | "
                     f"{med(recs, kind=k, what='faults_guest'):.0f} |")
    lazy, pop = med(recs, kind="lazy", what="answer_ms"), med(recs, kind="populate",
                                                              what="answer_ms")
    best = min(kinds[1:5], key=lambda k: med(recs, kind=k, what="answer_ms"))
    bestv = med(recs, kind=best, what="answer_ms")
    lines += ["", f"Lazy / prefetch (populate): {lazy / pop:.2f}x; best method {best}: "
              f"{lazy / bestv:.2f}x (target >= 2x: {'MET' if lazy / bestv >= 2 else 'MISSED'}).",
              f"Cold boot / prefetch (populate): "
              f"{med(recs, kind='cold', what='answer_ms') / pop:.2f}x."]
    dc, dr = med(recs, kind="cold", what="density_per_s"), med(recs, kind="clone",
                                                               what="density_per_s")
    lines += ["", f"Density, {CLONES} at once: clones {dr:.3f}/s, cold boots {dc:.3f}/s: "
              f"{dr / dc:.2f}x (target >= 5x: {'MET' if dr / dc >= 5 else 'MISSED'})."]
    sh = {r["n"]: r for r in recs if r.get("what") == "sharing"}
    if sh:
        lines += ["", "| clones | RSS total | PSS total | Private_Dirty total | PSS per clone |",
                  "|---|---|---|---|---|"]
        for n in sorted(sh):
            r = sh[n]
            lines.append(f"| {n} | {r['rss_kib'] / 1024:.1f} MiB | {r['pss_kib'] / 1024:.1f} MiB"
                         f" | {r['private_dirty_kib'] / 1024:.1f} MiB | "
                         f"{r['pss_kib'] / n / 1024:.1f} MiB |")
        if 1 in sh and len(sh) > 1:
            top = max(sh)
            extra = (sh[top]["pss_kib"] - sh[1]["pss_kib"]) / (top - 1) / 1024
            dirty = sh[top]["private_dirty_kib"] / top / 1024
            lines += ["", f"PSS per extra clone (N={top} vs 1): {extra:.1f} MiB; dirtied per "
                      f"clone {dirty:.1f} MiB + 2 MiB = {dirty + 2:.1f} MiB (target: "
                      f"{'MET' if extra <= dirty + 2 else 'MISSED'})."]
    open(os.path.join(OUT, "prefetch.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    if os.environ.get("BENCH_PREFETCH_SUMMARY_ONLY"):
        return summary()
    answer = make_snapshot()
    for run in range(N):
        for kind in (KINDS if run % 2 == 0 else KINDS[::-1]):
            latency(run, kind, answer)
    density("clone")
    density("cold")
    for n in (1, 4, CLONES):
        sharing(n)
    summary()


main()
