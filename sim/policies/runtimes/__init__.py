"""The allocators other GPU runtimes use, as pool policies: one module per runtime, its source cited there.

``RUNTIME_POOLS`` is what the registry (``registry.py``) adds to CubeCL's pools; ``buffer_cache.py``
holds what the three whole-buffer caches share.
"""

from .onnxruntime import OrtBucket, OrtSimple
from .tfjs import TfjsBuffers
from .tinygrad import TinygradLru
from .torch_caching import TorchCaching

RUNTIME_POOLS = (TorchCaching, OrtSimple, OrtBucket, TfjsBuffers, TinygradLru)

__all__ = ["RUNTIME_POOLS", "OrtBucket", "OrtSimple", "TfjsBuffers", "TinygradLru", "TorchCaching"]
