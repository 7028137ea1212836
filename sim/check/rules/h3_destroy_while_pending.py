"""A buffer or texture destroyed while a command that will still run uses it.

What it finds
    A buffer or texture is destroyed (by the program, or by a pool freeing a page) while an encoder that
    will be submitted still holds a command using it: that submit fails.

Why it matters
    The submit is a validation error, so none of the encoder's commands run. A pool that releases a
    page while the open encoder still uses it causes this without the program calling destroy.

An example
    compute.set_bind_group(0, uses_buf)
    compute.dispatch_workgroups(64)
    compute.end()
    buf.destroy()
    device.queue.submit([encoder.finish()])  # buf has been destroyed
"""

from __future__ import annotations

import numpy as np

from ....traces import Kind
from ..facts import Facts
from ..rule import ERROR, Finding, Rule


def destroy_while_pending(f: Facts) -> list[Finding]:
    t = f.trace
    events = f.of(Kind.BUFFER_DESTROY, Kind.TEXTURE_DESTROY)
    events = events[t.args[events, 1] == 0]
    resource = t.args[events, 0] + np.where(t.kind[events] == Kind.TEXTURE_DESTROY, len(f.buffer_events), 0)
    everything = np.full(len(events), 1 << 62, dtype=np.int64)
    row = f.pending.first_conflicts(f.pending.host(resource, np.zeros(len(events), np.int64), everything, events,
                                                   np.ones(len(events), dtype=bool)))
    fp = f.footprints
    hit = np.flatnonzero(row >= 0)
    r = row[hit]
    theirs = f.owners.lists(resource[hit], fp.start[r], fp.end[r], fp.command[r])
    out = []
    for k in range(len(hit)):
        i, rk, res = int(events[hit[k]]), int(r[k]), int(resource[hit[k]])
        c = int(fp.command[rk])
        submit = int(f.submit_at[fp.encoder[rk]])
        lo, hi = int(fp.start[rk]), int(fp.end[rk])
        call, other = f.call(i), f.call(c)
        text = (f"{call} at {f.site(i)} destroys {f.resource_name(res)} while {other} at {f.site(c)}, not yet "
                f"submitted, still uses {f.span(res, lo, hi)} of it: the submit at {f.site(submit)} will fail")
        out.append(RULE.finding(i, f.site(i), call, text, **f.located(res, lo, hi), other_event=c,
                                other_site=f.site(c), other_call=other, other_allocations=tuple(theirs[k])))
    return out


RULE = Rule("H3", "destroy while pending", ERROR, destroy_while_pending, __doc__,
            device_errors=("has been destroyed", "was destroyed"))
