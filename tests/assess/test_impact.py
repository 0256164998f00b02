import numpy as np
from scipy.stats import binom

from triwarn.assess.flight import fly_to_ground
from triwarn.assess.impact import ellipse_axes, predict_impacts
from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_enu, ecef_to_geodetic, geodetic_to_ecef

from .conftest import state_cov


def inside_ellipse(lat_deg, lon_deg, c_lat_deg, c_lon_deg, semi_major_m, semi_minor_m, orientation_deg):
    """Whether points are inside ellipses given by axes and orientation (tangent plane at the centre)."""
    p = geodetic_to_ecef(np.radians(lat_deg), np.radians(lon_deg), 0.0)
    e, n, _ = np.moveaxis(ecef_to_enu(p, np.radians(c_lat_deg), np.radians(c_lon_deg), 0.0), -1, 0)
    th = np.radians(orientation_deg)
    along = e * np.sin(th) + n * np.cos(th)
    across = e * np.cos(th) - n * np.sin(th)
    return (along / semi_major_m) ** 2 + (across / semi_minor_m) ** 2 <= 1.0


def test_ellipse_axes_of_a_known_covariance():
    # 3 km east-west by 1 km north-south: major axis points east (90 deg).
    a, b, o = ellipse_axes(np.diag([3000.0**2, 1000.0**2]))
    k = np.sqrt(5.991464547107979)
    assert np.isclose(a, 3000.0 * k) and np.isclose(b, 1000.0 * k) and np.isclose(o, 90.0)
    a, b, o = ellipse_axes(np.array([[1.0, 0.9], [0.9, 1.0]]) * 1e6)
    assert np.isclose(o, 45.0)


def test_surface_crossing_matches_a_fine_integration(irbm):
    s = irbm.free_state(irbm.burnout_t_s + 60.0)
    coarse = fly_to_ground(s[None, :3], s[None, 3:])
    fine = fly_to_ground(s[None, :3], s[None, 3:], step_vacuum_s=1.0)
    assert coarse.hit[0] and fine.hit[0]
    assert np.linalg.norm(coarse.pos_ecef_m - fine.pos_ecef_m) < 1.0
    assert abs(ecef_to_geodetic(coarse.pos_ecef_m)[2][0]) < 0.5


def test_zero_covariance_predicts_the_true_impact(irbm):
    s = irbm.free_state(irbm.burnout_t_s + 60.0)
    imp = predict_impacts([100.0], s[None, :3], s[None, 3:], np.zeros((1, 6, 6)) + np.eye(6) * 1e-6)
    dist, _ = geodesic.inverse(imp.lat_deg, imp.lon_deg, irbm.impact_lat_deg, irbm.impact_lon_deg)
    # The truth has re-entry drag (beta 5000 kg/m^2); the prediction flies in vacuum: a few hundred metres.
    assert dist[0] < 1000.0
    assert abs(imp.time_unix_s[0] - 100.0 - (irbm.impact_t_s - irbm.burnout_t_s - 60.0)) < 10.0


def test_95_percent_ellipse_holds_the_truth_in_95_percent_of_draws(irbm, lofted_icbm):
    rng = np.random.default_rng(7)
    n = 300
    lo, hi = binom.ppf(0.0005, n, 0.95), binom.ppf(0.9995, n, 0.95)
    for truth, cov in ((irbm, state_cov(300.0, 5.0)), (lofted_icbm, state_cov(500.0, 10.0, seed=3))):
        true_state = truth.free_state(truth.burnout_t_s + 60.0)
        noise = rng.multivariate_normal(np.zeros(6), cov, size=n)
        est = true_state + noise
        imp = predict_impacts(np.zeros(n), est[:, :3], est[:, 3:], np.broadcast_to(cov, (n, 6, 6)))
        assert np.all(imp.landed)
        ok = inside_ellipse(truth.impact_lat_deg, truth.impact_lon_deg, imp.lat_deg, imp.lon_deg,
                            imp.semi_major_m, imp.semi_minor_m, imp.orientation_deg)
        assert lo <= ok.sum() <= hi, (ok.sum(), lo, hi)
        # The ellipse is not vacuous either: a few km, not hundreds.
        assert np.median(imp.semi_major_m) < 100e3


def test_batched_accelerations_agree_with_the_physics_model():
    from triwarn.assess.flight import _accel_soa
    from triwarn.physics.dynamics import ballistic_accel_ecef

    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(-1.5, 1.5, 200), rng.uniform(-3.0, 3.0, 200)
    pos = geodetic_to_ecef(lat, lon, rng.uniform(0.0, 3e6, 200))
    vel = rng.normal(0.0, 3000.0, (200, 3))
    for beta in (np.inf, 500.0):
        ref = ballistic_accel_ecef(pos, vel, beta)
        got = _accel_soa(np.concatenate([pos.T, vel.T]), 0.0 if np.isinf(beta) else 1.0 / beta).T
        assert np.allclose(got, ref, rtol=1e-12, atol=1e-9)
    assert np.abs(ballistic_accel_ecef(pos, vel, 500.0) - ballistic_accel_ecef(pos, vel)).max() > 1.0
