"""Impact corridor of a boosting object: where it lands if the motor stops now or burns on.

While thrust lasts the impact point is not determined, only bounded: cutting off now gives the nearest
impact; more speed in the direction of flight carries it further along the azimuth. The corridor is
the impacts of the present state with extra speed dv in [0, dv_max] along the horizontal azimuth of
flight, at the present flight-path angle capped to 45 degrees (near the maximum-range angle, so a
steeply climbing missile's corridor still reaches as far as it could go), where dv_max brings the speed
to a class-wide cap (7.2 km/s by default: sub-orbital, the fastest ICBM burnout). A point far along it is
as possible as one near; the corridor says where the impact can be, not where it is likely.

The *cut-off path* is the part of that which is certain: the ground track from the object's present
position to the cut-off-now impact (node 0). More thrust only carries the impact further along the
azimuth, so whatever the motor does next the object flies over this stretch - provided it keeps its
heading (assumption: a ballistic missile in boost does not turn back or swing far off its azimuth; guidance
trims a few degrees). Two margins keep it on the safe side of the track's errors:
- along: the path is flown from the state with its speed less CUTOFF_TRIM_SIGMA (2) standard deviations
  of the velocity along its direction, so a track that overestimates the speed (near burnout one 50 m/s
  moves an IRBM's cut-off point ~100 km) does not carry the path past where the object really is bound
  to fly; a lagging boost track underestimates the speed, which only shortens the path;
- lateral: `cutoff_band` widens the path for that steering and for the track's own azimuth error,
  half-width clip(CUTOFF_MARGIN_MIN_M + s * tan(CUTOFF_STEER_DEG + 2 sigma_az), CUTOFF_MARGIN_MIN_M,
  CUTOFF_MARGIN_MAX_M) at distance s along the path: a 2-sigma envelope of where the path lies, whose
  lines are weighted by a lateral Gaussian (triwarn.assess.cutoff_areas).
ECEF metres and m/s in, degrees out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.assess.flight import fly_to_ground
from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_geodetic, enu_rotation
from triwarn.geo.wgs84 import A_M, E2

MAX_SPEED_MPS = 7200.0
MAX_CLIMB_RAD = np.radians(45.0)
N_NODES = 12
MIN_HALF_WIDTH_M = 20e3
HALF_WIDTH_FRACTION = 0.05  # of the corridor length: the azimuth can still be steered
# Cut-off path band: half-width at the present position, growth per metre along the path, and cap.
CUTOFF_MARGIN_MIN_M = 20e3
CUTOFF_STEER_DEG = 1.0
CUTOFF_MARGIN_MAX_M = 50e3
CUTOFF_TRIM_SIGMA = 2.0
# Lateral lines of the band, as fractions of its half-width (the centre line is the mean state's path);
# each carries a Gaussian weight (triwarn.assess.cutoff_areas): 9 lines, so the edge's alone is below 0.05.
CUTOFF_LINES = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass
class CorridorBatch:
    """Corridors of N boosting tracks.

    node_lat_deg / node_lon_deg (N, K): impact points for growing extra speed (index 0: cut-off now);
    node_ok (N, K) False where that flight does not come down within the horizon; node_time_unix_s (N, K)
    impact times. azimuth_deg (N,): direction of flight over the ground now; half_width_m (N,).
    """

    node_lat_deg: NDArray[np.float64]
    node_lon_deg: NDArray[np.float64]
    node_time_unix_s: NDArray[np.float64]
    node_ok: NDArray[np.bool_]
    azimuth_deg: NDArray[np.float64]
    half_width_m: NDArray[np.float64]
    length_m: NDArray[np.float64]
    # With trace_cutoff: the cut-off path's flight (cut-off now, speed trimmed, see module doc) of each
    # track: (S, N) times and (S, N, 3) ECEF positions at every integration step (the last row repeats
    # once it has landed); cutoff_ok (N,) False where it does not come down within the horizon.
    cutoff_trace_t_unix_s: NDArray[np.float64] | None = None
    cutoff_trace_pos_ecef_m: NDArray[np.float64] | None = None
    cutoff_ok: NDArray[np.bool_] | None = None
    azimuth_sigma_rad: NDArray[np.float64] | None = None  # (N,) 1-sigma of the azimuth, with vel_cov


def predict_corridors(
    t_unix_s: ArrayLike,
    pos_ecef_m: ArrayLike,
    vel_ecef_mps: ArrayLike,
    max_speed_mps: float = MAX_SPEED_MPS,
    n_nodes: int = N_NODES,
    max_time_s: float = 3000.0,
    trace_cutoff: bool = False,
    vel_cov_ecef_m2_s2: ArrayLike | None = None,
    azimuth_sigma_rad: ArrayLike | None = None,
) -> CorridorBatch:
    """Corridor of N boosting states (N, 3) + (N, 3) at t_unix_s (N,).

    trace_cutoff also flies and keeps the cut-off path of each state (see the module doc);
    vel_cov_ecef_m2_s2 (N, 3, 3), the velocity covariance, gives the speed trim of that path and the
    1-sigma error of the azimuth of flight (no trim and 0 without it); azimuth_sigma_rad (N,), when given,
    is that 1-sigma instead (a course refined by triwarn.assess.course).
    """
    t0 = np.asarray(t_unix_s, float).reshape(-1)
    pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
    vel = np.asarray(vel_ecef_mps, float).reshape(-1, 3)
    n = pos.shape[0]
    lat, lon, _alt = ecef_to_geodetic(pos)
    rot = enu_rotation(lat, lon)  # (N, 3, 3)
    v_enu = np.einsum("nij,nj->ni", rot, vel)
    az = np.arctan2(v_enu[:, 0], v_enu[:, 1])
    climb = np.minimum(np.arctan2(v_enu[:, 2], np.hypot(v_enu[:, 0], v_enu[:, 1])), MAX_CLIMB_RAD)
    push_enu = np.stack([np.cos(climb) * np.sin(az), np.cos(climb) * np.cos(az), np.sin(climb)], axis=-1)
    push = np.einsum("nji,nj->ni", rot, push_enu)  # unit vector, ECEF
    dv_max = np.maximum(max_speed_mps - np.linalg.norm(vel, axis=-1), 0.0)
    frac = np.linspace(0.0, 1.0, n_nodes)
    dv = dv_max[:, None] * frac[None, :]  # (N, K)
    v_nodes = vel[:, None, :] + dv[..., None] * push[:, None, :]
    p_nodes = np.broadcast_to(pos[:, None, :], v_nodes.shape)
    speed = np.maximum(np.linalg.norm(vel, axis=-1), 1e-9)
    unit_v = vel / speed[:, None]
    vel_cov = None if vel_cov_ecef_m2_s2 is None else np.asarray(vel_cov_ecef_m2_s2, float).reshape(n, 3, 3)
    p_fly, v_fly, record = p_nodes.reshape(-1, 3), v_nodes.reshape(-1, 3), None
    if trace_cutoff:
        sigma_along = np.zeros(n) if vel_cov is None else np.sqrt(np.clip(
            np.einsum("ni,nij,nj->n", unit_v, vel_cov, unit_v), 0.0, None))
        v_cut = vel * (np.maximum(speed - CUTOFF_TRIM_SIGMA * sigma_along, 0.0) / speed)[:, None]
        p_fly, v_fly = np.concatenate([p_fly, pos]), np.concatenate([v_fly, v_cut])
        record = n * n_nodes + np.arange(n)
    hits = fly_to_ground(p_fly, v_fly, max_time_s=max_time_s, record=record,
                         step_vacuum_s=60.0)  # within a metre of 5 s steps, at half the cost of 30 s
    k_nodes = n * n_nodes
    h_lat, h_lon, _ = ecef_to_geodetic(hits.pos_ecef_m[:k_nodes])
    node_lat = np.degrees(h_lat).reshape(n, n_nodes)
    node_lon = (np.mod(np.degrees(h_lon) + 180.0, 360.0) - 180.0).reshape(n, n_nodes)
    ok = hits.hit[:k_nodes].reshape(n, n_nodes)
    # Length from cut-off-now to the furthest node that lands.
    last = np.where(ok, np.arange(n_nodes)[None, :], 0).max(axis=1)
    rows = np.arange(n)
    length, _ = geodesic.inverse(node_lat[:, 0], node_lon[:, 0], node_lat[rows, last], node_lon[rows, last])
    half_width = np.maximum(MIN_HALF_WIDTH_M, HALF_WIDTH_FRACTION * length)
    out = CorridorBatch(
        node_lat_deg=node_lat, node_lon_deg=node_lon,
        node_time_unix_s=t0[:, None] + hits.tof_s[:k_nodes].reshape(n, n_nodes), node_ok=ok,
        azimuth_deg=np.mod(np.degrees(az), 360.0), half_width_m=half_width, length_m=length,
    )
    if trace_cutoff:
        out.cutoff_trace_t_unix_s = hits.trace_t_s + t0[None, :]
        out.cutoff_trace_pos_ecef_m = hits.trace_pos_ecef_m
        out.cutoff_ok = hits.hit[k_nodes:]
    if vel_cov is not None:
        # Cross-track horizontal unit vector (ENU), then the velocity variance along it, ECEF.
        cross_enu = np.stack([np.cos(az), -np.sin(az), np.zeros(n)], axis=-1)
        cross = np.einsum("nji,nj->ni", rot, cross_enu)
        var = np.einsum("ni,nij,nj->n", cross, vel_cov, cross)
        v_h = np.maximum(np.hypot(v_enu[:, 0], v_enu[:, 1]), 1.0)
        out.azimuth_sigma_rad = np.arctan2(np.sqrt(np.clip(var, 0.0, None)), v_h)
    if azimuth_sigma_rad is not None:
        out.azimuth_sigma_rad = np.asarray(azimuth_sigma_rad, float).reshape(n)
    return out


def cutoff_band(
    lat_deg: NDArray, lon_deg: NDArray, valid: NDArray, azimuth_sigma_rad: ArrayLike | None = None,
    lines: tuple[float, ...] = CUTOFF_LINES,
) -> tuple[NDArray, NDArray, NDArray]:
    """Lateral lines of the cut-off path's band.

    lat_deg / lon_deg (P, N): ground points of N paths in order from the present position, valid (P, N)
    marks points in flight (the first point must be valid). azimuth_sigma_rad (N,): the track's azimuth
    1-sigma (0 if not given). Returns lat, lon (P, N, L) of the L lines (offsets `lines` times the
    half-width, positive to the right of the course) and the half-width (P, N) in metres.
    """
    lat = np.asarray(lat_deg, float)
    lon = np.asarray(lon_deg, float)
    p, n = lat.shape
    sig = np.zeros(n) if azimuth_sigma_rad is None else np.asarray(azimuth_sigma_rad, float).reshape(n)
    if p < 2:
        az = np.zeros((p, n))
        along = np.zeros((p, n))
    else:
        seg_m, seg_az = geodesic.inverse(lat[:-1], lon[:-1], lat[1:], lon[1:])
        moving = (seg_m > 1.0) & valid[1:]
        # A point's course is that of the segment leaving it, else the last one that moved.
        k = np.where(moving, np.arange(p - 1)[:, None], 0)
        k = np.maximum.accumulate(k, axis=0)
        seg_az = np.take_along_axis(seg_az, k, axis=0)
        az = np.concatenate([seg_az, seg_az[-1:]], axis=0)
        along = np.concatenate([np.zeros((1, n)), np.cumsum(np.where(moving, seg_m, 0.0), axis=0)], axis=0)
    slope = np.tan(np.radians(CUTOFF_STEER_DEG) + 2.0 * np.minimum(sig, np.radians(20.0)))
    half = np.clip(CUTOFF_MARGIN_MIN_M + along * slope[None, :], CUTOFF_MARGIN_MIN_M, CUTOFF_MARGIN_MAX_M)
    # Offsets of at most CUTOFF_MARGIN_MAX_M square to the course, in numpy: the surface normal turns by
    # distance / (radius of curvature of the ellipsoid in that direction), and the normal's direction is
    # the geodetic latitude and longitude (metres off the geodesic at 50 km).
    phi, lam, brg = np.radians(lat), np.radians(lon), np.radians(az + 90.0)
    w2 = 1.0 - E2 * np.sin(phi) ** 2
    r_dir = 1.0 / (np.cos(brg) ** 2 * w2**1.5 / (A_M * (1.0 - E2)) + np.sin(brg) ** 2 * np.sqrt(w2) / A_M)
    up = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)
    east = np.stack([-np.sin(lam), np.cos(lam), np.zeros_like(lam)], axis=-1)
    north = np.stack([-np.sin(phi) * np.cos(lam), -np.sin(phi) * np.sin(lam), np.cos(phi)], axis=-1)
    right = np.sin(brg)[..., None] * east + np.cos(brg)[..., None] * north
    ang = (half[..., None] * np.asarray(lines, float)[None, None, :] / r_dir[..., None])[..., None]
    v = np.cos(ang) * up[..., None, :] + np.sin(ang) * right[..., None, :]
    b_lat = np.degrees(np.arcsin(np.clip(v[..., 2], -1.0, 1.0)))
    b_lon = np.degrees(np.arctan2(v[..., 1], v[..., 0]))
    return b_lat, b_lon, half


def densify(lat_deg: NDArray, lon_deg: NDArray, ok: NDArray, per_segment: int = 8):
    """Points along the geodesics joining consecutive landing nodes of each corridor (N, K) -> (N, P),
    P = (K - 1) * per_segment + 1, and a validity mask (N, P) (False past the last landing node)."""
    n = lat_deg.shape[0]
    la0, lo0, la1, lo1 = lat_deg[:, :-1], lon_deg[:, :-1], lat_deg[:, 1:], lon_deg[:, 1:]
    dist, az = geodesic.inverse(la0, lo0, la1, lo1)
    f = np.arange(per_segment) / per_segment
    lat, lon = geodesic.direct(la0[..., None], lo0[..., None], az[..., None], dist[..., None] * f)
    seg_ok = ok[:, :-1] & ok[:, 1:]
    lat = np.concatenate([lat.reshape(n, -1), lat_deg[:, -1:]], axis=1)
    lon = np.concatenate([lon.reshape(n, -1), lon_deg[:, -1:]], axis=1)
    valid = np.concatenate([np.repeat(seg_ok, per_segment, axis=1), ok[:, -1:]], axis=1)
    valid[:, 0] = ok[:, 0]
    return lat, lon, valid
