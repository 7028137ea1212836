"""Textures on the checker's key line: where every texel of every texture lies, beside the buffers' bytes.

The rules compare ranges on one integer line per resource. A texture's texels are laid out there
the way a texture's memory would be: layer after layer, in each layer its mip levels in order, in
each level its depth slices, rows and texels. A view or an attachment then covers one run per
layer (all its mips are adjacent), a box of texels (a copy or an upload) one run per row, or one
per slice where it spans whole rows; adjacent runs are merged. Two uses of a texture overlap on
the line exactly when they share a texel, so texture accesses go through the same searches as
buffer ranges.

Dimensions are clipped to WebGPU's largest (a trace may claim absurd sizes; the device would
reject such a texture, and H5 names the calls that reach past a real one), so keys stay in int64.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...traces import Kind, Trace
from .formats import Block, block
from .table import of_kind

MAX_EXTENT = 1 << 17  # texels across (WebGPU devices allow up to 16384 or so)
MAX_ARRAY_LAYERS = 1 << 12  # layers, or slices of a 3D texture
MAX_MIPS = 18  # enough levels for MAX_EXTENT

ROW_CAP = 1 << 16  # a box of more rows than this is taken as whole rows (a superset of its texels)
SLAB_CAP = 1 << 12  # a box of more slices or layers than this, as one run from its first to its last


@dataclass(eq=False)
class Runs:
    """Runs [lo, hi) of the key line, each for item ``owner`` of the request, sorted by owner then lo."""

    owner: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def __len__(self) -> int:
        return len(self.owner)


class Textures:
    """Every texture of a trace (TEXTURE_CREATE order is id order) and every view, as columns."""

    def __init__(self, trace: Trace, first_resource: int):
        self.trace = trace
        self.first_resource = first_resource
        events = of_kind(trace, Kind.TEXTURE_CREATE)
        self.events = events
        a = trace.args[events]
        descriptor = trace.rows[trace.row_start[events]] if len(events) else np.zeros((0, 5), np.int64)
        self.dimension = descriptor[:, 2]
        self.mips = np.clip(descriptor[:, 0], 1, MAX_MIPS)
        is_3d = self.dimension == 3
        width = np.clip(a[:, 1], 1, MAX_EXTENT)
        height = np.where(self.dimension == 1, 1, np.clip(a[:, 2], 1, MAX_EXTENT))
        depth = np.clip(a[:, 3], 1, MAX_ARRAY_LAYERS)
        self.layers = np.where(is_3d, 1, depth)
        level = np.arange(MAX_MIPS)
        self.width = np.maximum(width[:, None] >> level, 1)
        self.height = np.maximum(height[:, None] >> level, 1)
        self.depth = np.where(is_3d[:, None], np.maximum(depth[:, None] >> level, 1), 1)
        size = np.where(level < self.mips[:, None], self.width * self.height * self.depth, 0)
        self.below = np.concatenate([np.zeros((len(events), 1), np.int64), np.cumsum(size, axis=1)], axis=1)
        self.layer_size = self.below[:, -1]
        self.format = [trace.strings[int(s)] for s in a[:, 4].tolist()]
        blocks = [block(f) or Block(0) for f in self.format]
        self.block_bytes, self.block_width, self.block_height = (
            np.array([b[j] for b in blocks], dtype=np.int64).reshape(-1) for j in range(3))

    def __len__(self) -> int:
        return len(self.events)

    @cached_property
    def views(self) -> np.ndarray:
        """Per view id: texture, base mip, mip count, base layer, layer count (as recorded, resolved)."""
        events = of_kind(self.trace, Kind.TEXTURE_VIEW)
        if not len(events):
            return np.zeros((0, 5), np.int64)
        ranges = self.trace.rows[self.trace.row_start[events]]
        return np.column_stack([self.trace.args[events, 1], ranges[:, :4]])

    def name(self, texture: int) -> str:
        label = int(self.trace.rows[self.trace.row_start[self.events[texture]], 4]) if texture < len(self) else -1
        return f"texture {texture} '{self.trace.strings[label]}'" if label >= 0 else f"texture {texture}"

    def subresources(self, texture: np.ndarray, mip: np.ndarray, mips: np.ndarray, layer: np.ndarray,
                     layers: np.ndarray) -> Runs:
        """The runs of whole subresources: mip levels [mip, mip + mips) of layers [layer, layer + layers)."""
        t = np.asarray(texture, dtype=np.int64)
        top = self.mips[t]
        mip = np.clip(mip, 0, top)
        mips = np.clip(mips, 0, top - mip)
        layer = np.clip(layer, 0, self.layers[t])
        layers = np.clip(layers, 0, self.layers[t] - layer)
        whole = (mip == 0) & (mips == top)
        count = np.where(whole, np.minimum(layers, 1), np.where(mips > 0, layers, 0))
        owner = np.repeat(np.arange(len(t)), count)
        step = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        o = owner
        size = self.layer_size[t[o]]
        at = (layer[o] + step) * size
        lo = np.where(whole[o], layer[o] * size, at + self.below[t[o], mip[o]])
        hi = np.where(whole[o], (layer[o] + layers[o]) * size, at + self.below[t[o], mip[o] + mips[o]])
        return _merged(owner, lo, hi)

    def slices(self, texture: np.ndarray, mip: np.ndarray, z: np.ndarray) -> Runs:
        """The run of one depth slice of one mip level of a 3D texture (a 3D attachment's depth_slice)."""
        t = np.asarray(texture, dtype=np.int64)
        mip = np.clip(mip, 0, self.mips[t] - 1)
        z = np.clip(z, 0, self.depth[t, mip] - 1)
        plane = self.width[t, mip] * self.height[t, mip]
        lo = self.below[t, mip] + z * plane
        return Runs(np.arange(len(t)), lo, lo + plane)

    def boxes(self, texture: np.ndarray, mip: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray,
              w: np.ndarray, h: np.ndarray, d: np.ndarray) -> Runs:
        """The runs of boxes of texels at one mip level; ``z``/``d`` are slices of a 3D texture, else layers.

        A box is clipped to its subresources first (reaching past them is H5's to report).
        """
        t = np.asarray(texture, dtype=np.int64)
        mip = np.clip(mip, 0, self.mips[t] - 1)
        width, height = self.width[t, mip], self.height[t, mip]
        is_3d = self.dimension[t] == 3
        extent = np.where(is_3d, self.depth[t, mip], self.layers[t])
        x, y, z = np.clip(x, 0, width), np.clip(y, 0, height), np.clip(z, 0, extent)
        w, h, d = np.clip(w, 0, width - x), np.clip(h, 0, height - y), np.clip(d, 0, extent - z)
        rows_whole = ((x == 0) & (w == width)) | (h * d > ROW_CAP)
        one_run = d > SLAB_CAP
        plane = width * height
        slab_step = np.where(is_3d, plane, self.layer_size[t])
        start = np.where(is_3d, z * plane, z * self.layer_size[t]) + self.below[t, mip] + y * width
        start = start + np.where(rows_whole, 0, x)
        run = np.where(rows_whole, h * width, w)  # texels per run
        run = np.where(one_run, (d - 1) * slab_step + h * width, run)
        per_slab = np.where(rows_whole | one_run, 1, h)
        count = np.where((w > 0) & (h > 0) & (d > 0), np.where(one_run, 1, d * per_slab), 0)
        owner = np.repeat(np.arange(len(t)), count)
        step = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        slab, row = np.divmod(step, per_slab[owner])
        lo = start[owner] + slab * slab_step[owner] + row * width[owner]
        return _merged(owner, lo, lo + run[owner])

    def where(self, texture: int, key: int) -> tuple[int, int, int, int, int]:
        """(layer, mip, z, y, x) of the texel at ``key`` of ``texture``'s run."""
        size = int(self.layer_size[texture])
        layer, rest = divmod(key, size) if size else (0, 0)
        mip = int(np.searchsorted(self.below[texture], rest, side="right")) - 1
        rest -= int(self.below[texture, mip])
        width, height = int(self.width[texture, mip]), int(self.height[texture, mip])
        z, rest = divmod(rest, width * height)
        y, x = divmod(rest, width)
        return layer, mip, z, y, x

    def region(self, texture: int, lo: int, hi: int) -> str:
        """Texels [lo, hi) of ``texture`` as people name them: "texels (0, 0)-(15, 3) of mip 0, layer 2"."""
        first, last = self.where(texture, lo), self.where(texture, hi - 1)
        if first[:2] != last[:2]:
            return f"mip {first[1]} of layer {first[0]} to mip {last[1]} of layer {last[0]}"
        layer, mip = first[:2]
        deep = self.dimension[texture] == 3
        at = [f"({a[4]}, {a[3]}{f', {a[2]}' if deep else ''})" for a in (first, last)]
        where = f"mip {mip}" + (f", layer {layer}" if self.layers[texture] > 1 else "")
        return f"texels {at[0]}-{at[1]} of {where}"


def _merged(owner: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Runs:
    """Runs given in (owner, lo) order, disjoint within an owner: adjacent ones merged, empty ones dropped."""
    keep = hi > lo
    owner, lo, hi = owner[keep], lo[keep], hi[keep]
    if len(owner) < 2:
        return Runs(owner, lo, hi)
    same = np.concatenate(([False], owner[1:] == owner[:-1]))
    starts = ~same | (lo > np.concatenate(([0], hi[:-1])))
    group = np.cumsum(starts) - 1
    out_hi = np.zeros(int(group[-1]) + 1, np.int64)
    np.maximum.at(out_hi, group, hi)
    return Runs(owner[starts], lo[starts], out_hi)

