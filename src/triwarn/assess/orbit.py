"""Objects whose energy is orbital: no impact point, an orbit estimate instead.

A track is orbital when its inertial orbit's perigee clears the atmosphere (ORBIT_PERIGEE_MIN_M above
the mean radius) or it escapes. Such an object has no impact to predict (an impact search would run round
the Earth); it gets an orbit estimate: osculating elements and their 1-sigma uncertainty from the track's
state covariance (unscented transform), a TLE fitted so that SGP4 reproduces the state at epoch, and the
CCSDS OMM (502.0, KVN) of that TLE with the covariance. Ground tracks ahead come from SGP4.

Frames: the tracks' states are ECEF (WGS84, m, m/s). SGP4 works in TEME; TEME and ECEF differ here by the
rotation through Greenwich mean sidereal time (polar motion, centimetres to metres, is neglected), and
velocities by w x r. The TLE and the propagation are the `sgp4` library's (pinned in pyproject.toml);
this module owns the OMM text it writes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_omm, export_tle
from sgp4.propagation import gstime

from triwarn.geo.frames import ecef_to_geodetic
from triwarn.geo.wgs84 import GM_M3_S2, MEAN_RADIUS_M, OMEGA_RAD_S
from triwarn.records.events import OrbitElements

ORBIT_PERIGEE_MIN_M = 100e3  # a perigee below this re-enters within the pass: it is a fall, not an orbit
_MU_WGS72_KM3_S2 = 398600.8
_UNIX_JD = 2440587.5
_SGP4_EPOCH_JD = 2433281.5  # sgp4init's epoch origin, 1949-12-31 00:00 UT
_FIT_ITERATIONS = 12


def gmst_rad(t_unix_s: float) -> float:
    """Greenwich mean sidereal time (rad) at a unix time (UTC taken for UT1)."""
    return float(gstime(t_unix_s / 86400.0 + _UNIX_JD))


def ecef_to_teme(t_unix_s: float, pos_ecef_m: NDArray, vel_ecef_mps: NDArray) -> tuple[NDArray, NDArray]:
    """(pos, vel) of ECEF states (..., 3) m and m/s in TEME at t_unix_s (m, m/s)."""
    th = gmst_rad(t_unix_s)
    c, s = math.cos(th), math.sin(th)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    p = np.asarray(pos_ecef_m, float)
    v = np.asarray(vel_ecef_mps, float)
    v_in = v + np.cross(np.array([0.0, 0.0, OMEGA_RAD_S]), p)
    return p @ rot.T, v_in @ rot.T


def teme_to_ecef(t_unix_s: NDArray, pos_teme_m: NDArray) -> NDArray:
    """TEME positions (N, 3) m at times t_unix_s (N,) in ECEF (m)."""
    th = np.array([gmst_rad(float(t)) for t in np.atleast_1d(t_unix_s)])
    c, s = np.cos(th), np.sin(th)
    x, y, z = np.asarray(pos_teme_m, float).T
    return np.stack([c * x + s * y, -s * x + c * y, z], axis=-1)


def is_orbital(pos_ecef_m: NDArray, vel_ecef_mps: NDArray) -> NDArray[np.bool_]:
    """Per state (N, 3): does its inertial two-body orbit stay up (perigee above ORBIT_PERIGEE_MIN_M over
    the mean radius, or escape)? A state falling towards the ground is never orbital."""
    p = np.atleast_2d(np.asarray(pos_ecef_m, float))
    v = np.atleast_2d(np.asarray(vel_ecef_mps, float)) + np.cross(np.array([0.0, 0.0, OMEGA_RAD_S]), p)
    r = np.linalg.norm(p, axis=-1)
    energy = 0.5 * np.sum(v * v, axis=-1) - GM_M3_S2 / r
    h = np.linalg.norm(np.cross(p, v), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = -GM_M3_S2 / (2.0 * energy)
        ecc = np.sqrt(np.clip(1.0 + 2.0 * energy * h * h / GM_M3_S2**2, 0.0, None))
        perigee = a * (1.0 - ecc)
    return (energy >= 0.0) | ((energy < 0.0) & (perigee > MEAN_RADIUS_M + ORBIT_PERIGEE_MIN_M))


def elements(pos_m: NDArray, vel_mps: NDArray, mu: float = GM_M3_S2) -> NDArray:
    """Osculating elements of inertial states (..., 3): columns semi-major axis (m), eccentricity,
    inclination, RAAN, argument of perigee, mean anomaly (rad), argument of latitude (rad)."""
    r_vec, v_vec = np.asarray(pos_m, float), np.asarray(vel_mps, float)
    r = np.linalg.norm(r_vec, axis=-1)
    v2 = np.sum(v_vec * v_vec, axis=-1)
    h_vec = np.cross(r_vec, v_vec)
    h = np.linalg.norm(h_vec, axis=-1)
    a = 1.0 / (2.0 / r - v2 / mu)
    e_vec = np.cross(v_vec, h_vec) / mu - r_vec / r[..., None]
    ecc = np.linalg.norm(e_vec, axis=-1)
    incl = np.arccos(np.clip(h_vec[..., 2] / h, -1.0, 1.0))
    node = np.cross(np.array([0.0, 0.0, 1.0]), h_vec)
    raan = np.arctan2(node[..., 1], node[..., 0]) % (2 * np.pi)
    n_hat = node / np.maximum(np.linalg.norm(node, axis=-1), 1e-12)[..., None]
    w_hat = np.cross(h_vec / h[..., None], n_hat)
    u = np.arctan2(np.sum(r_vec * w_hat, axis=-1), np.sum(r_vec * n_hat, axis=-1)) % (2 * np.pi)
    argp = np.arctan2(np.sum(e_vec * w_hat, axis=-1), np.sum(e_vec * n_hat, axis=-1)) % (2 * np.pi)
    nu = (u - argp) % (2 * np.pi)
    ea = 2.0 * np.arctan2(np.sqrt(np.clip(1.0 - ecc, 0.0, None)) * np.sin(nu / 2),
                          np.sqrt(1.0 + ecc) * np.cos(nu / 2))
    mean = (ea - ecc * np.sin(ea)) % (2 * np.pi)
    return np.stack([a, ecc, incl, raan, argp, mean, u], axis=-1)


@dataclass(frozen=True)
class OrbitEstimate:
    """The assessment's working orbit of one track: its record (`elements`: epoch, osculating elements in km
    and degrees with 1-sigma uncertainties, perigee/apogee heights, TLE lines; `t` is the epoch and no
    nation is named yet, node.orbit_sharing.orbit_record completes it), the 6x6 position/velocity
    covariance in TEME (km, km/s) and the fitted SGP4 satellite."""

    elements: OrbitElements
    cov_teme_km: NDArray
    satrec: Satrec

    def position_ecef_m(self, t_unix_s: NDArray | float) -> NDArray:
        """SGP4 positions (N, 3) ECEF m at times t_unix_s (NaN where SGP4 fails: decayed)."""
        return sgp4_positions_ecef_m(self.satrec, t_unix_s)

    def ground_track(self, t0_unix_s: float, span_s: float, step_s: float = 30.0) -> list[tuple[float, float, float]]:
        """(t unix s, lat deg, lon deg) every step_s from t0 over span_s: the ground track ahead."""
        return ground_track_points(self.satrec, t0_unix_s, span_s, step_s)


def sgp4_positions_ecef_m(sat: Satrec | None, t_unix_s: NDArray | float) -> NDArray:
    """SGP4 positions (N, 3) ECEF m of a satellite at times t_unix_s (NaN where SGP4 fails, decayed, or
    without a satellite)."""
    t = np.atleast_1d(np.asarray(t_unix_s, float))
    if sat is None:
        return np.full((len(t), 3), np.nan)
    jd = t / 86400.0 + _UNIX_JD
    jd_i = np.floor(jd)
    err, r, _ = sat.sgp4_array(jd_i, jd - jd_i)
    r = np.where((err == 0)[:, None], np.asarray(r) * 1e3, np.nan)
    return teme_to_ecef(t, r)


def ground_track_points(sat: Satrec | None, t0_unix_s: float, span_s: float,
                        step_s: float) -> list[tuple[float, float, float]]:
    """[(t unix s, lat deg, lon deg)] of a satellite's ground track every step_s over span_s from t0
    (points SGP4 cannot give are left out)."""
    t = t0_unix_s + np.arange(0.0, span_s + 1e-9, step_s)
    lat, lon, _alt = ecef_to_geodetic(sgp4_positions_ecef_m(sat, t))
    ok = np.isfinite(lat)
    return [(float(a), math.degrees(float(b)), math.degrees(float(c)))
            for a, b, c in zip(t[ok], lat[ok], lon[ok], strict=True)]


def _satrec(epoch_unix_s: float, x: NDArray, satnum: int) -> Satrec:
    """An SGP4 satellite from x = (mean motion rad/min, e cos w, e sin w, incl, raan, w + M) (rad)."""
    n, ex, ey, incl, raan, lam = (float(v) for v in x)
    ecc = min(max(math.hypot(ex, ey), 1e-7), 0.9)
    argp = math.atan2(ey, ex) % (2 * math.pi)
    sat = Satrec()
    sat.sgp4init(WGS72, "i", satnum, epoch_unix_s / 86400.0 + _UNIX_JD - _SGP4_EPOCH_JD, 0.0, 0.0, 0.0, ecc,
                 argp, incl, (lam - argp) % (2 * math.pi), n, raan % (2 * math.pi))
    return sat


def _sgp4_state(sat: Satrec) -> NDArray:
    err, r, v = sat.sgp4(sat.jdsatepoch, sat.jdsatepochF)
    if err:
        return np.full(6, np.nan)
    return np.array([*r, *v])


def fit_tle(epoch_unix_s: float, pos_teme_m: NDArray, vel_teme_mps: NDArray, satnum: int = 99999) -> Satrec:
    """The SGP4 satellite (no drag term) whose state at epoch is this TEME state: SGP4's mean elements
    differ from the osculating ones, so they are corrected by Newton's method from the osculating start."""
    target = np.array([*(np.asarray(pos_teme_m) / 1e3), *(np.asarray(vel_teme_mps) / 1e3)])
    a, ecc, incl, raan, argp, mean, _ = elements(pos_teme_m / 1e3, vel_teme_mps / 1e3, _MU_WGS72_KM3_S2)
    x = np.array([math.sqrt(_MU_WGS72_KM3_S2 / a**3) * 60.0, ecc * math.cos(argp), ecc * math.sin(argp),
                  incl, raan, argp + mean])
    scale = np.array([1.0, 1.0, 1.0, 1e3, 1e3, 1e3])  # km against km/s
    steps = np.array([1e-7, 1e-6, 1e-6, 1e-6, 1e-6, 1e-6])
    for _ in range(_FIT_ITERATIONS):
        sat = _satrec(epoch_unix_s, x, satnum)
        res = (_sgp4_state(sat) - target) * scale
        if not np.all(np.isfinite(res)) or np.max(np.abs(res[:3])) < 1e-5:
            break
        jac = np.empty((6, 6))
        for k in range(6):
            xk = x.copy()
            xk[k] += steps[k]
            jac[:, k] = ((_sgp4_state(_satrec(epoch_unix_s, xk, satnum)) - target) * scale - res) / steps[k]
        x = x - np.linalg.lstsq(jac, res, rcond=None)[0]
    return _satrec(epoch_unix_s, x, satnum)


def _sigma_points(mean: NDArray, cov: NDArray) -> NDArray:
    n = mean.size
    root = np.linalg.cholesky(n * (cov + 1e-9 * np.eye(n)))
    return np.concatenate([mean[None], mean + root.T, mean - root.T])


def estimate_orbit(track: str, t_unix_s: float, pos_ecef_m: NDArray, vel_ecef_mps: NDArray, cov_ecef: NDArray,
                   satnum: int = 99999) -> OrbitEstimate:
    """The orbit of one ECEF state (m, m/s) with its 6x6 covariance (m^2 ...), at epoch t_unix_s."""
    p_t, v_t = ecef_to_teme(t_unix_s, pos_ecef_m, vel_ecef_mps)
    el = elements(p_t, v_t)
    th = gmst_rad(t_unix_s)
    c, s = math.cos(th), math.sin(th)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    # d(TEME state)/d(ECEF state): the rotation, and w x r in the velocity.
    w_cross = np.array([[0.0, -OMEGA_RAD_S, 0.0], [OMEGA_RAD_S, 0.0, 0.0], [0.0, 0.0, 0.0]])
    jac = np.block([[rot, np.zeros((3, 3))], [rot @ w_cross, rot]])
    cov_t = jac @ np.asarray(cov_ecef, float) @ jac.T
    pts = _sigma_points(np.concatenate([p_t, v_t]), cov_t)
    el_pts = elements(pts[:, :3], pts[:, 3:])
    dif = el_pts - el[None]
    for k in (3, 4, 5, 6):  # angles: wrap the spread about the mean
        dif[:, k] = (dif[:, k] + np.pi) % (2 * np.pi) - np.pi
    n2 = 2 * pts.shape[1]
    sig = np.sqrt(np.sum(dif[1:] ** 2, axis=0) / n2)
    rp = el_pts[:, 0] * (1 - el_pts[:, 1])
    ra = el_pts[:, 0] * (1 + el_pts[:, 1])
    sig_rp = math.sqrt(float(np.sum((rp[1:] - rp[0]) ** 2)) / n2)
    sig_ra = math.sqrt(float(np.sum((ra[1:] - ra[0]) ** 2)) / n2)
    a, ecc = float(el[0]), float(el[1])
    sat = fit_tle(t_unix_s, p_t, v_t, satnum)
    line1, line2 = export_tle(sat)
    record = OrbitElements(
        t=float(t_unix_s), track=track, epoch_unix_s=float(t_unix_s), sma_km=a / 1e3, ecc=ecc,
        incl_deg=math.degrees(el[2]), raan_deg=math.degrees(el[3]) % 360.0, arg_lat_deg=math.degrees(el[6]) % 360.0,
        period_s=2 * math.pi * math.sqrt(a**3 / GM_M3_S2),
        perigee_km=(a * (1 - ecc) - MEAN_RADIUS_M) / 1e3, apogee_km=(a * (1 + ecc) - MEAN_RADIUS_M) / 1e3,
        sigma={"sma_km": float(sig[0]) / 1e3, "ecc": float(sig[1]), "incl_deg": math.degrees(sig[2]),
               "raan_deg": math.degrees(sig[3]), "arg_lat_deg": math.degrees(sig[6]),
               "perigee_km": sig_rp / 1e3, "apogee_km": sig_ra / 1e3},
        tle=(line1, line2),
    )
    return OrbitEstimate(elements=record, cov_teme_km=cov_t * 1e-6, satrec=sat)


def fit_copy(est: OrbitEstimate) -> Satrec:
    """A fresh copy of the estimate's SGP4 satellite (Satrec objects are mutable)."""
    line1, line2 = est.elements.tle
    return Satrec.twoline2rv(line1, line2, WGS72)


_COV_NAMES = ("X", "Y", "Z", "X_DOT", "Y_DOT", "Z_DOT")


def omm_kvn(est: OrbitEstimate, object_name: str, object_id: str, originator: str = "TRIWARN",
            created_unix_s: float | None = None) -> str:
    """The estimate as a CCSDS OMM in KVN (CCSDS 502.0-B), SGP4/TEME mean elements from the fitted TLE and
    the 6x6 state covariance (TEME, km and km/s) in its covariance block."""
    m = re.fullmatch(r"\d{2}(\d{2})-(\d{3}[A-Z]{1,3})", object_id)
    if m is None:
        raise ValueError(f"{object_id!r} is not an international designator such as 2023-999A")
    sat = fit_copy(est)
    sat.intldesg = m[1] + m[2]
    fields = export_omm(sat, object_name)
    created = datetime.fromtimestamp(est.elements.epoch_unix_s if created_unix_s is None else created_unix_s, UTC)
    lines = [
        "CCSDS_OMM_VERS = 2.0",
        f"CREATION_DATE = {created:%Y-%m-%dT%H:%M:%S}",
        f"ORIGINATOR = {originator}",
        "",
        f"OBJECT_NAME = {object_name}",
        f"OBJECT_ID = {object_id}",
        "CENTER_NAME = EARTH",
        "REF_FRAME = TEME",
        "TIME_SYSTEM = UTC",
        "MEAN_ELEMENT_THEORY = SGP4",
        "",
        f"EPOCH = {fields['EPOCH']}",
        f"MEAN_MOTION = {fields['MEAN_MOTION']}",
        f"ECCENTRICITY = {fields['ECCENTRICITY']}",
        f"INCLINATION = {fields['INCLINATION']}",
        f"RA_OF_ASC_NODE = {fields['RA_OF_ASC_NODE']}",
        f"ARG_OF_PERICENTER = {fields['ARG_OF_PERICENTER']}",
        f"MEAN_ANOMALY = {fields['MEAN_ANOMALY']}",
        "",
        "EPHEMERIS_TYPE = 0",
        "CLASSIFICATION_TYPE = U",
        f"NORAD_CAT_ID = {fields['NORAD_CAT_ID']}",
        "ELEMENT_SET_NO = 999",
        "REV_AT_EPOCH = 0",
        f"BSTAR = {fields['BSTAR']}",
        f"MEAN_MOTION_DOT = {fields['MEAN_MOTION_DOT']}",
        f"MEAN_MOTION_DDOT = {fields['MEAN_MOTION_DDOT']}",
        "",
        "COV_REF_FRAME = TEME",
    ]
    for i in range(6):
        for j in range(i + 1):
            lines.append(f"C{_COV_NAMES[i]}_{_COV_NAMES[j]} = {est.cov_teme_km[i, j]:.6e}")
    return "\n".join(lines) + "\n"


class OrbitBook:
    """The latest orbit estimate of every track found orbital, refreshed at most every interval_s per track;
    first_unix_s holds when each was first found orbital (the assessment's hook, assess.assessor)."""

    def __init__(self, interval_s: float = 10.0) -> None:
        self.interval_s = interval_s
        self.latest: dict[str, OrbitEstimate] = {}
        self.first: dict[str, OrbitEstimate] = {}  # each track's first estimate
        self.first_unix_s: dict[str, float] = {}

    def update(self, t_unix_s: float, track_ids: list[str], t_track_unix_s: NDArray, pos_ecef_m: NDArray,
               vel_ecef_mps: NDArray, cov_ecef: NDArray) -> list[OrbitEstimate]:
        """Estimate the orbits of these (orbital) tracks that are due; the new estimates."""
        out = []
        for k, tid in enumerate(track_ids):
            self.first_unix_s.setdefault(tid, float(t_unix_s))
            last = self.latest.get(tid)
            if last is not None and t_unix_s - last.elements.epoch_unix_s < self.interval_s:
                continue
            try:
                est = estimate_orbit(tid, float(t_track_unix_s[k]), pos_ecef_m[k], vel_ecef_mps[k], cov_ecef[k])
            except (np.linalg.LinAlgError, ValueError):
                continue  # a singular covariance or a state SGP4 cannot take: keep the last estimate
            self.latest[tid] = est
            self.first.setdefault(tid, est)
            out.append(est)
        return out
