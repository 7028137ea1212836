"""The render side of the logical program: render passes as units, bundles, textures, what may not be pooled.

Lifted once per trace (beside ``LogicalProgram``) when the trace holds any kind format 1.1 added;
a compute trace has none of it and plans exactly as before.

- **Render passes are units.** Every event recorded into a render pass, from its begin to its first
  end, in order (``pass_events[pass_lo[e]:pass_hi[e]]`` for the pass that event ``e`` ends). A
  re-recording policy emits a pass whole, into its one encoder, when it reaches the pass's end: by
  then everything the pass names (bind groups, views, buffers, bundles) exists. So that no storage a
  pass uses is given back before the pass is emitted, uses inside a render pass count as of its end
  (``effective``), and a destroy or drop of what it uses between its begin and its end is emitted after
  it (``deferred``: destroy event -> the pass's end).
- **Bundles are not in an encoder**: their encoders and commands are kept where they were recorded;
  under re-recording policies they only get plan pass ids (pass ids are dense in creation order).
- **What may not be pooled**: a buffer a render pass binds as writable storage (a render pass is one
  usage scope, so a page holding it and any read-only use in the pass would be an H2 the program did
  not have), and a buffer whose render or texture-copy use needs an offset alignment the pool's
  alignment is not a multiple of (texel block size for texture copies, 256 for a query resolve's
  destination, 4 for vertex and indirect buffers, the index size for index buffers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...traces import Kind, Trace
from ..footprint import Commands, Footprints, Passes, Textures, Use
from ..footprint.state import DRAWS
from ..footprint.table import of_kind

# kinds whose a0 names the pass they record into (or create)
PASS_A0 = (Kind.PASS_BEGIN, Kind.RENDER_PASS_BEGIN, Kind.BUNDLE_ENCODER_CREATE, Kind.SET_PIPELINE,
           Kind.SET_BIND_GROUP, Kind.DISPATCH, Kind.DISPATCH_INDIRECT, Kind.PASS_END, Kind.TIMESTAMP_WRITES,
           Kind.SET_VERTEX_BUFFER, Kind.SET_INDEX_BUFFER, *DRAWS, Kind.RENDER_STATE, Kind.BEGIN_OCCLUSION_QUERY,
           Kind.END_OCCLUSION_QUERY, Kind.EXECUTE_BUNDLES)
# kinds whose a1 names it: a bundle's finish, a debug marker on a pass (-1 when on an encoder)
PASS_A1 = (Kind.BUNDLE_FINISH, Kind.DEBUG_MARKER)
RESOLVE_ALIGNMENT = 256


def has_render(trace: Trace) -> bool:
    """Whether the trace holds any kind format 1.1 added (textures, render passes, queries, markers...)."""
    return bool(len(trace)) and int(trace.kind.max()) >= int(Kind.TEXTURE_CREATE)


@dataclass(eq=False)
class TextureBlocks:
    """Per texture: its format's texel block (bytes, width, height; 0 bytes: unknown), and whether it is a
    depth or stencil format (a copy's buffer offset then aligns to 4 bytes at least)."""

    block_bytes: list[int]
    block_width: list[int]
    block_height: list[int]
    depth_stencil: list[bool]


@dataclass(eq=False)
class RenderProgram:
    """The render side of a trace (see the module doc). Lists of ints where the loop reads them per event."""

    n_textures: int
    event_pass: np.ndarray
    pass_kind: np.ndarray
    effective: np.ndarray
    pass_events: list[int]
    pass_lo: dict[int, int]
    pass_hi: dict[int, int]
    pass_resource: list[int]
    pass_submit: list[int]
    use_lo: dict[int, int]
    use_hi: dict[int, int]
    submitted_ends: np.ndarray
    deferred: dict[int, int]
    encoder_submit: np.ndarray
    blocks: TextureBlocks
    render_writable: np.ndarray
    align_buffer: np.ndarray
    align_need: np.ndarray

    @classmethod
    def lift(cls, trace: Trace, commands: Commands, fp: Footprints, cmd_submit: np.ndarray,
             encoder_submit: np.ndarray) -> RenderProgram:
        n, args, kind = len(trace), trace.args, trace.kind
        n_buffers = fp.n_buffers
        passes = Passes.of(trace)
        event_pass = np.full(n, -1, dtype=np.int64)
        a0 = np.flatnonzero(np.isin(kind, PASS_A0))
        event_pass[a0] = args[a0, 0]
        a1 = np.flatnonzero(np.isin(kind, PASS_A1))
        event_pass[a1] = args[a1, 1]

        # events of each ended render pass, begin to end, grouped by pass, in program order
        is_render = np.append(passes.kind == Kind.RENDER_PASS_BEGIN, False)
        in_render = np.flatnonzero(is_render[event_pass])
        p = event_pass[in_render]
        ended = passes.end[p] < n
        keep = ended & (in_render >= passes.begin[p]) & (in_render <= passes.end[p])
        in_render, p = in_render[keep], p[keep]
        order = np.argsort(p, kind="stable")
        in_render, p = in_render[order], p[order]
        effective = np.arange(n, dtype=np.int64)
        effective[in_render] = passes.end[p]
        ids, lo = np.unique(p, return_index=True)
        hi = np.append(lo[1:], len(p)).astype(np.int64) if len(lo) else lo
        end_events = passes.end[ids]
        pass_lo = dict(zip(end_events.tolist(), lo.tolist(), strict=True))
        pass_hi = dict(zip(end_events.tolist(), hi.tolist(), strict=True))

        # what each render pass's commands use, once per resource, with the earliest source submit among them
        pass_resource, pass_submit, use_lo, use_hi = _pass_uses(commands, fp, cmd_submit, passes.end)

        # render passes whose encoder the program submits (their begin is a command that runs)
        begins = commands.event[trace.kind[commands.event] == Kind.RENDER_PASS_BEGIN]
        begin_runs = cmd_submit[np.searchsorted(commands.event, begins)] < n
        submitted = np.zeros(len(passes.begin), dtype=bool)
        submitted[args[begins[begin_runs], 0]] = True
        submitted &= passes.end < n
        submitted_ends = passes.end[np.flatnonzero(submitted)]
        deferred = _deferred_destroys(trace, commands, fp, passes, submitted)

        textures = Textures(trace, n_buffers)
        blocks = _blocks(textures)
        writable = _render_writable(trace, fp, n_buffers)
        align_buffer, align_need = _alignments(trace, blocks)
        return cls(n_textures=len(textures), event_pass=event_pass, pass_kind=passes.kind, effective=effective,
                   pass_events=in_render.tolist(), pass_lo=pass_lo, pass_hi=pass_hi,
                   pass_resource=pass_resource, pass_submit=pass_submit, use_lo=use_lo, use_hi=use_hi,
                   submitted_ends=submitted_ends, deferred=deferred, encoder_submit=encoder_submit, blocks=blocks,
                   render_writable=writable, align_buffer=align_buffer, align_need=align_need)

    def unpoolable(self, alignment: int) -> np.ndarray:
        """Per buffer, whether a pool whose slices align to ``alignment`` bytes must leave it on its own buffer."""
        out = self.render_writable.copy()
        need = self.align_need
        bad = (need <= 0) | (alignment % np.maximum(need, 1) != 0)
        out[self.align_buffer[bad]] = True
        return out


def _deferred_destroys(trace: Trace, commands: Commands, fp: Footprints, passes: Passes,
                       submitted: np.ndarray) -> dict[int, int]:
    """Destroys and drops of a buffer or texture between the begin and the end of a render pass that runs and
    uses it, each to the latest such end: a re-recording policy emits the pass at its end, the destroy after it."""
    destroys = of_kind(trace, Kind.BUFFER_DESTROY, Kind.TEXTURE_DESTROY)
    if not len(destroys):
        return {}
    n_buffers = fp.n_buffers
    resource = trace.args[destroys, 0] + np.where(trace.kind[destroys] == Kind.TEXTURE_DESTROY, n_buffers, 0)
    c = np.searchsorted(commands.event, fp.command)
    rp = commands.render_pass[c]
    mine = np.flatnonzero(rp >= 0)
    mine = mine[submitted[rp[mine]]]
    pair_pass, pair_resource = rp[mine], fp.resource[mine]
    order = np.argsort(pair_resource, kind="stable")
    pair_pass, pair_resource = pair_pass[order], pair_resource[order]
    lo = np.searchsorted(pair_resource, resource, side="left")
    hi = np.searchsorted(pair_resource, resource, side="right")
    out = {}
    for d, a, b in zip(destroys.tolist(), lo.tolist(), hi.tolist(), strict=True):
        if a == b:
            continue
        ps = pair_pass[a:b]
        inside = (passes.begin[ps] < d) & (passes.end[ps] > d)
        if inside.any():
            out[d] = int(passes.end[ps[inside]].max())
    return out


def _pass_uses(commands: Commands, fp: Footprints, cmd_submit: np.ndarray,
               pass_end: np.ndarray) -> tuple[list[int], list[int], dict[int, int], dict[int, int]]:
    """Per render pass (by its end event): the resources its commands use, each once, and the earliest source
    submit of a command using it: ``pass_resource[use_lo[e]:use_hi[e]]``, ``pass_submit`` alike."""
    c = np.searchsorted(commands.event, fp.command)
    render_pass = commands.render_pass[c]
    mine = np.flatnonzero(render_pass >= 0)
    rp, resource, submit = render_pass[mine], fp.resource[mine], cmd_submit[c[mine]]
    order = np.lexsort((submit, resource, rp))
    rp, resource, submit = rp[order], resource[order], submit[order]
    first = np.ones(len(rp), dtype=bool)
    first[1:] = (rp[1:] != rp[:-1]) | (resource[1:] != resource[:-1])
    rp, resource, submit = rp[first], resource[first], submit[first]  # sorted by submit within: the first is least
    ids, lo = np.unique(rp, return_index=True)
    hi = np.append(lo[1:], len(rp)).astype(np.int64) if len(lo) else lo
    ends = pass_end[ids].tolist()
    return (resource.tolist(), submit.tolist(), dict(zip(ends, lo.tolist(), strict=True)),
            dict(zip(ends, hi.tolist(), strict=True)))


def _blocks(textures: Textures) -> TextureBlocks:
    """The texel block of every texture's format."""
    depth_stencil = [f.startswith("depth") or f == "stencil8" for f in textures.format]
    return TextureBlocks(textures.block_bytes.tolist(), textures.block_width.tolist(),
                         textures.block_height.tolist(), depth_stencil)


def _render_writable(trace: Trace, fp: Footprints, n_buffers: int) -> np.ndarray:
    """Per buffer, whether some render pass (a draw, or a bundle it executes) binds it as writable storage."""
    out = np.zeros(n_buffers, dtype=bool)
    in_render = np.isin(trace.kind[fp.command], (*DRAWS, Kind.EXECUTE_BUNDLES))
    hit = in_render & (fp.use == Use.STORAGE) & (fp.resource < n_buffers)
    out[fp.resource[hit]] = True
    return out


def _alignments(trace: Trace, blocks: TextureBlocks) -> tuple[np.ndarray, np.ndarray]:
    """(buffer, the offset alignment one of its uses needs; 0: unknown, never pooled) per render or copy use."""
    args = trace.args
    bufs, needs = [], []
    block = np.array(blocks.block_bytes + [0], dtype=np.int64)
    copy_need = np.where(np.array(blocks.depth_stencil + [False]), np.lcm(np.maximum(block, 1), 4), block)
    for kind, buffer_col, texture_col in ((Kind.COPY_BUFFER_TO_TEXTURE, 1, 2), (Kind.COPY_TEXTURE_TO_BUFFER, 2, 1)):
        e = of_kind(trace, kind)
        bufs.append(args[e, buffer_col])
        needs.append(copy_need[args[e, texture_col]])
    e = of_kind(trace, Kind.RESOLVE_QUERY_SET)
    bufs.append(args[e, 4])
    needs.append(np.full(len(e), RESOLVE_ALIGNMENT, dtype=np.int64))
    for kind, col in ((Kind.SET_VERTEX_BUFFER, 2), (Kind.DRAW_INDIRECT, 1), (Kind.DRAW_INDEXED_INDIRECT, 1)):
        e = of_kind(trace, kind)
        bufs.append(args[e, col])
        needs.append(np.full(len(e), 4, dtype=np.int64))
    e = of_kind(trace, Kind.SET_INDEX_BUFFER)
    bufs.append(args[e, 1])
    needs.append(np.maximum(args[e, 2], 1))
    return np.concatenate(bufs).astype(np.int64), np.concatenate(needs).astype(np.int64)
