"""geo.frames against pymap3d and pyproj: many random points, round trips, AER, poles, high altitude."""

from __future__ import annotations

import numpy as np
import pymap3d as pm
import pytest
from pyproj import Transformer

from triwarn.geo import frames

RNG = np.random.default_rng(20221004)
N = 20_000
LAT = np.radians(RNG.uniform(-90.0, 90.0, N))
LON = np.radians(RNG.uniform(-180.0, 180.0, N))
# From below sea level to beyond geostationary height, heavy on the heights ballistic flight uses.
ALT = np.concatenate([RNG.uniform(-1_000.0, 10_000.0, N // 2), RNG.uniform(10_000.0, 4.5e7, N - N // 2)])
RNG.shuffle(ALT)
LLH_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)


def test_geodetic_to_ecef_matches_pymap3d_and_pyproj():
    ours = frames.geodetic_to_ecef(LAT, LON, ALT)
    ref = np.stack(pm.geodetic2ecef(LAT, LON, ALT, deg=False), axis=-1)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    x, y, z = LLH_TO_ECEF.transform(np.degrees(LON), np.degrees(LAT), ALT)
    np.testing.assert_allclose(ours, np.stack([x, y, z], axis=-1), rtol=0, atol=1e-5)


def test_ecef_to_geodetic_matches_pyproj_and_round_trips_below_a_millimetre():
    ecef = frames.geodetic_to_ecef(LAT, LON, ALT)
    lat, lon, alt = frames.ecef_to_geodetic(ecef)
    np.testing.assert_allclose(alt, ALT, rtol=0, atol=1e-3)
    # Angles compared as distances along the surface: under 1 mm.
    np.testing.assert_allclose((lat - LAT) * 6.4e6, 0.0, atol=1e-3)
    dlon = np.angle(np.exp(1j * (lon - LON))) * np.cos(LAT) * 6.4e6
    np.testing.assert_allclose(dlon, 0.0, atol=1e-3)
    # PROJ's inverse is a one-step Bowring formula: exact to 1 mm below 100 km, 0.3 m off at GEO height,
    # where the round trip above is the stricter check.
    low = ALT < 100_000.0
    _, lat_p, alt_p = LLH_TO_ECEF.transform(ecef[low, 0], ecef[low, 1], ecef[low, 2], direction="INVERSE")
    np.testing.assert_allclose(alt[low], alt_p, rtol=0, atol=1e-3)
    np.testing.assert_allclose(np.degrees(lat[low]), lat_p, rtol=0, atol=1e-8)
    np.testing.assert_allclose(alt, alt_p_all := LLH_TO_ECEF.transform(*ecef.T, direction="INVERSE")[2],
                               rtol=2e-8, atol=1e-3)
    assert alt_p_all.shape == alt.shape


@pytest.mark.parametrize("lat_deg", [90.0, -90.0, 89.999999, -89.9999, 0.0])
@pytest.mark.parametrize("alt_m", [-500.0, 0.0, 1.0e5, 3.6e7])
def test_poles_equator_and_high_altitude(lat_deg, alt_m):
    lat, lon = np.radians(lat_deg), np.radians(33.0)
    ecef = frames.geodetic_to_ecef(lat, lon, alt_m)
    np.testing.assert_allclose(ecef, pm.geodetic2ecef(lat, lon, alt_m, deg=False), atol=1e-6)
    lat2, lon2, alt2 = frames.ecef_to_geodetic(ecef)
    assert float(alt2) == pytest.approx(alt_m, abs=1e-3)
    assert float(lat2) == pytest.approx(lat, abs=1e-12)
    if abs(lat_deg) < 90.0:
        assert float(lon2) == pytest.approx(lon, abs=1e-9)


def test_enu_and_aer_match_pymap3d():
    n = 5000
    lat0, lon0, alt0 = LAT[:n], LON[:n], RNG.uniform(-100.0, 3000.0, n)
    target = frames.geodetic_to_ecef(LAT[n:2 * n], LON[n:2 * n], ALT[n:2 * n])
    enu = frames.ecef_to_enu(target, lat0, lon0, alt0)
    e, nn, u = pm.ecef2enu(target[:, 0], target[:, 1], target[:, 2], lat0, lon0, alt0, deg=False)
    np.testing.assert_allclose(enu, np.stack([e, nn, u], axis=-1), rtol=1e-12, atol=1e-5)
    az, el, rng = frames.ecef_to_aer(target, lat0, lon0, alt0)
    az_r, el_r, rng_r = pm.ecef2aer(target[:, 0], target[:, 1], target[:, 2], lat0, lon0, alt0, deg=False)
    np.testing.assert_allclose(rng, rng_r, rtol=1e-12, atol=1e-5)
    np.testing.assert_allclose(el, el_r, atol=1e-11)
    np.testing.assert_allclose(np.angle(np.exp(1j * (az - az_r))), 0.0, atol=1e-10)
    assert np.all((az >= 0) & (az < 2 * np.pi))


def test_aer_round_trip_and_pymap3d_inverse():
    n = 5000
    lat0, lon0, alt0 = LAT[:n], LON[:n], RNG.uniform(0.0, 2000.0, n)
    az = RNG.uniform(0, 2 * np.pi, n)
    el = RNG.uniform(-np.pi / 2, np.pi / 2, n)
    rng = RNG.uniform(1.0, 4e7, n)
    ecef = frames.aer_to_ecef(az, el, rng, lat0, lon0, alt0)
    x, y, z = pm.aer2ecef(az, el, rng, lat0, lon0, alt0, deg=False)
    np.testing.assert_allclose(ecef, np.stack([x, y, z], axis=-1), rtol=0, atol=1e-5)
    az2, el2, rng2 = frames.ecef_to_aer(ecef, lat0, lon0, alt0)
    np.testing.assert_allclose(rng2, rng, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(el2, el, atol=1e-9)
    horiz = np.cos(el) > 1e-6  # azimuth is undefined straight up or down
    np.testing.assert_allclose(np.angle(np.exp(1j * (az2 - az)))[horiz], 0.0, atol=1e-7)


def test_enu_round_trip_and_rotation_is_orthonormal():
    rot = frames.enu_rotation(LAT[:100], LON[:100])
    eye = np.broadcast_to(np.eye(3), rot.shape)
    np.testing.assert_allclose(rot @ np.swapaxes(rot, -1, -2), eye, atol=1e-14)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-14)
    enu = RNG.normal(size=(100, 3)) * 1e6
    back = frames.ecef_to_enu(frames.enu_to_ecef(enu, LAT[:100], LON[:100], 10.0), LAT[:100], LON[:100], 10.0)
    np.testing.assert_allclose(back, enu, atol=1e-6)


def test_elevation_is_above_the_ellipsoid_normal_plane():
    # Straight up along the ellipsoid normal is +90 deg even where it misses the Earth's centre.
    lat0, lon0 = np.radians(45.0), np.radians(10.0)
    up = frames.geodetic_to_ecef(lat0, lon0, 500_000.0)
    _, el, rng = frames.ecef_to_aer(up, lat0, lon0, 0.0)
    assert float(el) == pytest.approx(np.pi / 2, abs=1e-12)
    assert float(rng) == pytest.approx(500_000.0, abs=1e-6)


def test_scalars_and_broadcasting():
    one = frames.geodetic_to_ecef(0.5, 1.0, 100.0)
    assert one.shape == (3,)
    many = frames.geodetic_to_ecef(np.array([0.5, 0.6]), 1.0, 100.0)
    assert many.shape == (2, 3)
    np.testing.assert_allclose(many[0], one)
    az, _el, r = frames.ecef_to_aer(np.zeros((4, 5, 3)) + one, 0.5, 1.0, 0.0)
    assert az.shape == (4, 5)
    np.testing.assert_allclose(r, 100.0, atol=1e-6)
