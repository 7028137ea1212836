"""In-situ costs: what each kind of call cost the replaying thread among a program's other calls.

A fit of whole runs' CPU to call counts cannot tell apart terms whose calls come together: every pygfx frame
makes about 2.5 texture views per render pass, so a fit on lavapipe priced a view at 33 us and the pass at 18,
which holds for the programs it saw and misprices one with 3.2 views a pass (``fastplotlib``). Timing each
call of a replay (the thread's CPU, which a wait for the device does not count) measures the terms apart, in
the programs themselves rather than in a microbenchmark's loop of one call. ``wgtrace calibrate`` profiles the
replays it measures and pulls the fit towards these figures (``calibration.PROFILE_WEIGHT``); the fit then
adds what the profile does not see (the replay loop between calls, a call's effect on the next).

A profile is kept as sums, per call term (``TERMS``' unsized terms) of the calls of its kinds: how many, their
CPU, and, where the term has a sized partner (``write_call`` and ``write_per_mib``), the sums that fit the
call's CPU as a constant plus a rate per unit of what it carries.
"""

from __future__ import annotations

import numpy as np

from ...traces import Trace
from .cost import TERMS, Term

# per call term: n, sum of us, sum of amount, of amount squared, of amount times us
STATS = ("n", "us", "a", "aa", "ay")


def _partner(term: Term) -> Term | None:
    return next((t for t in TERMS if t.amount is not None and t.kinds == term.kinds), None)


CALL_TERMS = tuple((t, _partner(t)) for t in TERMS if t.amount is None)


def sums(trace: Trace, cpu_us: np.ndarray) -> dict[str, list[float]]:
    """Per call term that ``trace`` makes calls of, the ``STATS`` of their CPU (``cpu_us``: per event)."""
    out = {}
    for term, partner in CALL_TERMS:
        mine = np.isin(trace.kind, term.kinds)
        if not mine.any():
            continue
        y = cpu_us[mine]
        a = partner.amount(trace)[mine] / partner.unit if partner and partner.amount else np.zeros(len(y))
        out[term.name] = [float(len(y)), float(y.sum()), float(a.sum()), float((a * a).sum()), float((a * y).sum())]
    return out


def costs(profiles: list[dict[str, list[float]]]) -> dict[str, float]:
    """Per term, the in-situ cost the ``profiles`` (``sums``' output, of any replays) add up to: a call's mean
    CPU, or for a sized term the non-negative constant and rate that fit its calls best; a term no call
    measured is left out, and so is a rate its calls' sizes do not tell (all alike)."""
    total: dict[str, np.ndarray] = {}
    for profile in profiles:
        for name, values in profile.items():
            total[name] = total.get(name, np.zeros(len(STATS))) + np.asarray(values, dtype=np.float64)
    out = {}
    for term, partner in CALL_TERMS:
        if term.name not in total or total[term.name][0] <= 0:
            continue
        n, y, a, aa, ay = total[term.name].tolist()
        spread = n * aa - a * a
        if partner is None or spread <= 1e-12 * max(n * aa, 1.0):
            out[term.name] = y / n
            continue
        call, rate = (aa * y - a * ay) / spread, (n * ay - a * y) / spread
        if rate < 0:
            call, rate = y / n, 0.0
        elif call < 0:
            call, rate = 0.0, ay / aa
        out[term.name] = call
        if rate > 0:
            out[partner.name] = rate
    return out
