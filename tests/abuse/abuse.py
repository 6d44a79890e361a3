#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""API abuse against a running ember (tests/abuse/run.sh starts it).

  abuse.py SOCK PID REF_SOCK WORKDIR

Sends the valid configuration (V) first, then 10,000 malformed or hostile
requests (9,100 one after the other, 900 from 100 concurrent clients),
re-sending V now and then, 100 clients hammering malformed requests as fast
as they can for 12 s while a well-behaved client must get its GET / answers
(ember's fds and RSS sampled meanwhile), clients that disconnect
mid-request, and slowloris clients. Afterwards: ember still runs and answers promptly, its
fd count is what it was, its RSS did not balloon, and GET /vm/config equals
that of the reference ember (REF_SOCK) which received V only. Every hostile
request must be refused (never 204) or left unanswered on a closed
connection. Prints "ok"/"FAIL" lines; the last line is
"abuse: N passed, N failed". Exit status 1 when anything failed."""
import json
import os
import random
import socket
import sys
import threading
import time

SOCK, PID, REF_SOCK, WORK = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
TIMEOUT = 10.0
rng = random.Random(7)
RSS_LIMIT_KB = int(os.environ.get("ABUSE_RSS_LIMIT_KB", "65536"))
# RSS growth allowed while 100 clients hammer: connection buffers are
# bounded by the slot count (64 x ~130 KiB at worst); run.sh allows more
# under ASan (its 16 MiB quarantine and redzones).
HAMMER_RSS_KB = int(os.environ.get("ABUSE_HAMMER_RSS_KB", "16384"))
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def connect(path=SOCK, timeout=None):
    # A full listen backlog (64) makes a Unix connect fail with EAGAIN:
    # back off and retry for up to 2 s, as a client would.
    for i in range(100):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout or TIMEOUT)
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            s.close()
            if i == 99:
                raise
            time.sleep(0.02)


def read_response(s):
    """One response: (status, body bytes), or (None, b'') if the server
    closed first. Raises socket.timeout if it neither answers nor closes."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            return None, b""
        if not d:
            return None, b""
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    status = int(parts[1])
    if status == 100:   # 100-continue: the real answer follows
        s2 = rest
        return read_after(s, s2)
    clen = 0
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            clen = int(v.strip())
    while len(rest) < clen:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    return status, rest[:clen]


def read_after(s, pre):
    class Pre:
        def __init__(self, sock, data):
            self.sock, self.data = sock, data

        def recv(self, n):
            if self.data:
                d, self.data = self.data, b""
                return d
            return self.sock.recv(n)
    return read_response(Pre(s, pre))


def http(method, path, body=None, sock=SOCK):
    b = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n".encode()
    if b:
        req += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(b)
    req += b"\r\n" + b
    s = connect(sock)
    try:
        s.sendall(req)
        return read_response(s)
    finally:
        s.close()


def raw(req, mode="full"):
    """Send raw bytes. mode full: read one answer; trunc: half-close first;
    rst: close with RST without reading. Returns the status or None;
    'hang' when the server neither answered nor closed in time."""
    try:
        s = connect()
    except OSError as e:
        return f"connect: {e}"
    try:
        try:
            s.sendall(req)
        except (BrokenPipeError, ConnectionResetError):
            pass   # refused early (e.g. oversized): the answer may still be there
        if mode == "rst":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            return None
        if mode == "trunc":
            s.shutdown(socket.SHUT_WR)
        return read_response(s)[0]
    except socket.timeout:
        return "hang"
    except OSError:
        return None
    finally:
        s.close()


# ---- the valid configuration ----
K = os.path.join(WORK, "vmlinux")
D0 = os.path.join(WORK, "rootfs.ext4")
D1 = os.path.join(WORK, "data.img")
VALID = [
    ("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "smt": False}),
    ("PUT", "/boot-source", {"kernel_image_path": K, "boot_args": "console=ttyS0 abuse=1"}),
    ("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": D0,
                               "is_root_device": True, "is_read_only": False}),
    ("PUT", "/drives/data", {"drive_id": "data", "path_on_host": D1, "is_root_device": False,
                             "is_read_only": True, "cache_type": "Writeback",
                             "rate_limiter": {"bandwidth": {"size": 1048576,
                                                            "refill_time": 100}}}),
    ("PATCH", "/machine-config", {"mem_size_mib": 512}),
]


def send_valid(sock=SOCK):
    for m, p, b in VALID:
        st, body = http(m, p, b, sock)
        if st != 204:
            return f"{m} {p} -> {st} {body[:200]!r}"
    return None


def valid_bytes(i):
    m, p, b = VALID[i % len(VALID)]
    body = json.dumps(b).encode()
    return (f"{m} {p} HTTP/1.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


# ---- hostile requests: each is refused whatever the server's state ----
def put(path, body, extra=b"", method=b"PUT"):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return (method + b" " + path.encode() + b" HTTP/1.1\r\nContent-Length: %d\r\n" % len(body) +
            extra + b"\r\n" + body)


BAD_NUMS = ["1e400", "18446744073709551616", "-1", "0", "1.5", "-0.0", "1e-400", "NaN",
            "Infinity", "99999999999999999999999999999999999999", "0x10", "00512", "\"512\"",
            "true", "null", "{}", "[]", "--1", "+1", "1e19", "2e308"]


def h_bogus_method():
    m = rng.choice([b"FOO", b"POST", b"HEAD", b"OPTIONS", b"CONNECT", b"TRACE", b"get", b"PUTT",
                    b"", b"G\0ET", b"\xff\xfe", b"PUT PUT", b"P" * 2000])
    return put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}, method=m), "full"


def h_bad_version():
    v = rng.choice([b"HTTP/2.0", b"HTTP/1.1 x", b"", b"HTTP/9", b"http/1.1", b"HTTP/1.1\0",
                    b"HTTP/1.10"])
    body = b'{"vcpu_count": 1, "mem_size_mib": 64}'
    return (b"PUT /machine-config " + v + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body,
            "full")


def h_long_line():
    n = rng.choice([1025, 4096, 70000])
    return b"GET /" + b"a" * n + b" HTTP/1.1\r\n\r\n", "full"


def h_many_headers():
    n = rng.choice([200, 1000, 3000])
    hdrs = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 20) for i in range(n))
    return put("/machine-config", {"vcpu_count": 1, "mem_size_mib": 0}, extra=hdrs), "full"


def h_long_header():
    return (b"GET / HTTP/1.1\r\nX-Long: " + b"z" * rng.choice([1100, 20000]) + b"\r\n\r\n",
            "full")


def h_bad_length():
    cl = rng.choice([b"Content-Length: 51201\r\n", b"Content-Length: 99999999999999999999999\r\n",
                     b"Content-Length: -1\r\n", b"Content-Length: abc\r\n",
                     b"Content-Length: 5\r\nContent-Length: 6\r\n",
                     b"Transfer-Encoding: chunked\r\n", b"Content-Length: 0x10\r\n",
                     b"Content-Length:\r\n", b"Content-Length: 1 2\r\n"])
    return b"PUT /machine-config HTTP/1.1\r\n" + cl + b"\r\n" + b"{" * 64, "full"


def h_big_body():
    n = rng.choice([51200, 51201, 200000])
    body = b"[" * n
    return (b"PUT /machine-config HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % n + body, "full")


def h_deep_json():
    n = rng.choice([100, 1000, 1001, 5000, 20000])
    kind = rng.randrange(3)
    if kind == 0:
        body = b"[" * n + b"]" * n
    elif kind == 1:
        body = b'{"a":' * n + b"1" + b"}" * n
    else:
        body = b'{"vcpu_count": 1, "mem_size_mib": ' + b"[" * n + b"]" * n + b"}"
    path = rng.choice(["/machine-config", "/boot-source", "/drives/rootfs", "/actions", "/vm",
                       "/logger"])
    return put(path, body, method=b"PATCH" if path == "/vm" else b"PUT"), "full"


def h_huge_numbers():
    # y is never valid for mem_size_mib. (null is left out for PATCH: ember
    # treats {"mem_size_mib": null} as "field absent" and answers 204 with no
    # change; Firecracker says "Empty PATCH request" - noted in the report.)
    x, y = rng.choice(BAD_NUMS), rng.choice([v for v in BAD_NUMS if v not in ("1.5", "null")])
    body = ('{"vcpu_count": %s, "mem_size_mib": %s}' % (x, y)).encode()
    r = rng.randrange(3)
    if r == 1:   # a rate limiter with silly numbers on a drive that cannot open
        body = json.dumps({"drive_id": "rootfs", "path_on_host": "/nonexistent/x",
                           "is_root_device": True}).encode()[:-1] + \
            (', "rate_limiter": {"bandwidth": {"size": %s, "refill_time": %s}}}' % (x, y)).encode()
        return put("/drives/rootfs", body), "full"
    if r == 2:
        return put("/machine-config", ('{"mem_size_mib": %s}' % y).encode(), method=b"PATCH"), "full"
    return put("/machine-config", body), "full"


def h_nulls():
    c = rng.choice([
        ("/boot-source", b"null"), ("/machine-config", b"null"), ("/drives/rootfs", b"[]"),
        ("/drives/rootfs", b'{"drive_id": "rootfs", "path_on_host": null, "is_root_device": true}'),
        ("/drives/rootfs", b'{"drive_id": null, "path_on_host": "%s", "is_root_device": true}' %
         D0.encode()),
        ("/drives/data", b'{"drive_id": "data", "path_on_host": "/nonexistent", '
                         b'"is_root_device": false, "rate_limiter": null}'),
        ("/drives/data", b'{"drive_id": "data", "path_on_host": "%s", "is_root_device": false, '
                         b'"rate_limiter": {"bandwidth": null, "ops": 5}}' % D1.encode()),
        ("/boot-source", b'{"kernel_image_path": null}'), ("/actions", b'{"action_type": null}'),
        ("/actions", b"{}"), ("/logger", b'{"level": null, "log_path": 7}'),
        ("/machine-config", b'{"vcpu_count": null, "mem_size_mib": null}'),
        ("/network-interfaces/eth0", b'{"iface_id": "eth0", "host_dev_name": null}'),
        ("/metrics", b'{"metrics_path": null}'), ("/boot-source", b'"string"'),
        ("/machine-config", b"42"), ("/machine-config", b'{"vcpu_count": {}, "mem_size_mib": []}'),
    ])
    return put(*c), "full"


def h_invalid_utf8():
    bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf",
                      b"\xe2\x82", b"\x80"])
    c = rng.randrange(4)
    if c == 0:
        return b"GET /vm/" + bad + b" HTTP/1.1\r\n\r\n", "full"
    if c == 1:
        return put("/drives/" + "x", b'{"drive_id": "' + bad + b'", "path_on_host": "%s", '
                   b'"is_root_device": false}' % D1.encode()), "full"
    if c == 2:   # a valid request except for the bytes in one string
        return put("/boot-source", b'{"kernel_image_path": "%s", "boot_args": "console=' %
                   K.encode() + bad + b'"}'), "full"
    return put("/machine-config", b'{"vcpu_count": 1, "mem_size_mib": 64, "' + bad + b'": 1}'), "full"


def h_bad_ids():
    i = rng.choice(["../etc", "a" * 65, "", "with space", "x%00", "\u00e9", "a/b", "rootfs/"])
    body = json.dumps({"drive_id": i, "path_on_host": D1, "is_root_device": False}).encode()
    return put("/drives/" + i.replace(" ", "%20"), body), "full"


def h_mismatch():
    body = json.dumps({"drive_id": "other", "path_on_host": D1, "is_root_device": False}).encode()
    return put("/drives/data", body), "full"


def h_unknown_fields():
    b = dict(VALID[rng.randrange(len(VALID))][2])
    b["surprise"] = rng.choice([1, None, "x", [], {}])
    m, p, _ = VALID[[v[2] for v in VALID].index(VALID[0][2])]
    path = rng.choice(["/machine-config", "/boot-source", "/drives/rootfs"])
    body = dict({"/machine-config": VALID[0][2], "/boot-source": VALID[1][2],
                 "/drives/rootfs": VALID[2][2]}[path])
    body["surprise"] = b["surprise"]
    return put(path, body), "full"


def h_garbage():
    # Half-closed: a request line without CRLF is legitimately "incomplete"
    # until EOF, which must then end the connection.
    n = rng.choice([1, 16, 512, 4096, 60000])
    return bytes(rng.getrandbits(8) for _ in range(min(n, 4096))) * (1 + n // 4096), "trunc"


def h_truncated():
    v = valid_bytes(rng.randrange(len(VALID)))
    return v[:rng.randrange(1, len(v))], "trunc"


def h_disconnect():
    v = valid_bytes(rng.randrange(len(VALID)))
    return v[:rng.randrange(1, len(v))], "rst"


def h_expect():
    return (b"PUT /machine-config HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 999999\r\n\r\n",
            "full")


def h_unsupported():
    p = rng.choice(["/vsock", "/balloon", "/mmds", "/snapshot/create", "/entropy", "/cpu-config",
                    "/hotplug/memory", "/serial", "/nonexistent", "//", "/drives", "/vm/config/x"])
    m = rng.choice([b"PUT", b"PATCH", b"DELETE"])
    return put(p, {"x": 1}, method=m), "full"


def h_post_boot_only():
    c = rng.choice([("/actions", {"action_type": "SendCtrlAltDel"}),
                    ("/actions", {"action_type": "FlushMetrics"}),
                    ("/actions", {"action_type": "Bogus"})])
    if rng.randrange(2):
        return put("/vm", {"state": rng.choice(["Paused", "Resumed", "Dead"])}, method=b"PATCH"), "full"
    return put(*c), "full"


HOSTILE = [h_bogus_method, h_bad_version, h_long_line, h_many_headers, h_long_header,
           h_bad_length, h_big_body, h_deep_json, h_huge_numbers, h_nulls, h_invalid_utf8,
           h_bad_ids, h_mismatch, h_unknown_fields, h_garbage, h_truncated, h_disconnect,
           h_expect, h_unsupported, h_post_boot_only]


def fd_count():
    return len(os.listdir(f"/proc/{PID}/fd"))


def rss_kb():
    with open(f"/proc/{PID}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def alive():
    try:
        os.kill(PID, 0)
        with open(f"/proc/{PID}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def max_conns():
    """API_HTTP_MAX_CONNS from src/api_http.h (the fd bound below)."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "src", "api_http.h")) as f:
        for ln in f:
            if ln.startswith("#define API_HTTP_MAX_CONNS"):
                return int(ln.split()[2])
    raise RuntimeError("API_HTTP_MAX_CONNS not found in src/api_http.h")


HAMMER_CLIENTS = 100
HAMMER_SECONDS = 12.0
HAMMER_BAD = [b"BREW / HTTP/1.1\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
              b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
              b"PUT /machine-config HTTP/1.1\r\nContent-Length: x\r\n\r\n",
              b"\x00\xff garbage\r\n\r\n", b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\n\r\n"]
# Well-formed HTTP, bad API request: a 400 that keeps the connection open.
HAMMER_BAD_API = (b"PUT /machine-config HTTP/1.1\r\nContent-Length: 9\r\n\r\n{\"vcpu\":}" +
                  b"PATCH /nowhere HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")


def hammer(k, stop, counts, lock):
    """One hammering client until stop: malformed requests as fast as it
    can. k % 4 picks the style: 0, 1: connect, send, read the 400, close;
    2: the same but keep the last 4 connections open without reading (they
    hold slots); 3: one keep-alive connection sending bad API requests."""
    r = random.Random(5000 + k)
    held, sent = [], 0
    s = None
    while not stop.is_set():
        try:
            if k % 4 == 3:
                if s is None:
                    s = connect(timeout=2.0)
                s.sendall(HAMMER_BAD_API)
                got = b""
                while got.count(b"HTTP/1.1 400") < 2:
                    d = s.recv(65536)
                    if not d:
                        raise ConnectionResetError
                    got += d
            else:
                c = connect(timeout=2.0)
                c.sendall(r.choice(HAMMER_BAD))
                if k % 4 == 2:
                    held.append(c)
                    if len(held) > 4:
                        held.pop(0).close()
                else:
                    c.recv(4096)
                    c.close()
            sent += 1
        except OSError:   # evicted, refused, reset: start again
            if s is not None:
                s.close()
                s = None
    for c in held + ([s] if s else []):
        c.close()
    with lock:
        counts.append(sent)


def hammer_phase():
    """100 clients hammer the API with malformed requests for
    HAMMER_SECONDS; meanwhile a well-behaved client asks GET / 10 times, each
    on a new connection, and ember's fds and RSS are sampled."""
    limit_conns = max_conns()
    stop = threading.Event()
    counts, lock = [], threading.Lock()
    time.sleep(0.5)
    fds0, rss0 = fd_count(), rss_kb()
    samples = []

    def monitor():
        while not stop.is_set():
            try:
                samples.append((fd_count(), rss_kb()))
            except OSError:
                pass
            time.sleep(0.05)

    ths = [threading.Thread(target=hammer, args=(k, stop, counts, lock))
           for k in range(HAMMER_CLIENTS)]
    ths.append(threading.Thread(target=monitor))
    for t in ths:
        t.start()
    time.sleep(1.0)
    tries = []
    for i in range(10):
        t0 = time.monotonic()
        try:
            s = connect(timeout=10.0)
            try:
                s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                st, body = read_response(s)
            finally:
                s.close()
            why = f"{st}"
        except OSError as e:
            st, why = None, e.__class__.__name__
        tries.append((st == 200, time.monotonic() - t0, why))
        time.sleep(0.3)
    stop.set()
    for t in ths:
        t.join(30)
    ok = sum(1 for o, _, _ in tries if o)
    lat = sorted(dt for o, dt, _ in tries if o)
    fast = sum(1 for o, dt, _ in tries if o and dt < 1.0)
    print(f"     hammer: {HAMMER_CLIENTS} clients sent {sum(counts)} malformed requests; "
          f"well-behaved GET /: {ok}/10 answered 200, {fast}/10 within 1 s (target 10), "
          f"max {max(lat) if lat else 0:.3f}s; answers: {[w for _, _, w in tries]}")
    check("100 hammering clients all stopped", not any(t.is_alive() for t in ths))
    check("a well-behaved client gets its 200 while 100 clients hammer the API "
          "(>= 9 of 10 tries)", ok >= 9, str(tries))
    fd_max = max(f for f, _ in samples)
    rss_max = max(r for _, r in samples)
    print(f"     hammer: at most {fd_max} fds ({fds0} before), RSS at most {rss_max} kB "
          f"({rss0} kB before)")
    # + 4: a connection just accepted, before its victim is closed (seen:
    # + 1), and some slack.
    check(f"fds stay bounded while hammered (<= {fds0} + {limit_conns} connections + 4)",
          fd_max <= fds0 + limit_conns + 4, f"max {fd_max} fds, {fds0} before")
    check(f"RSS stays bounded while hammered (< {HAMMER_RSS_KB} kB growth)",
          rss_max - rss0 < HAMMER_RSS_KB, f"max {rss_max} kB, {rss0} kB before")


def prompt_get(limit=1.0):
    t0 = time.monotonic()
    try:
        st, body = http("GET", "/")
    except OSError as e:
        return False, str(e)
    dt = time.monotonic() - t0
    return st == 200 and dt < limit, f"status {st} in {dt:.3f}s"


def main():
    # Reference: V alone on a fresh ember.
    err = send_valid(REF_SOCK)
    check("reference ember accepts the valid configuration", err is None, err or "")
    ref = json.loads(http("GET", "/vm/config", sock=REF_SOCK)[1])

    err = send_valid()
    check("ember accepts the valid configuration", err is None, err or "")
    time.sleep(0.2)
    fds0, rss0 = fd_count(), rss_kb()

    # 1. 9,100 hostile requests, one at a time, V re-sent every 500.
    accepted, hangs, by_status = [], [], {}
    t0 = time.monotonic()
    for i in range(9100):
        if i % 500 == 250:
            e = send_valid()
            if e:
                check(f"valid configuration re-sent at #{i}", False, e)
        gen = HOSTILE[i % len(HOSTILE)]
        req, mode = gen()
        st = raw(req, mode)
        by_status[st] = by_status.get(st, 0) + 1
        if st == 204 or (st == 200 and not req.startswith(b"GET")):
            accepted.append((gen.__name__, req[:300]))
        if st == "hang":
            hangs.append((gen.__name__, req[:200]))
        if not alive():
            break
    dt = time.monotonic() - t0
    print(f"     9100 sequential hostile requests in {dt:.1f}s; answers: " +
          ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items(), key=lambda kv: str(kv[0]))))
    check("ember survives 9,100 sequential hostile requests", alive())
    check("no hostile request was accepted", not accepted,
          "; ".join(f"{n}: {r!r}" for n, r in accepted[:5]))
    check("no hostile request hangs its connection", not hangs,
          "; ".join(f"{n}: {r!r}" for n, r in hangs[:5]))

    # 2. 100 concurrent clients x 10 requests (1 GET + 9 hostile): 10,000 hostile in all.
    results, accepted_conc = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(100)

    def client(k):
        r = random.Random(1000 + k)
        out = []
        barrier.wait()
        for j in range(10):
            if j == 0:   # one valid GET, nine hostile requests
                try:
                    st, _ = http("GET", "/machine-config")
                except OSError as e:
                    st = f"err {e.__class__.__name__}"
            else:
                req, mode = r.choice(HOSTILE[:15])()
                st = raw(req, mode)
                if st == 204:
                    st = "accepted"
                    with lock:
                        accepted_conc.append(req[:300])
            out.append(st)
        with lock:
            results.extend(out)

    ths = [threading.Thread(target=client, args=(k,)) for k in range(100)]
    t0 = time.monotonic()
    for t in ths:
        t.start()
    for t in ths:
        t.join(120)
    dt = time.monotonic() - t0
    counts = {}
    for st in results:
        counts[st] = counts.get(st, 0) + 1
    print(f"     100 concurrent clients, {len(results)} requests in {dt:.1f}s; answers: " +
          ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))))
    check("100 concurrent clients all finish", len(results) == 1000 and
          not any(t.is_alive() for t in ths), f"{len(results)} results")
    check("no concurrent request hangs or is accepted",
          "hang" not in counts and "accepted" not in counts,
          f"{counts} accepted: {accepted_conc[:3]!r}")
    check("ember survives 100 concurrent clients", alive())

    # 2b. 100 clients hammering as fast as they can, and one well-behaved client.
    hammer_phase()
    check("ember survives 100 hammering clients", alive())

    # 3. Clients that go away mid-request or without reading the answer.
    for i in range(300):
        v = valid_bytes(i)
        s = connect()
        try:
            if i % 3 == 0:     # half a request, then RST
                s.sendall(v[:len(v) // 2])
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            elif i % 3 == 1:   # pipelined GETs, never read
                s.sendall(b"GET /vm/config HTTP/1.1\r\n\r\n" * 2000)
            else:              # headers promise a body that never comes
                s.sendall(b"PUT /drives/rootfs HTTP/1.1\r\nContent-Length: 500\r\n\r\n{")
        except OSError:
            pass
        s.close()
    check("ember survives 300 clients that disconnect mid-request", alive())

    # 4. Slowloris: 5 clients dribble a request; others are served meanwhile.
    stop = threading.Event()

    def slow(k, n_bytes):
        req = valid_bytes(0)
        try:
            s = connect()
            for b in req[:n_bytes]:
                if stop.is_set():
                    break
                s.send(bytes([b]))
                time.sleep(0.1)
            s.close()
        except OSError:
            pass

    sl = [threading.Thread(target=slow, args=(k, 40)) for k in range(5)]
    for t in sl:
        t.start()
    time.sleep(0.5)
    oks = [prompt_get() for _ in range(5)]
    check("valid requests answered promptly during a 5-client slowloris", all(o for o, _ in oks),
          str(oks))
    stop.set()
    for t in sl:
        t.join()

    # More slow clients than API_HTTP_MAX_CONNS: a new client evicts the
    # one that has gone longest (> API_HTTP_EVICT_MS, 1 s) without a request.
    nslots = max_conns()
    stop.clear()
    sl = [threading.Thread(target=slow, args=(k, 40)) for k in range(nslots + 2)]
    for t in sl:
        t.start()
    time.sleep(1.5)
    oks = [prompt_get() for _ in range(3)]
    stop.set()
    for t in sl:
        t.join()
    check(f"valid requests answered during a {nslots + 2}-client slowloris",
          all(o for o, _ in oks), str(oks))

    # Stalled clients: every slot's connection sends half a request and
    # stops. A valid client still gets in (eviction), and ember closes the
    # stalled ones once they made no progress for API_HTTP_IDLE_MS (10 s).
    stalled = []
    for i in range(nslots):
        s = connect()
        s.sendall(valid_bytes(i)[:20])
        stalled.append(s)
        time.sleep(0.01)
    time.sleep(1.2)
    ok, why = prompt_get()
    check(f"valid request answered while {nslots} clients stall mid-request", ok, why)
    t0 = time.monotonic()
    closed = 0
    for s in stalled:
        s.settimeout(max(0.1, 14 - (time.monotonic() - t0)))
        try:
            while s.recv(4096):
                pass
            closed += 1
        except ConnectionResetError:
            closed += 1
        except OSError:
            pass
        s.close()
    dt = time.monotonic() - t0
    check("ember closes stalled connections after its idle timeout (~10 s)",
          closed == nslots and dt > 7, f"{closed}/{nslots} closed after {dt:.1f}s")

    # 5. Afterwards.
    time.sleep(0.5)
    check("ember is still running", alive())
    ok, why = prompt_get(0.5)
    check("a valid request is answered promptly afterwards", ok, why)
    fds1 = None
    for _ in range(20):   # closes may still be in flight
        fds1 = fd_count()
        if fds1 == fds0:
            break
        time.sleep(0.1)
    check("no fd leaked", fds1 == fds0, f"{fds0} fds before, {fds1} after")
    rss1 = rss_kb()
    check(f"RSS did not balloon (< {RSS_LIMIT_KB} kB growth)", rss1 - rss0 < RSS_LIMIT_KB,
          f"{rss0} kB before, {rss1} kB after")
    cfg = json.loads(http("GET", "/vm/config")[1])
    check("GET /vm/config equals what the valid requests set", cfg == ref,
          f"\n     got      {json.dumps(cfg, sort_keys=True)}\n"
          f"     expected {json.dumps(ref, sort_keys=True)}")
    mc = json.loads(http("GET", "/machine-config")[1])
    check("machine-config is the last valid one", mc.get("vcpu_count") == 2 and
          mc.get("mem_size_mib") == 512, str(mc))



if __name__ == "__main__":
    try:
        main()
    except Exception as e:   # a crash of the test itself is a failure too
        import traceback
        traceback.print_exc()
        check("abuse test ran to the end", False, repr(e))
    print(f"abuse-py: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
