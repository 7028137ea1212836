"""Coverage-guided fuzzing (atheris) of what reads a trace: ``load`` on mutated bytes, ``check`` on mutated traces.

    python benchmarks/fuzz_traces.py [--load-runs 100000] [--check-runs 10000] [--out out/fuzz]

Two targets, each in a child process under libFuzzer (``pip install -e '.[fuzz]'``), with wgtrace's own
modules instrumented for coverage:

- ``load``: libFuzzer mutates the bytes of the corpus traces (traces/corpus/, as recorded and re-saved
  uncompressed in small chunks, so that mutations reach the records' contents), and ``load`` reads
  them, then ``summarize``. Every record carries a CRC-32 of its body, which almost any mutation
  breaks; so for half of the inputs (those whose last byte is even) the records are resealed first
  (checksums and raw lengths made to match the mutated bodies), and the mutations reach the decoder
  and the validator. Any exception but ``InputError`` is a crash.
- ``check``: the input drives mutations of decoded seed traces (the small corpus traces and two
  hand-written programs, one compute, one render): cells of the event and row tables set to values at
  the edges (0, -1, 2^16, 2^31, 2^53, 2^63 - 1, ids one past the last), kinds changed, events
  duplicated, dropped or swapped, rows added or removed, strings and limits replaced. Only traces
  ``validate`` accepts go on: ``check``, its four reports, ``summarize``, and a plan under a pool and
  pass policy checked again, as ``wgtrace check --pool`` does. Any exception but ``InputError`` is a
  crash; ``--check-runs`` counts these validated traces.

Each target runs under a 2 GiB RSS limit (libFuzzer's), and an input still running after ``HANG_S``
seconds is stopped where it is: unbounded memory and hangs count as crashes too. A crash's input is
kept under ``--out`` (a .wgtrace for a check crash, for ``wgtrace check``). Prints the inputs run and
the crashes found per target; exit status 1 when any.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "traces" / "corpus"
SMALL = ("image_filters", "nbody", "prefix_sum")  # the corpus traces small enough to mutate fast
EDGES = (0, 1, -1, 2, 3, 4, 255, 256, 2**16 - 1, 2**16, 2**31 - 1, 2**31, 2**32, 2**52, 2**53 - 1, 2**53,
         2**62, 2**63 - 1, -(2**63), -2)
ODD_STRINGS = ("", "{}", "[]", "null", "{not json", '{"vertex": []}', '{"vertex": {"buffers": 3}}',
               '{"label": 5, "vertex": {"entry_point": 7}}', '{"min-storage-buffer-offset-alignment": 4}',
               "\x1b[2J\x00", "a.py:notaline", ":7", "[" * 5000)
HANG_S = 10  # an input that takes longer is a hang
BATCH = {"load": 200_000, "check": 4_000}  # per child process (see run_target)
POOLS = ("as-recorded", "exclusive", "sliced", "sliced+fix", "exclusive-pages+fix", "size-class")
PASSES = ("as-recorded", "pass-per-dispatch", "batched/staging-copy", "max-tasks:4")


# -- the seeds -------------------------------------------------------------------------------------

def load_seeds() -> list[bytes]:
    """Corpus files as recorded, and the small ones re-saved uncompressed in chunks of 16 events."""
    from wgtrace.traces import load, save

    out = []
    for name in SMALL:
        path = CORPUS / f"{name}.wgtrace"
        out.append(path.read_bytes())
        f = io.BytesIO()
        save(load(path), f, chunk_events=16, compress=False)
        out.append(f.getvalue())
    for trace in built_seeds():
        f = io.BytesIO()
        save(trace, f, compress=False)
        out.append(f.getvalue())
    return out


def check_seeds() -> list:
    from wgtrace.traces import load

    return [load(CORPUS / f"{name}.wgtrace") for name in SMALL] + built_seeds()


def built_seeds() -> list:
    """Two small programs of format 1.1: a compute one (layouts, dynamic offsets, copies, maps) and a
    render one (textures, views, a sampler, a render pass, a bundle, texture copies)."""
    from wgtrace.traces import DEFAULT_LIMITS, Access, Kind, TraceBuilder, make_header, validate

    out = []
    b = TraceBuilder(make_header(limits=dict(DEFAULT_LIMITS), program=["fuzz.py"]))
    add = b.add
    add(Kind.DEVICE, site="a.py:1", device=0, adapter="{}", limits=json.dumps(DEFAULT_LIMITS))
    add(Kind.SHADER_MODULE, site="a.py:2", module=0, code="@group(0) @binding(0) var<storage, read> a: array<f32>;",
        device=0)
    add(Kind.BIND_GROUP_LAYOUT, site="a.py:3", layout=0, device=0,
        rows=[(0, Access.READ_ONLY_STORAGE, 0), (1, Access.STORAGE, 1), (2, Access.UNIFORM, 0)])
    add(Kind.PIPELINE_LAYOUT, site="a.py:4", pipeline_layout=0, device=0, rows=[(0,)])
    add(Kind.COMPUTE_PIPELINE, site="a.py:5", pipeline=0, module=0, entry_point="main", pipeline_layout=0, device=0,
        rows=[(0, 0, Access.READ_ONLY_STORAGE), (0, 1, Access.STORAGE), (0, 2, Access.UNIFORM)])
    add(Kind.COMPUTE_PIPELINE, site="a.py:6", pipeline=1, module=0, entry_point="main", device=0,
        rows=[(0, 0, Access.READ_ONLY_STORAGE), (0, 1, Access.STORAGE)])
    for i, usage in enumerate((0x8C, 0x88, 0x48, 0x109, 0x0A)):
        add(Kind.BUFFER_CREATE, site="a.py:7", buffer=i, size=1024, usage=usage, label=f"b{i}", device=0)
    add(Kind.WRITE_BUFFER, site="a.py:8", buffer=0, offset=0, size=1024, digest_hi=1, digest_lo=2)
    add(Kind.BIND_GROUP, site="a.py:9", bind_group=0, layout=0, group=0,
        rows=[(0, 0, 0, 512, Access.READ_ONLY_STORAGE), (1, 1, 0, 256, Access.STORAGE), (2, 2, 0, 256, Access.UNIFORM)])
    add(Kind.BIND_GROUP, site="a.py:10", bind_group=1, pipeline=1, group=0,
        rows=[(0, 1, 0, 1024, Access.READ_ONLY_STORAGE), (1, 0, 0, 1024, Access.STORAGE)])
    add(Kind.ENCODER_CREATE, site="a.py:11", encoder=0, device=0)
    add(Kind.PASS_BEGIN, site="a.py:12", compute_pass=0, encoder=0)
    add(Kind.SET_PIPELINE, site="a.py:13", compute_pass=0, pipeline=0)
    add(Kind.SET_BIND_GROUP, site="a.py:14", compute_pass=0, index=0, bind_group=0, rows=[(256,)])
    add(Kind.DISPATCH, site="a.py:15", compute_pass=0, x=4, y=1, z=1)
    add(Kind.SET_PIPELINE, site="a.py:16", compute_pass=0, pipeline=1)
    add(Kind.SET_BIND_GROUP, site="a.py:17", compute_pass=0, index=0, bind_group=1)
    add(Kind.DISPATCH_INDIRECT, site="a.py:18", compute_pass=0, buffer=3, offset=0)
    add(Kind.PASS_END, site="a.py:19", compute_pass=0)
    add(Kind.COPY, site="a.py:20", encoder=0, src=1, src_offset=0, dst=4, dst_offset=0, size=256)
    add(Kind.CLEAR, site="a.py:21", encoder=0, buffer=1, offset=512, size=256)
    add(Kind.ENCODER_FINISH, site="a.py:22", encoder=0)
    add(Kind.WRITE_BUFFER, site="a.py:23", buffer=1, offset=0, size=64, digest_hi=3, digest_lo=4)
    add(Kind.SUBMIT, site="a.py:24", device=0, rows=[(0,)])
    add(Kind.MAP, site="a.py:25", buffer=4, mode=1, offset=0, size=256)
    add(Kind.READ, site="a.py:26", buffer=4, offset=0, size=256, digest_hi=5, digest_lo=6)
    add(Kind.UNMAP, site="a.py:27", buffer=4)
    add(Kind.QUEUE_READ, site="a.py:28", buffer=1, offset=0, size=256, digest_hi=7, digest_lo=8)
    add(Kind.BUFFER_DESTROY, site="a.py:29", buffer=2, dropped=0)
    out.append(b.build(end={"exit_code": 0}))

    b = TraceBuilder(make_header(limits=dict(DEFAULT_LIMITS), program=["render.py"]))
    add = b.add
    add(Kind.DEVICE, site="r.py:1", device=0, adapter="{}", limits="{}")
    add(Kind.SHADER_MODULE, site="r.py:2", module=0, code="", device=0)
    for t in range(2):
        add(Kind.TEXTURE_CREATE, site="r.py:3", texture=t, width=16, height=16, depth_or_array_layers=2,
            format="rgba8unorm", device=0, rows=[(2, 1, 2, 0x1F, f"tex{t}")])
        add(Kind.TEXTURE_VIEW, site="r.py:4", view=t, texture=t, format="rgba8unorm", dimension="2d",
            rows=[(0, 1, 0, 1, 0)])
    add(Kind.SAMPLER, site="r.py:5", sampler=0, descriptor="{}", device=0)
    descriptor = {"label": "draw", "vertex": {"entry_point": "vs", "buffers": [{}]}}
    add(Kind.RENDER_PIPELINE, site="r.py:6", pipeline=0, vertex_module=0, fragment_module=0,
        descriptor=json.dumps(descriptor), device=0,
        rows=[(0, 0, Access.SAMPLED_TEXTURE), (0, 1, Access.SAMPLER), (0, 2, Access.UNIFORM)])
    add(Kind.BUFFER_CREATE, site="r.py:7", buffer=0, size=4096, usage=0x6C, device=0)
    add(Kind.BUFFER_CREATE, site="r.py:8", buffer=1, size=8192, usage=0x0D, device=0)
    add(Kind.BIND_GROUP, site="r.py:9", bind_group=0, pipeline=0, group=0,
        rows=[(0, 0, 0, 0, Access.SAMPLED_TEXTURE), (1, 0, 0, 0, Access.SAMPLER), (2, 0, 0, 256, Access.UNIFORM)])
    add(Kind.WRITE_TEXTURE, site="r.py:10", texture=0, size=1024, rows=[(0, 64, 16), (0, 0, 0, 0, 0), (16, 16, 1)])
    add(Kind.ENCODER_CREATE, site="r.py:11", encoder=0, device=0)
    add(Kind.BUNDLE_ENCODER_CREATE, site="r.py:12", bundle_encoder=0, descriptor="{}", device=0)
    add(Kind.SET_PIPELINE, site="r.py:13", compute_pass=0, pipeline=0)
    add(Kind.DRAW, site="r.py:14", pass_encoder=0, vertex_count=3, instance_count=1)
    add(Kind.BUNDLE_FINISH, site="r.py:15", bundle=0, bundle_encoder=0)
    add(Kind.RENDER_PASS_BEGIN, site="r.py:16", render_pass=1, encoder=0, descriptor="{}", rows=[(0, 1, -1, 3, -1)])
    add(Kind.SET_PIPELINE, site="r.py:17", compute_pass=1, pipeline=0)
    add(Kind.SET_BIND_GROUP, site="r.py:18", compute_pass=1, index=0, bind_group=0)
    add(Kind.SET_VERTEX_BUFFER, site="r.py:19", pass_encoder=1, slot=0, buffer=0, offset=0, size=4096)
    add(Kind.DRAW, site="r.py:20", pass_encoder=1, vertex_count=3, instance_count=1)
    add(Kind.EXECUTE_BUNDLES, site="r.py:21", render_pass=1, rows=[(0,)])
    add(Kind.PASS_END, site="r.py:22", compute_pass=1)
    add(Kind.COPY_TEXTURE_TO_BUFFER, site="r.py:23", encoder=0, texture=1, buffer=1,
        rows=[(0, 0, 0, 0, 0), (0, 256, 16), (16, 16, 1)])
    add(Kind.COPY_TEXTURE_TO_TEXTURE, site="r.py:24", encoder=0, src=0, dst=1,
        rows=[(1, 0, 0, 0, 0), (0, 0, 0, 1, 0), (8, 8, 1)])
    add(Kind.ENCODER_FINISH, site="r.py:25", encoder=0)
    add(Kind.SUBMIT, site="r.py:26", device=0, rows=[(0,)])
    add(Kind.READ_TEXTURE, site="r.py:27", texture=1, size=1024, rows=[(0, 64, 16), (0, 0, 0, 0, 0), (16, 16, 1)])
    add(Kind.TEXTURE_DESTROY, site="r.py:28", texture=0, dropped=0)
    out.append(b.build(end={"exit_code": 0}))
    for t in out:
        validate(t)
    return out


# -- the targets -----------------------------------------------------------------------------------

class Tally:
    """Inputs run, those that went on, and crashes by signature (exception type at its innermost wgtrace line);
    written to ``path`` every second and at the end, so that the parent has it even if libFuzzer kills us."""

    def __init__(self, target: str, path: Path, out: Path, runs: int):
        self.target, self.path, self.out, self.runs = target, path, out, runs
        self.inputs = self.passed = self.refused = self.decoded = 0  # decoded: refused by validation, not decoding
        self.crashes: dict[str, dict] = {}
        self.t0 = self.last = time.perf_counter()

    def crash(self, e: BaseException, keep: bytes, suffix: str) -> None:
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if f.filename.startswith(str(ROOT)) and f.filename != __file__]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        sig = f"{type(e).__name__} at {where}"
        entry = self.crashes.setdefault(sig, {"count": 0, "message": str(e)[:300]})
        entry["count"] += 1
        if "example" not in entry:
            self.out.mkdir(parents=True, exist_ok=True)
            path = self.out / f"{self.target}-crash-{hashlib.sha256(sig.encode()).hexdigest()[:10]}{suffix}"
            if not path.exists():
                path.write_bytes(keep)
            entry["example"] = str(path)
            entry["traceback"] = "".join(traceback.format_exception(e))[-3000:]

    def tick(self) -> None:
        self.inputs += 1
        now = time.perf_counter()
        done = (self.passed if self.target == "check" else self.inputs) >= self.runs
        if done or now - self.last > 1:
            self.last = now
            self.write()
        if done:
            os._exit(0)

    def write(self) -> None:
        doc = {"target": self.target, "inputs": self.inputs, "went_on": self.passed, "refused": self.refused,
               "refused_by_validation": self.decoded,
               "seconds": round(time.perf_counter() - self.t0, 1), "rss_mb": _rss_mb(), "crashes": self.crashes}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, self.path)


def _rss_mb() -> int:
    """This process's resident memory in MiB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20
    except (OSError, ValueError, IndexError):
        return 0


def child(target: str, runs: int, tally_path: Path, out: Path, planning: bool, fuzz_args: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["wgtrace"]):
        import numpy as np

        from wgtrace.sim.check import check
        from wgtrace.sim.check.report import json as json_report
        from wgtrace.sim.check.report import junit, sarif, text
        from wgtrace.sim.planner import plan
        from wgtrace.traces import DEFAULT_LIMITS, Trace, load, save, validate
        from wgtrace.traces.errors import InputError
        from wgtrace.traces.summary import summarize
        from wgtrace.traces.validate import validate_header

    tally = Tally(target, tally_path, out, runs)
    signal.signal(signal.SIGALRM, _too_long)

    def one_load(data: bytes) -> None:
        signal.setitimer(signal.ITIMER_REAL, HANG_S)
        try:
            try:
                last = data[-1] if data else 0
                trace = load(resealed(data) if last % 2 == 0 else data, partial=bool(last & 2))
                tally.passed += 1
                summarize(trace)
            except InputError as e:
                tally.refused += 1
                tally.decoded += ": event " in str(e)  # the columns decoded; validation refused them
        except Exception as e:  # anything else is a crash
            tally.crash(e, data, ".bin")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            tally.tick()

    seeds = check_seeds() if target == "check" else []

    def one_check(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        trace = mutated(seeds[fdp.ConsumeIntInRange(0, len(seeds) - 1)], fdp, np, Trace, DEFAULT_LIMITS)
        signal.setitimer(signal.ITIMER_REAL, HANG_S)
        try:
            try:
                validate_header(trace.header, "header")  # as the reader does
                validate(trace)
            except InputError:
                tally.refused += 1
                return
            tally.passed += 1
            try:
                result = check(trace)
                for report in (text.text(result, "t"), json_report.as_json(result, "t"), junit.junit(result, "t"),
                               sarif.sarif(result, "t", root=ROOT)):
                    assert isinstance(report, str)
                summarize(trace)
                if planning:
                    pool, passes = fdp.PickValueInList(list(POOLS)), fdp.PickValueInList(list(PASSES))
                    check(plan(trace, pool, passes))
            except InputError:
                pass
        except Exception as e:  # anything else is a crash
            f = io.BytesIO()
            try:
                save(trace, f)
            except Exception:  # noqa: BLE001 - the input bytes are kept whatever the trace holds
                f = io.BytesIO(data)
            tally.crash(e, f.getvalue(), ".wgtrace")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            tally.tick()

    atheris.Setup([sys.argv[0], *fuzz_args], one_load if target == "load" else one_check)
    atheris.Fuzz()


def resealed(data: bytes) -> bytes:
    """``data`` with each whole record's checksum (and, uncompressed, its raw length) made to match its body;
    bytes past the last whole record are kept as they are."""
    import msgpack

    from wgtrace.traces.codec import CODEC_RAW
    from wgtrace.traces.schema import MAGIC

    if not data.startswith(MAGIC):
        return data
    out, stream = [MAGIC], io.BytesIO(data[len(MAGIC):])
    unpacker = msgpack.Unpacker(stream, raw=False, strict_map_key=False, max_buffer_size=1 << 24)
    done = 0
    try:
        for record in unpacker:
            if isinstance(record, list) and len(record) == 5 and isinstance(record[4], bytes):
                record[1] = zlib.crc32(record[4])
                if record[2] == CODEC_RAW:
                    record[3] = len(record[4])
            out.append(msgpack.packb(record))
            done = unpacker.tell()
    except Exception:  # noqa: BLE001 - the rest is left to the reader as it is
        pass
    out.append(data[len(MAGIC) + done:])
    return b"".join(out)


class Hang(Exception):
    """An input still running after HANG_S seconds: a crash, at the line it was stuck on."""


def _too_long(signum, frame) -> None:
    raise Hang(f"still running after {HANG_S} s")


def mutated(seed, fdp, np, Trace, default_limits):
    """A copy of ``seed`` with a few edits the input chooses (see the module doc)."""
    kind, t, site, args = seed.kind.copy(), seed.t.copy(), seed.site.copy(), seed.args.copy()
    nrows, rows, strings = seed.nrows.copy(), seed.rows.copy(), list(seed.strings)
    header = json.loads(json.dumps(seed.header))
    for _ in range(fdp.ConsumeIntInRange(1, 4)):
        n = len(kind)
        if not n:
            break
        i = fdp.ConsumeIntInRange(0, n - 1)
        op = fdp.ConsumeIntInRange(0, 9)
        if op <= 2:  # an argument
            args[i, fdp.ConsumeIntInRange(0, args.shape[1] - 1)] = _value(fdp, args, i)
        elif op == 3 and len(rows):  # a row cell
            rows[fdp.ConsumeIntInRange(0, len(rows) - 1), fdp.ConsumeIntInRange(0, rows.shape[1] - 1)] = \
                _value(fdp, rows, None)
        elif op == 4:  # another kind
            kind[i] = fdp.ConsumeIntInRange(1, 55)
        elif op in (5, 6):  # an event duplicated (with its rows) or dropped
            start = int(nrows[:i].sum())
            span = slice(start, start + int(nrows[i]))
            keep = np.ones(n, dtype=bool)
            if op == 5:
                at = fdp.ConsumeIntInRange(0, n)
                order = np.insert(np.arange(n), at, i)
                own = np.concatenate([np.arange(int(s), int(s) + int(c)) for s, c in
                                      zip(np.cumsum(np.append(0, nrows[:-1]))[order], nrows[order], strict=True)]
                                     + [np.zeros(0, dtype=np.int64)]).astype(np.int64)
                kind, site, args, nrows, rows = kind[order], site[order], args[order], nrows[order], rows[own]
                t = np.sort(t[order])
            else:
                keep[i] = False
                row_keep = np.ones(len(rows), dtype=bool)
                row_keep[span] = False
                kind, t, site, args, nrows, rows = (kind[keep], t[keep], site[keep], args[keep], nrows[keep],
                                                    rows[row_keep])
        elif op == 7 and i + 1 < n:  # two neighbours swapped
            order = np.arange(n)
            order[i], order[i + 1] = i + 1, i
            starts = np.cumsum(np.append(0, nrows[:-1]))
            own = np.concatenate([np.arange(int(starts[j]), int(starts[j] + nrows[j])) for j in order]
                                 + [np.zeros(0, dtype=np.int64)]).astype(np.int64)
            kind, site, args, nrows, rows = kind[order], site[order], args[order], nrows[order], rows[own]
        elif op == 8:  # a row added or removed
            start = int(nrows[:i].sum())
            if nrows[i] and fdp.ConsumeBool():
                rows = np.delete(rows, start, axis=0)
                nrows[i] -= 1
            else:
                new = rows[start] if nrows[i] else np.zeros(rows.shape[1], dtype=np.int64)
                rows = np.insert(rows, start, new, axis=0)
                nrows[i] += 1
        elif op == 9:  # a string or a limit
            if fdp.ConsumeBool() and strings:
                j = fdp.ConsumeIntInRange(0, len(strings) - 1)
                strings[j] = fdp.PickValueInList(list(ODD_STRINGS)) if fdp.ConsumeBool() else fdp.ConsumeUnicode(12)
            else:
                header["limits"] = dict(header.get("limits") or default_limits)
                header["limits"][fdp.PickValueInList(list(default_limits))] = fdp.PickValueInList(list(EDGES))
    return Trace(header=header, kind=kind, t=t, site=site, args=np.asfortranarray(args), nrows=nrows,
                 rows=np.asfortranarray(rows.reshape(-1, seed.rows.shape[1])), strings=strings, blobs=list(seed.blobs),
                 end=dict(seed.end or {"events": len(kind)}))


def _value(fdp, table, i) -> int:
    """A value at an edge, an id near the table's own values, or any 64-bit integer."""
    choice = fdp.ConsumeIntInRange(0, 3)
    if choice <= 1:
        return fdp.PickValueInList(list(EDGES))
    if choice == 2:
        row = table[i] if i is not None else table[fdp.ConsumeIntInRange(0, len(table) - 1)]
        return int(row[fdp.ConsumeIntInRange(0, len(row) - 1)]) + fdp.ConsumeIntInRange(-2, 2)
    return fdp.ConsumeIntInRange(-(2**63), 2**63 - 1)


# -- the driver ------------------------------------------------------------------------------------

def run_target(target: str, runs: int, seconds: int, out: Path, quiet: bool, seed: int, planning: bool) -> dict:
    """``runs`` inputs (load) or validated traces (check) through ``target``, in children of at most ``BATCH``
    each: libFuzzer's own memory grows with the inputs it has run, so a fresh child per batch keeps it
    bounded, and the corpus directory they share carries the coverage found from one to the next."""
    total = {"target": target, "inputs": 0, "went_on": 0, "refused": 0, "refused_by_validation": 0, "rss_mb": 0,
             "batches": 0, "crashes": {}}
    counted = "went_on" if target == "check" else "inputs"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wgtrace-fuzz-") as work:
        corpus = Path(work) / "corpus"
        corpus.mkdir()
        out.mkdir(parents=True, exist_ok=True)
        if target == "load":
            for k, data in enumerate(load_seeds()):
                (corpus / f"seed{k}").write_bytes(data)
        while total[counted] < runs and time.perf_counter() - t0 < seconds:
            batch = min(runs - total[counted], BATCH[target])
            left = max(1, int(seconds - (time.perf_counter() - t0)))
            tally = Path(work) / f"tally{total['batches']}.json"
            fuzz_args = ["-rss_limit_mb=2048", "-timeout=60", f"-max_total_time={left}", "-print_final_stats=1",
                         f"-runs={batch * 50}", f"-artifact_prefix={out}/{target}-",
                         f"-seed={seed + total['batches'] if seed else 0}",
                         f"-max_len={65536 if target == 'load' else 128}", str(corpus)]
            command = [sys.executable, __file__, "--child", target, "--runs", str(batch), "--tally", str(tally),
                       "--out", str(out), *([] if planning else ["--no-plan"]), "--", *fuzz_args]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=left + 120)
            doc = json.loads(tally.read_text()) if tally.exists() else {}
            total["batches"] += 1
            for key in ("inputs", "went_on", "refused", "refused_by_validation"):
                total[key] += doc.get(key, 0)
            total["rss_mb"] = max(total["rss_mb"], doc.get("rss_mb", 0))
            for sig, c in doc.get("crashes", {}).items():
                entry = total["crashes"].setdefault(sig, {**c, "count": 0})
                entry["count"] += c["count"]
            stopped = _libfuzzer_stop(proc.stderr)
            if stopped:  # libFuzzer's own finding: out of memory, a timeout, a crash in native code
                entry = total["crashes"].setdefault(stopped, {"count": 0, "message": proc.stderr[-2000:]})
                entry["count"] += 1
            if not quiet and (stopped or proc.returncode):
                print(proc.stderr[-3000:], file=sys.stderr)
            if not doc.get(counted):
                break  # no progress: a child that cannot run
    total["wall_s"] = round(time.perf_counter() - t0, 1)
    return total


def _libfuzzer_stop(stderr: str) -> str | None:
    for what in ("out-of-memory", "timeout", "deadly signal", "fuzz target exited", "malloc limit"):
        if f"libFuzzer: {what}" in stderr:
            return f"libFuzzer: {what}"
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--load-runs", type=int, default=100_000, help="inputs through load (default 100000)")
    ap.add_argument("--check-runs", type=int, default=10_000,
                    help="validated mutated traces through check (default 10000)")
    ap.add_argument("--seconds", type=int, default=3600, help="at most this long per target (default 3600)")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "fuzz", help="where crashing inputs are kept")
    ap.add_argument("--json", action="store_true", help="print the tallies as JSON")
    ap.add_argument("--quiet", action="store_true", help="no libFuzzer output on failure")
    ap.add_argument("--seed", type=int, default=0, help="libFuzzer's random seed (default 0: a fresh one)")
    ap.add_argument("--no-plan", dest="plan", action="store_false",
                    help="check the mutated traces only, without planning them under a policy")
    ap.add_argument("--child", choices=("load", "check"), help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--tally", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("fuzz_args", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.runs, args.tally, args.out, args.plan, args.fuzz_args)
        return 0
    results = [run_target("load", args.load_runs, args.seconds, args.out, args.quiet, args.seed, args.plan),
               run_target("check", args.check_runs, args.seconds, args.out, args.quiet, args.seed, args.plan)]
    if args.json:
        print(json.dumps(results, indent=2))
    for r in results:
        if r["target"] == "load":
            went = (f"{r.get('went_on', 0):,} loaded, {r.get('refused_by_validation', 0):,} decoded and refused by "
                    f"validation, {r.get('refused', 0) - r.get('refused_by_validation', 0):,} refused undecodable")
        else:
            went = f"{r.get('went_on', 0):,} validated traces checked, {r.get('refused', 0):,} refused by validation"
        print(f"{r['target']}: {r['inputs']:,} inputs run, {went}, {len(r['crashes'])} crash(es) in {r['wall_s']} s "
              f"({r['batches']} child process(es), peak RSS {r['rss_mb']} MiB)")
        for sig, c in r["crashes"].items():
            print(f"  {sig}: {c['count']} input(s), e.g. {c.get('example', '-')}: {c['message'][:200]}")
    return 1 if any(r["crashes"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
