"""IMM prediction of many tracks at once: mode mixing, then each mode's EKF prediction.

Arrays: x_mode (N, 2, 9) per-mode states, p_mode (N, 2, 9, 9) covariances, mu (N, 2) mode
probabilities, dt_s (N,) seconds to advance each track (may be negative: a late measurement is
absorbed by predicting back to its time; process noise is added for |dt|).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triwarn.tracking.models import (
    MODE_BOOST,
    N_MODES,
    MotionNoise,
    process_noise,
    propagate_state,
    transition_jacobian,
)

_MODE_IS_BOOST = np.arange(N_MODES) == MODE_BOOST


@dataclass(frozen=True)
class ModeSwitching:
    """Mode-switch rates (1/s): a boost ends (burnout, staging) or a coasting object starts thrusting."""

    boost_end_rate_per_s: float = 0.05
    boost_start_rate_per_s: float = 1e-6

    def matrix(self, dt_s: NDArray) -> NDArray:
        """Markov matrices (N, 2, 2), entry [i, j] = P(mode j after |dt| | mode i before)."""
        dt = np.abs(np.asarray(dt_s, float))
        p_end = 1.0 - np.exp(-self.boost_end_rate_per_s * dt)
        p_start = 1.0 - np.exp(-self.boost_start_rate_per_s * dt)
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
    x0, p0, c = mix(x_mode, p_mode, mu, switching.matrix(dt_s))
    x_new, p_new = predict_modes(x0, p0, dt_s, noise)
    return x_new, p_new, c


def combine(x_mode: NDArray, p_mode: NDArray, mu: NDArray) -> tuple[NDArray, NDArray]:
    """Moment-matched single estimate (N, 9), (N, 9, 9) of the mode mixture."""
    x = np.einsum("ni,nik->nk", mu, x_mode)
    d = x_mode - x[:, None, :]
    p = np.einsum("ni,nikl->nkl", mu, p_mode + d[..., :, None] * d[..., None, :])
    return x, p
