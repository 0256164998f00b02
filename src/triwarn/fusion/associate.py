"""Track-to-track association: statistical distance, gating and 2-D assignment.

Two estimates a (pos, vel) with covariance Pa and b with Pb of the same object differ by a zero-mean
Gaussian whose covariance is at most Pa + Pb, so d^2 = (a - b)^T (Pa + Pb)^-1 (a - b) is chi-square with
6 degrees of freedom. Pairs beyond the gate are never associated; the rest are assigned one-to-one by
minimum total d^2 (Hungarian algorithm, scipy's linear_sum_assignment).

That bound assumes each tracker's covariance describes its error. Two nations' trackers of one object
also differ by model mismatch that neither covariance holds: while the object boosts, each filter lags
the unknown thrust by its own amount (hundreds of m/s and about a kilometre apart is common), and even in
free flight sensor registration biases leave a floor of some tens of metres. Gating therefore adds a
mismatch covariance per track, set by its mode (mismatch_cov), to Pa + Pb. It widens the gate only; the
fused estimate still uses the trackers' own covariances.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

GATE_PROBABILITY = 0.9995
GATE_D2 = float(chi2.ppf(GATE_PROBABILITY, 6))
# An existing binding is dropped only beyond a wider gate than a new pair must pass (hysteresis), so one
# noisy step does not split a system track.
KEEP_GATE_D2 = float(chi2.ppf(1.0 - 1e-6, 6))
# Per-axis standard deviations of the error between two trackers' estimates of one object that their
# covariances do not hold: thrust lag while boosting, registration bias in free flight.
MISMATCH_BOOST_M, MISMATCH_BOOST_MPS = 1000.0, 200.0
MISMATCH_BALLISTIC_M, MISMATCH_BALLISTIC_MPS = 100.0, 5.0
_NO_PAIR = 1e12


def mismatch_cov(boosting: ArrayLike) -> NDArray[np.float64]:
    """Diagonal model-mismatch covariances (..., 6, 6) over [pos_m, vel_mps] for tracks boosting (bool, (...,)).

    Added to a track's covariance for gating only (see the module docstring).
    """
    b = np.asarray(boosting, bool)
    pos_var = np.where(b, MISMATCH_BOOST_M**2, MISMATCH_BALLISTIC_M**2)
    vel_var = np.where(b, MISMATCH_BOOST_MPS**2, MISMATCH_BALLISTIC_MPS**2)
    out = np.zeros((*b.shape, 6, 6))
    idx = np.arange(3)
    out[..., idx, idx] = pos_var[..., None]
    out[..., idx + 3, idx + 3] = vel_var[..., None]
    return out


def pair_distance2(
    state_a: ArrayLike, cov_a: ArrayLike, state_b: ArrayLike, cov_b: ArrayLike
) -> NDArray[np.float64]:
    """Squared statistical distance between paired states (..., 6) with covariances (..., 6, 6); np.inf
    for a pair whose values are not finite or whose summed covariance is singular (never associated)."""
    d = np.asarray(state_a, float) - np.asarray(state_b, float)
    s = np.asarray(cov_a, float) + np.asarray(cov_b, float)
    with np.errstate(all="ignore"):
        try:
            d2 = np.einsum("...i,...i->...", d, np.linalg.solve(s, d[..., None])[..., 0])
        except np.linalg.LinAlgError:
            d2 = np.full(d.shape[:-1], np.inf)
            for i in np.ndindex(d2.shape):
                try:
                    d2[i] = d[i] @ np.linalg.solve(s[i], d[i])
                except np.linalg.LinAlgError:
                    pass
    return np.where(np.isfinite(d2), d2, np.inf)


def distance_matrix(
    state_a: ArrayLike, cov_a: ArrayLike, state_b: ArrayLike, cov_b: ArrayLike, gate_d2: float = GATE_D2
) -> NDArray[np.float64]:
    """Squared distances (Na, Nb) between every a (Na, 6) and b (Nb, 6); np.inf outside the gate.

    A cheap position pre-gate leaves out pairs that cannot pass: the 6-D distance is at least the 3-D
    position one, which is at least |dp|^2 / (tr Pa_pos + tr Pb_pos). Only the survivors are solved.
    """
    xa, xb = np.asarray(state_a, float), np.asarray(state_b, float)
    pa, pb = np.asarray(cov_a, float), np.asarray(cov_b, float)
    out = np.full((xa.shape[0], xb.shape[0]), np.inf)
    if out.size == 0:
        return out
    dp2 = np.sum((xa[:, None, :3] - xb[None, :, :3]) ** 2, axis=-1)
    tr_a = np.trace(pa[:, :3, :3], axis1=-2, axis2=-1)
    tr_b = np.trace(pb[:, :3, :3], axis1=-2, axis2=-1)
    ia, ib = np.nonzero(dp2 <= gate_d2 * (tr_a[:, None] + tr_b[None, :]))
    if ia.size:
        d2 = pair_distance2(xa[ia], pa[ia], xb[ib], pb[ib])
        d2 = np.where(d2 <= gate_d2, d2, np.inf)
        out[ia, ib] = d2
    return out


def assign(cost: ArrayLike) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """One-to-one assignment minimising the total of finite costs (Na, Nb); inf marks a forbidden pair.

    Returns matched row and column indices; rows or columns with no finite cost stay unmatched.
    """
    c = np.asarray(cost, float)
    rows = np.flatnonzero(np.any(np.isfinite(c), axis=1))
    cols = np.flatnonzero(np.any(np.isfinite(c), axis=0))
    if rows.size == 0 or cols.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    sub = c[np.ix_(rows, cols)]
    r, k = linear_sum_assignment(np.where(np.isfinite(sub), sub, _NO_PAIR))
    keep = np.isfinite(sub[r, k])
    return rows[r[keep]], cols[k[keep]]
