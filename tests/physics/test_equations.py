"""The one free-flight equation (physics.equations) and its layouts against what the five copies it
replaced computed (equations_before.json, recorded from them before the change), and against each other."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from triwarn.assess.flight import _accel_soa
from triwarn.geo.wgs84 import OMEGA_RAD_S
from triwarn.physics import dynamics, motion
from triwarn.physics.equations import free_flight_accel, free_flight_gradient
from triwarn.tracking import imm_ekf

BEFORE = {k: np.array(v) for k, v in json.loads((Path(__file__).parent / "equations_before.json").read_text()).items()
          if k != "about"}
POS, VEL = BEFORE["pos"], BEFORE["vel"]
RTOL = 1e-12


def assert_rows_close(got, want, rtol=RTOL):
    """Each row (vector or matrix) within rtol of its own largest entry."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    axes = tuple(range(1, want.ndim))
    err = np.max(np.abs(got - want), axis=axes)
    scale = np.max(np.abs(want), axis=axes)
    assert np.all(err <= rtol * scale), np.max(err / scale)


def test_the_states_cover_pole_surface_air_and_high_orbits():
    r = np.linalg.norm(POS, axis=1)
    assert POS[0, 0] == POS[0, 1] == 0.0  # a pole, where x = y = 0
    assert r.min() < 6.4e6 and r.max() > 4e7


@pytest.mark.parametrize("old", ["models_free_flight", "imm_ekf_accel", "dyn_ballistic", "motion_coast", "flight_soa"])
def test_the_equation_reproduces_every_old_copy(old):
    got = np.stack(free_flight_accel(*POS.T, VEL[:, 0], VEL[:, 1]), axis=-1)
    assert_rows_close(got, BEFORE[old])


def test_without_rotation_it_is_the_old_gravity():
    got = np.stack(free_flight_accel(*POS.T, 0.0, 0.0, omega=0.0), axis=-1)
    assert_rows_close(got, BEFORE["dyn_gravity"])


def test_the_jacobian_reproduces_the_old_ones():
    assert_rows_close(dynamics.gravity_gradient_ecef(POS), BEFORE["models_gradient"])
    assert_rows_close(dynamics.gravity_gradient_ecef(POS, omega=OMEGA_RAD_S),
                      BEFORE["imm_ekf_gradient_plus_centrifugal"])


def test_the_jacobian_is_the_derivative_of_the_equation():
    for p, v in zip(POS[1:6], VEL[1:6], strict=True):
        h = 1.0
        cols = [(np.array(free_flight_accel(*(p + h * e), *v[:2])) - np.array(free_flight_accel(*(p - h * e), *v[:2])))
                / (2 * h) for e in np.eye(3)]
        numeric = np.stack(cols, axis=1)
        xx, xy, xz, yy, yz, zz = free_flight_gradient(*p)
        analytic = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
        assert np.allclose(analytic, numeric, rtol=1e-6, atol=1e-13)


def test_truth_layouts_reproduce_the_old_values():
    assert_rows_close(dynamics.gravity_j2_ecef(POS), BEFORE["dyn_gravity"])
    assert_rows_close(dynamics.ballistic_accel_ecef(POS, VEL), BEFORE["dyn_ballistic"])
    assert_rows_close(dynamics.ballistic_accel_ecef(POS, VEL, 500.0), BEFORE["dyn_ballistic_beta500"])
    for inv_beta, old in ((0.0, "motion_coast"), (1.0 / 500.0, "motion_coast_beta500")):
        got = [motion.coast_accel(*map(float, p), *map(float, v), inv_beta) for p, v in zip(POS, VEL, strict=True)]
        assert all(type(c) is float for c in got[0])  # the float path stays in floats
        assert_rows_close(got, BEFORE[old])


def test_batch_layout_reproduces_the_old_values():
    w = np.concatenate([POS.T, VEL.T])
    assert_rows_close(_accel_soa(w, 0.0).T, BEFORE["flight_soa"])
    assert_rows_close(_accel_soa(w, 1.0 / 500.0).T, BEFORE["flight_soa_beta500"])


def test_compiled_layout_reproduces_the_old_values_and_the_numpy_path():
    """numba compiles the very same Python function; only rounding (FMA contraction) may differ."""
    acc = np.array([imm_ekf._free_flight_accel(*p, *v[:2]) for p, v in zip(POS, VEL, strict=True)])
    assert_rows_close(acc, BEFORE["imm_ekf_accel"])
    assert_rows_close(acc, np.stack(free_flight_accel(*POS.T, VEL[:, 0], VEL[:, 1]), axis=-1))
    g = np.empty((len(POS), 3, 3))
    for i, p in enumerate(POS):
        imm_ekf._gravity_gradient(p, g[i])
    assert_rows_close(g, BEFORE["imm_ekf_gradient_plus_centrifugal"])
    assert_rows_close(g, dynamics.gravity_gradient_ecef(POS, omega=OMEGA_RAD_S))
