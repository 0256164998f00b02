"""Radar model: noise statistics, horizon masking, detection probability, clutter, scan times."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from triwarn.geo.frames import aer_to_ecef, ecef_to_aer, geodetic_to_ecef
from triwarn.sensors import radar
from triwarn.sensors.definitions import RadarSensor

SITE = dict(id="r", nation="jp", lat_deg=38.0, lon_deg=138.3, alt_m=300.0, sigma_range_m=25.0,
            sigma_az_deg=0.05, sigma_el_deg=0.08, revisit_s=2.0, max_range_m=1.5e6, min_el_deg=1.0,
            p_detect=1.0)


def sensor(**kw) -> RadarSensor:
    return RadarSensor(**(SITE | kw))


def targets_in_view(s: RadarSensor, n: int, rng) -> np.ndarray:
    az = rng.uniform(0, 2 * np.pi, n)
    el = rng.uniform(math.radians(5), math.radians(60), n)
    r = rng.uniform(2e5, 1.2e6, n)
    return aer_to_ecef(az, el, r, s.lat_rad, s.lon_rad, s.alt_m)


def chi2_bounds(n: int, sigma: float, p: float = 1e-4) -> tuple[float, float]:
    """Bounds on the sample std of n zero-mean Gaussian draws, failing with probability p."""
    lo, hi = stats.chi2.ppf([p / 2, 1 - p / 2], n)
    return sigma * math.sqrt(lo / n), sigma * math.sqrt(hi / n)


def test_noise_statistics_within_chi_square_bounds():
    s = sensor()
    rng = np.random.default_rng(11)
    pos = targets_in_view(s, 20_000, rng)
    detected, r, az, el = radar.measure(s, pos, rng)
    assert detected.all()
    az0, el0, r0 = ecef_to_aer(pos, s.lat_rad, s.lon_rad, s.alt_m)
    errors = {
        "range": (r - r0, s.sigma_range_m),
        "az": (np.mod(az - az0 + np.pi, 2 * np.pi) - np.pi, s.sigma_az_rad),
        "el": (el - el0, s.sigma_el_rad),
    }
    for name, (err, sigma) in errors.items():
        lo, hi = chi2_bounds(err.size, sigma)
        std = math.sqrt(np.mean(err**2))
        assert lo < std < hi, name
        assert abs(err.mean()) < 4.5 * sigma / math.sqrt(err.size), name
    # The three errors are independent.
    assert abs(np.corrcoef(errors["range"][0], errors["az"][0])[0, 1]) < 0.04


def test_below_horizon_never_detected_and_earth_masks_low_looks():
    # A mountain radar allowed to look 8 degrees down: the horizon dips ~1.4 degrees at 2 km height, so
    # only the Earth itself can hide low targets far away.
    s = sensor(alt_m=2000.0, min_el_deg=-8.0, p_detect=1.0)
    rng = np.random.default_rng(5)
    n = 5000
    az = rng.uniform(0, 2 * np.pi, n)
    dist_m = rng.uniform(3e5, 8e5, n)  # far beyond the ~160 km horizon distance
    # Targets just above the sea, far away: hidden by the Earth's bulge between site and target.
    ground = aer_to_ecef(az, np.zeros(n), dist_m, s.lat_rad, s.lon_rad, 0.0)
    from triwarn.geo.frames import ecef_to_geodetic

    lat, lon, _ = ecef_to_geodetic(ground)
    low = geodetic_to_ecef(lat, lon, rng.uniform(0.0, 500.0, n))  # horizons: 160 + 80 km
    _, el_low, r_low = ecef_to_aer(low, s.lat_rad, s.lon_rad, s.alt_m)
    assert np.all(el_low > s.min_el_rad) and np.all(r_low < s.max_range_m)  # only the Earth is in the way
    for _ in range(5):
        detected, *_ = radar.measure(s, low, rng)
        assert not detected.any()
    # The same directions 400 km up are in plain view.
    high = geodetic_to_ecef(lat, lon, 400_000.0)
    detected, *_ = radar.measure(s, high, rng)
    assert detected.all()


def test_min_elevation_max_range_and_field_of_regard():
    s = sensor(boresight_az_deg=270.0, half_width_az_deg=60.0)
    az = np.radians([270.0, 215.0, 325.0, 90.0, 270.0, 270.0])
    el = np.radians([10.0, 10.0, 10.0, 10.0, 0.5, 10.0])
    r = np.array([5e5, 5e5, 5e5, 5e5, 5e5, 1.6e6])
    pos = aer_to_ecef(az, el, r, s.lat_rad, s.lon_rad, s.alt_m)
    ok, *_ = radar.visible(s, pos)
    assert ok.tolist() == [True, True, True, False, False, False]


def test_detection_probability_binomial_bounds():
    s = sensor(p_detect=0.7)
    rng = np.random.default_rng(2)
    pos = targets_in_view(s, 30_000, rng)
    detected, r, _, _ = radar.measure(s, pos, rng)
    lo, hi = stats.binom.interval(1 - 1e-4, pos.shape[0], 0.7)
    assert lo <= detected.sum() <= hi
    assert np.isnan(r[~detected]).all() and np.isfinite(r[detected]).all()


def test_clutter_rate_and_volume():
    s = sensor(clutter_rate=2.5, boresight_az_deg=300.0, half_width_az_deg=45.0, max_el_deg=70.0)
    rng = np.random.default_rng(8)
    scans = radar.scan_times(s, 0.0, 8_000.0)
    false = radar.clutter(s, scans, rng)
    lo, hi = stats.poisson.interval(1 - 1e-4, 2.5 * scans.size)
    assert lo <= len(false) <= hi
    assert np.all(false.range_m <= s.max_range_m)
    assert np.all((false.el_rad >= s.min_el_rad) & (false.el_rad <= s.max_el_rad))
    off = np.abs(np.mod(false.az_rad - s.boresight_az_rad + np.pi, 2 * np.pi) - np.pi)
    assert np.all(off <= s.half_width_az_rad + 1e-12)
    assert np.all(false.object_idx == -1) and set(np.unique(false.t_unix_s)) <= set(scans)
    # Uniform in volume: an eighth of the points within half the maximum range.
    inner = int((false.range_m < 0.5 * s.max_range_m).sum())
    blo, bhi = stats.binom.interval(1 - 1e-4, len(false), 1 / 8)
    assert blo <= inner <= bhi
    assert len(radar.clutter(sensor(clutter_rate=0.0), scans, rng)) == 0


def test_scan_times_follow_phase_and_revisit():
    s = sensor(revisit_s=2.0, scan_phase_s=0.5)
    scans = radar.scan_times(s, 100.0, 110.0)
    assert scans.tolist() == [100.5, 102.5, 104.5, 106.5, 108.5]


def test_observe_merges_targets_and_clutter_in_time_order():
    s = sensor(clutter_rate=1.0, p_detect=0.9)
    rng = np.random.default_rng(4)
    scans = radar.scan_times(s, 0.0, 200.0)
    pos = targets_in_view(s, scans.size, rng)
    out = radar.observe(s, scans, pos, np.zeros(scans.size, np.int32), scans, rng)
    assert np.all(np.diff(out.t_unix_s) >= 0)
    n_target = int((out.object_idx == 0).sum())
    assert 0 < n_target <= scans.size and (out.object_idx == -1).sum() > 50


@pytest.mark.parametrize("lat_deg", [-89.9, 0.0, 89.9])
def test_visible_works_at_poles_and_equator(lat_deg):
    s = sensor(lat_deg=lat_deg, lon_deg=-170.0)
    pos = aer_to_ecef(0.3, 0.5, 3e5, s.lat_rad, s.lon_rad, s.alt_m)
    ok, _az, el, r = radar.visible(s, pos[None])
    assert ok[0] and r[0] == pytest.approx(3e5) and el[0] == pytest.approx(0.5)


def test_objects_in_one_resolution_cell_give_one_detection():
    s = sensor(p_detect=1.0, range_resolution_m=50.0, beamwidth_deg=1.0)
    base = aer_to_ecef(np.radians(40.3), np.radians(20.3), 600_000.3, s.lat_rad, s.lon_rad, s.alt_m)
    far = aer_to_ecef(np.radians(40.3), np.radians(20.3), 610_000.3, s.lat_rad, s.lon_rad, s.alt_m)
    pos = np.stack([base, base, far, base, far])  # scan 1: a warhead, its stage beside it, another object
    scan_t = np.array([1.0, 1.0, 1.0, 2.0, 2.0])
    rng = np.random.default_rng(0)
    detected, *_ = radar.measure(s, pos, rng, scan_t=scan_t)
    assert detected.tolist() == [True, False, True, True, True]
    off = sensor(p_detect=1.0, range_resolution_m=0.0)
    assert radar.measure(off, pos, rng, scan_t=scan_t)[0].all()
