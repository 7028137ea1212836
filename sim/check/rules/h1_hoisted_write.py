"""An operation that runs ahead of an earlier-recorded command using the same bytes.

What it finds
    An operation runs ahead of an earlier-recorded command that uses the same bytes: a queue write (or
    host read) issued while an encoder that is submitted later still holds that command, or a command
    whose encoder the queue runs before the encoder holding the earlier one.

Why it matters
    A queue write takes effect before every command not yet submitted, so the kernel reads the upload
    instead of its input, or its output overwrites the upload. Nothing fails: the results silently
    differ from program order. Without such a finding the checker's proof holds (see ``driver``).

An example
    compute = encoder.begin_compute_pass()
    compute.set_pipeline(matmul)
    compute.set_bind_group(0, reads_x)
    compute.dispatch_workgroups(64)
    compute.end()
    device.queue.write_buffer(x, 0, new_x)  # lands before the dispatch
    device.queue.submit([encoder.finish()])  # the dispatch reads new_x
"""

from __future__ import annotations

import numpy as np

from ...footprint import Use
from ..facts import Facts
from ..intervals import first_of_each
from ..rule import ERROR, Finding, Rule
from .words import STILL, WRITES


def hoisted_write(f: Facts) -> list[Finding]:
    q, pending, fp = f.queue, f.pending, f.footprints
    host = pending.first_conflicts(pending.host(q.resource, q.lo, q.hi, q.event, q.writes))
    # one finding per host access: the first conflict over all of its rows (a texture box has several)
    hit = np.flatnonzero(host >= 0)
    hit = hit[np.argsort(host[hit], kind="stable")]
    _, hit = first_of_each(q.event[hit], hit)
    rows = pending.hoisting_rows()
    ahead = pending.first_conflicts(pending.commands(rows))
    # one finding per command: the first conflict over all of its rows
    found = np.flatnonzero(ahead >= 0)
    found = found[np.argsort(ahead[found], kind="stable")]
    _, cmd_hit = first_of_each(fp.command[rows[found]], found)

    event = np.concatenate([q.event[hit], fp.command[rows[cmd_hit]]])
    resource = np.concatenate([q.resource[hit], fp.resource[rows[cmd_hit]]])
    writes = np.concatenate([q.writes[hit], fp.writes[rows[cmd_hit]]])
    r = np.concatenate([host[hit], ahead[cmd_hit]])
    lo = np.maximum(np.concatenate([q.lo[hit], fp.start[rows[cmd_hit]]]), fp.start[r])
    hi = np.minimum(np.concatenate([q.hi[hit], fp.end[rows[cmd_hit]]]), fp.end[r])
    other = fp.command[r]
    mine = f.owners.lists(resource, lo, hi, event)
    theirs = f.owners.lists(resource, lo, hi, other)
    out = []
    for k in range(len(event)):
        i, c, u = int(event[k]), int(other[k]), Use(int(fp.use[r[k]]))
        call, later = f.call(i), f.call(c)
        res = int(resource[k])
        span = f.span(res, int(lo[k]), int(hi[k]))
        shared = f"{span} of the same storage" if f.texture_of(res) is None else span
        if k < len(hit):  # a host access
            where = f"{later} at {f.site(c)}"
            text = (f"{call} at {f.site(i)} lands before {where}, which still {STILL[u]} {shared}" if writes[k] else
                    f"{call} at {f.site(i)} reads {span} before {where}, recorded earlier but not yet submitted, "
                    f"{WRITES[u]} them")
        else:
            where = f"{later} at {f.site(c)}, recorded earlier into an encoder the queue runs later"
            text = (f"{call} at {f.site(i)} runs ahead of {where}, which still {STILL[u]} {shared}" if writes[k] else
                    f"{call} at {f.site(i)} reads {span} ahead of {where}, which {WRITES[u]} them")
        out.append(RULE.finding(i, f.site(i), call, text, **f.located(res, int(lo[k]), int(hi[k])),
                                other_event=c, other_site=f.site(c), other_call=later, allocations=tuple(mine[k]),
                                other_allocations=tuple(theirs[k])))
    return out


RULE = Rule("H1", "hoisted write", ERROR, hoisted_write, __doc__, breaks_order=True)
