"""An eager runtime's loop, as CubeCL's batched stream records it: compute traces of any size.

Built column by column with numpy, so that a 10 M-event trace takes seconds rather than the hour
``sim.synthetic`` would. Every op allocates a 16-byte uniform, fills it with a queue
write, builds a bind group (the uniform, two read-only inputs, one read-write output, each a random
256-aligned range of one of 256 shared 1 MiB storage buffers, each filled once at the start),
dispatches in the open pass and drops the uniform; every 32 ops the pass ends and the encoder is
submitted; one op in 8 also writes a random range of a storage buffer, which sometimes lands on
bytes a pending kernel uses (H1).
About 1 event in 6 is a queue write.

The benchmarks' compute workload (bench_check, bench_growth) and the growth test's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np

from ...traces import DEFAULT_LIMITS, Access, BufferUsage, Kind, Trace, make_header

TASKS = 32
STORAGE_BUFFERS = 256
STORAGE_BYTES = 1 << 20
EXTRA_WRITE_EVERY = 8
STORAGE_USAGE = int(BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC)
UNIFORM_USAGE = int(BufferUsage.UNIFORM | BufferUsage.COPY_DST)
# one op: create uniform, write it, bind group, set_bind_group, dispatch, drop uniform, (extra write)
OP = (Kind.BUFFER_CREATE, Kind.WRITE_BUFFER, Kind.BIND_GROUP, Kind.SET_BIND_GROUP, Kind.DISPATCH,
      Kind.BUFFER_DESTROY)
# between blocks of TASKS ops: end the pass, finish, submit; then a new encoder and pass
FLUSH = (Kind.PASS_END, Kind.ENCODER_FINISH, Kind.SUBMIT, Kind.ENCODER_CREATE, Kind.PASS_BEGIN, Kind.SET_PIPELINE)


def generate(events: int, seed: int = 0) -> Trace:
    """A valid trace of about ``events`` events (see the module doc)."""
    rng = np.random.default_rng(seed)
    per_op = len(OP) + 1 / EXTRA_WRITE_EVERY + len(FLUSH) / TASKS
    n_ops = max(TASKS, int(events / per_op) // TASKS * TASKS)
    n_blocks = n_ops // TASKS
    extra = rng.random(n_ops) < 1 / EXTRA_WRITE_EVERY
    op_len = len(OP) + extra.astype(np.int64)

    prologue = [Kind.DEVICE, Kind.SHADER_MODULE, Kind.COMPUTE_PIPELINE]
    prologue += [Kind.BUFFER_CREATE, Kind.WRITE_BUFFER] * STORAGE_BUFFERS
    prologue += list(FLUSH[3:])  # the first encoder, pass and pipeline
    n_pro = len(prologue)
    last_of_block = np.arange(n_ops) % TASKS == TASKS - 1
    length = op_len + np.where(last_of_block, len(FLUSH), 0)
    op_start = n_pro + np.cumsum(length) - length
    flush_at = (op_start + op_len)[last_of_block]
    n = int(n_pro + length.sum())
    kind = np.zeros(n, dtype=np.uint8)
    args = np.zeros((n, 6), dtype=np.int64)
    nrows = np.zeros(n, dtype=np.int32)
    kind[:n_pro] = prologue
    strings = [json.dumps({"device": "synthetic"}), json.dumps(DEFAULT_LIMITS), "main", "train.py:1", "train.py:2",
               "train.py:3", "train.py:4", "train.py:5", "train.py:6", "train.py:7", "matmul"]
    site = np.full(n, 3, dtype=np.int32)
    args[0, :3] = (0, 0, 1)
    args[1, :4] = (0, 2, 10, 0)
    args[2, :6] = (0, 0, 2, -1, 10, 0)
    nrows[2] = 4
    sb = np.arange(STORAGE_BUFFERS)
    args[3 : 3 + 2 * STORAGE_BUFFERS : 2, :6] = np.stack([sb, np.full_like(sb, STORAGE_BYTES),
                                                         np.full_like(sb, STORAGE_USAGE), np.full_like(sb, -1),
                                                         np.zeros_like(sb), np.zeros_like(sb)], 1)
    args[4 : 4 + 2 * STORAGE_BUFFERS : 2, :4] = np.stack([sb, np.zeros_like(sb), np.full_like(sb, STORAGE_BYTES),
                                                         np.full_like(sb, -1)], 1)
    args[n_pro - 3, :3] = (0, -1, 0)   # encoder 0
    args[n_pro - 2, :2] = (0, 0)       # pass 0 on encoder 0
    args[n_pro - 1, :2] = (0, 0)       # set pipeline 0

    ops = np.arange(n_ops)
    uniform = STORAGE_BUFFERS + ops
    block = ops // TASKS
    for j, k in enumerate(OP):
        at = op_start + j
        kind[at] = k
        site[at] = 4 + j
        if k == Kind.BUFFER_CREATE:
            args[at, :6] = np.stack([uniform, np.full(n_ops, 16), np.full(n_ops, UNIFORM_USAGE),
                                     np.full(n_ops, -1), np.zeros(n_ops, np.int64), np.zeros(n_ops, np.int64)], 1)
        elif k == Kind.WRITE_BUFFER:
            args[at, :5] = np.stack([uniform, np.zeros(n_ops, np.int64), np.full(n_ops, 16),
                                     np.full(n_ops, -1), rng.integers(0, 1 << 62, n_ops)], 1)
        elif k == Kind.BIND_GROUP:
            args[at, :5] = np.stack([ops, np.full(n_ops, -1), np.zeros(n_ops, np.int64), np.zeros(n_ops, np.int64),
                                     np.full(n_ops, -1)], 1)
            nrows[at] = 4
        elif k == Kind.SET_BIND_GROUP:
            args[at, :3] = np.stack([block, np.zeros(n_ops, np.int64), ops], 1)
        elif k == Kind.DISPATCH:
            args[at, :4] = np.stack([block, np.ones(n_ops, np.int64), np.ones(n_ops, np.int64),
                                     np.ones(n_ops, np.int64)], 1)
        else:
            args[at, :2] = np.stack([uniform, np.ones(n_ops, np.int64)], 1)
    writes = op_start[extra] + len(OP)
    kind[writes] = Kind.WRITE_BUFFER
    site[writes] = 10
    w_off = rng.integers(0, STORAGE_BYTES // 256, len(writes)) * 256
    w_size = np.minimum(rng.integers(1, 64, len(writes)) * 256, STORAGE_BYTES - w_off)
    args[writes, :5] = np.stack([rng.integers(0, STORAGE_BUFFERS, len(writes)), w_off, w_size,
                                 np.full(len(writes), -1), rng.integers(0, 1 << 62, len(writes))], 1)

    blk = np.arange(n_blocks)
    for j, k in enumerate(FLUSH):
        at = flush_at + j
        kind[at] = k
        site[at] = 3
        if k in (Kind.PASS_END, Kind.ENCODER_FINISH):
            args[at, 0] = blk
        elif k == Kind.SUBMIT:
            nrows[at] = 1
        elif k == Kind.ENCODER_CREATE:
            args[at, :3] = np.stack([blk + 1, np.full(n_blocks, -1), np.zeros(n_blocks, np.int64)], 1)
        elif k == Kind.PASS_BEGIN:
            args[at, :2] = np.stack([blk + 1, blk + 1], 1)
        else:
            args[at, :2] = np.stack([blk + 1, np.zeros(n_blocks, np.int64)], 1)

    # rows, in event order: the pipeline's 4 bindings, 4 entries per bind group, 1 per submit
    pipeline_rows = np.array([[0, 0, Access.UNIFORM, 0, 0], [0, 1, Access.READ_ONLY_STORAGE, 0, 0],
                              [0, 2, Access.READ_ONLY_STORAGE, 0, 0], [0, 3, Access.STORAGE, 0, 0]])
    entries = np.zeros((n_ops, 4, 5), dtype=np.int64)
    entries[:, :, 0] = np.arange(4)
    entries[:, 0, 1:] = np.stack([uniform, np.zeros(n_ops, np.int64), np.full(n_ops, 16),
                                  np.full(n_ops, Access.UNIFORM)], 1)
    for slot, access in ((1, Access.READ_ONLY_STORAGE), (2, Access.READ_ONLY_STORAGE), (3, Access.STORAGE)):
        off = rng.integers(0, STORAGE_BYTES // 256, n_ops) * 256
        size = np.minimum(rng.integers(1, 64, n_ops) * 256, STORAGE_BYTES - off)
        entries[:, slot, 1:] = np.stack([rng.integers(0, STORAGE_BUFFERS, n_ops), off, size,
                                      np.full(n_ops, access)], 1)
    submits = np.flatnonzero(kind == Kind.SUBMIT)
    submit_rows = np.zeros((len(submits), 5), dtype=np.int64)
    submit_rows[:, 0] = np.arange(len(submits))
    owner = np.concatenate([np.full(4, 2), np.repeat(op_start + 2, 4), submits])
    table = np.concatenate([pipeline_rows, entries.reshape(-1, 5), submit_rows])
    rows = table[np.argsort(owner, kind="stable")]
    header = make_header(limits=DEFAULT_LIMITS,
                         program=["benchmarks/bench_check.py", f"events={events}", f"seed={seed}"])
    return Trace(header=header, kind=kind, t=np.arange(n, dtype=np.int64) * 1000, site=site, args=args,
                 nrows=nrows, rows=rows, strings=strings, blobs=[], end={"events": n})


def pieces(events: int, piece_events: int = 1 << 20, seed: int = 0) -> Iterator[Trace]:
    """About ``events`` events of one loop as consecutive pieces, each ``generate``'s trace of about
    ``piece_events`` (seeded ``seed`` + its number), so that a trace larger than memory is made one piece at a
    time (``traces.stream.save_pieces``). A later piece leaves out the prologue and takes ids after the
    earlier pieces': its first encoder and pass are the ones the previous piece's last submit opened."""
    prologue = 3 + 2 * STORAGE_BUFFERS + len(FLUSH) - 3
    done = ops = blocks = 0
    k = 0
    while done < events:
        piece = generate(min(piece_events, events - done + (prologue if k else 0)), seed + k)
        cut = prologue if k else 0
        kind, args = piece.kind[cut:], piece.args[cut:].copy()
        rows = piece.rows[int(piece.row_start[cut]) if cut else 0:].copy()
        row_kind = np.repeat(kind, piece.nrows[cut:])
        uniform = np.isin(kind, (Kind.BUFFER_CREATE, Kind.WRITE_BUFFER, Kind.BUFFER_DESTROY))
        uniform &= args[:, 0] >= STORAGE_BUFFERS
        args[uniform, 0] += ops
        args[kind == Kind.BIND_GROUP, 0] += ops
        args[kind == Kind.SET_BIND_GROUP, 2] += ops
        on_pass = np.isin(kind, (Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.PASS_END, Kind.ENCODER_FINISH,
                                 Kind.ENCODER_CREATE, Kind.PASS_BEGIN, Kind.SET_PIPELINE))
        args[on_pass, 0] += blocks
        args[kind == Kind.PASS_BEGIN, 1] += blocks
        bound = (row_kind == Kind.BIND_GROUP) & (rows[:, 1] >= STORAGE_BUFFERS)
        rows[bound, 1] += ops
        rows[row_kind == Kind.SUBMIT, 0] += blocks
        n = len(kind)
        yield Trace(header=piece.header, kind=kind, t=(done + np.arange(n, dtype=np.int64)) * 1000,
                    site=piece.site[cut:], args=args, nrows=piece.nrows[cut:], rows=rows, strings=piece.strings,
                    blobs=piece.blobs, end={"events": n})
        ops += int(np.count_nonzero(kind == Kind.DISPATCH))
        blocks += int(np.count_nonzero(kind == Kind.SUBMIT))
        done += n
        k += 1
