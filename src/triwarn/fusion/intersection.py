"""Covariance intersection of K estimates of the same state whose cross-correlation is unknown.

Partner nations' tracks of one object are not independent (they share the object's manoeuvres, and a
nation may already have used a partner's data), so adding information matrices as if they were would
be over-confident. Covariance intersection, P^-1 = sum_k w_k P_k^-1 and x = P sum_k w_k P_k^-1 x_k with
w on the simplex, is consistent for any correlation. The weights minimise det(P), searched on a lattice
over the simplex for all fused objects at once.

Inputs are bounded before they get here (partner content: share/bounds.py), but one bad estimate must
still never stop the picture: an estimate whose mean or covariance is not finite, or whose covariance
cannot be inverted, is left out of its object's fusion (logged and counted in SKIPPED); an object left
with no usable estimate gets its first estimate back unchanged, as an object with one estimate does.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

log = logging.getLogger(__name__)

# Estimates left out of a fusion since the process started: "not_finite", "singular".
SKIPPED: Counter[str] = Counter()


@cache
def simplex_lattice(k: int, divisions: int) -> NDArray[np.float64]:
    """All weight vectors (G, k) with entries in {0, 1/divisions, ..., 1} summing to 1."""
    rows = [c for c in itertools.product(range(divisions + 1), repeat=k - 1) if sum(c) <= divisions]
    grid = np.array([[*c, divisions - sum(c)] for c in rows], float) / divisions
    grid.setflags(write=False)
    return grid


def covariance_intersection(
    means: ArrayLike, covs: ArrayLike, present: ArrayLike | None = None, divisions: int | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Fuse K estimates for each of N objects.

    means (N, K, n), covs (N, K, n, n), present (N, K) bool marks which of the K slots hold an estimate
    (at least one per row). Returns the fused mean (N, n), covariance (N, n, n) and weights (N, K); an
    object with one estimate gets it back unchanged.
    """
    x = np.asarray(means, float)
    p = np.asarray(covs, float)
    n_obj, k, _n = x.shape
    mask = np.ones((n_obj, k), bool) if present is None else np.asarray(present, bool)
    if divisions is None:
        divisions = {1: 1, 2: 40, 3: 20, 4: 10}.get(k, 6)
    given = mask.copy()
    mask, info = _usable(x, p, mask)
    x = np.where(mask[..., None], x, 0.0)  # a left-out estimate's mean must not reach the sums as NaN
    # An object with no usable estimate keeps its first one as it is (like an object with one estimate):
    # fused here on a placeholder, replaced below.
    lost = given.any(axis=1) & ~mask.any(axis=1)
    first = np.argmax(given, axis=1)
    mask[lost, first[lost]] = True
    info[lost, first[lost]] = np.eye(p.shape[-1])
    info_vec = np.einsum("nkij,nkj->nki", info, x)
    grid = simplex_lattice(k, divisions)  # (G, K)
    # A lattice point is allowed only where it puts no weight on a missing estimate.
    allowed = ~np.any((grid[None, :, :] > 0) & ~mask[:, None, :], axis=-1)  # (N, G)
    fused_info = np.einsum("gk,nkij->ngij", grid, info)
    sign, logdet = np.linalg.slogdet(fused_info)
    score = np.where(allowed & (sign > 0), logdet, -np.inf)  # maximise det(P^-1) == minimise det(P)
    best = np.argmax(score, axis=1)
    weights = grid[best]
    fused = np.einsum("nk,nkij->nij", weights, info)
    # No lattice point with a positive-definite fused information (indefinite inputs): pass through.
    lost |= given.any(axis=1) & ~np.isfinite(np.max(score, axis=1))
    fused[lost] = np.eye(p.shape[-1])
    with np.errstate(all="ignore"):
        try:
            cov = np.linalg.inv(fused)
        except np.linalg.LinAlgError:
            cov = np.broadcast_to(np.eye(p.shape[-1]), fused.shape).copy()
            for i in range(len(fused)):
                try:
                    cov[i] = np.linalg.inv(fused[i])
                except np.linalg.LinAlgError:
                    lost[i] = given[i].any()
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    with np.errstate(all="ignore"):
        mean = np.einsum("nij,nj->ni", cov, np.einsum("nk,nki->ni", weights, info_vec))
    if lost.any():
        rows = np.flatnonzero(lost)
        keep = first[rows]
        orig_x, orig_p = np.asarray(means, float), np.asarray(covs, float)
        mean[rows], cov[rows] = orig_x[rows, keep], orig_p[rows, keep]
        weights[rows] = 0.0
        weights[rows, keep] = 1.0
    return mean, cov, weights


def _usable(x: NDArray, p: NDArray, present: NDArray) -> tuple[NDArray, NDArray]:
    """(mask of the estimates that are present, finite and invertible; their information matrices, zero
    elsewhere); counts and logs the present ones left out."""
    finite = np.all(np.isfinite(x), axis=-1) & np.all(np.isfinite(p), axis=(-2, -1))
    mask = present & finite
    info = np.zeros_like(p)
    with np.errstate(all="ignore"):
        try:
            info[mask] = np.linalg.inv(p[mask])
        except np.linalg.LinAlgError:
            for i, k in np.argwhere(mask).tolist():
                try:
                    info[i, k] = np.linalg.inv(p[i, k])
                except np.linalg.LinAlgError:
                    mask[i, k] = False
    mask &= np.all(np.isfinite(info), axis=(-2, -1))
    info[~mask] = 0.0
    not_finite = int(np.count_nonzero(present & ~finite))
    singular = int(np.count_nonzero(present & finite & ~mask))
    if not_finite or singular:
        SKIPPED["not_finite"] += not_finite
        SKIPPED["singular"] += singular
        log.warning("covariance intersection left out %d estimate(s) with non-finite values and %d with a "
                    "singular covariance", not_finite, singular)
    return mask, info
