"""A command recorded in the wrong encoder state.

What it finds
    A command in the wrong encoder state: a copy or clear while a compute pass is open, a pass command
    after its pass ended, recording into a finished encoder, a dispatch with no pipeline, or a submit
    of an encoder not finished or already submitted.

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
from ..facts import Facts
from ..rule import ERROR, Finding, Rule


def encoder_state(f: Facts) -> list[Finding]:
    t, n = f.trace, f.n
    found: list[tuple[int, int, str]] = []  # (event, other event or -1, why; "{other}" is its site)

    begins = f.of(Kind.PASS_BEGIN)
    pass_encoder = t.args[begins, 1]
    pass_end = f.first_event(Kind.PASS_END, len(begins))
    in_pass = f.of(Kind.SET_PIPELINE, Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.PASS_END)
    ended = pass_end[t.args[in_pass, 0]]
    late = in_pass > ended
    found += [(i, e, "on a compute pass that already ended at {other}")
              for i, e in zip(in_pass[late].tolist(), ended[late].tolist(), strict=True)]

    on_encoder = f.of(Kind.COPY, Kind.CLEAR, Kind.PASS_BEGIN, Kind.ENCODER_FINISH)
    encoder = np.where(t.kind[on_encoder] == Kind.PASS_BEGIN, t.args[on_encoder, 1], t.args[on_encoder, 0])
    finished = f.finish_at[encoder]
    late = on_encoder > finished
    found += [(i, e, "records into an encoder already finished at {other}")
              for i, e in zip(on_encoder[late].tolist(), finished[late].tolist(), strict=True)]

    # is a pass of the same encoder, begun before the event, still open? (latest end among those begun)
    order = np.lexsort((begins, pass_encoder))
    span = np.int64(n + 1)
    began = pass_encoder[order] * span + begins[order]
    latest_end = np.maximum.accumulate(pass_encoder[order] * span + pass_end[order]) if len(order) else began
    pos = np.searchsorted(began, encoder * span + on_encoder, side="left") - 1
    p = np.maximum(pos, 0)
    open_pass = ((pos >= 0) & (pass_encoder[order][p] == encoder) & (latest_end[p] - encoder * span > on_encoder)
                 if len(order) else np.zeros(len(on_encoder), dtype=bool))
    for i, e in zip(on_encoder[open_pass].tolist(), encoder[open_pass].tolist(), strict=True):
        mine = np.flatnonzero((pass_encoder == e) & (begins < i) & (pass_end > i))
        found.append((i, int(begins[mine[-1]]), "while the compute pass begun at {other} is still open"))

    c = f.commands
    found += [(i, -1, "with no pipeline set in its compute pass")
              for i in c.event[(c.pipeline < 0) & (c.compute_pass >= 0)].tolist()]

    events, encoders = f.submit_rows
    unfinished = f.finish_at[encoders] > events
    again = ~unfinished & (f.submit_at[encoders] < events)
    found += [(s, -1, f"of encoder {e}, which is not finished")
              for s, e in zip(events[unfinished].tolist(), encoders[unfinished].tolist(), strict=True)]
    found += [(s, int(f.submit_at[e]), f"of encoder {e}'s command buffer, already submitted at {{other}}")
              for s, e in zip(events[again].tolist(), encoders[again].tolist(), strict=True)]

    out = []
    for i, other, why in found:
        call = f.call(i)
        o = other if 0 <= other < n else None
        text = f"{call} at {f.site(i)} " + why.format(other=f.site(other))
        out.append(RULE.finding(i, f.site(i), call, text, other_event=o,
                                other_site=f.site(o) if o is not None else None,
                                other_call=f.call(o) if o is not None else None))
    return out


RULE = Rule("H4", "encoder state", ERROR, encoder_state, __doc__,
            device_errors=("locked by a previously created", "pass must be ended", "not in a pass"))
