"""Small synthetic scenes for the tracker tests: truth from the physics module, radar detections from
the geo frames, Gaussian noise, Poisson clutter. Fast (a few thousand detections) and seeded."""

from __future__ import annotations

import numpy as np

from triwarn.geo.frames import aer_to_ecef, ecef_to_aer, enu_rotation, geodetic_to_ecef
from triwarn.physics.dynamics import ballistic_accel_ecef
from triwarn.records.detections import RadarDetections
from triwarn.sensors.definitions import RadarSensor

T0 = 1_700_000_000.0


def radar(sid: str, lat_deg: float, lon_deg: float, **kw) -> RadarSensor:
    """A radar with tracker-test defaults (100 m, 0.05 deg, 1 s revisit, 2500 km, all round)."""
    base = dict(id=sid, nation="jp", lat_deg=lat_deg, lon_deg=lon_deg, alt_m=50.0, sigma_range_m=100.0,
                sigma_az_deg=0.05, sigma_el_deg=0.05, revisit_s=1.0, max_range_m=2.5e6, min_el_deg=0.0,
                p_detect=1.0)
    base.update(kw)
    return RadarSensor(**base)


def lofted_state(lat_deg: float, lon_deg: float, alt_m: float, speed_mps: float, az_deg: float,
                 el_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """ECEF position and velocity of an object at a geodetic point moving at az/el (deg) at speed."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    pos = geodetic_to_ecef(lat, lon, alt_m)
    az, el = np.radians(az_deg), np.radians(el_deg)
    enu = speed_mps * np.array([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
    vel = enu_rotation(lat, lon).T @ enu
    return pos, vel


def fly(pos0, vel0, times_s, burn_s: float = 0.0, thrust_mps2: float = 0.0, staging_s: float | None = None,
        q_accel_m2_s3: float = 0.0, rng: np.random.Generator | None = None):
    """Truth positions and velocities (n_obj, len(times), 3) from t=0 for objects pos0, vel0 (n_obj, 3).

    Thrust acts along the velocity until burn_s, growing linearly to twice thrust_mps2 (mass drops);
    with staging_s it stops for 3 s then restarts 30% stronger. q_accel_m2_s3 adds white random
    acceleration of that density (the tracker's own process-noise model, for consistency tests).
    Midpoint (RK2) steps of 0.05 s: independent of the tracker's RK4 and far below the noise.
    """
    dt = 0.05
    pos0 = np.atleast_2d(np.asarray(pos0, float))
    vel0 = np.atleast_2d(np.asarray(vel0, float))
    times_s = np.asarray(times_s, float)
    n = int(np.ceil(float(np.max(times_s)) / dt)) + 1
    rng = rng or np.random.default_rng(0)
    p, v = pos0.copy(), vel0.copy()
    out_p = np.empty((len(p), times_s.size, 3))
    out_v = np.empty_like(out_p)
    want = np.round(times_s / dt).astype(int)

    def acc(t, p, v):
        a = ballistic_accel_ecef(p, v)
        if t < burn_s:
            mag = thrust_mps2 * (1.0 + t / max(burn_s, 1e-9))
            if staging_s is not None:
                if staging_s <= t < staging_s + 3.0:
                    mag = 0.0
                elif t >= staging_s + 3.0:
                    mag *= 1.3
            a = a + mag * v / np.linalg.norm(v, axis=-1, keepdims=True)
        return a

    for k in range(n):
        hit = np.flatnonzero(want == k)
        if hit.size:
            out_p[:, hit], out_v[:, hit] = p[:, None], v[:, None]
        t = k * dt
        a1 = acc(t, p, v)
        pm, vm = p + 0.5 * dt * v, v + 0.5 * dt * a1
        a2 = acc(t + 0.5 * dt, pm, vm)
        p, v = p + dt * vm, v + dt * a2
        if q_accel_m2_s3 > 0:
            v = v + rng.normal(0.0, np.sqrt(q_accel_m2_s3 * dt), v.shape)
    return out_p, out_v


def detect(radars: list[RadarSensor], truth_pos: np.ndarray, times_s: np.ndarray, rng: np.random.Generator,
           clutter_per_scan: float = 0.0, clutter_box_m: float = 200_000.0) -> RadarDetections:
    """Radar detections of objects truth_pos (n_obj, n_t, 3) at scan times T0 + times_s (every radar, every
    time), with noise, p_detect, coverage, and clutter uniform in a box around the objects' mean."""
    t_l, s_l, r_l, a_l, e_l = [], [], [], [], []
    for si, rd in enumerate(radars):
        lat, lon = np.radians(rd.lat_deg), np.radians(rd.lon_deg)
        az, el, rng_m = ecef_to_aer(truth_pos, lat, lon, rd.alt_m)
        vis = (rng_m <= rd.max_range_m) & (el >= np.radians(rd.min_el_deg))
        vis &= rng.random(vis.shape) < rd.p_detect
        o, k = np.nonzero(vis)
        t_l.append(times_s[k])
        s_l.append(np.full(o.size, si))
        r_l.append(rng_m[o, k] + rng.normal(0, rd.sigma_range_m, o.size))
        a_l.append(az[o, k] + rng.normal(0, np.radians(rd.sigma_az_deg), o.size))
        e_l.append(el[o, k] + rng.normal(0, np.radians(rd.sigma_el_deg), o.size))
        if clutter_per_scan > 0:
            n_c = rng.poisson(clutter_per_scan, times_s.size)
            k_c = np.repeat(np.arange(times_s.size), n_c)
            centre = truth_pos.mean(axis=0)[k_c]
            pts = centre + rng.uniform(-clutter_box_m, clutter_box_m, (k_c.size, 3))
            az_c, el_c, r_c = ecef_to_aer(pts, lat, lon, rd.alt_m)
            t_l.append(times_s[k_c])
            s_l.append(np.full(k_c.size, si))
            r_l.append(r_c)
            a_l.append(az_c)
            e_l.append(el_c)
    t = np.concatenate(t_l) + T0
    order = np.argsort(t, kind="stable")
    return RadarDetections(t[order], np.concatenate(s_l)[order].astype(np.int32), np.concatenate(r_l)[order],
                           np.mod(np.concatenate(a_l)[order], 2 * np.pi), np.concatenate(e_l)[order],
                           np.zeros(t.size, np.int64))


__all__ = ["T0", "aer_to_ecef", "detect", "fly", "lofted_state", "radar"]
