"""Alert areas: known places, zones, the antimeridian, names, CAP polygons, bad input."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
import shapely

from triwarn.errors import InputError
from triwarn.geo.areas import EEZ_NOTE, AreaIndex, geodesic_circle
from triwarn.geo.areas_names import AREA_NAMES
from triwarn.geo.geodesic import direct, inverse

NM = 1852.0


@pytest.fixture(scope="module")
def index() -> AreaIndex:
    return AreaIndex.load()


@pytest.mark.parametrize(
    ("place", "lat", "lon", "code"),
    [
        ("Tokyo, Shinjuku", 35.6895, 139.6917, "JP-13"),
        ("Aomori city", 40.8246, 140.7406, "JP-02"),
        ("Sapporo", 43.0618, 141.3545, "JP-01"),
        ("Naha", 26.2124, 127.6809, "JP-47"),
        ("Seoul", 37.5665, 126.9780, "KR-11"),
        ("Busan", 35.1796, 129.0756, "KR-26"),
        ("Jeju city", 33.4996, 126.5312, "KR-49"),
        ("Jeonju (Jeonbuk State)", 35.8242, 127.1480, "KR-45"),
        ("Chuncheon (Gangwon State)", 37.8813, 127.7298, "KR-42"),
        ("Sejong", 36.4800, 127.2890, "KR-50"),
        ("Gunwi, Daegu since 2023", 36.2428, 128.5728, "KR-27"),
        ("Guam", 13.4443, 144.7937, "US-GU"),
        ("Saipan", 15.1850, 145.7467, "US-MP"),
        ("Honolulu", 21.3069, -157.8583, "US-HI"),
        ("Adak island", 51.80, -176.60, "US-AK"),
        ("Anchorage", 61.2181, -149.9003, "US-AK"),
    ],
)
def test_known_places_are_on_land_of_their_area(index, place, lat, lon, code):
    codes, zones = index.classify([lat], [lon])
    assert (codes[0], zones[0]) == (code, "land"), place


def _offshore(lat, lon, az_deg, dist_m):
    lat2, lon2 = direct(lat, lon, az_deg, dist_m)
    return float(lat2), float(lon2)


def test_sea_zones_off_aomori(index):
    # Cape Shiriya, Aomori's north-east tip, looking out over the Pacific
    cape_lat, cape_lon = 41.43, 141.46
    points = [_offshore(cape_lat, cape_lon, 90.0, d * NM) for d in (5, 100)]
    codes, zones = index.classify([p[0] for p in points], [p[1] for p in points])
    assert (codes[0], zones[0]) == ("JP-02", "territorial_sea")
    # 100 nm out the sea is split by nearest coast, and Hokkaido's Cape Erimo is nearer than Aomori
    assert (codes[1], zones[1]) == ("JP-01", "eez")


def test_open_sea_far_from_every_area_is_outside(index):
    # northern Sea of Japan off Vladivostok, > 500 km from Japanese and Korean land; central Pacific
    lat = np.array([42.8, 30.0])
    lon = np.array([133.0, 170.0])
    codes, zones = index.classify(lat, lon)
    assert codes.tolist() == ["", ""] and zones.tolist() == ["", ""]
    jp_kr_land = shapely.union_all([index.geometry(c, "land") for c in index.codes if c[:2] in ("JP", "KR")])
    line = shapely.shortest_line(jp_kr_land, shapely.Point(133.0, 42.8))
    (lon_near, lat_near), _ = shapely.get_coordinates(line)
    dist_m, _ = inverse(42.8, 133.0, lat_near, lon_near)
    assert dist_m > 400e3


def test_tsugaru_strait_centre_is_not_territorial(index):
    # Japan claims only 3 nm in the Tsugaru Strait; the middle is EEZ (OSM's line, via timezonefinder)
    codes, zones = index.classify([41.45, 41.45, 41.45], [140.50, 140.30, 140.70])
    assert zones.tolist() == ["eez", "territorial_sea", "territorial_sea"]
    assert codes[0] in ("JP-01", "JP-02")


def test_classify_keeps_shape_and_wraps_longitude(index):
    lat = np.array([[35.6895, 21.3069], [37.5665, 0.0]])
    lon = np.array([[139.6917, -157.8583 + 360.0], [126.978, 0.0]])
    codes, zones = index.classify(lat, lon)
    assert codes.shape == (2, 2)
    assert codes.tolist() == [["JP-13", "US-HI"], ["KR-11", ""]]
    assert zones[1, 1] == ""


def test_antimeridian_aleutians(index):
    # Attu and Amchitka lie east of 180 E in longitude terms but are Alaska; the EEZ spans the line
    codes, zones = index.classify([52.87, 51.52, 53.5, 53.5, 53.5],
                                  [173.05, 179.0, 179.999, -179.999, 180.0])
    assert codes.tolist() == ["US-AK"] * 5
    assert zones[0] == "land" and zones[1] == "land"
    assert zones[2] == zones[3] == zones[4] == "eez"
    eez = index.geometry("US-AK", "eez", nested=True)
    west, _, east, _ = eez.bounds
    assert west == pytest.approx(-180.0, abs=1e-6) and east == pytest.approx(180.0, abs=1e-6)
    for piece in shapely.get_parts(eez):
        x0, _, x1, _ = piece.bounds
        assert -180.0 <= x0 and x1 <= 180.0 and x1 - x0 < 180.0
    assert index.areas_near(53.5, 179.95, 20e3, zone="land") == []
    assert "US-AK" in index.areas_near(51.8, 179.95, 60e3, zone="land")  # Semisopochnoi, 179.6 E
    assert "US-AK" in index.areas_near(51.8, -179.95, 60e3, zone="land")


def test_all_codes_present_with_three_names(index):
    jp = [c for c in index.codes if c.startswith("JP-")]
    kr = [c for c in index.codes if c.startswith("KR-")]
    us = [c for c in index.codes if c.startswith("US-")]
    assert jp == [f"JP-{i:02d}" for i in range(1, 48)]
    assert len(kr) == 17 and kr[0] == "KR-11" and kr[-1] == "KR-50"
    assert us == ["US-AK", "US-GU", "US-HI", "US-MP"]
    for code in index.codes:
        en, ja, ko = (index.name(code, lang) for lang in ("en", "ja", "ko"))
        assert en.isascii() and en
        assert any("\u3040" <= ch <= "\u9fff" for ch in ja), (code, ja)
        assert any("\uac00" <= ch <= "\ud7a3" for ch in ko), (code, ko)
    assert index.name("KR-52", "en") == "Jeonbuk State"  # alias for the ISO code KR-45
    assert set(AREA_NAMES) == set(index.codes)


def test_geometries_valid_and_nested(index):
    for code in index.codes:
        land = index.geometry(code, "land")
        terr = index.geometry(code, "territorial_sea", nested=True)
        eez = index.geometry(code, "eez", nested=True)
        for g in (land, terr, eez):
            assert g.is_valid and not g.is_empty, code
            for ring in shapely.get_rings(g):
                xy = shapely.get_coordinates(ring)
                assert np.array_equal(xy[0], xy[-1])
        # nested, up to the simplification of the outer zones (~500 m and ~2 km)
        assert terr.area >= land.area * 0.98 and eez.area >= terr.area * 0.98, code


def test_exclusive_zones_do_not_overlap_land(index):
    sea = index.geometry("JP-02", "territorial_sea")
    land = index.geometry("JP-02", "land")
    assert sea.area > 0.0
    assert shapely.intersection(sea, land).area < 1e-4 * land.area
    eez = index.geometry("JP-02", "eez")
    assert shapely.intersection(eez, sea).area < 1e-3 * sea.area


def test_lakes_cut_out_of_the_source_count_as_land(index):
    # NGII leaves Namyang lake (Hwaseong) and Sapgyo lake (Dangjin), behind sea dikes, out of every province
    codes, zones = index.classify([37.126, 36.9714], [126.735, 126.6536])
    assert codes.tolist() == ["KR-41", "KR-44"] and zones.tolist() == ["land", "land"]


def test_landlocked_prefecture_has_no_sea(index):
    assert index.geometry("JP-09", "territorial_sea").area < 1e-6  # Tochigi
    assert index.classify([36.5551], [139.8828])[0][0] == "JP-09"  # Utsunomiya


def test_areas_along_a_track_into_aomori(index):
    lat = np.full(400, 40.83)
    lon = np.linspace(137.0, 140.74, 400)  # from the Sea of Japan east to Aomori city
    runs = index.areas_along(lat, lon)
    assert runs[-1][0:2] == ("JP-02", "land")
    zones_in_order = [z for c, z, _ in runs]
    first_eez, first_terr = zones_in_order.index("eez"), zones_in_order.index("territorial_sea")
    assert first_eez < first_terr < zones_in_order.index("land")
    firsts = [i for _, _, i in runs]
    assert firsts == sorted(firsts)
    codes, zones = index.classify(lat, lon)
    for code, zone, i in runs:
        assert (codes[i], zones[i]) == (code, zone)
        assert i == 0 or (codes[i - 1], zones[i - 1]) != (code, zone)
    assert index.areas_along([], []) == []


def test_areas_near(index):
    near_tokyo = index.areas_near(35.6895, 139.6917, 30e3, zone="land")
    assert {"JP-13", "JP-11", "JP-14"} <= set(near_tokyo)
    assert "JP-01" not in near_tokyo
    assert index.areas_near(42.8, 133.0, 10e3) == []
    circle = geodesic_circle(35.0, 135.0, 100e3)
    _, lat0, _, lat1 = circle.bounds
    assert (lat1 - lat0) * 111.0e3 == pytest.approx(200e3, rel=0.02)


@pytest.mark.parametrize("code", ["JP-13", "JP-01", "JP-47", "KR-46", "US-AK", "US-HI", "JP-09"])
def test_cap_polygons(index, code):
    for max_points in (100, 12):
        rings = index.cap_polygons(code, max_points=max_points)
        assert rings
        for ring in rings:
            assert 4 <= len(ring) <= max_points
            assert ring[0] == ring[-1]
            assert all(-90 <= lat <= 90 and -180 <= lon <= 180 for lat, lon in ring)
            assert shapely.Polygon([(lon, lat) for lat, lon in ring]).is_valid
    main = index.cap_polygon(code, max_points=50)
    assert main == index.cap_polygons(code, max_points=50)[0]
    # the main polygon covers most of the area's main land mass
    land = index.geometry(code, "land")
    biggest = max(shapely.get_parts(land), key=lambda g: g.area)
    cover = shapely.Polygon([(lon, lat) for lat, lon in main])
    assert shapely.intersection(cover, biggest).area > 0.9 * biggest.area


def test_adjacent(index):
    assert {"JP-01", "JP-03", "JP-05"} <= set(index.adjacent("JP-02"))  # JP-01 across the Tsugaru Strait
    assert {"JP-11", "JP-14", "JP-19"} <= set(index.adjacent("JP-13"))
    assert "JP-40" in index.adjacent("JP-35")  # Kanmon Strait
    assert "KR-41" in index.adjacent("KR-11")
    assert "JP-01" not in index.adjacent("JP-13")
    assert index.adjacent("US-GU") == []
    for code in index.codes:
        for other in index.adjacent(code):
            assert code in index.adjacent(other)


def test_disputed_features_flagged_not_dropped(index):
    codes, zones = index.classify([37.2417, 44.9, 20.4253, 21.8, 25.7433],
                                  [131.8667, 147.6, 136.0808, 136.08, 123.4742])
    assert codes.tolist() == ["KR-47", "JP-01", "JP-13", "JP-13", "JP-47"]  # Dokdo, Etorofu, Okinotori...
    assert zones[1] == "land" and zones[3] == "eez"
    dokdo = index.disputes_near(37.2417, 131.8667)
    assert len(dokdo) == 1 and dokdo[0].claimed_by == ("JP-32",) and dokdo[0].assigned_to == "KR-47"
    etorofu = index.disputes_near(44.9, 147.6)
    assert etorofu and etorofu[0].administered_by == "RU"
    assert index.disputes_near(35.6895, 139.6917) == []
    assert "median lines ignored" in EEZ_NOTE


def test_bad_input_named(index):
    with pytest.raises(InputError, match="lat_deg"):
        index.classify([95.0], [0.0])
    with pytest.raises(InputError, match="lon_deg"):
        index.classify([0.0, 1.0], [0.0, np.nan])
    with pytest.raises(InputError, match="XX-99"):
        index.name("XX-99", "en")
    with pytest.raises(InputError, match="lang"):
        index.name("JP-13", "fr")
    with pytest.raises(InputError, match="zone"):
        index.geometry("JP-13", "airspace")
    with pytest.raises(InputError, match="radius"):
        index.areas_near(35.0, 135.0, -1.0)


def test_truncated_data_file_is_reported(tmp_path):
    src = AreaIndex.load()  # noqa: F841 - the shipped data must load before we damage a copy
    from triwarn.geo.areas import _default_dir

    shutil.copy(_default_dir() / "areas.json", tmp_path / "areas.json")
    blob = gzip.decompress((_default_dir() / "areas.wkb.gz").read_bytes())
    (tmp_path / "areas.wkb.gz").write_bytes(gzip.compress(blob[: len(blob) // 2]))
    with pytest.raises(InputError, match=r"areas\.wkb\.gz.*truncated"):
        AreaIndex.from_files(tmp_path)
    (tmp_path / "areas.wkb.gz").unlink()
    with pytest.raises(InputError, match="build_areas"):
        AreaIndex.from_files(tmp_path)


def test_shipped_data_is_commit_sized():
    from triwarn.geo.areas import _default_dir

    files = list(_default_dir().iterdir())
    assert {f.name for f in files} >= {"areas.json", "areas.wkb.gz", "areas_tiles.wkb.gz"}
    assert sum(f.stat().st_size for f in files) < 10e6
