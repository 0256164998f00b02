"""Prediction of many track states and covariances through the free-flight model, all at once.

States are 6-vectors [pos_ecef_m, vel_ecef_mps]. Covariances are carried through the nonlinear flight by
the spherical-radial cubature rule (2n equally weighted points at ±sqrt(n) standard deviations along the
covariance's principal axes): no Jacobians, and every point of every track moves in one batch.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.physics.dynamics import propagate

STATE_DIM = 6
# White-noise acceleration spectral densities (m^2/s^3) for time alignment: a ballistic object follows the
# model almost exactly; a boosting one has an unknown thrust of up to several g.
Q_BALLISTIC_M2_S3 = 1e-2
Q_BOOST_M2_S3 = 400.0


def covariance_sqrt(cov: ArrayLike) -> NDArray[np.float64]:
    """A square root S (..., n, n) with S @ S.T == cov for symmetric positive semi-definite cov (..., n, n).

    Uses the eigendecomposition rather than Cholesky so that singular or slightly indefinite covariances
    (rounding in a tracker's output) still give real points; negative eigenvalues are clipped to zero.
    """
    c = np.asarray(cov, float)
    c = 0.5 * (c + np.swapaxes(c, -1, -2))
    w, v = np.linalg.eigh(c)
    return v * np.sqrt(np.clip(w, 0.0, None))[..., None, :]


def cubature_points(mean: ArrayLike, cov: ArrayLike) -> NDArray[np.float64]:
    """Cubature points (..., 2n, n) of Gaussians with mean (..., n) and covariance (..., n, n).

    Each point has weight 1/(2n); their mean and covariance equal the inputs exactly.
    """
    m = np.asarray(mean, float)
    n = m.shape[-1]
    s = covariance_sqrt(cov) * np.sqrt(n)  # columns are the offsets
    offsets = np.concatenate([np.swapaxes(s, -1, -2), -np.swapaxes(s, -1, -2)], axis=-2)
    return m[..., None, :] + offsets


def points_mean_cov(points: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean (..., n) and covariance (..., n, n) of equally weighted points (..., k, n)."""
    mean = points.mean(axis=-2)
    d = points - mean[..., None, :]
    return mean, np.einsum("...ki,...kj->...ij", d, d) / points.shape[-2]


def process_noise(dt_s: ArrayLike, q_m2_s3: ArrayLike) -> NDArray[np.float64]:
    """Discrete white-noise-acceleration covariance (..., 6, 6) over |dt_s| for spectral density q."""
    dt = np.abs(np.asarray(dt_s, float))
    q = np.asarray(q_m2_s3, float)
    dt, q = np.broadcast_arrays(dt, q)
    eye = np.eye(3)
    out = np.zeros((*dt.shape, 6, 6))
    out[..., :3, :3] = (q * dt**3 / 3.0)[..., None, None] * eye
    out[..., :3, 3:] = (q * dt**2 / 2.0)[..., None, None] * eye
    out[..., 3:, :3] = out[..., :3, 3:]
    out[..., 3:, 3:] = (q * dt)[..., None, None] * eye
    return out


def predict_states(
    pos_ecef_m: ArrayLike,
    vel_ecef_mps: ArrayLike,
    cov_ecef_m2: ArrayLike,
    dt_s: ArrayLike,
    q_m2_s3: ArrayLike = Q_BALLISTIC_M2_S3,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Predict N states (N, 3) + (N, 3) with covariances (N, 6, 6) by dt_s (scalar or (N,), may be < 0).

    Returns predicted position (m), velocity (m/s) and covariance (including process noise q, per track or
    scalar). Tracks with dt == 0 are returned unchanged; the rest move together in one batch.
    """
    pos = np.array(pos_ecef_m, float).reshape(-1, 3)
    vel = np.array(vel_ecef_mps, float).reshape(-1, 3)
    cov = np.array(cov_ecef_m2, float).reshape(-1, 6, 6)
    n = pos.shape[0]
    dt = np.broadcast_to(np.asarray(dt_s, float), (n,))
    q = np.broadcast_to(np.asarray(q_m2_s3, float), (n,))
    moving = np.abs(dt) > 1e-9
    if not np.any(moving):
        return pos, vel, cov
    idx = np.flatnonzero(moving)
    state = np.concatenate([pos[idx], vel[idx]], axis=-1)
    pts = cubature_points(state, cov[idx])  # (m, 12, 6)
    k = pts.shape[1]
    dt_pts = np.repeat(dt[idx], k)
    p1, v1 = propagate(pts[..., :3].reshape(-1, 3), pts[..., 3:].reshape(-1, 3), dt_pts, max_step_s=5.0)
    moved = np.concatenate([p1, v1], axis=-1).reshape(len(idx), k, 6)
    mean, new_cov = points_mean_cov(moved)
    new_cov = new_cov + process_noise(dt[idx], q[idx])
    pos[idx], vel[idx], cov[idx] = mean[:, :3], mean[:, 3:], new_cov
    return pos, vel, cov
