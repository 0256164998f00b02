"""CellAreaIndex: the same answers as AreaIndex.classify (cell shortcut), the same errors, the rest shared."""

from __future__ import annotations

import numpy as np
import pytest

from triwarn.errors import InputError
from triwarn.geo.area_cells import CellAreaIndex
from triwarn.geo.areas import AreaIndex


@pytest.fixture(scope="module")
def both() -> tuple[AreaIndex, CellAreaIndex]:
    return AreaIndex.load(), CellAreaIndex.load()


def _points(rng, n, lat_range, lon_range):
    lat = rng.uniform(*lat_range, n)
    lon = rng.uniform(*lon_range, n)
    lat[: n // 20] = np.round(lat[: n // 20])  # on the 1-degree grid lines
    lon[n // 20: n // 10] = np.round(lon[n // 20: n // 10])
    lat[n // 10: n // 8] = np.round(lat[n // 10: n // 8] * 16) / 16  # on the fine grid's lines
    lon[n // 8: n // 6] = np.round(lon[n // 8: n // 6] * 16) / 16
    lon[n // 6: n // 5] += 360.0  # wrapped longitudes
    return lat, lon


@pytest.mark.parametrize(("lat_range", "lon_range"), [
    ((30.0, 46.0), (124.0, 146.0)),  # Korea, the Sea of Japan, northern and central Japan
    ((20.0, 36.0), (122.0, 155.0)),  # the Ryukyus, Ogasawara, the open Pacific
    ((10.0, 24.0), (140.0, 150.0)),  # Guam and the Marianas
    ((50.0, 60.0), (170.0, 190.0)),  # the Aleutians across the antimeridian
])
def test_same_answers_as_the_shapely_index(both, lat_range, lon_range) -> None:
    plain, cells = both
    rng = np.random.default_rng(7)
    lat, lon = _points(rng, 40_000, lat_range, lon_range)
    for chunk in np.array_split(np.arange(lat.size), 8):  # cells met before and new ones
        c0, z0 = plain.classify(lat[chunk], lon[chunk])
        c1, z1 = cells.classify(lat[chunk], lon[chunk])
        assert c1.dtype == c0.dtype and z1.dtype == z0.dtype
        np.testing.assert_array_equal(c1, c0)
        np.testing.assert_array_equal(z1, z0)
    # The shortcut did take most points of open water: a good share of the cells met are simple.
    met = cells._coarse[cells._coarse != -3]
    assert np.count_nonzero(met >= -1) > 0


def test_shapes_small_inputs_and_known_places(both) -> None:
    plain, cells = both
    lat = np.array([[35.6895, 40.8246], [38.0, 20.0]])
    lon = np.array([[139.6917, 140.7406], [134.0, 170.0]])
    assert [x.tolist() for x in cells.classify(lat, lon)] == [x.tolist() for x in plain.classify(lat, lon)]
    big_lat = np.repeat(lat.ravel(), 40).reshape(10, 16)
    big_lon = np.repeat(lon.ravel(), 40).reshape(10, 16)
    codes, zones = cells.classify(big_lat, big_lon)
    assert codes.shape == (10, 16) and codes[0, 0] == "JP-13" and zones[0, 0] == "land"
    assert codes[-1, -1] == "" and zones[-1, -1] == ""


def test_bad_points_raise_as_the_shapely_index(both) -> None:
    _plain, cells = both
    lat = np.full(100, 35.0)
    lat[40] = np.nan
    with pytest.raises(InputError, match="point 40"):
        cells.classify(lat, np.full(100, 135.0))
    with pytest.raises(InputError):
        cells.classify(np.full(100, 91.0), np.full(100, 135.0))


def test_everything_else_is_the_loaded_index(both) -> None:
    plain, cells = both
    assert CellAreaIndex.load() is cells
    assert cells.codes == plain.codes
    assert cells.cap_polygon("JP-02") == plain.cap_polygon("JP-02")
    assert cells.areas_near(40.8, 140.7, 10_000.0) == plain.areas_near(40.8, 140.7, 10_000.0)
