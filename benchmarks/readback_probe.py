"""Which read-back after a render pass completes on this machine, and which hangs (issue 20).

On the H200, ``examples/frame_loop.py`` never got a frame back: the ``map`` of the read-back buffer
after a render pass and a texture copy did not complete, without wgtrace too. Each variant runs in a
child process with a time limit, so a hang is a line of output, not a stuck probe: the adapters
found; the example on the default adapter; a texture copy then ``map``; a render pass, the copy,
then ``map``; the same read by ``queue.read_buffer``; ``queue.read_texture``; a buffer copy then
``map``. Run from the repository root:

    python benchmarks/readback_probe.py [--timeout 25]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time

DEVICE = """
import wgpu
TU, BU = wgpu.TextureUsage, wgpu.BufferUsage
dev = wgpu.gpu.request_adapter_sync(power_preference="high-performance").request_device_sync()
tex = dev.create_texture(size=(32, 32, 1), format="rgba8unorm", usage=TU.RENDER_ATTACHMENT | TU.COPY_SRC)
mapped = dev.create_buffer(size=256 * 32, usage=BU.COPY_DST | BU.MAP_READ)
plain = dev.create_buffer(size=256 * 32, usage=BU.COPY_DST | BU.COPY_SRC)
enc = dev.create_command_encoder()

def clear_pass():
    attachment = {"view": tex.create_view(), "load_op": "clear", "store_op": "store", "clear_value": (0, 0, 0, 1)}
    enc.begin_render_pass(color_attachments=[attachment]).end()

def copy_to(buffer):
    enc.copy_texture_to_buffer({"texture": tex}, {"buffer": buffer, "bytes_per_row": 256}, (32, 32, 1))

def map_read():
    mapped.map_sync(wgpu.MapMode.READ)
    print(len(mapped.read_mapped()))
    mapped.unmap()
"""

VARIANTS = {
    "adapters": """
import wgpu
for a in wgpu.gpu.enumerate_adapters_sync():
    print(a.info["device"], a.info["backend_type"], a.info["adapter_type"])
print("default:", wgpu.gpu.request_adapter_sync().info["device"])
""",
    "frame_loop, default adapter": "from examples.frame_loop import main\nprint(main(['--frames', '2']))",
    "texture copy, map": DEVICE + "copy_to(mapped)\ndev.queue.submit([enc.finish()])\nmap_read()",
    "render pass, texture copy, map": DEVICE + "clear_pass()\ncopy_to(mapped)\ndev.queue.submit([enc.finish()])\n"
                                               "map_read()",
    "render pass, texture copy, read_buffer": DEVICE + "clear_pass()\ncopy_to(plain)\n"
                                                       "dev.queue.submit([enc.finish()])\n"
                                                       "print(len(dev.queue.read_buffer(plain)))",
    "render pass, read_texture": DEVICE + "clear_pass()\ndev.queue.submit([enc.finish()])\n"
                                          "print(len(dev.queue.read_texture({'texture': tex}, "
                                          "{'bytes_per_row': 256}, (32, 32, 1))))",
    "buffer copy, map": DEVICE + "enc.copy_buffer_to_buffer(plain, 0, mapped, 0, 1024)\n"
                                 "dev.queue.submit([enc.finish()])\nmap_read()",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=25.0, help="seconds each variant may take")
    args = parser.parse_args()
    for name, code in VARIANTS.items():
        start = time.perf_counter()
        try:
            run = subprocess.run([sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)],
                                 capture_output=True, text=True, timeout=args.timeout)
            took = time.perf_counter() - start
            print(f"== {name}: exit {run.returncode} in {took:.1f} s\n{run.stdout[-800:]}{run.stderr[-1500:]}")
        except subprocess.TimeoutExpired:
            print(f"== {name}: no answer in {args.timeout:g} s (hung)")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
