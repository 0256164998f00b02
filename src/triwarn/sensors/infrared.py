"""Space-based infrared model: a GEO or HEO platform that sees boost plumes and reports lines of sight.

Positions ECEF (m), times unix seconds. A report is the platform position at the observation time, the
unit line-of-sight vector towards the plume (ECEF) with angular noise sigma_los_urad on each of two
perpendicular axes, and the time the report reaches its node (t + latency_s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triwarn.geo.frames import ecef_to_geodetic
from triwarn.geo.wgs84 import A_M, GM_M3_S2, J2, OMEGA_RAD_S
from triwarn.sensors.definitions import GEO_RADIUS_M, IrSensor
from triwarn.sensors.visibility import earth_blocks, hidden_in_shared_cells


def frame_times(sensor: IrSensor, t_start_unix_s: float, t_end_unix_s: float) -> NDArray[np.float64]:
    """The sensor's frame times in [t_start, t_end]: t = frame_phase_s + k * frame_s (unix s)."""
    k0 = math.ceil((t_start_unix_s - sensor.frame_phase_s) / sensor.frame_s)
    k1 = math.floor((t_end_unix_s - sensor.frame_phase_s) / sensor.frame_s)
    return sensor.frame_phase_s + np.arange(k0, k1 + 1, dtype=float) * sensor.frame_s


def _kepler_eccentric_anomaly(mean_anomaly_rad: NDArray, ecc: float) -> NDArray:
    e_anom = np.where(ecc > 0.8, np.pi, mean_anomaly_rad)
    for _ in range(30):  # Newton from π converges for any e < 1 in well under 30 steps
        f = e_anom - ecc * np.sin(e_anom) - mean_anomaly_rad
        e_anom = e_anom - f / (1.0 - ecc * np.cos(e_anom))
    return e_anom


def platform_ecef_m(sensor: IrSensor, t_unix_s: NDArray) -> NDArray[np.float64]:
    """The platform's ECEF position (m) at each time, shape (n, 3).

    GEO: fixed above (0°, sub_lon_deg) at the geostationary radius. HEO: two-body Kepler orbit with the
    secular J2 drift of node and perigee, elements given in the inertial frame that coincides with ECEF
    at epoch_unix_s.
    """
    t = np.atleast_1d(np.asarray(t_unix_s, float))
    if sensor.platform == "geo":
        lon = math.radians(sensor.sub_lon_deg or 0.0)
        pos = np.array([GEO_RADIUS_M * math.cos(lon), GEO_RADIUS_M * math.sin(lon), 0.0])
        return np.broadcast_to(pos, (t.size, 3)).copy()
    a = sensor.sma_km * 1e3
    ecc = float(sensor.ecc)
    inc = math.radians(sensor.incl_deg)
    n = math.sqrt(GM_M3_S2 / a**3)
    p = a * (1.0 - ecc * ecc)
    k = 1.5 * n * J2 * (A_M / p) ** 2
    dt = t - sensor.epoch_unix_s
    raan = math.radians(sensor.raan_deg) - k * math.cos(inc) * dt
    argp = math.radians(sensor.argp_deg) + 0.5 * k * (5.0 * math.cos(inc) ** 2 - 1.0) * dt
    m_anom = np.mod(math.radians(sensor.mean_anomaly_deg) + n * dt, 2.0 * np.pi)
    e_anom = _kepler_eccentric_anomaly(m_anom, ecc)
    x_pf = a * (np.cos(e_anom) - ecc)
    y_pf = a * math.sqrt(1.0 - ecc * ecc) * np.sin(e_anom)
    cw, sw = np.cos(argp), np.sin(argp)
    co, so = np.cos(raan), np.sin(raan)
    ci, si = math.cos(inc), math.sin(inc)
    # Perifocal -> inertial: Rz(raan) Rx(inc) Rz(argp).
    x_orb = x_pf * cw - y_pf * sw
    y_orb = x_pf * sw + y_pf * cw
    x_i = co * x_orb - so * ci * y_orb
    y_i = so * x_orb + co * ci * y_orb
    z_i = si * y_orb
    theta = OMEGA_RAD_S * dt  # Earth rotation since the epoch, when the two frames coincided
    ct, st = np.cos(theta), np.sin(theta)
    return np.stack([ct * x_i + st * y_i, -st * x_i + ct * y_i, z_i], axis=-1)


@dataclass
class IrOutput:
    """One IR sensor's reports, sorted by observation time. object_idx is for tests, never written."""

    t_unix_s: NDArray[np.float64]
    platform_ecef_m: NDArray[np.float64]
    los_ecef: NDArray[np.float64]
    t_available_unix_s: NDArray[np.float64]
    object_idx: NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.t_unix_s)


def perturb_los(los_ecef: NDArray, sigma_rad: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Unit vectors turned by Gaussian angles (sigma_rad) about two axes perpendicular to each."""
    u = np.asarray(los_ecef, float).reshape(-1, 3)
    helper = np.where(np.abs(u[:, 2:3]) < 0.9, np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    e2 = np.cross(u, e1)
    a = sigma_rad * rng.standard_normal((2, len(u)))
    # Exact rotation by angle |a| towards the direction a1 e1 + a2 e2.
    ang = np.hypot(a[0], a[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        d = (a[0][:, None] * e1 + a[1][:, None] * e2) / ang[:, None]
    d = np.where(ang[:, None] > 0, d, 0.0)
    return np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * d


def unresolved(sensor: IrSensor, t: NDArray, plat: NDArray, pos: NDArray, candidates: NDArray) -> NDArray:
    """Rows whose plume shares a pixel (resolution_urad of line of sight) with another's in the same frame.

    A missile's burning stage and the stages and warhead it carries are one plume: one report. The first
    row of each (frame, pixel) is kept; the pixel grid is in line-of-sight direction cosines.
    """
    rows = np.flatnonzero(candidates)
    if sensor.resolution_urad <= 0.0 or rows.size < 2:
        return np.zeros(len(candidates), bool)
    los = pos[rows] - plat[rows]
    cells = np.floor(los / np.linalg.norm(los, axis=-1, keepdims=True) / (sensor.resolution_urad * 1e-6))
    return hidden_in_shared_cells(len(candidates), rows, (cells[:, 0], cells[:, 1], cells[:, 2], t[rows]))


def observe(
    sensor: IrSensor,
    t_unix_s: NDArray,
    pos_ecef_m: NDArray,
    boost: NDArray,
    object_idx: NDArray,
    rng: np.random.Generator,
) -> IrOutput:
    """Reports for targets given at the sensor's frame times (one row per target per frame, any order).

    Seen: burning (boost) unless boost_only is false, above min_alt_m, not behind the Earth from the
    platform and not in the same pixel as another plume; then detected with probability p_detect.
    """
    t = np.asarray(t_unix_s, float)
    pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
    ok = np.asarray(boost, bool).copy() if sensor.boost_only else np.ones(len(t), bool)
    if sensor.min_alt_m > -500.0 and ok.any():
        _, _, alt = ecef_to_geodetic(pos[ok])
        ok[ok] = alt >= sensor.min_alt_m
    plat = platform_ecef_m(sensor, t) if len(t) else np.zeros((0, 3))
    if ok.any():
        ok[ok] = ~earth_blocks(plat[ok], pos[ok])
    ok &= ~unresolved(sensor, t, plat, pos, ok)
    ok &= rng.random(len(t)) < sensor.p_detect
    los = pos[ok] - plat[ok]
    los /= np.linalg.norm(los, axis=-1, keepdims=True)
    noisy = perturb_los(los, sensor.sigma_los_rad, rng)
    t_ok = t[ok]
    order = np.argsort(t_ok, kind="stable")
    return IrOutput(t_ok[order], plat[ok][order], noisy[order], t_ok[order] + sensor.latency_s,
                    np.asarray(object_idx, np.int32)[ok][order])
