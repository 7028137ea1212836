"""What a hazard rule is, what it reports, and the registry that collects the rules.

A rule is one module of ``sim.check.rules`` that defines ``RULE``: its id, severity and title, its
documentation, its check function, and the facts other code needs about it (a finding refutes
program order; the device's validation rejects the call, with the words of that error). Code that
treats rules differently reads those flags, never an id, so a new rule is one new file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .facts import Facts

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

# The sections of a rule's documentation, in order.
HEADINGS = ("What it finds", "Why it matters", "An example")

_ID = re.compile(r"([A-Z]+)(\d+)")


def id_order(rule_id: str) -> tuple[str, int]:
    """Sort key of a rule id: by number within its letters, so H10 comes after H9."""
    m = _ID.fullmatch(rule_id)
    if m is None:
        raise ValueError(f"rule id {rule_id!r} is not letters then a number, like H7")
    return m[1], int(m[2])


@dataclass(frozen=True)
class Finding:
    """One hazard. Ranges are half-open [lo, hi): bytes of ``buffer``, or keys of ``texture``'s texel line
    (``sim.footprint.textures``); messages print them as people count."""

    rule: str
    severity: Severity
    event: int
    site: str
    call: str
    message: str
    buffer: int | None = None
    lo: int | None = None
    hi: int | None = None
    other_event: int | None = None
    other_site: str | None = None
    other_call: str | None = None
    allocations: tuple[int, ...] = ()
    other_allocations: tuple[int, ...] = ()
    texture: int | None = None
    stack: tuple[str, ...] = ()  # the event's call stack, innermost first, where the trace has stacks
    other_stack: tuple[str, ...] = ()  # the other event's

    def as_dict(self) -> dict:
        d = asdict(self)
        d["allocations"] = list(self.allocations)
        d["other_allocations"] = list(self.other_allocations)
        d["stack"] = list(self.stack)
        d["other_stack"] = list(self.other_stack)
        return d

    def sort_key(self) -> tuple:
        return (self.event, id_order(self.rule), -1 if self.other_event is None else self.other_event,
                -1 if self.lo is None else self.lo, self.message)


@dataclass(frozen=True)
class Rule:
    """A hazard rule. ``doc`` has the sections of ``HEADINGS``; "What it finds" is the rule's summary.

    ``breaks_order``: a finding means execution order may differ from program order, so the
    checker's proof fails. ``device_errors``: words of the error the device raises for a finding;
    a rule that lists some is a WebGPU validation error (the device rejects the call).
    """

    id: str
    title: str
    severity: Severity
    find: Callable[[Facts], list[Finding]] = field(compare=False, repr=False)
    doc: str | None = field(compare=False, repr=False)
    breaks_order: bool = False
    device_errors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        id_order(self.id)  # rejects an id that is not letters then a number
        if self.severity not in (ERROR, WARNING):
            raise ValueError(f"rule {self.id}: severity {self.severity!r} is neither {ERROR!r} nor {WARNING!r}")
        if self.device_errors and self.severity != ERROR:
            raise ValueError(f"rule {self.id}: a call the device rejects is an error, not a {self.severity}")
        missing = [h for h in HEADINGS if h not in self.sections]
        if missing:
            raise ValueError(f"rule {self.id} ({self.origin}): its docstring lacks the section(s) {missing}")

    @property
    def validation(self) -> bool:
        """Whether WebGPU's validation rejects the call a finding names."""
        return bool(self.device_errors)

    @property
    def origin(self) -> str:
        """Where the rule's check is defined, to name it in errors."""
        return f"{self.find.__module__}.{self.find.__qualname__}"

    @cached_property
    def sections(self) -> dict[str, str]:
        """The documentation's sections by heading: a heading line, then its indented body."""
        out: dict[str, list[str]] = {}
        body: list[str] = []
        for line in inspect.cleandoc(self.doc or "").splitlines():
            if line in HEADINGS:
                body = out.setdefault(line, [])
            elif line.startswith("    ") or not line:
                body.append(line[4:])
        return {h: inspect.cleandoc("\n".join(lines)) for h, lines in out.items()}

    @property
    def summary(self) -> str:
        """"What it finds", as one line."""
        return " ".join(self.sections[HEADINGS[0]].split())

    def finding(self, event: int, site: str, call: str, message: str, *, buffer: int | None = None,
                lo: int | None = None, hi: int | None = None, other_event: int | None = None,
                other_site: str | None = None, other_call: str | None = None, allocations: tuple[int, ...] = (),
                other_allocations: tuple[int, ...] = (), texture: int | None = None) -> Finding:
        """A finding of this rule: the id and severity are the rule's."""
        return Finding(self.id, self.severity, event, site, call, message, buffer, lo, hi, other_event, other_site,
                       other_call, allocations, other_allocations, texture=texture)


class DuplicateRule(ValueError):
    """Two rules claim one id."""


class Registry:
    """Rules by id, iterated in id order (H9 before H10)."""

    def __init__(self, rules: Iterable[Rule] = ()):
        self._by_id: dict[str, Rule] = {}
        for r in rules:
            self.add(r)

    @classmethod
    def discover(cls, package: str, path: Iterable[str]) -> Registry:
        """The ``RULE`` of every module of ``package`` (at ``path``), imported in name order."""
        modules = sorted(m.name for m in pkgutil.iter_modules(path))
        found = (getattr(importlib.import_module(f"{package}.{name}"), "RULE", None) for name in modules)
        return cls(r for r in found if r is not None)

    def add(self, rule: Rule) -> Rule:
        """Register ``rule``; an id already taken raises ``DuplicateRule`` naming both."""
        if rule.id in self._by_id:
            raise DuplicateRule(f"rule id {rule.id} is defined twice: by {self._by_id[rule.id].origin} and by "
                                f"{rule.origin}")
        self._by_id[rule.id] = rule
        return rule

    def remove(self, rule_id: str) -> Rule:
        """Unregister a rule (a plug-in taken out again)."""
        return self._by_id.pop(rule_id)

    def __getitem__(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self._by_id.values(), key=lambda r: id_order(r.id)))

    def __len__(self) -> int:
        return len(self._by_id)

    def span(self) -> str:
        """The ids as a range for help texts: "H1-H6"."""
        ids = [r.id for r in self]
        return f"{ids[0]}-{ids[-1]}" if len(ids) > 1 else "".join(ids)
