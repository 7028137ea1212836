"""The device properties pools are laid out for: offset alignments and the largest page, from a trace's limits."""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
WEBGPU_MAX_STORAGE_BINDING = 128 * MIB
WEBGPU_OFFSET_ALIGNMENT = 256


@dataclass(frozen=True)
class Device:
    """The device properties CubeCL builds its pools from, read from a trace's limits."""

    max_page_size: int = WEBGPU_MAX_STORAGE_BINDING
    storage_alignment: int = WEBGPU_OFFSET_ALIGNMENT
    uniform_alignment: int = WEBGPU_OFFSET_ALIGNMENT

    @property
    def binding_alignment(self) -> int:
        """The offset alignment that suits a binding of either kind, storage or uniform."""
        return max(self.storage_alignment, self.uniform_alignment)

    @classmethod
    def from_limits(cls, limits: dict) -> Device:
        """WebGPU's defaults fill what the limits leave out (keys spelt with '-' or '_')."""
        def get(name: str, default: int) -> int:
            value = limits.get(name, limits.get(name.replace("-", "_"), default))
            return int(value) if isinstance(value, int) and value > 0 else default

        return cls(get("max-storage-buffer-binding-size", WEBGPU_MAX_STORAGE_BINDING),
                   get("min-storage-buffer-offset-alignment", WEBGPU_OFFSET_ALIGNMENT),
                   get("min-uniform-buffer-offset-alignment", WEBGPU_OFFSET_ALIGNMENT))


def padding(size: int, alignment: int) -> int:
    """CubeCL's ``calculate_padding``: bytes that round ``size`` up to a multiple of ``alignment``."""
    rest = size % alignment
    return alignment - rest if rest else 0


def align_up(size: int, alignment: int) -> int:
    return size + padding(size, alignment)
