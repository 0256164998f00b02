"""Impact point, time and 95% ellipse of many ballistic tracks, by the cubature rule through free flight.

For each track the 12 cubature points of its 6-D state Gaussian fly to the ellipsoid in one batch (with
the mean state, whose path gives the predicted ground track, and optional random draws from the state
Gaussian for area probabilities). The impact distribution is summarised in the local east/north plane at
the mean impact point: a 2x2 covariance, the ellipse holding 95% of it, and the impact time's mean and
spread. Inputs ECEF (m, m/s), times unix seconds; outputs degrees where named so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2

from triwarn.assess.flight import fly_to_ground
from triwarn.fusion.predictor import covariance_sqrt, cubature_points
from triwarn.geo.frames import ecef_to_enu, ecef_to_geodetic, enu_to_ecef

CONFIDENCE = 0.95
N_CUBATURE = 12
# RK4 step in vacuum: 60 s steps land within a metre of 5 s steps on IRBM arcs (bench in docs/warnings.md)
# at half the cost of 30 s; impact prediction is the heaviest part of a node's step.
STEP_VACUUM_S = 60.0


def ellipse_axes(cov_en_m2: ArrayLike, confidence: float = CONFIDENCE):
    """Semi-major, semi-minor axes (m) and orientation (deg clockwise from north of the major axis, in
    [0, 180)) of the ellipse holding `confidence` of 2-D Gaussians with east/north covariances (..., 2, 2).
    """
    c = np.asarray(cov_en_m2, float)
    w, v = np.linalg.eigh(0.5 * (c + np.swapaxes(c, -1, -2)))
    k = float(chi2.ppf(confidence, 2))
    semi_major = np.sqrt(k * np.clip(w[..., 1], 0.0, None))
    semi_minor = np.sqrt(k * np.clip(w[..., 0], 0.0, None))
    major = v[..., :, 1]  # (east, north)
    orientation = np.mod(np.degrees(np.arctan2(major[..., 0], major[..., 1])), 180.0)
    return semi_major, semi_minor, orientation


@dataclass
class ImpactBatch:
    """Predicted impacts of N tracks. Degrees, metres, unix seconds.

    landed (N,) is False where some cubature point does not reach the ground within the horizon (the
    other fields are then not meaningful). cov_en_m2 (N, 2, 2) is east/north at the mean impact point.
    sample_lat_deg / sample_lon_deg (N, M) are impacts of random draws from the state Gaussian (M may be
    0). trace_* hold ground tracks: index 0 of axis 1 is the mean state's path, then the draws' paths.
    """

    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    time_unix_s: NDArray[np.float64]
    time_sigma_s: NDArray[np.float64]
    cov_en_m2: NDArray[np.float64]
    semi_major_m: NDArray[np.float64]
    semi_minor_m: NDArray[np.float64]
    orientation_deg: NDArray[np.float64]
    landed: NDArray[np.bool_]
    sample_lat_deg: NDArray[np.float64]
    sample_lon_deg: NDArray[np.float64]
    trace_t_unix_s: NDArray[np.float64] | None = None  # (S, N, 1 + M)
    trace_pos_ecef_m: NDArray[np.float64] | None = None  # (S, N, 1 + M, 3)


def predict_impacts(
    t_unix_s: ArrayLike,
    pos_ecef_m: ArrayLike,
    vel_ecef_mps: ArrayLike,
    cov_ecef_m2: ArrayLike,
    n_draws: int = 0,
    rng: np.random.Generator | None = None,
    max_time_s: float = 4000.0,
    beta_kg_m2: float = np.inf,
    trace: bool = False,
) -> ImpactBatch:
    """Predict where and when N free-flying states (N, 3) + (N, 3) with covariances (N, 6, 6) land.

    n_draws random draws per track are flown too (for area probabilities); trace keeps the mean's and
    the draws' paths. beta_kg_m2 applies drag to every point (inf: vacuum, the default, because the
    ballistic coefficient of an unknown object is unknown; see docs/assessment.md).
    """
    t0 = np.asarray(t_unix_s, float).reshape(-1)
    pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
    vel = np.asarray(vel_ecef_mps, float).reshape(-1, 3)
    cov = np.asarray(cov_ecef_m2, float).reshape(-1, 6, 6)
    n = pos.shape[0]
    state = np.concatenate([pos, vel], axis=-1)
    pts = cubature_points(state, cov)  # (N, 12, 6)
    extra = [state[:, None, :]]
    if n_draws:
        rng = rng if rng is not None else np.random.default_rng()
        z = rng.standard_normal((n, n_draws, 6))
        extra.append(state[:, None, :] + np.einsum("nij,nmj->nmi", covariance_sqrt(cov), z))
    followers = np.concatenate(extra, axis=1)  # (N, 1 + M, 6)
    per = N_CUBATURE + followers.shape[1]
    allpts = np.concatenate([pts, followers], axis=1).reshape(-1, 6)
    record = None
    if trace:
        grid = np.arange(n)[:, None] * per + N_CUBATURE + np.arange(followers.shape[1])[None, :]
        record = grid.reshape(-1)
    hits = fly_to_ground(allpts[:, :3], allpts[:, 3:], max_time_s=max_time_s, beta_kg_m2=beta_kg_m2,
                         record=record, step_vacuum_s=STEP_VACUUM_S)
    p_hit = hits.pos_ecef_m.reshape(n, per, 3)
    tof = hits.tof_s.reshape(n, per)
    landed = hits.hit.reshape(n, per)

    cub = p_hit[:, :N_CUBATURE]
    centre_ecef = cub.mean(axis=1)
    lat, lon, _alt = ecef_to_geodetic(centre_ecef)
    en = ecef_to_enu(cub, lat[:, None], lon[:, None], 0.0)[..., :2]
    en = en - en.mean(axis=1, keepdims=True)
    cov_en = np.einsum("nki,nkj->nij", en, en) / N_CUBATURE
    semi_major, semi_minor, orientation = ellipse_axes(cov_en)
    tof_c = tof[:, :N_CUBATURE]
    s_lat, s_lon, _ = ecef_to_geodetic(p_hit[:, N_CUBATURE + 1:])
    out = ImpactBatch(
        lat_deg=np.degrees(lat), lon_deg=_wrap_deg(np.degrees(lon)), time_unix_s=t0 + tof_c.mean(axis=1),
        time_sigma_s=tof_c.std(axis=1), cov_en_m2=cov_en, semi_major_m=semi_major, semi_minor_m=semi_minor,
        orientation_deg=orientation, landed=np.all(landed[:, :N_CUBATURE], axis=1),
        sample_lat_deg=np.degrees(s_lat), sample_lon_deg=_wrap_deg(np.degrees(s_lon)),
    )
    if trace:
        m = followers.shape[1]
        out.trace_t_unix_s = hits.trace_t_s.reshape(-1, n, m) + t0[None, :, None]
        out.trace_pos_ecef_m = hits.trace_pos_ecef_m.reshape(-1, n, m, 3)
    return out


def enu_offsets_to_geodetic_deg(
    east_north_m: ArrayLike, lat0_deg: ArrayLike, lon0_deg: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points given as east/north offsets (N, M, 2) in the tangent planes at (lat0, lon0) (N,) in degrees,
    dropped onto the ellipsoid along their own vertical: latitudes and longitudes (N, M) in degrees."""
    en = np.asarray(east_north_m, float)
    lat0 = np.radians(np.asarray(lat0_deg, float))
    lon0 = np.radians(np.asarray(lon0_deg, float))
    enu = np.concatenate([en, np.zeros((*en.shape[:-1], 1))], axis=-1)
    p = enu_to_ecef(enu, lat0[:, None], lon0[:, None], 0.0)
    lat, lon, _ = ecef_to_geodetic(p)
    return np.degrees(lat), _wrap_deg(np.degrees(lon))


def _wrap_deg(lon_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.mod(lon_deg + 180.0, 360.0) - 180.0
