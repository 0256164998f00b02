"""Impact corridor of a boosting object: where it lands if the motor stops now or burns on.

While thrust lasts the impact point is not determined, only bounded: cutting off now gives the nearest
impact; more speed in the direction of flight carries it further along the azimuth. The corridor is
the impacts of the present state with extra speed dv in [0, dv_max] along the horizontal azimuth of
flight, at the present flight-path angle capped to 45 degrees (near the maximum-range angle, so a
steeply climbing missile's corridor still reaches as far as it could go), where dv_max brings the speed
to a class-wide cap (7.2 km/s by default: sub-orbital, the fastest ICBM burnout). A point far along it is
as possible as one near; the corridor says where the impact can be, not where it is likely.
ECEF metres and m/s in, degrees out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.assess.flight import fly_to_ground
from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_geodetic, enu_rotation

MAX_SPEED_MPS = 7200.0
MAX_CLIMB_RAD = np.radians(45.0)
N_NODES = 12
MIN_HALF_WIDTH_M = 20e3
HALF_WIDTH_FRACTION = 0.05  # of the corridor length: the azimuth can still be steered


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


def predict_corridors(
    t_unix_s: ArrayLike,
    pos_ecef_m: ArrayLike,
    vel_ecef_mps: ArrayLike,
    max_speed_mps: float = MAX_SPEED_MPS,
    n_nodes: int = N_NODES,
    max_time_s: float = 3000.0,
) -> CorridorBatch:
    """Corridor of N boosting states (N, 3) + (N, 3) at t_unix_s (N,)."""
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
    hits = fly_to_ground(p_nodes.reshape(-1, 3), v_nodes.reshape(-1, 3), max_time_s=max_time_s,
                         step_vacuum_s=60.0)  # within a metre of 5 s steps, at half the cost of 30 s
    h_lat, h_lon, _ = ecef_to_geodetic(hits.pos_ecef_m)
    node_lat = np.degrees(h_lat).reshape(n, n_nodes)
    node_lon = (np.mod(np.degrees(h_lon) + 180.0, 360.0) - 180.0).reshape(n, n_nodes)
    ok = hits.hit.reshape(n, n_nodes)
    # Length from cut-off-now to the furthest node that lands.
    last = np.where(ok, np.arange(n_nodes)[None, :], 0).max(axis=1)
    rows = np.arange(n)
    length, _ = geodesic.inverse(node_lat[:, 0], node_lon[:, 0], node_lat[rows, last], node_lon[rows, last])
    half_width = np.maximum(MIN_HALF_WIDTH_M, HALF_WIDTH_FRACTION * length)
    return CorridorBatch(
        node_lat_deg=node_lat, node_lon_deg=node_lon,
        node_time_unix_s=t0[:, None] + hits.tof_s.reshape(n, n_nodes), node_ok=ok,
        azimuth_deg=np.mod(np.degrees(az), 360.0), half_width_m=half_width, length_m=length,
    )


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
