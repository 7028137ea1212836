"""A small offscreen fastplotlib figure: a line plot and an image side by side, drawn twice with new data.

fastplotlib sits on pygfx, and is what people reach for to plot live data on the GPU. It draws a lot that a
bare pygfx scene does not: two subplots with their own viewports, cameras and axes (rulers, tick text), a
colormapped image (a data texture and a colormap texture) and a thick line. Between the two frames both
graphics get new data (``graphic.data[...] = ...``), which fastplotlib uploads with queue writes into the
line's vertex buffer and the image's texture before the second frame's render passes. It is in the repository
so wgtrace has a plotting workload to record and check.

The figure renders offscreen: ``RENDERCANVAS_FORCE_OFFSCREEN=1`` is set (unless already set) before
fastplotlib is imported. Each frame prints ``frame N: <16 hex>``, the first 16 hex digits of the SHA-256 of its
RGBA bytes, and the run ends with ``checksum: <16 hex>`` of the last frame. Nothing is random, so digests repeat
run to run on one driver. ``--out PATH`` also writes the last frame, as ``.npy`` when PATH ends so, otherwise
as PNG.
"""

from __future__ import annotations

import os

os.environ.setdefault("RENDERCANVAS_FORCE_OFFSCREEN", "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402

import fastplotlib as fpl  # noqa: E402
import numpy as np  # noqa: E402

from .frames import save_frame  # noqa: E402


def render(width: int, height: int) -> tuple[list[str], np.ndarray]:
    """Draw the figure, update both graphics' data, draw again; return the digests and the last frame."""
    # fastplotlib lays its axes out in screen space; much below 256x128 they fall outside the viewports
    figure = fpl.Figure(shape=(1, 2), size=(width, height))
    x = np.linspace(0, 2 * np.pi, 100, dtype=np.float32)
    line = figure[0, 0].add_line(np.column_stack([x, np.sin(x)]), thickness=2, colors="orange")
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    image = figure[0, 1].add_image(np.sin(xx / 4) * np.cos(yy / 5), cmap="viridis", vmin=-1, vmax=1)
    figure.show()

    digests = []
    frame = np.zeros((height, width, 4), dtype=np.uint8)
    for i in range(2):
        if i:
            line.data[:, 1] = np.cos(x)  # the line's y column: a write into its vertex buffer
            image.data[:] = np.cos(xx / 4) * np.sin(yy / 5)  # the whole image: a texture upload
        frame = np.asarray(figure.canvas.draw())
        digests.append(hashlib.sha256(frame.tobytes()).hexdigest()[:16])
        print(f"frame {i}: {digests[-1]}")
    # no figure.close(): fastplotlib 0.7's offscreen show() leaves nothing for close() to close
    return digests, frame


def main(argv: list[str] | None = None) -> str:
    """Draw the two frames, print their digests, and return the last frame's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=256, help="figure width in pixels")
    parser.add_argument("--height", type=int, default=128, help="figure height in pixels")
    parser.add_argument("--out", metavar="PATH", help="write the last frame here (.npy, or PNG otherwise)")
    args = parser.parse_args(argv)

    digests, frame = render(args.width, args.height)
    if args.out:
        save_frame(args.out, frame)
    print(f"checksum: {digests[-1]}")
    return digests[-1]


if __name__ == "__main__":
    main()
