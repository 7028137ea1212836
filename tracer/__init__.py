"""wgtrace.tracer: records what an unmodified wgpu-py program does, as a wgtrace file.

``recording`` and ``Recorder`` load on first use, so that importing the pytest plugin (which
pytest does at every start) imports neither wgpu nor the recorder until a test asks for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .recorder import Recorder, recording

__all__ = ["Recorder", "recording"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        module = importlib.import_module(".recorder", __name__)
        globals().update({n: getattr(module, n) for n in __all__})
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
