"""The re-recording loop's compiled hot path (``_loop.c``), where the package was built with it.

``_loop.c`` is optional (setup.py builds it where a C compiler and Python's headers are): without it,
or for a program with a render side, ``RerecordingLoop.run`` walks the events in Python. The two paths
give byte-identical plans (tests/test_sim_planner_fast.py plans every policy both ways); the Python
one is the reference, and a change to the loop's rules goes into both.

The C loop keeps the encoder, the pass and the per-allocation epochs itself and calls back into
Python only where a pool decides: a pooled creation (``Emitter.create``), a free (the allocation's
manager), ``Exclusion.add`` and ``Emitter.close_window``; so every pool, a user's own included, runs
as it does under the Python loop.
"""

from __future__ import annotations

from .kinds import (
    CLEAR,
    COPY,
    COPY_SRC,
    CREATE,
    DESTROY,
    DISPATCH,
    DISPATCH_INDIRECT,
    ENCODER_CREATE,
    ENCODER_FINISH,
    MAP,
    MAP_WRITE,
    MAPPED_WRITE,
    PASS_BEGIN,
    PASS_END,
    QUEUE_READ,
    SET_BIND_GROUP,
    SET_PIPELINE,
    SUBMIT,
    UNMAP,
    WRITE_BUFFER,
)

try:  # the loop in C (setup.py builds it where it can); None: Python throughout
    from . import _loop as LOOP
except ImportError:
    LOOP = None  # type: ignore[assignment]

# the codes _loop.c reads, in the order of its enum (the last: a staging buffer's usage)
CODES = (CREATE, DESTROY, ENCODER_CREATE, ENCODER_FINISH, PASS_BEGIN, PASS_END, SET_PIPELINE, SET_BIND_GROUP, DISPATCH,
         DISPATCH_INDIRECT, COPY, CLEAR, WRITE_BUFFER, SUBMIT, MAP, UNMAP, MAPPED_WRITE, QUEUE_READ,
         MAP_WRITE | COPY_SRC)
