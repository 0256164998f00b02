"""Checks of the assessment's tracks: the clock-grid cadence, states no missile can have, the thrust
estimate from two boosting states (used by triwarn.assess.assessor)."""

from __future__ import annotations

import numpy as np

from triwarn.fusion.mode import thrust_along_velocity
from triwarn.geo.wgs84 import GM_M3_S2
from triwarn.physics.dynamics import approx_alt_m

MAX_ALT_M = 8000e3
MAX_SPEED_MPS = 7900.0
MAX_POS_SIGMA_M = 300e3


def due(t: float, hist: list, attr: str, interval_s: float) -> np.ndarray:
    """Indices of the histories whose `attr` time is unset or lies in an earlier slot of the clock's grid
    of interval_s (slots are whole multiples of interval_s in unix time).

    Why a grid and not "interval_s since the last one": the cadence then has the same phase on every node
    and with or without sharing. Counted from each track's first sighting, a track a partner saw 39 s
    earlier ran its cut-off path on another phase, and the shelter alert came up to interval_s - 1 s
    later with sharing than alone (2022-10-04 replay: 1 s; irbm-toward-guam: 2 s)."""
    if interval_s <= 0.0:
        return np.arange(len(hist), dtype=int)
    slot = np.floor((t + 1e-6) / interval_s)
    return np.array([k for k, h in enumerate(hist)
                     if getattr(h, attr) is None or np.floor((getattr(h, attr) + 1e-6) / interval_s) < slot],
                    dtype=int)


def implausible(pos, vel, cov) -> np.ndarray:
    """States no ballistic missile can have: non-finite, underground, too high or fast, escaping, or a
    position uncertainty so large the state says nothing."""
    finite = np.all(np.isfinite(pos), axis=-1) & np.all(np.isfinite(vel), axis=-1)
    finite &= np.all(np.isfinite(cov), axis=(-2, -1))
    alt = approx_alt_m(np.where(finite[:, None], pos, 7e6))
    speed = np.linalg.norm(np.where(finite[:, None], vel, 0.0), axis=-1)
    energy = 0.5 * speed**2 - GM_M3_S2 / np.linalg.norm(np.where(finite[:, None], pos, 7e6), axis=-1)
    pos_var = np.trace(np.where(finite[:, None, None], cov, 0.0)[:, :3, :3], axis1=-2, axis2=-1)
    return (~finite | (alt < -2e3) | (alt > MAX_ALT_M) | (speed > MAX_SPEED_MPS) | (energy >= 0.0)
            | (pos_var > MAX_POS_SIGMA_M**2))


def thrust_accel(boost: list) -> float:
    """Thrust acceleration (m/s^2) along the velocity, from the last two boosting states at least 0.5 s
    apart (fusion.mode.thrust_along_velocity: their velocity change less the free-flight acceleration).
    NaN if there is no such pair."""
    if len(boost) < 2:
        return np.nan
    t1, p1, v1 = boost[-1]
    for t0, p0, v0 in reversed(boost[:-1]):
        if t1 - t0 >= 0.5:
            no_cov = np.zeros((1, 3, 3))
            accel, _sigma = thrust_along_velocity(np.array([t1 - t0]), p0[None], v0[None], no_cov,
                                                  p1[None], v1[None], no_cov)
            return float(accel[0])
    return np.nan
