"""Track deletion: stale, lost, fallen and duplicate tracks.

All functions take arrays over the live tracks and return boolean masks of the ones to delete.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from triwarn.physics.dynamics import approx_alt_m


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


def delete_lost(t_now_s: float, last_hit_t_s: NDArray, x: NDArray, p: NDArray,
                settings: DeletionSettings) -> NDArray:
    """Tracks to delete at t_now_s: unseen too long, too uncertain, or below the ground.

    last_hit_t_s (N,), x (N, 9) ECEF states at their own times, p (N, 9, 9).
    """
    alt = approx_alt_m(x[:, 0:3])
    coast = np.where(alt < settings.low_alt_m, settings.max_coast_low_s, settings.max_coast_s)
    stale = (t_now_s - last_hit_t_s) > coast
    sigma = np.sqrt(np.trace(p[:, 0:3, 0:3], axis1=-2, axis2=-1))
    fallen = alt < settings.min_alt_m
    return stale | (sigma > settings.max_sigma_pos_m) | fallen


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
    d = x[i, 0:6] - x[j, 0:6]
    s = p[i, 0:6, 0:6] + p[j, 0:6, 0:6]
    d2 = np.einsum("ni,ni->n", d, np.linalg.solve(s, d[..., None])[..., 0])
    dup = d2 < settings.duplicate_d2
    i, j = i[dup], j[dup]
    loser = np.where(rank[i] >= rank[j], j, i)
    drop[loser] = True
    return drop
