"""Alert areas, offline: which prefecture, province or US area a point is in, and in which zone.

Areas are ISO 3166-2 codes: Japan's 47 prefectures (JP-01 ... JP-47), Korea's 17 first-level divisions
(KR-11 ... KR-50), and US-GU, US-MP, US-HI, US-AK. Each area has three zones:

- ``"land"``;
- ``"territorial_sea"``: out to the legal 12 nm line (OpenStreetMap's, through timezonefinder's
  ocean-inclusive time zones), split between areas of one nation by nearest coast;
- ``"eez"``: approximate EEZ, 200 nm from land, median lines ignored. Where two nations' 200 nm reach
  overlaps, a point goes to the nearest coast. Land outside the system (China, Russia, North Korea,
  Taiwan...) is not modelled, so the approximate EEZ also reaches into their waters.

A point outside all of them is ``""``. Geometries are lon/lat degrees (WGS84) with longitude in
[-180, 180]; areas across the antimeridian (US-AK, the Aleutians) are split there, and every input
longitude is wrapped into that range first. The data come from scripts/build_areas.py; sources,
licences and the policy on disputed features are in docs/geodata.md.
"""

from __future__ import annotations

import functools
import gzip
import json
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely import affinity
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from triwarn.errors import InputError
from triwarn.geo.areas_names import AREA_NAMES, CODE_ALIASES, LANGUAGES
from triwarn.geo.geodesic import WGS84_GEOD

ZONES: tuple[str, ...] = ("land", "territorial_sea", "eez")
_RANK = {zone: rank for rank, zone in enumerate(ZONES)}
_WORLD = box(-180.0, -90.0, 180.0, 90.0)
EEZ_NOTE = "approximate EEZ: 200 nm from land, median lines ignored"
TILE_DEG = 1.0  # classification tiles: a point is tested only against the polygons of its grid cell


@dataclass(frozen=True)
class Dispute:
    """A disputed feature and how the data treat it (see docs/geodata.md)."""

    name: str
    lat_deg: float
    lon_deg: float
    radius_m: float  # the feature and its waters lie within this distance of (lat_deg, lon_deg)
    assigned_to: str  # the area code the feature is classified as
    administered_by: str  # ISO 3166-1 alpha-2 of the nation in control
    claimed_by: tuple[str, ...]  # area codes of claimants inside the system
    note: str


def _default_dir() -> Path:
    return Path(str(resources.files("triwarn") / "data" / "areas"))


def _wrap_lon(lon_deg: NDArray) -> NDArray:
    return np.mod(lon_deg + 180.0, 360.0) - 180.0


class AreaIndex:
    """Point-in-area lookups over all alert areas, vectorised with a shapely STRtree.

    Build it with ``AreaIndex.load()`` (cached); the constructor takes already-parsed data.
    """

    def __init__(self, geoms: dict[tuple[str, str], BaseGeometry], meta: dict,
                 tiles: dict[tuple[str, str], NDArray] | None = None) -> None:
        self._nested = geoms
        self.codes: tuple[str, ...] = tuple(sorted({code for code, _ in geoms}))
        missing = sorted(set(AREA_NAMES) - set(self.codes))
        if missing:
            raise InputError(f"area data lack codes {missing}", source="areas.json")
        self._adjacent: dict[str, list[str]] = meta.get("adjacent", {})
        self.disputes: tuple[Dispute, ...] = tuple(
            Dispute(d["name"], d["lat_deg"], d["lon_deg"], d["radius_m"], d["assigned_to"],
                    d["administered_by"], tuple(d["claimed_by"]), d["note"])
            for d in meta.get("disputes", []))
        self.sources: dict = meta.get("sources", {})
        keys = list(geoms)
        if tiles is None:
            tiles = {k: tile(geoms[k]) for k in keys}
        pieces = np.concatenate([tiles[k] for k in keys])
        owner = np.repeat(np.arange(len(keys)), [len(tiles[k]) for k in keys])
        shapely.prepare(pieces)
        self._pieces = pieces
        self._piece_code = np.array([keys[i][0] for i in owner], dtype="<U5")
        self._piece_rank = np.array([_RANK[keys[i][1]] for i in owner], dtype=np.int8)
        self._tree = shapely.STRtree(pieces)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, directory: str | Path | None = None) -> AreaIndex:
        """The index over the shipped data (or the data in `directory`), built once per process."""
        return _load_cached(str(Path(directory)) if directory is not None else str(_default_dir()))

    @classmethod
    def from_files(cls, directory: str | Path) -> AreaIndex:
        """Read areas.json and areas.wkb.gz from `directory` (no caching)."""
        directory = Path(directory)
        meta_path, wkb_path = directory / "areas.json", directory / "areas.wkb.gz"
        for path in (meta_path, wkb_path):
            if not path.exists():
                raise InputError("missing area data: regenerate it with scripts/build_areas.py",
                                 source=str(path))
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        blob = gzip.decompress(wkb_path.read_bytes())
        geoms: dict[tuple[str, str], BaseGeometry] = {}
        offset = 0
        for n, entry in enumerate(meta["geometries"]):
            if offset + 4 > len(blob):
                raise InputError(f"geometry {n} ({entry['code']} {entry['zone']}) missing: file truncated",
                                 source=str(wkb_path))
            (length,) = struct.unpack_from("<I", blob, offset)
            if offset + 4 + length > len(blob):
                raise InputError(f"geometry {n} ({entry['code']} {entry['zone']}) cut short: file truncated",
                                 source=str(wkb_path))
            geoms[(entry["code"], entry["zone"])] = shapely.from_wkb(blob[offset + 4: offset + 4 + length])
            offset += 4 + length
        tiles = None
        tiles_path = directory / "areas_tiles.wkb.gz"
        if tiles_path.exists() and "tiles" in meta:  # precomputed by the build; else cut here (~1.5 s)
            blob = gzip.decompress(tiles_path.read_bytes())
            counts = [entry["tiles"] for entry in meta["geometries"]]
            all_tiles = _read_wkb_stream(blob, str(tiles_path))
            if len(all_tiles) != sum(counts):
                raise InputError(f"{len(all_tiles)} tiles but areas.json lists {sum(counts)}",
                                 source=str(tiles_path))
            bounds = np.cumsum([0, *counts])
            tiles = {(e["code"], e["zone"]): all_tiles[bounds[i]: bounds[i + 1]]
                     for i, e in enumerate(meta["geometries"])}
        return cls(geoms, meta, tiles)

    # ------------------------------------------------------------------ lookups

    def classify(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[NDArray, NDArray]:
        """Area code and zone of each point (degrees, WGS84), for any number of points at once.

        Returns two string arrays of the broadcast shape: codes ("JP-13", or "" outside every area) and
        zones ("land", "territorial_sea", "eez" or ""). The innermost zone wins: land, then territorial
        sea, then EEZ.
        """
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float))
        shape = lat.shape
        lat, lon = lat.ravel(), lon.ravel()
        bad = ~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            field = "lat_deg" if not np.isfinite(lat[i]) or abs(lat[i]) > 90.0 else "lon_deg"
            raise InputError(f"point {i}: ({lat[i]}, {lon[i]}) is not a valid position", field=field)
        codes = np.full(lat.size, "", dtype="<U5")
        zones = np.full(lat.size, "", dtype="<U15")
        if lat.size:
            points = shapely.points(_wrap_lon(lon), lat)
            point_i, piece_i = self._tree.query(points, predicate="intersects")
            if point_i.size:
                order = np.lexsort((self._piece_rank[piece_i], point_i))
                point_i, piece_i = point_i[order], piece_i[order]
                first = np.flatnonzero(np.r_[True, point_i[1:] != point_i[:-1]])
                hit, best = point_i[first], piece_i[first]
                codes[hit] = self._piece_code[best]
                zones[hit] = np.asarray(ZONES)[self._piece_rank[best]]
        return codes.reshape(shape), zones.reshape(shape)

    def areas_along(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> list[tuple[str, str, int]]:
        """(code, zone, first_index) for each stretch of a ground track inside an area, in track order.

        A track that leaves an area and comes back gives a second entry. Sample the track finely enough
        for the areas that matter (a 12 nm territorial sea needs samples well under 22 km apart).
        """
        codes, zones = self.classify(np.ravel(lat_deg), np.ravel(lon_deg))
        if codes.size == 0:
            return []
        key = np.char.add(np.char.add(codes, "|"), zones)
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        return [(str(codes[i]), str(zones[i]), int(i)) for i in starts if codes[i]]

    def areas_intersecting(self, geom_lonlat: BaseGeometry, zone: str = "eez") -> list[str]:
        """Codes whose `zone` (nested: "eez" also counts territorial sea and land) meets geom (lon/lat)."""
        rank = self._zone_rank(zone)
        pieces = self._tree.query(geom_lonlat, predicate="intersects")
        keep = pieces[self._piece_rank[pieces] <= rank]
        return sorted(set(self._piece_code[keep].tolist()))

    def areas_near(self, lat_deg: float, lon_deg: float, radius_m: float, zone: str = "eez") -> list[str]:
        """Codes whose `zone` (nested, see areas_intersecting) lies within radius_m of the point.

        The circle is geodesic (72 vertices on WGS84), so the answer is good to about 0.1% of radius_m.
        """
        if not (np.isfinite(radius_m) and radius_m >= 0.0):
            raise InputError(f"radius must be a distance in metres >= 0, got {radius_m}", field="radius_m")
        return self.areas_intersecting(geodesic_circle(lat_deg, lon_deg, radius_m), zone)

    def geometry(self, code: str, zone: str, nested: bool = False) -> BaseGeometry:
        """The area's zone as a shapely (Multi)Polygon in lon/lat degrees.

        By default only the zone itself (territorial sea without land, EEZ without territorial sea or
        any area's land); with nested=True, everything out to that zone's outer limit. The EEZ is
        approximate: 200 nm from land, median lines ignored.
        """
        code = self._code(code)
        self._zone_rank(zone)
        if nested or zone == "land":
            return self._nested[(code, zone)]
        return self._exclusive(code, zone)

    @functools.cache  # noqa: B019 - the index is a per-process singleton, so the cache lives as long
    def _exclusive(self, code: str, zone: str) -> BaseGeometry:
        outer = self._nested[(code, zone)]
        inner_rank = _RANK[zone] - 1
        pieces = self._tree.query(outer, predicate="intersects")
        inner = self._pieces[pieces[self._piece_rank[pieces] == inner_rank]]
        result = shapely.difference(outer, shapely.union_all(inner)) if inner.size else outer
        return shapely.make_valid(result)

    def cap_polygons(self, code: str, max_points: int = 100, gap_m: float = 5_000.0) -> list[list[tuple]]:
        """CAP polygons (closed lists of (lat_deg, lon_deg)) covering the area's land.

        Land pieces closer than about gap_m are merged; each polygon is the outline of one merged
        group, slightly grown (~gap_m / 2) so the simplification stays outside the coast, and simplified
        to at most max_points vertices (first == last counted once each, as CAP writes them). Largest
        first. Nothing crosses the antimeridian.
        """
        if max_points < 4:
            raise InputError(f"a CAP polygon needs at least 4 points, got max_points={max_points}",
                             field="max_points")
        return [_cap_ring(g, max_points) for g in self._cap_groups(self._code(code), float(gap_m))]

    @functools.cache  # noqa: B019 - per-process singleton, see _exclusive
    def _cap_groups(self, code: str, gap_m: float) -> tuple[Polygon, ...]:
        grow_deg = gap_m / 2.0 / 111_000.0
        # islands one by one, then union: far cheaper than buffering a 2,000-island MultiPolygon
        pieces = shapely.get_parts(shapely.simplify(self._nested[(code, "land")], grow_deg / 5.0))
        merged = shapely.union_all(shapely.buffer(pieces, grow_deg, quad_segs=2)).intersection(_WORLD)
        groups = [Polygon(g.exterior) for g in shapely.get_parts(merged) if isinstance(g, Polygon)]
        return tuple(sorted(groups, key=lambda g: -g.area))

    def cap_polygon(self, code: str, max_points: int = 100) -> list[tuple[float, float]]:
        """The CAP polygon of the area's main land mass (the largest of cap_polygons)."""
        return self.cap_polygons(code, max_points)[0]

    def name(self, code: str, lang: str = "en") -> str:
        """The area's name in English ("en"), Japanese ("ja") or Korean ("ko")."""
        if lang not in LANGUAGES:
            raise InputError(f"unknown language {lang!r}; expected one of {list(LANGUAGES)}", field="lang")
        return AREA_NAMES[self._code(code)][LANGUAGES.index(lang)]

    def adjacent(self, code: str) -> list[str]:
        """Areas that share a land border or face this one across a strait under 25 km wide."""
        return list(self._adjacent.get(self._code(code), []))

    def disputes_near(self, lat_deg: float, lon_deg: float) -> list[Dispute]:
        """Disputed features whose area holds the point (so that a warning can name all claimants)."""
        if not self.disputes:
            return []
        lat = np.array([d.lat_deg for d in self.disputes])
        lon = np.array([d.lon_deg for d in self.disputes])
        n = lat.size
        _, _, dist = WGS84_GEOD.inv(np.full(n, lon_deg, float), np.full(n, lat_deg, float), lon, lat)
        radius = np.array([d.radius_m for d in self.disputes])
        return [d for d, inside in zip(self.disputes, np.asarray(dist) <= radius, strict=True) if inside]

    # ------------------------------------------------------------------ internals

    def _code(self, code: str) -> str:
        code = CODE_ALIASES.get(code, code)
        if code not in AREA_NAMES:
            raise InputError(f"unknown area code {code!r}; expected an ISO 3166-2 code such as 'JP-13'",
                             field="area")
        return code

    @staticmethod
    def _zone_rank(zone: str) -> int:
        if zone not in _RANK:
            raise InputError(f"unknown zone {zone!r}; expected one of {list(ZONES)}", field="zone")
        return _RANK[zone]


def _read_wkb_stream(blob: bytes, source: str) -> NDArray:
    """Geometries from [uint32 little-endian length][WKB] records."""
    out, offset = [], 0
    while offset < len(blob):
        (length,) = struct.unpack_from("<I", blob, offset)
        if offset + 4 + length > len(blob):
            raise InputError(f"record {len(out)} cut short: file truncated", source=source)
        out.append(blob[offset + 4: offset + 4 + length])
        offset += 4 + length
    return shapely.from_wkb(np.array(out, dtype=object))


@functools.cache
def _load_cached(directory: str) -> AreaIndex:
    return AreaIndex.from_files(directory)


def geodesic_circle(lat_deg: float, lon_deg: float, radius_m: float, n: int = 72) -> BaseGeometry:
    """Polygon (lon/lat degrees) of the points within radius_m of a point, cut at the antimeridian."""
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    lon, lat, _ = WGS84_GEOD.fwd(np.full(n, lon_deg, float), np.full(n, lat_deg, float), az,
                                 np.full(n, max(radius_m, 1.0)))
    lon = lon_deg + np.mod(np.asarray(lon) - lon_deg + 180.0, 360.0) - 180.0
    ring = Polygon(np.column_stack([lon, lat]))
    copies = [affinity.translate(ring, shift) for shift in (-360.0, 0.0, 360.0)]
    return shapely.intersection(shapely.union_all(copies), _WORLD)


def tile(geom: BaseGeometry, step_deg: float = TILE_DEG) -> NDArray:
    """geom's polygons cut along a step_deg lon/lat grid (small ones left whole), for a tight STRtree."""
    out = []
    for piece in shapely.get_parts(geom):
        x0, y0, x1, y1 = piece.bounds
        gx0, gy0 = np.floor(x0 / step_deg) * step_deg, np.floor(y0 / step_deg) * step_deg
        if (x1 - gx0 <= step_deg and y1 - gy0 <= step_deg) or shapely.get_num_coordinates(piece) < 64:
            out.append(piece)
            continue
        gx, gy = np.meshgrid(np.arange(gx0, x1, step_deg), np.arange(gy0, y1, step_deg))
        cells = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + step_deg, gy.ravel() + step_deg)
        cut = shapely.intersection(piece, cells[shapely.intersects(piece, cells)])
        out.extend(g for g in shapely.get_parts(cut) if g.geom_type == "Polygon")
    return np.array(out, dtype=object)


def _cap_ring(poly: Polygon, max_points: int) -> list[tuple[float, float]]:
    """Exterior of poly simplified until it has at most max_points vertices, as closed (lat, lon)."""
    tol = 0.001
    ring = poly
    while shapely.get_num_coordinates(ring) > max_points:
        ring = shapely.simplify(poly, tol, preserve_topology=False)
        if ring.is_empty or not isinstance(ring, Polygon):
            ring = poly.convex_hull
            tol_hull = tol
            while shapely.get_num_coordinates(ring) > max_points:
                ring = shapely.simplify(poly.convex_hull, tol_hull, preserve_topology=False)
                tol_hull *= 1.5
            break
        tol *= 1.5
    xy = shapely.get_coordinates(ring.exterior)
    return [(float(y), float(x)) for x, y in xy]
