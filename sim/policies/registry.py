"""The names users type for policies, and the one table of the policies wgtrace ships.

``--pool NAME[(PARAMETERS)][+fix|+fix-range]`` and ``--pass NAME[(PARAMETERS)][:N][/UPLOAD]``. NAME is
one of the tables below, the name of an installed entry point (group ``wgtrace.pools`` or
``wgtrace.passes``), or a reference ``package.module:Name`` to a policy class of the user's own
(``plugins.py``); PARAMETERS set the class's fields (``parameters.py``). A built-in name wins over an
entry point of the same name. ``pool_names`` and ``pass_names`` list what wgtrace ships, with the
variants worth comparing (what ``wgtrace compare`` runs by default); plug-ins are named, not listed.
"""

from __future__ import annotations

from typing import Any

from .errors import PolicyError
from .parameters import bind, parse_arguments, split_call
from .pass_policies import (
    UPLOADS,
    AsRecorded,
    Batched,
    MaxTasks,
    PassPerDispatch,
    PassPolicy,
    Tfjs,
    Upload,
    WriteBuffer,
    default_upload,
)
from .plugins import PASS_GROUP, POOL_GROUP, construct, entry_point, resolve
from .pool_policies import Exclusive, ExclusivePages, PoolPolicy, SizeClass, Sliced, SlicedPr56
from .runtimes import RUNTIME_POOLS

POOLS: dict[str, type[PoolPolicy]] = {
    p.name: p for p in (Exclusive, Sliced, SlicedPr56, ExclusivePages, SizeClass, *RUNTIME_POOLS)
}
ALIASES = {"as-recorded": "exclusive"}
FIXES = {"": "", "fix": "page", "fix-range": "range"}
PASSES: dict[str, type[PassPolicy]] = {p.name: p for p in (AsRecorded, PassPerDispatch, Batched, MaxTasks, Tfjs)}


def shipped(policy: PoolPolicy) -> bool:
    """Whether ``policy`` is one of the pools wgtrace ships (of that very class, not a subclass)."""
    return POOLS.get(policy.name) is type(policy)


def pool_names() -> list[str]:
    """Every pool, with each variant of the fix worth comparing (``PoolPolicy.fixes``: ``exclusive`` never
    reuses, it needs none; a pool that defers reuse itself takes none; a whole-buffer pool lists ``+fix``
    alone, ``+fix-range`` excluding the same there)."""
    return [name + (f"+{fix}" if fix else "") for name, cls in POOLS.items() for fix in FIXES
            if (FIXES[fix] in cls.fixes if cls.pooled else not fix)]


def parse_pool(spec: str | PoolPolicy) -> PoolPolicy:
    """``NAME[(PARAMETERS)][+fix|+fix-range]`` -> a policy; anything else is a PolicyError that says why."""
    if isinstance(spec, PoolPolicy):
        return spec
    text = str(spec)
    what = f"pool policy {text!r}"
    close = text.rfind(")")
    head, plus, fix = text[close + 1:].partition("+")
    name, args, rest = split_call(text[:close + 1] + head, what)
    if rest:
        raise PolicyError(f"{what}: {rest!r} follows the parameters; write NAME(PARAMETERS)+fix")
    name = ALIASES.get(name, name)
    cls = POOLS.get(name) or resolve(name, POOL_GROUP, what)
    if cls is None or fix not in FIXES or (plus and not fix):
        raise PolicyError(f"unknown pool policy {text!r}; valid: {', '.join(sorted([*POOLS, *ALIASES]))} "
                          f"(each may end in +fix or +fix-range), a wgtrace.pools entry point, or "
                          f"package.module:Name")
    _require(cls, PoolPolicy, name, what)
    if fix and cls.pooled and cls.defers_reuse:
        raise PolicyError(f"{what}: {name} takes no +{fix}: it holds freed storage back from unsubmitted commands "
                          f"itself")
    fields = bind(cls, parse_arguments(args, what) if args is not None else {}, what, frozenset({"fix"}))
    return construct(cls, {**fields, "fix": FIXES[fix]}, what)


def pass_names() -> list[str]:
    """Every pass policy with each upload (max-tasks at CubeCL's 32 and PR 56's 16; a runtime's preset, such as
    ``tfjs``, with its own upload only: ``tfjs/write-buffer`` is there to be named)."""
    names = []
    for name, cls in PASSES.items():
        default = default_upload(cls).name
        listed = cls.lists_uploads and not cls.records
        uploads = [default, *(u for u in UPLOADS if u != default)] if listed else [default]
        for count in ([":32", ":16"] if cls.takes_count else [""]):
            names += [f"{name}{count}" + ("" if u == default else f"/{u}") for u in uploads]
    return names


def parse_passes(spec: str | PassPolicy) -> PassPolicy:
    """``NAME[(PARAMETERS)][:N][/UPLOAD]`` -> a policy; anything else is a PolicyError naming the valid names."""
    if isinstance(spec, PassPolicy):
        return _checked(spec, f"pass policy {spec.spec!r}")
    text = str(spec)
    what = f"pass policy {text!r}"
    head, _, upload = text.partition("/")
    name, args, colon, count = _pass_head(head, what)
    cls = PASSES.get(name) or resolve(name, PASS_GROUP, what)
    if cls is None:
        raise PolicyError(f"unknown pass policy {text!r}; valid: {', '.join(PASSES)} "
                          f"(written NAME[:N][/UPLOAD], N for max-tasks, UPLOAD one of {', '.join(UPLOADS)}), "
                          f"a wgtrace.passes entry point, or package.module:Name")
    _require(cls, PassPolicy, name, what)
    if colon and not cls.takes_count:
        raise PolicyError(f"pass policy {name!r} takes no count (only max-tasks:N does): {text!r}")
    if colon and not (count.isascii() and count.isdigit() and int(count) > 0):
        raise PolicyError(f"{name} needs a positive count, as in {name}:32: {text!r}")
    if upload and upload not in UPLOADS:
        raise PolicyError(f"unknown upload {upload!r} in {text!r}; valid: {', '.join(UPLOADS)}")
    if upload and cls.records and upload != WriteBuffer.name:
        raise PolicyError(f"as-recorded keeps the program's own uploads; it takes no /{upload}")
    arguments = parse_arguments(args, what) if args is not None else {}
    if colon and "max_tasks" in arguments:
        raise PolicyError(f"{what}: max_tasks given twice (as a parameter and as :{count})")
    fields: dict[str, Any] = bind(cls, arguments, what, frozenset({"upload"}))
    if upload:
        fields["upload"] = UPLOADS[upload]()
    if colon:
        fields["max_tasks"] = int(count)
    return _checked(construct(cls, fields, what), what)


def _pass_head(head: str, what: str) -> tuple[str, str | None, bool, str]:
    """NAME, PARAMETERS, whether a count follows, the count: ``max-tasks:16``, ``pkg.mod:Name(k=v):4``."""
    name, args, rest = split_call(head, what)
    if args is not None:
        if rest and not rest.startswith(":"):
            raise PolicyError(f"{what}: {rest!r} follows the parameters; write NAME(PARAMETERS)[:N][/UPLOAD]")
        return name, args, bool(rest), rest[1:]
    first, colon, rest = head.partition(":")
    attribute, second, count = rest.partition(":")
    if colon and first not in PASSES and entry_point(first, PASS_GROUP) is None and attribute.isidentifier():
        return f"{first}:{attribute}", None, bool(second), count
    return first, None, bool(colon), rest


def _checked(policy: PassPolicy, what: str) -> PassPolicy:
    """What a pass policy of the user's own can get wrong, refused before planning."""
    if policy.records and not isinstance(policy, AsRecorded):
        raise PolicyError(f"{what}: only as-recorded keeps the program's own passes (records = True)")
    if not isinstance(policy.upload, Upload):
        raise PolicyError(f"{what}: upload must be one of {', '.join(UPLOADS)}, not {policy.upload!r}")
    if isinstance(policy.max_tasks, bool) or not isinstance(policy.max_tasks, int) or policy.max_tasks < 0:
        raise PolicyError(f"{what}: max_tasks must be a count of dispatches (0: no limit), not {policy.max_tasks!r}")
    return policy


def _require(cls: Any, base: type, name: str, what: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, base)):
        found = f"the class {cls.__qualname__}" if isinstance(cls, type) else f"a {type(cls).__name__}"
        raise PolicyError(f"{what}: {name} is {found}, not a {base.__name__} (write a frozen dataclass "
                          f"subclassing wgtrace.sim.policies.{base.__name__})")
