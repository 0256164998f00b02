"""The picture's orbits, declared hazard zones and the zone of each predicted fall (issue 14).

OrbitView: an orbit estimate's ground track ahead (SGP4 of its TLE, node.orbit_sharing) and the areas it
crosses, with the time it enters each (land or territorial sea; sampled every AREA_STEP_S, fine enough
for a 12 nm territorial sea at 7.6 km/s). Computed once per estimate (an estimate is refreshed every 10
s) and cached by (label, epoch). HazardZoneView: a navigational warning's zones (geo.hazard_zones) as
the map draws them. Degrees, unix seconds.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from triwarn.api.picture import AreaPassView, HazardZoneView, OrbitView
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.geo.hazard_zones import HazardNotice
from triwarn.node.orbit_sharing import tle_positions_ecef_m

ORBIT_AHEAD_S = 1200.0  # the ground track shown ahead: 20 minutes, a fifth of a low orbit
DRAW_STEP_S = 20.0  # ground-track points drawn (about 150 km apart)
AREA_STEP_S = 2.0  # samples for the areas crossed (about 15 km apart)
CACHE_KEPT = 64


def _lat_lon_deg(line1: str, line2: str, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat, lon, _alt = ecef_to_geodetic(tle_positions_ecef_m(line1, line2, t))
    return np.degrees(lat), np.degrees(lon)


class OrbitViews:
    """OrbitView of each estimate, cached by (label, epoch). areas: an AreaIndex-like object with
    areas_along(lat, lon) (None: no areas_over)."""

    def __init__(self, areas=None) -> None:
        self.areas = areas
        self._cache: OrderedDict[tuple[str, float], OrbitView] = OrderedDict()

    def view(self, label: str, tle: tuple[str, str], epoch_unix_s: float, incl_deg: float, perigee_km: float,
             apogee_km: float, period_s: float, now_unix_s: float) -> OrbitView:
        key = (label, float(epoch_unix_s))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        t_draw = now_unix_s + np.arange(0.0, ORBIT_AHEAD_S + 1e-9, DRAW_STEP_S)
        lat, lon = _lat_lon_deg(tle[0], tle[1], t_draw)
        ok = np.isfinite(lat)
        ground = [(float(a), float(b), float(c)) for a, b, c in zip(t_draw[ok], lat[ok], lon[ok], strict=True)]
        passes: list[AreaPassView] = []
        if self.areas is not None:
            t_fine = now_unix_s + np.arange(0.0, ORBIT_AHEAD_S + 1e-9, AREA_STEP_S)
            lat_f, lon_f = _lat_lon_deg(tle[0], tle[1], t_fine)
            ok = np.isfinite(lat_f)
            seen = set()
            for code, zone, k in self.areas.areas_along(lat_f[ok], lon_f[ok]):
                if zone in ("land", "territorial_sea") and code not in seen:
                    seen.add(code)
                    passes.append(AreaPassView(area=code, enter_unix_s=float(t_fine[ok][k])))
        view = OrbitView(track=label, epoch_unix_s=float(epoch_unix_s), incl_deg=float(incl_deg),
                         perigee_km=float(perigee_km), apogee_km=float(apogee_km), period_s=float(period_s),
                         ground_track=ground, areas_over=passes)
        self._cache[key] = view
        while len(self._cache) > CACHE_KEPT:
            self._cache.popitem(last=False)
        return view


def hazard_zone_views(notice: HazardNotice | None) -> list[HazardZoneView]:
    if notice is None:
        return []
    return [HazardZoneView(label=z.label, piece=z.role or "", corners=[(float(a), float(b)) for a, b in z.corners_deg],
                           window_start_unix_s=notice.window_start_unix_s, window_end_unix_s=notice.window_end_unix_s)
            for z in notice.zones]


def nearest_zone(notice: HazardNotice | None, lat_deg: float, lon_deg: float) -> tuple[str, float | None]:
    """(label, distance km; 0 inside) of the declared zone nearest a predicted fall, ("", None) without."""
    if notice is None or not notice.zones or not (math.isfinite(lat_deg) and math.isfinite(lon_deg)):
        return "", None
    best = min(notice.zones, key=lambda z: z.distance_km(lat_deg, lon_deg))
    return best.label, round(best.distance_km(lat_deg, lon_deg), 1)
