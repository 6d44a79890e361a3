#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ember's API tests against a real ember binary: curl for well-formed
requests, a raw socket client for framing. Every response is checked against
api-spec/. Ends with "api: N passed, N failed, N skipped".

Usage: test_api.py EMBER_BINARY [TEST_NAME...]
Post-boot tests need /dev/kvm plus EMBER_KERNEL (and optionally
EMBER_ROOTFS) in the environment; otherwise they are skipped (said loudly)."""
import json
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from apitest import Ember, Raw, Spec, curl, request_bytes  # noqa: E402

EMBER = None
SPEC = Spec()
TESTS = []


class Skip(Exception):
    pass


def test(fn):
    TESTS.append(fn)
    return fn


EXTRA_ARGS = os.environ.get("EMBER_ARGS", "").split()


def start(args=(), **kw):
    e = Ember(EMBER, ["--id", "api-test"] + EXTRA_ARGS + list(args), **kw)
    return e.wait_ready()


def api(e, method, path, body=None, **kw):
    return curl(e.sock, method, path, body, spec=SPEC, **kw)


def expect(r, status, fault=None):
    assert r.status == status, f"expected {status}, got {r}"
    if fault is not None:
        assert fault in r.fault(), f"fault {r.fault()!r} lacks {fault!r}"


def tmpfile(content=b"", suffix=""):
    fd, path = tempfile.mkstemp(prefix="ember-api-", suffix=suffix)
    os.write(fd, content)
    os.close(fd)
    return path


def with_ember(fn):
    """Decorator: run the test with a fresh ember, always stopped after."""
    def run():
        e = start()
        try:
            fn(e)
        finally:
            e.stop()
    run.__name__ = fn.__name__
    return run


# ---- pre-boot endpoints ----

@test
@with_ember
def test_instance_info(e):
    r = api(e, "GET", "/")
    expect(r, 200)
    j = r.json()
    assert j["id"] == "api-test" and j["state"] == "Not started", j
    assert r.headers.get("content-type") == "application/json"
    expect(api(e, "GET", "/version"), 200)
    expect(api(e, "GET", "/", "{}"), 400, "GET request cannot have a body.")


@test
@with_ember
def test_machine_config(e):
    r = api(e, "GET", "/machine-config")
    expect(r, 200)
    assert r.json() == {"vcpu_count": 1, "mem_size_mib": 128, "smt": False,
                        "track_dirty_pages": False, "huge_pages": "None"}, r.json()
    r = api(e, "PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "smt": True})
    expect(r, 204)
    assert r.body == "" and "content-length" not in r.headers
    expect(api(e, "PATCH", "/machine-config", {"mem_size_mib": 512}), 204)
    j = api(e, "GET", "/machine-config").json()
    assert j["vcpu_count"] == 2 and j["mem_size_mib"] == 512 and j["smt"] is True, j
    expect(api(e, "PUT", "/machine-config", {"vcpu_count": 2}), 400, "missing field `mem_size_mib`")
    expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64, "x": 1}), 400,
           "unknown field `x`")
    expect(api(e, "PUT", "/machine-config", {"vcpu_count": "1", "mem_size_mib": 64}), 400,
           "invalid type")
    expect(api(e, "PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 64}), 400,
           "Machine config error: The number of vCPUs")
    expect(api(e, "PUT", "/machine-config", {"vcpu_count": 3, "mem_size_mib": 64, "smt": True}),
           400, "The number of vCPUs")
    expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 0}), 400,
           "The memory size (MiB) is either 0")
    expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64,
                                             "huge_pages": "Transparent"}), 400, "ember does not support")
    expect(api(e, "PATCH", "/machine-config", {}), 400, "Empty PATCH request.")
    expect(api(e, "PUT", "/machine-config", "{\"vcpu_count\":"), 400,
           "An error occurred when deserializing the json body of a request")
    # PUT resets optional fields.
    expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}), 204)
    assert api(e, "GET", "/machine-config").json()["smt"] is False


@test
@with_ember
def test_cpu_template(e):
    # Firecracker's x86_64 static templates are accepted and shown; a request
    # whose body has cpu_template (even "None") answers with
    # "Deprecation: true", right after Connection, errors included.
    for name in ("C3", "T2", "T2S", "T2CL", "T2A", "None"):
        r = api(e, "PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256,
                                              "cpu_template": name})
        expect(r, 204)
        assert r.headers.get("deprecation") == "true", r.headers
        j = api(e, "GET", "/machine-config").json()
        assert j.get("cpu_template") == (None if name == "None" else name), j
    raw = Raw(e.sock)
    raw.send(request_bytes("PATCH", "/machine-config", '{"cpu_template": "T2A"}'))
    raw.send(request_bytes("PATCH", "/machine-config", '{"cpu_template": 1}'))
    ok, bad = raw.recv(2)
    assert ok.status == 204 and list(ok.headers.items()) == [
        ("server", "Firecracker API"), ("connection", "keep-alive"), ("deprecation", "true")], ok.headers
    assert bad.status == 400 and list(bad.headers) == [
        "server", "connection", "content-type", "content-length"], bad.headers
    r = api(e, "GET", "/machine-config")
    assert "deprecation" not in r.headers, r.headers
    assert list(r.json()) == ["vcpu_count", "mem_size_mib", "smt", "cpu_template",
                              "track_dirty_pages", "huge_pages"], r.json()
    # A PUT without it keeps the template (Firecracker does too); no header.
    r = api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
    expect(r, 204)
    assert "deprecation" not in r.headers, r.headers
    assert api(e, "GET", "/vm/config").json()["machine-config"]["cpu_template"] == "T2A"
    r = api(e, "PUT", "/machine-config", {"vcpu_count": 0, "mem_size_mib": 128,
                                          "cpu_template": "T2"})
    expect(r, 400, "Machine config error: The number of vCPUs")
    assert r.headers.get("deprecation") == "true", r.headers
    for bad in ("V1N1", "t2a", "Milan"):
        r = api(e, "PATCH", "/machine-config", {"cpu_template": bad})
        expect(r, 400, "An error occurred when deserializing the json body of a request: "
               f"unknown variant `{bad}`, expected one of `C3`, `T2`, `T2S`, `None`, `T2CL`, "
               "`T2A` at line 1 column ")
        assert "(field `cpu_template`)." in r.fault(), r.fault()
        assert "deprecation" not in r.headers, r.headers
    assert api(e, "GET", "/machine-config").json()["cpu_template"] == "T2A"


@test
@with_ember
def test_boot_source(e):
    expect(api(e, "PUT", "/boot-source", {"kernel_image_path": "/nonexistent/vmlinux"}), 400,
           "Boot source error: The kernel file cannot be opened: No such file or directory (os error 2)"
           " (kernel_image_path /nonexistent/vmlinux)")
    expect(api(e, "PUT", "/boot-source", {}), 400, "missing field `kernel_image_path`")
    expect(api(e, "PATCH", "/boot-source", {"kernel_image_path": "/x"}), 400,
           "Invalid request method and/or path: PATCH boot-source.")
    k = tmpfile(b"not a kernel")
    try:
        expect(api(e, "PUT", "/boot-source", {"kernel_image_path": k, "boot_args": "console=ttyS0",
                                              "unknown": 1}), 400, "unknown field `unknown`")
        expect(api(e, "PUT", "/boot-source", {"kernel_image_path": k, "boot_args": "console=ttyS0"}), 204)
        cfg = api(e, "GET", "/vm/config").json()
        assert cfg["boot-source"] == {"kernel_image_path": k, "initrd_path": None,
                                      "boot_args": "console=ttyS0"}, cfg
    finally:
        os.unlink(k)


@test
@with_ember
def test_fifo_and_other_non_files(e):
    # A FIFO with no writer: opening it for reading would block ember's
    # main thread (API, devices, signals) forever. Each PUT answers 400
    # naming the path and what it is, and ember keeps serving.
    d = tempfile.mkdtemp(prefix="ember-api-")
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    k = tmpfile(b"not a kernel")
    try:
        expect(api(e, "PUT", "/boot-source", {"kernel_image_path": fifo}), 400,
               f"kernel_image_path {fifo} is a FIFO, not a regular file")
        expect(api(e, "PUT", "/boot-source", {"kernel_image_path": k, "initrd_path": fifo}), 400,
               f"initrd_path {fifo} is a FIFO, not a regular file")
        for ro in (True, False):
            expect(api(e, "PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": fifo,
                                                     "is_root_device": True, "is_read_only": ro}),
                   400, f"path_on_host: {fifo} is a FIFO, not a regular file or a block device")
        expect(api(e, "PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": d,
                                                 "is_root_device": True, "is_read_only": True}),
               400, f"path_on_host: {d} is a directory")
        expect(api(e, "PUT", "/boot-source", {"kernel_image_path": "/dev/null"}), 400,
               "kernel_image_path /dev/null is a character device, not a regular file")
        cfg = api(e, "GET", "/vm/config").json()
        assert cfg["drives"] == [] and cfg["boot-source"]["kernel_image_path"] == "", cfg
        expect(api(e, "PUT", "/boot-source", {"kernel_image_path": k}), 204)
    finally:
        os.unlink(k)
        os.unlink(fifo)
        os.rmdir(d)


@test
@with_ember
def test_drives(e):
    d = tmpfile(b"\0" * 4096)
    try:
        root = {"drive_id": "rootfs", "path_on_host": d, "is_root_device": True, "is_read_only": True}
        expect(api(e, "PUT", "/drives/rootfs", root), 204)
        expect(api(e, "PUT", "/drives/other", root), 400,
               "The id from the path does not match the id from the body!")
        expect(api(e, "PUT", "/drives/bad-id", dict(root, drive_id="bad-id")), 400,
               "API Resource IDs can only contain alphanumeric characters and underscores.")
        expect(api(e, "PUT", "/drives/root2", dict(root, drive_id="root2")), 400,
               "Drive config error: A root block device already exists!")
        expect(api(e, "PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": "/nonexistent",
                                            "is_root_device": False}), 400, "os error 2")
        expect(api(e, "PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": d}), 400,
               "missing field `is_root_device`")
        expect(api(e, "PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": d,
                                            "is_root_device": False, "cache_type": "Writeback"}), 204)
        expect(api(e, "PATCH", "/drives/d1", {"drive_id": "d1", "path_on_host": d}), 400,
               "not supported before starting")
        cfg = api(e, "GET", "/vm/config").json()
        assert [x["drive_id"] for x in cfg["drives"]] == ["rootfs", "d1"], cfg
        assert cfg["drives"][1]["cache_type"] == "Writeback"
    finally:
        os.unlink(d)


def seccomp_errno_file(syscall, errno):
    """A --seccomp-filter file that allows everything but `syscall` on the
    main thread, which fails with `errno` (as on a host without it)."""
    path = tmpfile(json.dumps({
        "main": {"default_action": "allow", "filter_action": {"errno": errno},
                 "filter": [{"syscall": syscall}]},
        "vcpu": {"default_action": "allow", "filter_action": "trap", "filter": []},
    }).encode(), suffix=".json")
    return path


@test
@with_ember
def test_drive_io_engine_async(e):
    d = tmpfile(b"\0" * 4096)
    try:
        body = {"drive_id": "data", "path_on_host": d, "is_root_device": False, "io_engine": "Async"}
        expect(api(e, "PUT", "/drives/data", body), 204)
        expect(api(e, "PUT", "/drives/sync", dict(body, drive_id="sync", io_engine="Sync")), 204)
        drives = api(e, "GET", "/vm/config").json()["drives"]
        assert [(x["drive_id"], x["io_engine"]) for x in drives] == [("data", "Async"), ("sync", "Sync")], drives
        expect(api(e, "PUT", "/drives/data", dict(body, io_engine="async")), 400,
               "unknown variant `async`, expected `Sync` or `Async`")
    finally:
        os.unlink(d)


@test
def test_drive_io_engine_async_unsupported():
    # A host without io_uring (ENOSYS) or with it disabled
    # (kernel.io_uring_disabled: EPERM), simulated with a seccomp filter file
    # that fails io_uring_setup with that errno.
    if "--no-seccomp" in EXTRA_ARGS:
        raise Skip("simulated through a --seccomp-filter file")
    d = tmpfile(b"\0" * 4096)
    try:
        for errno in (38, 1):
            f = seccomp_errno_file("io_uring_setup", errno)
            e = start(["--seccomp-filter", f])
            try:
                body = {"drive_id": "data", "path_on_host": d, "is_root_device": False,
                        "io_engine": "Async"}
                r = api(e, "PUT", "/drives/data", body)
                expect(r, 400)
                assert r.fault() == ("Drive config error: Unable to create the virtio block device: "
                                     "Virtio backend error: Error coming from the IO engine: "
                                     "Unsupported engine type: Async"), r
                assert api(e, "GET", "/vm/config").json()["drives"] == []
                expect(api(e, "PUT", "/drives/data", dict(body, io_engine="Sync")), 204)
            finally:
                e.stop()
                os.unlink(f)
    finally:
        os.unlink(d)


@test
def test_network_interfaces():
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        raise Skip("needs root and /dev/net/tun")
    # Taps are created in a network namespace of our own: ember opens
    # existing taps only.
    e = start(prefix=["unshare", "--net", "--", "sh", "-c",
                      "ip tuntap add ember-tap0 mode tap && ip tuntap add ember-tap1 mode tap"
                      " && exec \"$@\"", "sh"])
    try:
        # Firecracker's sentence, then ember's reason.
        expect(api(e, "PUT", "/network-interfaces/eth9", {"iface_id": "eth9", "host_dev_name": "nosuchtap"}),
               400, "Network config error: Could not create the network device: Open tap device failed: "
               "Error while creating ifreq structure: No such device (os error 19). Invalid TUN/TAP "
               "Backend provided by nosuchtap. Check our documentation on setting up the network "
               "devices. (tap device nosuchtap does not exist")
        body = {"iface_id": "eth0", "host_dev_name": "ember-tap0", "guest_mac": "06:00:AC:10:00:02"}
        expect(api(e, "PUT", "/network-interfaces/eth0", body), 204)
        expect(api(e, "PUT", "/network-interfaces/eth0", body), 204)  # replace: same tap again
        # A failed replacement leaves the interface as it was, tap attached.
        expect(api(e, "PUT", "/network-interfaces/eth0", dict(body, host_dev_name="nosuchtap")),
               400, "tap device nosuchtap does not exist")
        cfg = api(e, "GET", "/vm/config").json()
        assert [(x["iface_id"], x["host_dev_name"]) for x in cfg["network-interfaces"]] == \
            [("eth0", "ember-tap0")], cfg
        expect(api(e, "PUT", "/network-interfaces/eth0", dict(body, host_dev_name="ember-tap1")), 204)
        expect(api(e, "PUT", "/network-interfaces/eth0", dict(body, host_dev_name="x" * 16)), 400,
               "host_dev_name")
        expect(api(e, "PUT", "/network-interfaces/eth0", body), 204)  # tap1 released, tap0 free
        expect(api(e, "PUT", "/network-interfaces/eth1", dict(body, iface_id="eth1",
                                                            host_dev_name="ember-tap1")), 400,
               "Network config error: The MAC address is already in use: 06:00:AC:10:00:02")
        expect(api(e, "PUT", "/network-interfaces/eth1", dict(body, iface_id="eth2")), 400,
               "The id from the path [eth1] does not match the id from the body [eth2]!")
        expect(api(e, "PUT", "/network-interfaces/eth1", {"iface_id": "eth1"}), 400,
               "missing field `host_dev_name`")
        expect(api(e, "PATCH", "/network-interfaces/eth0", {"iface_id": "eth0"}), 400,
               "not supported before starting")
        cfg = api(e, "GET", "/vm/config").json()
        assert cfg["network-interfaces"] == [{
            "iface_id": "eth0", "host_dev_name": "ember-tap0", "guest_mac": "06:00:ac:10:00:02",
            "mtu": None, "rx_rate_limiter": None, "tx_rate_limiter": None}], cfg
    finally:
        e.stop()


@test
@with_ember
def test_logger(e):
    log = tmpfile()
    try:
        expect(api(e, "PUT", "/logger", {"log_path": log, "level": "Info", "show_level": True,
                                         "show_log_origin": True}), 204)
        api(e, "GET", "/machine-config")
        expect(api(e, "PUT", "/logger", {"level": "Loud"}), 400, "unknown variant `Loud`")
        expect(api(e, "PUT", "/logger", {"level": "Debug"}), 204)  # repeatable before boot
        time.sleep(0.05)
        text = open(log).read()
        assert 'The API server received a GET request on "/machine-config".' in text, text
        assert "Received Error. Status code: 400 Bad Request." in text, text
    finally:
        os.unlink(log)


@test
@with_ember
def test_logger_module(e):
    log = tmpfile()
    try:
        expect(api(e, "PUT", "/logger", {"module": "vmm::builder"}), 400,
               'Logger error: module "vmm::builder" is not one of ember\'s modules')
        expect(api(e, "PUT", "/logger", {"module": "src/api.c"}), 400, "not one of ember's modules")
        # "src::api" is "src/api": src/api.c (the request lines), api_http.c
        # and api_vm.c; the Debug level does not bring the other modules in.
        expect(api(e, "PUT", "/logger", {"log_path": log, "level": "Debug", "module": "src::api",
                                         "show_log_origin": True}), 204)
        api(e, "GET", "/machine-config")
        expect(api(e, "PUT", "/logger", {"module": "virtio"}), 204)
        api(e, "GET", "/version")  # filtered out: no virtio line comes of it
        expect(api(e, "PUT", "/logger", {"module": ""}), 204)
        api(e, "GET", "/vm/config")
        time.sleep(0.05)
        text = open(log).read()
        assert 'request on "/machine-config"' in text, text
        assert 'request on "/version"' not in text, text
        assert 'request on "/vm/config"' in text, text
        filtered = text.split('request on "/vm/config"')[0].splitlines()[:-1]
        assert filtered and all(re.search(r" \[api(_http|_vm)?\.c:\d+\] ", x) for x in filtered), text
    finally:
        os.unlink(log)
    # The same rule for --module; a bad one is a command-line error (153).
    p = subprocess.run([EMBER, "--module", "vmm", "--api-sock", e.sock + ".2"],
                       capture_output=True, timeout=10)
    assert p.returncode == 153 and b"--module 'vmm' is not one of ember's modules" in p.stderr, p


@test
@with_ember
def test_serial(e):
    d = tempfile.mkdtemp(prefix="ember-api-")
    out, fifo = os.path.join(d, "console.log"), os.path.join(d, "console.fifo")
    os.mkfifo(fifo)
    try:
        assert "serial" not in api(e, "GET", "/vm/config").json()
        expect(api(e, "PUT", "/serial", {}), 204)
        assert api(e, "GET", "/vm/config").json()["serial"] == \
            {"serial_out_path": None, "rate_limiter": None}
        bucket = {"size": 1024, "one_time_burst": 65536, "refill_time": 1000}
        expect(api(e, "PUT", "/serial", {"serial_out_path": out, "rate_limiter": bucket}), 204)
        assert os.path.isfile(out)  # created at PUT time
        assert api(e, "GET", "/vm/config").json()["serial"] == \
            {"serial_out_path": out, "rate_limiter": bucket}
        # A FIFO nobody reads: accepted at once, ember keeps serving.
        expect(api(e, "PUT", "/serial", {"serial_out_path": fifo}), 204)
        expect(api(e, "GET", "/"), 200)
        for body, fault in [
                ({"serial_out_path": d}, f"Serial config error: serial_out_path: {d} is a directory, "
                                         "not a regular file or a FIFO"),
                ({"serial_out_path": "/dev/null"}, "/dev/null is a character device"),
                ({"serial_out_path": "/nonexistent/x"}, "cannot open /nonexistent/x: No such file"),
                ({"serial_out_path": ""}, "serial_out_path is empty"),
                ({"rate_limiter": {"bandwidth": bucket}}, "missing field `size`"),
                ({"rate_limiter": {"size": 1}}, "missing field `refill_time`"),
                ({"serial_in_path": out}, "unknown field `serial_in_path`")]:
            expect(api(e, "PUT", "/serial", body), 400, fault)
        # Nothing changed by the refusals.
        assert api(e, "GET", "/vm/config").json()["serial"] == \
            {"serial_out_path": fifo, "rate_limiter": None}
        expect(api(e, "GET", "/serial"), 400, "Invalid request method and/or path: GET serial.")
    finally:
        for f in (out, fifo):
            if os.path.exists(f):
                os.unlink(f)
        os.rmdir(d)


@test
@with_ember
def test_metrics(e):
    m = tmpfile()
    try:
        expect(api(e, "PUT", "/metrics", {}), 400, "missing field `metrics_path`")
        expect(api(e, "PUT", "/metrics", {"metrics_path": m}), 204)
        expect(api(e, "PUT", "/metrics", {"metrics_path": m}), 400,
               "Reinitialization of metrics not allowed.")
        expect(api(e, "PUT", "/actions", {"action_type": "FlushMetrics"}), 400,
               "not supported before starting")
    finally:
        os.unlink(m)


@test
@with_ember
def test_actions_pre_boot(e):
    expect(api(e, "PUT", "/actions", {"action_type": "InstanceStart"}), 400,
           "Start microvm error: Cannot start microvm without kernel configuration.")
    expect(api(e, "PUT", "/actions", {"action_type": "SendCtrlAltDel"}), 400,
           "not supported before starting")
    expect(api(e, "PUT", "/actions", {"action_type": "Reboot"}), 400, "unknown variant `Reboot`")
    expect(api(e, "PATCH", "/vm", {"state": "Paused"}), 400, "not supported before starting")
    # A start that fails (not a kernel; or no KVM) is not fatal.
    k = tmpfile(b"\x7fELF garbage" + b"\0" * 100)
    try:
        expect(api(e, "PUT", "/boot-source", {"kernel_image_path": k}), 204)
        r = api(e, "PUT", "/actions", {"action_type": "InstanceStart"})
        expect(r, 400, "Start microvm error")
        assert api(e, "GET", "/").json()["state"] == "Not started"
        expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}), 204)
    finally:
        os.unlink(k)


@test
@with_ember
def test_unsupported_and_unknown(e):
    for p in ["/vsock", "/balloon", "/entropy", "/mmds", "/mmds/config", "/pmem/p0",
              "/hotplug/memory", "/cpu-config"]:
        expect(api(e, "PUT", p, {}), 400, "ember does not support")
    expect(api(e, "GET", "/balloon"), 400, "ember does not support")
    expect(api(e, "GET", "/nope"), 400, "Invalid request method and/or path: GET nope.")
    expect(api(e, "PUT", "/machine-config"), 400, "Empty PUT request.")
    expect(api(e, "DELETE", "/machine-config"), 400, "Invalid request method and/or path")


@test
@with_ember
def test_snapshot_pre_boot(e):
    """Snapshot requests before any VM: create is post-boot; a load with a bad
    state file, a damaged one or a short memory file is a 400 naming the
    problem and ember keeps answering (still "Not started"); the deprecated
    mem_file_path and enable_diff_snapshots get "Deprecation: true"."""
    create = {"snapshot_path": "/tmp/none.state", "mem_file_path": "/tmp/none.mem"}
    expect(api(e, "PUT", "/snapshot/create", create), 400,
           "not supported before starting the microVM")
    r = api(e, "PUT", "/snapshot/load", {"snapshot_path": "/nonexistent/s"})
    expect(r, 400, "missing field: either `mem_backend` or `mem_file_path` is required")
    assert "deprecation" not in r.headers
    mem = tmpfile(b"\0" * 4096)
    state = tmpfile(b"EMBERSNP" + b"\0" * 100)
    try:
        r = api(e, "PUT", "/snapshot/load", {"snapshot_path": state, "mem_file_path": mem})
        expect(r, 400, f"Load snapshot error: snapshot_path {state}: format version 0.0: this ember reads 1.x")
        assert r.headers.get("deprecation") == "true", r.headers
        with open(state, "wb") as f:
            f.write(b"not a snapshot at all")
        r = api(e, "PUT", "/snapshot/load", {"snapshot_path": state,
                                              "mem_backend": {"backend_type": "File",
                                                              "backend_path": mem},
                                              "enable_diff_snapshots": True})
        expect(r, 400, "bad magic: not an ember snapshot state file")
        assert r.headers.get("deprecation") == "true", r.headers
        r = api(e, "PUT", "/snapshot/load", {"snapshot_path": state,
                                              "mem_backend": {"backend_type": "File",
                                                              "backend_path": mem}})
        expect(r, 400, "bad magic")
        assert "deprecation" not in r.headers
        assert api(e, "GET", "/").json()["state"] == "Not started"
        # After a boot resource: refused with Firecracker's message.
        expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}), 204)
        expect(api(e, "PUT", "/snapshot/load", {"snapshot_path": state, "mem_file_path": mem}),
               400, "Loading a microVM snapshot not allowed after configuring boot-specific "
               "resources.")
    finally:
        os.unlink(mem)
        os.unlink(state)


@test
def test_snapshot_cli():
    """--snapshot-version prints the format ember writes; --describe-snapshot
    prints a state file's version, or exits 1 with one line naming the file
    and the problem."""
    p = subprocess.run([EMBER, "--snapshot-version"], capture_output=True, timeout=10)
    assert p.returncode == 0 and p.stdout == b"v1.1.0\n", p
    bad = tmpfile(b"EMBERSNP" + b"\0" * 100)
    try:
        p = subprocess.run([EMBER, "--describe-snapshot", bad], capture_output=True, timeout=10)
        assert p.returncode == 1 and not p.stdout, p
        assert p.stderr.decode() == (f"ember: --describe-snapshot {bad}: format version 0.0: "
                                     "this ember reads 1.x (written by ember )\n"), p
    finally:
        os.unlink(bad)
    p = subprocess.run([EMBER, "--describe-snapshot", "/nonexistent"], capture_output=True,
                       timeout=10)
    assert p.returncode == 1 and b"/nonexistent: No such file" in p.stderr, p


@test
def test_no_vmgenid_flag():
    """--no-vmgenid is a flag: accepted (the API serves as usual, --help lists
    it), refused with a value, naming the option."""
    e = start(["--no-vmgenid"])
    try:
        expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}), 204)
        assert api(e, "GET", "/").json()["state"] == "Not started"
    finally:
        e.stop()
    p = subprocess.run([EMBER, "--help"], capture_output=True, timeout=10)
    assert p.returncode == 0 and b"--no-vmgenid" in p.stdout, p
    p = subprocess.run([EMBER, "--no-vmgenid=1"], capture_output=True, timeout=10)
    assert p.returncode == 153 and b"option '--no-vmgenid' takes no value" in p.stderr, p


@test
@with_ember
def test_vm_config(e):
    r = api(e, "GET", "/vm/config")
    expect(r, 200)
    assert set(r.json()) == {"balloon", "drives", "boot-source", "cpu-config", "logger",
                             "machine-config", "metrics", "mmds-config", "network-interfaces",
                             "vsock", "entropy", "pmem", "memory-hotplug"}


# ---- transport ----

@test
@with_ember
def test_socket_mode_and_reuse(e):
    st = os.stat(e.sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    # A second ember on the same live socket refuses to start.
    p = subprocess.run([EMBER, "--api-sock", e.sock], capture_output=True, timeout=10)
    assert p.returncode != 0, p
    assert b"already used" in p.stderr or b"in use" in p.stderr, p.stderr
    expect(api(e, "GET", "/"), 200)


@test
def test_stale_socket_removed():
    d = tempfile.mkdtemp(prefix="ember-api-")
    path = os.path.join(d, "api.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # leaves a socket file nobody listens on
    e = start(sock=path)
    try:
        expect(api(e, "GET", "/"), 200)
    finally:
        e.stop()
    assert not os.path.exists(path), "socket not removed at exit"


@test
@with_ember
def test_keepalive_and_pipelining(e):
    c = Raw(e.sock)
    for _ in range(3):
        c.send(request_bytes("GET", "/machine-config"))
        r = c.recv(1)[0]
        assert r.status == 200 and r.headers.get("connection") == "keep-alive", r
    c.send(request_bytes("PUT", "/machine-config", '{"vcpu_count":2,"mem_size_mib":64}') +
           request_bytes("GET", "/machine-config") +
           request_bytes("PUT", "/boot-source", '{"kernel_image_path":"/nope"}') +
           request_bytes("GET", "/"))
    rs = c.recv(4)
    assert [r.status for r in rs] == [204, 200, 400, 200], rs
    assert rs[1].json()["vcpu_count"] == 2
    for r, (m, p) in zip(rs, [("PUT", "/machine-config"), ("GET", "/machine-config"),
                              ("PUT", "/boot-source"), ("GET", "/")]):
        SPEC.check(m, p, r.status, r.body)
    # Connection: close from the client is ignored (Firecracker's behaviour).
    c.send(request_bytes("GET", "/", headers=["Connection: close"]))
    assert c.recv(1)[0].status == 200
    c.send(request_bytes("GET", "/"))
    assert c.recv(1)[0].status == 200
    c.close()


@test
@with_ember
def test_split_writes(e):
    c = Raw(e.sock)
    data = request_bytes("PUT", "/machine-config", '{"vcpu_count":4,"mem_size_mib":128}')
    for i in range(len(data)):
        c.send(data[i:i + 1])
        if i % 7 == 0:
            time.sleep(0.001)
    r = c.recv(1)[0]
    assert r.status == 204, r
    assert api(e, "GET", "/machine-config").json()["vcpu_count"] == 4
    c.close()


@test
@with_ember
def test_two_clients_and_a_stuck_one(e):
    stuck = Raw(e.sock)
    stuck.send(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"vcpu")  # never finished
    half = Raw(e.sock)
    half.send(b"GET /machine-con")
    other = Raw(e.sock)
    other.send(request_bytes("GET", "/"))
    assert other.recv(1)[0].status == 200
    expect(api(e, "GET", "/version"), 200)
    half.send(b"fig HTTP/1.1\r\n\r\n")
    assert half.recv(1)[0].status == 200
    # Concurrent curl clients while the stuck one is still open.
    results = []

    def worker():
        for _ in range(5):
            results.append(api(e, "GET", "/machine-config").status)
    ts = [threading.Thread(target=worker) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert results == [200] * 15, results
    for c in (stuck, half, other):
        c.close()
    expect(api(e, "GET", "/"), 200)


def expect_framing_error(e, bad, text=b""):
    """bad, sent on a new connection, gets the framing error 400 with text."""
    c = Raw(e.sock)
    c.send(bad)
    data = c.recv_raw()
    assert data.startswith(b"HTTP/1.1 400 \r\n"), (bad[:40], data)
    assert b"All previous unanswered requests will be dropped." in data, data
    assert text in data, (bad[:40], data)
    c.close()


@test
@with_ember
def test_bad_framing(e):
    for bad in [b"FOO / HTTP/1.1\r\n\r\n", b"GET / HTTP/2.0\r\n\r\n", b"GET /\r\n\r\n",
                b"PUT / HTTP/1.1\r\nContent-Length: x\r\n\r\n", b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n"]:
        expect_framing_error(e, bad)
    expect(api(e, "GET", "/"), 200)


@test
@with_ember
def test_header_name_whitespace(e):
    # RFC 9112 section 5.1: whitespace between a field name and its colon is
    # a 400, and so is a folded line (a name is a token).
    for bad in [b"Host : localhost\r\n", b"Content-Length\t: 2\r\n",
                b"X: y\r\n Content-Length: 2\r\n"]:
        expect_framing_error(e, b"PUT /machine-config HTTP/1.1\r\n" + bad + b"\r\n{}",
                             b"Invalid header.")
    expect(api(e, "GET", "/"), 200)


@test
@with_ember
def test_max_header_and_body(e):
    # A header block at its limit (16 KiB) with a body at its limit fits the
    # input buffer: answered at once, not after the 10 s idle timeout.
    body = b'{"vcpu_count":1,"mem_size_mib":64}'
    body += b" " * (51200 - len(body))

    def head(size):   # a header block of exactly size bytes
        h = b"PUT /machine-config HTTP/1.1\r\nContent-Length: 51200\r\n"
        while size - len(h) > 1002:
            h += b"X-Filler: " + b"f" * 988 + b"\r\n"
        return h + b"X-Pad: " + b"p" * (size - len(h) - 11) + b"\r\n\r\n"
    c = Raw(e.sock)
    c.send(head(16384) + body)
    assert c.recv(1, timeout=3)[0].status == 204
    c.close()
    # One whose last header ends at the limit (only the empty line is over)
    # is refused at once.
    c = Raw(e.sock)
    c.send(head(16386) + body)
    r = c.recv(1, timeout=3)[0]
    assert r.status == 400 and "Header section too large." in r.body, r
    c.close()


@test
def test_log_escapes_request():
    # Request paths and bodies are logged escaped: a client cannot forge log
    # lines (newlines) or send terminal escapes to whoever reads the log.
    e = start()
    try:
        forged = b"2026-01-01T00:00:00.000000000Z [api-test:main] [ERROR] forged"
        c = Raw(e.sock)
        c.send(request_bytes("PUT", "/machine-config",
                             b'{"vcpu_count": 1}\n' + forged + b"\x1b[2J\x07\r\\"))
        assert c.recv(1)[0].status == 400
        c.send(b"GET /\xc2\x9b31m\xff HTTP/1.1\r\n\r\n")
        assert c.recv(1)[0].status == 400
        c.send(b"GET /\x1b[2J HTTP/1.1\r\n\r\n")
        assert c.recv(1)[0].status == 400
        c.close()
        expect(api(e, "GET", "/"), 200)
    finally:
        e.stop()
    with open(e.log, "rb") as f:
        log = f.read()
    lines = log.split(b"\n")
    assert not any(ln.startswith(forged[:20]) for ln in lines), log
    assert b"\\x0a" + forged + b"\\x1b[2J\\x07\\x0d\\\\" in log, log
    assert b'"/\\xc2\\x9b31m\\xff"' in log, log
    assert all(0x20 <= b < 0x7f for ln in lines for b in ln), log


@test
@with_ember
def test_payload_limit(e):
    c = Raw(e.sock)
    c.send(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 51201\r\n\r\n")
    data = c.recv_raw()
    body = (b'{ "error": "Request payload with size 51201 is larger than the limit of 51200 '
            b'allowed by server.\nAll previous unanswered requests will be dropped." }')
    assert data.endswith(body), data
    assert data.startswith(b"HTTP/1.1 400 \r\n"), data
    c.close()
    # Exactly the limit is accepted by the framing (the JSON then decides).
    c = Raw(e.sock)
    payload = b'{"vcpu_count":1,"mem_size_mib":64}'
    payload += b" " * (51200 - len(payload))
    c.send(request_bytes("PUT", "/machine-config", payload))
    assert c.recv(1)[0].status == 204
    c.close()
    # curl with a large body (it sends Expect: 100-continue) gets the 400 too.
    big = json.dumps({"vcpu_count": 1, "mem_size_mib": 64, "pad": "x" * 60000})
    p = subprocess.run(["curl", "-s", "-i", "--max-time", "10", "--unix-socket", e.sock, "-X", "PUT",
                        "--data-binary", big, "http://localhost/machine-config"],
                       capture_output=True, timeout=15)
    assert b"HTTP/1.1 400" in p.stdout and b"larger than the limit" in p.stdout, p
    expect(api(e, "GET", "/"), 200)


@test
def test_payload_limit_flag():
    # --http-api-max-payload-size moves the limit both ways, with
    # Firecracker's 400 naming the new limit; bad values exit with 153.
    def put(e, size):   # a valid body padded to size bytes
        body = b'{"vcpu_count":1,"mem_size_mib":64}'
        c = Raw(e.sock)
        c.send(request_bytes("PUT", "/machine-config", body + b" " * (size - len(body))))
        r = c.recv(1, timeout=5)[0]
        c.close()
        return r
    e = start(["--http-api-max-payload-size", "100"])
    try:
        assert put(e, 100).status == 204
        r = put(e, 101)
        assert r.status == 400 and r.body == (
            '{ "error": "Request payload with size 101 is larger than the limit of 100 '
            'allowed by server.\nAll previous unanswered requests will be dropped." }'), r
        expect(api(e, "GET", "/"), 200)   # GET has no body
    finally:
        e.stop()
    e = start(["--http-api-max-payload-size", "200000"])
    try:
        assert put(e, 150000).status == 204     # three times the default
        big = json.dumps({"vcpu_count": 1, "mem_size_mib": 64, "pad": "x" * 60000})
        r = api(e, "PUT", "/machine-config", big)   # through curl: unknown field, not size
        expect(r, 400, "unknown field `pad`")
        assert put(e, 200001).status == 400
    finally:
        e.stop()
    for bad, msg in [("abc", b"'abc' is not a number"), ("-1", b"'-1' is not a number"),
                     ("1073741825", b"more than ember's limit of 1073741824 bytes")]:
        p = subprocess.run([EMBER, "--api-sock", "/nonexistent/x.sock",
                            "--http-api-max-payload-size", bad], capture_output=True, timeout=10)
        assert p.returncode == 153 and msg in p.stderr, p


@test
@with_ember
def test_expect_continue(e):
    c = Raw(e.sock)
    body = b'{"vcpu_count":2,"mem_size_mib":96}'
    c.send(b"PUT /machine-config HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
           % len(body))
    c.s.settimeout(2)
    first = c.s.recv(4096)
    assert first.startswith(b"HTTP/1.1 100 "), first
    c.send(body)
    r = c.recv(1)[-1]
    assert r.status == 204, r
    c.close()
    # curl sends Expect for bodies over 1 KiB.
    pad = {"vcpu_count": 1, "mem_size_mib": 80, "huge_pages": "None"}
    s = json.dumps(pad) + " " * 2000
    expect(api(e, "PUT", "/machine-config", s), 204)
    assert api(e, "GET", "/machine-config").json()["mem_size_mib"] == 80


def max_conns():
    """API_HTTP_MAX_CONNS from src/api_http.h."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src",
                           "api_http.h")) as f:
        for ln in f:
            if ln.startswith("#define API_HTTP_MAX_CONNS"):
                return int(ln.split()[2])
    raise AssertionError("API_HTTP_MAX_CONNS not found in src/api_http.h")


@test
@with_ember
def test_connection_limit(e):
    # Every slot held by a well-behaved client that was just answered: the
    # next one gets Firecracker's 503 (ember has more slots than its 10).
    expect(api(e, "GET", "/"), 200)  # earlier probes are closed by now
    conns = []
    for _ in range(max_conns()):
        c = Raw(e.sock)
        c.send(request_bytes("GET", "/"))
        assert c.recv(1)[0].status == 200
        conns.append(c)
    extra = Raw(e.sock)
    data = extra.recv_raw()
    assert data == (b'HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\n'
                    b'Content-Length: 40\r\n\r\n{ "error": "Too many open connections" }'), data
    extra.close()
    conns.pop().close()
    time.sleep(0.1)
    expect(api(e, "GET", "/"), 200)
    for c in conns:
        c.close()


@test
@with_ember
def test_half_close(e):
    # A client that shuts its write side after a request still gets the answer.
    c = Raw(e.sock)
    c.send(request_bytes("GET", "/machine-config"))
    c.s.shutdown(socket.SHUT_WR)
    rs = c.recv(1)
    assert rs and rs[0].status == 200, rs
    c.close()
    expect(api(e, "GET", "/"), 200)


# ---- config file (pre-boot parts need no KVM) ----

@test
def test_config_file_errors():
    d = tempfile.mkdtemp(prefix="ember-api-")
    cf = os.path.join(d, "vm.json")
    with open(cf, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": "/nonexistent"}, "drives": []}, f)
    p = subprocess.run([EMBER, "--no-api", "--config-file", cf], capture_output=True, timeout=10)
    assert p.returncode != 0 and b"kernel" in p.stderr and b"vm.json" in p.stderr, p
    with open(cf, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": cf}, "vsock": {"guest_cid": 3}}, f)
    p = subprocess.run([EMBER, "--no-api", "--config-file", cf], capture_output=True, timeout=10)
    assert p.returncode != 0 and b"vsock" in p.stderr, p
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    with open(cf, "w") as f:
        json.dump({"boot-source": {"kernel_image_path": cf},
                   "drives": [{"drive_id": "rootfs", "path_on_host": fifo, "is_root_device": True,
                               "is_read_only": True}]}, f)
    p = subprocess.run([EMBER, "--no-api", "--config-file", cf], capture_output=True, timeout=10)
    assert p.returncode != 0 and f"{fifo} is a FIFO".encode() in p.stderr, p


# ---- post-boot (KVM) ----

def post_boot_env():
    kernel = os.environ.get("EMBER_KERNEL")
    if not (os.path.exists("/dev/kvm") and kernel):
        raise Skip("post-boot: needs /dev/kvm and EMBER_KERNEL (run through tests/testbed/run.sh)")
    return kernel, os.environ.get("EMBER_ROOTFS")


@test
def test_post_boot():
    kernel, rootfs = post_boot_env()
    m = tmpfile()
    e = start(["--metrics-path", m])
    try:
        expect(api(e, "PUT", "/boot-source", {
            "kernel_image_path": kernel,
            "boot_args": os.environ.get("EMBER_BOOT_ARGS",
                                        "console=ttyS0 reboot=k panic=1 i8042.nokbd=0")}), 204)
        if rootfs:
            expect(api(e, "PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": rootfs,
                                                    "is_root_device": True}), 204)
        expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}), 204)
        expect(api(e, "PUT", "/actions", {"action_type": "InstanceStart"}), 204)
        assert api(e, "GET", "/").json()["state"] == "Running"
        expect(api(e, "PUT", "/actions", {"action_type": "InstanceStart"}), 400,
               "not supported after starting")
        expect(api(e, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}), 400,
               "not supported after starting")
        cfg = api(e, "GET", "/vm/config").json()
        assert cfg["boot-source"]["kernel_image_path"] == kernel
        expect(api(e, "PATCH", "/vm", {"state": "Paused"}), 204)
        assert api(e, "GET", "/").json()["state"] == "Paused"
        expect(api(e, "PATCH", "/vm", {"state": "Resumed"}), 204)
        assert api(e, "GET", "/").json()["state"] == "Running"
        before = len(open(m).read().splitlines())
        expect(api(e, "PUT", "/actions", {"action_type": "FlushMetrics"}), 204)
        lines = open(m).read().splitlines()
        assert len(lines) > before, lines
        json.loads(lines[-1])
        expect(api(e, "PUT", "/actions", {"action_type": "SendCtrlAltDel"}), 204)
        try:
            rc = e.proc.wait(float(os.environ.get("EMBER_REBOOT_TIMEOUT", "120")))
        except subprocess.TimeoutExpired:
            raise AssertionError("guest did not reboot after SendCtrlAltDel: " + e.output()[-2000:])
        assert rc == 0, (rc, e.output()[-2000:])
    finally:
        e.stop()
        os.unlink(m)


def main():
    global EMBER
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    EMBER = os.path.abspath(sys.argv[1])
    only = set(sys.argv[2:])
    passed = failed = skipped = 0
    for t in TESTS:
        if only and t.__name__ not in only:
            continue
        t0 = time.time()
        try:
            t()
            passed += 1
            print(f"ok   {t.__name__} ({time.time() - t0:.2f}s)")
        except Skip as s:
            skipped += 1
            print(f"SKIP {t.__name__}: {s}")
        except Exception:
            failed += 1
            print(f"FAIL {t.__name__}")
            traceback.print_exc(file=sys.stdout)
    print(f"api: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
