"""The bench's scoring of warnings against truth (triwarn_eval.scoring): first sightings, the lead after
them, and alerts off the path that are not false by the 100 km rule."""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

from triwarn.geo.frames import geodetic_to_ecef
from triwarn_eval.scoring import TruthPath, first_sightings, score_warnings, tracked_objects

T0 = 1_700_000_000.0


def _path() -> TruthPath:
    """Due east along the equator from 130E, 0.01 deg/s (~1.1 km/s), 600 s, at 100 km."""
    t = T0 + np.arange(601.0)
    lon = 130.0 + 0.01 * (t - T0)
    return TruthPath("W", t, np.zeros_like(t), lon, np.full_like(t, 100e3))


class _Areas:
    """Three boxes: JP-01 under the path at 132-133E, JP-02 ~55 km north of it, JP-03 ~330 km north."""

    def __init__(self) -> None:
        self.boxes = {"JP-01": box(132.0, -0.2, 133.0, 0.2), "JP-02": box(132.0, 0.5, 133.0, 1.0),
                      "JP-03": box(132.0, 3.0, 133.0, 3.5)}

    def geometry(self, code, zone, nested=True):
        return self.boxes[code]

    def classify(self, lat, lon):
        lat, lon = np.asarray(lat, float), np.asarray(lon, float)
        codes = np.full(lat.shape, "", dtype=object)
        for code, g in self.boxes.items():
            x0, y0, x1, y1 = g.bounds
            codes[(lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)] = code
        zones = np.where(codes != "", "land", "")
        return codes.astype(str), zones.astype(str)


def _record(node, t, lat, lon, alt=100e3):
    return {"node": node, "t": t, "ecef_m": geodetic_to_ecef(np.radians(lat), np.radians(lon), alt).tolist()}


def test_first_sighting_is_the_first_track_near_the_missile():
    path = _path()
    recs = [_record("jp", T0 + 20.0, 5.0, 130.2),  # clutter far away
            _record("jp", T0 + 50.0, 0.0, 130.5),  # the missile (0.01 deg/s * 50 s)
            _record("jp", T0 + 60.0, 0.0, 130.6),
            _record("kr", T0 + 30.0, 0.0, 131.0)]  # 70 km ahead of it at that time: not it
    assert first_sightings(path, recs) == {"jp": T0 + 50.0}


def test_alerts_are_scored_for_lead_after_first_sighting_and_off_path_distance():
    path = _path()
    alerts = {"jp": {"inc": {"JP-01": {"first_shelter_unix_s": T0 + 90.0},
                             "JP-02": {"first_shelter_unix_s": T0 + 90.0},
                             "JP-03": {"first_shelter_unix_s": T0 + 95.0}}}}
    sc = score_warnings(path, alerts, [], _Areas(), first_seen={"jp": T0 + 50.0})
    (on,) = sc["areas_on_path"]
    assert on["area"] == "JP-01" and on["lead_s"] == 110.0  # over 132E at T0 + 200 s
    assert on["after_first_seen_s"] == 40.0 and on["first_seen_after_launch_s"] == 50.0
    assert [(a["area"], round(a["distance_km"])) for a in sc["off_path_alerts"]] == [("JP-02", 55)]
    assert [a["area"] for a in sc["false_alerts"]] == ["JP-03"]


def _stage() -> TruthPath:
    """A spent stage on the warhead's line but slower (0.005 deg/s): over JP-01 (132-133E) from T0+400."""
    t = T0 + np.arange(901.0)
    return TruthPath("S", t, np.zeros_like(t), 130.0 + 0.005 * (t - T0), np.full_like(t, 150e3))


def test_tracked_objects_are_those_a_track_followed_on_its_own():
    w, s = _path(), _stage()
    recs = [_record("jp", T0 + 10.0, 0.0, 130.075, alt=125e3),  # ~25 km from each: not told apart
            _record("kr", T0 + 300.0, 0.0, 133.0),  # the warhead alone
            _record("jp", T0 + 300.0, 0.0, 131.5, alt=150e3)]  # the stage alone
    assert tracked_objects([w, s], recs) == {"kr": {"W"}, "jp": {"S"}}


def test_clear_lag_counts_the_tracked_stage_still_over_the_area():
    # Guam replay: Korea's first track followed the missile and then the spent first stage over KR-42 and
    # KR-47; the areas were all-cleared exactly when that stage was 300 km past them, 64 and 87 s after
    # the warhead was: lag 0 against the stage, which is as real a threat to the area.
    w, s, areas = _path(), _stage(), _Areas()
    # The warhead is 300 km (~2.7 deg) past 133E at ~T0+570; the stage at ~T0+1140, after it fell
    # (T0+900): its evidence is its fall.
    alerts = {"jp": {"inc": {"JP-01": {"first_shelter_unix_s": T0 + 90.0, "all_clear_unix_s": T0 + 905.0}}}}
    alone = score_warnings(w, alerts, [], areas)
    assert alone["clear_lag"][0]["evidence_object"] == "W"
    assert 300.0 < alone["clear_lag"][0]["lag_s"] < 350.0
    both = score_warnings(w, alerts, [], areas, companions={"jp": [s]})
    assert both["clear_lag"] == [{"node": "jp", "area": "JP-01", "lag_s": 5.0, "evidence_object": "S"}]
    # An all-clear before the stage even reached the area is early, whatever the warhead did.
    early = {"jp": {"inc": {"JP-01": {"first_shelter_unix_s": T0 + 90.0, "all_clear_unix_s": T0 + 380.0}}}}
    assert score_warnings(w, early, [], areas)["early_clear"] == []
    assert [e["area"] for e in score_warnings(w, early, [], areas, companions={"jp": [s]})["early_clear"]] == ["JP-01"]


def test_an_area_is_cleared_when_the_last_incident_that_warned_it_lets_it_go():
    # Aomori replay, no sharing: one launch opened two incidents; the first cleared JP-01 at +678 s, the
    # second at +780 s. People may leave shelter at the second, not the first.
    w, areas = _path(), _Areas()
    first = {"first_shelter_unix_s": T0 + 90.0, "all_clear_unix_s": T0 + 570.0}
    second = {"first_shelter_unix_s": T0 + 120.0, "all_clear_unix_s": T0 + 650.0}
    sc = score_warnings(w, {"jp": {"a": {"JP-01": first}, "b": {"JP-01": second}}}, [], areas)
    (lag,) = sc["clear_lag"]
    assert lag["lag_s"] == score_warnings(w, {"jp": {"b": {"JP-01": second}}}, [], areas)["clear_lag"][0]["lag_s"]
    standing = {"first_shelter_unix_s": T0 + 120.0}
    assert score_warnings(w, {"jp": {"a": {"JP-01": first}, "b": {"JP-01": standing}}}, [], areas)["clear_lag"] == []
