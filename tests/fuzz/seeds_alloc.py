#!/usr/bin/env python3
"""Writes the seed inputs of the allocator fuzzer, one per scenario of the
unit tests (tests/test_*.c), in the input format that fuzz_alloc.c decodes.
Usage: seeds_alloc.py OUTDIR. The corpus in corpus/alloc/ started from these
seeds, minimised together with what fuzzing found (scripts/fuzz.sh)."""
import os
import sys

OPS = {name: i for i, name in enumerate([
    "begin", "end", "frame_alloc", "frame_alloc2", "mark", "rewind", "vec",
    "pool_alloc", "pool_alloc2", "pool_free", "pool_free2", "heap_alloc",
    "heap_free", "task_create", "task_alloc", "task_defer", "task_destroy",
    "guard_create", "guard_alloc", "guard_destroy", "stats", "trim", "fail"])}


def header(nallocs=1, nthreads=1, leak=False, cfgs=None):
    """The first byte, then one configuration byte per allocator:
    chunk (2 bits), pool_max (2), cache (2), trim frames (2)."""
    out = bytes([(nallocs - 1) | (nthreads - 1) << 2 | int(leak) << 4])
    for i in range(nallocs):
        out += bytes([(cfgs or [0] * nallocs)[i]])
    return out


def size(n):
    """Encodes n in the narrowest of the four ranges of pick_size."""
    if n < 64:
        v = n
    elif n < 1024:
        v = 1 << 14 | n
    else:
        v = 2 << 14 | min(n, 0x3fff)
    return bytes([v & 0xff, v >> 8])


def big(units):
    """The fourth range: units of 4 (frame), 16 (heap), 1 (pool), 2
    (task/guard) bytes."""
    v = 3 << 14 | units
    return bytes([v & 0xff, v >> 8])


def align(shift, max_shift):
    """A power of two 2^shift; None: the default alignment."""
    return bytes([max_shift + 1 if shift is None else shift])


def op(name, thread=0, alloc=0, sel=0, tail=b""):
    return bytes([OPS[name], (thread & 3) | (alloc & 3) << 2 |
                  (sel & 15) << 4, (sel >> 4) & 0xff]) + tail


def frame_alloc(n, shift=None, t=0, a=0, raw=None):
    return op("frame_alloc", t, a, 0, (raw or size(n)) + align(shift, 13))


def pool_alloc(n, t=0, a=0, raw=None):
    return op("pool_alloc", t, a, 0, raw or size(n))


def heap_alloc(n, shift=None, t=0, a=0, raw=None):
    return op("heap_alloc", t, a, 0, (raw or size(n)) + align(shift, 16))


def task_alloc(n, shift=None, t=0, which=0, raw=None):
    return op("task_alloc", t, 0, which, (raw or size(n)) + align(shift, 12))


def guard_alloc(n, shift=None, t=0, which=0, raw=None):
    return op("guard_alloc", t, 0, which, (raw or size(n)) + align(shift, 12))


def seeds():
    s = {}
    # test_frame / test_steady: frames of scratch in a loop, chunk growth.
    b = header(cfgs=[0])
    for i in range(12):
        b += op("begin")
        for n, sh in ((24, None), (100, 3), (3000, 6), (5000, 12), (0, 0)):
            b += frame_alloc(n * (1 + i % 3), sh)
        b += op("end")
    s["frame_loop"] = b
    b = header(cfgs=[1 | 3 << 6])
    for i in range(8):
        b += op("begin") + frame_alloc(0, None, raw=big(2000 + 1000 * i))
        b += op("end")
    b += op("trim") + op("begin") + frame_alloc(64) + op("end")
    s["frame_grow_trim"] = b
    # Marks and rewinds, stale and dead marks.
    b = header() + op("begin") + frame_alloc(40) + op("mark")
    b += frame_alloc(5000, 7) + op("mark") + frame_alloc(9000)
    b += op("rewind", sel=2 + 8 * 1) + op("rewind", sel=2) + op("rewind", sel=1)
    b += frame_alloc(10) + op("end") + op("rewind", sel=0) + op("begin")
    b += op("mark") + op("end")
    s["frame_marks"] = b
    # Frame vectors growing in place and moving.
    b = header() + op("begin") + op("vec", sel=63) + op("vec", sel=63)
    b += frame_alloc(8) + op("vec", sel=40) + op("end") + op("vec", sel=3)
    s["frame_vec"] = b
    # FA001, FA002 and FA006 from frame calls.
    b = header() + frame_alloc(16) + op("end") + op("end") + op("begin")
    b += op("begin") + op("frame_alloc", tail=size(8) + b"\xff") + op("end")
    s["frame_diags"] = b
    # test_pool: every size class, pool_max_size settings, fallbacks.
    b = header(2, 1, cfgs=[0, 2 << 2])
    for n in (0, 1, 16, 17, 100, 1000, 1024, 1025, 2000, 2048, 5000, 9000):
        b += pool_alloc(n) + pool_alloc(n, a=1)
    for k in range(24):
        b += op("pool_free", sel=(k * 5) % 7)
    s["pool_classes"] = b
    # test_threads / test_stress: blocks freed by other threads.
    b = header(2, 4, cfgs=[0, 3 << 2])
    for t in range(4):
        for n in (32, 200, 700, 3000):
            b += pool_alloc(n, t, t & 1)
    for k in range(16):
        b += op("pool_free", thread=(k + 1) & 3, sel=k * 3)
    b += op("end", 1) + op("end", 2) + op("stats", 3)
    s["pool_remote"] = b
    # A full page, then frees that return it (64 KiB / 16-byte blocks).
    b = header(cfgs=[1 << 4])
    b += pool_alloc(1000) * 70 + op("pool_free") * 70 + op("trim")
    s["pool_page"] = b
    # test_heap: alignments, double frees, a heap block given to pool free.
    b = header()
    for n, sh in ((10, None), (100, 5), (5000, 12), (0, 16), (70000, 14)):
        b += heap_alloc(n, sh)
    b += op("heap_alloc", tail=size(8) + b"\xff")
    b += op("heap_free", sel=0x100) + op("heap_free", sel=0x200)
    b += op("heap_free", sel=1) + op("pool_alloc", tail=size(40))
    b += op("pool_free", sel=0x100)
    s["heap"] = b
    # test_task: tasks with cleanups, large blocks, moved between threads.
    b = header(1, 3) + op("task_create") + op("task_create", 1)
    b += task_alloc(100) + task_alloc(5000, 12) + op("task_defer")
    b += task_alloc(0, None, 1, raw=big(12000)) + op("task_defer", 2)
    b += task_alloc(0, 4, 2, which=1, raw=big(15000)) + op("task_defer", sel=1)
    for _ in range(20):
        b += task_alloc(3000, 3, 1)
    b += op("task_destroy", 2) + op("task_destroy", 1)
    s["task"] = b
    # Pool guards used by three threads.
    b = header(1, 3) + op("guard_create")
    for t in range(3):
        b += guard_alloc(64, None, t) + guard_alloc(9000, 8, t)
        b += guard_alloc(0, None, t, raw=big(9000))
    b += op("guard_destroy", 1) + op("guard_create", 2) + guard_alloc(10, 2, 1)
    s["guard"] = b
    # test_fault: the memory source fails, then every kind of request.
    b = header(1, 2)
    for k in (1, 2, 3, 4):
        b += op("fail", sel=k) + op("begin") + frame_alloc(70000 // 4)
        b += pool_alloc(100) + heap_alloc(100) + op("task_create")
        b += task_alloc(100) + op("task_defer") + op("guard_create")
        b += guard_alloc(100) + op("vec", sel=30) + op("end")
    b += op("fail", sel=0)
    s["fault"] = b
    # Blocks left for the release: FA005.
    b = header(2, 2, leak=True)
    b += pool_alloc(50) + pool_alloc(50, 1, 1) + heap_alloc(500, None, 1)
    s["release_live"] = b
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, "seed_" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
