"""The GOSPA metric (generalised optimal sub-pattern assignment, Rahmathullah et al. 2017).

For truth points X and estimates Y (ECEF positions, metres), cut-off c (m), order p and alpha = 2:

    GOSPA = ( min over assignments  sum d(x, y)^p  +  c^p / 2 * (missed + false) )^(1/p)

with d(x, y) = min(|x - y|, c); a pair at distance >= c is no better than one miss plus one false
track, so the assignment is solved on min(d, c)^p and such pairs are counted as miss + false.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist


@dataclass(frozen=True)
class Gospa:
    """One GOSPA evaluation: total distance (m), its localisation part (m^p summed), counts."""

    distance_m: float
    localisation_m: float
    missed: int
    false: int
    assigned: int
    assigned_rmse_m: float  # RMS distance of assigned pairs (nan when none)


def gospa(truth_pos_m: ArrayLike, est_pos_m: ArrayLike, c_m: float = 10_000.0, p: float = 1.0) -> Gospa:
    """GOSPA (alpha = 2) between truth (n, 3) and estimates (k, 3) positions, cut-off c_m, order p."""
    x = np.asarray(truth_pos_m, float).reshape(-1, 3)
    y = np.asarray(est_pos_m, float).reshape(-1, 3)
    if len(x) == 0 or len(y) == 0:
        n = len(x) + len(y)
        return Gospa((0.5 * c_m**p * n) ** (1.0 / p), 0.0, len(x), len(y), 0, float("nan"))
    d = cdist(x, y)
    rows, cols = linear_sum_assignment(np.minimum(d, c_m) ** p)
    dd = d[rows, cols]
    ok = dd < c_m
    loc = float(np.sum(dd[ok] ** p))
    n_ok = int(np.count_nonzero(ok))
    missed = len(x) - n_ok
    false = len(y) - n_ok
    total = (loc + 0.5 * c_m**p * (missed + false)) ** (1.0 / p)
    rmse = float(np.sqrt(np.mean(dd[ok] ** 2))) if n_ok else float("nan")
    return Gospa(float(total), loc, missed, false, n_ok, rmse)
