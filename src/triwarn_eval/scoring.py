"""Warnings scored against the truth of a simulated flight (issue 6's goals), for benchmarks and tests.

    path = warhead_path(read_truth("truth.jsonl"))
    score = score_warnings(path, summary["alerts"], events, AreaIndex.load())

The truth is the warhead's flown path (truth.jsonl from `triwarn simulate`). An area is *on the path*
when the warhead's ground point passes over its land or territorial sea, or it lands there; it is
*reached* at the first such moment. Distances from an area to the path are measured from the area's
land plus territorial sea to the ground track (impact point included) in an azimuthal equidistant
projection centred on the area (well under 1% off over the few hundred kilometres that matter).

Figures (times Unix s; lead and delay in seconds):
  - lead_s per area on the path: reach time minus the first shelter alert (goal >= 180 s);
  - delay_s per alerted area: first shelter alert minus the first trusted prediction at or above the
    threshold (goal <= 60 s);
  - false_alerts: shelter alerts for areas more than far_m (100 km) from the ground track and impact;
  - wrong_passed: "passed" for an area the warhead had not truly passed at that time;
  - early_clear: all-clear or cancel for an area on the path before the closest approach of the warhead
    (or, with `companions`, of any object that counts, see clear_lag_s);
  - clear_lag_s per cleared area on the path: all-clear minus the evidence (the warhead landed, or its
    ground point is beyond_m past the area), goal <= 10 s. The all-clear is when the area left the last
    incident of the node that warned it. With `companions`, the launch's other objects that the node
    tracked on their own (a spent stage falling over the area is a threat as real as the warhead's
    overflight) must be past it too: the evidence is the latest of them all, and evidence_object says
    whose it was;
  - off_path_alerts: shelter alerts for areas not on the path but within far_m (not false by the goal's
    rule; the cut-off path's lateral margin and adjacent subdivisions give such alerts), with distance;
  - first_seen / after_first_seen_s (with `first_seen`, e.g. from `first_sightings`): an area reached
    less than 180 s after launch cannot get 180 s of lead; the most physics allows is an alert soon
    after the first detection, so each area's first shelter alert is also given after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from triwarn.exercise.alerts import area_firsts
from triwarn.geo.frames import ecef_to_geodetic, geodetic_to_ecef
from triwarn.sensors.truth_reader import TruthLog

MEAN_EARTH_RADIUS_M = 6_371_008.8
FAR_M = 100e3
BEYOND_M = 300e3
TRUSTED_QUALITY = 0.5
DISTRUSTED_FLAGS = ("short_track", "implausible_state", "separated_piece")  # separated: overflight only


@dataclass
class TruthPath:
    """One object's flown path: times (Unix s) and geodetic ground points (degrees), heights (m)."""

    object_id: str
    t_unix_s: NDArray[np.float64]
    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    alt_m: NDArray[np.float64]

    @property
    def launch_unix_s(self) -> float:
        return float(self.t_unix_s[0])

    @property
    def impact_unix_s(self) -> float:
        return float(self.t_unix_s[-1])


def _object_path(truth: TruthLog, object_id: str) -> TruthPath:
    k = truth.object_ids.index(object_id)
    rows = np.flatnonzero(truth.object_idx == k)
    rows = rows[np.argsort(truth.t_unix_s[rows], kind="stable")]
    lat, lon, alt = ecef_to_geodetic(truth.pos_ecef_m[rows])
    lon_deg = np.mod(np.degrees(lon) + 180.0, 360.0) - 180.0
    return TruthPath(object_id, truth.t_unix_s[rows].astype(float), np.degrees(lat), lon_deg, alt)


def warhead_path(truth: TruthLog, launch: str | None = None) -> TruthPath:
    """The warhead's path (kind "warhead"; of the given launch, else the first one's)."""
    ids = [o for o in truth.object_ids if truth.kind.get(o) == "warhead"
           and (launch is None or truth.launch.get(o) == launch)]
    if not ids:
        raise ValueError("no warhead in the truth")
    return _object_path(truth, ids[0])


def launch_paths(truth: TruthLog, warhead: TruthPath) -> list[TruthPath]:
    """The paths of the warhead's launch companions (spent stages, debris): every other object of its
    launch, in the truth's order."""
    launch = truth.launch.get(warhead.object_id)
    return [_object_path(truth, o) for o in truth.object_ids
            if o != warhead.object_id and truth.launch.get(o) == launch]


def _ecef_at(path: TruthPath, t_unix_s: NDArray[np.float64]) -> NDArray[np.float64]:
    """The path's ECEF position (m) at each time, linear between samples; NaN outside the flight."""
    ecef = geodetic_to_ecef(np.radians(path.lat_deg), np.radians(path.lon_deg), path.alt_m)
    out = np.column_stack([np.interp(t_unix_s, path.t_unix_s, ecef[:, i]) for i in range(3)])
    out[(t_unix_s < path.t_unix_s[0]) | (t_unix_s > path.t_unix_s[-1])] = np.nan
    return out


def tracked_objects(paths: list[TruthPath], tracks: Iterable[Mapping],
                    radius_m: float = 30e3) -> dict[str, set[str]]:
    """node -> ids of the objects (of paths) that one of its system tracks followed on its own: a tracks.jsonl
    record ("node", "t", "ecef_m") within radius_m of that object and farther than radius_m from every
    other one at that time. Objects flying together (a warhead and the stage still beside it) are not
    told apart, so neither counts as tracked by that record."""
    recs = list(tracks)
    if not recs or not paths:
        return {}
    t = np.array([float(r["t"]) for r in recs])
    pos = np.array([r["ecef_m"] for r in recs], float)
    nodes = np.array([str(r.get("node", "")) for r in recs])
    dist = np.stack([np.linalg.norm(pos - _ecef_at(p, t), axis=1) for p in paths], axis=1)  # (R, O)
    near = np.nan_to_num(dist, nan=np.inf) <= radius_m
    alone = near & (near.sum(axis=1, keepdims=True) == 1)
    out: dict[str, set[str]] = {}
    for r, o in zip(*np.nonzero(alone), strict=True):
        out.setdefault(str(nodes[r]), set()).add(paths[o].object_id)
    return out


@dataclass
class AreaTruth:
    """How the warhead's flight relates to one area (land plus territorial sea)."""

    code: str
    distance_m: float  # least distance from the ground track (and impact point) to the area
    on_path: bool  # the ground point passed over it, or the warhead landed in it
    reach_unix_s: float | None  # first time over it (on_path only)
    closest_unix_s: float  # when the ground point was nearest to it
    evidence_unix_s: float  # when the flight is certainly no threat to it: beyond_m past, or landed
    distances_m: NDArray[np.float64] = field(repr=False, default_factory=lambda: np.zeros(0))


def area_truth(path: TruthPath, areas, codes: Iterable[str], *, beyond_m: float = BEYOND_M,
               simplify_deg: float = 0.005) -> dict[str, AreaTruth]:
    """AreaTruth of each code; areas is a triwarn.geo.areas.AreaIndex."""
    codes_on = _codes_on_path(path, areas)
    out: dict[str, AreaTruth] = {}
    for code in sorted(set(codes)):
        geom = areas.geometry(code, "territorial_sea", nested=True)
        geom = shapely.simplify(geom, simplify_deg)
        centre = geom.representative_point()
        proj = pyproj.Proj(proj="aeqd", lat_0=centre.y, lon_0=centre.x, ellps="WGS84")
        flat = shapely.transform(geom, lambda xy, proj=proj: np.column_stack(proj(xy[:, 0], xy[:, 1])))
        px, py = proj(path.lon_deg, path.lat_deg)
        dist = shapely.distance(flat, shapely.points(px, py))
        dist = np.asarray(dist, float)
        k = int(np.argmin(dist))
        reach = codes_on.get(code)
        # Beyond (as the warning stage judges it): the whole area at least beyond_m behind the ground
        # point along its course, after the closest approach; else the flight's end.
        behind = _far_edge_along_m(path, geom) <= -beyond_m
        after = np.flatnonzero((np.arange(dist.size) > k) & behind)
        evidence = float(path.t_unix_s[after[0]]) if after.size else path.impact_unix_s
        out[code] = AreaTruth(code, float(dist.min()), reach is not None, reach, float(path.t_unix_s[k]),
                              evidence, dist)
    return out


def _far_edge_along_m(path: TruthPath, geom) -> NDArray[np.float64]:
    """Per path point, the greatest signed distance (m, positive ahead) along the ground course of the
    area's outline (convex hull of each part), on the mean sphere like triwarn.warn.geometry."""
    xy = np.concatenate([np.asarray(shapely.get_coordinates(part.convex_hull))
                         for part in shapely.get_parts(geom) if not part.is_empty])
    outline = _unit(xy[:, 1], xy[:, 0])  # (V, 3)
    here = _unit(path.lat_deg, path.lon_deg)  # (T, 3)
    step = np.diff(here, axis=0, prepend=here[:1])
    step[0] = here[1] - here[0] if len(here) > 1 else 0.0
    ahead = step - np.sum(step * here, axis=1, keepdims=True) * here
    ahead /= np.maximum(np.linalg.norm(ahead, axis=1, keepdims=True), 1e-12)
    along = MEAN_EARTH_RADIUS_M * np.arctan2(ahead @ outline.T, here @ outline.T)  # (T, V)
    return along.max(axis=1)


def _unit(lat_deg, lon_deg) -> NDArray[np.float64]:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _codes_on_path(path: TruthPath, areas) -> dict[str, float]:
    """First time (Unix s) the ground point is over each area's land or territorial sea."""
    # Ground points every ~1 km at most: a 12 nm sea is ~22 km wide, the warhead flies ~3-4 km/s.
    n = path.t_unix_s.size
    sub = 8
    f = np.arange(sub) / sub
    t = (path.t_unix_s[:-1, None] + f * np.diff(path.t_unix_s)[:, None]).ravel()
    lon_unwrapped = np.degrees(np.unwrap(np.radians(path.lon_deg)))
    lat = np.interp(t, path.t_unix_s, path.lat_deg)
    lon = np.mod(np.interp(t, path.t_unix_s, lon_unwrapped) + 180.0, 360.0) - 180.0
    if n:
        t = np.r_[t, path.t_unix_s[-1]]
        lat = np.r_[lat, path.lat_deg[-1]]
        lon = np.r_[lon, path.lon_deg[-1]]
    codes, zones = areas.classify(lat, lon)
    over = (codes != "") & np.isin(zones, ("land", "territorial_sea"))
    first: dict[str, float] = {}
    for code, ti in zip(codes[over].tolist(), t[over].tolist(), strict=True):
        first.setdefault(code, ti)
    return first


def _clears(alerts: Mapping) -> dict[tuple[str, str], float]:
    """(node, area) -> when the area left the last of the node's incidents that warned it: the latest
    all-clear or cancel over those incidents; absent while one of them still warns it. One launch can
    open two incidents (a companion taken for a launch of its own); the earliest clear of the two is not
    when people may leave shelter."""
    out: dict[tuple[str, str], float] = {}
    open_: set[tuple[str, str]] = set()
    for node, incidents in alerts.items():
        for areas in incidents.values():
            for code, rec in areas.items():
                ends = [float(rec[k]) for k in ("all_clear_unix_s", "cancel_unix_s") if rec.get(k) is not None]
                if ends:
                    out[(node, code)] = max(out.get((node, code), -np.inf), min(ends))
                elif rec.get("first_shelter_unix_s") is not None or rec.get("first_notice_unix_s") is not None:
                    open_.add((node, code))
    return {k: v for k, v in out.items() if k not in open_}


def trusted_crossings(events: Iterable[Mapping], on_probability: float) -> dict[tuple[str, str], float]:
    """(node, area) -> first time an area_risk the warning stage acts on (quality >= 0.5, no distrusting
    flag, not a boosting object's corridor unless from its cut-off path, not a separated piece's
    overflight; see WarnPolicy) reached on_probability. events are the replay's events.jsonl records
    (with "node")."""
    out: dict[tuple[str, str], float] = {}
    for ev in events:
        if ev.get("type") != "area_risk" or ev.get("probability", 0.0) < on_probability:
            continue
        if ev.get("quality", 1.0) < TRUSTED_QUALITY or set(ev.get("flags") or ()) & set(DISTRUSTED_FLAGS):
            if not (ev.get("kind") == "impact" and ev.get("object") == "separated"
                    and ev.get("quality", 1.0) >= TRUSTED_QUALITY):
                continue
        if ev.get("powered") and "cutoff_path" not in (ev.get("flags") or ()):
            continue
        key = (str(ev.get("node", "")), str(ev["area"]))
        out[key] = min(out.get(key, np.inf), float(ev["t"]))
    return out


NODE_OF_PREFIX = {"JP": "jp", "KR": "kr", "US": "us"}


def first_sightings(path: TruthPath, tracks: Iterable[Mapping], radius_m: float = 30e3) -> dict[str, float]:
    """node -> first time (Unix s) one of its system tracks (replay tracks.jsonl records: "node", "t",
    "ecef_m") was within radius_m of the warhead's true position: when that node first saw the missile."""
    truth_ecef = geodetic_to_ecef(np.radians(path.lat_deg), np.radians(path.lon_deg), path.alt_m)
    out: dict[str, float] = {}
    for rec in tracks:
        node, t = str(rec.get("node", "")), float(rec["t"])
        if t >= out.get(node, np.inf) or not path.t_unix_s[0] <= t <= path.t_unix_s[-1]:
            continue
        k = int(np.clip(np.searchsorted(path.t_unix_s, t), 1, path.t_unix_s.size - 1))
        f = (t - path.t_unix_s[k - 1]) / max(path.t_unix_s[k] - path.t_unix_s[k - 1], 1e-9)
        here = truth_ecef[k - 1] + f * (truth_ecef[k] - truth_ecef[k - 1])
        if np.linalg.norm(np.asarray(rec["ecef_m"], float) - here) <= radius_m:
            out[node] = t
    return out


def score_warnings(path: TruthPath, alerts: Mapping, events: Iterable[Mapping], areas, *,
                   on_probability: float = 0.05, far_m: float = FAR_M, beyond_m: float = BEYOND_M,
                   clear_tolerance_s: float = 10.0, first_seen: Mapping[str, float] | None = None,
                   companions: Mapping[str, Iterable[TruthPath]] | None = None) -> dict:
    """Score one run's warnings (replay summary "alerts") against the truth path. See module doc.

    companions: node -> paths of the launch's other objects that the node tracked on their own (e.g.
    from launch_paths and tracked_objects). Each one whose ground track (impact included) comes within
    far_m of an area also has to be past it: the area's evidence is the latest of theirs and the
    warhead's, and an all-clear before the closest approach of any of them is early."""
    shelter = area_firsts(alerts, "first_shelter_unix_s")
    passed = area_firsts(alerts, "passed_unix_s")
    ends = _clears(alerts)
    on_path = _codes_on_path(path, areas)
    codes = set(on_path) | {c for _n, c in shelter} | {c for _n, c in passed} | {c for _n, c in ends}
    truth = area_truth(path, areas, codes, beyond_m=beyond_m)
    others = {o.object_id: o for paths in (companions or {}).values() for o in paths}
    other_truth = {oid: area_truth(o, areas, [c for _n, c in ends], beyond_m=beyond_m)
                   for oid, o in others.items()}
    node_others = {n: [o.object_id for o in paths] for n, paths in (companions or {}).items()}
    crossings = trusted_crossings(events, on_probability)
    t0 = path.launch_unix_s

    per_area = []
    for code in sorted(on_path):
        node = NODE_OF_PREFIX.get(code[:2], "")
        at = truth[code]
        first = shelter.get((node, code))
        seen = (first_seen or {}).get(node)
        per_area.append({
            "area": code, "node": node, "reach_after_launch_s": round(at.reach_unix_s - t0, 1),
            "shelter_after_launch_s": None if first is None else round(first - t0, 1),
            "lead_s": None if first is None else round(at.reach_unix_s - first, 1),
            "first_seen_after_launch_s": None if seen is None else round(seen - t0, 1),
            "after_first_seen_s": None if first is None or seen is None else round(first - seen, 1),
        })
    delays = []
    for (node, code), t_alert in sorted(shelter.items()):
        t_cross = crossings.get((node, code))
        delays.append({"node": node, "area": code, "crossing_after_launch_s": None if t_cross is None
                       else round(t_cross - t0, 1), "delay_s": None if t_cross is None
                       else round(t_alert - t_cross, 1)})
    false_alerts = [{"node": n, "area": c, "distance_km": round(truth[c].distance_m / 1e3, 1),
                     "after_launch_s": round(t - t0, 1)}
                    for (n, c), t in sorted(shelter.items()) if truth[c].distance_m > far_m]
    off_path_alerts = [{"node": n, "area": c, "distance_km": round(truth[c].distance_m / 1e3, 1),
                        "after_launch_s": round(t - t0, 1)}
                       for (n, c), t in sorted(shelter.items())
                       if not truth[c].on_path and truth[c].distance_m <= far_m]
    wrong_passed = [{"node": n, "area": c, "after_launch_s": round(t - t0, 1)}
                    for (n, c), t in sorted(passed.items())
                    if (not truth[c].on_path and truth[c].distance_m > far_m)
                    or t < truth[c].closest_unix_s or t > path.impact_unix_s]
    early_clear, clear_lag = [], []
    for (n, c), t in sorted(ends.items()):
        at = truth.get(c)
        if at is None or not at.on_path:
            continue
        closest, evidence, by = min(at.closest_unix_s, path.impact_unix_s), at.evidence_unix_s, path.object_id
        for oid in node_others.get(n, ()):
            ot = other_truth[oid][c]
            if ot.distance_m <= far_m:
                closest = max(closest, min(ot.closest_unix_s, others[oid].impact_unix_s))
                if ot.evidence_unix_s > evidence:
                    evidence, by = ot.evidence_unix_s, oid
        if t < closest:
            early_clear.append({"node": n, "area": c, "after_launch_s": round(t - t0, 1),
                                "closest_after_launch_s": round(closest - t0, 1)})
        clear_lag.append({"node": n, "area": c, "lag_s": round(t - evidence, 1), "evidence_object": by})
    leads = [a["lead_s"] for a in per_area if a["lead_s"] is not None]
    delay_vals = [d["delay_s"] for d in delays if d["delay_s"] is not None]
    lags = [c["lag_s"] for c in clear_lag]
    return {
        "warhead": path.object_id,
        "flight_s": round(path.impact_unix_s - t0, 1),
        "areas_on_path": per_area,
        "missed": [a["area"] for a in per_area if a["lead_s"] is None],
        "min_lead_s": min(leads) if leads else None,
        "lead_goal_met": bool(per_area) and all(v is not None and v >= 180.0 for v in
                                                (a["lead_s"] for a in per_area)),
        "alert_delays": delays,
        "max_delay_s": max(delay_vals) if delay_vals else None,
        "false_alerts": false_alerts,
        "off_path_alerts": off_path_alerts,
        "wrong_passed": wrong_passed,
        "early_clear": early_clear,
        "clear_lag": clear_lag,
        "max_clear_lag_s": max(lags) if lags else None,
        "clear_goal_met": all(v <= clear_tolerance_s for v in lags),
    }
