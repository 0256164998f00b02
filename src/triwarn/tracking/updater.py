"""EKF measurement update of IMM tracks, vectorised over (track, measurement) pairs.

Inputs per pair: predicted mode states (K, 2, 9) and covariances (K, 2, 9, 9), predicted mode
probabilities (K, 2), innovations (K, 2, m) and Jacobians (K, 2, m, 9) per mode, and measurement
noise covariances (K, m, m). Returns updated modes, mode probabilities and the combined estimate.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from triwarn.tracking.predictor import combine


def innovation_covariance(p: NDArray, h: NDArray, r: NDArray) -> NDArray:
    """S = H P H^T + R for stacked (..., 9, 9), (..., m, 9), (..., m, m)."""
    return h @ p @ np.swapaxes(h, -1, -2) + r


def small_inverse(s: NDArray) -> tuple[NDArray, NDArray]:
    """Inverse and determinant of stacked symmetric 2x2 or 3x3 matrices by cofactors.

    numpy's batched LAPACK call costs more per tiny matrix than the arithmetic itself.
    """
    m = s.shape[-1]
    if m == 2:
        a, b, d = s[..., 0, 0], s[..., 0, 1], s[..., 1, 1]
        det = a * d - b * b
        inv = np.empty_like(s)
        inv[..., 0, 0], inv[..., 1, 1] = d / det, a / det
        inv[..., 0, 1] = inv[..., 1, 0] = -b / det
        return inv, det
    if m == 3:
        a, b, c = s[..., 0, 0], s[..., 0, 1], s[..., 0, 2]
        d, e, f = s[..., 1, 1], s[..., 1, 2], s[..., 2, 2]
        c00, c01, c02 = d * f - e * e, c * e - b * f, b * e - c * d
        det = a * c00 + b * c01 + c * c02
        inv = np.empty_like(s)
        inv[..., 0, 0] = c00 / det
        inv[..., 0, 1] = inv[..., 1, 0] = c01 / det
        inv[..., 0, 2] = inv[..., 2, 0] = c02 / det
        inv[..., 1, 1] = (a * f - c * c) / det
        inv[..., 1, 2] = inv[..., 2, 1] = (b * c - a * e) / det
        inv[..., 2, 2] = (a * d - b * b) / det
        return inv, det
    return np.linalg.inv(s), np.linalg.det(s)


def imm_update(x_mode: NDArray, p_mode: NDArray, mu: NDArray, nu: NDArray, h: NDArray, r: NDArray):
    """Update each mode with its innovation nu and Jacobian h; mode probabilities from the likelihoods.

    Covariance: P - K S K^T, symmetrised (for 2-3 dimensional updates of a well-conditioned P this
    keeps P positive definite in double precision). Returns (x_mode, p_mode, mu, x, p, log_likelihood)
    where log_likelihood (K,) is the mixture's measurement log-likelihood (a track-score increment).
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
