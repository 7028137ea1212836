"""A small offscreen pygfx scene: a textured, lit cube, a ring of line and two points, rendered for a few frames.

The compute examples never touch the render side of wgpu. This one is a real render program as pygfx users write
it: pygfx builds the render pipelines, vertex/index/uniform buffers, a sampled texture, depth and colour targets
and the render passes, and the frame is read back from the offscreen canvas (``rendercanvas.offscreen``). Between
frames the cube rotates and one point moves, so every frame after the first starts with queue writes (the cube's
transform uniform, a slice of the points' vertex buffer) ahead of its render passes. It is in the repository so
wgtrace has a render workload to record and check.

Each frame prints ``frame N: <16 hex>``, the first 16 hex digits of the SHA-256 of its RGBA bytes, and the run
ends with ``checksum: <16 hex>`` of the last frame. Nothing is random, so digests repeat run to run on one
driver. ``--out PATH`` also writes the last frame, as ``.npy`` when PATH ends so, otherwise as PNG.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pygfx as gfx
import pylinalg as la
from rendercanvas.offscreen import RenderCanvas

from .frames import save_frame


def checker_texture(size: int = 32) -> np.ndarray:
    """An RGBA checkerboard over a red/green gradient, as a (size, size, 4) uint8 array."""
    yy, xx = np.mgrid[0:size, 0:size]
    tex = np.empty((size, size, 4), dtype=np.uint8)
    tex[..., 0] = xx * 255 // (size - 1)
    tex[..., 1] = yy * 255 // (size - 1)
    tex[..., 2] = ((xx // 4 + yy // 4) % 2) * 255
    tex[..., 3] = 255
    return tex


def build_scene() -> tuple[gfx.Scene, gfx.Camera, gfx.Mesh, gfx.Points]:
    """The scene, its camera, and the two objects that change between frames."""
    scene = gfx.Scene()
    scene.add(gfx.Background.from_color("#102030"))
    camera = gfx.PerspectiveCamera(50, 1)
    camera.local.position = (0, 0, 4)

    mesh = gfx.Mesh(gfx.box_geometry(1.5, 1.5, 1.5), gfx.MeshPhongMaterial(map=gfx.Texture(checker_texture(), dim=2)))
    light = gfx.DirectionalLight()
    light.local.position = (1, 2, 3)
    scene.add(mesh, gfx.AmbientLight(intensity=0.4), light)

    t = np.linspace(0, 2 * np.pi, 64, dtype=np.float32)
    ring = np.stack([1.8 * np.cos(t), 1.8 * np.sin(t), np.zeros_like(t)], axis=1)
    scene.add(gfx.Line(gfx.Geometry(positions=ring), gfx.LineMaterial(thickness=2, color="#ffdd00")))

    positions = np.array([[-1.5, -1.5, 0], [1.5, 1.5, 0]], dtype=np.float32)
    points = gfx.Points(gfx.Geometry(positions=positions), gfx.PointsMaterial(size=6, color="#00ffff"))
    scene.add(points)
    return scene, camera, mesh, points


def render(frames: int, size: int) -> tuple[list[str], np.ndarray]:
    """Render ``frames`` frames of ``size`` x ``size`` pixels; return their digests and the last frame."""
    canvas = RenderCanvas(size=(size, size), pixel_ratio=1)
    renderer = gfx.WgpuRenderer(canvas)
    scene, camera, mesh, points = build_scene()
    canvas.request_draw(lambda: renderer.render(scene, camera))

    digests = []
    frame = np.zeros((size, size, 4), dtype=np.uint8)
    for i in range(frames):
        mesh.local.rotation = la.quat_from_euler((0.3 * i, 0.5 * i, 0.0))
        if i:
            # move the first point: a queue write into the vertex buffer before this frame's passes
            points.geometry.positions.data[0] = (-1.5 + 0.2 * i, -1.5, 0.0)
            points.geometry.positions.update_range(0, 1)
        frame = np.asarray(canvas.draw())
        digests.append(hashlib.sha256(frame.tobytes()).hexdigest()[:16])
        print(f"frame {i}: {digests[-1]}")
    return digests, frame


def main(argv: list[str] | None = None) -> str:
    """Render the frames, print their digests, and return the last frame's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4, help="frames to render")
    parser.add_argument("--size", type=int, default=96, help="canvas width and height in pixels")
    parser.add_argument("--out", metavar="PATH", help="write the last frame here (.npy, or PNG otherwise)")
    args = parser.parse_args(argv)

    digests, frame = render(args.frames, args.size)
    if args.out:
        save_frame(args.out, frame)
    print(f"checksum: {digests[-1]}")
    return digests[-1]


if __name__ == "__main__":
    main()
