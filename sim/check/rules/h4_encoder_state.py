"""A command recorded in the wrong encoder state.

What it finds
    A command in the wrong encoder state: a copy, clear or new pass while a compute or render pass is
    open, a pass command after its pass ended (or its bundle encoder finished) or in a kind of pass that
    does not take it (a draw in a compute pass, a compute pipeline in a render pass), recording into a
    finished encoder, a dispatch or draw with no pipeline, or a submit of an encoder not finished or
    already submitted.

Why it matters
    WebGPU locks an encoder while one of its passes is open and rejects commands out of order; the
    encoder becomes invalid and its submit fails. A pass policy that keeps one pass open must end it
    before a staging copy or a clear.

An example
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(pipeline)
    encoder.copy_buffer_to_buffer(staging, 0, x, 0, 256)  # the pass is still open
    compute.end()
"""

from __future__ import annotations

import numpy as np

from ....traces import Kind
from ...footprint.state import DRAWS, PASS_NAMES
from ..facts import Facts
from ..rule import ERROR, Finding, Rule

_IN_PASS = (Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.PASS_END,
            Kind.SET_VERTEX_BUFFER, Kind.SET_INDEX_BUFFER, *DRAWS, Kind.RENDER_STATE, Kind.BEGIN_OCCLUSION_QUERY,
            Kind.END_OCCLUSION_QUERY, Kind.EXECUTE_BUNDLES, Kind.BUNDLE_FINISH)
_ON_ENCODER = (Kind.COPY, Kind.CLEAR, Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN, Kind.ENCODER_FINISH,
               Kind.COPY_BUFFER_TO_TEXTURE, Kind.COPY_TEXTURE_TO_BUFFER, Kind.COPY_TEXTURE_TO_TEXTURE,
               Kind.RESOLVE_QUERY_SET, Kind.WRITE_TIMESTAMP)
_BEGINS = (Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN)


def encoder_state(f: Facts) -> list[Finding]:
    misplaced = _misplaced(f)
    wrong = {i for i, _, _ in misplaced}
    no_pipeline = [x for x in _no_pipeline(f) if x[0] not in wrong]
    found = _after_end(f) + _while_open(f) + misplaced + no_pipeline + _submits(f)
    out = []
    for i, other, why in found:
        call = f.call(i)
        o = other if 0 <= other < f.n else None
        text = f"{call} at {f.site(i)} " + why.format(other=f.site(other))
        out.append(RULE.finding(i, f.site(i), call, text, other_event=o,
                                other_site=f.site(o) if o is not None else None,
                                other_call=f.call(o) if o is not None else None))
    return out


def _pass_of(t, events: np.ndarray) -> np.ndarray:
    """The pass each in-pass event records into (a bundle's finish names its encoder second)."""
    return np.where(t.kind[events] == Kind.BUNDLE_FINISH, t.args[events, 1], t.args[events, 0])


def _after_end(f: Facts) -> list[tuple[int, int, str]]:
    """Pass commands after their pass ended; commands into an encoder already finished."""
    t, passes = f.trace, f.passes
    in_pass = f.of(*_IN_PASS)
    pass_id = _pass_of(t, in_pass)
    ended = passes.end[pass_id]
    late = np.flatnonzero(in_pass > ended)
    found = [(int(in_pass[k]), int(ended[k]), f"on a {PASS_NAMES[Kind(int(passes.kind[pass_id[k]]))]} that already "
              f"{'finished' if passes.kind[pass_id[k]] == Kind.BUNDLE_ENCODER_CREATE else 'ended'} at {{other}}")
             for k in late.tolist()]
    on_encoder = f.of(*_ON_ENCODER)
    encoder = _encoder_of(t, on_encoder)
    finished = f.finish_at[encoder]
    late = on_encoder > finished
    found += [(i, e, "records into an encoder already finished at {other}")
              for i, e in zip(on_encoder[late].tolist(), finished[late].tolist(), strict=True)]
    return found


def _encoder_of(t, events: np.ndarray) -> np.ndarray:
    return np.where(np.isin(t.kind[events], _BEGINS), t.args[events, 1], t.args[events, 0])


def _while_open(f: Facts) -> list[tuple[int, int, str]]:
    """Encoder commands while a pass of the same encoder, begun before them, is still open."""
    t, n, passes = f.trace, f.n, f.passes
    begins = f.of(*_BEGINS)
    pass_encoder = t.args[begins, 1]
    pass_end = passes.end[t.args[begins, 0]]
    on_encoder = f.of(*_ON_ENCODER)
    encoder = _encoder_of(t, on_encoder)
    # is a pass of the same encoder, begun before the event, still open? (latest end among those begun)
    order = np.lexsort((begins, pass_encoder))
    span = np.int64(n + 1)
    began = pass_encoder[order] * span + begins[order]
    latest_end = np.maximum.accumulate(pass_encoder[order] * span + pass_end[order]) if len(order) else began
    pos = np.searchsorted(began, encoder * span + on_encoder, side="left") - 1
    p = np.maximum(pos, 0)
    open_pass = ((pos >= 0) & (pass_encoder[order][p] == encoder) & (latest_end[p] - encoder * span > on_encoder)
                 if len(order) else np.zeros(len(on_encoder), dtype=bool))
    found = []
    for i, e in zip(on_encoder[open_pass].tolist(), encoder[open_pass].tolist(), strict=True):
        mine = np.flatnonzero((pass_encoder == e) & (begins < i) & (pass_end > i))
        b = int(begins[mine[-1]])
        found.append((i, b, f"while the {PASS_NAMES[Kind(int(t.kind[b]))]} begun at {{other}} is still open"))
    return found


def _misplaced(f: Facts) -> list[tuple[int, int, str]]:
    """Pass commands in a kind of pass that does not take them: a draw in a compute pass, a dispatch in a
    render pass, a compute pipeline set in a render pass or bundle."""
    t, passes = f.trace, f.passes
    events, pass_kind = passes.misplaced(t)
    found = []
    for i, k in zip(events.tolist(), pass_kind.tolist(), strict=True):
        where = f"the {PASS_NAMES[Kind(k)]} begun at {{other}}"
        why = (f"sets a {'compute' if k != Kind.PASS_BEGIN else 'render'} pipeline in {where}"
               if t.kind[i] == Kind.SET_PIPELINE else f"in {where}, which does not take it")
        found.append((i, int(passes.begin[t.args[i, 0]]), why))
    return found


def _no_pipeline(f: Facts) -> list[tuple[int, int, str]]:
    """Dispatches and draws with no pipeline set, in passes and in bundles."""
    t, c, passes = f.trace, f.commands, f.passes
    found = [(i, -1, "with no pipeline set in its compute pass")
             for i in c.event[(c.pipeline < 0) & (c.compute_pass >= 0)].tolist()]
    draws = np.isin(t.kind[c.event], DRAWS)
    found += [(i, -1, "with no pipeline set in its render pass")
              for i in c.event[(c.pipeline < 0) & draws].tolist()]
    bundle_draws = f.of(*DRAWS)
    bundle_draws = bundle_draws[passes.kind[t.args[bundle_draws, 0]] == Kind.BUNDLE_ENCODER_CREATE]
    if len(bundle_draws):
        sets = f.of(Kind.SET_PIPELINE)
        first_set = np.full(len(passes.begin), f.n, dtype=np.int64)
        np.minimum.at(first_set, t.args[sets, 0], sets)
        unset = bundle_draws[first_set[t.args[bundle_draws, 0]] > bundle_draws]
        found += [(i, -1, "with no pipeline set in its render bundle") for i in unset.tolist()]
    return found


def _submits(f: Facts) -> list[tuple[int, int, str]]:
    """Submits of an encoder not finished, or of a command buffer already submitted."""
    events, encoders = f.submit_rows
    unfinished = f.finish_at[encoders] > events
    again = ~unfinished & (f.submit_at[encoders] < events)
    found = [(s, -1, f"of {f.encoder_name(e)}, which is not finished")
             for s, e in zip(events[unfinished].tolist(), encoders[unfinished].tolist(), strict=True)]
    found += [(s, int(f.submit_at[e]), f"of {f.encoder_name(e)}'s command buffer, already submitted at {{other}}")
              for s, e in zip(events[again].tolist(), encoders[again].tolist(), strict=True)]
    return found


RULE = Rule("H4", "encoder state", ERROR, encoder_state, __doc__,
            device_errors=("locked by a previously created", "pass must be ended", "not in a pass"))
