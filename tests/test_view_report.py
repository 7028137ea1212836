"""``wgtrace report``: the page a real headless Chromium renders from disk, with no network.

The browser is the system's Chromium (Debian's ``chromium``, which ``scripts/ensure-chromium.sh`` installs
in ``make setup``), driven by playwright through its executable path: playwright never downloads one.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wgtrace.sim import check, plan, simulate
from wgtrace.sim.view.bins import merge, peaks
from wgtrace.sim.view.data import Planned, page_data
from wgtrace.sim.view.html import render
from wgtrace.sim.view.sources import Sources
from wgtrace.sim.workloads import eager_loop
from wgtrace.traces import Kind, load, save
from wgtrace.traces.cli import main

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "traces" / "corpus"
HAZARD = CORPUS / "mlp_train_hazard.wgtrace"
POLICIES = ["--pool", "exclusive-pages", "--pass", "max-tasks:16", "--pool", "exclusive-pages+fix", "--pass",
            "max-tasks:16"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LIMIT = 5_000_000  # bytes: a corpus trace's report stays under 5 MB


def _chromium() -> str | None:
    """The system's Chromium: $WGTRACE_CHROMIUM, else the first of BROWSERS on the PATH (Debian's launcher script
    replaced by the binary it starts)."""
    named = os.environ.get("WGTRACE_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    binary = Path("/usr/lib/chromium/chromium")
    if named == "/usr/bin/chromium" and binary.exists():
        return str(binary)
    return named


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e "
                                                                 "'.[test]'")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium found (scripts/ensure-chromium.sh installs Debian's chromium package)")
    with sync_api.sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        b = p.chromium.launch(executable_path=executable, args=args)
        yield b
        b.close()


class Page:
    """A report opened from disk, with every request off the disk refused and every console error kept."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.network: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.errors.append(f"dialog: {d.message}"), d.dismiss()))
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)
        assert self.page.evaluate("document.body.dataset.ready") == "true", self.page.inner_text("#error")

    def _route(self, route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            self.network.append(route.request.url)
            route.abort()

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)


def _report(tmp_path: Path, trace: Path | str, *args: str, name: str = "report.html") -> Path:
    out = tmp_path / name
    assert main(["report", str(trace), *args, "-o", str(out)]) == 0
    return out


def test_the_page_shows_each_policy_its_findings_and_links_them_to_the_timeline(browser, tmp_path, capsys):
    out = _report(tmp_path, HAZARD, *POLICIES)
    assert capsys.readouterr().out.startswith(f"report: {out}")
    page = Page(browser, out)
    trace = load(HAZARD)
    results = [check(plan(trace, "exclusive-pages", "max-tasks:16")),
               check(plan(trace, "exclusive-pages+fix", "max-tasks:16"))]

    # memory over time: one line held by the pool per policy, the floor, and the legend naming each
    held = page.js("document.getElementById('memory').data.filter(t => t.meta.role === 'held').map(t => t.name)")
    assert held == ["exclusive-pages x max-tasks:16", "exclusive-pages+fix x max-tasks:16"]
    legend = page.js("[...document.querySelectorAll('#memory .legendtext')].map(e => e.textContent)")
    assert legend == ["live logical bytes (the floor)", *held]
    assert page.js("document.querySelectorAll('#memory .scatterlayer .trace').length") == 1 + 3 * 2
    assert page.js("document.getElementById('memory').data.filter(t => t.meta.role === 'submits')"
                   ".every(t => t.x.length > 0)")

    # a timeline per plan, every lane drawn
    for i in range(2):
        lanes = page.js(f"document.getElementById('timeline-{i}').data.map(t => t.meta.lane)")
        assert lanes[:3] == ["submits", "encoders", "passes"] and lanes[-1] == "findings"

    # the findings, as the checker lists them, each with the program's line around its call site
    for i, result in enumerate(results):
        shown = page.js(f"[...document.querySelectorAll('#findings-{i} .finding')].map(e => "
                        "[e.querySelector('.rule').textContent, Number(e.dataset.event), "
                        "e.querySelector('.message').textContent])")
        assert shown == [[x.rule, x.event, x.message] for x in result.findings[:200]]
        assert result.findings
    first = results[0].findings[0]
    path, _, line = first.site.rpartition(":")
    call_line = (ROOT / path).read_text().splitlines()[int(line) - 1]
    assert page.js("document.querySelector('#finding-0-0 .source .line.call').textContent").endswith(call_line)

    # a click on a finding scrolls its plan's timeline into view, zoomed on the finding's events
    k = 5
    x = results[1].findings[k]
    page.js("window.scrollTo(0, document.body.scrollHeight)")
    assert not page.js("(() => { const r = document.getElementById('timeline-1').getBoundingClientRect(); "
                       "return r.bottom > 0 && r.top < innerHeight; })()")
    page.page.click(f"#finding-1-{k} .message")
    page.page.wait_for_function(f"document.getElementById('timeline-1').dataset.focus === '{x.event}'")
    page.page.wait_for_function("(() => { const r = document.getElementById('timeline-1').getBoundingClientRect(); "
                                "return r.top >= 0 && r.bottom <= innerHeight; })()")
    lo, hi = page.js("document.getElementById('timeline-1').layout.xaxis.range")
    assert lo <= min(x.event, x.other_event) and max(x.event, x.other_event) + 1 <= hi and hi - lo < 200
    assert page.js("document.querySelector('.finding.selected').id") == f"finding-1-{k}"

    shot = tmp_path / "report.png"
    page.page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert page.network == [] and page.errors == []


def test_strings_from_the_trace_are_shown_never_run(browser, tmp_path):
    """A trace whose call sites and labels are markup: the page shows them as text and runs none of them."""
    trace = load(HAZARD)
    hostile = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"
    trace.strings = [f"{hostile}{s}" if ".py:" in s else s for s in trace.strings]
    label = len(trace.strings)
    trace.strings.append(f"</script><script>window.pwned = 3</script>{hostile}")
    for kind, column in ((Kind.COMPUTE_PIPELINE, 4), (Kind.BUFFER_CREATE, 3), (Kind.ENCODER_CREATE, 1)):
        trace.args[trace.where(kind), column] = label
    path = tmp_path / "hostile.wgtrace"
    save(trace, path)
    page = Page(browser, _report(tmp_path, path))
    assert page.js("window.pwned") is None
    assert page.js("document.querySelectorAll('#findings-0 img, #findings-0 script, header script').length") == 0
    text = page.js("document.querySelector('#finding-0-0').innerText")
    assert hostile in text and "window.pwned = 3" in text
    hover = page.js("document.getElementById('timeline-0').data[0].text[0]")
    assert "&lt;script&gt;" in hover
    assert page.network == [] and page.errors == []


def test_replayed_figures_stand_beside_the_predicted_ones(browser, tmp_path):
    """A real replay (lavapipe without a GPU) of two policies; the report takes its policies and figures."""
    trace = CORPUS / "prefix_sum.wgtrace"
    done = subprocess.run([sys.executable, "-m", "wgtrace.traces", "replay", str(trace), "--json", "--repeat", "1",
                           "--pool", "exclusive-pages", "--pass", "pass-per-dispatch/staging-copy",
                           "--pool", "exclusive-pages+fix", "--pass", "max-tasks:16"],
                          capture_output=True, text=True, env={**os.environ, "XDG_RUNTIME_DIR": "/tmp"})
    assert done.returncode == 0, done.stderr
    replayed = tmp_path / "replay.json"
    replayed.write_text(done.stdout)
    page = Page(browser, _report(tmp_path, trace, "--replay", str(replayed)))
    heads = page.js("[...document.querySelectorAll('#metrics thead th')].map(e => e.textContent)")
    assert heads == ["metric", "exclusive-pages x pass-per-dispatch/staging-copy", "exclusive-pages+fix x max-tasks:16"]
    rows = page.js("Object.fromEntries([...document.querySelectorAll('#metrics tbody tr')].map(r => "
                   "[r.cells[0].textContent, [...r.cells].slice(1).map(c => c.textContent)]))")
    assert all("ms measured" in cell and "ms predicted" in cell for cell in rows["CPU, median of the timed runs"])
    assert rows["reads"] == ["all matched", "all matched"]
    assert all(cell.endswith(" planned") for cell in rows["submits"])
    assert len(page.js("document.getElementById('memory').data.filter(t => t.meta.role === 'held')")) == 2


def test_every_corpus_report_is_small_and_the_same_twice(tmp_path):
    for trace in sorted(CORPUS.glob("*.wgtrace")):
        a = _report(tmp_path, trace, *POLICIES[:4], name=f"{trace.stem}.html")
        assert a.stat().st_size < LIMIT, trace.name
    b = _report(tmp_path, CORPUS / "mlp_train_full.wgtrace", *POLICIES[:4], name="again.html")
    assert b.read_bytes() == (tmp_path / "mlp_train_full.html").read_bytes()


def test_a_long_trace_is_binned_keeping_its_peaks():
    trace = eager_loop.generate(200_000)
    p = plan(trace, "sliced", "batched")
    data = page_data("big", trace, [Planned(p, simulate(p), check(p))], Sources([]))
    lanes = {lane["name"]: lane for lane in data["policies"][0]["timeline"]["lanes"]}
    assert lanes["dispatches"]["binned"] and len(lanes["dispatches"]["first"]) <= 2000
    assert sum(lanes["dispatches"]["count"]) == trace.count_kind(Kind.DISPATCH)
    assert len(data["memory"]["event"]) <= 2000
    assert max(data["policies"][0]["memory"]["held"]) == data["policies"][0]["metrics"]["peak_reserved_bytes"]
    assert len(render(data).encode()) < LIMIT


def test_bins_keep_peaks_and_count_every_slice():
    values = np.zeros(1_000_003, dtype=np.int64)
    values[777_777] = 9
    assert peaks(values, 1000).max() == 9 and len(peaks(values, 1000)) == 1000
    start = np.arange(0, 1_000_000, 3)
    b = merge(start, start + 1, 1_000_003, 1000)
    assert b.count.sum() == len(start) and len(b.start) == 1000 and (b.end > b.start).all()
    long = merge(np.array([10]), np.array([900_000]), 1_000_003, 1000)
    assert long.count.tolist()[0] == 1 and long.count[1:].sum() == 0 and long.end[-1] >= 900_000


@pytest.mark.parametrize(("args", "words"), [
    (["missing.wgtrace", "-o", "{tmp}/r.html"], "missing.wgtrace"),
    ([str(HAZARD), "--pool", "no-such-pool", "-o", "{tmp}/r.html"], "no-such-pool"),
    ([str(HAZARD), "--replay", "{tmp}/bad.json", "-o", "{tmp}/r.html"], "bad.json: not JSON"),
    ([str(HAZARD), "--replay", "{tmp}/list.json", "-o", "{tmp}/r.html"], "list.json: replay 0: 'pool' is missing"),
    ([str(HAZARD), "-o", "{tmp}/no/such/folder/r.html"], "cannot write"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, words):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text(json.dumps([{"passes": "batched"}]))
    code = main(["report", *(a.replace("{tmp}", str(tmp_path)) for a in args)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("wgtrace report: error: ") and words in err, err
    assert not (tmp_path / "r.html").exists()


def _on_a_terminal(*args: str) -> str:
    """What the command draws when standard output and error are a terminal (a pseudo-terminal here)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "wgtrace.traces", *args], stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL, env={**os.environ, "TERM": "xterm", "COLUMNS": "100"})
    os.close(follower)
    out = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        try:
            chunk = os.read(leader, 1 << 16) if ready else b""
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=30) == 0
    os.close(leader)
    return out.decode(errors="replace")


@pytest.mark.parametrize("command", ["report", "export", "check", "compare"])
def test_progress_is_drawn_on_a_terminal_only(tmp_path, command):
    out = {"report": ["-o", str(tmp_path / "r.html")], "export": ["--perfetto", str(tmp_path / "p.json")],
           "check": ["--pool", "exclusive-pages+fix"], "compare": ["--pools", "sliced", "--passes", "batched"]}
    args = [command, str(CORPUS / "mlp_train.wgtrace"), *out[command]]
    assert "loading and validating" in _on_a_terminal(*args)
    assert "loading and validating" not in _on_a_terminal(*args, "--quiet")
    done = subprocess.run([sys.executable, "-m", "wgtrace.traces", *args], capture_output=True, text=True)
    assert done.returncode == 0 and "loading" not in done.stdout + done.stderr
