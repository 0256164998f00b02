"""Covariance intersection of K estimates of the same state whose cross-correlation is unknown.

Partner nations' tracks of one object are not independent (they share the object's manoeuvres, and a
nation may already have used a partner's data), so adding information matrices as if they were would
be over-confident. Covariance intersection, P^-1 = sum_k w_k P_k^-1 and x = P sum_k w_k P_k^-1 x_k with
w on the simplex, is consistent for any correlation. The weights minimise det(P), searched on a lattice
over the simplex for all fused objects at once.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray


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
    info = np.zeros_like(p)
    info[mask] = np.linalg.inv(p[mask])
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
    cov = np.linalg.inv(fused)
    cov = 0.5 * (cov + np.swapaxes(cov, -1, -2))
    mean = np.einsum("nij,nj->ni", cov, np.einsum("nk,nki->ni", weights, info_vec))
    return mean, cov, weights
