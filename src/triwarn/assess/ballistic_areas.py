"""Area risks of ballistic tracks: the probability of impact per area as the integral of the predicted
impact Gaussian over the area, and the probability of overflight from the flown draws' ground tracks.

Why an integral and not random samples: with 200 random draws per cycle, the 5 % shelter threshold is 10
draws, and a track whose true probability is 2-3 % crosses it by chance in one cycle of the dozens it has
(each cycle draws anew): a shelter alert for a fall in the sea. The impact Gaussian (mean point and 2x2
east/north covariance from the cubature rule, assess.impact) is instead integrated with a fixed
quasi-Monte-Carlo rule (N_GAUSS_NODES scrambled Sobol points mapped to the standard normal, the same
every cycle): the estimate's error is about 1/N_GAUSS_NODES rather than 1.5 % at 5 %, and it changes
only when the prediction does.

Degrees, metres, unix seconds.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri
from scipy.stats import qmc

from triwarn.assess import areas as area_risk
from triwarn.assess.areas import AreaHit, AreaModel
from triwarn.assess.flight import ground_tracks
from triwarn.assess.impact import ImpactBatch, enu_offsets_to_geodetic_deg
from triwarn.assess.partner_impact import OwnImpact
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.records.events import Event, ImpactPrediction

N_GAUSS_NODES = 1024  # a power of two (Sobol); 5 % is then 51 nodes
OVERFLIGHT_MIN_ALT_M = 50e3  # below this a ballistic path is falling into an area, not flying over it
SETTLING_QUALITY = 0.3  # quality factor of a settling track's area risks (below trust, as a short track's)


@functools.cache
def gauss_nodes(n: int = N_GAUSS_NODES) -> NDArray[np.float64]:
    """n fixed points (n, 2) whose equal-weight average integrates functions over the 2-D standard normal:
    a scrambled Sobol sequence (seeded, so the same on every node and run) through the normal quantile."""
    u = qmc.Sobol(2, scramble=True, seed=20231).random(n)
    z = ndtri(np.clip(u, 1e-12, 1.0 - 1e-12))
    z.setflags(write=False)
    return z


def impact_hits(areas: AreaModel, imp: ImpactBatch, rows: NDArray[np.int_],
                n_nodes: int = N_GAUSS_NODES) -> list[AreaHit]:
    """Impact risk per (row of rows, area): the predicted impact Gaussian of imp's tracks `rows` integrated
    over each area's land plus territorial sea (probability) and its EEZ beyond (probability_eez).
    hit.row indexes rows."""
    if not rows.size:
        return []
    z = gauss_nodes(n_nodes)
    chol = np.linalg.cholesky(imp.cov_en_m2[rows] + 1e-6 * np.eye(2))
    en = np.einsum("nij,mj->nmi", chol, z)
    s_lat, s_lon = enu_offsets_to_geodetic_deg(en, imp.lat_deg[rows], imp.lon_deg[rows])
    return area_risk.impact_risk(areas, s_lat, s_lon, imp.time_unix_s[rows])


def overflight_hits(areas: AreaModel, imp: ImpactBatch, rows: NDArray[np.int_], substeps: int,
                    min_alt_m: float = OVERFLIGHT_MIN_ALT_M) -> list[AreaHit]:
    """Overflight risk per (row of rows, area) from the flown paths of imp's tracks `rows` (the mean's and
    the draws', kept with trace=True), counting only the points at least min_alt_m high: the fall into an
    area (the last tens of km of the descent and the landing point) is the impact's, whose probability is
    the Gaussian's integral (impact_hits). With 8 draws, a single draw landing across a coast made an
    "overflight" of 1/8 = 12 %, and on lofted shots whose draws spread wider than the cubature ellipse,
    4-6 of 8 (50-75 %) for falls 4-15 km outside the territorial sea (bench/bench_mc_false.py).
    hit.row indexes rows."""
    if not rows.size:
        return []
    tr_t, tr_p = imp.trace_t_unix_s[:, rows], imp.trace_pos_ecef_m[:, rows]
    lat, lon, tt, valid = ground_tracks(tr_t, tr_p, substeps)
    valid = valid & (_trace_alt(tr_t, tr_p, substeps) >= min_alt_m)
    return area_risk.overflight_risk(areas, lat, lon, tt, valid)


def _trace_alt(trace_t, trace_pos, substeps: int) -> NDArray[np.float64]:
    """Heights (m) at the points of assess.flight.ground_tracks(trace_t, trace_pos, substeps), linear between
    the recorded points as the ground points are."""
    _lat, _lon, alt = ecef_to_geodetic(trace_pos)
    if trace_t.shape[0] < 2:
        return alt
    f = (np.arange(substeps) / substeps)[None, :, None, None]
    a = alt[:-1, None] + f * (alt[1:, None] - alt[:-1, None])
    return np.concatenate([a.reshape(-1, *alt.shape[1:]), alt[-1:]], axis=0)


def impact_events(t, sub, imp: ImpactBatch, tids, roles, ids, quality, flags, nations, extra) -> list[Event]:
    """ImpactPrediction events of the tracks sub (indices into the step's rows) from their flight imp,
    for those that landed within the horizon."""
    return [ImpactPrediction(
        t=t, track=tids[i], launch_id=ids[i], lat_deg=float(imp.lat_deg[j]),
        lon_deg=float(imp.lon_deg[j]), time_unix_s=float(imp.time_unix_s[j]),
        time_sigma_s=float(imp.time_sigma_s[j]), semi_major_m=float(imp.semi_major_m[j]),
        semi_minor_m=float(imp.semi_minor_m[j]), orientation_deg=float(imp.orientation_deg[j]),
        powered=False, object=roles[i], quality=float(quality[i]), flags=[*flags[i], *extra],
        nations=nations[i]) for j, i in enumerate(sub) if imp.landed[j]]


def settling(t: float, since: list[float | None], track_ids: list[str], settle_s: float,
             support: dict[str, set[str]]) -> NDArray[np.bool_]:
    """Which tracks' ballistic area risks are not yet to be trusted: ballistic after a boost since less
    than settle_s (since: when each turned ballistic, None if not after a boost), with no partner's impact
    report agreeing with its prediction (support: track -> partners, assess.partner_impact).

    Why (bench/bench_mc_false.py, 2026-12-07): of the 21 flights of bench_mc's family that end at sea and
    raised a false shelter alert, the ballistic prediction raised it on 14, every one 4-13 s after thrust
    end: the fused track, or the node's own contribution to it (the own-view floor), had just turned
    ballistic with the motor's tail and the filter's mode switch still in its state, and its draws flew
    over or fell on a coast 5-170 km from the true fall."""
    return np.array([s is not None and t - s < settle_s and not support.get(tid)
                     for s, tid in zip(since, track_ids, strict=True)], dtype=bool)


def own_impacts(sub, imp: ImpactBatch, tids) -> list[OwnImpact]:
    """The predictions of the tracks sub (indices into the step's rows) that landed, for the partner check."""
    return [OwnImpact(tids[i], float(imp.lat_deg[j]), float(imp.lon_deg[j]), float(imp.semi_major_m[j]),
                      float(imp.time_unix_s[j]), float(imp.time_sigma_s[j]))
            for j, i in enumerate(sub) if imp.landed[j]]
