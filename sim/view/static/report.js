// wgtrace report: draws the charts of the data block with plotly.js (inlined gzip-compressed beside it) and links
// each finding to its point on its plan's timeline. Strings from the trace reach plotly escaped (it reads a few
// HTML tags in text) and the page's own HTML only through textContent.
"use strict";
(() => {
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#e377c2", "#8c564b",
                  "#bcbd22", "#7f7f7f"];
  const LANE_COLORS = {"submits": "#111111", "encoders": "#9ecae1", "passes": "#4292c6", "dispatches": "#08519c",
                       "draws": "#6a51a3", "copies": "#41ab5d", "queue writes": "#e6550d", "host": "#969696"};
  const SPANS = new Set(["encoders", "passes"]);
  const CONFIG = {displaylogo: false, responsive: true};
  const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  async function loadPlotly() {
    const packed = document.getElementById("plotly-gzip").textContent;
    const bytes = Uint8Array.from(atob(packed), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const script = document.createElement("script");
    script.text = await new Response(stream).text();
    document.head.appendChild(script);
    if (typeof window.Plotly === "undefined") throw new Error("plotly.js did not load");
  }

  function drawMemory(data) {
    const x = data.memory.event;
    const index = new Map(x.map((e, k) => [e, k]));
    const traces = [{x, y: data.memory.live, name: "live logical bytes (the floor)", mode: "lines",
                     line: {shape: "hv", dash: "dot", color: "#444"}, meta: {role: "floor"}}];
    data.policies.forEach((p, i) => {
      const color = COLORS[i % COLORS.length];
      const group = `policy-${i}`;
      traces.push({x, y: p.memory.held, name: esc(p.label), legendgroup: group, mode: "lines",
                   line: {shape: "hv", color}, meta: {role: "held", policy: i},
                   hovertemplate: `${esc(p.label)}: %{y:,} bytes held<extra></extra>`});
      traces.push({x, y: p.memory.created, name: `${esc(p.label)}: created`, legendgroup: group, showlegend: false,
                   mode: "lines", yaxis: "y2", line: {shape: "hv", color, dash: "dash"},
                   meta: {role: "created", policy: i},
                   hovertemplate: `${esc(p.label)}: %{y:,} bytes created so far<extra></extra>`});
      traces.push({x: p.memory.submits, y: p.memory.submits.map((e) => p.memory.held[index.get(e)]),
                   customdata: p.memory.submit_counts, name: `${esc(p.label)}: submits`, legendgroup: group,
                   showlegend: false, mode: "markers", marker: {symbol: "line-ns-open", size: 11, color},
                   meta: {role: "submits", policy: i},
                   hovertemplate: `${esc(p.label)}: %{customdata} submit(s) from event %{x}<extra></extra>`});
    });
    const layout = {
      height: 560, margin: {t: 20, r: 20, b: 50, l: 80}, hovermode: "closest",
      legend: {orientation: "h", y: 1.08},
      xaxis: {title: {text: "event of the recording"}, anchor: "y2"},
      yaxis: {title: {text: "bytes live / held"}, domain: [0.42, 1], tickformat: "~s", ticksuffix: "B",
              rangemode: "tozero"},
      yaxis2: {title: {text: "bytes created"}, domain: [0, 0.34], tickformat: "~s", ticksuffix: "B",
               rangemode: "tozero"},
    };
    return Plotly.newPlot("memory", traces, layout, CONFIG);
  }

  function slices(data, lane) {
    const describe = (k) => lane.binned
      ? `${lane.count[k].toLocaleString()} ${esc(lane.name)} begin in events ${lane.first[k]}-${lane.last[k]}`
      : `${esc(data.kinds[lane.kind[k]] || lane.name)} at ${esc(lane.site[k] >= 0 ? data.strings[lane.site[k]] : "?")}`
        + ` (event ${lane.first[k]}${lane.last[k] > lane.first[k] ? `-${lane.last[k]}` : ""})`;
    const color = LANE_COLORS[lane.name] || "#333";
    const x = [], y = [], text = [];
    if (lane.binned || SPANS.has(lane.name)) {
      lane.first.forEach((first, k) => {
        const t = describe(k);
        x.push(first, lane.last[k] + 1, null);
        y.push(lane.name, lane.name, null);
        text.push(t, t, "");
      });
      return {x, y, text, name: lane.name, mode: "lines", hoverinfo: "text", showlegend: false,
              line: {width: 14, color}, opacity: lane.name === "encoders" ? 0.6 : 1, meta: {lane: lane.name}};
    }
    lane.first.forEach((first, k) => { x.push(first + 0.5); y.push(lane.name); text.push(describe(k)); });
    return {x, y, text, name: lane.name, mode: "markers", hoverinfo: "text", showlegend: false,
            marker: {symbol: "line-ns-open", size: 14, color, line: {width: 2, color}}, meta: {lane: lane.name}};
  }

  function findingsTrace(data, p, i) {
    const x = [], y = [], text = [], custom = [], symbols = [];
    p.findings.forEach((f, k) => {
      const t = `${esc(f.rule)} ${esc(f.call)} at ${esc(f.site)} (event ${f.event})`;
      x.push(f.event + 0.5); y.push("findings"); text.push(t); custom.push(k); symbols.push("x");
      if (f.other_event !== null) {
        x.push(f.other_event + 0.5); y.push("findings");
        text.push(`${t}: overtakes ${esc(f.other_call)} (event ${f.other_event})`); custom.push(k);
        symbols.push("circle-open");
      }
      x.push(null); y.push(null); text.push(""); custom.push(null); symbols.push("x");
    });
    return {x, y, text, customdata: custom, name: "findings", mode: "lines+markers", hoverinfo: "text",
            showlegend: false, line: {color: "#d62728", width: 1},
            marker: {symbol: symbols, size: 10, color: "#d62728"}, meta: {lane: "findings", policy: i}};
  }

  function drawTimeline(data, p, i) {
    const div = document.getElementById(`timeline-${i}`);
    const traces = p.timeline.lanes.map((lane) => slices(data, lane));
    const lanes = data.lanes.slice();
    if (p.findings.length) {
      traces.push(findingsTrace(data, p, i));
      lanes.push("findings");
    }
    const layout = {
      height: 70 + 34 * lanes.length, margin: {t: 10, r: 20, b: 40, l: 100}, hovermode: "closest",
      xaxis: {title: {text: "event of this plan"}, range: [0, Math.max(p.timeline.events, 1)], zeroline: false},
      yaxis: {type: "category", categoryorder: "array", categoryarray: lanes, autorange: "reversed",
              fixedrange: true},
    };
    return Plotly.newPlot(div, traces, layout, CONFIG).then(() => {
      div.on("plotly_click", (event) => {
        const point = event.points.find((q) => q.data.meta && q.data.meta.lane === "findings");
        if (point && point.customdata !== null) {
          const item = document.getElementById(`finding-${i}-${point.customdata}`);
          item.scrollIntoView({block: "center"});
          select(item);
        }
      });
    });
  }

  function select(item) {
    document.querySelectorAll(".finding.selected").forEach((el) => el.classList.remove("selected"));
    item.classList.add("selected");
  }

  function showFinding(data, item) {
    const i = Number(item.dataset.policy), k = Number(item.dataset.finding);
    const f = data.policies[i].findings[k];
    const div = document.getElementById(`timeline-${i}`);
    const ends = f.other_event === null ? [f.event] : [f.event, f.other_event];
    const lo = Math.min(...ends), hi = Math.max(...ends) + 1;
    const pad = Math.max(8, (hi - lo) * 0.5);
    const mark = (e, color) => ({type: "rect", xref: "x", yref: "paper", x0: e, x1: e + 1, y0: 0, y1: 1,
                                 fillcolor: color, opacity: 0.3, line: {width: 0}});
    const shapes = [mark(f.event, "#d62728")];
    if (f.other_event !== null) shapes.push(mark(f.other_event, "#ff7f0e"));
    select(item);
    div.dataset.focus = String(f.event);
    div.scrollIntoView({block: "center"});
    return Plotly.relayout(div, {"xaxis.range": [lo - pad, hi + pad], shapes});
  }

  function wireFindings(data) {
    document.querySelectorAll(".finding").forEach((item) => {
      const show = (event) => {
        if (event.target.closest("details")) return;
        event.preventDefault();
        showFinding(data, item);
      };
      item.addEventListener("click", show);
      item.addEventListener("keydown", (event) => { if (event.key === "Enter") show(event); });
    });
  }

  async function main() {
    const data = JSON.parse(document.getElementById("report-data").textContent);
    await loadPlotly();
    await drawMemory(data);
    for (let i = 0; i < data.policies.length; i++) await drawTimeline(data, data.policies[i], i);
    wireFindings(data);
    document.body.dataset.ready = "true";
  }

  main().catch((error) => {
    document.getElementById("error").textContent = `The charts could not be drawn: ${error}`;
    document.body.dataset.ready = "error";
  });
})();
