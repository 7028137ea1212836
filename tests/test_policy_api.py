"""Bring your own policy: a pool and a pass policy of a user's own (tests/user_policies.py), named by
reference or by entry point, with parameters, planned, checked, simulated and replayed through the CLI
and the Python API; and what such a policy can get wrong, refused by the planner in one line that
names the policy and the allocation (exit status 2 on the command line, never a traceback).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pytest

from wgtrace.replay.report import replay
from wgtrace.sim.check import check
from wgtrace.sim.metrics import simulate
from wgtrace.sim.planner import plan
from wgtrace.sim.policies import PolicyError, parse_passes, parse_pool, pass_names, pool_names
from wgtrace.sim.synthetic import build, random_ops
from wgtrace.traces import load, save
from wgtrace.traces.cli import main

from user_policies import Bucketed, EveryFew

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WGTRACE = Path(sys.executable).parent / "wgtrace"
# a kernel reads a0; its output a2 is never used again, so a pool may hand a2's storage to a3, uploaded at once
PROGRAM = [("alloc", 16), ("write", 0), ("alloc", 16), ("dispatch", (0,), 1, -1), ("alloc", 16),
           ("dispatch", (0, 1), 2, -1), ("alloc", 16), ("write", 3), ("dispatch", (3,), 1, -1), ("read", 1)]


@pytest.fixture(scope="module")
def trace_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("policy_api") / "program.wgtrace"
    save(build(PROGRAM, data="full"), path)
    return path


def test_parameters_are_typed_with_units_and_the_spec_gives_the_policy_back():
    pool = parse_pool("user_policies:Bucketed(keep=2)+fix")
    assert pool == Bucketed(keep=2, fix="page") and pool.spec == "user_policies:Bucketed(keep=2)+fix"
    torch = parse_pool("torch-caching(max_split_size=64MiB, roundup_power2_divisions=4)+fix-range")
    assert (torch.max_split_size, torch.roundup_power2_divisions) == (64 << 20, 4)
    assert parse_pool(torch.spec) == torch
    assert parse_passes("tfjs(max_tasks=20)/write-buffer").spec == "tfjs(max_tasks=20)/write-buffer"
    assert parse_passes("user_policies:EveryFew(max_tasks=2)/write-buffer") == EveryFew(
        upload=parse_passes("batched").upload, max_tasks=2)
    assert parse_passes("max-tasks(max_tasks=3)").spec == "max-tasks:3"
    assert parse_passes("user_policies:EveryFew:3").spec == "user_policies:EveryFew:3"
    for name in pool_names():
        assert parse_pool(name).spec == parse_pool(parse_pool(name).spec).spec
    for name in pass_names():
        assert parse_passes(parse_passes(name).spec) == parse_passes(name)


@pytest.mark.parametrize(("spec", "says"), [
    ("torch-caching(foo=1)", "no parameter 'foo'; it takes: max_split_size, roundup_power2_divisions"),
    ("torch-caching(max_split_size=big)", "parameter 'max_split_size' wants an integer"),
    ("torch-caching(max_split_size=1MiB)", "max_split_size must be more than 20 MiB"),
    ("torch-caching(roundup_power2_divisions=3)", "must be 0 or a power of two"),
    ("user_policies:Bucketed(keep=1, keep=2)", "given twice"),
    ("user_policies:Bucketed(keep=2", "no ')' closes"),
    ("user_policies:Nowhere", "module 'user_policies'"),
    ("no_such_module:Pool", "no module named 'no_such_module'"),
    ("json:dumps", "json:dumps is a function, not a PoolPolicy"),
    ("user_policies:EveryFew", "is the class EveryFew, not a PoolPolicy"),
    ("tfjs+fix", "tfjs takes no +fix"),
])
def test_bad_pool_names_say_what_and_where(spec, says):
    with pytest.raises(PolicyError) as e:
        parse_pool(spec)
    assert says in str(e.value) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize(("spec", "says"), [
    ("user_policies:Replaying", "only as-recorded keeps the program's own passes"),
    ("user_policies:EveryFew(max_tasks=-1)", "max_tasks must be a count of dispatches"),
    ("max-tasks(max_tasks=2):3", "max_tasks given twice"),
    ("tfjs(upload=flush-write)", "no parameter 'upload'"),
    ("max-task:3", "unknown pass policy"),
    ("user_policies:Replaying:3", "takes no count"),
])
def test_bad_pass_names_say_what_and_where(spec, says):
    with pytest.raises(PolicyError) as e:
        parse_passes(spec)
    assert says in str(e.value), str(e.value)


def test_a_users_pool_and_pass_policy_plan_check_and_simulate_from_python(trace_path):
    trace = load(trace_path)
    for pool, passes in ((Bucketed(fix="page"), EveryFew()),
                         ("user_policies:Bucketed(keep=1)", "batched/staging-copy")):
        p = plan(trace, pool, passes)
        result = check(p)
        assert result.ok and result.proven, [f.message for f in result.findings]
        metrics = simulate(p)
        assert (metrics.pool, metrics.passes) == (parse_pool(pool).spec, parse_passes(passes).spec)
        assert metrics.dispatches == 3


def test_the_cli_imports_a_users_policy_from_the_working_directory(trace_path):
    """The console script starts without the working directory on its path; the loader adds it, as python -m."""
    run = subprocess.run([str(WGTRACE), "sim", str(trace_path), "--pool", "user_policies:Bucketed(keep=2)+fix",
                          "--pass", "user_policies:EveryFew/write-buffer"], cwd=HERE, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "user_policies:Bucketed(keep=2)+fix" in run.stdout and "user_policies:EveryFew:4/write-buffer" in run.stdout
    run = subprocess.run([str(WGTRACE), "check", str(trace_path), "--pool", "user_policies:Bucketed+fix", "--pass",
                          "user_policies:EveryFew:2", "--json"], cwd=HERE, capture_output=True, text=True)
    assert run.returncode == 0 and '"proven": true' in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize(("pool", "says"), [
    ("user_policies:Overlapping", "overlap bytes 0-63 of allocation 0 (64 bytes, created at program.py:1, event 1)"),
    ("user_policies:Misaligned", "offset 4 on page 0, not a multiple of the device's storage offset alignment 256"),
    ("user_policies:Huge", "over the device's binding limit (max-storage-buffer-binding-size 134,217,728)"),
    ("user_policies:Raising", "raised RuntimeError: out of buckets while reserving, for allocation 1 (64 bytes, "
                              "created at program.py:3, event"),
    ("user_policies:Reckless+fix", "reserve() ignored the exclusion: bytes 0-63 of page"),
])
def test_a_policys_errors_are_named_by_the_planner_in_one_line(trace_path, capsys, pool, says):
    assert main(["check", str(trace_path), "--pool", pool, "--pass", "batched"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"wgtrace check: error: pool policy {pool}: ") and says in err, err


def test_compare_lists_the_runtime_allocators(trace_path, capsys):
    assert main(["compare", str(trace_path), "--passes", "batched", "--json"]) == 0
    rows = capsys.readouterr().out
    for name in ("torch-caching", "torch-caching+fix", "ort-simple", "ort-bucket", "tfjs", "tinygrad-lru",
                 "tinygrad-lru+fix"):
        assert f'"pool": "{name}"' in rows


def test_entry_points_name_policies_as_the_built_in_names_do(tmp_path, monkeypatch, trace_path):
    """A distribution that declares wgtrace.pools and wgtrace.passes entry points, installed on the path."""
    info = tmp_path / "user_policies_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: user-policies-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[wgtrace.pools]\nbucketed = user_policies:Bucketed\n\n"
                                           "[wgtrace.passes]\nevery-few = user_policies:EveryFew\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert parse_pool("bucketed(keep=3)+fix-range") == Bucketed(keep=3, fix="range")
    assert parse_passes("every-few:2/write-buffer").max_tasks == 2
    assert check(plan(build(PROGRAM), "bucketed+fix", "every-few")).ok


def test_a_users_pool_replays_on_the_gpu_from_the_cli_and_from_python(engine, trace_path, capsys):
    assert main(["replay", str(trace_path), "--pool", "user_policies:Bucketed+fix", "--pass", "batched"]) == 0
    assert "verdict  OK" in capsys.readouterr().out
    report = replay(load(trace_path), engine, adapter="test", pool=Bucketed(keep=1, fix="page"), passes=EveryFew())
    assert report.ok and report.pool == "user_policies:Bucketed(keep=1)+fix", report.error
    assert report.passes == "user_policies:EveryFew:4"


SHIPPED = [name for name in pool_names() if parse_pool(name).pooled]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_guard_accepts_every_shipped_pool_and_changes_none_of_its_plans(name):
    """Shipped pools are forwarded unchecked; a subclass of one (not shipped, so guarded) plans the corpus's
    training program and random programs to the very same plans."""
    shipped = parse_pool(name)
    guarded_class = dataclass(frozen=True)(type(type(shipped).__name__, (type(shipped),), {}))
    guarded = guarded_class(**{f.name: getattr(shipped, f.name) for f in fields(shipped)})
    traces = [load(ROOT / "traces" / "corpus" / "mlp_train.wgtrace")]
    traces += [build(random_ops(np.random.default_rng(seed), 80, p_draw=0.2)) for seed in range(3)]
    for trace in traces:
        for passes in ("as-recorded", "batched"):
            a, b = plan(trace, shipped, passes), plan(trace, guarded, passes)
            assert all(np.array_equal(x, y) for x, y in zip(
                (a.trace.kind, a.trace.args, a.trace.rows, *vars(a.allocations).values()),
                (b.trace.kind, b.trace.args, b.trace.rows, *vars(b.allocations).values()), strict=True))
