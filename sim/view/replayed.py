"""Replay figures for the report: what ``wgtrace replay --json`` printed, read back and matched to policies.

sim never imports replay (it runs on machines without a GPU), so the report takes replay's output
as a file: one JSON object per replayed policy (a list of them for several). Only the fields the
report shows are read, and each is checked for its type, so a file of something else is refused in
one line rather than half drawn.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ...traces.errors import InputError
from ..policies import parse_passes, parse_pool


@dataclass(frozen=True)
class Replayed:
    """One replayed policy: its names as the planner spells them, the adapter, whether every read matched, the
    median CPU and synchronised seconds of its timed runs (None without timed runs) and the plan's figures."""

    pool: str
    passes: str
    adapter: str
    ok: bool
    cpu_s: float | None
    wall_s: float | None
    runs: int
    figures: dict[str, int]

    def as_dict(self) -> dict:
        return {"pool": self.pool, "passes": self.passes, "adapter": self.adapter, "ok": self.ok, "cpu_s": self.cpu_s,
                "wall_s": self.wall_s, "runs": self.runs, "figures": dict(sorted(self.figures.items()))}


FIGURES = ("peak_reserved_bytes", "created_bytes", "buffers_created", "passes_begun", "encoders", "submits")


def load_replays(path: str) -> list[Replayed]:
    """The replays in ``path``; InputError, naming the file and what is wrong, for anything else."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    except (ValueError, RecursionError) as e:
        raise InputError(f"{path}: not JSON ({e})") from None
    entries = data if isinstance(data, list) else [data]
    if not entries:
        raise InputError(f"{path}: no replay in it (an empty list)")
    return [_entry(path, k, entry) for k, entry in enumerate(entries)]


def _entry(path: str, k: int, entry: object) -> Replayed:
    where = f"{path}: replay {k}"
    if not isinstance(entry, dict):
        raise InputError(f"{where}: not an object, as `wgtrace replay --json` prints")
    for key, kind in (("pool", str), ("passes", str), ("adapter", str), ("ok", bool), ("plan", dict),
                      ("timings", dict)):
        if not isinstance(entry.get(key), kind):
            raise InputError(f"{where}: {key!r} is missing or not a {kind.__name__}, as `wgtrace replay --json` "
                             f"prints it")
    try:
        pool, passes = parse_pool(entry["pool"]).spec, parse_passes(entry["passes"]).spec
    except InputError as e:
        raise InputError(f"{where}: {e}") from None
    timings = entry["timings"]
    figures = {name: _count(where, entry["plan"], name) for name in FIGURES if name in entry["plan"]}
    return Replayed(pool, passes, entry["adapter"], entry["ok"], _median(where, timings, "cpu_s"),
                    _median(where, timings, "wall_s"), _runs(where, timings), figures)


def _median(where: str, timings: dict, key: str) -> float | None:
    if key not in timings:
        return None
    value = timings[key].get("median") if isinstance(timings[key], dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise InputError(f"{where}: timings.{key}.median is not a number of seconds")
    return float(value)


def _runs(where: str, timings: dict) -> int:
    n = timings.get("cpu_s", {}).get("n", 0) if isinstance(timings.get("cpu_s", {}), dict) else None
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InputError(f"{where}: timings.cpu_s.n is not a count of runs")
    return n


def _count(where: str, plan: dict, name: str) -> int:
    value = plan[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{where}: plan.{name} is not a count")
    return value


def match(replays: list[Replayed], pool: str, passes: str) -> Replayed | None:
    """The last replay of this policy (its names as the planner spells them), if any."""
    return next((r for r in reversed(replays) if (r.pool, r.passes) == (pool, passes)), None)
