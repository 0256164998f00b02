// triwarn operator map. Everything it needs is served by the node: no CDN, no tiles, no internet.
// Data: the picture deltas of /api/stream (see docs/ui.md); outlines from /static/basemap.json (Natural
// Earth via world-atlas, projected at build time) and /api/areas.geojson (prefectures, provinces, US
// areas). Geometry is projected once into base units; pan and zoom only change the canvas transform, so
// a frame costs a blit and a few batched strokes whatever the zoom, even with 1,000 tracks.

import { geoArea, geoCentroid, geoPath } from "d3-geo";
import { select } from "d3-selection";
import { zoom, zoomIdentity } from "d3-zoom";
import { operatorPanel, showUser, whoAmI } from "./console.mjs";
import { gainPanel } from "./gain.mjs";
import { baseProjection } from "./projection.mjs";

const NATIONS = { us: "US", jp: "JP", kr: "KR" };
const STATE_WORDS = { shelter: "SHELTER", notice: "NOTICE", passed: "PASSED", all_clear: "ALL CLEAR", cancelled: "CANCELLED" };
const STATE_COLOURS = { shelter: "#ff5c5c", notice: "#ffb020", passed: "#6cb6ff", all_clear: "#3fb950", cancelled: "#a8b3bf" };
const KIND_COLOURS = { warhead: "#ff7b72", stage: "#ffb020", unknown: "#e6edf3" };
// Predictions (impact ellipse, its ✕, the ground track) in violet: no alert state uses it, so an ellipse
// over an area under alert never reads as that area's state.
const PREDICTION_COLOUR = "#d2a8ff";
const PREDICTION_FILL = "rgba(210, 168, 255, 0.16)";
// An orbit's ground track ahead (with a tick where it enters an area) in cyan, the declared hazard zones
// of the navigational warning in orange dashes: neither is an alert state's colour.
const ORBIT_COLOUR = "#56d4dd";
const ZONE_COLOUR = "#f0883e";
const ZONE_FILL = "rgba(240, 136, 62, 0.10)";
const LINK_COLOURS = { up: "#3fb950", degraded: "#ffb020", down: "#ff5c5c" };
const TIME_ZONES = [["UTC", "UTC"], ["JST", "Asia/Tokyo"], ["KST", "Asia/Seoul"]];
const HISTORY_MAX = 5000;
const EARTH_R_M = 6371008.8;

const $ = (id) => document.getElementById(id);
const canvas = $("map");
const ctx = canvas.getContext("2d");

const stats = { renders: 0, renderMs: [], frameTimes: [], deltas: 0, ready: false, usableMs: null,
  drawn: { orbits: 0, orbitPoints: 0, zones: 0, falls: 0 } };
window.__triwarn = stats;

const view = {
  nation: null, nations: [], picture: null, tracks: new Map(), impacts: [], alerts: [], alertLog: [],
  orbits: [], zones: [], gain: { sharing_gain: [], sharing_gain_final: false, sharing_gain_note: "" },
  links: [], history: new Map(), alertHistory: new Map(), selected: null, source: null,
  ended: false, chosen: false, // chosen: the operator (or ?nation=) picked the view; no automatic switch
};
let transform = zoomIdentity;
let dirty = true;
let panelsDirty = true;
let projection = null;
let base = null; // {land, borders, areas: Map(code -> {path, centroid, name})}

// ---------- time formatting ----------
const fmtCache = new Map();
function fmt(tz) {
  if (!fmtCache.has(tz)) {
    fmtCache.set(tz, new Intl.DateTimeFormat("en-GB", {
      timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
    }));
  }
  return fmtCache.get(tz);
}
const hms = (t, tz) => fmt(tz).format(new Date(t * 1000));
function localZone() {
  const info = view.nations.find((n) => n.code === view.nation);
  return info ? [info.local_label, info.local_tz] : ["JST", "Asia/Tokyo"];
}
function mmss(s) {
  const sign = s < 0 ? "-" : "";
  s = Math.abs(Math.round(s));
  return `${sign}${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// ---------- geometry ----------
// The zoom transform that fits the region (Korea to Guam and the Kurils) into a width x height view.
function fitTransform(width, height) {
  const pts = [[118, 18], [165, 52], [150, 12]].map((p) => projection(p));
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const k = Math.min((width - 20) / (x1 - x0), (height - 20) / (y1 - y0));
  return zoomIdentity.translate((width - k * (x0 + x1)) / 2, (height - k * (y0 + y1)) / 2).scale(k);
}

function ringsPath(rings, close) {
  const p = new Path2D();
  for (const r of rings) {
    let x = r[0], y = r[1];
    p.moveTo(x, y);
    for (let i = 2; i < r.length; i += 2) {
      x += r[i];
      y += r[i + 1];
      p.lineTo(x, y);
    }
    if (close) p.closePath();
  }
  return p;
}

// d3-geo reads a ring's winding on the sphere: clockwise encloses the small side. GeoJSON (RFC 7946)
// winds exteriors the other way, which d3 would read as "everything but the area": flip such polygons.
function forD3(geometry) {
  const fix = (rings) => (geoArea({ type: "Polygon", coordinates: rings }) > 2 * Math.PI
    ? rings.map((r) => [...r].reverse()) : rings);
  if (geometry.type === "Polygon") return { type: "Polygon", coordinates: fix(geometry.coordinates) };
  if (geometry.type === "MultiPolygon") return { type: "MultiPolygon", coordinates: geometry.coordinates.map(fix) };
  return geometry;
}

function buildBase(basemap) {
  return { land: ringsPath(basemap.land, true), borders: ringsPath(basemap.borders, false), areas: new Map() };
}

function addAreas(areas) {
  const areaMap = new Map();
  for (const f of areas.features || []) {
    const path = new Path2D();
    const geometry = forD3(f.geometry);
    geoPath(projection, path)(geometry);
    const code = f.properties.code || f.id;
    areaMap.set(code, { path, centroid: projection(geoCentroid(geometry)), name: f.properties.name_en || code });
  }
  base.areas = areaMap;
  baseVersion++;
  dirty = true;
}

function project(lon, lat) {
  return projection([lon, lat]);
}

// Impact ellipse as lon/lat points: axes in metres, orientation of the major axis clockwise from north.
function ellipseLonLat(imp, n = 48) {
  const o = (imp.orientation_deg * Math.PI) / 180;
  const ue = Math.sin(o), un = Math.cos(o);
  const ve = Math.cos(o), vn = -Math.sin(o);
  const cosLat = Math.max(0.05, Math.cos((imp.lat_deg * Math.PI) / 180));
  const pts = [];
  for (let k = 0; k <= n; k++) {
    const th = (2 * Math.PI * k) / n;
    const a = imp.semi_major_m * Math.cos(th), b = imp.semi_minor_m * Math.sin(th);
    const east = a * ue + b * ve, north = a * un + b * vn;
    pts.push([imp.lon_deg + ((east / (EARTH_R_M * cosLat)) * 180) / Math.PI, imp.lat_deg + ((north / EARTH_R_M) * 180) / Math.PI]);
  }
  return pts;
}

function haversineKm(lat1, lon1, lat2, lon2) {
  const r = Math.PI / 180;
  const dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
  const h = Math.sin(dlat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dlon / 2) ** 2;
  return (2 * EARTH_R_M * Math.asin(Math.min(1, Math.sqrt(h)))) / 1000;
}

// ---------- picture state ----------
function resetView() {
  view.picture = null;
  view.tracks.clear();
  view.impacts = [];
  view.orbits = [];
  view.zones = [];
  view.gain = { sharing_gain: [], sharing_gain_final: false, sharing_gain_note: "" };
  view.alerts = [];
  view.alertLog = [];
  view.links = [];
  view.history.clear();
  view.alertHistory.clear();
  view.selected = null;
  view.autoSelected = false;
}

function prepareTrack(t) {
  const p = project(t.lon_deg, t.lat_deg);
  const trail = new Float64Array(t.trail.length * 2);
  t.trail.forEach((s, k) => {
    const q = project(s[2], s[1]);
    trail[2 * k] = q[0];
    trail[2 * k + 1] = q[1];
  });
  let hist = view.history.get(t.id);
  if (!hist) view.history.set(t.id, (hist = []));
  const lastT = hist.length ? hist[hist.length - 1][0] : -Infinity;
  for (const s of t.trail) if (s[0] > lastT) hist.push(s);
  if (hist.length > HISTORY_MAX) hist.splice(0, hist.length - HISTORY_MAX);
  return { ...t, px: p[0], py: p[1], trailPx: trail };
}

function applyDelta(d) {
  stats.deltas++;
  if (d.full) {
    resetView();
    baseVersion++;
  }
  for (const id of d.removed) {
    view.tracks.delete(id);
    view.history.delete(id);
  }
  for (const t of d.tracks) view.tracks.set(t.id, prepareTrack(t));
  if (d.impacts !== null) {
    view.impacts = d.impacts.map((imp) => ({
      ...imp,
      ellipsePx: ellipseLonLat(imp).map(([lon, lat]) => project(lon, lat)),
      groundPx: imp.ground_track.map(([lat, lon]) => project(lon, lat)),
      impactPx: project(imp.lon_deg, imp.lat_deg),
    }));
  }
  if (d.orbits) { // null: unchanged (absent from an older server: none)
    view.orbits = d.orbits.map((o) => {
      const px = o.ground_track.map(([, lat, lon]) => project(lon, lat));
      const enters = o.areas_over.map((a) => {
        // The drawn point nearest the entry time carries the area's tick.
        let k = 0;
        o.ground_track.forEach((g, i) => { if (Math.abs(g[0] - a.enter_unix_s) < Math.abs(o.ground_track[k][0] - a.enter_unix_s)) k = i; });
        return { ...a, px: px[k] };
      });
      return { ...o, groundPx: px, enters };
    });
  }
  if (d.hazard_zones) {
    view.zones = d.hazard_zones.map((z) => {
      const ringPx = z.corners.map(([lat, lon]) => project(lon, lat));
      const n = ringPx.length || 1;
      const centre = ringPx.reduce((a, p) => [a[0] + p[0] / n, a[1] + p[1] / n], [0, 0]);
      return { ...z, ringPx, centre };
    });
  }
  if (d.alerts !== null) {
    view.alerts = d.alerts;
    baseVersion++;
  }
  for (const a of view.alerts) {
    let h = view.alertHistory.get(a.area);
    if (!h) view.alertHistory.set(a.area, (h = []));
    if (!h.length || h[h.length - 1].state !== a.state) h.push({ t: a.since_unix_s, state: a.state, name: a.name_en });
  }
  view.alertLog = view.alertLog.concat(d.alert_log);
  if (d.links !== null) view.links = d.links;
  // The exercise's sharing gain (absent from an older server: none); the rows are null when unchanged.
  view.gain = { sharing_gain: d.sharing_gain || view.gain.sharing_gain, sharing_gain_final: !!d.sharing_gain_final,
    sharing_gain_note: d.sharing_gain_note || "" };
  view.picture = { t_unix_s: d.t_unix_s, mode: d.mode, exercise_name: d.exercise_name, ended: !!d.ended };
  if (d.ended) runEnded();
  if (view.selected && !view.tracks.has(view.selected)) view.selected = null;
  if (!view.selected && !view.autoSelected && view.tracks.size > 0 && view.tracks.size <= 20) {
    // With few tracks the operator wants the threat in view: pick the first warhead, once per view
    // (after Esc the operator has chosen to have none).
    const w = [...view.tracks.values()].find((t) => t.kind === "warhead");
    if (w) {
      view.selected = w.id;
      view.autoSelected = true;
    }
  }
  dirty = true;
  panelsDirty = true;
}

// ---------- map rendering ----------
function resizeCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const r = c.getBoundingClientRect();
  const w = Math.max(1, Math.round(r.width * dpr)), h = Math.max(1, Math.round(r.height * dpr));
  if (c.width !== w || c.height !== h) {
    c.width = w;
    c.height = h;
  }
  return dpr;
}

// The base layer (sea, land, borders, area lines and alert fills) is cached in an offscreen canvas with
// a margin around the view: a pan only blits it, a zoom step scales the blit until a sharp redraw
// follows; it is redrawn when the view leaves the margin, the zoom settles or the alerts change.
const baseLayer = document.createElement("canvas");
const BASE_MARGIN = 0.5;
let baseCache = null;
let baseVersion = 0;
let baseSettleTimer = null;

function renderBaseLayer(w, h, dpr) {
  const mw = Math.round(w * BASE_MARGIN), mh = Math.round(h * BASE_MARGIN);
  baseLayer.width = Math.round((w + 2 * mw) * dpr);
  baseLayer.height = Math.round((h + 2 * mh) * dpr);
  const g = baseLayer.getContext("2d");
  const k = transform.k;
  g.fillStyle = "#0b2239";
  g.fillRect(0, 0, baseLayer.width, baseLayer.height);
  g.setTransform(dpr * k, 0, 0, dpr * k, dpr * (transform.x + mw), dpr * (transform.y + mh));
  g.fillStyle = "#2a3340";
  g.fill(base.land);
  g.lineWidth = 0.8 / k;
  g.strokeStyle = "#8b98a5";
  g.stroke(base.borders);
  for (const a of view.alerts) {
    const area = base.areas.get(a.area);
    if (!area) continue;
    g.globalAlpha = 0.45;
    g.fillStyle = STATE_COLOURS[a.state];
    g.fill(area.path);
    g.globalAlpha = 1;
  }
  g.lineWidth = 0.5 / k;
  g.strokeStyle = "#6e7b88";
  for (const area of base.areas.values()) g.stroke(area.path);
  for (const a of view.alerts) {
    const area = base.areas.get(a.area);
    if (!area) continue;
    g.lineWidth = 2 / k;
    g.strokeStyle = STATE_COLOURS[a.state];
    g.stroke(area.path);
  }
  baseCache = { k, x: transform.x, y: transform.y, mw, mh, w, h, dpr, version: baseVersion };
}

function drawBase(w, h, dpr) {
  const c = baseCache;
  const stale = !c || c.version !== baseVersion || c.w !== w || c.h !== h || c.dpr !== dpr;
  if (!stale && c.k === transform.k) {
    const dx = transform.x - c.x, dy = transform.y - c.y;
    if (Math.abs(dx) <= c.mw && Math.abs(dy) <= c.mh) {
      ctx.drawImage(baseLayer, Math.round(dpr * (dx - c.mw)), Math.round(dpr * (dy - c.mh)));
      return;
    }
  } else if (!stale) {
    // Zooming: scale the cached image now, redraw it sharp once the zoom has settled.
    const r = transform.k / c.k;
    ctx.drawImage(baseLayer, dpr * (transform.x - r * (c.x + c.mw)), dpr * (transform.y - r * (c.y + c.mh)),
      baseLayer.width * r, baseLayer.height * r);
    clearTimeout(baseSettleTimer);
    baseSettleTimer = setTimeout(() => {
      baseCache = null;
      dirty = true;
    }, 150);
    return;
  }
  renderBaseLayer(w, h, dpr);
  ctx.drawImage(baseLayer, Math.round(-dpr * baseCache.mw), Math.round(-dpr * baseCache.mh));
}

function drawMap() {
  const t0 = performance.now();
  const dpr = resizeCanvas(canvas);
  const w = canvas.width / dpr, h = canvas.height / dpr;
  const k = transform.k;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = "#0b2239";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (!base) return;
  drawBase(w, h, dpr);
  ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * transform.x, dpr * transform.y);
  drawZones(k);
  drawOrbits(k);
  drawImpacts(k);
  drawTracks(k);
  // Labels in screen pixels so that text stays readable at every zoom; tracks first, they matter most.
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const placed = placeLabels(labelItems(), w, h);
  drawLeaders(placed);
  renderLabels(placed);
  const ms = performance.now() - t0;
  stats.renders++;
  stats.renderMs.push(ms);
  if (stats.renderMs.length > 2000) stats.renderMs.splice(0, 1000);
}

function polyline(points) {
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(p[0], p[1]) : ctx.moveTo(p[0], p[1])));
}

function drawZones(k) {
  for (const z of view.zones) {
    if (z.ringPx.length < 3) continue;
    ctx.setLineDash([8 / k, 4 / k]);
    polyline(z.ringPx);
    ctx.closePath();
    ctx.fillStyle = ZONE_FILL;
    ctx.fill();
    ctx.lineWidth = 1.5 / k;
    ctx.strokeStyle = ZONE_COLOUR;
    ctx.stroke();
    ctx.setLineDash([]);
  }
  stats.drawn.zones = view.zones.length;
}

function drawOrbits(k) {
  let points = 0;
  for (const o of view.orbits) {
    // Split where the track wraps round the map's edge (a jump of more than a quarter of the map).
    ctx.lineWidth = 2 / k;
    ctx.strokeStyle = ORBIT_COLOUR;
    ctx.setLineDash([2 / k, 3 / k]);
    ctx.beginPath();
    o.groundPx.forEach((p, i) => {
      const prev = o.groundPx[i - 1];
      if (!i || Math.abs(p[0] - prev[0]) > 250) ctx.moveTo(p[0], p[1]);
      else ctx.lineTo(p[0], p[1]);
    });
    ctx.stroke();
    ctx.setLineDash([]);
    for (const e of o.enters) {
      ctx.beginPath();
      ctx.arc(e.px[0], e.px[1], 4 / k, 0, 2 * Math.PI);
      ctx.stroke();
    }
    points += o.groundPx.length;
  }
  stats.drawn.orbits = view.orbits.length;
  stats.drawn.orbitPoints = points;
}

function drawImpacts(k) {
  stats.drawn.falls = view.impacts.filter((i) => !i.powered).length;
  for (const imp of view.impacts) {
    ctx.setLineDash([6 / k, 4 / k]);
    ctx.lineWidth = 1.5 / k;
    ctx.strokeStyle = PREDICTION_COLOUR;
    polyline(imp.groundPx);
    ctx.stroke();
    ctx.setLineDash([]);
    polyline(imp.ellipsePx);
    ctx.closePath();
    ctx.fillStyle = PREDICTION_FILL;
    ctx.fill();
    ctx.lineWidth = 2 / k;
    ctx.strokeStyle = PREDICTION_COLOUR;
    ctx.stroke();
    const [x, y] = imp.impactPx;
    const s = 5 / k;
    ctx.beginPath();
    ctx.moveTo(x - s, y - s); ctx.lineTo(x + s, y + s);
    ctx.moveTo(x - s, y + s); ctx.lineTo(x + s, y - s);
    ctx.stroke();
  }
}

function drawTracks(k) {
  // Batched: one stroke for every trail, one fill per kind of object.
  ctx.lineWidth = 1.2 / k;
  ctx.strokeStyle = "rgba(230, 237, 243, 0.55)";
  ctx.beginPath();
  for (const t of view.tracks.values()) {
    const tr = t.trailPx;
    for (let i = 0; i < tr.length; i += 2) (i ? ctx.lineTo(tr[i], tr[i + 1]) : ctx.moveTo(tr[i], tr[i + 1]));
  }
  ctx.stroke();
  const r = (view.tracks.size > 200 ? 2.5 : 4.5) / k;
  for (const kind of Object.keys(KIND_COLOURS)) {
    ctx.fillStyle = KIND_COLOURS[kind];
    ctx.beginPath();
    for (const t of view.tracks.values()) {
      if (t.kind !== kind) continue;
      ctx.moveTo(t.px + r, t.py);
      ctx.arc(t.px, t.py, r, 0, 2 * Math.PI);
    }
    ctx.fill();
  }
  const sel = view.tracks.get(view.selected);
  if (sel) {
    ctx.lineWidth = 2.5 / k;
    ctx.strokeStyle = "#ffd33d";
    ctx.beginPath();
    ctx.arc(sel.px, sel.py, 10 / k, 0, 2 * Math.PI);
    ctx.stroke();
    if (sel.launch) {
      const [lx, ly] = project(sel.launch.lon_deg, sel.launch.lat_deg);
      const s = 6 / k;
      ctx.fillStyle = "#ffd33d";
      ctx.beginPath();
      ctx.moveTo(lx, ly - s); ctx.lineTo(lx + s, ly + s); ctx.lineTo(lx - s, ly + s);
      ctx.closePath();
      ctx.fill();
    }
  }
}

function toScreen(x, y) {
  return [transform.x + transform.k * x, transform.y + transform.k * y];
}

// Map labels are DOM elements over the canvas (#labels), placed greedily at every draw in priority order
// (the selected track, warheads, stages, other tracks, impacts, areas under alert): each takes the first
// position around its point, nearest ring first, whose box lies inside the map and overlaps no label
// placed before it, no track dot and no legend; a label set away from its point gets a leader line. A
// label that finds no free position is left out (counted in window.__triwarnView().labelsHidden), and
// so is one whose point is off the map.
const LABEL_FONT = "bold 12px system-ui, 'DejaVu Sans', sans-serif";
const LABEL_H = 18, LABEL_GAP = 2, EDGE = 4;
const LABEL_DIRS = [[1, -1], [1, 1], [-1, -1], [-1, 1], [1, 0], [-1, 0], [0, -1], [0, 1]];
const LABEL_RINGS = [10, 24, 42, 64, 90, 120, 160, 210];
const labelEls = new Map(); // label key -> its element
const widthCache = new Map();
let labelsHidden = 0;
let overlayBoxes = null; // the legend and key hint, in map pixels (measured again after a resize)

function textWidth(text) {
  let w = widthCache.get(text);
  if (w === undefined) {
    ctx.font = LABEL_FONT;
    w = Math.ceil(ctx.measureText(text).width) + 10; // 4 px padding and 1 px border on each side
    if (widthCache.size > 5000) widthCache.clear();
    widthCache.set(text, w);
  }
  return w;
}

function mapOverlays(W, H) {
  if (!overlayBoxes || overlayBoxes.W !== W || overlayBoxes.H !== H) { // measured again when the map resizes
    const r = canvas.getBoundingClientRect();
    overlayBoxes = ["legend", "keys"].map((id) => $(id).getBoundingClientRect())
      .filter((b) => b.width > 0).map((b) => ({ x: b.left - r.left, y: b.top - r.top, w: b.width, h: b.height }));
    Object.assign(overlayBoxes, { W, H });
  }
  return overlayBoxes;
}

function labelSpot(ax, ay, w, d, [dx, dy]) {
  const s = dx && dy ? 0.7 : 1;
  const x = dx > 0 ? ax + d * s : dx < 0 ? ax - d * s - w : ax - w / 2;
  const y = dy < 0 ? ay - d * s - LABEL_H : dy > 0 ? ay + d * s : ay - LABEL_H / 2;
  return [x, y];
}

function placeLabels(items, W, H) {
  const boxes = [...mapOverlays(W, H)];
  for (const it of items) if (it.dot) boxes.push({ x: it.ax - 5, y: it.ay - 5, w: 10, h: 10 });
  const free = (x, y, w) => !boxes.some((b) => x < b.x + b.w + LABEL_GAP && b.x < x + w + LABEL_GAP
    && y < b.y + b.h + LABEL_GAP && b.y < y + LABEL_H + LABEL_GAP);
  const placed = [];
  labelsHidden = 0;
  for (const it of items) {
    if (!(it.ax >= 0 && it.ay >= 0 && it.ax <= W && it.ay <= H)) continue; // its point is off the map
    const w = Math.min(textWidth(it.text), W - 2 * EDGE);
    let spot = null;
    for (const d of LABEL_RINGS) {
      if (d > (it.maxRing || Infinity)) break;
      for (const dir of LABEL_DIRS) {
        let [x, y] = labelSpot(it.ax, it.ay, w, d, dir);
        x = Math.min(Math.max(x, EDGE), W - w - EDGE); // clamped inside the map
        y = Math.min(Math.max(y, EDGE), H - LABEL_H - EDGE);
        if (free(x, y, w)) {
          spot = [x, y, d];
          break;
        }
      }
      if (spot) break;
    }
    if (!spot) {
      labelsHidden++;
      continue;
    }
    boxes.push({ x: spot[0], y: spot[1], w, h: LABEL_H });
    placed.push({ ...it, x: spot[0], y: spot[1], w, far: spot[2] > LABEL_RINGS[0] });
  }
  return placed;
}

function drawLeaders(placed) {
  ctx.lineWidth = 1;
  for (const p of placed) {
    if (!p.far) continue;
    const tx = Math.min(Math.max(p.ax, p.x), p.x + p.w), ty = Math.min(Math.max(p.ay, p.y), p.y + LABEL_H);
    ctx.strokeStyle = p.colour;
    ctx.beginPath();
    ctx.moveTo(p.ax, p.ay);
    ctx.lineTo(tx, ty);
    ctx.stroke();
  }
}

function renderLabels(placed) {
  const layer = $("labels");
  const seen = new Set();
  for (const p of placed) {
    let e = labelEls.get(p.key);
    if (!e) {
      e = el("div", { class: "maplabel", "data-kind": p.kind, "data-ref": p.ref });
      labelEls.set(p.key, e);
      layer.append(e);
    }
    seen.add(p.key);
    if (e.textContent !== p.text) e.textContent = p.text;
    e.style.cssText = `transform:translate(${p.x}px,${p.y}px);width:${p.w}px;border-color:${p.colour}`;
  }
  for (const [k, e] of labelEls) {
    if (!seen.has(k)) {
      e.remove();
      labelEls.delete(k);
    }
  }
}

function labelItems() {
  const many = view.tracks.size > 30; // labels for all tracks up to 30, else for the selected one
  const rank = (t) => (t.id === view.selected ? 0 : { warhead: 1, stage: 2 }[t.kind] || 3);
  const tracks = [...view.tracks.values()].filter((t) => !many || t.id === view.selected)
    .sort((a, b) => rank(a) - rank(b));
  const items = tracks.map((t) => {
    const [ax, ay] = toScreen(t.px, t.py);
    const who = t.nations.map((n) => NATIONS[n] || n).join(" ");
    return { key: `track:${t.id}`, kind: "track", ref: t.id, ax, ay, dot: true, colour: KIND_COLOURS[t.kind],
      text: [`${t.id} ${t.kind}`, `${Math.round(t.alt_m / 1000)} km`, who].filter(Boolean).join(" · ") };
  });
  // The view's own impacts; the partners' ("kr:KR-S1") last and only close to their ✕, if there is room.
  const partners = [];
  for (const imp of view.impacts) {
    if (many && imp.track !== view.selected) continue;
    const [ax, ay] = toScreen(imp.impactPx[0], imp.impactPx[1]);
    const left = view.picture ? imp.time_unix_s - view.picture.t_unix_s : 0;
    const partner = imp.track.includes(":");
    const zone = imp.zone ? (imp.zone_km ? ` · ${Math.round(imp.zone_km)} km outside zone ${imp.zone}` : ` · in zone ${imp.zone}`) : "";
    (partner ? partners : items).push({ key: `impact:${imp.track}`, kind: "impact", ref: imp.track, ax, ay, dot: false,
      colour: PREDICTION_COLOUR, maxRing: partner ? 24 : undefined,
      text: `${imp.zone ? "fall" : "impact"} ${imp.track} ${left > 0 ? "in " + mmss(left) : "reached"}${zone}` });
  }
  // An orbit: labelled at its first point ahead with the next area it passes over and when.
  for (const o of view.orbits) {
    if (!o.groundPx.length) continue;
    const [ax, ay] = toScreen(o.groundPx[0][0], o.groundPx[0][1]);
    const now = view.picture ? view.picture.t_unix_s : o.epoch_unix_s;
    const next = o.areas_over.find((a) => a.enter_unix_s >= now - 30);
    const over = next ? ` · over ${(base.areas.get(next.area) || {}).name || next.area} ${next.enter_unix_s > now ? "in " + mmss(next.enter_unix_s - now) : "now"}` : "";
    items.push({ key: `orbit:${o.track}`, kind: "orbit", ref: o.track, ax, ay, dot: false, colour: ORBIT_COLOUR,
      text: `orbit ${o.track} ${Math.round(o.perigee_km)}×${Math.round(o.apogee_km)} km, ${o.incl_deg.toFixed(1)}°${over}` });
  }
  for (const z of view.zones) {
    const [ax, ay] = toScreen(z.centre[0], z.centre[1]);
    items.push({ key: `zone:${z.label}`, kind: "zone", ref: z.label, ax, ay, dot: false, colour: ZONE_COLOUR, maxRing: 42,
      text: `zone ${z.label}${z.piece ? " (" + z.piece + ")" : ""}` });
  }
  for (const a of view.alerts) {
    const area = base.areas.get(a.area);
    const c = area && area.centroid;
    if (!c) continue;
    const [ax, ay] = toScreen(c[0], c[1]);
    items.push({ key: `area:${a.area}`, kind: "area", ref: a.area, ax, ay, dot: false, colour: STATE_COLOURS[a.state],
      text: `${a.name_en}: ${STATE_WORDS[a.state]}` });
  }
  return items.concat(partners);
}

// ---------- panels ----------
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") e.style.cssText = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function renderHeader() {
  const p = view.picture;
  const mode = $("mode");
  if (p) {
    mode.className = `mode ${p.mode}`;
    mode.textContent = (p.mode === "exercise" ? `EXERCISE${p.exercise_name ? " — " + p.exercise_name : ""}` : "LIVE")
      + (view.ended ? " — ENDED" : "");
  }
  renderViewNote();
  const clocks = $("clocks");
  clocks.replaceChildren();
  if (!p) return;
  const zones = [...TIME_ZONES];
  const [label, tz] = localZone();
  if (!zones.some(([l]) => l === label)) zones.push([label, tz]);
  for (const [l, z] of zones) clocks.append(el("span", { "data-tz": l }, el("b", {}, l), hms(p.t_unix_s, z)));
  // The warhead that lands first; spent stages only when no warhead is predicted.
  const kindOf = (i) => (view.tracks.get(i.track) || {}).kind;
  const next = view.impacts.filter((i) => i.time_unix_s > p.t_unix_s)
    .sort((a, b) => (kindOf(a) !== "warhead") - (kindOf(b) !== "warhead") || a.time_unix_s - b.time_unix_s)[0];
  $("next-impact").textContent = next
    ? `${kindOf(next) === "warhead" ? "Warhead" : "Next"} impact: ${next.track} in ${mmss(next.time_unix_s - p.t_unix_s)}` : "";
}

function kindWords(t) {
  return t.kind === "unknown" && t.kind_reason ? `unknown (${t.kind_reason})` : t.kind;
}

function trackLine(t) {
  return `${t.id} · ${t.kind} · ${t.mode} · ${Math.round(t.alt_m / 1000)} km`;
}

function renderTrackList() {
  const list = $("track-list");
  const tracks = [...view.tracks.values()];
  $("track-count").textContent = `(${tracks.length})`;
  const shown = tracks.slice(0, 100);
  list.replaceChildren(...shown.map((t) => el("li", {},
    el("button", { type: "button", "data-track": t.id, "data-kind": t.kind, "aria-current": String(t.id === view.selected),
      title: kindWords(t), onclick: () => select_(t.id) },
      trackLine(t), ...t.nations.map((n) => el("span", { class: "badge", title: `seen by ${NATIONS[n] || n}` }, NATIONS[n] || n))))));
  if (tracks.length > shown.length) list.append(el("li", { class: "muted" }, `and ${tracks.length - shown.length} more (select on the map)`));
}

function renderSelected() {
  const body = $("sel-body");
  const t = view.tracks.get(view.selected);
  const countdown = $("countdown");
  if (!t) {
    body.replaceChildren(el("p", { class: "muted" }, "No track selected (N selects the next)."));
    countdown.textContent = "";
    drawProfile(null);
    return;
  }
  const [label, tz] = localZone();
  const rows = [
    ["Track", t.id], ["Object", `${kindWords(t)}, ${t.mode}`], ["Seen by", t.nations.map((n) => NATIONS[n] || n).join(", ")],
    ["Position", `${t.lat_deg.toFixed(2)}°, ${t.lon_deg.toFixed(2)}°`], ["Altitude", `${(t.alt_m / 1000).toFixed(1)} km`],
    ["Speed", `${(t.speed_mps / 1000).toFixed(2)} km/s`],
  ];
  if (t.launch) rows.push(["Launch", `${hms(t.launch.time_unix_s, "UTC")} UTC · ${hms(t.launch.time_unix_s, tz)} ${label}`]);
  const imp = view.impacts.find((i) => i.track === t.id);
  if (imp) {
    rows.push(["Impact", `${hms(imp.time_unix_s, "UTC")} UTC · ${hms(imp.time_unix_s, tz)} ${label}`]);
    rows.push(["Impact at", `${imp.lat_deg.toFixed(2)}°, ${imp.lon_deg.toFixed(2)}° ± ${(imp.semi_major_m / 1000).toFixed(0)} km${imp.powered ? " (powered)" : ""}`]);
    const left = imp.time_unix_s - view.picture.t_unix_s;
    countdown.textContent = left > 0 ? `Time to impact ${mmss(left)}` : "Impact time reached";
  } else {
    countdown.textContent = "No impact prediction";
  }
  body.replaceChildren(el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
  drawProfile(t);
}

function drawProfile(t) {
  const c = $("profile");
  const dpr = resizeCanvas(c);
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  const w = c.width / dpr, h = c.height / dpr;
  g.clearRect(0, 0, w, h);
  g.font = "11px system-ui, 'DejaVu Sans', sans-serif";
  g.fillStyle = "#b6c0cb";
  if (!t) {
    g.fillText("Altitude against downrange of the selected track", 8, h / 2);
    return;
  }
  const hist = view.history.get(t.id) || [];
  if (!hist.length) return;
  const o = t.launch ? [t.launch.lat_deg, t.launch.lon_deg] : [hist[0][1], hist[0][2]];
  const pts = hist.map((s) => [haversineKm(o[0], o[1], s[1], s[2]), s[3] / 1000]);
  const imp = view.impacts.find((i) => i.track === t.id);
  const xMax = Math.max(100, ...pts.map((p) => p[0]), imp ? haversineKm(o[0], o[1], imp.lat_deg, imp.lon_deg) : 0);
  const yMax = Math.max(50, ...pts.map((p) => p[1])) * 1.1;
  const L = 40, B = 20, R = 8, T = 8;
  const sx = (x) => L + (x / xMax) * (w - L - R), sy = (y) => h - B - (y / yMax) * (h - B - T);
  g.strokeStyle = "#30363d";
  g.strokeRect(L, T, w - L - R, h - B - T);
  g.fillText(`${Math.round(yMax)} km`, 2, T + 8);
  g.fillText("0", L - 10, h - B);
  g.fillText(`${Math.round(xMax)} km downrange`, w - 120, h - 5);
  g.fillText("alt", 2, h / 2);
  g.strokeStyle = "#ff7b72";
  g.lineWidth = 2;
  g.beginPath();
  pts.forEach((p, i) => (i ? g.lineTo(sx(p[0]), sy(p[1])) : g.moveTo(sx(p[0]), sy(p[1]))));
  g.stroke();
  if (imp) {
    const x = sx(haversineKm(o[0], o[1], imp.lat_deg, imp.lon_deg));
    g.strokeStyle = "#ffd33d";
    g.beginPath(); g.moveTo(x - 4, h - B - 4); g.lineTo(x + 4, h - B + 4); g.moveTo(x - 4, h - B + 4); g.lineTo(x + 4, h - B - 4); g.stroke();
  }
}

let alertsKey = null;
function renderAlerts() {
  const ul = $("alerts");
  // Rebuilt only when something changed, so that screen readers announce changes, not every picture.
  const key = JSON.stringify([view.nation, view.alerts]);
  if (key === alertsKey) return;
  alertsKey = key;
  if (!view.alerts.length) {
    ul.replaceChildren(el("li", { class: "muted" }, "No area under alert."));
    return;
  }
  const [label, tz] = localZone();
  ul.replaceChildren(...view.alerts.map((a) => el("li", { "data-area": a.area, "data-state": a.state },
    el("span", { class: "swatch", style: `background:${STATE_COLOURS[a.state]}`, "aria-hidden": "true" }),
    el("span", { class: "state" }, STATE_WORDS[a.state]),
    el("span", {}, `${a.name_en} (${a.area}) `, el("span", { lang: "ja" }, a.name_ja), " ", el("span", { lang: "ko" }, a.name_ko),
      el("br"), el("span", { class: "muted" }, `since ${hms(a.since_unix_s, "UTC")} UTC · ${hms(a.since_unix_s, tz)} ${label}`)))));
}

function renderLinks() {
  const ul = $("links");
  if (!view.links.length) {
    ul.replaceChildren(el("li", { class: "muted" }, "No partner links reported."));
    return;
  }
  // State, reason and last-heard time as the node's runner judges them: what /api/health says.
  const now = view.picture ? view.picture.t_unix_s : 0;
  ul.replaceChildren(...view.links.map((l) => el("li", { "data-peer": l.peer, "data-state": l.state },
    el("span", { class: "swatch", style: `background:${LINK_COLOURS[l.state] || LINK_COLOURS.down}`, "aria-hidden": "true" }),
    el("span", { class: "state" }, `${(NATIONS[l.peer] || l.peer)} ${l.state.toUpperCase()}`),
    el("span", { class: "muted", "data-heard": l.last_heard_unix_s === null ? "" : String(l.last_heard_unix_s) }, [
      l.latency_ms !== null && l.latency_ms !== undefined ? `${Math.round(l.latency_ms)} ms` : null,
      l.last_heard_unix_s !== null ? `heard ${Math.max(0, now - l.last_heard_unix_s).toFixed(1)} s ago` : "never heard",
      l.why && !(l.last_heard_unix_s === null && l.why === "never heard") ? l.why : null,
    ].filter(Boolean).join(" · ")))));
}

// The exercise's sharing gain per area of this view (gain.mjs); hidden when live or when the run has none.
let gainKey = null;
function renderGain() {
  const key = JSON.stringify([view.nation, view.gain, view.picture && view.picture.mode]);
  if (key === gainKey) return;
  gainKey = key;
  const g = view.gain;
  const shown = !!view.picture && view.picture.mode === "exercise"
    && (g.sharing_gain.length > 0 || g.sharing_gain_final || g.sharing_gain_note !== "");
  $("gain-section").hidden = !shown;
  if (!shown) return;
  const info = view.nations.find((n) => n.code === view.nation);
  const t0 = info ? info.t0_unix_s : null;
  const rel = (t) => (t0 !== null && t0 !== undefined ? `T+${Math.round(t - t0)} s` : `${hms(t, "UTC")} UTC`);
  const box = $("gain");
  box.replaceChildren(...gainPanel(g, rel));
  box.dataset.nation = view.nation; // what the panel shows now (for tests: rendered, not only received)
  box.dataset.final = g.sharing_gain_final ? "1" : "0";
}

let logKey = null;
function renderLog() {
  const tbody = $("log").tBodies[0];
  const key = `${view.nation}:${view.alertLog.length}`;
  if (key === logKey) return;
  logKey = key;
  const [, tz] = localZone();
  const rows = view.alertLog.slice(-200).reverse();
  tbody.replaceChildren(...rows.map((e) => el("tr", {},
    el("td", {}, hms(e.t_unix_s, "UTC")), el("td", {}, hms(e.t_unix_s, tz)), el("td", {}, e.msg_type),
    el("td", {}, e.status), el("td", {}, e.areas.join(" ")), el("td", { class: "headline" }, e.headline_en),
    el("td", {}, e.cap_identifier))));
}

function drawTimeline() {
  const c = $("timeline");
  const dpr = resizeCanvas(c);
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  const w = c.width / dpr, h = c.height / dpr;
  g.clearRect(0, 0, w, h);
  g.font = "11px system-ui, 'DejaVu Sans', sans-serif";
  const now = view.picture ? view.picture.t_unix_s : 0;
  const areas = [...view.alertHistory.entries()];
  const times = view.alertLog.map((e) => e.t_unix_s).concat(areas.flatMap(([, hs]) => hs.map((s) => s.t)));
  if (!times.length) {
    g.fillStyle = "#b6c0cb";
    g.fillText("No alert issued yet.", 8, 20);
    return;
  }
  const t0 = Math.min(...times) - 30, t1 = Math.max(now, ...times) + 30;
  const L = 120, R = 10;
  const sx = (t) => L + ((t - t0) / (t1 - t0)) * (w - L - R);
  const rowH = Math.min(22, (h - 22) / Math.max(1, areas.length));
  areas.forEach(([code, hs], i) => {
    const y = 4 + i * rowH;
    g.fillStyle = "#f0f3f6";
    g.fillText(`${hs[0].name} (${code})`, 4, y + rowH * 0.7);
    hs.forEach((s, j) => {
      const x0 = sx(s.t), x1 = sx(j + 1 < hs.length ? hs[j + 1].t : now);
      g.fillStyle = STATE_COLOURS[s.state];
      g.fillRect(x0, y + 2, Math.max(2, x1 - x0), rowH - 4);
      const word = STATE_WORDS[s.state];
      if (x1 - x0 > g.measureText(word).width + 6) {
        g.fillStyle = "#0d1117";
        g.fillText(word, x0 + 3, y + rowH * 0.7);
      }
    });
  });
  g.strokeStyle = "#ffd33d";
  g.fillStyle = "#ffd33d";
  for (const e of view.alertLog) {
    const x = sx(e.t_unix_s);
    g.beginPath(); g.moveTo(x, h - 18); g.lineTo(x, h - 10); g.stroke();
  }
  g.fillStyle = "#b6c0cb";
  g.fillText(`${hms(t0, "UTC")} UTC`, L, h - 1);
  g.fillText(`${hms(t1, "UTC")} UTC`, w - R - 70, h - 1);
  const xn = sx(now);
  g.strokeStyle = "#f0f3f6";
  g.beginPath(); g.moveTo(xn, 0); g.lineTo(xn, h - 12); g.stroke();
}

function renderPanels() {
  renderHeader();
  renderTrackList();
  renderSelected();
  renderAlerts();
  renderLinks();
  renderGain();
  renderLog();
  drawTimeline();
}

// ---------- interaction ----------
function select_(id) {
  view.selected = id;
  dirty = true;
  panelsDirty = true;
}

function stepSelection(step) {
  const ids = [...view.tracks.keys()];
  if (!ids.length) return;
  const i = ids.indexOf(view.selected);
  select_(ids[(i + step + ids.length) % ids.length]);
}

let fit = zoomIdentity;
const zoomer = zoom().on("zoom", (e) => {
  transform = e.transform;
  dirty = true;
});

function pickTrack(clientX, clientY) {
  const r = canvas.getBoundingClientRect();
  const x = (clientX - r.left - transform.x) / transform.k, y = (clientY - r.top - transform.y) / transform.k;
  let best = null, bestD = (12 / transform.k) ** 2;
  for (const t of view.tracks.values()) {
    const d = (t.px - x) ** 2 + (t.py - y) ** 2;
    if (d < bestD) [best, bestD] = [t.id, d];
  }
  return best;
}

// byOperator: a key, a button or ?nation= chose the view; the page then never switches on its own.
function switchView(code, byOperator = false) {
  if (byOperator) view.chosen = true;
  if (!view.nations.some((n) => n.code === code) || code === view.nation) {
    panelsDirty = true;
    return;
  }
  view.nation = code;
  resetView();
  for (const b of $("views").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.nation === code));
  connect();
  dirty = true;
  panelsDirty = true;
}

function connect() {
  if (view.source) view.source.close();
  const conn = $("conn");
  conn.className = "conn";
  conn.textContent = "connecting";
  const src = new EventSource(`/api/stream?nation=${encodeURIComponent(view.nation)}`);
  view.source = src;
  src.addEventListener("open", () => {
    if (src !== view.source || view.ended) return;
    conn.className = "conn ok";
    conn.textContent = `connected: ${NATIONS[view.nation]} view`;
  });
  src.addEventListener("error", () => {
    if (src !== view.source) return;
    if (view.ended) { // the run is over: nothing to reconnect to
      src.close();
      showEnded();
      return;
    }
    conn.className = "conn bad";
    conn.textContent = "link to node lost, reconnecting";
  });
  src.addEventListener("delta", (ev) => {
    if (src !== view.source) return;
    applyDelta(JSON.parse(ev.data));
  });
}

// The server says the run has ended (PictureDelta.ended): stop listening and say so, instead of a
// reconnect loop once the server has gone.
function runEnded() {
  view.ended = true;
  if (view.source) view.source.close();
  stopAlertWatch();
  showEnded();
}

function showEnded() {
  const conn = $("conn");
  conn.className = "conn ended";
  conn.textContent = view.picture && view.picture.mode === "live" ? "node run ended" : "exercise ended";
  document.documentElement.dataset.ended = "1";
  panelsDirty = true;
}

// Without a view asked for (?nation=, a key, a button) the page follows the action: it opens on the
// view whose nation alerted first, or switches to it when the first alert is issued, and says so.
let alertWatch = null;
function stopAlertWatch() {
  if (alertWatch !== null) clearInterval(alertWatch);
  alertWatch = null;
}

function firstAlerted(nations) {
  const alerted = nations.filter((n) => n.first_alert_unix_s !== null && n.first_alert_unix_s !== undefined)
    .sort((a, b) => a.first_alert_unix_s - b.first_alert_unix_s);
  return alerted.length ? { code: alerted[0].code, t: alerted[0].first_alert_unix_s, t0: alerted[0].t0_unix_s } : null;
}

async function checkFirstAlert() {
  if (view.chosen || view.ended) return stopAlertWatch();
  let nations;
  try {
    nations = await fetch("/api/nations").then((res) => res.json());
  } catch {
    return; // the next check tries again
  }
  const first = firstAlerted(nations);
  if (!first || view.chosen || view.ended) return;
  stopAlertWatch();
  view.firstAlert = first;
  switchView(first.code);
  panelsDirty = true;
}

function renderViewNote() {
  const note = $("view-note");
  const fa = view.nations.length > 1 ? view.firstAlert : null; // one view only: nothing to choose
  let text = "";
  if (fa) {
    const when = `${hms(fa.t, "UTC")} UTC${fa.t0 !== null && fa.t0 !== undefined ? ` (T+${Math.round(fa.t - fa.t0)} s)` : ""}`;
    text = view.nation === fa.code ? `showing ${NATIONS[fa.code]}: first alert at ${when}`
      : `first alert: ${NATIONS[fa.code]} view at ${when}`;
  } else if (alertWatch !== null && view.nation) {
    text = `showing ${NATIONS[view.nation]}: no alert yet; the view turns to the first nation that alerts`;
  }
  if (note.textContent !== text) note.textContent = text;
}

function onKey(e) {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const tag = (e.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea") return;
  const codes = view.nations.map((n) => n.code);
  if (/^[1-9]$/.test(e.key) && codes[Number(e.key) - 1]) return switchView(codes[Number(e.key) - 1], true);
  const key = e.key.toLowerCase();
  if (key === "n" || e.key === "]") return stepSelection(1);
  if (key === "p" || e.key === "[") return stepSelection(-1);
  if (e.key === "Escape") return select_(null);
  if (e.target !== canvas) return;
  const sel = select(canvas);
  const step = 60 / transform.k;
  const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
  if (moves[e.key]) {
    zoomer.translateBy(sel, ...moves[e.key]);
    e.preventDefault();
  } else if (e.key === "+" || e.key === "=") zoomer.scaleBy(sel, 1.4);
  else if (e.key === "-") zoomer.scaleBy(sel, 1 / 1.4);
  else if (e.key === "0") zoomer.transform(sel, fit);
}

function frame(now) {
  stats.frameTimes.push(now);
  if (stats.frameTimes.length > 2000) stats.frameTimes.splice(0, 1000);
  if (dirty) {
    dirty = false;
    drawMap();
  }
  if (panelsDirty) {
    panelsDirty = false;
    renderPanels();
  }
  if (!stats.ready && base && (view.picture || stats.noPictureYet)) {
    stats.ready = true;
    stats.usableMs = performance.now();
    performance.mark("triwarn-usable");
    document.documentElement.dataset.ready = "1";
  }
  requestAnimationFrame(frame);
}

function legend() {
  const items = Object.entries(STATE_WORDS).map(([s, w]) => el("span", {},
    el("span", { class: "swatch", style: `display:inline-block;background:${STATE_COLOURS[s]};margin-right:4px` }), w));
  items.push(el("span", {}, el("span", { class: "swatch", style: `display:inline-block;background:${PREDICTION_COLOUR};margin-right:4px` }),
    "predicted impact (ellipse, ✕), dashed: ground track"));
  items.push(el("span", {}, el("span", { class: "swatch", style: `display:inline-block;background:${ORBIT_COLOUR};margin-right:4px` }),
    "orbit ahead (○ entering an area)"));
  items.push(el("span", {}, el("span", { class: "swatch", style: `display:inline-block;background:${ZONE_COLOUR};margin-right:4px` }),
    "declared hazard zone"));
  items.push(el("span", {}, ...Object.entries(KIND_COLOURS).flatMap(([k, c]) => [el("span", { style: `color:${c}` }, "● "), `${k} `]),
    "▲ launch"));
  $("legend").replaceChildren(...items);
}

async function main() {
  legend();
  performance.mark("triwarn-start");
  projection = baseProjection();
  const worldP = fetch("/static/basemap.json").then((res) => res.json());
  const areasP = fetch("/api/areas.geojson").then((res) => (res.ok ? res.json() : { features: [] }))
    .catch(() => ({ features: [] }));
  // The session first: without one the console sends the page to /login (docs/console.md).
  const me = await whoAmI();
  if (me) showUser(me, $("who"));
  const nations = await fetch("/api/nations").then((res) => res.json());
  view.nations = nations;
  const views = $("views");
  nations.forEach((n, i) => views.append(el("button", {
    type: "button", "data-nation": n.code, "aria-pressed": "false", title: `${n.name} view (key ${i + 1})`,
    onclick: () => switchView(n.code, true),
  }, `${NATIONS[n.code]} view`)));
  // The picture streams in while the outlines load and are projected.
  const first = nations.find((n) => n.has_picture) || nations[0];
  if (!nations.some((n) => n.has_picture)) stats.noPictureYet = true;
  const wanted = new URLSearchParams(location.search).get("nation");
  if (nations.some((n) => n.code === wanted)) switchView(wanted, true);
  else {
    view.firstAlert = firstAlerted(nations);
    switchView(view.firstAlert ? view.firstAlert.code : first.code);
    if (!view.firstAlert && nations.length > 1) alertWatch = setInterval(checkFirstAlert, 2000);
  }
  operatorPanel(me, $("operator"), () => view.nation);
  const r = canvas.getBoundingClientRect();
  fit = fitTransform(r.width, r.height);
  zoomer.scaleExtent([fit.k * 0.5, fit.k * 60]);
  select(canvas).call(zoomer).call(zoomer.transform, fit).on("dblclick.zoom", null);
  canvas.addEventListener("click", (e) => {
    const id = pickTrack(e.clientX, e.clientY);
    if (id) select_(id);
  });
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", () => {
    overlayBoxes = null;
    dirty = true;
    panelsDirty = true;
  });
  requestAnimationFrame(frame);
  // The map is usable with the coastlines; prefecture and province lines follow when they arrive.
  base = buildBase(await worldP);
  performance.mark("triwarn-basemap");
  dirty = true;
  const areas = await areasP;
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0))); // draw first
  addAreas(areas);
  performance.mark("triwarn-areas");
}

// Exposed for the browser tests and the benchmark: pan by pixels, and the current view's numbers.
window.__triwarnPan = (dx, dy) => zoomer.translateBy(select(canvas), dx / transform.k, dy / transform.k);
window.__triwarnZoom = (factor) => zoomer.scaleBy(select(canvas), factor);
window.__triwarnScreenOf = (id) => {
  const t = view.tracks.get(id);
  return t ? toScreen(t.px, t.py) : null;
};
window.__triwarnView = () => ({
  nation: view.nation, tracks: view.tracks.size, alerts: view.alerts.length, selected: view.selected,
  areaOutlines: base ? base.areas.size : 0, labelsHidden, ended: view.ended,
  orbits: view.orbits.map((o) => ({ track: o.track, points: o.groundPx.length, areas: o.areas_over.map((a) => a.area) })),
  zones: view.zones.map((z) => z.label), drawn: { ...stats.drawn },
  gain: { rows: view.gain.sharing_gain.length, final: view.gain.sharing_gain_final },
  stream: view.source ? ["connecting", "open", "closed"][view.source.readyState] : "none",
});

main().catch((err) => {
  $("conn").className = "conn bad";
  $("conn").textContent = `failed to start: ${err}`;
  throw err;
});
