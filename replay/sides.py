"""``wgtrace replay`` and ``truth`` on several WebGPU implementations, side by side.

A process can hold one implementation (see ``tracer.backends``), so each runs the command in a child
process of its own with ``--json``, and this one, which never imports wgpu, compares what they report:
verdicts and times per policy, and every difference named with its event and call site. A difference is
one implementation refusing what another runs, two errors of different kinds, or a read-back whose bytes
differ (reads are keyed by the source event they realise, so plans laid out for different limits still
compare). For ``truth``, each implementation's table, and the cases where the implementations disagree
with each other on what is valid.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from ..tracer.backends import environment, missing
from ..traces.cli import load_file
from ..traces.errors import InputError
from ..traces.model import Trace
from ..traces.schema import KIND_NAMES
from .errors import UNKNOWN, classify

MESSAGE = 200  # characters of a device error's message in a difference (a shader's may be pages long)


@dataclass
class Side:
    """One implementation's child: its exit code and what it printed as JSON."""

    backend: str
    code: int
    out: Any


def run_children(args: argparse.Namespace, argv: list[str]) -> list[Side]:
    """``wgtrace ARGV --backend B --json --quiet`` for each backend B, one after the other (they would share
    the CPU), each in a process of its own; a child's bad input is this command's bad input."""
    sides = []
    for backend in dict.fromkeys(args.backend):
        reason = missing(backend)
        if reason:
            raise InputError(f"--backend {backend}: {reason}")
        child = subprocess.run([sys.executable, "-m", "wgtrace.traces", *argv, "--backend", backend, "--json",
                                "--quiet"], capture_output=True, text=True, env={**os.environ, **environment(backend)})
        if child.returncode not in (0, 1):
            last = (child.stderr.strip().splitlines() or [f"exit code {child.returncode}"])[-1]
            raise InputError(f"on {backend}: {last.split(': error: ', 1)[-1]}")
        sides.append(Side(backend, child.returncode, json.loads(child.stdout)))
    return sides


# -- replay ---------------------------------------------------------------------------------------

def replay_traces(args: argparse.Namespace) -> int:
    trace = load_file(args.trace)
    sides = run_children(args, _replay_argv(args))
    reports = {s.backend: s.out if isinstance(s.out, list) else [s.out] for s in sides}
    per_policy = [{b: reports[b][k] for b in reports} for k in range(len(next(iter(reports.values()))))]
    differences = [_differences(trace, reps) for reps in per_policy]
    if args.json:
        print(json.dumps([{"pool": next(iter(reps.values()))["pool"], "passes": next(iter(reps.values()))["passes"],
                           "implementations": reps, "differences": diff}
                          for reps, diff in zip(per_policy, differences, strict=True)], indent=2))
    else:
        print("\n\n".join("\n".join(_replay_lines(args.trace, reps, diff))
                          for reps, diff in zip(per_policy, differences, strict=True)))
    return 0 if all(s.code == 0 for s in sides) and not any(differences) else 1


def _replay_argv(args: argparse.Namespace) -> list[str]:
    argv = ["replay", args.trace, "--read-digests", "--seed", str(args.seed), "--timeout", str(args.timeout),
            "--repeat", str(args.repeat), "--warmup", str(args.warmup)]
    for pool in args.pool or []:
        argv += ["--pool", pool]
    for passes in args.passes or []:
        argv += ["--pass", passes]
    argv += ["--adapter", args.adapter] if args.adapter else []
    argv += ["--costs", args.costs] if args.costs else []
    return argv + ([] if args.reference else ["--no-reference"])


def _kind(report: dict, backend: str) -> str | None:
    e = report["error"]
    return classify(e["error"], e["message"], backend) if e else None


def _where(trace: Trace, event: int) -> str:
    return f"event {event} ({KIND_NAMES.get(int(trace.kind[event]), '?')} at {trace.site_of(event)})"


def _differences(trace: Trace, reports: dict[str, dict]) -> list[str]:
    """Every way the implementations' replays of one plan differ, in words, sorted."""
    out = []
    names = sorted(reports)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            out += _pair(trace, a, reports[a], b, reports[b])
    return sorted(set(out))


def _pair(trace: Trace, a: str, ra: dict, b: str, rb: dict) -> list[str]:
    ea, eb = ra["error"], rb["error"]
    ka, kb = _kind(ra, a), _kind(rb, b)
    if ea and eb:
        if (ka, ea["cause"]) == (kb, eb["cause"]):
            return []
        return [f"{a} refuses {_cause(ea)} as {_rule(ka)}; {b} refuses {_cause(eb)} as {_rule(kb)}"]
    if ea or eb:
        name, e, kind, other = (a, ea, ka, b) if ea else (b, eb, kb, a)
        message = e["message"] if len(e["message"]) <= MESSAGE else e["message"][:MESSAGE] + "..."
        return [f"{name} refuses {_cause(e)} as {_rule(kind)} ({e['error']}: {message}); {other} runs it"]
    da, db = ra["read_digests"], rb["read_digests"]
    return [f"read-back at source {_where(trace, int(event))}: {a} and {b} read different bytes"
            for event in sorted(set(da) | set(db), key=int) if da.get(event) != db.get(event)]


def _rule(kind: str | None) -> str:
    return "an error no rule of the checker covers" if kind == UNKNOWN else str(kind)


def _cause(e: dict) -> str:
    """The plan event that caused an error (the one that raised it, where they differ, beside it)."""
    where = f"event {e['cause']} ({e['cause_kind']} at {e['cause_site']})"
    return where if e["cause"] == e["event"] else f"{where}, raised at event {e['event']} ({e['kind']})"


def _replay_lines(path: str, reports: dict[str, dict], differences: list[str]) -> list[str]:
    first = next(iter(reports.values()))
    out = [f"replay   {path}: pool {first['pool']}, passes {first['passes']}, on {' and '.join(reports)}",
           f"  {'implementation':<26}{'verdict':<14}{'issue ms':>10}{'cpu ms':>10}{'synced ms':>11}{'reads':>7}"]
    for r in reports.values():
        t = r["timings"]
        verdict = "OK" if r["ok"] else ("device error" if r["error"] else "FAILED")
        times = [f"{t[k]['median'] * 1e3:>{w}.2f}" if t else f"{'-':>{w}}" for k, w in
                 (("issue_s", 10), ("cpu_s", 10), ("wall_s", 11))]
        webgpu = r["adapter"].rsplit(", ", 1)[-1]
        out.append(f"  {webgpu:<26}{verdict:<14}{''.join(times)}{r['reads']['checked']:>7,}")
    out += [f"  adapter  {r['adapter']}" for r in reports.values()]
    out += [f"DIFFERENT {d}" for d in differences] or [
        f"same     verdicts, errors and {len(first.get('read_digests', {})):,} read-backs (byte for byte)"]
    return out


# -- truth ----------------------------------------------------------------------------------------

def truth(args: argparse.Namespace) -> int:
    from .truth import table_lines

    argv = ["truth", str(args.cases), "--cases", "--ops", str(args.ops), "--draws", str(args.draws),
            "--seed", str(args.seed), "--timeout", str(args.timeout)]
    sides = run_children(args, argv + (["--adapter", args.adapter] if args.adapter else []))
    between = _disagreements([s.backend for s in sides], [s.out["all_cases"] for s in sides])
    if args.json:
        print(json.dumps({"implementations": {s.backend: {k: v for k, v in s.out.items() if k != "all_cases"}
                                              for s in sides}, "between_implementations": between}, indent=2))
    else:
        blocks = [[f"{s.backend}", f"adapter  {s.out['adapter']}", *table_lines(s.out)] for s in sides]
        blocks.append([f"between implementations: {len(between)} cases where they disagree on what is valid",
                       *between])
        print("\n\n".join("\n".join(b) for b in blocks))
    return 0 if all(s.code == 0 for s in sides) else 1


def _disagreements(backends: list[str], cases: list[list[dict]]) -> list[str]:
    """The cases one implementation rejects and another runs (or rejects for another rule), with the checker's
    verdict (it follows WebGPU's rules, whichever implementation lets a case through)."""
    out = []
    for row in zip(*cases, strict=True):
        kinds = {b: c["device_kind"] for b, c in zip(backends, row, strict=True)}
        if len(set(kinds.values())) > 1:
            c = row[0]
            said = ", ".join(f"{b} {k or 'lets it through'}" for b, k in kinds.items())
            out.append(f"  case {c['case']} ({c['recording']} recording, {c['pool']} {c['passes']}): checker "
                       f"{'+'.join(c['checker_errors']) or 'no error'}; {said}")
    return out
