"""Checking what a replay read back: against the recording, and against the program-order reference.

Reads are matched by the SOURCE event they realise (``plan.origin``), so a read is compared with
the same logical read of the recording and of the reference whatever the policies did to buffers,
passes and submits. The reference is the program run in program order: a buffer per allocation
and a submit before every queue write, so no write can overtake a recorded command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..sim import planner
from ..sim.plan import Plan
from ..traces import Kind, Trace
from ..traces.digest import digest
from ..traces.schema import KIND_NAMES

READS = (Kind.READ, Kind.QUEUE_READ)
REFERENCE = ("exclusive", "batched/flush-write")


def reference_plan(trace: Trace) -> Plan:
    """The plan whose reads every other plan's reads must equal: the program in program order.

    A buffer per allocation (nothing reused) and a submit before every queue write (nothing
    overtaken); batching passes changes no order, since wgpu orders commands within an encoder.
    """
    return planner.plan(trace, *REFERENCE)


@dataclass
class Divergence:
    """One read whose bytes differ from the recording's or the reference's."""

    event: int
    source: int
    kind: str
    site: str
    buffer: int
    offset: int
    size: int
    against: str
    differ: int | None

    def line(self) -> str:
        what = "differs (digest)" if self.differ is None else f"{self.differ} of {self.size} bytes differ"
        return (f"{self.kind} at {self.site} (source event {self.source}, plan event {self.event}, buffer "
                f"{self.buffer} [{self.offset}, {self.offset + self.size})): {what} from the {self.against}")


@dataclass
class Verdict:
    """How many reads were compared with what, and every divergence found."""

    reads: int = 0
    vs_recording: int = 0
    vs_reference: int = 0
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.divergences


def keyed(plan: Plan, reads: list[tuple[int, bytes]]) -> dict[int, bytes]:
    """A run's reads keyed by the source event they realise (reads a policy inserted are left out)."""
    origin = plan.origin
    return {int(origin[i]): data for i, data in reads if origin[i] >= 0}


def bytes_differ(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    same = np.frombuffer(a, np.uint8, n) == np.frombuffer(b, np.uint8, n)
    return int(n - np.count_nonzero(same)) + abs(len(a) - len(b))


def verify(plan: Plan, reads: list[tuple[int, bytes]], reference: dict[int, bytes] | None,
           recording: bool) -> Verdict:
    """Compare each read with the reference's read of the same source event, and with the recording's
    bytes or digest when ``recording`` (every write replayed its recorded payload)."""
    trace, source = plan.trace, plan.source
    verdict = Verdict()
    for i, data in reads:
        src = int(plan.origin[i])
        if src < 0:
            continue
        verdict.reads += 1
        a = trace.args[i]

        def diverged(against: str, differ: int | None, i: int = i, a: np.ndarray = a, src: int = src) -> None:
            verdict.divergences.append(Divergence(
                event=i, source=src, kind=KIND_NAMES[int(source.kind[src])], site=source.site_of(src),
                buffer=int(a[0]), offset=int(a[1]), size=int(a[2]), against=against, differ=differ))

        if recording and int(source.kind[src]) in READS:
            blob, hi, lo = (int(x) for x in source.args[src, 3:6])
            if 0 <= blob < len(source.blobs) and len(source.blobs[blob]) == int(source.args[src, 2]):
                verdict.vs_recording += 1
                n = bytes_differ(data, source.blobs[blob])
                if n:
                    diverged("recording", n)
            elif hi or lo:
                verdict.vs_recording += 1
                if digest(data) != (hi, lo):
                    diverged("recording", None)
        if reference is not None and src in reference:
            verdict.vs_reference += 1
            n = bytes_differ(data, reference[src])
            if n:
                diverged("reference", n)
    return verdict
