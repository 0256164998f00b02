"""The tracker's hot path compiled with numba: one IMM-EKF cycle per track, one loop over tracks.

A frame's work is one compiled call per step instead of dozens of numpy calls on tiny (2, 9, 9) arrays,
each with its own temporaries. The equations of motion are not written here: the acceleration and its
Jacobian are `physics.equations.free_flight_accel` and `free_flight_gradient`, compiled as they are.
The tests hold every kernel equal to a numpy reference of the same filter
(tests/tracking/kernel_oracles.py).

Frames and units as in `models`: state (9,) = ECEF position (m), velocity (m/s), specific force (m/s^2);
times in unix seconds; radar measurements [range m, azimuth rad, elevation rad]; IR lines of sight as
unit ECEF vectors from an ECEF platform position (m). Mode 0 is ballistic, mode 1 boost.

Tracker arrays are passed whole with an index array `idx` of the tracks to work on (unique); kernels
that update write back in place. `params` packs the tunables (see `kernel_params`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from triwarn.geo.wgs84 import OMEGA_RAD_S
from triwarn.physics.equations import free_flight_accel, free_flight_gradient
from triwarn.tracking.models import MAX_STEP_S, MotionNoise
from triwarn.tracking.predictor import ModeSwitching

# Contraction (FMA) and reassociation only: NaN and infinity keep their meaning (non-finite states are
# how a numerical failure is detected and the track dropped).
_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"contract", "reassoc"}}
_TWO_PI = 2.0 * math.pi
_LOG_2PI = math.log(2.0 * math.pi)

# params layout
_Q_VEL, _Q_JERK, _VAR_FORCE_BALLISTIC, _BOOST_END, _BOOST_START = range(5)


def kernel_params(noise: MotionNoise, switching: ModeSwitching) -> NDArray[np.float64]:
    """Pack the motion noise (m^2/s^3, m^2/s^5, m/s^2) and switch rates (1/s) for the kernels."""
    return np.array([noise.q_vel_m2_s3, noise.q_jerk_m2_s5, noise.sigma_force_ballistic_mps2**2,
                     switching.boost_end_rate_per_s, switching.boost_start_rate_per_s], np.float64)


# ------------------------------------------------------------------------------------------ motion


# The one free-flight equation and its Jacobian (physics.equations), compiled with the kernels' options.
# numba's on-disk cache of the kernels below is keyed on this file only; the hash check at the end of this
# module (tracking/kernel_cache.py) clears it when physics/equations.py or the constants compiled in change.
_free_flight_accel = njit(**_JIT)(free_flight_accel)
_free_flight_gradient = njit(**_JIT)(free_flight_gradient)


@njit(**_JIT)
def _accel(px, py, pz, vx, vy, out):
    """J2 gravity + Coriolis + centrifugal acceleration (m/s^2) at one ECEF state, into out (3,)."""
    out[0], out[1], out[2] = _free_flight_accel(px, py, pz, vx, vy)


@njit(**_JIT)
def _propagate(x, dt, boost, out, a):
    """Midpoint (RK2) sub-steps of at most MAX_STEP_S over dt (s); out (9,) may not alias x."""
    n = max(1, math.ceil(abs(dt) / MAX_STEP_S))
    h = dt / n
    f0 = x[6] if boost else 0.0
    f1 = x[7] if boost else 0.0
    f2 = x[8] if boost else 0.0
    px, py, pz, vx, vy, vz = x[0], x[1], x[2], x[3], x[4], x[5]
    for _ in range(n):
        _accel(px, py, pz, vx, vy, a)
        mx, my, mz = px + 0.5 * h * vx, py + 0.5 * h * vy, pz + 0.5 * h * vz
        wx, wy, wz = vx + 0.5 * h * (a[0] + f0), vy + 0.5 * h * (a[1] + f1), vz + 0.5 * h * (a[2] + f2)
        _accel(mx, my, mz, wx, wy, a)
        px, py, pz = px + h * wx, py + h * wy, pz + h * wz
        vx, vy, vz = vx + h * (a[0] + f0), vy + h * (a[1] + f1), vz + h * (a[2] + f2)
    out[0], out[1], out[2], out[3], out[4], out[5] = px, py, pz, vx, vy, vz
    out[6], out[7], out[8] = f0, f1, f2


@njit(**_JIT)
def _gravity_gradient(x, g):
    """J2 gravity gradient plus the centrifugal term (1/s^2) at x[0:3], into g (3, 3)."""
    gxx, gxy, gxz, gyy, gyz, gzz = _free_flight_gradient(x[0], x[1], x[2])
    g[0, 0], g[0, 1], g[0, 2] = gxx, gxy, gxz
    g[1, 0], g[1, 1], g[1, 2] = gxy, gyy, gyz
    g[2, 0], g[2, 1], g[2, 2] = gxz, gyz, gzz


@njit(**_JIT)
def _transition(x, dt, boost, f, g):
    """F = I + A dt + (A dt)^2 / 2 by blocks (reference: kernel_oracles.transition_jacobian), into f (9, 9)."""
    _gravity_gradient(x, g)
    w2 = 2.0 * OMEGA_RAD_S
    h2 = 0.5 * dt * dt
    b = 1.0 if boost else 0.0
    f[:, :] = 0.0
    # C = [[0, w2, 0], [-w2, 0, 0], [0, 0, 0]]; C @ C = diag(-w2^2, -w2^2, 0); (C @ g)[0] = w2 g[1], [1] = -w2 g[0]
    for i in range(3):
        for j in range(3):
            gij = g[i, j]
            eye = 1.0 if i == j else 0.0
            cij = w2 if (i == 0 and j == 1) else (-w2 if (i == 1 and j == 0) else 0.0)
            if i == 0:
                cg = w2 * g[1, j]
            elif i == 1:
                cg = -w2 * g[0, j]
            else:
                cg = 0.0
            cc = -w2 * w2 if (i == j and i < 2) else 0.0
            f[i, j] = eye + gij * h2
            f[i, 3 + j] = eye * dt + cij * h2
            f[3 + i, j] = gij * dt + cg * h2
            f[3 + i, 3 + j] = eye + cij * dt + (gij + cc) * h2
            f[i, 6 + j] = b * (eye * h2 + cij * (dt * h2 / 3.0))
            f[3 + i, 6 + j] = b * (eye * dt + cij * h2)
            f[6 + i, 6 + j] = b * eye


@njit(**_JIT)
def _fpft_ballistic(p0, f, out, tmp):
    # F's columns 6-8 and rows 6-8 vanish: F P F^T over the first six only (constant bounds let the
    # compiler unroll and vectorise); the force rows and columns of the result are zero.
    for i in range(6):
        for j in range(9):
            s = 0.0
            for k in range(6):
                s += f[i, k] * p0[k, j]
            tmp[i, j] = s
    for i in range(6):
        for j in range(6):
            s = 0.0
            for k in range(6):
                s += tmp[i, k] * f[j, k]
            out[i, j] = s
    for i in range(9):
        for j in range(6, 9):
            out[i, j] = 0.0
            out[j, i] = 0.0


@njit(**_JIT)
def _fpft_boost(p0, f, out, tmp):
    # F's rows 6-8 are [0, 0, I]: those rows of F P are P's own.
    for i in range(6):
        for j in range(9):
            s = 0.0
            for k in range(9):
                s += f[i, k] * p0[k, j]
            tmp[i, j] = s
    for i in range(6, 9):
        for j in range(9):
            tmp[i, j] = p0[i, j]
    for i in range(9):
        for j in range(6):
            s = 0.0
            for k in range(9):
                s += tmp[i, k] * f[j, k]
            out[i, j] = s
        for j in range(6, 9):
            out[i, j] = tmp[i, j]


@njit(**_JIT)
def _predict_cov(p0, f, dt, boost, params, out, tmp):
    """out = F p0 F^T + Q(|dt|, mode) (reference: kernel_oracles.process_noise).

    F's last three rows are [0, 0, b I] and its last three columns vanish in ballistic mode (b = 0):
    the products skip those zeros (a third of the work).
    """
    if boost:
        _fpft_boost(p0, f, out, tmp)
    else:
        _fpft_ballistic(p0, f, out, tmp)
    d = abs(dt)
    qv = params[_Q_VEL]
    qj = params[_Q_JERK] if boost else 0.0
    d2, d3 = d * d, d * d * d
    d4, d5 = d2 * d2, d2 * d3
    q00 = qv * d3 / 3.0 + qj * d5 / 20.0
    q01 = qv * d2 / 2.0 + qj * d4 / 8.0
    q11 = qv * d + qj * d3 / 3.0
    q02 = qj * d3 / 6.0
    q12 = qj * d2 / 2.0
    q22 = qj * d if boost else params[_VAR_FORCE_BALLISTIC]
    for i in range(3):
        out[i, i] += q00
        out[i, 3 + i] += q01
        out[3 + i, i] += q01
        out[3 + i, 3 + i] += q11
        out[i, 6 + i] += q02
        out[6 + i, i] += q02
        out[3 + i, 6 + i] += q12
        out[6 + i, 3 + i] += q12
        out[6 + i, 6 + i] += q22


@njit(**_JIT)
def _predict_pos_cov(p0, f, dt, boost, params, out, tmp):
    """Position block of the predicted covariance, out[0:3, 0:3] = (F P F^T + Q)[0:3, 0:3], with the
    mode's position process noise; tmp is scratch of at least (3, 9). The rest of out is left alone."""
    for i in range(3):
        for j in range(9):
            acc = 0.0
            for m in range(9):
                acc += f[i, m] * p0[m, j]
            tmp[i, j] = acc
    for i in range(3):
        for j in range(3):
            acc = 0.0
            for m in range(9):
                acc += tmp[i, m] * f[j, m]
            out[i, j] = acc
    d = abs(dt)
    q = params[_Q_VEL] * d * d * d / 3.0
    if boost:
        q += params[_Q_JERK] * d ** 5 / 20.0
    for i in range(3):
        out[i, i] += q


@njit(**_JIT)
def _imm_predict_one(xm, pm, mu, dt, params, x_out, p_out, c_out, x0, p0, f, g, tmp, a):
    """IMM mixing then each mode's EKF prediction over dt for one track (reference:
    kernel_oracles.imm_predict).

    xm (2, 9), pm (2, 9, 9), mu (2,) in; x_out (2, 9), p_out (2, 9, 9), c_out (2,) predicted out.
    """
    adt = abs(dt)
    p_end = 1.0 - math.exp(-params[_BOOST_END] * adt)
    p_start = 1.0 - math.exp(-params[_BOOST_START] * adt)
    # pi[i, j] = P(mode j after | mode i before)
    pi00, pi01, pi10, pi11 = 1.0 - p_start, p_start, p_end, 1.0 - p_end
    c_out[0] = pi00 * mu[0] + pi10 * mu[1]
    c_out[1] = pi01 * mu[0] + pi11 * mu[1]
    for j in range(2):
        cj = max(c_out[j], 1e-300)
        w0 = (pi00 if j == 0 else pi01) * mu[0] / cj
        w1 = (pi10 if j == 0 else pi11) * mu[1] / cj
        for k in range(9):
            x0[k] = w0 * xm[0, k] + w1 * xm[1, k]
        for k in range(9):
            d0k = xm[0, k] - x0[k]
            d1k = xm[1, k] - x0[k]
            for m in range(k, 9):  # symmetric: upper triangle, mirrored
                v = (w0 * (pm[0, k, m] + d0k * (xm[0, m] - x0[m]))
                     + w1 * (pm[1, k, m] + d1k * (xm[1, m] - x0[m])))
                p0[k, m] = v
                p0[m, k] = v
        boost = j == 1
        _propagate(x0, dt, boost, x_out[j], a)
        _transition(x0, dt, boost, f, g)
        _predict_cov(p0, f, dt, boost, params, p_out[j], tmp)


@njit(**_JIT)
def _combine(xm, pm, mu, x, p):
    """Moment-matched single estimate of the two-mode mixture, into x (9,), p (9, 9)."""
    for k in range(9):
        x[k] = mu[0] * xm[0, k] + mu[1] * xm[1, k]
    for k in range(9):
        d0k = xm[0, k] - x[k]
        d1k = xm[1, k] - x[k]
        for m in range(k, 9):  # symmetric: upper triangle, mirrored
            v = (mu[0] * (pm[0, k, m] + d0k * (xm[0, m] - x[m]))
                 + mu[1] * (pm[1, k, m] + d1k * (xm[1, m] - x[m])))
            p[k, m] = v
            p[m, k] = v


@njit(**_JIT)
def _inverse_sym(s, m, s_inv):
    """Inverse (into s_inv) and determinant of a symmetric 2x2 or 3x3 matrix s by cofactors."""
    if m == 2:
        a, b, d = s[0, 0], s[0, 1], s[1, 1]
        det = a * d - b * b
        s_inv[0, 0], s_inv[1, 1] = d / det, a / det
        s_inv[0, 1] = s_inv[1, 0] = -b / det
        return det
    a, b, c = s[0, 0], s[0, 1], s[0, 2]
    d, e, f = s[1, 1], s[1, 2], s[2, 2]
    c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
    det = a * c00 + b * c01 + c * c02
    s_inv[0, 0] = c00 / det
    s_inv[0, 1] = s_inv[1, 0] = c01 / det
    s_inv[0, 2] = s_inv[2, 0] = c02 / det
    s_inv[1, 1] = (a * f - c * c) / det
    s_inv[1, 2] = s_inv[2, 1] = (b * c - a * e) / det
    s_inv[2, 2] = (a * d - b * b) / det
    return det


@njit(**_JIT)
def _ekf_update(x, p, nu, h3, r, m, ph, s, s_inv, kg):
    """EKF update of x (9,), p (9, 9) in place with innovation nu (m,), Jacobian h3 (m, 3) on position,
    noise r (m, m). Returns the measurement log-likelihood. P - K S K^T, symmetrised."""
    for i in range(9):
        for a in range(m):
            ph[i, a] = p[i, 0] * h3[a, 0] + p[i, 1] * h3[a, 1] + p[i, 2] * h3[a, 2]
    for a in range(m):
        for b in range(m):
            s[a, b] = h3[a, 0] * ph[0, b] + h3[a, 1] * ph[1, b] + h3[a, 2] * ph[2, b] + r[a, b]
    det = _inverse_sym(s, m, s_inv)
    for i in range(9):
        for b in range(m):
            acc = 0.0
            for a in range(m):
                acc += ph[i, a] * s_inv[a, b]
            kg[i, b] = acc
    for i in range(9):
        acc = 0.0
        for b in range(m):
            acc += kg[i, b] * nu[b]
        x[i] += acc
    for i in range(9):
        for j in range(i, 9):
            # (K PH^T)[i, j] and [j, i]: symmetrise as the reference does
            u = 0.0
            v = 0.0
            for b in range(m):
                u += kg[i, b] * ph[j, b]
                v += kg[j, b] * ph[i, b]
            val = 0.5 * ((p[i, j] - u) + (p[j, i] - v))
            p[i, j] = val
            p[j, i] = val
    d2 = 0.0
    for a in range(m):
        for b in range(m):
            d2 += nu[a] * s_inv[a, b] * nu[b]
    return -0.5 * (d2 + math.log(det) + m * _LOG_2PI)


@njit(**_JIT)
def _mode_probabilities(c, log_lik, mu_out):
    """Posterior mode probabilities from predicted c (2,) and per-mode log-likelihoods (as imm_update in
    tests/tracking/kernel_oracles.py)."""
    l0 = math.log(max(c[0], 1e-300)) + log_lik[0]
    l1 = math.log(max(c[1], 1e-300)) + log_lik[1]
    top = max(l0, l1)
    w0, w1 = math.exp(l0 - top), math.exp(l1 - top)
    tot = w0 + w1
    m0, m1 = max(w0 / tot, 1e-6), max(w1 / tot, 1e-6)
    mu_out[0], mu_out[1] = m0 / (m0 + m1), m1 / (m0 + m1)


@njit(**_JIT)
def _radar_model(pos, site, rot, z_out, h3):
    """Predicted [range m, az rad in [0, 2pi), el rad] of ECEF pos (3,) at a site, and d(z)/d(pos) (3, 3)."""
    dx, dy, dz = pos[0] - site[0], pos[1] - site[1], pos[2] - site[2]
    e = rot[0, 0] * dx + rot[0, 1] * dy + rot[0, 2] * dz
    n = rot[1, 0] * dx + rot[1, 1] * dy + rot[1, 2] * dz
    u = rot[2, 0] * dx + rot[2, 1] * dy + rot[2, 2] * dz
    rho2 = e * e + n * n
    rho = math.sqrt(rho2)
    r2 = rho2 + u * u
    rng = math.sqrt(r2)
    az = math.atan2(e, n)
    if az < 0.0:
        az += _TWO_PI
    z_out[0], z_out[1], z_out[2] = rng, az, math.atan2(u, rho)
    j00, j01, j02 = e / rng, n / rng, u / rng
    j10, j11 = n / rho2, -e / rho2
    j20, j21, j22 = -e * u / (r2 * rho), -n * u / (r2 * rho), rho / r2
    for c in range(3):
        h3[0, c] = j00 * rot[0, c] + j01 * rot[1, c] + j02 * rot[2, c]
        h3[1, c] = j10 * rot[0, c] + j11 * rot[1, c]
        h3[2, c] = j20 * rot[0, c] + j21 * rot[1, c] + j22 * rot[2, c]


@njit(**_JIT)
def _all_finite(x, p):
    acc = 0.0
    for i in range(9):
        acc += x[i]
        for j in range(9):
            acc += p[i, j]
    return math.isfinite(acc)


@njit(**_JIT)
def _wrap_pi(a):
    return a - _TWO_PI * math.floor((a + math.pi) / _TWO_PI)


@njit(**_JIT)
def _los_model(pos, plat, los, z_out, h3):
    """Gnomonic coordinates (2,) of ECEF pos about the line of sight los from plat, and d(z)/d(pos) (2, 3)."""
    if abs(los[2]) < 0.9:
        hx, hy, hz = 0.0, 0.0, 1.0
    else:
        hx, hy, hz = 1.0, 0.0, 0.0
    # u1 = helper x los (normalised), u2 = los x u1
    u1x, u1y, u1z = hy * los[2] - hz * los[1], hz * los[0] - hx * los[2], hx * los[1] - hy * los[0]
    nrm = math.sqrt(u1x * u1x + u1y * u1y + u1z * u1z)
    u1x, u1y, u1z = u1x / nrm, u1y / nrm, u1z / nrm
    u2x = los[1] * u1z - los[2] * u1y
    u2y = los[2] * u1x - los[0] * u1z
    u2z = los[0] * u1y - los[1] * u1x
    dx, dy, dz = pos[0] - plat[0], pos[1] - plat[1], pos[2] - plat[2]
    w = los[0] * dx + los[1] * dy + los[2] * dz
    z0 = (u1x * dx + u1y * dy + u1z * dz) / w
    z1 = (u2x * dx + u2y * dy + u2z * dz) / w
    z_out[0], z_out[1] = z0, z1
    h3[0, 0], h3[0, 1], h3[0, 2] = (u1x - z0 * los[0]) / w, (u1y - z0 * los[1]) / w, (u1z - z0 * los[2]) / w
    h3[1, 0], h3[1, 1], h3[1, 2] = (u2x - z1 * los[0]) / w, (u2y - z1 * los[1]) / w, (u2z - z1 * los[2]) / w


# ----------------------------------------------------------------------------------------- kernels


@njit(**_JIT)
def _imm_commit(xp, pp, c, ll, n, t_new, x_mode, p_mode, mu, x, p, t):
    """Store track n's updated modes xp (2, 9), pp (2, 9, 9) with new mode probabilities (from the
    predicted ones c and the log likelihoods ll), its combined estimate and time t_new; True when the
    result is finite."""
    _mode_probabilities(c, ll, mu[n])
    x_mode[n] = xp
    p_mode[n] = pp
    _combine(xp, pp, mu[n], x[n], p[n])
    t[n] = t_new
    return _all_finite(x[n], p[n])


@njit(**_JIT)
def imm_update_radar(x_mode, p_mode, mu, x, p, t, idx, t_m, z_m, site, rot, r_var, params):
    """Full IMM-EKF cycle of tracks idx (K,) with one radar detection each, in place.

    Tracker arrays: x_mode (N, 2, 9), p_mode (N, 2, 9, 9), mu (N, 2), x (N, 9), p (N, 9, 9), t (N,).
    t_m (K,) detection times (s), z_m (K, 3) [range m, az rad, el rad], site (3,) ECEF m, rot (3, 3)
    ECEF->ENU, r_var (3,) measurement variances. Tracks end at their detection's time. Returns (K,) bool:
    the new state and covariance are finite (false marks a numerical failure).
    """
    xp = np.empty((2, 9))
    pp = np.empty((2, 9, 9))
    c = np.empty(2)
    x0, a, zp, nu, ll = np.empty(9), np.empty(3), np.empty(3), np.empty(3), np.empty(2)
    p0, f, tmp = np.empty((9, 9)), np.empty((9, 9)), np.empty((9, 9))
    g, h3, s, s_inv, ph, kg = (np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3)),
                               np.empty((9, 3)), np.empty((9, 3)))
    r = np.zeros((3, 3))
    for i in range(3):
        r[i, i] = r_var[i]
    finite = np.empty(idx.size, np.bool_)
    for k in range(idx.size):
        n = idx[k]
        _imm_predict_one(x_mode[n], p_mode[n], mu[n], t_m[k] - t[n], params, xp, pp, c, x0, p0, f, g, tmp, a)
        for j in range(2):
            _radar_model(xp[j, 0:3], site, rot, zp, h3)
            nu[0] = z_m[k, 0] - zp[0]
            nu[1] = _wrap_pi(z_m[k, 1] - zp[1])
            nu[2] = z_m[k, 2] - zp[2]
            ll[j] = _ekf_update(xp[j], pp[j], nu, h3, r, 3, ph, s, s_inv, kg)
        finite[k] = _imm_commit(xp, pp, c, ll, n, t_m[k], x_mode, p_mode, mu, x, p, t)
    return finite


@njit(**_JIT)
def imm_update_los(x_mode, p_mode, mu, x, p, t, idx, t_m, plat, los, sigma_rad, params):
    """Full IMM-EKF cycle of tracks idx (K,) with one IR line of sight each, in place.

    plat (K, 3) platform ECEF m, los (K, 3) unit lines of sight, sigma_rad the per-axis noise (rad).
    Other arrays and the result as in `imm_update_radar`.
    """
    xp = np.empty((2, 9))
    pp = np.empty((2, 9, 9))
    c = np.empty(2)
    x0, a, zp, nu, ll = np.empty(9), np.empty(3), np.empty(2), np.empty(2), np.empty(2)
    p0, f, tmp = np.empty((9, 9)), np.empty((9, 9)), np.empty((9, 9))
    g, h3, s, s_inv, ph, kg = (np.empty((3, 3)), np.empty((2, 3)), np.empty((2, 2)), np.empty((2, 2)),
                               np.empty((9, 2)), np.empty((9, 2)))
    r = np.zeros((2, 2))
    r[0, 0] = r[1, 1] = sigma_rad * sigma_rad
    finite = np.empty(idx.size, np.bool_)
    for k in range(idx.size):
        n = idx[k]
        _imm_predict_one(x_mode[n], p_mode[n], mu[n], t_m[k] - t[n], params, xp, pp, c, x0, p0, f, g, tmp, a)
        for j in range(2):
            _los_model(xp[j, 0:3], plat[k], los[k], zp, h3)
            nu[0], nu[1] = -zp[0], -zp[1]
            ll[j] = _ekf_update(xp[j], pp[j], nu, h3, r, 2, ph, s, s_inv, kg)
        finite[k] = _imm_commit(xp, pp, c, ll, n, t_m[k], x_mode, p_mode, mu, x, p, t)
    return finite


@njit(**_JIT)
def imm_predict_combined(x_mode, p_mode, mu, t, idx, t_to, params):
    """IMM prediction of tracks idx to t_to (s), combined: x (K, 9), p (K, 9, 9), mu (K, 2). No change made."""
    kk = idx.size
    x_out = np.empty((kk, 9))
    p_out = np.empty((kk, 9, 9))
    mu_out = np.empty((kk, 2))
    xp = np.empty((2, 9))
    pp = np.empty((2, 9, 9))
    x0, a = np.empty(9), np.empty(3)
    p0, f, tmp, g = np.empty((9, 9)), np.empty((9, 9)), np.empty((9, 9)), np.empty((3, 3))
    for k in range(kk):
        n = idx[k]
        _imm_predict_one(x_mode[n], p_mode[n], mu[n], t_to - t[n], params, xp, pp, mu_out[k], x0, p0, f, g,
                         tmp, a)
        _combine(xp, pp, mu_out[k], x_out[k], p_out[k])
    return x_out, p_out, mu_out


@njit(**_JIT)
def dominant_predict(x, p, t, boost_prob, idx, t_to, params, full):
    """Combined states of tracks idx predicted to t_to (s) with their more probable mode (no mixing).

    Returns x (K, 9) and p (K, 9, 9); with full=False only the position block p[:, 0:3, 0:3] is filled
    (all that gating needs, at a third of the cost). Used for gating and duplicate checks.
    """
    kk = idx.size
    x_out = np.empty((kk, 9))
    p_out = np.zeros((kk, 9, 9))
    f, g, tmp, a = np.empty((9, 9)), np.empty((3, 3)), np.empty((9, 9)), np.empty(3)
    for k in range(kk):
        n = idx[k]
        dt = t_to - t[n]
        boost = boost_prob[n] > 0.5
        _propagate(x[n], dt, boost, x_out[k], a)
        _transition(x[n], dt, boost, f, g)
        if full:
            _predict_cov(p[n], f, dt, boost, params, p_out[k], tmp)
            continue
        _predict_pos_cov(p[n], f, dt, boost, params, p_out[k], tmp)
    return x_out, p_out


@njit(**_JIT)
def radar_pair_gate(xp, pp, ti, mj, dt_pair, z, site, rot, r_var):
    """Mahalanobis distance^2 and log det S of (track ti, detection mj) radar pairs.

    xp (N, 9), pp (N, 9, 9) (position block used) are tracks at the frame time; each pair's position is
    moved by its velocity over dt_pair (K,) s. z (M, 3) detections; r_var (3,) variances.
    """
    kk = ti.size
    d2 = np.empty(kk)
    log_det = np.empty(kk)
    pos, zp, nu = np.empty(3), np.empty(3), np.empty(3)
    h3, hp, s, s_inv = np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3)), np.empty((3, 3))
    for k in range(kk):
        n, m = ti[k], mj[k]
        for c in range(3):
            pos[c] = xp[n, c] + xp[n, 3 + c] * dt_pair[k]
        _radar_model(pos, site, rot, zp, h3)
        for a in range(3):
            for c in range(3):
                hp[a, c] = h3[a, 0] * pp[n, 0, c] + h3[a, 1] * pp[n, 1, c] + h3[a, 2] * pp[n, 2, c]
        for a in range(3):
            for b in range(3):
                s[a, b] = hp[a, 0] * h3[b, 0] + hp[a, 1] * h3[b, 1] + hp[a, 2] * h3[b, 2]
            s[a, a] += r_var[a]
        det = _inverse_sym(s, 3, s_inv)
        nu[0] = z[m, 0] - zp[0]
        nu[1] = _wrap_pi(z[m, 1] - zp[1])
        nu[2] = z[m, 2] - zp[2]
        acc = 0.0
        for a in range(3):
            for b in range(3):
                acc += nu[a] * s_inv[a, b] * nu[b]
        d2[k] = acc
        log_det[k] = math.log(det)
    return d2, log_det


@njit(**_JIT)
def radar_gate_tracks(x, p, t, boost_prob, idx, t_f, params, site, rot, max_range_m, min_el_rad, max_el_rad,
                      bore_az_rad, half_az_rad, gate_d2, meas_var, span_s):
    """Everything a radar frame needs of tracks idx before pairing, in one pass.

    Each track is predicted to the frame start t_f (s) with its more probable mode: xp (K, 9) and its
    position covariance pp (K, 3, 3). covered (K,): the radar could have seen it there (range m,
    elevation and azimuth sector, rad). radius (K,): the coarse gate in metres, sqrt(gate_d2) standard
    deviations of the track's position spread plus the frame's largest measurement variance meas_var
    (m^2), plus the distance the track moves during the frame (span_s).
    """
    kk = idx.size
    xp = np.empty((kk, 9))
    pp = np.empty((kk, 3, 3))
    covered = np.empty(kk, np.bool_)
    radius = np.empty(kk)
    f, g, tmp, a, zp, h3 = (np.empty((9, 9)), np.empty((3, 3)), np.empty((3, 9)), np.empty(3), np.empty(3),
                            np.empty((3, 3)))
    q_gate = math.sqrt(gate_d2)
    for k in range(kk):
        n = idx[k]
        dt = t_f - t[n]
        boost = boost_prob[n] > 0.5
        _propagate(x[n], dt, boost, xp[k], a)
        _transition(x[n], dt, boost, f, g)
        _predict_pos_cov(p[n], f, dt, boost, params, pp[k], tmp)
        _radar_model(xp[k, 0:3], site, rot, zp, h3)
        off = abs(_wrap_pi(zp[1] - bore_az_rad))
        covered[k] = (zp[0] <= max_range_m) and (zp[2] >= min_el_rad) and (zp[2] <= max_el_rad) and (
            off <= half_az_rad)
        speed = math.sqrt(xp[k, 3] ** 2 + xp[k, 4] ** 2 + xp[k, 5] ** 2)
        radius[k] = q_gate * math.sqrt(pp[k, 0, 0] + pp[k, 1, 1] + pp[k, 2, 2] + meas_var) + speed * span_s + 1.0
    return xp, pp, covered, radius


@njit(**_JIT)
def radar_to_ecef_compiled(z, site, rot, sigma):
    """Radar detections z (M, 3) [range m, az rad, el rad] to ECEF positions (M, 3) and covariances (M, 3, 3),
    as `models.radar_to_ecef`; also the largest covariance trace (m^2). sigma (3,) the radar's noise."""
    mm = z.shape[0]
    pos = np.empty((mm, 3))
    cov = np.empty((mm, 3, 3))
    j = np.empty((3, 3))
    je = np.empty((3, 3))
    s2 = np.empty(3)
    for a in range(3):
        s2[a] = sigma[a] * sigma[a]
    max_trace = 0.0
    for m in range(mm):
        rng, az, el = z[m, 0], z[m, 1], z[m, 2]
        ce, se, ca, sa = math.cos(el), math.sin(el), math.cos(az), math.sin(az)
        e, n, u = rng * ce * sa, rng * ce * ca, rng * se
        for c in range(3):
            pos[m, c] = site[c] + rot[0, c] * e + rot[1, c] * n + rot[2, c] * u
        j[0, 0], j[0, 1], j[0, 2] = ce * sa, rng * ce * ca, -rng * se * sa
        j[1, 0], j[1, 1], j[1, 2] = ce * ca, -rng * ce * sa, -rng * se * ca
        j[2, 0], j[2, 1], j[2, 2] = se, 0.0, rng * ce
        for c in range(3):
            for b in range(3):
                je[c, b] = rot[0, c] * j[0, b] + rot[1, c] * j[1, b] + rot[2, c] * j[2, b]
        tr = 0.0
        for c in range(3):
            for d in range(3):
                v = je[c, 0] * s2[0] * je[d, 0] + je[c, 1] * s2[1] * je[d, 1] + je[c, 2] * s2[2] * je[d, 2]
                cov[m, c, d] = v
            tr += cov[m, c, c]
        max_trace = max(max_trace, tr)
    return pos, cov, max_trace


# The on-disk cache also keyed on what numba does not watch (equations, constants: tracking/kernel_cache.py),
# checked before any kernel can be called; `kernel_cache.compile_kernels` compiles them all with a notice.
from triwarn.tracking.kernel_cache import check_sources  # noqa: E402

check_sources(imm_update_radar, _free_flight_accel)
