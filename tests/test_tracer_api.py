"""The recorder's handlers against the wgpu-py API they record, checked without running wgpu.

wgpu-py's codegen checks each backend's classes against the WebGPU API; this does the same for the
recorder. A handler runs as ``handler(rec, frame, self, result, ...)`` with the call's arguments
passed on by the wrapper (tracer/instrument.py): every parameter of the wrapped method after
``self``, positional-or-keyword ones by position and keyword-only ones by name, defaults filled in
from the method's own. So a handler's parameters after its first four must be the method's after
``self``: the same names, order, kinds and defaults. A ``result_only`` handler is passed no
arguments and takes only the four. When a wgpu-py upgrade renames, adds, moves or drops a
parameter, or changes a default, a test fails here and names the method and the parameter,
instead of a TypeError in the handler ending a user's recording.

The methods compared are those the recorder patches: the wgpu-native backend's classes (``_api``),
which is what each handler table entry names.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from itertools import zip_longest

import pytest

from wgtrace.tracer.instrument import OPAQUE, RECORDED

LEADING = ("rec", "frame", "self", "result")  # what every handler takes before the call's arguments

HANDLED = [pytest.param(cls, name, handler, id=f"{cls.__name__}.{name}")
           for cls, methods in RECORDED.items() for name, handler in methods.items()]
NOTED = [pytest.param(cls, name, id=f"{cls.__name__}.{name}") for cls, names in OPAQUE.items() for name in names]


def parameters(function: Callable) -> list[inspect.Parameter]:
    """The parameters of ``function`` itself, as the wrapper reads them (not of what it wraps)."""
    return list(inspect.signature(function, follow_wrapped=False).parameters.values())


def describe(p: inspect.Parameter | None) -> str:
    if p is None:
        return "no parameter"
    default = "" if p.default is p.empty else f" = {p.default!r}"
    return f"`{p.name}{default}` ({p.kind.description})"


def same(a: inspect.Parameter | None, b: inspect.Parameter | None) -> bool:
    """Same name, kind and default; defaults compare by type and value (``False`` is not ``0``)."""
    if a is None or b is None:
        return a is b
    return (a.name, a.kind, type(a.default), a.default) == (b.name, b.kind, type(b.default), b.default)


@pytest.mark.parametrize(("cls", "name", "handler"), HANDLED)
def test_handler_takes_the_parameters_of_the_method_it_wraps(cls: type, name: str, handler: Callable) -> None:
    method = f"{cls.__name__}.{name}"
    assert hasattr(cls, name), f"wgpu-py has no {method} any more; the recorder's table still wraps it"
    taken = parameters(handler)
    leading, rest = taken[:len(LEADING)], taken[len(LEADING):]
    assert len(leading) == len(LEADING) and all(p.kind is p.POSITIONAL_OR_KEYWORD for p in leading), (
        f"handler {handler.__name__} of {method} must take {', '.join(LEADING)} first, by position")
    own = parameters(getattr(cls, name))
    assert own and own[0].name == "self", f"{method} takes no self: {own}"
    wanted = [] if getattr(handler, "result_only", False) else own[1:]
    for position, (want, got) in enumerate(zip_longest(wanted, rest), start=1):
        assert same(want, got), (
            f"{method}, parameter {position}: wgpu-py has {describe(want)}, "
            f"handler {handler.__name__} takes {describe(got)}")


@pytest.mark.parametrize(("cls", "name", "handler"), HANDLED)
def test_sequences_a_handler_reads_twice_are_parameters_of_the_method(cls: type, name: str,
                                                                      handler: Callable) -> None:
    """A name the method does not have would make the wrapper fall back to (self, *args, **kwargs)."""
    own = {p.name for p in parameters(getattr(cls, name))}
    for sequence in getattr(handler, "takes_sequences", ()):
        assert sequence in own, f"{cls.__name__}.{name} has no parameter `{sequence}` (handler {handler.__name__})"


@pytest.mark.parametrize(("cls", "name"), NOTED)
def test_every_noted_method_exists(cls: type, name: str) -> None:
    """The recorder patches every method it notes when a recording starts: a missing one would stop it."""
    assert callable(getattr(cls, name, None)), f"wgpu-py has no {cls.__name__}.{name} any more"
