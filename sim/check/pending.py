"""Which earlier-recorded commands an operation runs ahead of, and the first one it conflicts with.

Program order is the order of calls; the queue runs commands at submit. An operation recorded at
``t`` *overtakes* a command recorded before ``t`` whenever it executes first:

- a host-side access (queue write or read, mapped write or read, destroy) takes effect at once,
  so it overtakes every command recorded before it into an encoder first submitted after it;
- a command overtakes an earlier-recorded command of another encoder that the queue runs later
  (encoders submitted out of recording order, or recorded interleaved and submitted together).

Encoders never submitted run nothing and are left out; so are commands recorded after their
encoder's first submit. Each submitted encoder gets its position in the queue: the index of its
first row among all submit rows. An operation with position ``x`` overtakes rows of positions
``>= x`` recorded before it.

How it stays near O(n log n): footprint rows are grouped by (encoder, resource), a resource being a
buffer or a texture; an operation at ``t`` meets only the groups of its resource whose encoder is
open over ``t`` (first command before ``t``, submit after) and runs after it. Within a group the
rows still pending at ``t`` are those recorded before ``t``, so the group's first row (in program
order) overlapping the operation decides: it conflicts iff it was recorded before ``t``. "First
overlapping row" for all meetings at once is a min-cover and a min-reduce on one segment tree
(``intervals``) that holds only the groups some operation meets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .intervals import Segments, group_keys, ranks, spans

if TYPE_CHECKING:
    from .facts import Facts

NONE = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Overtaken:
    """Counts of what host-side accesses overtake: accesses, commands pending at one, and pairs."""

    accesses: int
    commands: int
    pairs: int


@dataclass(frozen=True)
class Accesses:
    """Operations to test: range [lo, hi) of ``resource``, recorded at ``t``, queue position ``x``."""

    resource: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    t: np.ndarray
    x: np.ndarray
    writes: np.ndarray


class Pending:
    """The running commands' footprint rows of one plan, grouped by (encoder, resource) for the search."""

    def __init__(self, facts: Facts):
        self.facts = facts
        fp = facts.footprints
        events, encoders = facts.submit_rows
        self.submit_events = events
        position = np.full(facts.n_encoders, NONE, dtype=np.int64)
        np.minimum.at(position, encoders, np.arange(len(encoders), dtype=np.int64))
        self.position = position
        self.rows = np.flatnonzero(facts.runs)
        row_encoder = fp.encoder[self.rows]
        n_resources = max(int(fp.resource.max()) + 1, 1) if len(fp) else 1
        _, (group,) = ranks([row_encoder * n_resources + fp.resource[self.rows]])
        self.group = group
        n_groups = int(group.max()) + 1 if len(group) else 0
        self.group_start = np.full(n_groups, NONE, dtype=np.int64)
        np.minimum.at(self.group_start, group, fp.command[self.rows])
        self.group_end = np.zeros(n_groups, dtype=np.int64)
        self.group_end[group] = facts.submit_at[row_encoder]
        self.group_position = np.zeros(n_groups, dtype=np.int64)
        self.group_position[group] = position[row_encoder]
        self.group_resource = np.zeros(n_groups, dtype=np.int64)
        self.group_resource[group] = fp.resource[self.rows]

    def queue_position(self, t: np.ndarray) -> np.ndarray:
        """Queue position of host-side operations at events ``t``: after every encoder submitted before."""
        return np.searchsorted(self.submit_events, t, side="left")

    def host(self, resource: np.ndarray, lo: np.ndarray, hi: np.ndarray, t: np.ndarray,
             writes: np.ndarray) -> Accesses:
        return Accesses(resource, lo, hi, t, self.queue_position(t), writes)

    def hoisting_rows(self) -> np.ndarray:
        """Footprint rows of commands whose encoder runs ahead of another holding an earlier command.

        An encoder B can overtake only if some encoder that runs after it began recording before
        B's last command; in a program that submits its encoders in the order it fills them, none can.
        """
        fp = self.facts.footprints
        rows = self.rows
        if not len(rows):
            return rows
        enc = fp.encoder[rows]
        n_enc = self.facts.n_encoders
        first = np.full(n_enc, NONE, dtype=np.int64)
        last = np.full(n_enc, -1, dtype=np.int64)
        np.minimum.at(first, enc, fp.command[rows])
        np.maximum.at(last, enc, fp.command[rows])
        used = np.flatnonzero(last >= 0)
        by_position = used[np.argsort(self.position[used], kind="stable")]
        later_first = np.minimum.accumulate(first[by_position][::-1])[::-1]
        earliest_after = np.append(later_first[1:], NONE)
        crossable = np.zeros(n_enc, dtype=bool)
        crossable[by_position] = earliest_after < last[by_position]
        return rows[crossable[enc]]

    def commands(self, rows: np.ndarray) -> Accesses:
        """The given footprint rows as operations: recorded at their command, queued just after their encoder."""
        fp = self.facts.footprints
        return Accesses(fp.resource[rows], fp.start[rows], fp.end[rows], fp.command[rows],
                        self.position[fp.encoder[rows]] + 1, fp.writes[rows])

    def first_conflicts(self, a: Accesses) -> np.ndarray:
        """Per operation, the footprint row of the first command it overtakes and conflicts with, or -1.

        An operation that writes conflicts with any use of an overlapping byte; one that only reads
        conflicts with writes.
        """
        fp = self.facts.footprints
        out = np.full(len(a.resource), NONE, dtype=np.int64)
        pair_group, pair_access = self._meetings(a)
        if len(pair_group):
            met = np.zeros(len(self.group_start), dtype=bool)
            met[pair_group] = True
            rows, group = self.rows, self.group
            keep = met[group]
            rows, group = rows[keep], group[keep]
            row_lo, row_hi, pair_lo, pair_hi = group_keys(
                [group, group, pair_group, pair_group],
                [fp.start[rows], fp.end[rows], a.lo[pair_access], a.hi[pair_access]])
            seg = Segments([row_lo, row_hi, pair_lo, pair_hi])
            leaf_row_lo, leaf_row_hi, leaf_pair_lo, leaf_pair_hi = seg.leaf
            found = np.full(len(pair_group), NONE, dtype=np.int64)
            for writers_only in (False, True):
                ask = np.flatnonzero(a.writes[pair_access] != writers_only)
                if not len(ask):
                    continue
                values = np.where(fp.writes[rows], rows, NONE) if writers_only else rows
                leaves = seg.cover(leaf_row_lo, leaf_row_hi, values, np.minimum, NONE)
                found[ask] = seg.reduce(leaves, leaf_pair_lo[ask], leaf_pair_hi[ask], np.minimum, NONE)
            hit = found != NONE
            hit[hit] = fp.command[found[hit]] < a.t[pair_access[hit]]
            np.minimum.at(out, pair_access[hit], found[hit])
        return np.where(out == NONE, -1, out)

    def _meetings(self, a: Accesses) -> tuple[np.ndarray, np.ndarray]:
        """(group, operation) for each group of the operation's resource open over ``t`` that runs after it."""
        horizon = self.facts.n + 2
        key = np.asarray(a.resource, dtype=np.int64) * horizon + a.t
        order = np.argsort(key, kind="stable")
        key = key[order]
        base = self.group_resource * horizon
        first = np.searchsorted(key, base + self.group_start, side="right")
        last = np.searchsorted(key, base + self.group_end, side="left")
        counts = np.maximum(last - first, 0)
        group = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        access = order[spans(first, counts)]
        later = self.group_position[group] >= a.x[access]
        return group[later], access[later]

    def overtaken(self) -> Overtaken:
        """How many (host access, pending command) reorderings the queue introduces: all of them are checked."""
        facts = self.facts
        c = facts.commands
        times = facts.queue.events()
        runs = facts.command_runs(c.event, c.encoder)
        ahead = (np.searchsorted(times, facts.submit_at[c.encoder[runs]], side="left")
                 - np.searchsorted(times, c.event[runs], side="right"))
        return Overtaken(len(times), int(np.count_nonzero(ahead)), int(ahead.sum()))
