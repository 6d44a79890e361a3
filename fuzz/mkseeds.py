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
    if harness in ("virtq", "blk", "net", "mmio"):
        data = data.rstrip(b"\0")   # the RAM image is last: missing bytes read as 0
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
put("api", "serial_module", api_seq(
    ("P", "/serial", {"serial_out_path": SB + "/disk3",
                      "rate_limiter": {"size": 1024, "one_time_burst": 4096, "refill_time": 100}}),
    ("G", "/vm/config", ""), ("P", "/serial", {"serial_out_path": None, "rate_limiter": None}),
    ("P", "/logger", {"module": "virtio::blk"}), ("P", "/logger", {"module": "src/"}),
    ("P", "/logger", {"module": ""}), ("P", "/boot-source", boot),
    ("P", "/actions", {"action_type": "InstanceStart"}), ("P", "/serial", {})))
put("api", "nested", api_seq(("P", "/drives/a", "[" * 200 + "]" * 200),
                             ("P", "/machine-config", '{"vcpu_count":1,"vcpu_count":2}')))

# ---- config: a --config-file ----
cfg = {"boot-source": boot, "machine-config": machine, "drives": [drive, drive2],
       "network-interfaces": [net], "logger": {"log_path": SB + "/log", "level": "Info"},
       "metrics": {"metrics_path": SB + "/m"}, "balloon": None}
put("config", "full", json.dumps(cfg, indent=1))
put("config", "minimal", json.dumps({"boot-source": {"kernel_image_path": SB + "/kernel"}}))
put("config", "unknown_key", json.dumps({"boot-source": boot, "vsock": {"guest_cid": 3}}))
put("config", "serial", json.dumps({"boot-source": boot, "logger": {"module": "src/api"},
                                    "serial": {"serial_out_path": SB + "/disk3",
                                               "rate_limiter": {"size": 10, "refill_time": 1}}}))
put("config", "drives_not_array", json.dumps({"boot-source": boot, "drives": drive}))


# ---- boot: [flags][u16 len][cmdline][u16 len][initrd][kernel] ----
def elf64(pvh=False, entry=0x100000):
    phs = [struct.pack("<IIQQQQQQ", 1, 5, 0x1000, 0xffffffff81000000, 0x100000,
                       0x200, 0x1000, 0x1000)]
    note = b""
    if pvh:
        note = struct.pack("<III", 4, 4, 18) + b"Xen\0" + struct.pack("<I", 0x100010)
        phs.append(struct.pack("<IIQQQQQQ", 4, 4, 0x800, 0, 0, len(note), len(note), 4))
    eh = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 2, 62, 1,
                     entry, 64, 0, 0, 64, 56, len(phs), 64, 0, 0)
    img = bytearray(0x1200)
    img[0:64] = eh
    for i, ph in enumerate(phs):
        img[64 + 56 * i:64 + 56 * (i + 1)] = ph
    img[0x800:0x800 + len(note)] = note
    img[0x1000:0x1004] = b"\x90\x90\xf4\xf4"
    return bytes(img)


def bzimage():
    img = bytearray(0x800)
    img[0x1f1] = 1                                     # setup_sects
    struct.pack_into("<I", img, 0x1f4, 0x40)           # syssize (x16)
    struct.pack_into("<H", img, 0x1fe, 0xaa55)
    img[0x200] = 0xeb
    img[0x201] = 0x66                                  # header ends at 0x268
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, 0x020f)
    img[0x211] = 0x01                                  # LOADED_HIGH
    struct.pack_into("<I", img, 0x230, 0x200000)       # kernel_alignment
    struct.pack_into("<H", img, 0x236, 0x1)            # XLF_KERNEL_64
    struct.pack_into("<I", img, 0x238, 2047)           # cmdline_size
    struct.pack_into("<Q", img, 0x258, 0x100000)       # pref_address
    struct.pack_into("<I", img, 0x260, 0x10000)        # init_size
    return bytes(img)


def boot_seed(flags, cmdline, initrd, kernel):
    return (bytes([flags]) + struct.pack("<H", len(cmdline)) + cmdline +
            struct.pack("<H", len(initrd)) + initrd + kernel)


CL = b"console=ttyS0 reboot=k panic=1 pci=off"
put("boot", "elf", boot_seed(0x05, CL, b"\x07" * 300, elf64()))
put("boot", "elf_pvh", boot_seed(0x06, CL, b"initrd" * 100, elf64(pvh=True)))
put("boot", "bzimage", boot_seed(0x05, CL, b"\x1f\x8b" * 64, bzimage()))
put("boot", "bzimage_small_ram", boot_seed(0x08, b"", b"", bzimage()))


# ---- rings: shared by virtq, blk, net and mmio ----
def desc(ram, table, i, addr, ln, flags, nxt):
    struct.pack_into("<QIHH", ram, table + 16 * i, addr, ln, flags, nxt)


def avail(ram, at, heads, flags=0):
    struct.pack_into("<HH", ram, at, flags, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", ram, at + 4 + 2 * i, h)


NEXT, WRITE, INDIRECT = 1, 2, 4
DESC, AVAIL, USED = 0x1000, 0x2000, 0x3000


def ring_ram(kind):
    ram = bytearray(0x8000)
    if kind == "chains":
        desc(ram, DESC, 0, 0x4000, 16, NEXT, 1)
        desc(ram, DESC, 1, 0x5000, 512, WRITE | NEXT, 2)
        desc(ram, DESC, 2, 0x6000, 1, WRITE, 0)
        desc(ram, DESC, 3, 0x7000, 48, INDIRECT, 0)
        desc(ram, 0x7000, 0, 0x4000, 16, NEXT, 1)
        desc(ram, 0x7000, 1, 0x5000, 1024, NEXT, 2)
        desc(ram, 0x7000, 2, 0x6000, 1, WRITE, 0)
        avail(ram, AVAIL, [0, 3])
    elif kind == "loop":
        desc(ram, DESC, 0, 0x4000, 16, NEXT, 1)
        desc(ram, DESC, 1, 0x4000, 16, NEXT, 0)
        avail(ram, AVAIL, [0, 1, 7, 200])
    return ram


def virtq_seed(flags, num, iov_max, muts, ram):
    b = struct.pack("<BHBIIIB", flags, num, iov_max, DESC, AVAIL, USED, len(muts))
    for off, val in muts:
        b += struct.pack("<HH", off, val)
    return b + bytes(ram)


put("virtq", "chains", virtq_seed(0x2, 8, 0, [], ring_ram("chains")))
put("virtq", "chains_eidx_unpop", virtq_seed(0x7, 8, 2, [], ring_ram("chains")))
put("virtq", "loop", virtq_seed(0x0, 8, 0, [], ring_ram("loop")))
put("virtq", "racing_idx", virtq_seed(0x3, 8, 0, [(AVAIL + 2, 9), (AVAIL + 2, 1)],
                                       ring_ram("chains")))


# ---- blk: [flags][u16 num][u8 nmut][muts][RAM 32 KiB] ----
def blk_ram(reqs):
    """reqs: list of (type, sector, data_len, write_dir) -> one chain each:
    header (16, readable), data (readable for OUT, writable for IN), status."""
    ram = bytearray(0x8000)
    heads = []
    d = 0
    buf = 0x4000
    for typ, sector, dlen in reqs:
        heads.append(d)
        struct.pack_into("<IIQ", ram, buf, typ, 0, sector)
        desc(ram, DESC, d, buf, 16, NEXT, d + 1)
        d += 1
        if dlen:
            flags = WRITE if typ in (0, 8) else 0
            desc(ram, DESC, d, 0x5000 + 0x400 * len(heads), dlen, flags | NEXT, d + 1)
            d += 1
        desc(ram, DESC, d, buf + 16, 1, WRITE, 0)
        d += 1
        buf += 32
    avail(ram, AVAIL, heads)
    return ram


def blk_seed(flags, num, reqs, muts=()):
    b = struct.pack("<BHB", flags, num, len(muts))
    for off, val in muts:
        b += struct.pack("<HH", off, val)
    return b + bytes(blk_ram(reqs))


put("blk", "write_read", blk_seed(0x02 | 0x40, 16, [(1, 0, 512), (0, 0, 512), (4, 0, 0),
                                                     (8, 0, 20)]))
put("blk", "readonly_write", blk_seed(0x01, 16, [(1, 3, 512), (0, 127, 512), (0, 128, 512)]))
put("blk", "eidx_ratelimit", blk_seed(0x04 | 0x10 | 0x20, 8, [(0, 1, 1024), (1, 2, 512),
                                                              (99, 0, 0)]))
put("blk", "racing", blk_seed(0x08, 16, [(1, 0, 512)], [(AVAIL + 2, 5), (DESC + 8, 0xffff)]))
put("blk", "indirect", blk_seed(0x08, 8, []) [:4] + bytes(ring_ram("chains")[:0x8000]))


# ---- net: [flags][u16 rxnum][u16 txnum][u8 nframes][frames][RAM 64 KiB] ----
def net_ram(rx_len=0x800, tx_indirect=False):
    ram = bytearray(0x10000)
    for i in range(4):
        desc(ram, 0x1000, i, 0x4000 + 0x800 * i, rx_len, WRITE, 0)
    avail(ram, 0x2000, [0, 1, 2, 3])
    desc(ram, 0x9000, 0, 0xc000, 12, NEXT, 1)
    desc(ram, 0x9000, 1, 0xc100, 60, 0, 0)
    heads = [0]
    if tx_indirect:
        desc(ram, 0x9000, 2, 0xd000, 32, INDIRECT, 0)
        desc(ram, 0xd000, 0, 0xc000, 12, NEXT, 1)
        desc(ram, 0xd000, 1, 0xc100, 100, 0, 0)
        heads.append(2)
    avail(ram, 0xa000, heads)
    ram[0xc100:0xc10c] = b"\xff" * 6 + b"\x06\x00\xac\x10\x00\x02"
    return ram


def net_seed(flags, frames, ram, rxnum=8, txnum=8):
    b = struct.pack("<BHHB", flags, rxnum, txnum, len(frames))
    for fr in frames:
        b += struct.pack("<H", len(fr)) + fr
    return b + bytes(ram)


FRAME = b"\0" * 12 + b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + b"E" * 46
put("net", "plain", net_seed(0x10, [FRAME, FRAME], net_ram()))
put("net", "mrg_eidx_indirect", net_seed(0x1 | 0x4 | 0x8, [FRAME], net_ram(600, True)))
put("net", "gso_ratelimit", net_seed(0x2 | 0x20 | 0x40, [FRAME * 3], net_ram(), 16, 4))


# ---- mmio: [flags][u8 nops][nops x (u8 kind, u16 off, u32 value)][RAM 64 KiB] ----
def op(kind, off, val):
    return struct.pack("<BHI", kind, off, val & 0xffffffff)


def mmio_seed(flags, ops, ram):
    ram = bytes(ram) + bytes(max(0, 0x10000 - len(ram)))
    return struct.pack("<BB", flags, len(ops)) + b"".join(ops) + ram


manual = [op(1, 0x70, 0), op(1, 0x70, 1), op(1, 0x70, 3), op(1, 0x14, 0), op(2, 0x10, 0),
          op(1, 0x24, 1), op(1, 0x20, 1), op(1, 0x70, 11), op(2, 0x70, 0),
          op(1, 0x30, 0), op(2, 0x34, 0), op(1, 0x38, 16), op(1, 0x80, DESC), op(1, 0x84, 0),
          op(1, 0x90, AVAIL), op(1, 0x94, 0), op(1, 0xa0, USED), op(1, 0xa4, 0),
          op(1, 0x44, 1), op(1, 0x70, 15), op(1, 0x50, 0), op(2, 0x60, 0), op(1, 0x64, 1),
          op(4, 0x100, 3), op(4, 0x108, 0), op(2, 0xfc, 0), op(3, 0x70, 0x80), op(7, 0, 0)]
put("mmio", "blk_manual", mmio_seed(0, manual, blk_ram([(1, 0, 512), (0, 0, 512)])))
put("mmio", "blk_bringup", mmio_seed(0, [op(5, 0, 16), op(1, 0x50, 0), op(2, 0x60, 0),
                                         op(1, 0x38, 4), op(1, 0x50, 7), op(7, 0, 0),
                                         op(1, 0x50, 0)],
                                     blk_ram([(4, 0, 0), (8, 0, 20)])))
put("mmio", "net_bringup", mmio_seed(1, [op(5, 0, 8 | 8 << 16), op(1, 0x50, 1), op(1, 0x50, 0),
                                         op(6, 0, 0), op(4, 0x100, 0), op(4, 0x104, 2),
                                         op(3, 0x70, 0x40), op(1, 0x50, 1)], net_ram()))


# ---- snapshot: state files (docs/snapshot.md) ----
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff


SNAP_OPTIONAL = 0x80000000    # section type bit: a reader may skip it


def snap_file(sections):
    """sections: [(type, instance, payload)] -> the whole state file."""
    start = 64 + 24 * len(sections)
    table, body, off = b"", b"", start
    for t, inst, p in sections:
        table += struct.pack("<IIQQ", t, inst, off, len(p))
        pad = (8 - len(p) % 8) % 8
        body += p + b"\0" * pad
        off += len(p) + pad
    total = start + len(body) + 4
    head = b"EMBERSNP" + struct.pack("<HHIIIQ", 1, 0, 64, len(sections), 0, total) + \
        b"seed".ljust(32, b"\0")
    data = head + table + body
    return data + struct.pack("<I", crc32c(data))


def blob(b):
    return struct.pack("<I", len(b)) + b


def zeros(n):   # a KVM structure of the x86-64 ABI, n bytes
    return blob(b"\0" * n)


def limiter(on=False):
    return (struct.pack("<BQQQ", 1, 1000, 0, 100) if on else struct.pack("<BQQQ", 0, 0, 0, 0)) * 2


def buckets():
    return struct.pack("<BQQQ", 1, 1000, 100000000, 500) + struct.pack("<BQQQ", 0, 0, 0, 0)


def snapshot_seed(with_net, vmgenid=False):
    mem = 64 << 20
    chips = b"".join(blob(struct.pack("<II", i, 0) + b"\0" * 512) for i in range(3))
    vm = struct.pack("<QIIIQ", mem, 1, 0, 2000000, 0) + zeros(48) + zeros(112) + chips
    cfg = struct.pack("<IQBBBB", 1, 64, 0, 0, 0, 0) + blob(SB.encode() + b"/kernel") + blob(b"") + \
        b"\1" + blob(b"console=ttyS0")
    cfg += struct.pack("<I", 1) + blob(b"rootfs") + blob(SB.encode() + b"/disk0") + b"\1\0" + \
        blob(b"") + b"\1" + b"\0" + limiter(True)
    cfg += struct.pack("<I", 1 if with_net else 0)
    if with_net:
        cfg += blob(b"eth0") + blob(b"tap0") + b"\1" + bytes([6, 0, 0, 0, 0, 1]) + \
            struct.pack("<I", 1500) + limiter() + limiter()
    cfg += struct.pack("<BQQQ", 1, 4096, 0, 100)     # the serial output's rate limiter
    cpuid = struct.pack("<I", 1) + struct.pack("<7I", 0, 0, 0, 0xd, 0, 0, 0)
    vcpu = zeros(144) + zeros(312) + zeros(416) + zeros(4096) + zeros(392) + zeros(1024) + \
        zeros(4) + zeros(64) + zeros(128) + struct.pack("<I", 2000000) + \
        struct.pack("<I", 1) + struct.pack("<IQ", 0x10, 12345) + cpuid
    serial = bytes(11) + blob(b"abc") + struct.pack("<BQQQ", 1, 4096, 100000000, 1000)
    i8042 = bytes(6) + blob(b"")

    def queue(active):
        return struct.pack("<HH", 256, 256 if active else 0) + \
            bytes([1 if active else 0, 1 if active else 0, 0, 1, 1]) + \
            struct.pack("<QQQHHH", 0x10000, 0x11000, 0x12000, 5, 5, 5)

    def transport(nq):
        return struct.pack("<IQIIIII", 15, (1 << 32) | (1 << 29), 0, 1, 0, 0, 0) + \
            struct.pack("<I", nq) + b"".join(queue(True) for _ in range(nq))
    blk = struct.pack("<I", 2) + blob(b"rootfs") + transport(1) + \
        struct.pack("<QBB", 0, 0, 1) + b"rootfs".ljust(20, b"\0") + buckets()
    secs = [(1, 0, vm), (2, 0, cfg), (3, 0, vcpu), (4, 0, serial), (5, 0, i8042), (6, 0, blk)]
    if with_net:
        net = struct.pack("<I", 1) + blob(b"eth0") + transport(2) + b"\1" + \
            bytes([6, 0, 0, 0, 0, 1]) + struct.pack("<IB", 1, 1) + buckets() + buckets()
        secs.append((6, 1, net))
    if vmgenid:     # optional section: the id's address and GSI
        secs.append((7 | SNAP_OPTIONAL, 0, struct.pack("<QI", 0xdf000, 3)))
    return snap_file(secs)


put("snapshot", "vm_drive", snapshot_seed(False))
put("snapshot", "vm_drive_net", snapshot_seed(True))
put("snapshot", "vm_drive_vmgenid", snapshot_seed(False, vmgenid=True))
