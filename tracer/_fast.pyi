"""Types of the recorder's hot path in C (_fast.c)."""

from collections.abc import Callable
from typing import Any

class Hook:
    __signature__: Any
    def __init__(self, wrapper: Callable[..., Any], real: Callable[..., Any], handler: Callable[..., None], rec: Any,
                 required: int, defaults: tuple[Any, ...], result_only: bool,
                 raised: Callable[[Any, Any, BaseException], None]) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

class Lookup:
    def __init__(self, token_type: type, fallback: Callable[[Any], int]) -> None: ...
    def __call__(self, frame: Any) -> int: ...

class Cursors:
    _n: int
    _epos: int
    _elast: int
    _flush_due: int

class Appender:
    def __init__(self, writer: Any) -> None: ...
    def __call__(self, kind: int, site: int, *args: int, rows: Any = None, t: int | None = None) -> int: ...
