"""Content digests of written and read bytes: XXH3-128, stored as two signed 64-bit columns."""

from __future__ import annotations

import xxhash


def digest(data: bytes | memoryview) -> tuple[int, int]:
    """(hi, lo) of the XXH3-128 hash, each as a signed int64 so it fits an event column."""
    h = xxhash.xxh3_128_intdigest(data)
    hi, lo = h >> 64, h & 0xFFFFFFFFFFFFFFFF
    return hi - (1 << 64) if hi >= 1 << 63 else hi, lo - (1 << 64) if lo >= 1 << 63 else lo
