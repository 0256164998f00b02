"""Is the straight line between two points clear of the Earth? ECEF metres, vectorised. And which of the
objects a sensor sees share one resolution cell (one report for all of them)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.geo.wgs84 import A_M, B_M

# A chord through the ellipsoid shorter than this is a line grazing the observer's own site (a site a
# few metres below the ellipsoid, or rounding), not the Earth in the way: a line passing even 1 m below
# the surface cuts a chord of several kilometres.
GRAZE_CHORD_M = 100.0


def earth_blocks(from_ecef_m: ArrayLike, to_ecef_m: ArrayLike, margin_m: float = 0.0) -> NDArray[np.bool_]:
    """True where the segment from -> to passes through the WGS84 ellipsoid grown by margin_m.

    Inputs broadcast, shape (..., 3). Works for observers on the ground (radar) or in orbit (IR limb):
    scaling the axes turns the ellipsoid into the unit sphere, where the chord is a quadratic's roots.
    """
    scale = np.array([1.0 / (A_M + margin_m), 1.0 / (A_M + margin_m), 1.0 / (B_M + margin_m)])
    a = np.asarray(from_ecef_m, float)
    b = np.asarray(to_ecef_m, float)
    d_m = b - a
    p = a * scale
    d = d_m * scale
    qa = np.sum(d * d, axis=-1)
    qb = 2.0 * np.sum(p * d, axis=-1)
    qc = np.sum(p * p, axis=-1) - 1.0
    disc = qb * qb - 4.0 * qa * qc
    with np.errstate(invalid="ignore", divide="ignore"):
        root = np.sqrt(np.maximum(disc, 0.0))
        s1 = (-qb - root) / (2.0 * qa)
        s2 = (-qb + root) / (2.0 * qa)
    inside = np.clip(np.minimum(s2, 1.0) - np.maximum(s1, 0.0), 0.0, None)
    chord_m = inside * np.linalg.norm(d_m, axis=-1)
    return (disc > 0.0) & (chord_m > GRAZE_CHORD_M)


def hidden_in_shared_cells(n_rows: int, rows: NDArray[np.intp], keys: tuple[NDArray, ...]) -> NDArray[np.bool_]:
    """Mask (n_rows,) of the rows hidden by another in the same cell: `rows` are the candidate rows and keys[k]
    their k-th cell coordinate (the last key sorts first, e.g. the scan or frame time); of the rows sharing
    every key, the first in that order is kept."""
    hidden = np.zeros(n_rows, bool)
    if rows.size < 2:
        return hidden
    order = np.lexsort(keys)
    same = np.ones(rows.size - 1, bool)
    for k in keys:
        ks = k[order]
        same &= ks[1:] == ks[:-1]
    hidden[rows[order[1:][same]]] = True
    return hidden
