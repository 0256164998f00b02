"""Analytic Jacobians of the tracker's models against central differences of the models themselves
(the motion models through their numpy reference, kernel_oracles.py)."""

import numpy as np
import pytest
from kernel_oracles import propagate_state, transition_jacobian
from tracking_scenes import lofted_state

from triwarn.geo.frames import enu_rotation, geodetic_to_ecef
from triwarn.geo.wgs84 import OMEGA_RAD_S
from triwarn.physics.dynamics import gravity_gradient_ecef, gravity_j2_ecef
from triwarn.tracking.models import los_predict, radar_predict, radar_residual, radar_to_ecef

POS, VEL = lofted_state(39.0, 128.0, 300e3, 3000.0, 90.0, 35.0)


def test_gravity_gradient_matches_differences():
    numeric = np.stack([(gravity_j2_ecef(POS + e) - gravity_j2_ecef(POS - e)) / 2.0 for e in np.eye(3)], axis=1)
    analytic = gravity_gradient_ecef(POS)
    assert np.allclose(analytic, numeric, rtol=1e-6, atol=1e-13)
    # The gradient of a potential field is symmetric, and its trace is ~0 outside the Earth (Laplace).
    assert np.allclose(analytic, analytic.T, atol=1e-15)
    assert abs(np.trace(analytic)) < 1e-3 * np.abs(analytic).max()


@pytest.mark.parametrize("boost", [False, True])
@pytest.mark.parametrize("dt", [1.0, -2.5, 6.0])
def test_transition_jacobian_matches_differences(boost, dt):
    x = np.r_[POS, VEL, 3.0, -2.0, 5.0]
    step = np.r_[np.full(3, 1.0), np.full(6, 0.01)]
    cols = [(propagate_state(x + h * e, dt, boost) - propagate_state(x - h * e, dt, boost)) / (2 * h)
            for e, h in zip(np.eye(9), step, strict=True)]
    numeric = np.stack(cols, axis=1)
    # Entries are O(1) to O(dt^2); the series and the midpoint integrator differ in third-order terms
    # of the Coriolis rate (1.5e-4 /s): below 1e-3 even at 6 s, i.e. millimetres per m/s^2 of force.
    assert np.allclose(transition_jacobian(x, dt, boost), numeric, rtol=1e-6, atol=1e-3)


def test_ballistic_mode_drops_the_specific_force():
    x = np.r_[POS, VEL, 30.0, 0.0, 0.0]
    assert np.all(propagate_state(x, 2.0, False)[6:] == 0.0)
    moved = propagate_state(x, 2.0, True)[0:3] - propagate_state(x, 2.0, False)[0:3]
    assert np.allclose(moved, [0.5 * 30.0 * 4.0, 0, 0], atol=1.0)


def test_radar_model_jacobian_and_round_trip():
    lat, lon = np.radians(38.0), np.radians(134.0)
    site, rot = geodetic_to_ecef(lat, lon, 20.0), enu_rotation(lat, lon)
    z, h = radar_predict(POS, site, rot)
    numeric = np.stack([(radar_predict(POS + e, site, rot)[0] - radar_predict(POS - e, site, rot)[0]) / 2.0
                        for e in np.eye(3)], axis=1)
    assert np.allclose(h[:, 0:3], numeric, rtol=1e-6, atol=1e-12)
    pos, cov = radar_to_ecef(z, site, rot, np.array([10.0, 1e-3, 1e-3]))
    assert np.allclose(pos, POS, atol=1e-6)
    # The converted covariance is the measurement covariance mapped through the inverse Jacobian.
    j = h[:, 0:3]
    assert np.allclose(j @ cov @ j.T, np.diag([100.0, 1e-6, 1e-6]), rtol=1e-6, atol=1e-15)


def test_azimuth_residual_wraps():
    nu = radar_residual(np.array([1.0, 0.01, 0.0]), np.array([1.0, 2 * np.pi - 0.01, 0.0]))
    assert nu[1] == pytest.approx(0.02)


def test_los_model_is_zero_on_the_line_and_its_jacobian():
    platform = np.array([42_164e3, 0.0, 0.0])
    los = (POS - platform) / np.linalg.norm(POS - platform)
    z, h = los_predict(POS, platform, los)
    assert np.allclose(z, 0.0, atol=1e-15)
    numeric = np.stack([(los_predict(POS + 10 * e, platform, los)[0] - los_predict(POS - 10 * e, platform, los)[0])
                        / 20.0 for e in np.eye(3)], axis=1)
    assert np.allclose(h[:, 0:3], numeric, rtol=1e-5, atol=1e-16)


def test_compiled_acceleration_equals_the_physics_module():
    from triwarn.physics.dynamics import frame_accel_ecef
    from triwarn.tracking.imm_ekf import _free_flight_accel, _gravity_gradient

    pos = np.stack([POS, POS * 1.3, -POS])
    vel = np.stack([VEL, -VEL, 2 * VEL])
    expected = gravity_j2_ecef(pos) + frame_accel_ecef(pos, vel)
    compiled = np.array([_free_flight_accel(*p, *v[:2]) for p, v in zip(pos, vel, strict=True)])
    assert np.allclose(compiled, expected, rtol=1e-12, atol=1e-15)
    g = np.empty((3, 3))
    _gravity_gradient(POS, g)
    assert np.allclose(g, gravity_gradient_ecef(POS, omega=OMEGA_RAD_S), rtol=1e-12, atol=1e-20)


def test_each_state_takes_its_own_steps():
    x = np.tile(np.r_[POS, VEL, 0.0, 0.0, 0.0], (3, 1))
    dt = np.array([1.0, 30.0, -7.0])
    together = propagate_state(x, dt, np.zeros(3, bool))
    alone = np.stack([propagate_state(x[i], dt[i], False) for i in range(3)])
    assert np.allclose(together, alone, rtol=0, atol=1e-6)
