"""A logical program (``sim.synthetic`` ops) as the wgpu-py code that runs it: how the kit shows a counterexample.

The code makes, call for call, the program ``sim.synthetic.build`` records: one encoder open until a
read or an explicit submit, a pass per dispatch, a submit before a write to a buffer the open
encoder uses, a bind group and (at first use) a pipeline per kernel, the same WGSL and the same
bytes. So a finding in the plan of ``build(ops)`` names ``program.py:N``, and the line of the code that
begins op N-1 ends in the comment ``# program.py:N``. It runs as written on any wgpu-py device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..sim.synthetic import DRAW_FORMAT, UNIFORM_BYTES, WORKGROUP, Op, draw_wgsl, kernel_wgsl

PRELUDE = '''import numpy as np
import wgpu

device = wgpu.gpu.request_adapter_sync().request_device_sync()
STORAGE = wgpu.BufferUsage.STORAGE | wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.COPY_SRC
UNIFORM = wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST | wgpu.BufferUsage.COPY_SRC


def data(seed, op, size):
    """The bytes sim.synthetic writes at op ``op``."""
    return np.random.default_rng([seed, op]).integers(0, 2**32, size // 4, dtype=np.uint32).tobytes()

'''


def wgpu_source(ops: Sequence[Op], *, seed: int = 0, title: str = "") -> str:
    """The wgpu-py program that ``sim.synthetic.build(ops, seed=seed)`` records; ``title`` heads it as a comment."""
    writer = _Writer(seed)
    for i, op in enumerate(ops):
        writer.run(i, op)
    writer.marked(len(ops), writer.submit)
    head = "".join(f"# {line}\n" for line in title.splitlines())
    shaders = "".join(f"{name} = \"\"\"{code}\"\"\"\n\n" for name, code in writer.shaders)
    return head + PRELUDE + shaders + "\n".join(writer.lines) + "\n"


class _Writer:
    """The code, op by op, with the state ``sim.synthetic``'s recorder keeps: sizes, pipelines, the open encoder."""

    def __init__(self, seed: int):
        self.seed = seed
        self.lines: list[str] = []
        self.shaders: list[tuple[str, str]] = []
        self.sizes: list[int] = []
        self.pipelines: dict[tuple, str] = {}
        self.open = False
        self.used: set[int] = set()
        self.n_groups = 0
        self.n_targets = 0

    def marked(self, i: int, write: Callable[[], object]) -> None:
        """Run ``write`` for op ``i``; the first line it writes ends in the op's ``# program.py:`` line (a
        comment stands for an op that writes nothing, such as a submit with no encoder open)."""
        start = len(self.lines)
        write()
        mark = f"  # program.py:{i + 1}"
        if len(self.lines) > start:
            self.lines[start] += mark
        else:
            self.lines.append(f"# (no encoder open: nothing to submit){mark}")

    def run(self, i: int, op: Op) -> None:
        name = op[0]
        if name in ("alloc", "uniform"):
            self.marked(i, lambda: self.alloc(name == "uniform", UNIFORM_BYTES if name == "uniform" else 4 * op[1]))
        elif name == "write":
            self.marked(i, lambda: self.write(i, op[1]))
        elif name == "dispatch":
            self.marked(i, lambda: self.dispatch(op[1], op[2], op[3]))
        elif name == "draw":
            self.marked(i, lambda: self.draw(op[1], op[2], op[3]))
        elif name == "copy":
            self.marked(i, lambda: self.copy(op[1], op[2]))
        elif name == "read":
            self.marked(i, lambda: self.read(op[1]))
        elif name == "free":
            self.marked(i, lambda: self.lines.append(f"del a{op[1]}"))
        elif name == "submit":
            self.marked(i, self.submit)

    def alloc(self, uniform: bool, size: int) -> None:
        usage = "UNIFORM" if uniform else "STORAGE"
        self.lines.append(f"a{len(self.sizes)} = device.create_buffer(size={size}, usage={usage})")
        self.sizes.append(size)

    def write(self, i: int, a: int) -> None:
        """A queue write; first a submit when the open encoder uses the buffer, as a careful program does."""
        if a in self.used:
            self.submit()
        self.lines.append(f"device.queue.write_buffer(a{a}, 0, data({self.seed}, {i}, {self.sizes[a]}))")

    def copy(self, src: int, dst: int) -> None:
        self.begin()
        size = min(self.sizes[src], self.sizes[dst])
        self.lines.append(f"encoder.copy_buffer_to_buffer(a{src}, 0, a{dst}, 0, {size})")
        self.used |= {src, dst}

    def read(self, a: int) -> None:
        """A read waits for everything submitted: the open encoder is submitted first."""
        self.submit()
        self.lines.append(f"device.queue.read_buffer(a{a})")

    def begin(self) -> None:
        """An encoder, unless one is open."""
        if not self.open:
            self.lines.append("encoder = device.create_command_encoder()")
            self.open = True

    def submit(self) -> None:
        """Submit the open encoder, if one is open."""
        if self.open:
            self.lines.append("device.queue.submit([encoder.finish()])")
            self.open = False
            self.used = set()

    def pipeline(self, key: tuple, code: str, make: str) -> str:
        """The name of the pipeline for ``key``, its shader and pipeline made here at first use."""
        if key not in self.pipelines:
            k = len(self.pipelines)
            name = self.pipelines[key] = f"pipeline{k}"
            self.shaders.append((f"SHADER{k}", code))
            self.lines += [f"module{k} = device.create_shader_module(code=SHADER{k})",
                           f"{name} = {make.format(module=f'module{k}')}"]
        return self.pipelines[key]

    def bind_group(self, pipeline: str, entries: list[tuple[int, int, int]]) -> str:
        group = f"group{self.n_groups}"
        self.n_groups += 1
        listed = ", ".join(f'{{"binding": {k}, "resource": {{"buffer": a{a}, "offset": 0, "size": {n}}}}}'
                           for k, a, n in entries)
        self.lines.append(f"{group} = device.create_bind_group(layout={pipeline}.get_bind_group_layout(0), "
                          f"entries=[{listed}])")
        return group

    def dispatch(self, inputs: tuple[int, ...], out: int, u: int) -> None:
        """A bind group of its own, then a pass of its own, one thread per output word."""
        make = 'device.create_compute_pipeline(layout="auto", compute={{"module": {module}, "entry_point": "main"}})'
        pipeline = self.pipeline((len(inputs), u >= 0), kernel_wgsl(len(inputs), u >= 0), make)
        entries = [(k, a, self.sizes[a]) for k, a in enumerate(inputs)] + [(len(inputs), out, self.sizes[out])]
        if u >= 0:
            entries.append((len(inputs) + 1, u, UNIFORM_BYTES))
        group = self.bind_group(pipeline, entries)
        self.begin()
        self.lines += ["compute = encoder.begin_compute_pass()", f"compute.set_pipeline({pipeline})",
                       f"compute.set_bind_group(0, {group})",
                       f"compute.dispatch_workgroups({-(-self.sizes[out] // 4 // WORKGROUP)}, 1, 1)", "compute.end()"]
        self.used |= {*inputs, out} | ({u} if u >= 0 else set())

    def draw(self, inputs: tuple[int, ...], out: int, u: int) -> None:
        """A target texture of its own, a render pass drawing into it, and a copy of it into ``out``."""
        width = self.sizes[out] // 4
        make = ('device.create_render_pipeline(layout="auto", vertex={{"module": {module}, "entry_point": "vs"}}, '
                'fragment={{"module": {module}, "entry_point": "fs", "targets": [{{"format": "' + DRAW_FORMAT
                + '"}}]}}, primitive={{"topology": "triangle-list"}})')
        pipeline = self.pipeline((len(inputs), u >= 0, width), draw_wgsl(len(inputs), u >= 0, width), make)
        entries = [(k, a, self.sizes[a]) for k, a in enumerate(inputs)]
        if u >= 0:
            entries.append((len(inputs), u, UNIFORM_BYTES))
        group = self.bind_group(pipeline, entries)
        target = f"target{self.n_targets}"
        self.n_targets += 1
        self.lines += [f'{target} = device.create_texture(size=({width}, 1, 1), format="{DRAW_FORMAT}", '
                       f"usage=wgpu.TextureUsage.RENDER_ATTACHMENT | wgpu.TextureUsage.COPY_SRC)",
                       f"view = {target}.create_view()"]
        self.begin()
        pitch = -(-width * 4 // 256) * 256
        self.lines += ['render = encoder.begin_render_pass(color_attachments=[{"view": view, "load_op": "clear", '
                       '"store_op": "store", "clear_value": (0, 0, 0, 0)}])',
                       f"render.set_pipeline({pipeline})", f"render.set_bind_group(0, {group})", "render.draw(3, 1)",
                       "render.end()",
                       f'encoder.copy_texture_to_buffer({{"texture": {target}}}, {{"buffer": a{out}, "offset": 0, '
                       f'"bytes_per_row": {pitch}}}, ({width}, 1, 1))',
                       f"del {target}"]
        self.used |= {*inputs, out} | ({u} if u >= 0 else set())
