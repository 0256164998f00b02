"""Passage geometry: where an area lies along an observed track's course, and whether the object has
been seen past it. On the sphere of mean radius (well under 1% from the ellipsoid, far inside the
margins used); area outlines are land plus territorial sea in lon/lat degrees."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:
    from triwarn.warn.incident import Track

AreaGeometry = Callable[[str], BaseGeometry | None]
"""Lookup from an ISO 3166-2 code to the area's land plus territorial sea, a shapely (Multi)Polygon in
lon/lat degrees, or None when unknown (then passage over it cannot be confirmed)."""

MEAN_EARTH_RADIUS_M = 6_371_008.8


def unit(lat_deg, lon_deg) -> np.ndarray:
    """Unit vectors (..., 3) of geodetic positions, on the sphere (passage geometry only)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _hull_lonlat(geom: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (lon, lat degrees) of each part's convex hull; per part, so that islands far apart or an
    area split at the antimeridian do not become one huge hull."""
    xy = []
    for part in getattr(geom, "geoms", [geom]):
        if part.is_empty:
            continue
        hull = part.convex_hull
        xy.append(np.asarray(hull.exterior.coords if hull.geom_type == "Polygon" else hull.coords)[:, :2])
    pts = np.concatenate(xy)
    return pts[:, 0], pts[:, 1]


class Passage:
    """The areas' outlines (looked up once each) and where they lie along a track's observed course."""

    def __init__(self, area_geometry: AreaGeometry | None = None) -> None:
        self._area_geometry = area_geometry or (lambda code: None)
        self._geometry_cache: dict[str, BaseGeometry | None] = {}
        self._outline_cache: dict[str, np.ndarray] = {}
        self._along_key: tuple[str, float] | None = None
        self._along: dict[str, tuple[float, float, bool]] = {}
        self._outlines: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None

    def geometry(self, code: str) -> BaseGeometry | None:
        if code not in self._geometry_cache:
            geom = self._area_geometry(code)
            self._geometry_cache[code] = geom
            self._along_key, self._outlines = None, None  # a new outline joins the next passage check
            if geom is not None and not geom.is_empty:
                # The along-course extremes of an area lie on its convex hull (the along-course distance
                # is nearly linear over an area's extent), so the hull is all passage needs to look at.
                lon_v, lat_v = _hull_lonlat(geom)
                self._outline_cache[code] = unit(lat_v, lon_v)
        return self._geometry_cache[code]

    def along_m(self, code: str, trk: Track) -> tuple[float, float, bool] | None:
        """Where the area lies along the track's course from its last observed ground point: the least and
        greatest signed distance (m, positive ahead) of the area's outline points, and whether the point
        is inside the area. None when it cannot be judged (no geometry, < 2 observations)."""
        geom = self.geometry(code)
        if geom is None or geom.is_empty or len(trk.obs) < 2:
            return None
        key = (trk.track_id, trk.obs[-1].t)
        if self._along_key != key:
            self._along_key, self._along = key, self._along_all(trk)
        return self._along.get(code)

    def _along_all(self, trk: Track) -> dict[str, tuple[float, float, bool]]:
        """along_m for every known area at once, vectorised over all outline points.

        Distances are along the great circle through the last observed ground point in the direction of
        travel.
        """
        if self._outlines is None:
            codes = [c for c, g in self._geometry_cache.items() if g is not None and not g.is_empty]
            if not codes:
                return {}
            pts = np.concatenate([self._outline_cache[c] for c in codes])
            starts = np.cumsum([0] + [len(self._outline_cache[c]) for c in codes[:-1]])
            geoms = np.array([self._geometry_cache[c] for c in codes])
            self._outlines = (codes, pts, starts, geoms)
        codes, pts, starts, geoms = self._outlines
        prev, last = trk.obs
        here = unit(last.lat_deg, last.lon_deg)
        step = here - unit(prev.lat_deg, prev.lon_deg)
        ahead = step - (step @ here) * here
        norm = float(np.linalg.norm(ahead))
        if norm == 0.0:  # no movement between the two observations: no course to judge by
            return {}
        ahead /= norm
        along = MEAN_EARTH_RADIUS_M * np.arctan2(pts @ ahead, pts @ here)
        lo, hi = np.minimum.reduceat(along, starts), np.maximum.reduceat(along, starts)
        inside = shapely.contains_xy(geoms, last.lon_deg, last.lat_deg)
        return {c: (float(lo[k]), float(hi[k]), bool(inside[k])) for k, c in enumerate(codes)}

    def seen_past(self, code: str, trk: Track, margin_m: float) -> bool:
        """The track's last observation has the whole area behind it by margin_m.

        A track lost after that observation was still seen past the area (a ballistic object does not
        turn back); one lost before it never was, whatever its predicted path (2022-11-03). With
        sharing, one object is often held as two system tracks and one of them (a partner's) ends
        first: without this, its area could only be let go when the whole flight was over.
        """
        along = self.along_m(code, trk)
        return along is not None and not along[2] and along[1] <= -margin_m

    def alongside(self, code: str, trk: Track) -> bool:
        """The object is over the area or has part of it behind: it is passing, not turning away."""
        along = self.along_m(code, trk)
        return along is not None and (along[2] or along[0] < 0.0)


__all__ = ["MEAN_EARTH_RADIUS_M", "AreaGeometry", "Passage", "unit"]
