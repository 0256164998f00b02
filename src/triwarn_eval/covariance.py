"""Tracker-like state covariances for the assessment's tests and benchmark."""

from __future__ import annotations

import numpy as np


def random_cov(rng: np.random.Generator, pos_sigma_m: float, vel_sigma_mps: float, corr: float = 0.3) -> np.ndarray:
    """A tracker-like 6x6 ECEF covariance: the given per-axis sigmas, position-velocity correlation corr,
    in randomly rotated axes (one rotation drawn from rng)."""
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    s = np.diag([pos_sigma_m] * 3 + [vel_sigma_mps] * 3)
    c = np.eye(6)
    c[:3, 3:] = c[3:, :3] = corr * np.eye(3)
    rot = np.zeros((6, 6))
    rot[:3, :3] = rot[3:, 3:] = q
    return rot @ s @ c @ s @ rot.T
