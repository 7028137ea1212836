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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .errors import PolicyError


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
    """A named pass policy. ``max_tasks`` 0 means no limit on dispatches per submit."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    records: ClassVar[bool] = False
    pass_per_dispatch: ClassVar[bool] = False
    honours_submits: ClassVar[bool] = True
    takes_count: ClassVar[bool] = False
    upload: Upload = WriteBuffer()
    max_tasks: int = 0

    @property
    def spec(self) -> str:
        count = f":{self.max_tasks}" if self.takes_count else ""
        upload = f"/{self.upload.name}" if self.upload.name != WriteBuffer.name else ""
        return f"{self.name}{count}{upload}"


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


PASSES: dict[str, type[PassPolicy]] = {p.name: p for p in (AsRecorded, PassPerDispatch, Batched, MaxTasks)}


def pass_names() -> list[str]:
    """Every pass policy with each upload (max-tasks at CubeCL's 32 and PR 56's 16)."""
    names = []
    for name, cls in PASSES.items():
        uploads = [WriteBuffer.name] if cls.records else list(UPLOADS)
        for count in ([":32", ":16"] if cls.takes_count else [""]):
            names += [f"{name}{count}" + ("" if u == WriteBuffer.name else f"/{u}") for u in uploads]
    return names


def parse_passes(spec: str | PassPolicy) -> PassPolicy:
    """``NAME[:N][/UPLOAD]`` -> a policy; anything else is a PolicyError naming the valid names."""
    if isinstance(spec, PassPolicy):
        return spec
    text = str(spec)
    head, _, upload = text.partition("/")
    name, colon, count = head.partition(":")
    cls = PASSES.get(name)
    if cls is None:
        raise PolicyError(f"unknown pass policy {text!r}; valid: {', '.join(PASSES)} "
                          f"(written NAME[:N][/UPLOAD], N for max-tasks, UPLOAD one of {', '.join(UPLOADS)})")
    if colon and not cls.takes_count:
        raise PolicyError(f"pass policy {name!r} takes no count (only max-tasks:N does): {text!r}")
    if colon and not (count.isascii() and count.isdigit() and int(count) > 0):
        raise PolicyError(f"max-tasks needs a positive count, as in max-tasks:32: {text!r}")
    if upload and upload not in UPLOADS:
        raise PolicyError(f"unknown upload {upload!r} in {text!r}; valid: {', '.join(UPLOADS)}")
    if upload and cls.records and upload != WriteBuffer.name:
        raise PolicyError(f"as-recorded keeps the program's own uploads; it takes no /{upload}")
    fields: dict = {"upload": UPLOADS[upload or WriteBuffer.name]()}
    if colon:
        fields["max_tasks"] = int(count)
    return cls(**fields)
