"""An exercise's figures: what the truth did, what each node saw and said, and what sharing gained.

`Recorder.on_step` is fed every node's StepResult during the shared run. It keeps, per node, a thinned
record of system tracks and impact predictions (for the map) and, at every step, the error of each
track against the nearest true object and of each ballistic impact prediction against the true impact
point of the object the track is attributed to (`attribute_tracks`: among the true objects a track cannot
tell apart, the warhead). A spent stage that flies beside its warhead (in vacuum on the same path) lands
kilometres short of it under drag, so attributing a track on the pair to whichever object happens to be
a metre nearer mixed the warhead's and the stage's errors in one series. `exercise_metrics` then joins
that with the truth's area crossings (AreaIndex over the true ground tracks), the first alerts with and
without sharing, the lockstep's latencies and timings, and the planned faults. Units: times unix seconds
(sim clock) unless named *_wall_s, distances metres, positions degrees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.node.core import StepResult
from triwarn.node.lockstep import RunLog
from triwarn.records.events import ImpactPrediction
from triwarn.sensors.paths import ObjectPaths
from triwarn.warn.fall_notice import PieceFall

MAP_INTERVAL_S = 10.0  # map samples of tracks and ellipses per node and track
# True objects within this distance of each other (or within 3 sigma of the track's position error) are
# one blob to the track: it cannot be attributed to either by distance.
RESOLVE_FLOOR_M = 1000.0
# A track's latest impact prediction stands for it in the error series for this long.
PREDICTION_HOLD_S = 15.0
WARHEAD = "warhead"
WARN_ZONES = ("land", "territorial_sea")  # where J-Alert practice warns (not the EEZ)


@dataclass
class Recorder:
    """Collects per-step figures of the shared run (see the module docstring)."""

    paths: ObjectPaths
    map_interval_s: float = MAP_INTERVAL_S
    tracks: list[dict] = field(default_factory=list)  # thinned: node, track, t, lat, lon, alt, nations
    ellipses: list[dict] = field(default_factory=list)  # thinned impact predictions
    track_error: list[tuple[str, float, float]] = field(default_factory=list)  # node, t, median error m
    # node, t, track, attributed object id, error m
    impact_error: list[tuple[str, float, str, str, float]] = field(default_factory=list)
    # (node, object id) -> the node's latest ballistic prediction attributed to that object before it came
    # down: {t, lat, lon, time_unix_s, track} (the falling pieces' table, exercise.falls)
    fall_predictions: dict[tuple[str, str], dict] = field(default_factory=dict)
    # the sea notices of falling pieces (warn.fall_notice) as issued: node, sent, identifier, track, the
    # object the track followed then (None: unknown), point, zone verdict
    fall_notices: list[dict] = field(default_factory=list)
    _track_obj: dict[tuple[str, str], int] = field(default_factory=dict)
    _last_map: dict[tuple[str, str], float] = field(default_factory=dict)
    _last_ell: dict[tuple[str, str], float] = field(default_factory=dict)
    _impact_lat: np.ndarray = field(init=False)
    _impact_lon: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.paths.n_objects:
            last = self.paths.pos_ecef_m[self.paths.start[1:] - 1]
            lat, lon, _ = ecef_to_geodetic(last)
            self._impact_lat, self._impact_lon = np.degrees(lat), np.degrees(lon)
        else:
            self._impact_lat = self._impact_lon = np.zeros(0)

    def on_step(self, nation: str, res: StepResult) -> None:
        t = res.t_unix_s
        attributed: dict[str, int] = {}
        system = res.system_tracks
        live = system.take(~system.coasting) if len(system) else system
        if len(live):
            pos = live.pos_ecef_m
            lat, lon, alt = live.lat_deg, live.lon_deg, live.alt_m
            ids = live.track_id.tolist()
            truth = self.paths.sample(np.array([t]))
            if len(truth):
                sigma = np.sqrt(np.clip(np.trace(live.cov_ecef_m2[:, :3, :3], axis1=-2, axis2=-1), 0.0, None))
                kinds = np.asarray(self.paths.kind, dtype=object)[truth.object_idx]
                obj, err = attribute_tracks(pos, sigma, truth.pos_ecef_m, kinds == WARHEAD)
                self.track_error.append((nation, t, float(np.median(err))))
                attributed = {tid: int(truth.object_idx[obj[i]]) for i, tid in enumerate(ids)}
                self._track_obj.update({(nation, tid): o for tid, o in attributed.items()})
            for i, tid in enumerate(ids):
                key = (nation, tid)
                if t - self._last_map.get(key, -np.inf) >= self.map_interval_s:
                    self._last_map[key] = t
                    self.tracks.append({"node": nation, "track": tid, "t": t, "lat": round(float(lat[i]), 4),
                                        "lon": round(float(lon[i]), 4), "alt_km": round(float(alt[i]) / 1e3, 1),
                                        "nations": list(live.nations[i])})
        for ev in res.events:
            if not isinstance(ev, ImpactPrediction):
                continue
            self._fall_prediction(nation, t, ev)
            obj = attributed.get(ev.track)
            if obj is not None and not ev.powered and ev.object != "separated":
                d, _ = geodesic.inverse(ev.lat_deg, ev.lon_deg, self._impact_lat[obj], self._impact_lon[obj])
                self.impact_error.append((nation, t, ev.track, self.paths.object_ids[obj], float(d)))
            key = (nation, ev.track)
            if t - self._last_ell.get(key, -np.inf) >= self.map_interval_s:
                self._last_ell[key] = t
                self.ellipses.append({"node": nation, "track": ev.track, "t": t, "lat": ev.lat_deg,
                                      "lon": ev.lon_deg, "a_m": ev.semi_major_m, "b_m": ev.semi_minor_m,
                                      "az_deg": ev.orientation_deg, "powered": ev.powered})
        for m in res.warnings:
            if isinstance(m.impact, PieceFall):
                obj = self._track_obj.get((nation, m.impact.track))
                f = m.impact
                self.fall_notices.append({
                    "node": nation, "sent_unix_s": m.sent_unix_s, "identifier": m.identifier, "msg_type": m.msg_type,
                    "track": f.track, "object": None if obj is None else self.paths.object_ids[obj],
                    "lat_deg": f.lat_deg, "lon_deg": f.lon_deg, "zone": f.zone, "inside": f.inside,
                    "zone_km": f.zone_km})

    def _fall_prediction(self, nation: str, t: float, ev: ImpactPrediction) -> None:
        """Keep the node's latest ballistic prediction of each object's fall, made before it came down."""
        obj = self._track_obj.get((nation, ev.track))
        if ev.powered or obj is None or t > self.paths.t_last_s[obj]:
            return
        self.fall_predictions[(nation, self.paths.object_ids[obj])] = {
            "t_unix_s": t, "lat_deg": ev.lat_deg, "lon_deg": ev.lon_deg, "time_unix_s": ev.time_unix_s,
            "track": ev.track}


def attribute_tracks(pos_ecef_m, pos_sigma_m, truth_pos_ecef_m, truth_is_warhead) -> tuple[np.ndarray, np.ndarray]:
    """The true object each track stands for, and its distance to the nearest true object.

    pos_ecef_m (N, 3) tracks' positions, pos_sigma_m (N,) their position error (root of the covariance
    trace), truth_pos_ecef_m (M, 3) the true objects at the same time, truth_is_warhead (M,). Returns
    (index into the M objects (N,), nearest distance m (N,)). Objects within max(RESOLVE_FLOOR_M,
    3 sigma) of the nearest one cannot be told apart by the track; among those the warhead is chosen
    (the object the warning is about), else the nearest.
    """
    pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
    truth = np.asarray(truth_pos_ecef_m, float).reshape(-1, 3)
    gap = np.linalg.norm(pos[:, None, :] - truth[None, :, :], axis=-1)
    nearest = gap.min(axis=1)
    resolve = np.maximum(RESOLVE_FLOOR_M, 3.0 * np.asarray(pos_sigma_m, float).reshape(-1))
    blob = gap <= (nearest + resolve)[:, None]
    # Rank: warheads in the blob first (by distance), then other objects in the blob, the rest never.
    rank = np.where(blob, gap + np.where(np.asarray(truth_is_warhead, bool), 0.0, 1e12)[None, :], np.inf)
    return np.argmin(rank, axis=1), nearest


def impact_error_series(rows, hold_s: float = PREDICTION_HOLD_S) -> dict[str, list[tuple[float, float]]]:
    """One node's impact-prediction error per true object against time.

    rows: [t_unix_s, track, object id, error m] in time order. Each track's latest prediction stands for
    it for hold_s; at each time an object's prediction arrives, its value is the median over the node's
    tracks attributed to it whose latest prediction is that recent (a node holding two tracks of one
    object whose predictions come at different steps gives one steady line, not a zigzag between them).
    Returns {object id: [(t_unix_s, error m), ...]}.
    """
    latest: dict[str, tuple[str, float, float]] = {}  # track -> (object, t, error)
    out: dict[str, list[tuple[float, float]]] = {}
    for t, track, obj, err in rows:
        latest[track] = (obj, t, err)
        held = [e for o, tt, e in latest.values() if o == obj and t - tt <= hold_s]
        series = out.setdefault(obj, [])
        if series and series[-1][0] == t:
            series[-1] = (t, float(np.median(held)))
        else:
            series.append((t, float(np.median(held))))
    return out


def truth_ground_tracks(paths: ObjectPaths, dt_s: float = 1.0) -> list[dict]:
    """Each object's ground track sampled every dt_s: id, kind, launch, t[], lat[], lon[], alt_km[]."""
    out = []
    for o, oid in enumerate(paths.object_ids):
        a, b = paths.start[o], paths.start[o + 1]
        t = paths.t_unix_s[a:b]
        grid = np.arange(np.ceil(t[0] / dt_s) * dt_s, t[-1], dt_s)
        grid = np.append(grid, t[-1])
        one = ObjectPaths([oid], [paths.kind[o]], [paths.launch[o]], t, paths.pos_ecef_m[a:b],
                          paths.vel_ecef_mps[a:b], paths.boost[a:b], np.array([0, b - a]))
        s = one.sample(grid)
        lat, lon, alt = ecef_to_geodetic(s.pos_ecef_m)
        out.append({"id": oid, "kind": paths.kind[o], "launch": paths.launch[o], "t": s.t_unix_s,
                    "lat": np.degrees(lat), "lon": np.degrees(lon), "alt_km": alt / 1e3})
    return out


def truth_area_passages(ground: list[dict], areas) -> list[dict]:
    """When each true object was over each area's land or territorial sea (first and last sample).

    impact: the object came down there. Also lists EEZ-only impacts (zone "eez") for the record.
    """
    out = []
    for g in ground:
        codes, zones = areas.classify(g["lat"], g["lon"])
        inside = np.isin(zones, WARN_ZONES)
        for code in sorted(set(codes[inside].tolist())):
            idx = np.flatnonzero(inside & (codes == code))
            out.append({"area": code, "object": g["id"], "kind": g["kind"],
                        "enter_unix_s": float(g["t"][idx[0]]), "exit_unix_s": float(g["t"][idx[-1]]),
                        "impact": bool(idx[-1] == len(g["t"]) - 1)})
        if codes.size and zones[-1] == "eez":
            out.append({"area": str(codes[-1]), "object": g["id"], "kind": g["kind"],
                        "enter_unix_s": float(g["t"][-1]), "exit_unix_s": float(g["t"][-1]), "impact": True,
                        "zone": "eez"})
    return out


def gain_reason(shared_unix_s: float | None, alone_unix_s: float | None, enter_unix_s: float | None = None,
                on_path: bool | None = None) -> str:
    """Why sharing gained what it did for one (node, area): a short sentence for the report and the
    replay summary. enter_unix_s: when the true object entered the area (None: unknown or never);
    on_path: whether the truth crossed the area at all (None: no truth, e.g. a replay)."""
    if shared_unix_s is None and alone_unix_s is None:
        return "no shelter alert in either run"
    if shared_unix_s is None:
        if on_path is False:
            return "alone only: a needless alert (the object never crossed the area) that sharing avoided"
        return "alone only: with sharing the area was never put under shelter"
    if alone_unix_s is None:
        return "with sharing only: the node's own sensors never gave an alert"
    gain = alone_unix_s - shared_unix_s
    if gain > 0:
        return "earlier with sharing: partner tracks brought the alert rule's condition forward"
    if gain < 0:
        return "later with sharing: a fault (sharing must never delay an alert; bench/bench_sharing_gain.py)"
    return ("0 s: both runs met the alert rule at the same step; the node's own sensors had the data the "
            "rule needed as early as the partners")


def notice_gain_reason(shared_unix_s: float | None, alone_unix_s: float | None) -> str:
    """Why sharing gained what it did for one (node, area)'s first information notice (an impact in the
    EEZ, or a falling piece's notice at sea: area code ".../sea"), as gain_reason does for shelter."""
    if shared_unix_s is None and alone_unix_s is None:
        return "no notice in either run"
    if shared_unix_s is None:
        return "alone only: with sharing no notice was issued here"
    if alone_unix_s is None:
        return "with sharing only: the node's own sensors never gave a notice"
    gain = alone_unix_s - shared_unix_s
    if gain > 0:
        return "earlier with sharing: partner tracks brought the notice rule's condition forward"
    if gain < 0:
        return ("later with sharing: the shared picture's prediction met the notice rule later (sharing should "
                "never delay a notice)")
    return "0 s: both runs met the notice rule at the same step"


def first_alert_table(alerts_shared: Mapping, alerts_alone: Mapping | None, passages: list[dict]) -> list[dict]:
    """One row per (node, area) alerted in either run or crossed by the truth (over land or sea).

    first shelter alert with and without sharing, the gain (alone - shared), the true entry time and the
    warning time (entry - first shelter alert, shared), all unix s or seconds.
    """
    def firsts(alerts: Mapping | None) -> dict[tuple[str, str], dict]:
        out: dict[tuple[str, str], dict] = {}
        for node, incs in (alerts or {}).items():
            for areas in incs.values():
                for code, rec in areas.items():
                    cur = out.setdefault((node, code), {"shelter": None, "notice": None})
                    for key, src in (("shelter", "first_shelter_unix_s"), ("notice", "first_notice_unix_s")):
                        v = rec.get(src)
                        if v is not None and (cur[key] is None or v < cur[key]):
                            cur[key] = v
        return out

    shared, alone = firsts(alerts_shared), firsts(alerts_alone)
    enter: dict[str, float] = {}
    for p in passages:
        if p.get("zone") != "eez":
            enter[p["area"]] = min(enter.get(p["area"], np.inf), p["enter_unix_s"])
    nodes = sorted({k[0] for k in shared} | {k[0] for k in alone})
    keys = set(shared) | set(alone)
    for code in enter:  # a crossed area its nation never alerted is a row too (a miss)
        owner = code[:2].lower()
        if owner in nodes:
            keys.add((owner, code))
    rows = []
    for node, code in sorted(keys):
        s = shared.get((node, code), {})
        a = alone.get((node, code), {})
        ts, ta = s.get("shelter"), a.get("shelter")
        ns, na = s.get("notice"), a.get("notice")
        te = enter.get(code)
        rows.append({"node": node, "area": code, "first_shelter_shared_unix_s": ts,
                     "first_shelter_alone_unix_s": ta,
                     "first_notice_shared_unix_s": ns, "first_notice_alone_unix_s": na,
                     "gain_s": (ta - ts) if ts is not None and ta is not None else None,
                     "notice_gain_s": (na - ns) if ns is not None and na is not None else None,
                     "gain_reason": gain_reason(ts, ta, te, on_path=te is not None),
                     "notice_gain_reason": notice_gain_reason(ns, na),
                     "truth_enter_unix_s": te,
                     "warning_time_s": (te - ts) if te is not None and ts is not None else None})
    return rows


def histogram(values, bins: int = 20) -> dict:
    """Counts over equal bins: {edges, counts, n, p50, p95, max} (empty-safe)."""
    v = np.asarray([x for x in values if x is not None], float)
    if v.size == 0:
        return {"edges": [], "counts": [], "n": 0, "p50": None, "p95": None, "max": None}
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        hi = lo + 1e-9
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return {"edges": edges.tolist(), "counts": counts.tolist(), "n": int(v.size),
            "p50": float(np.percentile(v, 50)), "p95": float(np.percentile(v, 95)), "max": float(v.max())}


def exercise_metrics(*, plan_info: dict, recorder: Recorder, run_log: RunLog, stats: Mapping,
                     alerts_shared: Mapping, alerts_alone: Mapping | None, passages: list[dict],
                     inject_effects: list[dict], wall_s: Mapping[str, float]) -> dict:
    """Everything metrics.json holds (and report.html draws)."""
    sim_lat = [d.delivered_unix_s - d.published_unix_s for d in run_log.deliveries]
    wall_lat = [d.wall_transit_s * 1e3 for d in run_log.deliveries if d.wall_transit_s is not None]
    step_ms = {n: [t.wall_s * 1e3 for t in run_log.timings if t.nation == n]
               for n in sorted({t.nation for t in run_log.timings})}
    rejections = {}
    for key, counters in stats.items():
        if key.endswith("_counters"):
            nation = key[: -len("_counters")]
            rejections[nation] = {k[len("recv_"):]: v for k, v in counters.items()
                                  if k.startswith("recv_") and k != "recv_accepted" and v}
    received = {}
    for d in run_log.deliveries:
        per = received.setdefault(d.receiver, {})
        per[d.sender] = per.get(d.sender, 0) + 1
    impact_err: dict[str, list] = {}
    for node, t, track, obj, err in recorder.impact_error:
        impact_err.setdefault(node, []).append([t, track, obj, round(err, 1)])
    kinds = dict(zip(recorder.paths.object_ids, recorder.paths.kind, strict=True))
    by_object = {node: {obj: [[t, round(e, 1)] for t, e in pts] for obj, pts in impact_error_series(rows).items()}
                 for node, rows in impact_err.items()}
    track_err = {}
    for node, t, err in recorder.track_error:
        track_err.setdefault(node, []).append([t, round(err, 1)])
    table = first_alert_table(alerts_shared, alerts_alone, passages)
    return {
        "exercise": plan_info,
        "wall_s": dict(wall_s),
        "transport": {k: v for k, v in stats.items() if not k.endswith("_counters")},
        "rejections": rejections,
        "delivered_by_receiver": received,
        "latency": {
            "sim_s": histogram(sim_lat),
            "wall_transit_ms": histogram(wall_lat),
            "step_wall_ms": {n: histogram(v) for n, v in step_ms.items()},
        },
        "first_alerts": table,
        "truth_passages": passages,
        "prediction_error": {"impact_m": impact_err, "impact_by_object_m": by_object,
                             "object_kinds": {o: kinds[o] for rows in impact_err.values() for _, _, o, _ in rows},
                             "track_m": track_err},
        "faults": plan_info.get("faults", []),
        "inject_effects": inject_effects,
        "held_max": dict(run_log.held_max),
    }
