"""The falling pieces of a notified launch against their declared hazard zones (issue 14), for the
exercise's summary.json, metrics.json and report.html.

For a scenario with declared zones (Scenario.hazard_notice) every true object that came down (its path
ends on the ground: stages, fairing, debris, a failed payload) is scored against the zone declared for it,
else the nearest (geo.hazard_zones.score_falls): inside, or how far outside. Beside the truth, per node:
its last ballistic prediction of that piece's fall made before the piece came down (from the tracks the
Recorder attributed to the piece) and its error, and the sea notices it issued for the piece
(warn.fall_notice) with the zone each named. A notice whose track was never attributed to a true object
is put with the piece whose true fall point is nearest its predicted point.

    rows = fall_table(sim.paths, notice, recorder, nations)   # one dict per fallen piece
"""

from __future__ import annotations

import numpy as np

from triwarn.exercise.metrics import Recorder
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.geo.geodesic import inverse
from triwarn.geo.hazard_zones import HazardNotice, score_falls
from triwarn.sensors.paths import ObjectPaths

FELL_ALT_M = 1000.0  # a path that ends below this altitude ended on the ground (an orbit's ends in space)


def fallen_pieces(paths: ObjectPaths) -> list[tuple[int, float, float, float]]:
    """The objects whose path ends on the ground: (object index, fall time unix s, lat, lon degrees)."""
    if not paths.n_objects:
        return []
    lat, lon, alt = ecef_to_geodetic(paths.pos_ecef_m[paths.start[1:] - 1])
    lat, lon = np.degrees(lat), np.degrees(lon)
    return [(o, float(paths.t_last_s[o]), float(lat[o]), float(lon[o])) for o in range(paths.n_objects)
            if alt[o] < FELL_ALT_M]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    d, _ = inverse(lat1, lon1, lat2, lon2)
    return float(d) / 1e3


def verdict_words(inside: bool, zone: str, outside_km: float, declared: bool) -> str:
    """'inside zone A', or '312 km outside zone C' (with '(nearest)' when no zone was declared for it)."""
    where = f"zone {zone}" + ("" if declared else " (nearest; none declared for this piece)")
    return f"inside {where}" if inside else f"{outside_km:.0f} km outside {where}"


def _notices_by_object(recorder: Recorder, falls: list[tuple[int, float, float, float]]) -> dict[tuple[str, str], list]:
    """(node, object id) -> the node's sea notices for that piece, in issue order."""
    ids = recorder.paths.object_ids
    out: dict[tuple[str, str], list] = {}
    for n in recorder.fall_notices:
        obj = n["object"]
        if obj is None or obj not in {ids[o] for o, *_ in falls}:
            if not falls:
                continue
            o = min(falls, key=lambda f: _km(n["lat_deg"], n["lon_deg"], f[2], f[3]))[0]
            obj = ids[o]
        out.setdefault((n["node"], obj), []).append(n)
    return out


def fall_table(paths: ObjectPaths, notice: HazardNotice, recorder: Recorder, nations: list[str]) -> list[dict]:
    """One row per fallen piece, in fall-time order (see the module docstring). Times unix s, distances km."""
    falls = sorted(fallen_pieces(paths), key=lambda f: f[1])
    if not falls or not notice.zones:
        return []
    ids = paths.object_ids
    scores = score_falls(notice, [(ids[o], lat, lon) for o, _, lat, lon in falls])
    notices = _notices_by_object(recorder, falls)
    rows = []
    for (o, t_fall, lat, lon), s in zip(falls, scores, strict=True):
        oid = ids[o]
        nodes = {}
        for n in nations:
            pred = recorder.fall_predictions.get((n, oid))
            if pred is not None:
                pred = {**pred, "error_km": round(_km(pred["lat_deg"], pred["lon_deg"], lat, lon), 2),
                        "before_fall_s": t_fall - pred["t_unix_s"]}
            told = notices.get((n, oid), [])
            last = told[-1] if told else None
            nodes[n] = {"prediction": pred, "notices": len(told),
                        "notice": None if last is None else {k: last[k] for k in (
                            "sent_unix_s", "identifier", "zone", "inside", "zone_km", "lat_deg", "lon_deg")},
                        "notice_named_zone": any(m["zone"] == s.zone for m in told)}
        rows.append({"object": oid, "piece": oid.rsplit("/", 1)[-1], "kind": paths.kind[o], "fall_unix_s": t_fall,
                     "lat_deg": round(lat, 4), "lon_deg": round(lon, 4), "zone": s.zone,
                     "declared_for_piece": s.declared_for_piece, "inside": s.inside,
                     "outside_km": round(s.distance_km, 1),
                     "verdict": verdict_words(s.inside, s.zone, s.distance_km, s.declared_for_piece),
                     "named_by": sorted(n for n, v in nodes.items() if v["notice_named_zone"]), "nodes": nodes})
    return rows


def falls_summary(notice: HazardNotice, rows: list[dict]) -> dict:
    """summary.json's and metrics.json's "falls": the notice, each piece's row, and the counts."""
    return {"notice": notice.ident, "zones": [z.label for z in notice.zones], "pieces": rows,
            "inside": sum(r["inside"] for r in rows), "outside": sum(not r["inside"] for r in rows)}
