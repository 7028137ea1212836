"""wgtrace.tracer: records what an unmodified wgpu-py program does, as a wgtrace file."""

from .recording import Recorder, recording

__all__ = ["Recorder", "recording"]
