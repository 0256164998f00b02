"""Space-based IR model: boost only, line-of-sight accuracy, latency, Earth limb, platform orbits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from triwarn.geo.frames import ecef_to_geodetic, geodetic_to_ecef
from triwarn.geo.wgs84 import A_M
from triwarn.sensors import infrared
from triwarn.sensors.definitions import GEO_RADIUS_M, IrSensor

GEO = dict(id="us-geo", nation="us", platform="geo", sub_lon_deg=130.0, sigma_los_urad=60.0, frame_s=2.0,
           latency_s=4.0, p_detect=1.0)
HEO = dict(id="us-heo", nation="us", platform="heo", sma_km=26554.0, ecc=0.72, incl_deg=63.4,
           raan_deg=40.0, argp_deg=270.0, mean_anomaly_deg=180.0, epoch_unix_s=1.6e9, sigma_los_urad=50.0,
           frame_s=2.0, latency_s=5.0, p_detect=1.0)


def plumes(n: int, rng, lon_deg: float = 127.0, alt_m: float = 40_000.0) -> np.ndarray:
    lat = np.radians(rng.uniform(35.0, 42.0, n))
    lon = np.radians(rng.uniform(lon_deg - 2, lon_deg + 2, n))
    return geodetic_to_ecef(lat, lon, np.full(n, alt_m))


def test_sees_only_boost():
    s = IrSensor(**GEO)
    rng = np.random.default_rng(1)
    n = 4000
    pos = plumes(n, rng)
    boost = rng.random(n) < 0.4
    out = infrared.observe(s, np.arange(n, dtype=float), pos, boost, np.arange(n), rng)
    assert len(out) == boost.sum()  # p_detect 1: every burning object, and nothing else
    assert boost[out.object_idx].all()
    seen_all = infrared.observe(IrSensor(**GEO | {"boost_only": False}), np.arange(n, dtype=float), pos,
                                boost, np.arange(n), rng)
    assert len(seen_all) == n


def test_line_of_sight_noise_and_ground_accuracy():
    s = IrSensor(**GEO)
    rng = np.random.default_rng(2)
    n = 20_000
    pos = plumes(n, rng)
    out = infrared.observe(s, np.arange(n, dtype=float), pos, np.ones(n, bool), np.arange(n), rng)
    assert len(out) == n
    truth = pos[out.object_idx] - out.platform_ecef_m
    dist = np.linalg.norm(truth, axis=1)
    truth /= dist[:, None]
    np.testing.assert_allclose(np.linalg.norm(out.los_ecef, axis=1), 1.0, atol=1e-12)
    ang = np.arccos(np.clip(np.sum(truth * out.los_ecef, axis=1), -1, 1))
    # Two independent axes of sigma each: the squared angle is sigma^2 times a chi-square with 2 dof.
    total = np.sum((ang / s.sigma_los_rad) ** 2)
    lo, hi = stats.chi2.ppf([5e-5, 1 - 5e-5], 2 * n)
    assert lo < total < hi
    # Perpendicular error at the plume: "a ground accuracy of a few km".
    rms_km = math.sqrt(np.mean((ang * dist) ** 2)) / 1e3
    assert 1.0 < rms_km < 5.0


def test_latency_and_time_order():
    s = IrSensor(**GEO | {"p_detect": 0.8})
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 100, 500)
    out = infrared.observe(s, t, plumes(500, rng), np.ones(500, bool), np.arange(500), rng)
    assert np.all(np.diff(out.t_unix_s) >= 0)
    np.testing.assert_allclose(out.t_available_unix_s - out.t_unix_s, 4.0)
    lo, hi = stats.binom.interval(1 - 1e-4, 500, 0.8)
    assert lo <= len(out) <= hi


def test_earth_limb_and_cloud_height():
    s = IrSensor(**GEO | {"min_alt_m": 5000.0})
    rng = np.random.default_rng(4)
    far_side = plumes(200, rng, lon_deg=-50.0)  # behind the Earth from 130 E
    out = infrared.observe(s, np.zeros(200), far_side, np.ones(200, bool), np.arange(200), rng)
    assert len(out) == 0
    low = plumes(200, rng, alt_m=2000.0)  # under the cloud tops
    assert len(infrared.observe(s, np.zeros(200), low, np.ones(200, bool), np.arange(200), rng)) == 0


def test_frame_times():
    s = IrSensor(**GEO | {"frame_phase_s": 0.5})
    assert infrared.frame_times(s, 10.0, 17.0).tolist() == [10.5, 12.5, 14.5, 16.5]


def test_geo_platform_is_fixed_over_its_longitude():
    s = IrSensor(**GEO)
    p = infrared.platform_ecef_m(s, np.array([0.0, 5e4]))
    np.testing.assert_allclose(p[0], p[1])
    lat, lon, alt = ecef_to_geodetic(p[0])
    assert float(lat) == pytest.approx(0.0, abs=1e-12)
    assert math.degrees(float(lon)) == pytest.approx(130.0)
    assert np.linalg.norm(p[0]) == pytest.approx(GEO_RADIUS_M)
    assert float(alt) == pytest.approx(GEO_RADIUS_M - A_M)


def test_heo_orbit_apogee_perigee_and_period():
    s = IrSensor(**HEO)
    period = 2 * math.pi * math.sqrt((s.sma_km * 1e3) ** 3 / 3.986004418e14)
    t = s.epoch_unix_s + np.linspace(0.0, period, 2001)
    r = np.linalg.norm(infrared.platform_ecef_m(s, t), axis=1)
    assert r[0] == pytest.approx(s.sma_km * 1e3 * (1 + s.ecc), rel=1e-9)  # mean anomaly 180: apogee
    assert r.min() == pytest.approx(s.sma_km * 1e3 * (1 - s.ecc), rel=1e-4)
    assert r[-1] == pytest.approx(r[0], rel=1e-6)
    # argp 270 puts apogee over the north at the inclination's latitude, 90 deg east of the node.
    lat, lon, _ = ecef_to_geodetic(infrared.platform_ecef_m(s, t[:1]))
    assert math.degrees(float(lat[0])) == pytest.approx(63.4, abs=0.3)
    assert math.degrees(float(lon[0])) == pytest.approx(130.0, abs=0.3)


def test_heo_sees_plumes_from_apogee():
    s = IrSensor(**HEO)
    rng = np.random.default_rng(5)
    n = 300
    t = s.epoch_unix_s + 0.1 * np.arange(n)
    out = infrared.observe(s, t, plumes(n, rng), np.ones(n, bool), np.arange(n), rng)
    assert len(out) == n


def test_one_report_per_plume_pixel():
    s = IrSensor(**GEO | {"resolution_urad": 30.0})
    rng = np.random.default_rng(6)
    a = geodetic_to_ecef(np.radians(40.0), np.radians(127.0), 50_000.0)
    b = geodetic_to_ecef(np.radians(40.5), np.radians(127.0), 50_000.0)  # 55 km away: another plume
    pos = np.stack([a, a, b, a])  # frame 1: a missile's stage and warhead together, and a second missile
    t = np.array([1.0, 1.0, 1.0, 3.0])
    out = infrared.observe(s, t, pos, np.ones(4, bool), np.arange(4), rng)
    assert sorted(out.object_idx.tolist()) == [0, 2, 3]
    off = infrared.observe(IrSensor(**GEO | {"resolution_urad": 0.0}), t, pos, np.ones(4, bool),
                           np.arange(4), rng)
    assert len(off) == 4
