"""Device errors by kind, whatever the implementation's wording.

wgpu-native (wgpu-core) and Dawn reject the same programs for the same WebGPU rules but word their
errors differently ("Source and destination cannot be the same buffer" against "Source and destination
are the same buffer"). Each kind below holds, per implementation, the words of its messages: ``classify``
names a message's kind from the words of the implementation that raised it, so a message is never
read with another implementation's vocabulary. The validation kinds are the checker's rules (H2-H5);
out of memory and device loss come from the error's type, which every implementation shares.
"""

from __future__ import annotations

from dataclasses import dataclass

NATIVE, DAWN = "wgpu-native", "dawn"
OUT_OF_MEMORY, DEVICE_LOST, UNKNOWN = "out of memory", "device lost", "?"


@dataclass(frozen=True)
class ErrorKind:
    """One kind of device error: the checker's rule it is an instance of, and each implementation's words for it."""

    kind: str
    rule: str
    words: dict[str, tuple[str, ...]]

    def matches(self, message: str, implementation: str) -> bool:
        return any(w in message for w in self.words.get(implementation, ()))


KINDS = (
    ErrorKind("H2", "usage-scope conflict", {
        NATIVE: ("conflicting usages", "Source and destination cannot be the same buffer"),
        DAWN: ("includes writable usage and another usage", "Source and destination are the same buffer"),
    }),
    ErrorKind("H3", "destroyed while pending", {
        NATIVE: ("has been destroyed", "was destroyed"),
        DAWN: ("while destroyed", "was destroyed"),
    }),
    ErrorKind("H4", "encoder state", {
        NATIVE: ("locked by a previously created", "pass must be ended", "not in a pass",
                 "Encoding must not have ended", "pipeline must be set"),
        DAWN: ("is locked while", "recording ended before", "has already been ended", "No pipeline set"),
    }),
    ErrorKind("H5", "limits", {
        NATIVE: ("alignment", "ALIGNMENT", "overflow", "out of bounds", "multiple of 4", "overrunning the bounds",
                 "must be less or equal to", "greater than the maximum"),
        DAWN: ("alignment", "not a multiple of 4", "does not fit in", "doesn't fit in", "exceeds max",
               "exceeds the max"),
    }),
    ErrorKind(DEVICE_LOST, "device lost", {NATIVE: ("device is lost", "Device is lost"),
                                           DAWN: ("is lost", "was lost")}),
)
BY_NAME = {"out of memory": OUT_OF_MEMORY, "device lost": DEVICE_LOST}  # the engine's error names (engine.error_name)


def classify(error: str, message: str, implementation: str) -> str:
    """The kind of a device error: a rule id (H2-H5), out of memory, device lost, or "?" when none fits.

    ``error`` is the engine's name for the exception (``engine.error_name``); a refused call (one the
    engine does not make because wgpu-native would abort the process) is worded by wgtrace in
    wgpu-native's words, whichever implementation ran.
    """
    if error in BY_NAME:
        return BY_NAME[error]
    words_of = NATIVE if error == "refused" else implementation
    return next((k.kind for k in KINDS if k.matches(message, words_of)), UNKNOWN)

