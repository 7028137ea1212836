"""A random offscreen pygfx scene, drawn from a seed: meshes, lines, points and images, some changed each frame.

The calibration of the cost model (``wgtrace calibrate``) needs render programs whose calls come in
different proportions: with only one pygfx scene and one plain-wgpu loop, a texture view, a render pass and
a read-back always come together and the fit cannot tell them apart. Each seed gives a different scene (how
many objects of each kind, which are textured, transparent or updated between frames) and so a different
mix of render passes, draws, bind groups, texture views, uploads and frames, as pygfx makes them.

Each frame prints ``frame N: <16 hex>`` of its RGBA bytes and the run ends with ``checksum: <16 hex>`` of
the last frame; the same seed draws the same scene and frames.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pygfx as gfx
import pylinalg as la
from rendercanvas.offscreen import RenderCanvas

GEOMETRIES = (lambda: gfx.box_geometry(1, 1, 1), lambda: gfx.sphere_geometry(0.6, 12, 8),
              lambda: gfx.plane_geometry(1.2, 1.2), lambda: gfx.torus_knot_geometry(0.4, 0.12, 48, 6))


def _texture(rng: np.random.Generator, size: int) -> gfx.Texture:
    return gfx.Texture(rng.integers(0, 256, (size, size, 4), dtype=np.uint8), dim=2)


def _mesh(rng: np.random.Generator) -> gfx.Mesh:
    textured = rng.random() < 0.5
    kind = gfx.MeshPhongMaterial if rng.random() < 0.6 else gfx.MeshBasicMaterial
    color = tuple(float(c) for c in rng.random(3))
    material = kind(map=_texture(rng, int(rng.choice([8, 32]))) if textured else None, color=(*color, 1.0))
    if rng.random() < 0.3:
        material.opacity = 0.5
    mesh = gfx.Mesh(GEOMETRIES[int(rng.integers(len(GEOMETRIES)))](), material)
    mesh.local.position = tuple(float(v) for v in rng.uniform(-2, 2, 3))
    return mesh


def _line(rng: np.random.Generator) -> gfx.Line:
    n = int(rng.integers(4, 128))
    positions = rng.uniform(-2, 2, (n, 3)).astype(np.float32)
    return gfx.Line(gfx.Geometry(positions=positions), gfx.LineMaterial(thickness=float(rng.uniform(1, 4))))


def _points(rng: np.random.Generator) -> gfx.Points:
    n = int(rng.integers(2, 256))
    positions = rng.uniform(-2, 2, (n, 3)).astype(np.float32)
    return gfx.Points(gfx.Geometry(positions=positions), gfx.PointsMaterial(size=float(rng.uniform(2, 8))))


def _image(rng: np.random.Generator) -> gfx.Image:
    size = int(rng.choice([16, 64]))
    data = rng.random((size, size)).astype(np.float32)
    image = gfx.Image(gfx.Geometry(grid=gfx.Texture(data, dim=2)), gfx.ImageBasicMaterial(clim=(0, 1)))
    image.local.scale = (2 / size, 2 / size, 1)
    return image


MAKERS = {"mesh": _mesh, "line": _line, "points": _points, "image": _image}


def build_scene(rng: np.random.Generator) -> tuple[gfx.Scene, gfx.Camera, list[gfx.WorldObject]]:
    """A scene, its camera and the objects that change between frames."""
    scene = gfx.Scene()
    scene.add(gfx.Background.from_color(tuple(float(c) for c in rng.random(3))))
    scene.add(gfx.AmbientLight(intensity=0.4), gfx.DirectionalLight())
    objects = [MAKERS[name](rng) for name in MAKERS for _ in range(int(rng.integers(0, 5)))] or [_mesh(rng)]
    scene.add(*objects)
    camera = gfx.PerspectiveCamera(50, 1)
    camera.local.position = (0, 0, 6)
    changing = [o for o in objects if rng.random() < 0.5]
    return scene, camera, changing


def _change(rng: np.random.Generator, obj: gfx.WorldObject, frame: int) -> None:
    """A queue write before the frame's passes: a transform uniform, a slice of vertices or an image's texels."""
    if isinstance(obj, gfx.Image):
        grid = obj.geometry.grid
        grid.data[0] = rng.random(grid.data.shape[1]).astype(np.float32)
        grid.update_range((0, 0, 0), (grid.data.shape[1], 1, 1))
    elif isinstance(obj, gfx.Mesh):
        obj.local.rotation = la.quat_from_euler((0.3 * frame, 0.5 * frame, 0.0))
    else:
        positions = obj.geometry.positions
        positions.data[0] = rng.uniform(-2, 2, 3).astype(np.float32)
        positions.update_range(0, 1)


def render(seed: int, frames: int, size: int) -> list[str]:
    """Render ``frames`` frames of the scenes of ``seed`` (one to four, each in its own viewport, as a figure's
    subplots are); return their digests."""
    rng = np.random.default_rng(seed)
    canvas = RenderCanvas(size=(size, size), pixel_ratio=1)
    renderer = gfx.WgpuRenderer(canvas)
    columns = int(rng.integers(1, 5))
    views = [(build_scene(rng), (k * size / columns, 0, size / columns, size)) for k in range(columns)]

    def draw() -> None:
        for (scene, camera, _), rect in views:
            renderer.render(scene, camera, rect=rect, flush=False)
        renderer.flush()

    canvas.request_draw(draw)
    digests = []
    for i in range(frames):
        for obj in (o for (_, _, changing), _ in views for o in changing) if i else ():
            _change(rng, obj, i)
        frame = np.asarray(canvas.draw())
        digests.append(hashlib.sha256(frame.tobytes()).hexdigest()[:16])
        print(f"frame {i}: {digests[-1]}")
    return digests


def main(argv: list[str] | None = None) -> str:
    """Render the frames, print their digests, and return the last frame's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="which scene")
    parser.add_argument("--frames", type=int, default=4, help="frames to render")
    parser.add_argument("--size", type=int, default=96, help="canvas width and height in pixels")
    args = parser.parse_args(argv)
    digests = render(args.seed, args.frames, args.size)
    print(f"checksum: {digests[-1]}")
    return digests[-1]


if __name__ == "__main__":
    main()
