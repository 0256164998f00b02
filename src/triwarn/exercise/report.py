"""report.html: an exercise's after-action report as one self-contained page (inline SVG and JS, no CDN).

Sections: a map (coastlines from the packaged basemap, true ground tracks, each node's system tracks and
impact ellipses, with a time slider), the alert timeline per area against the truth, prediction error
against time, latency histograms, link events and faults, and the first-alert table with and without
sharing. The map uses the operator UI's projection (Mercator rotated to 160 deg E; see
web/src/projection.mjs) so the basemap's pre-projected outlines need no conversion; one map unit here
is 10 km at the equator. Times are shown as T+seconds after the first launch and in UTC.
"""

from __future__ import annotations

import html
import importlib.resources
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from triwarn.exercise.metrics import WARHEAD, Recorder, impact_error_series
from triwarn.geo import geodesic
from triwarn.wording import plural

ROTATE_DEG = -160.0
SCALE = 63710.0 / 100.0  # basemap base units (about 100 m) to report units (about 10 km)
NODE_COLOURS = {"us": "#1f5fbf", "jp": "#c0392b", "kr": "#1e8449"}
ELLIPSE_POINTS = 24
MAX_OBJECT_SERIES = 3  # up to this many warheads get a line each per node; more (a salvo): one median line
DASHES = ("", "6 3", "2 2")


def project(lat_deg, lon_deg) -> tuple[np.ndarray, np.ndarray]:
    """Mercator x, y (report units, y down) of degrees, rotated like the UI's basemap."""
    lam = np.radians((np.asarray(lon_deg, float) + ROTATE_DEG + 180.0) % 360.0 - 180.0)
    phi = np.radians(np.clip(np.asarray(lat_deg, float), -85.0, 85.0))
    return SCALE * lam, -SCALE * np.log(np.tan(np.pi / 4 + phi / 2))


def _basemap_paths(x0: float, y0: float, x1: float, y1: float) -> tuple[str, str]:
    """SVG path data of land and borders whose rings meet the box (report units)."""
    raw = json.loads((importlib.resources.files("triwarn.web") / "static" / "basemap.json").read_text())
    out = []
    for key in ("land", "borders"):
        parts = []
        for ring in raw.get(key, []):
            arr = np.asarray(ring, float)
            if arr.size < 4:
                continue
            pts = np.cumsum(arr.reshape(-1, 2), axis=0) / 100.0
            if pts[:, 0].max() < x0 or pts[:, 0].min() > x1 or pts[:, 1].max() < y0 or pts[:, 1].min() > y1:
                continue
            step = max(1, len(pts) // 400)
            pts = pts[::step]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + ("Z" if key == "land" else ""))
        out.append("".join(parts))
    return out[0], out[1]


def _ellipse_rings(ells: list[dict]) -> list[list[list[float]]]:
    """Each impact ellipse as a projected ring of ELLIPSE_POINTS points (vectorised geodesic direct)."""
    if not ells:
        return []
    th = np.linspace(0, 2 * np.pi, ELLIPSE_POINTS, endpoint=False)
    a = np.array([e["a_m"] for e in ells])[:, None]
    b = np.array([e["b_m"] for e in ells])[:, None]
    az = np.array([e["az_deg"] for e in ells])[:, None]
    u, v = a * np.cos(th), b * np.sin(th)
    dist = np.hypot(u, v)
    bearing = az + np.degrees(np.arctan2(v, u))
    lat0 = np.repeat(np.array([e["lat"] for e in ells])[:, None], ELLIPSE_POINTS, axis=1)
    lon0 = np.repeat(np.array([e["lon"] for e in ells])[:, None], ELLIPSE_POINTS, axis=1)
    lat, lon = geodesic.direct(lat0, lon0, bearing, dist)
    x, y = project(lat, lon)
    return [[[round(float(x[i, k]), 1), round(float(y[i, k]), 1)] for k in range(ELLIPSE_POINTS)]
            for i in range(len(ells))]


def _utc(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _rel(t: float | None, t0: float) -> str:
    return "-" if t is None else f"T+{t - t0:.0f} s"


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} s"


def _axis_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), default=mag * 10)
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def _line_chart(series: dict[str, list[tuple[float, float]]], *, title: str, xlabel: str, ylabel: str,
                log_y: bool = False, width: int = 860, height: int = 260, dashes: dict[str, str] | None = None) -> str:
    """A static SVG line chart: one polyline per named series (colour by node name, dash from dashes)."""
    pts = [p for s in series.values() for p in s if p[1] is not None and (p[1] > 0 or not log_y)]
    esc = html.escape
    if not pts:
        return f'<p class="empty">{esc(title)}: no data.</p>'
    ml, mr, mt, mb = 70, 20, 28, 40
    xs = [p[0] for p in pts]
    ys = [math.log10(p[1]) if log_y else p[1] for p in pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    if not log_y:
        y0 = min(0.0, y0)

    def sx(x):
        return ml + (x - x0) / (x1 - x0) * (width - ml - mr)

    def sy(y):
        return height - mb - (y - y0) / (y1 - y0) * (height - mt - mb)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{ml}" y="16" class="ct">{esc(title)}</text>']
    for xt in _axis_ticks(x0, x1):
        parts.append(f'<line x1="{sx(xt):.1f}" x2="{sx(xt):.1f}" y1="{mt}" y2="{height - mb}" class="grid"/>'
                     f'<text x="{sx(xt):.1f}" y="{height - mb + 14}" class="tick" text-anchor="middle">{xt:g}</text>')
    if log_y:
        yticks = list(range(math.floor(y0), math.ceil(y1) + 1))
        labels = [f"{10 ** k:g}" for k in yticks]
    else:
        yticks = _axis_ticks(y0, y1)
        labels = [f"{v:g}" for v in yticks]
    for yt, lab in zip(yticks, labels, strict=True):
        if y0 <= yt <= y1:
            parts.append(f'<line x1="{ml}" x2="{width - mr}" y1="{sy(yt):.1f}" y2="{sy(yt):.1f}" class="grid"/>'
                         f'<text x="{ml - 6}" y="{sy(yt) + 4:.1f}" class="tick" text-anchor="end">{esc(lab)}</text>')
    parts.append(f'<text x="{(width + ml) / 2:.0f}" y="{height - 6}" class="tick" text-anchor="middle">'
                 f'{esc(xlabel)}</text><text x="14" y="{(height) / 2:.0f}" class="tick" '
                 f'transform="rotate(-90 14 {height / 2:.0f})" text-anchor="middle">{esc(ylabel)}</text>')
    legend_x = width - mr - 8 - 6 * max((len(n) for n in series), default=10)
    for i, (name, s) in enumerate(series.items()):
        colour = NODE_COLOURS.get(name.split()[0], "#555")
        dash = (dashes or {}).get(name, "")
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        good = [(x, math.log10(y) if log_y else y) for x, y in s if y is not None and (y > 0 or not log_y)]
        if good:
            d = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in good)
            parts.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="1.5"{dash_attr}/>')
        y_leg = mt + 9 + 16 * i
        parts.append(f'<line x1="{legend_x - 8}" x2="{legend_x + 10}" y1="{y_leg}" y2="{y_leg}" stroke="{colour}" '
                     f'stroke-width="3"{dash_attr}/>'
                     f'<text x="{legend_x + 14}" y="{y_leg + 4}" class="tick">{esc(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _hist_svg(hist: dict, *, title: str, unit: str, width: int = 420, height: int = 200) -> str:
    esc = html.escape
    if not hist.get("n"):
        return f'<p class="empty">{esc(title)}: no data.</p>'
    ml, mr, mt, mb = 50, 10, 32, 34
    counts, edges = hist["counts"], hist["edges"]
    top = max(counts) or 1
    bw = (width - ml - mr) / len(counts)
    parts = [f'<svg class="chart hist" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{ml}" y="12" class="ct">{esc(title)}</text><text x="{ml}" y="24" class="tick">'
             f'n={hist["n"]}, median {hist["p50"]:.3g} {unit}, 95% {hist["p95"]:.3g} {unit}, '
             f'max {hist["max"]:.3g} {unit}</text>']
    for i, c in enumerate(counts):
        h = c / top * (height - mt - mb)
        parts.append(f'<rect x="{ml + i * bw + 1:.1f}" y="{height - mb - h:.1f}" width="{max(bw - 2, 1):.1f}" '
                     f'height="{h:.1f}" class="bar"><title>{edges[i]:.3g}-{edges[i + 1]:.3g} {unit}: {c}'
                     '</title></rect>')
    parts.append(f'<text x="{ml}" y="{height - mb + 14}" class="tick">{edges[0]:.3g}</text>'
                 f'<text x="{width - mr}" y="{height - mb + 14}" class="tick" text-anchor="end">{edges[-1]:.3g} '
                 f'{esc(unit)}</text><text x="{ml - 4}" y="{mt + 8}" class="tick" text-anchor="end">{top}</text>'
                 f'<text x="{ml - 4}" y="{height - mb}" class="tick" text-anchor="end">0</text></svg>')
    return "".join(parts)


def _timeline_svg(rows: list[dict], passages: list[dict], t0: float, t_end: float, width: int = 860) -> str:
    """One lane per (node, area): the true passage as a bar, shelter alerts with and without sharing."""
    esc = html.escape
    lanes = [r for r in rows if r["first_shelter_shared_unix_s"] is not None
             or r["first_shelter_alone_unix_s"] is not None or r["truth_enter_unix_s"] is not None
             or r["first_notice_shared_unix_s"] is not None]
    if not lanes:
        return '<p class="empty">No area was alerted or crossed.</p>'
    lane_h, ml, mr, mt = 22, 110, 20, 30
    height = mt + lane_h * len(lanes) + 40
    x1 = max(t_end, *(p["exit_unix_s"] for p in passages)) if passages else t_end

    def sx(t):
        return ml + (t - t0) / max(x1 - t0, 1.0) * (width - ml - mr)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="alert timeline">',
             '<text x="110" y="12" class="tick">grey bar: a true object over the area (land or territorial '
             'sea); filled dot: first shelter alert with sharing; ring: alone; small dot: notice</text>']
    for xt in _axis_ticks(0, x1 - t0, 8):
        parts.append(f'<line x1="{sx(t0 + xt):.1f}" x2="{sx(t0 + xt):.1f}" y1="{mt}" y2="{height - 30}" '
                     f'class="grid"/><text x="{sx(t0 + xt):.1f}" y="{height - 16}" class="tick" '
                     f'text-anchor="middle">T+{xt:g} s</text>')
    for i, r in enumerate(lanes):
        y = mt + i * lane_h + lane_h / 2
        colour = NODE_COLOURS.get(r["node"], "#555")
        parts.append(f'<text x="{ml - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                     f'{esc(r["node"])} {esc(r["area"])}</text>')
        for p in passages:
            if p["area"] == r["area"] and p.get("zone") != "eez":
                xa, xb = sx(p["enter_unix_s"]), sx(p["exit_unix_s"])
                parts.append(f'<rect x="{xa:.1f}" y="{y - 6:.1f}" width="{max(xb - xa, 2):.1f}" height="12" '
                             f'class="truth"><title>{esc(p["object"])} over {esc(p["area"])}: '
                             f'{_rel(p["enter_unix_s"], t0)} to {_rel(p["exit_unix_s"], t0)}</title></rect>')
        if r["first_notice_shared_unix_s"] is not None:
            parts.append(f'<circle cx="{sx(r["first_notice_shared_unix_s"]):.1f}" cy="{y:.1f}" r="3" '
                         f'fill="{colour}"><title>notice {_rel(r["first_notice_shared_unix_s"], t0)}</title></circle>')
        if r["first_shelter_alone_unix_s"] is not None:
            parts.append(f'<circle cx="{sx(r["first_shelter_alone_unix_s"]):.1f}" cy="{y:.1f}" r="6" fill="none" '
                         f'stroke="{colour}" stroke-width="2"><title>shelter alone '
                         f'{_rel(r["first_shelter_alone_unix_s"], t0)}</title></circle>')
        if r["first_shelter_shared_unix_s"] is not None:
            parts.append(f'<circle cx="{sx(r["first_shelter_shared_unix_s"]):.1f}" cy="{y:.1f}" r="5" '
                         f'fill="{colour}"><title>shelter shared {_rel(r["first_shelter_shared_unix_s"], t0)}'
                         f'</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:0 16px 40px;color:#1b1b1b}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
.banner{background:#7a1f1f;color:#fff;padding:6px 10px;font-weight:bold;letter-spacing:.05em}
table{border-collapse:collapse;font-size:.85em;width:100%} th,td{border:1px solid #ccc;padding:3px 6px;text-align:left}
th{background:#eee} .chart{width:100%;height:auto;background:#fafafa;border:1px solid #ddd;margin:6px 0}
.hist{width:49%;display:inline-block} .ct{font-size:12px;font-weight:bold} .tick{font-size:10px;fill:#333}
.grid{stroke:#ddd;stroke-width:.5} .bar{fill:#4a6fa5} .truth{fill:#999;opacity:.6} .empty{color:#666}
#map{width:100%;height:auto;background:#dbe8f3;border:1px solid #99a} .land{fill:#f1efe6;stroke:#8a8a7a;stroke-width:.3}
.borders{fill:none;stroke:#b0a090;stroke-width:.3;stroke-dasharray:1 1} .controls{margin:6px 0;font-size:.9em}
.controls label{margin-right:12px} #tlabel{font-family:monospace} .note{font-size:.85em;color:#444}
.falls tr.outside td{background:#fbe9e7}
"""

_JS = """
(function(){
  const D = JSON.parse(document.getElementById('report-data').textContent);
  const NS = 'http://www.w3.org/2000/svg';
  const dyn = document.getElementById('dyn');
  const slider = document.getElementById('tslider');
  const label = document.getElementById('tlabel');
  const boxes = Array.from(document.querySelectorAll('input[data-node]'));
  function el(name, attrs){ const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }
  function draw(){
    const T = D.t0 + Number(slider.value);
    label.textContent = 'T+' + slider.value + ' s  ' + new Date(T * 1000).toISOString().replace('.000Z', ' UTC');
    const show = new Set(boxes.filter(b => b.checked).map(b => b.dataset.node));
    while (dyn.firstChild) dyn.removeChild(dyn.firstChild);
    for (const o of D.truth) {
      const pts = [];
      for (let i = 0; i < o.t.length && o.t[i] <= T; i++) pts.push(o.x[i] + ',' + o.y[i]);
      if (pts.length > 1) dyn.appendChild(el('polyline', {points: pts.join(' '), fill: 'none',
        stroke: '#111', 'stroke-width': o.kind === 'warhead' ? 1.6 : 0.8,
        'stroke-dasharray': o.kind === 'warhead' ? '' : '3 2'}));
    }
    const latest = new Map();
    for (const e of D.ellipses) {
      if (!show.has(e.node) || e.t > T || e.t < T - 60) continue;
      const k = e.node + '/' + e.track; const cur = latest.get(k);
      if (!cur || cur.t < e.t) latest.set(k, e);
    }
    for (const e of latest.values()) {
      dyn.appendChild(el('polygon', {points: e.ring.map(p => p.join(',')).join(' '), fill: D.colours[e.node],
        'fill-opacity': 0.12, stroke: D.colours[e.node], 'stroke-width': 0.8,
        'stroke-dasharray': e.powered ? '2 2' : ''}));
    }
    for (const p of D.tracks) {
      if (!show.has(p.node) || p.t > T) continue;
      const c = el('circle', {cx: p.x, cy: p.y, r: p.t > T - 15 ? 2.2 : 1.1, fill: D.colours[p.node]});
      const tt = el('title', {}); tt.textContent = p.node + ' ' + p.track + ' T+' + Math.round(p.t - D.t0) +
        ' s, ' + p.alt_km + ' km, from ' + p.nations.join('+');
      c.appendChild(tt); dyn.appendChild(c);
    }
  }
  slider.addEventListener('input', draw);
  boxes.forEach(b => b.addEventListener('change', draw));
  draw();
})();
"""


def _impact_chart_series(err: dict, t0: float) -> tuple[dict, dict, str, str]:
    """The impact-error chart's series (one per node and warhead, or per node over a salvo's warheads),
    their dashes, the chart's title and a note on what was left out. err: metrics["prediction_error"]."""
    kinds = err.get("object_kinds", {})
    by_object = err.get("impact_by_object_m", {})
    warheads = sorted({o for per in by_object.values() for o in per if kinds.get(o) == WARHEAD})
    series: dict[str, list[tuple[float, float]]] = {}
    dashes: dict[str, str] = {}
    if len(warheads) <= MAX_OBJECT_SERIES:
        for n, per in by_object.items():
            for k, o in enumerate(warheads):
                if o in per:
                    name = f"{n} {o}"
                    series[name] = [(t - t0, e) for t, e in per[o]]
                    dashes[name] = DASHES[k % len(DASHES)]
        title = "Warhead impact prediction error (distance to its true impact point), one line per node and warhead"
    else:
        for n, rows in err.get("impact_m", {}).items():
            mine = [[t, track, WARHEAD, e] for t, track, o, e in rows if kinds.get(o) == WARHEAD]
            if mine:
                series[f"{n} {len(warheads)} warheads"] = [(t - t0, e) for t, e in impact_error_series(mine)[WARHEAD]]
        title = (f"Warhead impact prediction error: median over the node's tracks of the {len(warheads)} warheads "
                 "(distance of each to its own warhead's true impact point)")
    others = [e for rows in err.get("impact_m", {}).values() for _, _, o, e in rows if kinds.get(o) != WARHEAD]
    note = ("Each track's prediction is scored against the true object the track follows; where a track cannot "
            "tell a warhead from a piece flying beside it, against the warhead.")
    if others:
        note += (f" Left out of the chart: {len(others)} predictions of tracks on spent stages or other pieces "
                 f"(median error {np.median(others) / 1e3:.1f} km: impacts are predicted in vacuum and a light "
                 "stage lands kilometres short of that); metrics.json lists them under prediction_error.")
    return series, dashes, title, note


def _map_data(ground: list[dict], recorder: Recorder) -> tuple[dict, tuple[float, float, float, float]]:
    """The map's projected truth, tracks and ellipses, and its view box (x0, y0, x1, y1) framing the truth
    and the ballistic ellipses, padded, at least 1.6 times as wide as high."""
    truth = []
    all_x, all_y = [], []
    for g in ground:
        x, y = project(g["lat"], g["lon"])
        all_x.append(x)
        all_y.append(y)
        step = max(1, len(x) // 600)
        truth.append({"id": g["id"], "kind": g["kind"], "t": np.round(g["t"][::step], 1).tolist(),
                      "x": np.round(x[::step], 1).tolist(), "y": np.round(y[::step], 1).tolist()})
    tracks = []
    if recorder.tracks:
        tx, ty = project([p["lat"] for p in recorder.tracks], [p["lon"] for p in recorder.tracks])
        for p, x, y in zip(recorder.tracks, tx, ty, strict=True):
            tracks.append({"node": p["node"], "track": p["track"], "t": p["t"], "x": round(float(x), 1),
                           "y": round(float(y), 1), "alt_km": p["alt_km"], "nations": p["nations"]})
    ells = recorder.ellipses[-3000:]
    rings = _ellipse_rings(ells)
    ellipses = [{"node": e["node"], "track": e["track"], "t": e["t"], "powered": e["powered"], "ring": r}
                for e, r in zip(ells, rings, strict=True)]
    for e, src in zip(ellipses, ells, strict=True):  # ballistic ellipses frame the map, wide corridors not
        if not e["powered"] and src["a_m"] < 300e3:
            all_x.append(np.array([p[0] for p in e["ring"]]))
            all_y.append(np.array([p[1] for p in e["ring"]]))
    if all_x:
        xs, ys = np.concatenate(all_x), np.concatenate(all_y)
        x0, x1 = float(xs.min()), float(xs.max())
        y0, y1 = float(ys.min()), float(ys.max())
    else:
        x0, x1, y0, y1 = -400.0, 0.0, -600.0, -300.0
    pad = max(x1 - x0, y1 - y0) * 0.15 + 30.0
    x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
    if (x1 - x0) < 1.6 * (y1 - y0):
        c, half = (x0 + x1) / 2, 0.8 * (y1 - y0)
        x0, x1 = c - half, c + half
    return {"truth": truth, "tracks": tracks, "ellipses": ellipses}, (x0, y0, x1, y1)


def _first_alert_table(rows: list[dict], t0: float) -> str:
    """The first alerts with and without sharing, per node and area (metrics "first_alerts")."""
    esc = html.escape
    if not rows:
        return '<p class="empty">No alerts were issued and the truth crossed no area.</p>'
    table = ["<table><tr><th>node</th><th>area</th><th>true object over area</th><th>first shelter alert, "
             "shared</th><th>first shelter alert, alone</th><th>gain from sharing</th><th>why</th>"
             "<th>warning time before entry</th><th>first notice, shared / alone (gain)</th></tr>"]
    for r in rows:
        ns, na = r["first_notice_shared_unix_s"], r.get("first_notice_alone_unix_s")
        why = r.get("gain_reason", "")
        if (ns is not None or na is not None) and r.get("notice_gain_reason"):
            why += f"; notice: {r['notice_gain_reason']}"
        notice = "-" if ns is None and na is None else \
            f"{_rel(ns, t0)} / {_rel(na, t0)} ({_secs(r.get('notice_gain_s'))})"
        table.append(f"<tr><td>{esc(r['node'])}</td><td>{esc(r['area'])}</td><td>{_rel(r['truth_enter_unix_s'], t0)}"
                     f"</td><td>{_rel(r['first_shelter_shared_unix_s'], t0)}</td><td>"
                     f"{_rel(r['first_shelter_alone_unix_s'], t0)}</td><td>{_secs(r['gain_s'])}</td><td>"
                     f"{esc(why)}</td><td>{_secs(r['warning_time_s'])}</td><td>{notice}</td></tr>")
    table.append("</table>")
    return "".join(table)


def _falls_table(falls: dict | None, t0: float) -> str:
    """Each falling piece against its declared zone, with each node's last prediction and sea notice
    (metrics "falls", exercise.falls); empty without declared zones."""
    if not falls:
        return ""
    esc = html.escape
    rows = falls["pieces"]
    head = (f"<h2>Falling pieces against the declared zones</h2><p>{esc(falls.get('notice') or 'navigational warning')}"
            f": zones {esc(', '.join(falls.get('zones', [])))}; {falls['inside']} of {len(rows)} pieces fell inside "
            f"their zone, {falls['outside']} outside.</p>")
    if not rows:
        return head + '<p class="empty">No piece came down during the run.</p>'

    def node_cell(n: str, v: dict) -> str:
        p = v["prediction"]
        pred = ("no prediction" if p is None else
                f"last prediction {p['before_fall_s']:.0f} s before the fall, {p['error_km']:.1f} km off")
        m = v["notice"]
        if m is None:
            told = "no sea notice"
        else:
            where = f"in zone {m['zone']}" if m["inside"] else f"{m['zone_km'] or 0:.0f} km outside zone {m['zone']}"
            told = (f"{plural(v['notices'], 'sea notice')}, the last at {_rel(m['sent_unix_s'], t0)}: {where}"
                    + ("" if v["notice_named_zone"] else " (not the piece's zone)"))
        return f"<b>{esc(n)}</b>: {esc(pred)}; {esc(told)}"

    table = ["<table class='falls'><tr><th>piece</th><th>fell</th><th>true fall point</th><th>declared zone</th>"
             "<th>verdict</th><th>each node: last predicted fall, sea notice</th></tr>"]
    for r in rows:
        cls = "" if r["inside"] else " class='outside'"
        table.append(f"<tr{cls}><td>{esc(r['piece'])} ({esc(r['kind'])})</td><td>{_rel(r['fall_unix_s'], t0)}</td>"
                     f"<td>{r['lat_deg']:.2f} N {r['lon_deg']:.2f} E</td><td>{esc(r['zone'])}"
                     f"{'' if r['declared_for_piece'] else ' (nearest)'}</td><td>{esc(r['verdict'])}</td><td>"
                     + "<br>".join(node_cell(n, v) for n, v in r["nodes"].items()) + "</td></tr>")
    table.append("</table>")
    return head + "".join(table)


def _fault_table(metrics: dict, t0: float) -> str:
    """The planned faults and injects, each with its effect."""
    esc = html.escape
    info = metrics["exercise"]
    faults = ["<table><tr><th>fault or inject</th><th>subject</th><th>from</th><th>to</th><th>effect</th></tr>"]
    effects = {(e["kind"], e["subject"]): e for e in metrics.get("inject_effects", [])}
    for f in metrics.get("faults", []):
        eff = effects.get((f["kind"], f["subject"]))
        if f["kind"] == "clock_offset":
            rej = metrics["rejections"]
            note = f"clock {f['offset_s']:+g} s; receivers' tolerance {info['future_skew_s']:g} s; rejections: " + (
                ", ".join(f"{n}: {v}" for n, v in rej.items() if v) or "none")
        elif eff is not None:
            note = f"{eff['dropped']} detections removed"
        else:
            note = f"messages held at the receiving edge; most held at once: {metrics.get('held_max', {})}"
        faults.append(f"<tr><td>{esc(f['kind'])}</td><td>{esc(str(f['subject']))}</td><td>"
                      f"{_rel(f['start_unix_s'], t0)}</td><td>{_rel(f['end_unix_s'], t0)}</td>"
                      f"<td>{esc(note)}</td></tr>")
    if len(faults) == 1:
        faults.append('<tr><td colspan="5">none planned</td></tr>')
    faults.append("</table>")
    return "".join(faults)


def _link_lines(metrics: dict) -> list[str]:
    """The transport's delivery counts and each node's rejections, one line each (plain text)."""
    tr = metrics["transport"]
    link_lines = [f"delivered {tr.get('delivered', 0)} partner messages; not arrived in time "
                  f"{tr.get('missing', 0)}; held at end {tr.get('held_at_end', 0)}; expired while held "
                  f"{tr.get('expired_in_hold', 0)}."]
    for n, rej in metrics["rejections"].items():
        link_lines.append(f"{n} rejected: " + (", ".join(f"{k} {v}" for k, v in rej.items()) or "nothing"))
    return link_lines


def _latency_hists(lat: dict) -> str:
    """Histograms of the shared messages' sim latency and wall transit, and of each node's step time."""
    hists = [_hist_svg(lat["sim_s"], title="Shared messages: sim latency", unit="s"),
             _hist_svg(lat["wall_transit_ms"], title="Shared messages: wall transit (NATS)", unit="ms")]
    for n, h in lat["step_wall_ms"].items():
        hists.append(_hist_svg(h, title=f"{n} node: wall time per step", unit="ms"))
    return "".join(hists)


def _launches_text(info: dict) -> str:
    """The first six launches (id, time, place), and how many more."""
    esc = html.escape
    launches = ", ".join(f"{esc(lch['id'])} at {_utc(lch['t_unix_s'])} from {lch['lat_deg']:.2f} N "
                         f"{lch['lon_deg']:.2f} E" for lch in info.get("launches", [])[:6])
    if len(info.get("launches", [])) > 6:
        launches += f" and {len(info['launches']) - 6} more"
    return launches


def write_report(path: Path, metrics: dict, ground: list[dict], recorder: Recorder) -> None:
    """Write the report page for an exercise's metrics, truth ground tracks and recorded picture."""
    esc = html.escape
    info = metrics["exercise"]
    t0 = float(info["t0_unix_s"])
    t_end = float(info["t_end_unix_s"])
    map_data, (x0, y0, x1, y1) = _map_data(ground, recorder)
    land, borders = _basemap_paths(x0, y0, x1, y1)
    nodes = info.get("nations", [])
    data = {"t0": t0, **map_data, "colours": NODE_COLOURS}
    data_json = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    rows = metrics["first_alerts"]
    impact_series, impact_dashes, impact_title, impact_note = _impact_chart_series(metrics["prediction_error"], t0)
    track_series = {f"{n} track": [(t - t0, e) for t, e in v]
                    for n, v in metrics["prediction_error"]["track_m"].items()}
    checks = "".join(f'<label style="color:{NODE_COLOURS.get(n, "#555")}"><input type="checkbox" data-node="{n}" '
                     f'checked> {esc(n)} picture</label>' for n in nodes)
    launches = _launches_text(info)
    link_lines = _link_lines(metrics)
    wall = metrics["wall_s"]
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>EXERCISE report: {esc(info['name'])}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head><body>
<p class="banner">EXERCISE - EXERCISE - EXERCISE: simulated data, no real warning</p>
<h1>After-action report: {esc(info['name'])}</h1>
<p>Scenario {esc(info['scenario'])} ({esc(info['source'])}); T0 {_utc(t0)}; run T+{info['t_start_unix_s'] - t0:.0f} s
to T+{t_end - t0:.0f} s in steps of {info['step_s']:g} s; nodes {esc(', '.join(nodes))}; {info['objects']} true objects,
{info['sensors']} sensors, {info['measurements']} detections; {info['cap_messages']} CAP messages (status Exercise).
Launches: {launches}. Link latency {info['latency_s']:g} s, hub {esc(info['hub'])}. Wall time: simulate
{wall['simulate']:.1f} s, shared run {wall['shared_run']:.1f} s, no-sharing baseline {wall['baseline_run']:.1f} s.</p>
<h2>Map: true and predicted tracks, impact ellipses</h2>
<div class="controls"><input id="tslider" type="range" min="{info['t_start_unix_s'] - t0:.0f}" max="{t_end - t0:.0f}"
step="1" value="{t_end - t0:.0f}" aria-label="time after launch" style="width:60%">
<span id="tlabel"></span><br>{checks}
<span>black line: truth (dashed: spent stages); dots: each node's system tracks; shaded: impact 95% ellipses of the
last minute (dashed: powered-flight corridor)</span></div>
<svg id="map" viewBox="{x0:.1f} {y0:.1f} {x1 - x0:.1f} {y1 - y0:.1f}" role="img" aria-label="map">
<path class="land" d="{land}"/><path class="borders" d="{borders}"/><g id="dyn"></g></svg>
<h2>First alerts with and without sharing</h2>{_first_alert_table(rows, t0)}
{_falls_table(metrics.get('falls'), t0)}
<h2>Alert timeline per area against the truth</h2>{_timeline_svg(rows, metrics['truth_passages'], t0, t_end)}
<h2>Prediction error against time</h2>
{_line_chart(impact_series, title=impact_title, xlabel="seconds after T0", ylabel="metres", log_y=True,
             dashes=impact_dashes)}
<p class="note">{esc(impact_note)}</p>
{_line_chart(track_series, title="System track position error (median over tracks, nearest true object)",
             xlabel="seconds after T0", ylabel="metres", log_y=True)}
<h2>Latency</h2>{_latency_hists(metrics['latency'])}
<h2>Link events, faults and injects</h2>{_fault_table(metrics, t0)}<p>{'<br>'.join(esc(x) for x in link_lines)}</p>
<script type="application/json" id="report-data">{data_json}</script>
<script>{_JS}</script>
</body></html>
"""
    Path(path).write_text(page, encoding="utf-8")
