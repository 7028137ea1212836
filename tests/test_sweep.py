"""``wgtrace sweep`` on a real Dask LocalCluster: two workers write the bytes and the summary one process writes,
a sweep resumes from the rows it finds, a failing job is a row, bad input is one line, and the extra stays optional."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from dask.distributed import LocalCluster
from rich.console import Console

from wgtrace.sim.sweep import Settings, expand, jobs_for, survey
from wgtrace.sim.sweep import results as sweep_results
from wgtrace.sim.sweep.execute import run_serial
from wgtrace.sim.sweep.summary import render, summarize
from wgtrace.traces import Kind, save
from wgtrace.traces.cli import main

from test_check_rules import App

CORPUS = Path(__file__).resolve().parent.parent / "traces" / "corpus"
SMALL = ("nbody", "prefix_sum", "image_filters", "frame_loop")
POOLS, PASSES = ["exclusive", "sliced+fix"], ["as-recorded", "batched"]
POLICIES = ["--pool", *POOLS, "--pass", *PASSES]
JOBS = (len(SMALL) + 1) * len(POOLS) * len(PASSES)


def refused() -> App:
    """A draw recorded into a compute pass: the re-recording policies refuse to plan it (H4), as-recorded plans it."""
    app = App()
    e = app.encoder()
    ps = app.begin(e)
    app.add(Kind.DRAW, 40, pass_encoder=ps, vertex_count=3, instance_count=1)
    app.add(Kind.PASS_END, compute_pass=ps)
    app.submit(e)
    return app


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four small corpus traces and one whose re-recorded plans fail."""
    folder = tmp_path_factory.mktemp("corpus")
    for name in SMALL:
        shutil.copy(CORPUS / f"{name}.wgtrace", folder)
    save(refused().b.build(), folder / "refused.wgtrace")
    return folder


def serial(corpus: Path, out: Path, settings: Settings) -> str:
    """Every job of the sweep in this process, written and summarised as the command does: the reference."""
    rows: list[dict] = []
    run_serial(jobs_for(survey(expand([str(corpus)])), POOLS, PASSES, settings), rows.append)
    sweep_results.write(rows, str(out))
    console = Console(file=io.StringIO(), width=200)
    for part in render(summarize(rows)):
        console.print(part)
    return console.file.getvalue()


def sweep(*args: str | Path) -> int:
    return main(["sweep", *map(str, args)])


def test_two_workers_write_the_bytes_and_the_summary_of_one_process(corpus, tmp_path, capsys):
    summary = serial(corpus, tmp_path / "serial.parquet", Settings(check=True))
    assert sweep(corpus, *POLICIES, "--check", "--workers", "2", "-o", tmp_path / "two.parquet") == 0
    out, err = capsys.readouterr()
    assert (tmp_path / "two.parquet").read_bytes() == (tmp_path / "serial.parquet").read_bytes()
    assert out == summary
    assert err == f"{JOBS} rows ({JOBS} computed, 0 reused) in {tmp_path / 'two.parquet'}\n"

    rows = pq.read_table(tmp_path / "two.parquet").to_pylist()
    assert [(r["trace"], r["pool"], r["passes"]) for r in rows] == sorted((r["trace"], r["pool"], r["passes"])
                                                                         for r in rows)
    failed = [r for r in rows if r["error"] is not None]
    assert [(Path(r["trace"]).name, r["pool"], r["passes"]) for r in failed] == [
        ("refused.wgtrace", "exclusive", "batched"), ("refused.wgtrace", "sliced+fix", "batched")]
    assert all("(H4)" in r["error"] and r["peak_reserved_bytes"] is None for r in failed)
    assert f"2 of {JOBS} jobs failed:" in out and "refused.wgtrace sliced+fix batched: event" in out
    nbody = next(r for r in rows if r["trace"].endswith("nbody.wgtrace") and r["pool"] == "sliced+fix")
    assert nbody["trace_sha256"] == hashlib.sha256((CORPUS / "nbody.wgtrace").read_bytes()).hexdigest()
    assert nbody["check_verdict"] == "clean" and nbody["check_H1"] == 0 and nbody["replay_ok"] is None
    assert nbody["peak_over_floor"] == nbody["peak_reserved_bytes"] / nbody["floor_bytes"] > 1
    assert nbody["cpu_us"] == pytest.approx(sum(dict(nbody["cost_us"]).values()))
    assert "per policy" in out and "exclusive" in out and "least memory" in out


def test_a_sweep_reuses_the_rows_it_finds_and_computes_the_rest(corpus, tmp_path, capsys):
    serial(corpus, tmp_path / "serial.parquet", Settings())
    out = tmp_path / "resumed.parquet"
    # a sweep interrupted after 7 jobs left their rows (it writes what it has when stopped, and every 30 s)
    done: list[dict] = []
    run_serial(jobs_for(survey(expand([str(corpus)])), POOLS, PASSES, Settings())[:7], done.append)
    sweep_results.write(done, str(out))
    assert sweep(corpus, *POLICIES, "--workers", "1", "-o", out) == 0
    assert capsys.readouterr().err.startswith(f"{JOBS} rows ({JOBS - 7} computed, 7 reused)")
    assert out.read_bytes() == (tmp_path / "serial.parquet").read_bytes()
    # again, from another folder's copy of the corpus: rows go by content, failed ones are tried again
    moved = tmp_path / "moved"
    shutil.copytree(corpus, moved)
    assert sweep(moved, *POLICIES, "--workers", "1", "-o", out) == 0
    assert capsys.readouterr().err.startswith(f"{JOBS} rows (2 computed, {JOBS - 2} reused)")
    assert {r["trace"] for r in pq.read_table(out).to_pylist()} == {str(p) for p in sorted(moved.iterdir())}
    # other settings are other rows
    assert sweep(moved, "--pool", "exclusive", "--pass", "batched", "--check", "--workers", "1", "-o", out) == 0
    assert capsys.readouterr().err.startswith(f"{len(SMALL) + 1} rows ({len(SMALL) + 1} computed, 0 reused)")


def test_an_existing_cluster_runs_the_same_tasks(corpus, tmp_path, capsys):
    """``--scheduler``: the sweep connects to a cluster it did not start (here one of worker threads in this
    process) and writes the same file."""
    serial(corpus, tmp_path / "serial.parquet", Settings())
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as existing:
        address = existing.scheduler_address
        assert sweep(corpus, *POLICIES, "--scheduler", address, "-o", tmp_path / "there.parquet") == 0
    assert (tmp_path / "there.parquet").read_bytes() == (tmp_path / "serial.parquet").read_bytes()
    assert capsys.readouterr().err.startswith(f"{JOBS} rows ({JOBS} computed, 0 reused)")


def test_replay_measures_every_plan_on_the_workers_gpu(tmp_path, capsys):
    out = tmp_path / "replayed.parquet"
    assert sweep(CORPUS / "nbody.wgtrace", "--pool", "exclusive", "sliced+fix", "--pass", "batched", "--replay",
                 "--workers", "1", "-o", out) == 0
    rows = pq.read_table(out).to_pylist()
    assert [r["error"] for r in rows] == [None, None]
    for r in rows:
        assert r["replay_ok"] and r["replay_verdict"] == "OK" and r["replay_runs"] == 1, r["replay_verdict"]
        assert r["replay_cpu_ms"] > 0 and r["replay_wall_ms"] > 0 and r["replay_adapter"]
        assert r["settings"].startswith("sim+replay(repeat=1)")


def refusal(capsys: pytest.CaptureFixture, *args: str | Path) -> str:
    assert sweep(*args) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("wgtrace sweep: error: "), err
    return err


def test_bad_input_is_one_line_and_exit_2(corpus, tmp_path, capsys):
    out = tmp_path / "out.parquet"
    assert "nope.wgtrace: no such file or directory" in refusal(capsys, tmp_path / "nope.wgtrace", "-o", out)
    assert "*.trace: no file matches this pattern" in refusal(capsys, f"{corpus}/*.trace", "-o", out)
    (tmp_path / "empty").mkdir()
    assert "empty: no .wgtrace file in this folder" in refusal(capsys, tmp_path / "empty", "-o", out)
    many = tmp_path / "many"
    shutil.copytree(corpus, many)
    (many / "nbody.wgtrace").write_bytes((CORPUS / "nbody.wgtrace").read_bytes()[:900])
    assert f"{many / 'nbody.wgtrace'}: file cut short at byte 900" in refusal(capsys, many, "-o", out)
    assert "unknown pool policy 'slicedd'" in refusal(capsys, corpus, "--pool", "slicedd", "-o", out)
    assert "unknown pass policy 'batch'" in refusal(capsys, corpus, "--pass", "batch", "-o", out)
    assert "tcp://127.0.0.1:9: cannot reach the Dask scheduler" in refusal(
        capsys, corpus, "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "0.5", "-o", out)
    assert "no folder" in refusal(capsys, corpus, "-o", tmp_path / "missing" / "out.parquet")
    (tmp_path / "notes.parquet").write_text("not parquet")
    assert "notes.parquet: not the Parquet file of a sweep" in refusal(capsys, corpus, "-o", tmp_path / "notes.parquet")
    assert not out.exists()


def test_the_extra_is_needed_by_sweep_only():
    """Without dask, ``sweep`` says how to install it in one line; ``sim`` and ``--help`` never import dask or
    pyarrow, so every other command works without the extra."""
    code = ("import sys, json, contextlib, io\n"
            "from wgtrace.traces.cli import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--help'])\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['sim', sys.argv[1], '--pool', 'sliced', '--json']) == 0\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'pyarrow'))\n"
            "sys.modules['dask.distributed'] = None\n"
            "code = main(['sweep', sys.argv[1], '-o', sys.argv[2]])\n"
            "print(json.dumps({'heavy': heavy, 'code': code}))\n")
    done = subprocess.run([sys.executable, "-c", code, str(CORPUS / "nbody.wgtrace"), os.devnull + ".parquet"],
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {"heavy": [], "code": 2}
    assert done.stderr == ("wgtrace sweep: error: needs the sweep extra, which is not installed (no module "
                           "'dask.distributed'): pip install 'wgtrace[sweep]'\n")
