"""Which alert areas predicted impacts and ground tracks fall in, and with what probability.

The assessor needs one thing of the geography: for points (lat, lon in degrees), the ISO 3166-2 code of
the area they are in (or "") and the zone ("land", "territorial_sea", "eez" or ""). Any object with that
`classify` method will do: triwarn.geo.areas.AreaIndex in production, PolygonAreas (shapely polygons
given by the caller) in tests and exercises.

Probabilities come from samples: an impact's probability for an area is the share of draws from the
impact distribution that land in it, an overflight's the share of ground tracks (of draws from the state
distribution) that pass over its land or territorial sea.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import shapely
import shapely.errors
import shapely.geometry
from numpy.typing import ArrayLike, NDArray

from triwarn.errors import InputError

ZONE_LAND = "land"
ZONE_TERRITORIAL_SEA = "territorial_sea"
ZONE_EEZ = "eez"
TERRITORY = (ZONE_LAND, ZONE_TERRITORIAL_SEA)


class AreaModel(Protocol):
    def classify(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[NDArray, NDArray]:
        """Area codes and zones of points, two string arrays of the points' shape."""
        ...


class PolygonAreas:
    """Areas from shapely geometries in lon/lat degrees: {code: {zone: geometry}}.

    A point in several areas gets the first in zone order land, territorial_sea, eez, then code order.
    Each zone's geometry should include the ones before it or not; either works.
    """

    def __init__(self, areas: Mapping[str, Mapping[str, shapely.Geometry]]) -> None:
        self._layers = []
        for zone in (ZONE_LAND, ZONE_TERRITORIAL_SEA, ZONE_EEZ):
            for code in sorted(areas):
                geom = areas[code].get(zone)
                if geom is not None and not geom.is_empty:
                    shapely.prepare(geom)
                    self._layers.append((code, zone, geom, geom.bounds))

    @classmethod
    def from_geojson(cls, path: Path) -> PolygonAreas:
        """Areas from a GeoJSON FeatureCollection whose features have properties "code" (ISO 3166-2) and
        "zone" (land, territorial_sea or eez). InputError naming the feature if one is unusable."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read GeoJSON ({exc})", source=str(path)) from None
        feats = doc.get("features") if isinstance(doc, dict) else None
        if not isinstance(feats, list):
            raise InputError("not a GeoJSON FeatureCollection", source=str(path), field="features")
        areas: dict[str, dict[str, shapely.Geometry]] = {}
        for k, feat in enumerate(feats):
            props = (feat or {}).get("properties") or {}
            code, zone = props.get("code"), props.get("zone")
            where = f"features[{k}].properties"
            if not isinstance(code, str) or not code:
                raise InputError("needs a string 'code'", source=str(path), field=f"{where}.code")
            if zone not in (ZONE_LAND, ZONE_TERRITORIAL_SEA, ZONE_EEZ):
                raise InputError("zone must be land, territorial_sea or eez", source=str(path),
                                 field=f"{where}.zone")
            try:
                geom = shapely.geometry.shape(feat["geometry"])
            except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
                raise InputError(f"bad geometry ({exc})", source=str(path),
                                 field=f"features[{k}].geometry") from None
            zones = areas.setdefault(code, {})
            zones[zone] = shapely.union(zones[zone], geom) if zone in zones else geom
        return cls(areas)

    def classify(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[NDArray, NDArray]:
        lat = np.asarray(lat_deg, float)
        lon = np.asarray(lon_deg, float)
        codes = np.full(lat.shape, "", dtype=object)
        zones = np.full(lat.shape, "", dtype=object)
        todo = np.ones(lat.shape, bool)
        for code, zone, geom, (x0, y0, x1, y1) in self._layers:
            box = todo & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
            if not np.any(box):
                continue
            idx = np.nonzero(box)
            inside = shapely.contains_xy(geom, lon[idx], lat[idx])
            hit = tuple(i[inside] for i in idx)
            codes[hit], zones[hit], todo[hit] = code, zone, False
        return codes.astype(str), zones.astype(str)


@dataclass
class AreaHit:
    """One area's risk from one track: row is the track's index in the batch."""

    row: int
    area: str
    kind: str  # "impact" or "overflight"
    probability: float  # impact in land or territorial sea / overflight of land or territorial sea
    probability_eez: float  # impact in the EEZ outside the territorial sea (0 for overflight)
    enter_time_unix_s: float


def impact_risk(
    areas: AreaModel, lat_deg: NDArray, lon_deg: NDArray, time_unix_s: NDArray, weights: NDArray | None = None
) -> list[AreaHit]:
    """Impact risk per (track, area) from sample impact points (N, M) in degrees; time_unix_s (N,).

    weights (N, M) (default equal) sum to 1 over each row.
    """
    n, m = lat_deg.shape
    if n == 0 or m == 0:
        return []
    codes, zones = areas.classify(lat_deg, lon_deg)
    w = np.full((n, m), 1.0 / m) if weights is None else np.asarray(weights, float)
    in_area = codes != ""
    if not np.any(in_area):
        return []
    rows, cols = np.nonzero(in_area)
    territory = np.isin(zones[rows, cols], TERRITORY)
    keys = np.char.add(np.char.add(rows.astype(str), "|"), codes[rows, cols].astype(str))
    uniq, inv = np.unique(keys, return_inverse=True)
    p_terr = np.bincount(inv, weights=w[rows, cols] * territory, minlength=uniq.size)
    p_eez = np.bincount(inv, weights=w[rows, cols] * ~territory, minlength=uniq.size)
    out = []
    for key, pt, pe in zip(uniq, p_terr, p_eez, strict=True):
        row_s, code = str(key).split("|", 1)
        row = int(row_s)
        out.append(AreaHit(row, code, "impact", float(pt), float(pe), float(time_unix_s[row])))
    return out


def overflight_risk(
    areas: AreaModel, lat_deg: NDArray, lon_deg: NDArray, t_unix_s: NDArray, valid: NDArray,
    mean_first: bool = True,
) -> list[AreaHit]:
    """Overflight risk per (track, area) from ground tracks: lat/lon/t (S, N, T) sampled along each path
    of T paths per track (path 0 the mean state's, 1.. the draws'), valid (S, N, T) marks points in flight.

    The probability is the share of draws whose path is over the area's land or territorial sea at some
    point (the mean's path alone if there are no draws); the entry time is the earliest over those paths.
    With mean_first False all T paths count alike (the lateral lines of a cut-off path's band).
    """
    _s, n, t_n = lat_deg.shape
    if n == 0 or not np.any(valid):
        return []
    # Only points in flight are looked up: paths are padded to the longest one in the batch.
    where = np.nonzero(valid)
    c, z = areas.classify(lat_deg[where], lon_deg[where])
    over = (c != "") & np.isin(z, TERRITORY)
    if not np.any(over):
        return []
    si, ri, pi = (w[over] for w in where)
    keys = np.char.add(np.char.add(ri.astype(str), "|"), np.asarray(c[over]).astype(str))
    uniq, inv = np.unique(keys, return_inverse=True)
    enter = np.full(uniq.size, np.inf)
    np.minimum.at(enter, inv, t_unix_s[si, ri, pi])
    key_path = np.unique(inv * t_n + pi)
    draws = t_n - 1 if mean_first else t_n
    if draws:
        counted = (key_path % t_n) > 0 if mean_first else np.ones(key_path.size)
        prob = np.bincount(key_path // t_n, weights=counted, minlength=uniq.size) / draws
    else:
        prob = np.ones(uniq.size)
    out = []
    for key, p, t_in in zip(uniq, prob, enter, strict=True):
        row_s, code = str(key).split("|", 1)
        out.append(AreaHit(int(row_s), code, "overflight", float(p), 0.0, float(t_in)))
    return out


def merge_hits(a: list[AreaHit], b: list[AreaHit]) -> list[AreaHit]:
    """One hit per (row, area, kind) from two lists: the larger probabilities, the earlier entry."""
    out: dict[tuple[int, str, str], AreaHit] = {}
    for h in (*a, *b):
        key = (h.row, h.area, h.kind)
        old = out.get(key)
        out[key] = h if old is None else AreaHit(
            h.row, h.area, h.kind, max(old.probability, h.probability),
            max(old.probability_eez, h.probability_eez), min(old.enter_time_unix_s, h.enter_time_unix_s))
    return list(out.values())
