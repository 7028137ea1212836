"""The planner: a trace, a pool policy and a pass policy in; the physical program (a ``Plan``) out.

First the trace is lifted to its logical program (``program.py``, once per trace). Then the
physical program is emitted in program order:

- Pool: a pooled allocation takes a slice of a page at its creation and gives it back at its end;
  a page is a BUFFER_CREATE (usage: the union the pooled buffers need), and a page the pool gives
  back is destroyed once no encoder holding commands is left unsubmitted. Buffers that can be
  mapped (MAP_READ / MAP_WRITE) are never pooled, nor is anything under ``exclusive``. A mapped
  write into a pooled buffer (created mapped) becomes an upload: pages are never mapped. Under a
  policy with ``separate_uniform_pool``, allocations with UNIFORM usage reserve from a second
  instance of its pools, so their pages never hold storage; under one with
  ``read_write_bindings``, read-only storage bindings of the other pooled buffers become
  read-write, layouts and WGSL included (``bindings.py``): no page is bound writable beside
  another usage in one dispatch (H2), as in CubeCL since #814.
- Passes: ``as-recorded`` keeps the program's encoders, passes and submits (``recorded.py``); the
  others re-record every submitted command (``rerecorded.py``; the policies are in
  sim/policies/pass_policies.py). Commands of encoders the program never submits ran nothing:
  re-recording policies drop them.
- Render programs (format 1.1, ``render.py``): as recorded, every render and texture event is kept
  event for event, its buffer references (vertex, index and indirect buffers, bind group rows,
  texture copies' buffer sides, query resolve destinations) moved to (page, offset) as any other.
  Re-recording keeps each render pass whole and in order, as a pass of its own in the plan's
  encoder, emitted at its end; bundle encoders stay where they were recorded. Textures are never
  pooled; nor is a buffer a render pass binds writable, or one whose texture copy, query resolve,
  vertex or index use needs an offset alignment the pool's slices do not keep. Under
  ``staging-copy`` a ``write_texture`` becomes a staging buffer at a 256-byte row pitch and a
  ``copy_buffer_to_texture`` (``uploads.py``).

``schedule.py`` splits the work between numpy and the loop, ``emitter.py`` holds what the loops
emit (and gives the pools their pages), ``loop.py`` what both loops share, ``assemble.py`` turns
the records into the plan's columns; ``kinds.py`` has the codes as plain ints for the loops;
``render.py`` lifts the render side, ``uploads.py`` lays out staged texture uploads; ``fast.py`` runs the
loops and the shipped pools in C (``_loop.c``) where the package was built with it.

``plan(trace, "as-recorded", "as-recorded")`` (``exclusive`` is the same pool) reproduces the
trace event for event. Every policy is deterministic: same trace, same policies, same plan.
"""

from __future__ import annotations

from ...traces import Trace
from ..plan import Plan
from ..policies import PassPolicy, PolicyError, PoolPolicy, parse_passes, parse_pool
from .assemble import assemble
from .emitter import Emitter
from .program import LogicalProgram
from .recorded import RecordedLoop
from .rerecorded import RerecordingLoop
from .schedule import schedule

__all__ = ["plan"]


def plan(trace: Trace, pool: str | PoolPolicy = "as-recorded", passes: str | PassPolicy = "as-recorded", *,
         limits: dict | None = None) -> Plan:
    """The physical program of ``trace`` under a pool policy and a pass policy (names: see pools, passes).

    ``limits`` lays the pages out for another device than the recording's (its offset alignments
    and binding sizes, as wgpu-py names them); the plan's header then carries them, so the checker
    judges the plan against the device it is meant for.
    """
    pool_policy, pass_policy = parse_pool(pool), parse_passes(passes)
    program = LogicalProgram.of(trace)
    if program.n_devices > 1 and (pool_policy.pooled or not pass_policy.records):
        raise PolicyError(f"the trace uses {program.n_devices} devices; only exclusive x as-recorded plans "
                          f"more than one")
    emitter = Emitter(trace, program, pool_policy, limits)
    work = schedule(trace, program, emitter.pooled, pool_policy, pass_policy)
    if not pass_policy.records:
        RerecordingLoop(emitter, pass_policy, work).run()
    elif work.visits or work.free_buffer:
        RecordedLoop(emitter, work).run()
    planned = assemble(emitter, work.placed, pass_policy)
    emitter.release()
    return planned
