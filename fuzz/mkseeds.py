#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the seed corpora in fuzz/corpus/<harness>/ (deterministic; run
from the repo root: python3 fuzz/mkseeds.py). The HTTP seeds are written
by hand and kept as they are."""
import json
import os
import struct

SB = "/tmp/ember-fuzz"
OUT = "fuzz/corpus"


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- api: records "<M><path> <body>" separated by NUL ----
def api_seq(*reqs):
    return b"\0".join(m.encode() + p.encode() + b" " + (json.dumps(b).encode()
                      if not isinstance(b, (str, bytes)) else
                      (b.encode() if isinstance(b, str) else b)) for m, p, b in reqs)


boot = {"kernel_image_path": SB + "/kernel", "boot_args": "console=ttyS0 reboot=k",
        "initrd_path": SB + "/initrd"}
drive = {"drive_id": "rootfs", "path_on_host": SB + "/disk0", "is_root_device": True,
         "is_read_only": False, "cache_type": "Writeback",
         "rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100,
                                        "one_time_burst": 10},
                          "ops": {"size": 10, "refill_time": 1000}}}
drive2 = {"drive_id": "data", "path_on_host": SB + "/disk1", "is_root_device": False,
          "partuuid": "0eaa91a0-01", "io_engine": "Sync"}
net = {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:AC:10:00:02",
       "rx_rate_limiter": {"bandwidth": {"size": 100, "refill_time": 10}}}
machine = {"vcpu_count": 2, "mem_size_mib": 256, "smt": False, "track_dirty_pages": False,
           "huge_pages": "None"}
put("api", "full_boot", api_seq(
    ("P", "/machine-config", machine), ("P", "/boot-source", boot),
    ("P", "/drives/rootfs", drive), ("P", "/drives/data", drive2),
    ("P", "/network-interfaces/eth0", net),
    ("P", "/logger", {"log_path": SB + "/log", "level": "Debug", "show_level": True}),
    ("P", "/metrics", {"metrics_path": SB + "/metrics"}),
    ("P", "/actions", {"action_type": "InstanceStart"}),
    ("A", "/vm", {"state": "Paused"}), ("A", "/vm", {"state": "Resumed"}),
    ("A", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": SB + "/disk2"}),
    ("A", "/network-interfaces/eth0", {"iface_id": "eth0", "tx_rate_limiter": {}}),
    ("P", "/actions", {"action_type": "SendCtrlAltDel"}),
    ("P", "/actions", {"action_type": "FlushMetrics"}),
    ("G", "/vm/config", ""), ("D", "/drives/data", "")))
put("api", "patch_machine", api_seq(
    ("A", "/machine-config", {"mem_size_mib": 512}), ("G", "/machine-config", ""),
    ("A", "/machine-config", {"vcpu_count": 3, "smt": True}),
    ("P", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128, "cpu_template": "None",
                              "huge_pages": "2M"})))
put("api", "bad_types", api_seq(
    ("P", "/boot-source", {"kernel_image_path": 5}), ("P", "/drives/x", {"drive_id": None}),
    ("P", "/machine-config", {"vcpu_count": 1e99, "mem_size_mib": -1}),
    ("P", "/network-interfaces/e", {"iface_id": "e", "host_dev_name": "t", "guest_mac": "zz"}),
    ("P", "/actions", {"action_type": "InstanceStart"}), ("P", "/vsock", {}),
    ("G", "/version", ""), ("P", "/logger", {"module": "x", "level": "Bogus"})))
put("api", "nested", api_seq(("P", "/drives/a", "[" * 200 + "]" * 200),
                             ("P", "/machine-config", '{"vcpu_count":1,"vcpu_count":2}')))

# ---- config: a --config-file ----
cfg = {"boot-source": boot, "machine-config": machine, "drives": [drive, drive2],
       "network-interfaces": [net], "logger": {"log_path": SB + "/log", "level": "Info"},
       "metrics": {"metrics_path": SB + "/m"}, "balloon": None}
put("config", "full", json.dumps(cfg, indent=1))
put("config", "minimal", json.dumps({"boot-source": {"kernel_image_path": SB + "/kernel"}}))
put("config", "unknown_key", json.dumps({"boot-source": boot, "vsock": {"guest_cid": 3}}))
put("config", "drives_not_array", json.dumps({"boot-source": boot, "drives": drive}))
