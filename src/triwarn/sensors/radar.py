"""Radar model: scans, visibility (range, elevation, field of regard, Earth masking), detection, noise and
clutter, vectorised over objects and scan times.

Inputs are ECEF metres and unix seconds; outputs are the measured slant range (m), azimuth (rad,
clockwise from true north, [0, 2π)) and elevation (rad, above the plane normal to the WGS84 ellipsoid at
the site), the quantities of a measurements.jsonl radar line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triwarn.geo.frames import ecef_to_aer
from triwarn.sensors.definitions import RadarSensor
from triwarn.sensors.visibility import earth_blocks, hidden_in_shared_cells


def scan_times(sensor: RadarSensor, t_start_unix_s: float, t_end_unix_s: float) -> NDArray[np.float64]:
    """The sensor's scan times in [t_start, t_end]: t = scan_phase_s + k * revisit_s (unix s)."""
    k0 = math.ceil((t_start_unix_s - sensor.scan_phase_s) / sensor.revisit_s)
    k1 = math.floor((t_end_unix_s - sensor.scan_phase_s) / sensor.revisit_s)
    return sensor.scan_phase_s + np.arange(k0, k1 + 1, dtype=float) * sensor.revisit_s


def _az_offset(az_rad: NDArray, boresight_rad: float) -> NDArray:
    return np.abs(np.mod(az_rad - boresight_rad + np.pi, 2.0 * np.pi) - np.pi)


def visible(sensor: RadarSensor, pos_ecef_m: NDArray) -> tuple[NDArray[np.bool_], NDArray, NDArray, NDArray]:
    """Which targets the radar can see, and their true azimuth, elevation (rad) and range (m).

    Seen: within max_range_m, between min and max elevation, inside the azimuth field of regard, and with
    no Earth between site and target (which matters when min_el_deg is negative, e.g. a mountain site).
    """
    pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
    az, el, rng = ecef_to_aer(pos, sensor.lat_rad, sensor.lon_rad, sensor.alt_m)
    ok = (rng <= sensor.max_range_m) & (el >= sensor.min_el_rad) & (el <= sensor.max_el_rad)
    if sensor.half_width_az_deg < 180.0:
        ok &= _az_offset(az, sensor.boresight_az_rad) <= sensor.half_width_az_rad
    if sensor.min_el_deg < 0.0 or sensor.alt_m < 0.0:
        ok[ok] &= ~earth_blocks(sensor.pos_ecef_m, pos[ok])
    return ok, az, el, rng


@dataclass
class RadarOutput:
    """One radar's detections (targets and clutter, indistinguishable in the file), sorted by time.

    object_idx is the index of the detected object, -1 for clutter (kept for tests, never written).
    """

    t_unix_s: NDArray[np.float64]
    range_m: NDArray[np.float64]
    az_rad: NDArray[np.float64]
    el_rad: NDArray[np.float64]
    object_idx: NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.t_unix_s)


def unresolved(sensor: RadarSensor, scan_t: NDArray, range_m: NDArray, az_rad: NDArray, el_rad: NDArray,
               candidates: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Rows hidden by another object in the same resolution cell of the same scan (the first one is kept).

    A cell spans range_resolution_m in range and beamwidth_deg in azimuth and elevation; two objects in
    one cell (a warhead and the spent stage flying beside it) make a single detection. 0 turns it off.
    """
    rows = np.flatnonzero(candidates)
    if sensor.range_resolution_m <= 0.0 or sensor.beamwidth_deg <= 0.0 or rows.size < 2:
        return np.zeros(len(candidates), bool)
    bw = sensor.beamwidth_rad
    keys = (np.floor(el_rad[rows] / bw), np.floor(az_rad[rows] / bw),
            np.floor(range_m[rows] / sensor.range_resolution_m), scan_t[rows])
    return hidden_in_shared_cells(len(candidates), rows, keys)


def measure(
    sensor: RadarSensor, pos_ecef_m: NDArray, rng: np.random.Generator, scan_t: NDArray | None = None
) -> tuple[NDArray[np.bool_], NDArray, NDArray, NDArray]:
    """Detect and measure targets (one row per target per scan): (detected, range_m, az_rad, el_rad).

    A target in view (and, when scan_t gives each row's scan, not unresolved from another) is detected
    with probability p_detect; its measurement is the truth plus independent Gaussian errors
    (sigma_range_m, sigma_az_deg, sigma_el_deg). Rows not detected hold NaN.
    """
    ok, az, el, r = visible(sensor, pos_ecef_m)
    if scan_t is not None:
        ok &= ~unresolved(sensor, np.asarray(scan_t, float), r, az, el, ok)
    n = len(ok)
    detected = ok & (rng.random(n) < sensor.p_detect)
    noise = rng.standard_normal((3, n))
    r_meas = r + sensor.sigma_range_m * noise[0]
    az_meas = np.mod(az + sensor.sigma_az_rad * noise[1], 2.0 * np.pi)
    el_meas = np.clip(el + sensor.sigma_el_rad * noise[2], -0.5 * np.pi, 0.5 * np.pi)
    nan = np.full(n, np.nan)
    return (detected, np.where(detected, np.maximum(r_meas, 1.0), nan), np.where(detected, az_meas, nan),
            np.where(detected, el_meas, nan))


def clutter(sensor: RadarSensor, scans_unix_s: NDArray, rng: np.random.Generator) -> RadarOutput:
    """False detections: a Poisson(clutter_rate) count per scan, uniform in the surveillance volume.

    Uniform in volume means range density ∝ r² (r = max_range · u^(1/3)), elevation density ∝ cos el
    between min_el and max_el, azimuth uniform over the field of regard.
    """
    scans = np.asarray(scans_unix_s, float)
    counts = rng.poisson(sensor.clutter_rate, scans.size) if sensor.clutter_rate > 0 else np.zeros(0, int)
    total = int(counts.sum()) if counts.size else 0
    if total == 0:
        return RadarOutput(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int32))
    t = np.repeat(scans, counts)
    r = sensor.max_range_m * rng.random(total) ** (1.0 / 3.0)
    half = sensor.half_width_az_rad
    az = np.mod(sensor.boresight_az_rad + rng.uniform(-half, half, total), 2.0 * np.pi)
    sin_el = rng.uniform(math.sin(sensor.min_el_rad), math.sin(sensor.max_el_rad), total)
    el = np.arcsin(sin_el)
    return RadarOutput(t, np.maximum(r, 1.0), az, el, np.full(total, -1, np.int32))


def observe(
    sensor: RadarSensor,
    t_unix_s: NDArray,
    pos_ecef_m: NDArray,
    object_idx: NDArray,
    scans_unix_s: NDArray,
    rng: np.random.Generator,
) -> RadarOutput:
    """A radar's full output over a run: targets (states at scan times, any order) plus clutter, by time.

    t_unix_s (n,), pos_ecef_m (n, 3), object_idx (n,): every object's state at each of the radar's scan
    times; scans_unix_s: all scan times of the run (for clutter).
    """
    detected, r, az, el = measure(sensor, pos_ecef_m, rng, scan_t=t_unix_s)
    targets = RadarOutput(np.asarray(t_unix_s, float)[detected], r[detected], az[detected], el[detected],
                          np.asarray(object_idx, np.int32)[detected])
    false = clutter(sensor, scans_unix_s, rng)
    t = np.concatenate([targets.t_unix_s, false.t_unix_s])
    order = np.argsort(t, kind="stable")
    return RadarOutput(t[order], np.concatenate([targets.range_m, false.range_m])[order],
                       np.concatenate([targets.az_rad, false.az_rad])[order],
                       np.concatenate([targets.el_rad, false.el_rad])[order],
                       np.concatenate([targets.object_idx, false.object_idx])[order])
