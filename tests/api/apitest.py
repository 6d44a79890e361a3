#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Helpers for ember's API tests: start ember, talk to it with curl and with a
raw socket client, and check every response against api-spec/ember-api.yaml."""
import json
import os
import re
import socket
import subprocess
import tempfile
import time

import yaml
import jsonschema

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC_PATH = os.path.join(ROOT, "api-spec", "ember-api.yaml")


class Spec:
    """The OpenAPI 3.1 document; validates (method, path, status, body)."""

    def __init__(self, path=SPEC_PATH):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.routes = []
        for templ, item in self.doc["paths"].items():
            rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(templ)) + "/?$"
            self.routes.append((re.compile(rx), templ, item))

    def _schema(self, schema):
        # Resolve "#/components/..." refs inside one self-contained document.
        return dict(schema, components=self.doc["components"])

    def check(self, method, path, status, body):
        """Raise AssertionError if the response does not match the spec."""
        path = path.split("?")[0]
        op = None
        for rx, templ, item in self.routes:
            if rx.match(path) and method.lower() in item:
                op = item[method.lower()]
                break
        if op is None:
            # Paths ember does not serve: the default error shape applies.
            if status != 400:
                raise AssertionError(f"{method} {path}: {status} for a path not in the spec")
            resp = self.doc["components"]["responses"]["Error"]
        else:
            resps = op["responses"]
            resp = resps.get(str(status)) or resps.get("default")
            if resp is None:
                raise AssertionError(f"{method} {path}: status {status} not in the spec")
            if "$ref" in resp:
                resp = self.doc["components"]["responses"][resp["$ref"].split("/")[-1]]
        content = resp.get("content")
        if not content:
            if body:
                raise AssertionError(f"{method} {path}: {status} must have no body, got {body!r}")
            return
        schema = content["application/json"]["schema"]
        try:
            value = json.loads(body)
        except ValueError as e:
            raise AssertionError(f"{method} {path}: body is not JSON: {body!r} ({e})")
        jsonschema.validate(value, self._schema(schema),
                            cls=jsonschema.Draft202012Validator)


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def fault(self):
        return self.json().get("fault_message", "")

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r}>"


def parse_responses(data):
    """Split a byte stream into complete HTTP responses (1xx kept). Returns
    (list of Response, leftover bytes)."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out, data
        head = data[:end].decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", head[0])
        if not m:
            raise AssertionError(f"bad status line {head[0]!r}")
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if len(data) < end + 4 + n:
            return out, data
        body = data[end + 4:end + 4 + n].decode("utf-8", "replace")
        out.append(Response(int(m.group(1)), headers, body))
        data = data[end + 4 + n:]


class Raw:
    """A raw Unix-socket client for what curl cannot send."""

    def __init__(self, path, timeout=5.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def recv(self, count=1, timeout=5.0):
        """Read until `count` final (non-1xx) responses arrived."""
        got = []
        deadline = time.time() + timeout
        while True:
            rs, self.buf = parse_responses(self.buf)
            got += rs
            if len([r for r in got if r.status >= 200]) >= count:
                return got
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"timeout: got {got}, pending {self.buf[:200]!r}")
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                if got or not self.buf:
                    return got
                raise AssertionError(f"connection closed, pending {self.buf[:200]!r}")
            self.buf += chunk

    def recv_raw(self, timeout=2.0):
        """Everything until the peer closes or goes quiet."""
        data = b""
        self.s.settimeout(timeout)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pass
        return data

    def close(self):
        self.s.close()


def request_bytes(method, path, body=None, headers=()):
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
    b = b""
    if body is not None:
        b = body if isinstance(body, bytes) else body.encode()
        lines.append(f"Content-Length: {len(b)}")
        lines.append("Content-Type: application/json")
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + b


class Ember:
    """One ember process with its API socket."""

    def __init__(self, binary, args=(), sock=None, prefix=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="ember-api-")
        self.sock = sock or os.path.join(self.dir, "api.sock")
        self.log = os.path.join(self.dir, "stderr.log")
        self.stderr = open(self.log, "w")
        cmd = list(prefix) + [binary, "--api-sock", self.sock] + list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr, env=env)

    def wait_ready(self, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"ember exited {self.proc.returncode}: {self.output()}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                s.close()
                return self
            except OSError:
                time.sleep(0.005)
        raise AssertionError("API socket not ready: " + self.output())

    def output(self):
        self.stderr.flush()
        with open(self.log) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        return self.proc.returncode


def curl(sock, method, path, body=None, spec=None, extra=()):
    """One request through curl --unix-socket; checked against the spec."""
    cmd = ["curl", "-s", "-i", "--max-time", "10", "--unix-socket", sock, "-X", method]
    if body is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary",
                body if isinstance(body, str) else json.dumps(body)]
    cmd += list(extra)
    cmd.append("http://localhost" + path)
    out = subprocess.run(cmd, capture_output=True, timeout=15)
    if out.returncode != 0:
        raise AssertionError(f"curl {method} {path} failed ({out.returncode}): {out.stderr!r}")
    rs, rest = parse_responses(out.stdout)
    finals = [r for r in rs if r.status >= 200]
    if len(finals) != 1 or rest:
        raise AssertionError(f"curl {method} {path}: unexpected output {out.stdout!r}")
    r = finals[0]
    if spec:
        spec.check(method, path, r.status, r.body)
    return r
