"""geo.geodesic against pyproj.Geod and known values: inverse, direct, round trips, poles, antipodes."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from triwarn.geo import geodesic

REF = Geod(ellps="WGS84")
RNG = np.random.default_rng(7)
N = 5000


def test_inverse_matches_pyproj_on_random_pairs():
    lat1, lat2 = RNG.uniform(-90, 90, (2, N))
    lon1, lon2 = RNG.uniform(-180, 180, (2, N))
    dist, az = geodesic.inverse(lat1, lon1, lat2, lon2)
    az_ref, _, dist_ref = REF.inv(lon1, lat1, lon2, lat2)
    np.testing.assert_allclose(dist, dist_ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.angle(np.exp(1j * np.radians(az - az_ref))), 0.0, atol=1e-12)
    assert np.all((az >= 0) & (az < 360))


def test_direct_then_inverse_round_trip():
    lat, lon = RNG.uniform(-89, 89, N), RNG.uniform(-180, 180, N)
    az, dist = RNG.uniform(0, 360, N), RNG.uniform(1.0, 1.9e7, N)
    lat2, lon2 = geodesic.direct(lat, lon, az, dist)
    assert np.all((lon2 >= -180) & (lon2 <= 180)) and np.all(np.abs(lat2) <= 90)
    back, az_back = geodesic.inverse(lat, lon, lat2, lon2)
    np.testing.assert_allclose(back, dist, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(np.angle(np.exp(1j * np.radians(az_back - az))), 0.0, atol=1e-7)


def test_known_distances():
    # A quarter meridian of WGS84 is 10,001,965.729 m; a degree of equator is 111,319.491 m.
    quarter, az = geodesic.inverse(0.0, 0.0, 90.0, 0.0)
    assert float(quarter) == pytest.approx(10_001_965.729, abs=1e-3) and float(az) == pytest.approx(0.0)
    deg, az = geodesic.inverse(0.0, 0.0, 0.0, 1.0)
    assert float(deg) == pytest.approx(111_319.491, abs=1e-3) and float(az) == pytest.approx(90.0)
    # Launch area to Aomori, the 2022-10-04 track: about 1,211 km heading a little north of east.
    d, az = geodesic.inverse(40.6, 126.4, 40.82, 140.74)
    assert 1_200e3 < float(d) < 1_220e3 and 83.0 < float(az) < 86.0


def test_poles_antipodes_and_zero_distance():
    d, _ = geodesic.inverse(90.0, 0.0, -90.0, 0.0)
    assert float(d) == pytest.approx(2 * 10_001_965.729, abs=1e-3)
    d, _ = geodesic.inverse(10.0, 20.0, -10.0, -160.0)  # antipodal points
    assert float(d) == pytest.approx(20_003_931.5, abs=1e3)
    d, _ = geodesic.inverse(35.0, 139.0, 35.0, 139.0)
    assert float(d) == 0.0
    lat, lon = geodesic.direct(89.9, 0.0, 0.0, 50_000.0)  # over the pole
    assert float(lat) < 90.0 and abs(float(lon)) == pytest.approx(180.0, abs=1e-6)


def test_scalars_and_broadcasting():
    d, az = geodesic.inverse(40.0, 126.0, np.array([41.0, 42.0]), 140.0)
    assert d.shape == (2,) and az.shape == (2,)
    lat, _lon = geodesic.direct(40.0, 126.0, np.array([[0.0, 90.0]]), 1e5)
    assert lat.shape == (1, 2)
