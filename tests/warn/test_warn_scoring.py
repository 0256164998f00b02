"""The bench's scoring of warnings against truth (triwarn.warn.scoring): first sightings, the lead after
them, and alerts off the path that are not false by the 100 km rule."""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

from triwarn.geo.frames import geodetic_to_ecef
from triwarn.warn.scoring import TruthPath, first_sightings, score_warnings

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
