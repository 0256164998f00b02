"""Motion and measurement models of the ballistic tracker, vectorised over any number of states.

State (9,): ECEF position (m), ECEF velocity (m/s) and a non-gravitational specific force (m/s^2, thrust
minus drag) in ECEF. Two motion modes share this state so that an IMM can mix them without padding:

- MODE_BALLISTIC: free flight under J2 gravity and the rotating-frame terms; the specific force is zero.
- MODE_BOOST: the same plus the specific force, which wanders as a random walk (thrust changes, staging).

Measurement models: radar (slant range m, azimuth rad clockwise from north, elevation rad at the site)
and infrared line of sight (a unit vector from a platform, expressed as two gnomonic tangent-plane
coordinates about the measured direction, so the innovation is linear near the truth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triwarn.geo.frames import enu_rotation, geodetic_to_ecef
from triwarn.geo.wgs84 import A_M, GM_M3_S2, J2, OMEGA_RAD_S

MODE_BALLISTIC = 0
MODE_BOOST = 1
N_MODES = 2
STATE_DIM = 9
MAX_STEP_S = 2.0  # integration sub-step (s)

_EYE3 = np.eye(3)
_CORIOLIS = np.array([[0.0, 2.0 * OMEGA_RAD_S, 0.0], [-2.0 * OMEGA_RAD_S, 0.0, 0.0], [0.0, 0.0, 0.0]])
_CENTRIFUGAL = np.diag([OMEGA_RAD_S**2, OMEGA_RAD_S**2, 0.0])


@dataclass(frozen=True)
class MotionNoise:
    """Process-noise densities of the two modes (SI units).

    q_vel_m2_s3: white acceleration density on velocity in both modes (model error, thin-air drag).
    q_jerk_m2_s5: white jerk density driving the boost specific force (thrust changes, staging).
    sigma_force_ballistic_mps2: spread left on the (zero) specific force in ballistic mode, so that
    the mixed covariance stays positive definite.
    """

    q_vel_m2_s3: float = 0.01
    q_jerk_m2_s5: float = 20.0
    sigma_force_ballistic_mps2: float = 0.05


def gravity_gradient_ecef(pos_ecef_m: NDArray) -> NDArray:
    """Analytic Jacobian d(g_J2)/d(r) (1/s^2), shape (..., 3, 3), of `gravity_j2_ecef` at ECEF positions."""
    r = np.asarray(pos_ecef_m, float)
    x2 = np.sum(r * r, axis=-1)
    rn = np.sqrt(x2)
    z = r[..., 2]
    k = 1.5 * J2 * A_M * A_M
    inv_r3 = 1.0 / (x2 * rn)
    inv_r5 = inv_r3 / x2
    inv_r7 = inv_r5 / x2
    inv_r9 = inv_r7 / x2
    c = np.array([1.0, 1.0, 3.0])
    # g_i = -mu x_i h_i(r), h_i = r^-3 + k c_i r^-5 - 5 k z^2 r^-7
    h = inv_r3[..., None] + k * c * inv_r5[..., None] - 5.0 * k * (z * z * inv_r7)[..., None]
    # dh_i/dx_j = x_j * (-3 r^-5 - 5 k c_i r^-7 + 35 k z^2 r^-9) - 10 k z r^-7 delta_jz
    coef = -3.0 * inv_r5[..., None] - 5.0 * k * c * inv_r7[..., None] + 35.0 * k * (z * z * inv_r9)[..., None]
    dh = coef[..., :, None] * r[..., None, :]
    dh[..., :, 2] -= (10.0 * k * z * inv_r7)[..., None]
    grad = h[..., :, None] * np.broadcast_to(_EYE3, dh.shape) + r[..., :, None] * dh
    return -GM_M3_S2 * grad


def free_flight_accel_ecef(pos: NDArray, vel: NDArray) -> NDArray:
    """J2 gravity plus Coriolis and centrifugal acceleration (m/s^2) for (N, 3) ECEF states.

    The same equations as `physics.dynamics.gravity_j2_ecef` + `frame_accel_ecef` (a test holds them
    equal), fused into one pass with few temporaries because it is the tracker's innermost loop.
    """
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
    r2 = x * x + y * y + z * z
    mu_r3 = GM_M3_S2 / (r2 * np.sqrt(r2))
    k = (1.5 * J2 * A_M * A_M) / r2
    k5 = 5.0 * k * (z * z) / r2
    fxy = -mu_r3 * (1.0 + k - k5) + OMEGA_RAD_S * OMEGA_RAD_S
    out = np.empty_like(pos)
    out[:, 0] = fxy * x + (2.0 * OMEGA_RAD_S) * vel[:, 1]
    out[:, 1] = fxy * y - (2.0 * OMEGA_RAD_S) * vel[:, 0]
    out[:, 2] = -mu_r3 * (1.0 + 3.0 * k - k5) * z
    return out


def _midpoint_step(pos: NDArray, vel: NDArray, force: NDArray, h: NDArray) -> tuple[NDArray, NDArray]:
    # Second order is enough: over a 2 s step the neglected jerk terms (|G v| ~ 0.01 m/s^3) move a
    # state by centimetres, far below any radar's noise, at half the cost of RK4.
    a1 = free_flight_accel_ecef(pos, vel) + force
    pm, vm = pos + 0.5 * h * vel, vel + 0.5 * h * a1
    a2 = free_flight_accel_ecef(pm, vm) + force
    return pos + h * vm, vel + h * a2


def propagate_state(x: NDArray, dt_s: NDArray, boost: NDArray) -> NDArray:
    """Advance states x (..., 9) by dt_s (...,) seconds (may be negative) in midpoint (RK2) sub-steps.

    boost (...,) bool: the specific force acts (and is kept) where true, and is zeroed where false.
    Each state takes its own number of sub-steps (at most MAX_STEP_S long), so one long-coasting
    track does not make every other track take many small steps.
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
    g = gravity_gradient_ecef(x[..., 0:3]) + _CENTRIFUGAL
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
    """Position block (N, 3, 3) of F P F^T + Q over dt_s: all that gating needs, at a third of the cost.

    x (N, 9) states, p (N, 9, 9) covariances, dt_s (N,), boost (N,) bool.
    """
    dt = np.asarray(dt_s, float)[:, None, None]
    bf = np.asarray(boost, bool).astype(float)[:, None, None]
    half_dt2 = 0.5 * dt * dt
    g = gravity_gradient_ecef(x[:, 0:3]) + _CENTRIFUGAL
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


@dataclass(frozen=True)
class RadarSites:
    """Radar sites as arrays indexed by the tracker's sensor index (SI units, radians).

    pos_ecef_m (S, 3), rot_enu (S, 3, 3) (v_enu = rot @ v_ecef), noise sigmas (S,), revisit_s (S,),
    max_range_m (S,), min_el_rad (S,), p_detect (S,).
    """

    pos_ecef_m: NDArray
    rot_enu: NDArray
    sigma_range_m: NDArray
    sigma_az_rad: NDArray
    sigma_el_rad: NDArray
    revisit_s: NDArray
    max_range_m: NDArray
    min_el_rad: NDArray
    p_detect: NDArray

    @classmethod
    def from_arrays(cls, lat_rad, lon_rad, alt_m, sigma_range_m, sigma_az_rad, sigma_el_rad,
                    revisit_s, max_range_m, min_el_rad, p_detect) -> RadarSites:
        """Build from per-sensor geodetic sites (rad, m) and sensor parameters (SI units)."""
        return cls(
            pos_ecef_m=geodetic_to_ecef(lat_rad, lon_rad, alt_m).reshape(-1, 3),
            rot_enu=enu_rotation(lat_rad, lon_rad).reshape(-1, 3, 3),
            sigma_range_m=np.asarray(sigma_range_m, float).ravel(),
            sigma_az_rad=np.asarray(sigma_az_rad, float).ravel(),
            sigma_el_rad=np.asarray(sigma_el_rad, float).ravel(),
            revisit_s=np.asarray(revisit_s, float).ravel(),
            max_range_m=np.asarray(max_range_m, float).ravel(),
            min_el_rad=np.asarray(min_el_rad, float).ravel(),
            p_detect=np.asarray(p_detect, float).ravel(),
        )


def radar_predict(pos_ecef_m: NDArray, site: NDArray, rot_enu: NDArray) -> tuple[NDArray, NDArray]:
    """Predicted radar measurement (..., 3) [range m, az rad, el rad] and its Jacobian (..., 3, 9).

    pos_ecef_m (..., 3) are target positions, site (..., 3) ECEF sites, rot_enu (..., 3, 3) their ENU
    rotations.
    """
    d = np.einsum("...ij,...j->...i", rot_enu, pos_ecef_m - site)
    e, n, u = d[..., 0], d[..., 1], d[..., 2]
    rho2 = e * e + n * n
    rho = np.sqrt(rho2)
    r2 = rho2 + u * u
    rng = np.sqrt(r2)
    az = np.mod(np.arctan2(e, n), 2.0 * np.pi)
    el = np.arctan2(u, rho)
    z = np.stack([rng, az, el], axis=-1)
    j_enu = np.empty((*d.shape[:-1], 3, 3))
    j_enu[..., 0, :] = d / rng[..., None]
    j_enu[..., 1, 0] = n / rho2
    j_enu[..., 1, 1] = -e / rho2
    j_enu[..., 1, 2] = 0.0
    j_enu[..., 2, 0] = -e * u / (r2 * rho)
    j_enu[..., 2, 1] = -n * u / (r2 * rho)
    j_enu[..., 2, 2] = rho / r2
    h = np.zeros((*d.shape[:-1], 3, STATE_DIM))
    h[..., :, 0:3] = j_enu @ rot_enu
    return z, h


def radar_residual(z_meas: NDArray, z_pred: NDArray) -> NDArray:
    """Innovation z_meas - z_pred (..., 3) with the azimuth difference wrapped into [-pi, pi)."""
    nu = z_meas - z_pred
    nu[..., 1] = np.mod(nu[..., 1] + np.pi, 2.0 * np.pi) - np.pi
    return nu


def radar_to_ecef(z: NDArray, site: NDArray, rot_enu: NDArray, sigma: NDArray) -> tuple[NDArray, NDArray]:
    """Radar measurements (..., 3) [range, az, el] to ECEF positions (..., 3) and covariances (..., 3, 3).

    sigma (..., 3) are the range (m), azimuth and elevation (rad) standard deviations.
    """
    rng, az, el = z[..., 0], z[..., 1], z[..., 2]
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    enu = np.stack([rng * ce * sa, rng * ce * ca, rng * se], axis=-1)
    pos = site + np.einsum("...ji,...j->...i", rot_enu, enu)
    j = np.empty((*z.shape[:-1], 3, 3))
    j[..., 0, 0], j[..., 0, 1], j[..., 0, 2] = ce * sa, rng * ce * ca, -rng * se * sa
    j[..., 1, 0], j[..., 1, 1], j[..., 1, 2] = ce * ca, -rng * ce * sa, -rng * se * ca
    j[..., 2, 0], j[..., 2, 1], j[..., 2, 2] = se, 0.0, rng * ce
    j_ecef = np.swapaxes(rot_enu, -1, -2) @ j
    cov = (j_ecef * (sigma**2)[..., None, :]) @ np.swapaxes(j_ecef, -1, -2)
    return pos, cov


def los_basis(los_ecef: NDArray) -> NDArray:
    """Two unit vectors (..., 2, 3) orthogonal to each unit line of sight (..., 3) and to each other."""
    m = np.asarray(los_ecef, float)
    helper = np.where(np.abs(m[..., 2:3]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    u1 = np.cross(helper, m)
    u1 /= np.linalg.norm(u1, axis=-1, keepdims=True)
    u2 = np.cross(m, u1)
    return np.stack([u1, u2], axis=-2)


def los_predict(pos_ecef_m: NDArray, platform_ecef_m: NDArray, los_ecef: NDArray) -> tuple[NDArray, NDArray]:
    """Gnomonic coordinates (..., 2) (rad for small angles) of targets about a measured line of sight.

    The measurement itself is (0, 0) in these coordinates; returns the prediction and its Jacobian
    (..., 2, 9) with respect to the state.
    """
    basis = los_basis(los_ecef)
    d = pos_ecef_m - platform_ecef_m
    w = np.einsum("...i,...i->...", los_ecef, d)
    b = np.einsum("...ki,...i->...k", basis, d)
    z = b / w[..., None]
    h = np.zeros((*d.shape[:-1], 2, STATE_DIM))
    h[..., :, 0:3] = (basis - z[..., :, None] * los_ecef[..., None, :]) / w[..., None, None]
    return z, h
