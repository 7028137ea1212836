"""Policies from outside wgtrace: ``package.module:Name`` references and installed entry points.

A runtime author's pool or pass policy lives in their own code. wgtrace finds it two ways:

- ``--pool package.module:Name`` (``--pass package.module:Name``): the module is imported as
  ``python -m`` would import it, the current directory first on the path, so a policy in a file
  next to the trace or in a test folder needs no installing;
- an entry point in the group ``wgtrace.pools`` (``wgtrace.passes``) of an installed distribution:
  ``--pool NAME`` then finds it by the entry point's name, as the built-in names are found.

Every way of failing (no such module, a module that raises on import, no such attribute, a
constructor that raises) is a ``PolicyError`` that names the reference and what went wrong: one
line on the command line, exit status 2, never a traceback from inside the user's code.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import PolicyError

POOL_GROUP = "wgtrace.pools"
PASS_GROUP = "wgtrace.passes"


def entry_point(name: str, group: str) -> EntryPoint | None:
    """The installed entry point ``name`` of ``group``, if any (the first, in distribution order)."""
    return next(iter(entry_points(group=group, name=name)), None)


def is_reference(name: str) -> bool:
    """Whether ``name`` is written ``package.module:Name`` rather than a registered name."""
    return ":" in name


def resolve(name: str, group: str, what: str) -> Any:
    """The object ``name`` stands for: an entry point of ``group``, or a ``module:attribute`` reference;
    None when it is neither (an unknown name)."""
    found = entry_point(name, group)
    if found is not None:
        try:
            return found.load()
        except Exception as e:
            raise PolicyError(f"{what}: loading entry point {name!r} ({found.value}) of {group} raised "
                              f"{_said(e)}") from e
    if not is_reference(name):
        return None
    return load_reference(name, what)


def load_reference(reference: str, what: str) -> Any:
    """``package.module:Name`` (the attribute may be dotted, ``Outer.Inner``), imported from the current
    directory as ``python -m`` would."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise PolicyError(f"{what}: {reference!r} is not written package.module:Name")
    _current_directory_first()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise PolicyError(f"{what}: no module named {module_name!r} (looked for from {os.getcwd()} and the "
                              f"installed packages)") from e
        raise PolicyError(f"{what}: importing {module_name!r} raised {_said(e)}") from e
    except Exception as e:
        raise PolicyError(f"{what}: importing {module_name!r} raised {_said(e)}") from e
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise PolicyError(f"{what}: module {module_name!r} ({getattr(module, '__file__', '?')}) has no "
                              f"{attribute!r}")
        found = getattr(found, part)
    return found


def construct(cls: type, fields: dict[str, Any], what: str) -> Any:
    """``cls(**fields)``, its exceptions (a parameter out of range) worded as a PolicyError."""
    try:
        return cls(**fields)
    except Exception as e:
        raise PolicyError(f"{what}: {_said(e)}") from e


def _current_directory_first() -> None:
    """Put the working directory on the import path, as ``python -m`` does (once; the console script
    ``wgtrace`` starts without it)."""
    here = os.getcwd()
    if "" not in sys.path and here not in sys.path:
        sys.path.insert(0, here)


def _said(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
