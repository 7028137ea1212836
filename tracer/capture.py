"""What a recording keeps of the bytes a program writes and reads back.

Every write and read carries an XXH3-128 digest, always: that is enough to tell whether a replay
wrote and read the same bytes. ``full`` mode also stores the bytes themselves (the writer
compresses them), so a replay can feed the program's real data. The payload cap bounds the file:
payloads are stored until the next one would take the total past the cap; from then on only
digests are kept, so the stored payloads are always a prefix of the program's writes and reads.
"""

from __future__ import annotations

from collections.abc import Callable

from ..traces.digest import digest

MODES = ("full", "digest")


class Capture:
    """Turns a byte range into the (payload blob id, digest hi, digest lo) fields of an event."""

    def __init__(self, mode: str = "digest", payload_cap: int = 0):
        if mode not in MODES:
            raise ValueError(f"capture mode must be one of {MODES}, not {mode!r}")
        if payload_cap < 0:
            raise ValueError(f"payload cap must be >= 0 bytes (0: no cap), not {payload_cap}")
        self.mode = mode
        self.payload_cap = payload_cap
        self.stored = 0
        self._keep = mode == "full"

    def header(self) -> dict:
        return {"mode": self.mode, "payload_cap": self.payload_cap}

    def fields(self, data: memoryview, blob: Callable[[memoryview], int]) -> tuple[int, int, int]:
        """``data`` is a flat byte view; ``blob`` stores bytes and returns their id."""
        hi, lo = digest(data)
        if not self._keep:
            return -1, hi, lo
        n = data.nbytes
        if self.payload_cap and self.stored + n > self.payload_cap:
            self._keep = False
            return -1, hi, lo
        self.stored += n
        return blob(data), hi, lo
