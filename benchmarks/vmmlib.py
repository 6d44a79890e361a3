# SPDX-License-Identifier: Apache-2.0
"""Helpers of the Python benchmarks (snapshot.py, prefetch.py): a VMM child
whose console lines are timestamped as they arrive (and whose stdin can type
on the guest's console), and one-shot HTTP requests on a Unix socket."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

TIMEOUT = 120.0


def now():
    return time.monotonic()


class Console:
    """A child process whose stdout lines are timestamped as they arrive."""

    def __init__(self, argv, log, stdin=False):
        self.lines = []        # (time, line)
        self.cond = threading.Condition()
        self.log = open(log, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.p.stdout:
            t = now()
            self.log.write(raw)
            with self.cond:
                self.lines.append((t, raw.decode(errors="replace").strip("\r\n")))
                self.cond.notify_all()

    def wait(self, pattern, after=0.0, timeout=None):
        """Time of the first line matching pattern that arrived after `after`."""
        rx = re.compile(pattern)
        end = now() + (timeout or TIMEOUT)
        with self.cond:
            while True:
                for t, line in self.lines:
                    if t >= after and rx.search(line):
                        return t, line
                left = end - now()
                if left <= 0 or self.p.poll() is not None:
                    raise RuntimeError(f"no line /{pattern}/ (exit {self.p.poll()})")
                self.cond.wait(min(left, 0.2))

    def type(self, line):
        """Type a line on the guest's console (stdin=True)."""
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait()
        self.log.close()


def wait_path(path, timeout=30):
    end = now() + timeout
    while not os.path.exists(path):
        if now() > end:
            raise RuntimeError(f"{path} did not appear")
        time.sleep(0.005)


def http(sock, method, path, body=None):
    """One request on a fresh connection; returns (status, body, seconds)."""
    data = json.dumps(body).encode() if body is not None else b""
    req = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    s = socket.socket(socket.AF_UNIX)
    for _ in range(1000):   # the socket file exists from bind(), connect() from listen()
        try:
            s.connect(sock)
            break
        except ConnectionRefusedError:
            time.sleep(0.002)
    t0 = now()
    s.sendall(req)
    buf = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        buf += b
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"Content-Length: (\d+)", head)
            if len(rest) >= (int(m.group(1)) if m else 0):
                break
    t1 = now()
    s.close()
    status = int(buf.split(b" ")[1])
    return status, buf.partition(b"\r\n\r\n")[2].decode(errors="replace"), t1 - t0, t0


def ok(r, what):
    if r[0] // 100 != 2:
        raise RuntimeError(f"{what}: {r[0]} {r[1]}")
    return r
