"""In-situ costs: what each kind of call cost the replaying thread among a program's other calls.

A fit of whole runs' CPU to call counts cannot tell apart terms whose calls come together: every pygfx frame
makes about 2.5 texture views per render pass, so a fit on lavapipe priced a view at 33 us and the pass at 18,
which holds for the programs it saw and misprices one with 3.2 views a pass (``fastplotlib``). Timing each
call of a replay (the thread's CPU, which a wait for the device does not count) measures the terms apart, in
the programs themselves rather than in a microbenchmark's loop of one call. ``wgtrace calibrate`` profiles the
replays it measures and takes these figures nearly as they are (``calibration.PROFILE_WEIGHT`` says why); the
fit then prices the terms no profile measured.

A profile is kept as sums, per call term (``TERMS``' unsized terms) of the calls of its kinds: how many, their
CPU, and, where the term has a sized partner (``write_call`` and ``write_per_mib``), the sums that fit the
call's CPU as a constant plus a rate per unit of what it carries. The first call of a kind after a compile
(``cost.cold_calls``) is summed apart, under the term's cold twin (``map_cold``): what it costs more than the
others is that term's figure. (A profile made before the cold terms sums every call under the term.)
"""

from __future__ import annotations

import math

import numpy as np

from ...traces import Trace
from .cost import TERMS, Term, cold_calls

# per call term: n, sum of us, sum of amount, of amount squared, of amount times us
STATS = ("n", "us", "a", "aa", "ay")


def _partner(term: Term) -> Term | None:
    return next((t for t in TERMS if t.amount is not None and t.kinds == term.kinds), None)


def _cold_twin(term: Term) -> Term | None:
    return next((t for t in TERMS if t.cold and t.kinds == term.kinds), None)


CALL_TERMS = tuple((t, _partner(t)) for t in TERMS if t.amount is None and not t.cold)
COLD_TWINS = {t.name: twin for t, _ in CALL_TERMS if (twin := _cold_twin(t)) is not None}


def _stats(y: np.ndarray, a: np.ndarray) -> list[float]:
    return [float(len(y)), float(y.sum()), float(a.sum()), float((a * a).sum()), float((a * y).sum())]


def sums(trace: Trace, cpu_us: np.ndarray) -> dict[str, list[float]]:
    """Per call term that ``trace`` makes calls of, the ``STATS`` of their CPU (``cpu_us``: per event); those of
    its cold calls under its cold twin's name."""
    cold = cold_calls(trace.kind)[0]
    out = {}
    for term, partner in CALL_TERMS:
        mine = np.isin(trace.kind, term.kinds)
        a = partner.amount(trace) / partner.unit if partner and partner.amount else np.zeros(len(trace))
        twin = COLD_TWINS.get(term.name)
        for name, calls in ((term.name, mine & ~cold), (twin.name, mine & cold)) if twin else ((term.name, mine),):
            if calls.any():
                out[name] = _stats(cpu_us[calls], a[calls])
    return out


def scaled(profile: dict[str, list[float]], cpu_us: float) -> dict[str, list[float]]:
    """``profile`` with its calls' CPU scaled to add up to ``cpu_us``: the replay's whole CPU as its timed runs
    measured it. The profile rounds come after those runs, and the host may run the program faster or slower by
    then: on lavapipe the timed calls add up to a run's CPU within a median 2-4 % where the host kept its speed,
    and 7-9 % (90th percentile up to 41 %) in two measurements where it did not. The profile says how a run's CPU
    splits between the terms; the runs say how much there is."""
    total = math.fsum(stats[1] for stats in profile.values())  # whatever order the terms come in
    if total <= 0 or not cpu_us > 0:
        return profile
    factor = cpu_us / total
    return {term: [n, y * factor, a, aa, ay * factor] for term, (n, y, a, aa, ay) in profile.items()}


def costs(profiles: list[dict[str, list[float]]], rates: dict[str, float] | None = None) -> dict[str, float]:
    """Per term, the in-situ cost the ``profiles`` (``sums``' output, of any replays) add up to: a call's mean
    CPU, or for a sized term the non-negative constant and rate that fit its calls best, or the constant given
    the rate where ``rates`` has one (a microbenchmark's: ``calibration.measured_rates`` says why); a term no
    call measured is left out, and so is a rate its calls' sizes do not tell (all alike)."""
    total: dict[str, np.ndarray] = {}
    for profile in profiles:
        for name, values in profile.items():
            total[name] = total.get(name, np.zeros(len(STATS))) + np.asarray(values, dtype=np.float64)
    out = {}
    for term, partner in CALL_TERMS:
        if term.name not in total or total[term.name][0] <= 0:
            continue
        known = (rates or {}).get(partner.name, 0.0) if partner is not None else 0.0
        if known > 0:
            n, y, a = total[term.name][:3].tolist()
            call, rate = max((y - known * a) / n, 0.0), known
        else:
            call, rate = _call_and_rate(total[term.name].tolist(), partner is not None)
            if partner is not None and rate > 0:
                out[partner.name] = rate
        out[term.name] = call
        twin = COLD_TWINS.get(term.name)
        if twin is not None and twin.name in total and total[twin.name][0] > 0:
            n, y, a = total[twin.name][:3].tolist()
            out[twin.name] = max((y - n * call - rate * a) / n, 0.0)
    return out


def _call_and_rate(stats: list[float], sized: bool) -> tuple[float, float]:
    """The non-negative constant and rate per unit that fit calls' CPU best (``stats``: their ``STATS``); the mean
    and no rate for a term with no sized partner, or whose calls' sizes are all alike."""
    n, y, a, aa, ay = stats
    spread = n * aa - a * a
    if not sized or spread <= 1e-12 * max(n * aa, 1.0):
        return y / n, 0.0
    call, rate = (aa * y - a * ay) / spread, (n * ay - a * y) / spread
    if rate < 0:
        return y / n, 0.0
    if call < 0:
        return 0.0, ay / aa
    return call, rate
