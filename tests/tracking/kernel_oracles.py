"""numpy reference implementations ("oracles") of the tracker's compiled kernels (tracking/imm_ekf.py).

The same IMM-EKF written with whole-array numpy operations, vectorised over any number of tracks; the
tests hold each compiled kernel equal to these (relative 1e-9). Nothing in the shipped package uses them.
The free-flight acceleration and its Jacobian come from physics (`dynamics.ballistic_accel_ecef`,
`dynamics.gravity_gradient_ecef`: the one equation of `physics.equations` laid out on arrays).

State (9,): ECEF position (m), velocity (m/s), specific force (m/s^2); mode 0 ballistic, 1 boost
(see tracking/models.py). Arrays: x_mode (N, 2, 9), p_mode (N, 2, 9, 9), mu (N, 2), dt_s (N,) seconds
(may be negative; process noise is added for |dt|).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from triwarn.geo.wgs84 import OMEGA_RAD_S
from triwarn.physics.dynamics import ballistic_accel_ecef, gravity_gradient_ecef
from triwarn.tracking.models import MAX_STEP_S, MODE_BOOST, N_MODES, STATE_DIM, MotionNoise
from triwarn.tracking.predictor import ModeSwitching
from triwarn.tracking.updater import small_inverse

_EYE3 = np.eye(3)
_CORIOLIS = np.array([[0.0, 2.0 * OMEGA_RAD_S, 0.0], [-2.0 * OMEGA_RAD_S, 0.0, 0.0], [0.0, 0.0, 0.0]])
_MODE_IS_BOOST = np.arange(N_MODES) == MODE_BOOST

# ------------------------------------------------------------------------------------------ motion


def _midpoint_step(pos: NDArray, vel: NDArray, force: NDArray, h: NDArray) -> tuple[NDArray, NDArray]:
    # Second order is enough: over a 2 s step the neglected jerk terms (|G v| ~ 0.01 m/s^3) move a
    # state by centimetres, far below any radar's noise, at half the cost of RK4.
    a1 = ballistic_accel_ecef(pos, vel) + force
    pm, vm = pos + 0.5 * h * vel, vel + 0.5 * h * a1
    a2 = ballistic_accel_ecef(pm, vm) + force
    return pos + h * vm, vel + h * a2


def propagate_state(x: NDArray, dt_s: NDArray, boost: NDArray) -> NDArray:
    """Advance states x (..., 9) by dt_s (...,) seconds (may be negative) in midpoint (RK2) sub-steps.

    boost (...,) bool: the specific force acts (and is kept) where true, and is zeroed where false.
    Each state takes its own number of sub-steps (at most MAX_STEP_S long).
    """
    x = np.asarray(x, float)
    shape = x.shape[:-1]
    flat = x.reshape(-1, STATE_DIM)
    dt = np.broadcast_to(np.asarray(dt_s, float), shape).reshape(-1)
    boost_f = np.broadcast_to(np.asarray(boost, bool), shape).reshape(-1)
    pos, vel = flat[:, 0:3].copy(), flat[:, 3:6].copy()
    force = np.where(boost_f[:, None], flat[:, 6:9], 0.0)
    n_steps = np.maximum(1, np.ceil(np.abs(dt) / MAX_STEP_S)).astype(np.int64)
    h = (dt / n_steps)[:, None]
    pos, vel = _midpoint_step(pos, vel, force, h)
    for i in range(1, int(n_steps.max()) if n_steps.size else 1):
        more = np.flatnonzero(n_steps > i)
        pos[more], vel[more] = _midpoint_step(pos[more], vel[more], force[more], h[more])
    return np.concatenate([pos, vel, force], axis=-1).reshape(*shape, STATE_DIM)


def transition_jacobian(x: NDArray, dt_s: NDArray, boost: NDArray) -> NDArray:
    """State-transition matrices F (..., 9, 9) linearised at x (..., 9) over dt_s.

    The continuous Jacobian is A = [[0, I, 0], [G, C, B], [0, 0, 0]] with G the analytic J2 gravity
    gradient plus the centrifugal term, C the Coriolis matrix and B = I in boost mode (0 otherwise);
    F = I + A dt + (A dt)^2 / 2, written out by blocks. The next term is below 1e-5 of the kept ones
    for |dt| up to a few seconds (|G| ~ 1.5e-6 /s^2, |C| ~ 1.5e-4 /s).
    """
    x = np.asarray(x, float)
    shape = x.shape[:-1]
    dt = np.broadcast_to(np.asarray(dt_s, float), shape)[..., None, None]
    b = np.broadcast_to(np.asarray(boost, bool), shape)[..., None, None]
    g = gravity_gradient_ecef(x[..., 0:3], omega=OMEGA_RAD_S)
    half_dt2 = 0.5 * dt * dt
    f = np.zeros((*shape, STATE_DIM, STATE_DIM))
    f[..., 0:3, 0:3] = _EYE3 + g * half_dt2
    f[..., 0:3, 3:6] = _EYE3 * dt + _CORIOLIS * half_dt2
    f[..., 3:6, 0:3] = g * dt + (_CORIOLIS @ g) * half_dt2
    f[..., 3:6, 3:6] = _EYE3 + _CORIOLIS * dt + (g + _CORIOLIS @ _CORIOLIS) * half_dt2
    bf = b.astype(float)
    f[..., 0:3, 6:9] = bf * (_EYE3 * half_dt2 + _CORIOLIS * (dt * half_dt2 / 3.0))
    f[..., 3:6, 6:9] = bf * (_EYE3 * dt + _CORIOLIS * half_dt2)
    # In ballistic mode the specific force is reset to zero rather than carried.
    f[..., 6:9, 6:9] = bf * _EYE3
    return f


def predict_position_covariance(x: NDArray, p: NDArray, dt_s: NDArray, boost: NDArray,
                                noise: MotionNoise) -> NDArray:
    """Position block (N, 3, 3) of F P F^T + Q over dt_s. x (N, 9), p (N, 9, 9), dt_s (N,), boost (N,)."""
    dt = np.asarray(dt_s, float)[:, None, None]
    bf = np.asarray(boost, bool).astype(float)[:, None, None]
    half_dt2 = 0.5 * dt * dt
    g = gravity_gradient_ecef(x[:, 0:3], omega=OMEGA_RAD_S)
    f_p = np.empty((len(x), 3, STATE_DIM))
    f_p[:, :, 0:3] = _EYE3 + g * half_dt2
    f_p[:, :, 3:6] = _EYE3 * dt + _CORIOLIS * half_dt2
    f_p[:, :, 6:9] = bf * (_EYE3 * half_dt2 + _CORIOLIS * (dt * half_dt2 / 3.0))
    adt = np.abs(dt)
    q = noise.q_vel_m2_s3 * adt**3 / 3.0 + bf * noise.q_jerk_m2_s5 * adt**5 / 20.0
    return f_p @ p @ np.swapaxes(f_p, -1, -2) + q * _EYE3


def process_noise(dt_s: NDArray, boost: NDArray, noise: MotionNoise) -> NDArray:
    """Process-noise covariances Q (..., 9, 9) over |dt_s| for each state's mode (boost bool)."""
    dt = np.abs(np.asarray(dt_s, float))
    boost = np.asarray(boost, bool)
    shape = dt.shape
    q = np.zeros((*shape, STATE_DIM, STATE_DIM))
    qv = noise.q_vel_m2_s3
    qj = np.where(boost, noise.q_jerk_m2_s5, 0.0)
    d2, d3, d4, d5 = dt**2, dt**3, dt**4, dt**5
    blocks = {
        (0, 0): qv * d3 / 3.0 + qj * d5 / 20.0,
        (0, 1): qv * d2 / 2.0 + qj * d4 / 8.0,
        (1, 1): qv * dt + qj * d3 / 3.0,
        (0, 2): qj * d3 / 6.0,
        (1, 2): qj * d2 / 2.0,
        (2, 2): np.where(boost, qj * dt, noise.sigma_force_ballistic_mps2**2),
    }
    for (i, j), val in blocks.items():
        block = val[..., None, None] * _EYE3
        q[..., 3 * i : 3 * i + 3, 3 * j : 3 * j + 3] = block
        if i != j:
            q[..., 3 * j : 3 * j + 3, 3 * i : 3 * i + 3] = block
    return q


# ------------------------------------------------------------------------------------ IMM predict


def switch_matrix(switching: ModeSwitching, dt_s: NDArray) -> NDArray:
    """Markov matrices (N, 2, 2), entry [i, j] = P(mode j after |dt| | mode i before)."""
    dt = np.abs(np.asarray(dt_s, float))
    p_end = 1.0 - np.exp(-switching.boost_end_rate_per_s * dt)
    p_start = 1.0 - np.exp(-switching.boost_start_rate_per_s * dt)
    pi = np.empty((*dt.shape, 2, 2))
    pi[..., 0, 0] = 1.0 - p_start
    pi[..., 0, 1] = p_start
    pi[..., 1, 0] = p_end
    pi[..., 1, 1] = 1.0 - p_end
    return pi


def mix(x_mode: NDArray, p_mode: NDArray, mu: NDArray, pi: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """IMM interaction: mixed initial states and covariances per mode, and predicted mode probabilities."""
    c = np.einsum("nij,ni->nj", pi, mu)
    w = pi * mu[:, :, None] / np.maximum(c[:, None, :], 1e-300)  # w[n, i, j] = mu_{i|j}
    x0 = np.einsum("nij,nik->njk", w, x_mode)
    d = x_mode[:, :, None, :] - x0[:, None, :, :]  # (N, i, j, 9)
    spread = d[..., :, None] * d[..., None, :]
    p0 = np.einsum("nij,nikl->njkl", w, p_mode) + np.einsum("nij,nijkl->njkl", w, spread)
    return x0, p0, c


def predict_modes(x_mode: NDArray, p_mode: NDArray, dt_s: NDArray, noise: MotionNoise) -> tuple[NDArray, NDArray]:
    """EKF prediction of every mode of every track (no mixing): states (N, 2, 9), covariances (N, 2, 9, 9)."""
    n = x_mode.shape[0]
    boost = np.broadcast_to(_MODE_IS_BOOST, (n, N_MODES))
    dt = np.broadcast_to(np.asarray(dt_s, float)[:, None], (n, N_MODES))
    x_new = propagate_state(x_mode, dt, boost)
    f = transition_jacobian(x_mode, dt, boost)
    p_new = f @ p_mode @ np.swapaxes(f, -1, -2) + process_noise(dt, boost, noise)
    return x_new, p_new


def imm_predict(x_mode, p_mode, mu, dt_s, noise: MotionNoise, switching: ModeSwitching):
    """Mix, then predict each mode: returns (x_mode, p_mode, mu_predicted) after dt_s (N,)."""
    x0, p0, c = mix(x_mode, p_mode, mu, switch_matrix(switching, dt_s))
    x_new, p_new = predict_modes(x0, p0, dt_s, noise)
    return x_new, p_new, c


def combine(x_mode: NDArray, p_mode: NDArray, mu: NDArray) -> tuple[NDArray, NDArray]:
    """Moment-matched single estimate (N, 9), (N, 9, 9) of the mode mixture."""
    x = np.einsum("ni,nik->nk", mu, x_mode)
    d = x_mode - x[:, None, :]
    p = np.einsum("ni,nikl->nkl", mu, p_mode + d[..., :, None] * d[..., None, :])
    return x, p


# ------------------------------------------------------------------------------------- IMM update


def imm_update(x_mode: NDArray, p_mode: NDArray, mu: NDArray, nu: NDArray, h: NDArray, r: NDArray):
    """Update each mode with its innovation nu (K, 2, m) and Jacobian h (K, 2, m, 9), noise r (K, m, m);
    mode probabilities from the likelihoods.

    Covariance: P - K S K^T, symmetrised. Returns (x_mode, p_mode, mu, x, p, log_likelihood) where
    log_likelihood (K,) is the mixture's measurement log-likelihood (a track-score increment).
    """
    m = nu.shape[-1]
    ph_t = p_mode @ np.swapaxes(h, -1, -2)
    s = h @ ph_t + r[:, None, :, :]
    s_inv, det = small_inverse(s)
    k = ph_t @ s_inv
    x_new = x_mode + np.einsum("nmij,nmj->nmi", k, nu)
    p_new = p_mode - k @ np.swapaxes(ph_t, -1, -2)
    p_new = 0.5 * (p_new + np.swapaxes(p_new, -1, -2))
    d2 = np.einsum("nmi,nmij,nmj->nm", nu, s_inv, nu)
    log_lik = -0.5 * (d2 + np.log(det) + m * np.log(2.0 * np.pi))
    log_w = np.log(np.maximum(mu, 1e-300)) + log_lik
    top = np.max(log_w, axis=1, keepdims=True)
    w = np.exp(log_w - top)
    total = np.sum(w, axis=1, keepdims=True)
    mu_new = np.maximum(w / total, 1e-6)
    mu_new /= mu_new.sum(axis=1, keepdims=True)
    x, p = combine(x_new, p_new, mu_new)
    return x_new, p_new, mu_new, x, p, (top + np.log(total))[:, 0]
