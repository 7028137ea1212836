"""Policy parameters as users type them, ``NAME(key=value, ...)``, and back.

One way, chosen over a TOML file: the parameters travel inside the policy's name, so every place
that takes a name (``--pool``, ``--pass``, ``--pools`` of ``compare``, ``plan(trace, "...")``, the
``pool``/``passes`` columns of every report) takes and shows them too, and a report's name can be
pasted back into a command. Values: integers with an optional binary unit (``64MiB``, ``512KiB``,
``2GiB``, ``100B``), decimals, ``true``/``false``, ``none``, and strings (bare or quoted).

A policy's parameters are its dataclass fields; each value is checked against the field's type.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any

from .device import GIB, KIB, MIB
from .errors import PolicyError

UNITS = {"B": 1, "KiB": KIB, "MiB": MIB, "GiB": GIB}
_INTEGER = re.compile(r"[+-]?\d[\d_]*(B|KiB|MiB|GiB)?")
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?")
_BARE = re.compile(r"[A-Za-z_][\w.\-]*")
_ARGUMENT = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*(\"[^\"]*\"|'[^']*'|[^,]*?)\s*(,|$)")
_WORDS = {"true": True, "false": False, "none": None}


def split_call(text: str, what: str) -> tuple[str, str | None, str]:
    """``NAME(ARGS)REST`` -> (NAME, ARGS, REST); without parentheses, (text, None, "")."""
    opened = text.find("(")
    if opened < 0:
        return text, None, ""
    closed = text.find(")", opened)
    if closed < 0:
        raise PolicyError(f"{what} {text!r}: no ')' closes the parameters opened at character {opened + 1}")
    return text[:opened], text[opened + 1:closed], text[closed + 1:]


def parse_arguments(args: str, what: str) -> dict[str, Any]:
    """``key=value, ...`` -> {key: value}; a value is read as ``value`` says."""
    out: dict[str, Any] = {}
    at = 0
    while at < len(args) and args[at:].strip():
        m = _ARGUMENT.match(args, at)
        if m is None:
            raise PolicyError(f"{what}: cannot read the parameters {args!r} from character {at + 1}; "
                              f"write them key=value, separated by commas, as in (max_bytes=64MiB)")
        key = m[1]
        if key in out:
            raise PolicyError(f"{what}: parameter {key!r} given twice")
        out[key] = value(m[2], f"{what}: parameter {key!r}")
        at = m.end()
    return out


def value(text: str, what: str) -> Any:
    """One typed value: an integer with an optional binary unit, a decimal, a word, or a string."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if _INTEGER.fullmatch(text):
        unit = next((u for u in ("KiB", "MiB", "GiB", "B") if text.endswith(u)), "")
        return int(text[:len(text) - len(unit)]) * UNITS.get(unit, 1)
    if _DECIMAL.fullmatch(text):
        return float(text)
    if text.lower() in _WORDS:
        return _WORDS[text.lower()]
    if _BARE.fullmatch(text):
        return text
    raise PolicyError(f"{what}: cannot read the value {text!r} (a number such as 64MiB, true, false, none, "
                      f"or a quoted string)")


def bind(cls: type, arguments: dict[str, Any], what: str, reserved: frozenset[str]) -> dict[str, Any]:
    """The arguments checked against the dataclass fields of ``cls`` (less ``reserved``, which the name's
    own syntax sets): each named field exists and each value has the field's type."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init and f.name not in reserved}
    hints = _hints(cls)
    for key, given in arguments.items():
        if key not in fields:
            valid = ", ".join(fields) or "none"
            raise PolicyError(f"{what}: no parameter {key!r}; it takes: {valid}")
        expected = hints.get(key)
        if expected is not None and not _fits(given, expected):
            raise PolicyError(f"{what}: parameter {key!r} wants {_type_name(expected)}, got {given!r}")
    return {key: float(v) if hints.get(key) is float and isinstance(v, int) else v for key, v in arguments.items()}


def text_of(policy: object, reserved: frozenset[str]) -> str:
    """``(key=value, ...)`` of the fields that differ from their defaults, in field order; "" if none."""
    parts = []
    for f in dataclasses.fields(policy):  # type: ignore[arg-type]
        if f.name in reserved or not f.init:
            continue
        current = getattr(policy, f.name)
        if f.default is not dataclasses.MISSING and current == f.default:
            continue
        parts.append(f"{f.name}={_show(current)}")
    return f"({', '.join(parts)})" if parts else ""


def _show(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return {True: "true", False: "false", None: "none"}[v]
    if isinstance(v, str):
        return v if _BARE.fullmatch(v) and v.lower() not in _WORDS else f'"{v}"'
    return repr(v)


def _hints(cls: type) -> dict[str, Any]:
    """The field types of ``cls``; where its annotations cannot be resolved, none (values go unchecked)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # a forward reference the class's module cannot resolve: nothing to check against
        return {}


def _fits(given: Any, expected: Any) -> bool:
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(given, option) for option in typing.get_args(expected))
    if expected is type(None):
        return given is None
    if expected is int:
        return isinstance(given, int) and not isinstance(given, bool)
    if expected is float:
        return isinstance(given, (int, float)) and not isinstance(given, bool)
    if expected in (bool, str):
        return isinstance(given, expected)
    return True  # a type the syntax cannot spell (an Upload, a tuple): the policy's own checks decide


def _type_name(expected: Any) -> str:
    if typing.get_origin(expected) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(option) for option in typing.get_args(expected))
    return {int: "an integer (a size may have a unit: 64MiB)", float: "a number", bool: "true or false",
            str: "a string", type(None): "none"}.get(expected, getattr(expected, "__name__", str(expected)))
