"""The report as one self-contained HTML page: the data of ``data.page_data``, drawn in the browser by plotly.js.

Nothing is fetched when the page is viewed: plotly.js (from the ``plotly`` package, 4.8 MB minified)
is inlined gzip-compressed and base64-encoded (2 MB), and decompressed by the browser's own
``DecompressionStream`` before the charts are drawn; the page's script, its styles and its data are
inline too. Tables and findings are written here as HTML, every string escaped; the data block the
script reads is JSON with ``<``, ``>`` and ``&`` escaped, so no string a trace holds can close it. A
Content-Security-Policy allows exactly the page's two scripts (by their hashes) and no network: a
label that got through as markup would still not run. Same data, same bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from functools import cache
from html import escape
from importlib import resources

from ...traces.errors import InputError
from ...traces.summary import bytes_text
from ..cli import OVER_FLOOR, RENDER_FIELDS, TEXT_FIELDS, over_floor

RENDER_KEYS = ("render_passes", "draws", "textures_created")


def render(data: dict) -> str:
    """The page of ``data`` (``page_data``'s)."""
    script = _static("report.js")
    plotly = plotly_js()
    csp = (f"default-src 'none'; script-src {_hash(script)} {_hash(plotly)}; style-src 'unsafe-inline'; "
           f"img-src data:; font-src data:")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>wgtrace report: {escape(data['trace'])}</title>",
        f"<style>{_static('report.css')}</style></head><body>",
        _header(data),
        '<section id="memory-section"><h2>Memory over time</h2>',
        '<p class="note">Events of the recording on the x axis; the submits of each plan marked on its line. '
        "Drag to zoom, double-click to see it all.</p>",
        '<div id="memory" class="chart"></div></section>',
        '<section id="metrics-section"><h2>Metrics</h2>', _metrics(data), "</section>",
        '<section id="timeline-section"><h2>Timelines</h2>',
        '<p class="note">Each plan on its own events; drag to zoom. Past a few thousand slices a lane, its slices '
        "are merged by bins of events (hover for their count).</p>",
        *(_timeline(i, p) for i, p in enumerate(data["policies"])), "</section>",
        '<section id="check-section"><h2>Check</h2>',
        *(_check(i, p) for i, p in enumerate(data["policies"])), "</section>",
        '<p id="error"></p>',
        f'<script type="application/json" id="report-data">{_json(data)}</script>',
        f'<script type="application/octet-stream" id="plotly-gzip">{_packed(plotly)}</script>',
        f"<script>{script}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _header(data: dict) -> str:
    rows = [("trace", data["trace"]), ("program", data["program"]), ("recorded", data["recorded"]),
            ("events", f"{data['events']:,}"), ("policies", ", ".join(p["label"] for p in data["policies"]))]
    if data["cut_short"]:
        rows.append(("cut short", data["cut_short"]))
    items = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows if v)
    return f"<header><h1>wgtrace report</h1><dl>{items}</dl></header>"


def _metrics(data: dict) -> str:
    """The policies side by side: the simulator's figures, then the replay's measured against them."""
    policies = data["policies"]
    render = any(p["metrics"].get(k) for p in policies for k in RENDER_KEYS)
    head = "".join(f"<th>{escape(p['label'])}</th>" for p in policies)
    rows = []
    for key, label, show in TEXT_FIELDS + (RENDER_FIELDS if render else ()):
        cells = []
        for p in policies:
            m = p["metrics"]
            extra = f" ({over_floor(m[key], m['floor_bytes'])})" if key in OVER_FLOOR else ""
            cells.append(show(m[key]) + extra)
        rows.append((label, cells))
    rows.append(("predicted CPU", [f"{p['metrics']['cost_us']['total'] / 1000:,.3f} ms" for p in policies]))
    if any(p["replay"] for p in policies):
        rows += _replay_rows(policies)
    body = "".join(f"<tr><th>{escape(label)}</th>{''.join(f'<td>{escape(c)}</td>' for c in cells)}</tr>"
                   for label, cells in rows)
    return f'<table id="metrics"><thead><tr><th>metric</th>{head}</tr></thead><tbody>{body}</tbody></table>'


def _replay_rows(policies: list[dict]) -> list[tuple[str, list[str]]]:
    """Measured (the replay) against predicted (the simulator), per policy; "-" where a policy was not replayed."""
    def each(show) -> list[str]:
        return [show(p["replay"], p["metrics"]) if p["replay"] else "-" for p in policies]

    def cpu(r: dict, m: dict) -> str:
        predicted = m["cost_us"]["total"] / 1e6
        if r["cpu_s"] is None:
            return f"not timed; predicted {predicted * 1e3:,.3f} ms"
        error = f" ({predicted / r['cpu_s'] - 1:+.0%})" if r["cpu_s"] else ""
        return f"{r['cpu_s'] * 1e3:,.3f} ms measured, {predicted * 1e3:,.3f} ms predicted{error}"

    def figure(key: str, show=str):
        def cell(r: dict, m: dict) -> str:
            measured = r["figures"].get(key)
            return "-" if measured is None else f"{show(measured)} replayed, {show(m[key])} planned"
        return cell

    return [
        ("replayed on", each(lambda r, m: r["adapter"])),
        ("reads", each(lambda r, m: "all matched" if r["ok"] else "FAILED (divergent reads or a device error)")),
        ("CPU, median of the timed runs", each(cpu)),
        ("synchronised, median", each(lambda r, m: "-" if r["wall_s"] is None else f"{r['wall_s'] * 1e3:,.3f} ms")),
        ("peak reserved", each(figure("peak_reserved_bytes", bytes_text))),
        ("passes", each(figure("passes_begun"))),
        ("submits", each(figure("submits"))),
    ]


def _timeline(i: int, p: dict) -> str:
    events = p["timeline"]["events"]
    return (f'<h3>{escape(p["label"])} <span class="note">{events:,} events</span></h3>'
            f'<div id="timeline-{i}" class="chart timeline" data-policy="{i}"></div>')


def _check(i: int, p: dict) -> str:
    c = p["check"]
    verdict = "bad" if c["errors"] else "good"
    more = (f'<p class="note">and {c["total"] - len(p["findings"]):,} more findings: '
            f"<code>wgtrace check --json</code> lists them all</p>" if c["total"] > len(p["findings"]) else "")
    items = "".join(_finding(i, k, x, c["titles"]) for k, x in enumerate(p["findings"])) or \
        '<li class="note">no findings</li>'
    return (f'<h3>{escape(p["label"])}: <span class="verdict {verdict}">{escape(c["verdict"])}</span></h3>'
            f'<p class="proof">{escape(c["proof"])}</p>'
            f'<ol class="findings" id="findings-{i}">{items}</ol>{more}')


def _finding(i: int, k: int, x: dict, titles: dict) -> str:
    title = titles.get(x["rule"], "")
    parts = [f'<li class="finding {escape(x["severity"])}" id="finding-{i}-{k}" data-policy="{i}" data-finding="{k}" '
             f'data-event="{x["event"]}" tabindex="0">',
             f'<div class="what"><span class="rule">{escape(x["rule"])}</span> <span class="title">{escape(title)}'
             f'</span> <span class="message">{escape(x["message"])}</span></div>',
             f'<div class="where">event {x["event"]}: {escape(x["call"])} at <code>{escape(x["site"])}</code> '
             f'<a class="show" href="#timeline-{i}">show on the timeline</a></div>',
             _source(x["source"])]
    if x["other_event"] is not None:
        parts += [f'<div class="where">earlier: event {x["other_event"]}: {escape(x["other_call"] or "")} at '
                  f'<code>{escape(x["other_site"] or "?")}</code></div>', _source(x["other_source"])]
    if len(x["stack"]) > 1:
        frames = "".join(f"<li><code>{escape(f)}</code></li>" for f in x["stack"])
        parts.append(f'<details><summary>call stack</summary><ol class="stack">{frames}</ol></details>')
    parts.append("</li>")
    return "".join(parts)


def _source(excerpt: dict | None) -> str:
    if excerpt is None:
        return '<p class="note">(source not found at report time)</p>'
    lines = "".join(f'<span class="line{" call" if excerpt["first"] + j == excerpt["line"] else ""}">'
                    f'<span class="number">{excerpt["first"] + j}</span>{escape(text)}</span>'
                    for j, text in enumerate(excerpt["lines"]))
    return f'<pre class="source" title="{escape(excerpt["path"])}">{lines}</pre>'


def _json(data: dict) -> str:
    """``data`` as JSON that cannot end the script element it sits in."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _hash(script: str) -> str:
    """A CSP source that allows exactly this script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def _static(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


@cache
def plotly_js() -> str:
    """plotly.js, as the ``plotly`` package ships it."""
    try:
        return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        raise InputError("the report draws its charts with plotly, which is not installed: "
                         "pip install 'wgtrace[view]'") from None


@cache
def _packed(script: str) -> str:
    """``script`` gzip-compressed (no timestamp, so the same bytes every time) and base64-encoded."""
    return base64.b64encode(gzip.compress(script.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")
