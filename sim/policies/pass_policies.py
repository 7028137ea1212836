"""Pass and submit policies: how a plan groups dispatches into compute passes, encoders and submits.

``as-recorded`` keeps the program's own encoders, passes and submits. The others re-record every
command into one encoder at a time, in program order: ``pass-per-dispatch`` gives each dispatch a
pass of its own; ``batched`` keeps one pass open until a copy, a read or a program submit closes
it; ``max-tasks:N`` is CubeCL's stream, which submits after N dispatches and re-batches the
program's own submits. Every policy submits (and waits) before a read.

Re-batching must not add hazards of its own: where the program submitted a command before a queue
write to (or an explicit destroy of) the buffer the command uses, the plan submits first too.

Render passes are never split or merged: every policy keeps each one whole, its events in order, in
one encoder (the pass closes an open compute pass; ``max-tasks`` counts a render pass as one task);
the policies batch and submit the encoders around them. Bundle encoders are in no encoder and stay
as recorded. Textures are tracked as buffers are: a ``write_texture`` after a submitted draw that
samples the texture submits first.

The upload is part of the pass spec, ``NAME[:N][/UPLOAD]``: ``write-buffer`` (queue writes, which
overtake unsubmitted commands), ``staging-copy`` (a MAP_WRITE staging buffer filled while mapped
and copied in the encoder, in order; the copy closes the pass), or ``flush-write`` (CubeCL today:
submit the open encoder before every queue write). They apply to texture uploads alike:
``write-buffer`` keeps ``write_texture``, ``staging-copy`` makes it a staging buffer whose rows are
256 bytes apart (as ``copy_buffer_to_texture`` requires) and a copy, ``flush-write`` submits first.

``PassPolicy`` is the protocol of a user's pass policy too (``--pass package.module:Name``): a frozen
dataclass that says, in its class attributes and fields, when a pass ends (``pass_per_dispatch``;
otherwise when a copy, a read or a submit forces it), when to submit (``honours_submits``: at the
program's submits; ``max_tasks``: every N dispatches; always before a read) and how to upload
(``upload``). The planner keeps what makes re-batching safe (a submit before a write to what a
command the program submitted earlier uses) whatever the policy says. ``tfjs`` is such a policy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from .parameters import text_of


@dataclass(frozen=True)
class Upload:
    """How host data reaches a buffer."""

    name: ClassVar[str] = ""
    flushes_first: ClassVar[bool] = False
    staged: ClassVar[bool] = False


@dataclass(frozen=True)
class WriteBuffer(Upload):
    """``queue.write_buffer``: lands ahead of every command not yet submitted."""

    name: ClassVar[str] = "write-buffer"


@dataclass(frozen=True)
class StagingCopy(Upload):
    """A staging buffer (MAP_WRITE | COPY_SRC, mapped at creation) and ``copy_buffer_to_buffer`` (a texture
    upload: ``copy_buffer_to_texture``, rows padded to 256 bytes)."""

    name: ClassVar[str] = "staging-copy"
    staged: ClassVar[bool] = True


@dataclass(frozen=True)
class FlushWrite(Upload):
    """CubeCL today: the stream submits the open encoder before each ``queue.write_buffer``."""

    name: ClassVar[str] = "flush-write"
    flushes_first: ClassVar[bool] = True


UPLOADS: dict[str, type[Upload]] = {u.name: u for u in (WriteBuffer, StagingCopy, FlushWrite)}


@dataclass(frozen=True)
class PassPolicy:
    """A named pass policy. ``max_tasks`` 0 means no limit on dispatches per submit. ``lists_uploads``: whether
    ``pass_names`` lists it with every upload (False: with its own only, as a runtime's preset)."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    records: ClassVar[bool] = False
    lists_uploads: ClassVar[bool] = True
    pass_per_dispatch: ClassVar[bool] = False
    honours_submits: ClassVar[bool] = True
    takes_count: ClassVar[bool] = False
    upload: Upload = WriteBuffer()
    max_tasks: int = 0

    @property
    def spec(self) -> str:
        """The name that gives this policy back: ``NAME[(parameters)][:N][/UPLOAD]``, the upload left out
        where it is the policy's default, a user's policy named ``module:Class`` unless it has a name."""
        name = self.name or f"{type(self).__module__}:{type(self).__qualname__}"
        shown = frozenset({"upload", "max_tasks"} if self.takes_count else {"upload"})
        count = f":{self.max_tasks}" if self.takes_count else ""
        upload = f"/{self.upload.name}" if self.upload != default_upload(type(self)) else ""
        return f"{name}{text_of(self, shown)}{count}{upload}"


@dataclass(frozen=True)
class AsRecorded(PassPolicy):
    """The program's own encoders, passes and submits, event for event."""

    name: ClassVar[str] = "as-recorded"
    summary: ClassVar[str] = "the program's own encoders, passes and submits"
    records: ClassVar[bool] = True


@dataclass(frozen=True)
class PassPerDispatch(PassPolicy):
    name: ClassVar[str] = "pass-per-dispatch"
    summary: ClassVar[str] = "a compute pass per dispatch; the program's submits kept"
    pass_per_dispatch: ClassVar[bool] = True


@dataclass(frozen=True)
class Batched(PassPolicy):
    name: ClassVar[str] = "batched"
    summary: ClassVar[str] = "one pass open until a copy, read or program submit closes it"


@dataclass(frozen=True)
class MaxTasks(PassPolicy):
    """CubeCL's stream: ``tasks_max`` is 32 today (``CUBECL_WGPU_MAX_TASKS``), 16 at PR 56."""

    name: ClassVar[str] = "max-tasks"
    summary: ClassVar[str] = "one pass, submit every N dispatches and before reads (CubeCL's stream)"
    honours_submits: ClassVar[bool] = False
    takes_count: ClassVar[bool] = True
    max_tasks: int = 32


@dataclass(frozen=True)
class Tfjs(PassPolicy):
    """tfjs's WebGPU backend (tfjs-backend-webgpu ``backend_webgpu.ts``): one compute pass kept open across
    dispatches (``ensureComputePassEnded`` only before a copy or a read), the queue submitted after
    ``WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE`` = 15 dispatches (``flags_webgpu.ts``) and before every read,
    tensor data uploaded through a staging buffer mapped at creation and ``copyBufferToBuffer``
    (``uploadToGPU``; tfjs writes its small uniform buffers with ``writeBuffer``, which one upload method
    per policy cannot say: they are staged too). ``tfjs(max_tasks=N)`` sets the batch size,
    ``tfjs/write-buffer`` the upload."""

    name: ClassVar[str] = "tfjs"
    summary: ClassVar[str] = "tfjs WebGPU: one pass, submit every 15 dispatches and before reads, staged uploads"
    honours_submits: ClassVar[bool] = False
    lists_uploads: ClassVar[bool] = False
    upload: Upload = StagingCopy()
    max_tasks: int = 15


def default_upload(cls: type[PassPolicy]) -> Upload:
    """The upload a pass policy has when its name gives none."""
    return next(f.default for f in fields(cls) if f.name == "upload")  # type: ignore[return-value]
