"""Area risks of a cut-off path's band: the chance that the path, laterally uncertain, crosses an area.

The band (triwarn.assess.corridor.cutoff_band) is sampled by lateral lines at fractions of its half-width.
The true ground track lies off the computed centre line by a lateral offset taken as Gaussian, its 1-sigma
the half-width over CUTOFF_BAND_SIGMAS (the half-width is a 2-sigma envelope: 2 sigma of the azimuth
error, the steering allowance and the base margin). An area's overflight probability is the Gaussian mass
of the offsets whose line passes over its land or territorial sea, by quadrature: each line carries the
mass of the offsets nearer to it than to its neighbours, the outermost lines the tails. Before (until
2026-12-08) every line of 5 counted alike, so an area only the band's edge touched (a 2-sigma event) had
0.2, above the shelter threshold 0.05 (docs/warnings.md has the false alerts this gave). Now the edge line
of 9 carries 0.04 (below 0.05) and an area must reach about 1.65 sigma in.
Degrees and metres in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from triwarn.assess import areas as area_risk
from triwarn.assess.areas import AreaHit, AreaModel

CUTOFF_BAND_SIGMAS = 2.0


def line_weights(lines: tuple[float, ...], sigmas: float = CUTOFF_BAND_SIGMAS) -> NDArray[np.float64]:
    """Probability of each lateral line (offsets in half-widths, increasing): the Gaussian mass of the
    offsets nearer to it than to the next lines, 1-sigma = 1 / sigmas half-widths; sums to 1."""
    u = np.asarray(lines, float)
    if u.ndim != 1 or u.size < 1 or np.any(np.diff(u) <= 0.0) or not sigmas > 0.0:
        raise ValueError(f"lines must increase and sigmas be positive (got {lines!r}, {sigmas!r})")
    edges = np.r_[-np.inf, 0.5 * (u[1:] + u[:-1]), np.inf] * sigmas
    return np.diff(ndtr(edges))


def band_risk(areas: AreaModel, b_lat: NDArray, b_lon: NDArray, t_unix_s: NDArray, valid: NDArray,
              lines: tuple[float, ...]) -> list[AreaHit]:
    """Overflight and impact hits of N bands: b_lat / b_lon (P, N, L) the L lateral lines (offsets
    `lines`) of each band's P ground points, t_unix_s / valid (P, N) their times and in-flight mask.
    Overflight: the weighted share of lines over an area's land or territorial sea, entry the earliest
    over those lines. Impact: the band's last row (the cut-off impact and its lateral margin), weighted
    the same way."""
    w = line_weights(lines)
    n = b_lat.shape[1]
    prob: dict[tuple[int, str], float] = {}
    enter: dict[tuple[int, str], float] = {}
    for j in range(len(lines)):
        for h in area_risk.overflight_risk(areas, b_lat[..., j:j + 1], b_lon[..., j:j + 1], t_unix_s[..., None],
                                           valid[..., None], mean_first=False):
            key = (h.row, h.area)
            prob[key] = prob.get(key, 0.0) + float(w[j])
            enter[key] = min(enter.get(key, np.inf), h.enter_time_unix_s)
    over = [AreaHit(r, a, "overflight", min(p, 1.0), 0.0, enter[(r, a)]) for (r, a), p in prob.items()]
    end = area_risk.impact_risk(areas, b_lat[-1], b_lon[-1], t_unix_s[-1], weights=np.broadcast_to(w, (n, w.size)))
    return over + end
