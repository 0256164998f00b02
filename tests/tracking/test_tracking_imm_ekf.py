"""The compiled IMM-EKF kernels against their numpy reference (kernel_oracles.py)."""

import numpy as np
import pytest
from kernel_oracles import (
    combine,
    imm_predict,
    imm_update,
    predict_position_covariance,
    process_noise,
    propagate_state,
    transition_jacobian,
)
from tracking_scenes import lofted_state

from triwarn.geo.frames import enu_rotation, geodetic_to_ecef
from triwarn.tracking import imm_ekf
from triwarn.tracking.models import MotionNoise, los_predict, radar_predict, radar_residual
from triwarn.tracking.predictor import ModeSwitching

NOISE, SWITCHING = MotionNoise(), ModeSwitching()
PARAMS = imm_ekf.kernel_params(NOISE, SWITCHING)
SITE_LAT, SITE_LON = np.radians(38.0), np.radians(134.0)
SITE, ROT = geodetic_to_ecef(SITE_LAT, SITE_LON, 20.0), enu_rotation(SITE_LAT, SITE_LON)


def random_tracks(n: int, seed: int = 0):
    """n two-mode tracks over Korea / the Sea of Japan with random positive-definite covariances."""
    rng = np.random.default_rng(seed)
    x_mode = np.zeros((n, 2, 9))
    for k in range(n):
        pos, vel = lofted_state(39 + rng.uniform(-1, 1), 130 + rng.uniform(-1, 1), rng.uniform(30e3, 300e3),
                                rng.uniform(500, 3000), rng.uniform(0, 360), rng.uniform(-40, 60))
        x_mode[k, :, 0:3], x_mode[k, :, 3:6] = pos, vel
    x_mode[:, 1, 6:9] = rng.normal(0, 20, (n, 3))
    x_mode += rng.normal(0, 1, x_mode.shape)
    a = rng.normal(0, 1, (n, 2, 9, 9))
    p_mode = a @ np.swapaxes(a, -1, -2) * 100.0 + np.eye(9) * 50.0
    mu = rng.uniform(0.02, 0.98, n)
    t = rng.uniform(0.0, 1.0, n)
    # late detections (negative dt) and long coasts (several integration sub-steps) included
    t_meas = t + rng.uniform(-1.5, 7.0, n)
    return rng, x_mode, p_mode, np.stack([1 - mu, mu], -1), t, t_meas


def assert_close(got, want, rtol=1e-9):
    scale = np.max(np.abs(want))
    assert np.max(np.abs(got - want)) <= rtol * scale


def test_radar_update_equals_the_numpy_reference():
    n = 40
    rng, x_mode, p_mode, mu, t, t_meas = random_tracks(n)
    xm, pm, c = imm_predict(x_mode, p_mode, mu, t_meas - t, NOISE, SWITCHING)
    zp, h = radar_predict(xm[..., 0:3], SITE, ROT)
    r_var = np.array([400.0, 1e-6, 1e-6])
    z = zp[:, 1, :] + rng.normal(0, np.sqrt(r_var), (n, 3))
    z[0, 1] = 1e-4  # an azimuth residual across north must wrap
    zp0, _ = radar_predict(xm[0, :, 0:3], SITE, ROT)
    nu = radar_residual(z[:, None, :], zp)
    want = imm_update(xm, pm, c, nu, h, np.broadcast_to(np.diag(r_var), (n, 3, 3)))

    x, p = np.zeros((n, 9)), np.zeros((n, 9, 9))
    got_xm, got_pm, got_mu, got_t = x_mode.copy(), p_mode.copy(), mu.copy(), t.copy()
    order = rng.permutation(n)  # tracks are addressed by index, in any order
    imm_ekf.imm_update_radar(got_xm, got_pm, got_mu, x, p, got_t, order, t_meas[order], z[order], SITE, ROT,
                             r_var, PARAMS)
    for got, ref in zip((got_xm, got_pm, got_mu, x, p), want[:5], strict=True):
        assert_close(got, ref)
    np.testing.assert_array_equal(got_t, t_meas)
    assert abs(zp0[0, 1] - 1e-4) > 1.0  # the wrap case really was across north


def test_untouched_tracks_stay_unchanged():
    _, x_mode, p_mode, mu, t, t_meas = random_tracks(6)
    before = x_mode.copy(), p_mode.copy(), mu.copy(), t.copy()
    x, p = np.zeros((6, 9)), np.zeros((6, 9, 9))
    idx = np.array([1, 4])
    z = radar_predict(x_mode[idx, 0, 0:3], SITE, ROT)[0]
    imm_ekf.imm_update_radar(x_mode, p_mode, mu, x, p, t, idx, t_meas[idx], z, SITE, ROT,
                             np.array([400.0, 1e-6, 1e-6]), PARAMS)
    rest = np.array([0, 2, 3, 5])
    for now, then in zip((x_mode, p_mode, mu, t), before, strict=True):
        np.testing.assert_array_equal(now[rest], then[rest])
        assert not np.array_equal(now[idx], then[idx])


def test_los_update_equals_the_numpy_reference():
    n = 30
    rng, x_mode, p_mode, mu, t, t_meas = random_tracks(n, seed=3)
    plat = np.broadcast_to(geodetic_to_ecef(0.0, np.radians(130.0), 35_786e3), (n, 3)).copy()
    xm, pm, c = imm_predict(x_mode, p_mode, mu, t_meas - t, NOISE, SWITCHING)
    d = xm[:, 0, 0:3] - plat
    los = d / np.linalg.norm(d, axis=1)[:, None] + rng.normal(0, 1e-5, (n, 3))
    los /= np.linalg.norm(los, axis=1)[:, None]
    shape = xm[..., 0:3].shape
    zp, h = los_predict(xm[..., 0:3], np.broadcast_to(plat[:, None], shape), np.broadcast_to(los[:, None], shape))
    sigma = 20e-6
    want = imm_update(xm, pm, c, -zp, h, np.broadcast_to(sigma**2 * np.eye(2), (n, 2, 2)))
    x, p = np.zeros((n, 9)), np.zeros((n, 9, 9))
    imm_ekf.imm_update_los(x_mode, p_mode, mu, x, p, t, np.arange(n), t_meas, plat, los, sigma, PARAMS)
    for got, ref in zip((x_mode, p_mode, mu, x, p), want[:5], strict=True):
        assert_close(got, ref)


@pytest.mark.parametrize("t_to", [0.5, 9.0, -3.0])
def test_predictions_equal_the_numpy_reference(t_to):
    n = 25
    _, x_mode, p_mode, mu, t, _ = random_tracks(n, seed=5)
    idx = np.arange(n)
    x, p, mu_pred = imm_ekf.imm_predict_combined(x_mode, p_mode, mu, t, idx, t_to, PARAMS)
    xm, pm, c = imm_predict(x_mode, p_mode, mu, t_to - t, NOISE, SWITCHING)
    want_x, want_p = combine(xm, pm, c)
    assert_close(x, want_x)
    assert_close(p, want_p)
    assert_close(mu_pred, c)

    xs, ps, boost_prob = x_mode[:, 1], p_mode[:, 1], mu[:, 1]
    boost = boost_prob > 0.5
    assert 0 < boost.sum() < n
    f = transition_jacobian(xs, t_to - t, boost)
    want_p = f @ ps @ np.swapaxes(f, -1, -2) + process_noise(t_to - t, boost, NOISE)
    x_dom, p_dom = imm_ekf.dominant_predict(xs, ps, t, boost_prob, idx, t_to, PARAMS, True)
    assert_close(x_dom, propagate_state(xs, t_to - t, boost))
    assert_close(p_dom, want_p)
    _, p_pos = imm_ekf.dominant_predict(xs, ps, t, boost_prob, idx, t_to, PARAMS, False)
    assert_close(p_pos[:, 0:3, 0:3], predict_position_covariance(xs, ps, t_to - t, boost, NOISE))


def test_pair_gate_equals_the_numpy_reference():
    n = 12
    rng, x_mode, p_mode, _, _, _ = random_tracks(n, seed=7)
    xp, pp = x_mode[:, 0], p_mode[:, 0]
    z = radar_predict(xp[:, 0:3], SITE, ROT)[0] + rng.normal(0, [50, 1e-3, 1e-3], (n, 3))
    ti, mj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ti, mj = ti.ravel(), mj.ravel()
    dt = rng.uniform(0, 0.9, ti.size)
    r_var = np.array([400.0, 1e-6, 1e-6])
    d2, log_det = imm_ekf.radar_pair_gate(xp, pp, ti, mj, dt, z, SITE, ROT, r_var)
    zp, h = radar_predict(xp[ti, 0:3] + xp[ti, 3:6] * dt[:, None], SITE, ROT)
    s = h[:, :, 0:3] @ pp[ti, 0:3, 0:3] @ np.swapaxes(h[:, :, 0:3], -1, -2) + np.diag(r_var)
    nu = radar_residual(z[mj], zp)
    want = np.einsum("ni,nij,nj->n", nu, np.linalg.inv(s), nu)
    assert_close(d2, want, rtol=1e-8)
    assert_close(log_det, np.log(np.linalg.det(s)), rtol=1e-10)


def test_detection_conversion_equals_the_numpy_reference():
    from triwarn.tracking.models import radar_to_ecef

    rng = np.random.default_rng(2)
    z = np.stack([rng.uniform(1e4, 1.5e6, 50), rng.uniform(0, 2 * np.pi, 50), rng.uniform(0, 1.4, 50)], -1)
    sigma = np.array([25.0, 8e-4, 9e-4])
    pos, cov, max_trace = imm_ekf.radar_to_ecef_compiled(z, SITE, ROT, sigma)
    want_pos, want_cov = radar_to_ecef(z, SITE, ROT, sigma)
    assert_close(pos, want_pos, rtol=1e-13)
    assert_close(cov, want_cov, rtol=1e-12)
    assert max_trace == pytest.approx(np.max(np.trace(want_cov, axis1=1, axis2=2)), rel=1e-12)


def test_a_numerical_failure_is_flagged_not_raised():
    _, x_mode, p_mode, mu, t, t_meas = random_tracks(3)
    z = radar_predict(x_mode[:, 0, 0:3], SITE, ROT)[0]
    z[1, 0] = np.nan
    x, p = np.zeros((3, 9)), np.zeros((3, 9, 9))
    finite = imm_ekf.imm_update_radar(x_mode, p_mode, mu, x, p, t, np.arange(3), t_meas, z, SITE, ROT,
                                      np.array([400.0, 1e-6, 1e-6]), PARAMS)
    assert finite.tolist() == [True, False, True]
