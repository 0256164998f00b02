"""Free flight of many states down to the WGS84 ellipsoid surface, in one vectorised loop.

Every state advances by RK4 steps of the J2 + rotating-frame (+ optional drag) model of
triwarn.physics.dynamics (its free-flight part is physics.equations.free_flight_accel, here on rows):
long steps in vacuum, short ones in the air when drag is on (30 s steps land within a few centimetres
of 1 s steps on a 1,300 s IRBM arc). States that pass height 0 are located on the cubic Hermite curve
through the step's end points (positions and velocities), then reached by one RK4 step and a last
correction along the vertical speed (below a metre), and leave the batch. ECEF metres and m/s; times in
seconds from the start state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.geo.frames import ecef_to_geodetic
from triwarn.geo.wgs84 import A_M, E2
from triwarn.physics.dynamics import RHO0_KG_M3, SCALE_HEIGHT_M, approx_alt_m
from triwarn.physics.equations import free_flight_accel

HIGH_ALT_M = 1500e3
STEP_VACUUM_S = 30.0
STEP_AIR_S = 2.0
AIR_TOP_M = 100e3


@dataclass
class GroundHits:
    """Where and when each state meets the ellipsoid (height 0).

    pos_ecef_m (K, 3), vel_ecef_mps (K, 3) at impact and tof_s (K,) seconds after the start; hit (K,) is
    False for a state still flying at max_time_s (its row holds the last state reached). If record was
    given, trace_t_s (S, R) and trace_pos_ecef_m (S, R, 3) hold the recorded states' path at every step
    (the last row repeats once a state has landed).
    """

    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    tof_s: NDArray[np.float64]
    hit: NDArray[np.bool_]
    trace_t_s: NDArray[np.float64] | None = None
    trace_pos_ecef_m: NDArray[np.float64] | None = None


def _hermite(p0, v0, p1, v1, h, s):
    s = s[:, None]
    h = h[:, None]
    s2, s3 = s * s, s * s * s
    pos = ((2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * h * v0 + (-2 * s3 + 3 * s2) * p1
           + (s3 - s2) * h * v1)
    vel = ((6 * s2 - 6 * s) * p0 + (3 * s2 - 4 * s + 1) * h * v0 + (-6 * s2 + 6 * s) * p1
           + (3 * s2 - 2 * s) * h * v1) / h
    return pos, vel


def _surface_crossing(p0, v0, alt0, p1, v1, alt1, h):
    """Fraction s in [0, 1] of the step where the Hermite path reaches height 0 (Illinois false position)."""
    lo, hi = np.zeros_like(h), np.ones_like(h)
    f_lo, f_hi = alt0.copy(), alt1.copy()
    s = lo
    for _ in range(4):
        s = np.clip(lo - f_lo * (hi - lo) / (f_hi - f_lo), 0.0, 1.0)
        f = approx_alt_m(_hermite(p0, v0, p1, v1, h, s)[0])
        above = f > 0
        # Illinois rule: halve the stale end's value so both ends keep moving.
        f_hi = np.where(above, f_hi * 0.5, f)
        hi = np.where(above, hi, s)
        f_lo = np.where(above, f, f_lo * 0.5)
        lo = np.where(above, s, lo)
    return s


def _alt_soa(x, y, z):
    """dynamics.approx_alt_m on component arrays (exact on the surface)."""
    r2 = x * x + y * y + z * z
    sin2 = z * z / r2
    return np.sqrt(r2) - A_M * np.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - sin2)))


def _accel_soa(w, inv_beta):
    """dynamics.ballistic_accel_ecef on a (6, K) state array [x, y, z, vx, vy, vz] -> (3, K).

    J2 gravity with the Coriolis and centrifugal terms is physics.equations.free_flight_accel on rows, plus
    exponential-atmosphere drag: one step of thousands of states costs a few dozen numpy calls; tests
    check that this agrees with dynamics.
    """
    x, y, z, vx, vy, vz = w
    out = np.empty((3, w.shape[1]))
    out[0], out[1], out[2] = free_flight_accel(x, y, z, vx, vy)
    if inv_beta:
        rho = RHO0_KG_M3 * np.exp(-np.maximum(_alt_soa(x, y, z), 0.0) / SCALE_HEIGHT_M)
        drag = -0.5 * inv_beta * rho * np.sqrt(vx * vx + vy * vy + vz * vz)
        out += drag * w[3:]
    return out


def _rk4_soa(w, h, inv_beta):
    """One RK4 step of (6, K) states by steps h (K,)."""
    k1 = _accel_soa(w, inv_beta)
    w2 = np.concatenate([w[:3] + 0.5 * h * w[3:], w[3:] + 0.5 * h * k1])
    k2 = _accel_soa(w2, inv_beta)
    w3 = np.concatenate([w[:3] + 0.5 * h * w2[3:], w[3:] + 0.5 * h * k2])
    k3 = _accel_soa(w3, inv_beta)
    w4 = np.concatenate([w[:3] + h * w3[3:], w[3:] + h * k3])
    k4 = _accel_soa(w4, inv_beta)
    return np.concatenate([w[:3] + h / 6.0 * (w[3:] + 2.0 * w2[3:] + 2.0 * w3[3:] + w4[3:]),
                           w[3:] + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)])


def fly_to_ground(
    pos_ecef_m: ArrayLike,
    vel_ecef_mps: ArrayLike,
    max_time_s: float = 4000.0,
    beta_kg_m2: float = np.inf,
    record: ArrayLike | None = None,
    step_vacuum_s: float = STEP_VACUUM_S,
    step_air_s: float = STEP_AIR_S,
) -> GroundHits:
    """Fly states (K, 3) + (K, 3) forward until each meets the ellipsoid or max_time_s passes.

    beta_kg_m2 is one ballistic coefficient for all states (inf: no drag); record is an index array of
    states whose paths to keep (for ground tracks). A state starting at or below height 0 lands at once.
    Above HIGH_ALT_M the vacuum step doubles (slow, gently curving flight near a lofted apogee).
    """
    pos = np.array(pos_ecef_m, float).reshape(-1, 3)
    vel = np.array(vel_ecef_mps, float).reshape(-1, 3)
    k = pos.shape[0]
    inv_beta = 0.0 if not np.isfinite(beta_kg_m2) else 1.0 / float(beta_kg_m2)
    t = np.zeros(k)
    out_w = np.concatenate([pos.T, vel.T])  # (6, K), final states
    hit = _alt_soa(*out_w[:3]) <= 0.0
    idx = np.flatnonzero(~hit)  # the working set, compacted as states finish
    w = out_w[:, idx]
    tw = np.zeros(idx.size)
    rec = None if record is None else np.asarray(record, np.intp)
    trace_t, trace_p = [], []
    if rec is not None:
        trace_t.append(t[rec].copy())
        trace_p.append(out_w[:3, rec].T.copy())
    while idx.size:
        alt0 = _alt_soa(*w[:3])
        if inv_beta:
            # Short steps in the air, and a vacuum step never dives more than 20 km into it: one long step
            # evaluated deep in the air is unstable for a light object.
            rn = np.sqrt(np.sum(w[:3] ** 2, axis=0))
            descent = -np.sum(w[:3] * w[3:], axis=0) / rn
            to_air = (alt0 - AIR_TOP_M + 20e3) / np.maximum(descent, 1e-3)
            h = np.where(alt0 > AIR_TOP_M, np.clip(to_air, step_air_s, step_vacuum_s), step_air_s)
        else:
            h = np.where(alt0 > HIGH_ALT_M, 2.0 * step_vacuum_s, step_vacuum_s)
        h = np.minimum(h, max_time_s - tw)
        w1 = _rk4_soa(w, h, inv_beta)
        alt1 = _alt_soa(*w1[:3])
        down = alt1 <= 0.0
        if np.any(down):
            p0, v0, p1, v1 = w[:3, down].T, w[3:, down].T, w1[:3, down].T, w1[3:, down].T
            s = _surface_crossing(p0, v0, alt0[down], p1, v1, alt1[down], h[down])
            # Integrate to the interpolated time, then close the last metres along the vertical speed.
            h_hit = s * h[down]
            w_hit = _rk4_soa(w[:, down], h_hit, inv_beta)
            r_hit = np.sqrt(np.sum(w_hit[:3] ** 2, axis=0))
            climb = np.sum(w_hit[:3] * w_hit[3:], axis=0) / r_hit
            dt_fix = np.clip(-_alt_soa(*w_hit[:3]) / np.minimum(climb, -1e-3), -h_hit, h[down] - h_hit)
            w1[:, down] = _rk4_soa(w_hit, dt_fix, inv_beta)
            h = h.copy()
            h[down] = h_hit + dt_fix
        tw = tw + h
        done = down | (tw >= max_time_s - 1e-9)
        if rec is not None or np.any(done):
            out_w[:, idx] = w1
            t[idx] = tw
        hit[idx[down]] = True
        keep = ~done
        idx, w, tw = idx[keep], w1[:, keep], tw[keep]
        if rec is not None:
            trace_t.append(t[rec].copy())
            trace_p.append(out_w[:3, rec].T.copy())
    out = GroundHits(out_w[:3].T.copy(), out_w[3:].T.copy(), t, hit)
    if rec is not None:
        out.trace_t_s = np.stack(trace_t)
        out.trace_pos_ecef_m = np.stack(trace_p)
    return out


def ground_tracks(trace_t, trace_pos, substeps: int):
    """Ground points (S', N, T) of recorded paths (S, N, T) with substeps linear points per step, and a
    mask of points in flight (a path's rows repeat once it has landed)."""
    s = trace_t.shape[0]
    if s < 2:
        lat, lon, _ = ecef_to_geodetic(trace_pos)
        return np.degrees(lat), np.degrees(lon), trace_t, np.ones(trace_t.shape, bool)
    f = (np.arange(substeps) / substeps)[None, :, None, None]
    t = trace_t[:-1, None] + f * (trace_t[1:, None] - trace_t[:-1, None])
    p = trace_pos[:-1, None] + f[..., None] * (trace_pos[1:, None] - trace_pos[:-1, None])
    moving = (trace_t[1:] > trace_t[:-1])[:, None]
    valid = np.broadcast_to(moving, t.shape)
    t = np.concatenate([t.reshape(-1, *trace_t.shape[1:]), trace_t[-1:]], axis=0)
    p = np.concatenate([p.reshape(-1, *trace_pos.shape[1:]), trace_pos[-1:]], axis=0)
    valid = np.concatenate([valid.reshape(-1, *trace_t.shape[1:]), np.ones((1, *trace_t.shape[1:]), bool)])
    lat, lon, _ = ecef_to_geodetic(p)
    return np.degrees(lat), np.mod(np.degrees(lon) + 180.0, 360.0) - 180.0, t, valid
