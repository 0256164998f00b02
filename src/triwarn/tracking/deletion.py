"""Track deletion: stale, lost, fallen and duplicate tracks.

All functions take arrays over the live tracks and return boolean masks of the ones to delete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from triwarn.geo.wgs84 import A_M, E2


@dataclass(frozen=True)
class DeletionSettings:
    """Limits (SI units): coast time without a hit, position spread, height below which it has fallen."""

    max_coast_s: float = 20.0
    # In the lower atmosphere drag that no detection measures makes a coasting track drift fast.
    max_coast_low_s: float = 5.0
    low_alt_m: float = 30_000.0
    max_sigma_pos_m: float = 20_000.0
    min_alt_m: float = 0.0
    duplicate_d2: float = 16.0  # chi-square(6) distance between two tracks' states: the same object


@njit(cache=True, nogil=True, error_model="numpy")
def _lost(t_now_s, idx, last_hit_t_s, x, p, max_coast_s, max_coast_low_s, low_alt_m, max_sigma_pos_m, min_alt_m):
    out = np.empty(idx.size, np.bool_)
    for k in range(idx.size):
        n = idx[k]
        rn = math.sqrt(x[n, 0] ** 2 + x[n, 1] ** 2 + x[n, 2] ** 2)
        sin2 = (x[n, 2] / rn) ** 2
        # height above the ellipsoid, the closed form of physics.dynamics.approx_alt_m (< 30 m error)
        alt = rn - A_M * math.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - sin2)))
        coast = max_coast_low_s if alt < low_alt_m else max_coast_s
        sigma = math.sqrt(p[n, 0, 0] + p[n, 1, 1] + p[n, 2, 2])
        # written so that a NaN anywhere counts as lost
        out[k] = not ((t_now_s - last_hit_t_s[n]) <= coast and sigma <= max_sigma_pos_m and alt >= min_alt_m)
    return out


def delete_lost(t_now_s: float, last_hit_t_s: NDArray, x: NDArray, p: NDArray,
                settings: DeletionSettings, idx: NDArray | None = None) -> NDArray:
    """Tracks to delete at t_now_s: unseen too long, too uncertain, or below the ground (or not finite).

    last_hit_t_s (N,), x (N, 9) ECEF states at their own times, p (N, 9, 9) or its position block (N, 3, 3).
    idx: test only these rows (the mask then has idx's length); default all. Compiled: it runs every frame.
    """
    rows = np.arange(len(x)) if idx is None else np.asarray(idx, np.intp)
    return _lost(float(t_now_s), rows, np.asarray(last_hit_t_s, float), np.asarray(x, float), np.asarray(p, float),
                 settings.max_coast_s, settings.max_coast_low_s, settings.low_alt_m, settings.max_sigma_pos_m,
                 settings.min_alt_m)


def delete_duplicates(x: NDArray, p: NDArray, rank: NDArray, settings: DeletionSettings) -> NDArray:
    """Of two tracks whose position-velocity states agree within duplicate_d2, delete the lower-ranked.

    x (N, 9), p (N, 9, 9) at one common time; rank (N,) higher keeps (e.g. confirmed, then hits).
    """
    n = len(x)
    drop = np.zeros(n, bool)
    if n < 2:
        return drop
    sigma = np.sqrt(np.trace(p[:, 0:3, 0:3], axis1=-2, axis2=-1))
    radius = 2.0 * np.sqrt(settings.duplicate_d2) * float(np.max(sigma))
    pairs = cKDTree(x[:, 0:3]).query_pairs(radius, output_type="ndarray")
    if len(pairs) == 0:
        return drop
    i, j = pairs[:, 0], pairs[:, 1]
    # The position part of the distance is at most the whole, and at least |d|^2 / trace(S_pos): pairs
    # failing that bound cannot be duplicates, so only the rest need the 6x6 solve.
    dp = x[i, 0:3] - x[j, 0:3]
    near = np.einsum("ni,ni->n", dp, dp) <= settings.duplicate_d2 * (sigma[i] ** 2 + sigma[j] ** 2)
    i, j = i[near], j[near]
    if i.size == 0:
        return drop
    d = x[i, 0:6] - x[j, 0:6]
    s = p[i, 0:6, 0:6] + p[j, 0:6, 0:6]
    d2 = np.einsum("ni,ni->n", d, np.linalg.solve(s, d[..., None])[..., 0])
    dup = d2 < settings.duplicate_d2
    i, j = i[dup], j[dup]
    loser = np.where(rank[i] >= rank[j], j, i)
    drop[loser] = True
    return drop
