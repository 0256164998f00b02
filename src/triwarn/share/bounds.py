"""Physical bounds on a partner message's content, checked before the receiving node uses any of it.

A message can be correctly signed by a partner and still be absurd (a bug, a corrupted state, a
compromised node): one track at 1e30 m, a track stamped a year ahead, a covariance of zeros or a
sequence number of 2^62 must not stop another nation's warnings. Admission (share/admission.py) calls
`content_problem` after the signature check (so only a sender's own, authentic content is judged here)
and `seq_problem` before it accepts a sequence number; a failure is the reject reason `out_of_bounds`
or `seq_jump`, with a detail naming the field and its value, and the message changes nothing.

The bounds (`Limits`, defaults) and why:

====================================  ===============================================================
ECEF position norm 6,300–50,000 km    the Earth's polar radius is 6,356.8 km: 6,300 km leaves ~57 km
                                      for estimate error at a launch; 50,000 km is above geostationary
                                      orbit (42,164 km), the highest a launch vehicle's upper stage is
                                      sent; the highest ballistic missile apogees flown (lofted ICBMs,
                                      7,700 km altitude) are far below. The Moon (384,000 km) is not a
                                      missile.
ECEF speed <= 12 km/s                 escape speed at the surface is 11.2 km/s (inertial), plus at
                                      most 0.47 km/s of the Earth's rotation; an ICBM flies ~7 km/s
position sigma 1 m – 1,000 km         below 1 m no sensor chain of ours has ever claimed (trackers
                                      here report 10–500 m); above 1,000 km an estimate says nothing
velocity sigma 1 mm/s – 12 km/s       likewise: a sigma above the largest speed says nothing
covariance symmetric, positive        Cholesky of the correlation matrix (scale-free: a state
definite                              covariance mixes m^2 and m^2/s^2 variances twelve orders apart);
                                      a full 6x6 matrix must be symmetric to 1e-9 of sqrt(P_ii P_jj)
                                      (the wire's 21 upper-triangle values are symmetric by
                                      construction)
track time in [now - max_age_s,       the same window as the message's own sent time (admission):
now + future_skew_s]                  a state from the future would be held and predicted backwards;
                                      a year ahead, the predictor integrates a year of flight
launch / impact time within 3 h of    a lofted ICBM flies about 70 minutes; impact predictions look at
the receiver's clock                  most that far ahead, launch estimates that far back, plus
                                      store-and-forward delivery (at most max_age_s)
time sigmas <= 1 h; launch horiz      larger says nothing an operator can use
sigma <= 1,000 km; impact ellipse
semi-axes <= 3,000 km (minor <=
major); launch altitude -11 km to
100 km
orbit: perigee radius a(1-e) >=       a perigee below the Earth's surface is no orbit (6,300 km as for
6,300 km, apogee radius a(1+e) <=     positions); 50,000 km as for positions. Epoch within 3 h of the
50,000 km; perigee / apogee heights   receiver's clock, like an impact time. Sigmas: semi-major axis
agree with a and e to 1 km; sma       <= 1,000 km (as a position), eccentricity <= 1, angles <= 180
sigma <= 1,000 km, ecc sigma <= 1,    degrees (more says nothing). The TLE lines carry a mod-10
angle sigmas <= 180 deg; TLE          checksum each and must say what the numbers say (inclination
checksums; TLE inclination and        and node to 0.5 degrees: SGP4 mean elements differ from
node within 0.5 deg of the elements   osculating ones by less); a TLE that contradicts its own message
                                      would be propagated, not the reported elements
sequence: at most max_seq_jump        a sender's seq grows by one per message it publishes: it cannot
(1,000,000) + 20,000/s x (seconds     outrun its own rate (a node seals at most a few thousand
since its last accepted message)      messages a second on one core), so a bigger jump is a broken
above the last accepted; 2^53 - 1     sender, and accepting it would refuse all its later messages as
at first contact                      replayed. 2^53 - 1 is the largest integer every JSON reader
                                      holds exactly.
====================================  ===============================================================

Every number must be finite (msgspec's JSON decoder refuses NaN and overflowing literals, but messages
built in process are checked too). Pure functions: the receiver's clock is a parameter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from triwarn.geo.wgs84 import MEAN_RADIUS_M
from triwarn.share.schema import ImpactReport, LaunchReport, LinkReport, Message, OrbitReport, TrackReport

_IU = np.triu_indices(6)


@dataclass(frozen=True)
class Limits:
    """The physical bounds (SI units); see the module docstring for why each."""

    min_radius_m: float = 6_300e3
    max_radius_m: float = 50_000e3
    max_speed_mps: float = 12_000.0
    min_pos_sigma_m: float = 1.0
    max_pos_sigma_m: float = 1_000e3
    min_vel_sigma_mps: float = 1e-3
    max_vel_sigma_mps: float = 12_000.0
    symmetry_rtol: float = 1e-9
    event_window_s: float = 3 * 3600.0
    max_time_sigma_s: float = 3600.0
    max_horiz_sigma_m: float = 1_000e3
    max_ellipse_m: float = 3_000e3
    min_launch_alt_m: float = -11_000.0
    max_launch_alt_m: float = 100_000.0
    max_sma_sigma_m: float = 1_000e3
    max_angle_sigma_deg: float = 180.0
    orbit_height_tol_m: float = 1_000.0
    tle_angle_tol_deg: float = 0.5
    max_seq_jump: int = 1_000_000
    max_seq_rate_per_s: float = 20_000.0
    max_first_seq: int = 2**53 - 1


LIMITS = Limits()


def content_problem(msg: Message, now_unix_s: float | None, *, future_skew_s: float, max_age_s: float,
                    limits: Limits = LIMITS) -> str | None:
    """None when msg's content is within bounds, else a detail naming the first field out of bounds and
    its value. now_unix_s None skips the checks against the receiver's clock (restoring state)."""
    if isinstance(msg, TrackReport):
        return _tracks_problem(msg, now_unix_s, future_skew_s, max_age_s, limits)
    if isinstance(msg, LaunchReport):
        return (_range("launch_t_sigma_s", msg.launch_t_sigma_s, 0.0, limits.max_time_sigma_s)
                or _range("horiz_sigma_m", msg.horiz_sigma_m, 0.0, limits.max_horiz_sigma_m)
                or _range("alt_m", msg.alt_m, limits.min_launch_alt_m, limits.max_launch_alt_m)
                or _event_time("launch_t_unix_s", msg.launch_t_unix_s, now_unix_s, limits))
    if isinstance(msg, ImpactReport):
        return (_range("semi_major_m", msg.semi_major_m, 0.0, limits.max_ellipse_m)
                or _range("semi_minor_m", msg.semi_minor_m, 0.0, msg.semi_major_m)
                or _range("impact_t_sigma_s", msg.impact_t_sigma_s, 0.0, limits.max_time_sigma_s)
                or _event_time("impact_t_unix_s", msg.impact_t_unix_s, now_unix_s, limits))
    if isinstance(msg, OrbitReport):
        return _orbit_problem(msg, now_unix_s, limits)
    if isinstance(msg, LinkReport) and msg.last_heard_unix_s is not None:
        hi = math.inf if now_unix_s is None else now_unix_s + future_skew_s
        return _range("last_heard_unix_s", msg.last_heard_unix_s, 0.0, hi)
    return None  # heartbeats and warning states: nothing physical (the schema bounds the rest)


def seq_problem(seq: int, last_seq: int | None, last_sent_unix_s: float | None, sent_unix_s: float,
                limits: Limits = LIMITS) -> str | None:
    """None when seq is a plausible next sequence number of a sender whose last accepted message had
    last_seq, sent at last_sent_unix_s (None, None: the first from that sender); else a detail."""
    if last_seq is None:
        if seq > limits.max_first_seq:
            return f"seq {seq} at first contact, above {limits.max_first_seq}"
        return None
    elapsed = sent_unix_s - last_sent_unix_s if last_sent_unix_s is not None else 0.0
    allowed = limits.max_seq_jump + limits.max_seq_rate_per_s * max(0.0, min(elapsed, 1e9))
    if seq - last_seq > allowed:
        return f"seq {seq} is {seq - last_seq} above the last accepted {last_seq} (at most {allowed:.0f})"
    return None


def covariance_problem(cov, limits: Limits = LIMITS, field: str = "cov") -> str | None:
    """None when every (..., 6, 6) state covariance is finite, symmetric, has position and velocity
    sigmas within limits and is positive definite; else a detail naming the first bad one."""
    c = np.asarray(cov, float).reshape(-1, 6, 6)
    if not np.all(np.isfinite(c)):
        k = int(np.flatnonzero(~np.all(np.isfinite(c), axis=(1, 2)))[0])
        return f"{_at(field, k, c)}: not finite"
    var = np.diagonal(c, axis1=1, axis2=2)
    bad = np.any(var <= 0.0, axis=1)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        return f"{_at(field, k, c)}: variance {var[k][var[k] <= 0.0][0]:.6g} <= 0"
    sig = np.sqrt(var)
    for name, cols, lo, hi, unit in (("position", slice(0, 3), limits.min_pos_sigma_m, limits.max_pos_sigma_m, "m"),
                                     ("velocity", slice(3, 6), limits.min_vel_sigma_mps, limits.max_vel_sigma_mps,
                                      "m/s")):
        s = sig[:, cols]
        out = np.any((s < lo) | (s > hi), axis=1)
        if out.any():
            k = int(np.flatnonzero(out)[0])
            worst = s[k][(s[k] < lo) | (s[k] > hi)][0]
            return f"{_at(field, k, c)}: {name} sigma {worst:.6g} {unit} outside [{lo:g}, {hi:g}] {unit}"
    scale = sig[:, :, None] * sig[:, None, :]
    asym = np.abs(c - np.swapaxes(c, 1, 2)) > limits.symmetry_rtol * scale
    if asym.any():
        k = int(np.flatnonzero(asym.any(axis=(1, 2)))[0])
        i, j = np.argwhere(asym[k])[0]
        return f"{_at(field, k, c)}: not symmetric ([{i},{j}] = {c[k, i, j]:.6g}, [{j},{i}] = {c[k, j, i]:.6g})"
    corr = 0.5 * (c + np.swapaxes(c, 1, 2)) / scale
    try:
        np.linalg.cholesky(corr)
    except np.linalg.LinAlgError:
        for k in range(len(corr)):
            try:
                np.linalg.cholesky(corr[k])
            except np.linalg.LinAlgError:
                eig = float(np.linalg.eigvalsh(corr[k])[0])
                return f"{_at(field, k, c)}: not positive definite (smallest correlation eigenvalue {eig:.3g})"
    return None


# Column of each full-matrix entry (i, j) in a row [t, pos(3), vel(3), cov upper triangle(21)].
_UPPER_COL = np.zeros((6, 6), np.intp)
_UPPER_COL[_IU] = 7 + np.arange(21)
_UPPER_COL = np.maximum(_UPPER_COL, _UPPER_COL.T)
_DIAG_COL = np.diagonal(_UPPER_COL).copy()


def _tracks_problem(msg: TrackReport, now: float | None, skew: float, max_age: float, lim: Limits) -> str | None:
    """All tracks in few array operations (the common case: everything within bounds); the first problem
    is then found and described by _track_detail."""
    rows = np.array([[st.t_unix_s, *st.pos_ecef_m, *st.vel_ecef_mps, *st.cov_ecef] for st in msg.tracks], float)
    with np.errstate(all="ignore"):
        ok = bool(np.isfinite(rows).all())
        if ok and now is not None:
            ok = rows[:, 0].min() >= now - max_age and rows[:, 0].max() <= now + skew
        if ok:
            r2 = np.einsum("ij,ij->i", rows[:, 1:4], rows[:, 1:4])
            v2 = np.einsum("ij,ij->i", rows[:, 4:7], rows[:, 4:7])
            var = rows[:, _DIAG_COL]
            ok = (r2.min() >= lim.min_radius_m**2 and r2.max() <= lim.max_radius_m**2
                  and v2.max() <= lim.max_speed_mps**2 and var.min() > 0.0
                  and var[:, :3].min() >= lim.min_pos_sigma_m**2 and var[:, :3].max() <= lim.max_pos_sigma_m**2
                  and var[:, 3:].min() >= lim.min_vel_sigma_mps**2 and var[:, 3:].max() <= lim.max_vel_sigma_mps**2)
        if ok:
            sig = np.sqrt(var)
            corr = rows[:, _UPPER_COL] / (sig[:, :, None] * sig[:, None, :])
            try:
                np.linalg.cholesky(corr)
            except np.linalg.LinAlgError:
                ok = False
    if ok:
        return None
    return _track_detail(msg, now, skew, max_age, lim) or "tracks: out of bounds"


def _track_detail(msg: TrackReport, now: float | None, skew: float, max_age: float, lim: Limits) -> str | None:
    states = msg.tracks
    t = np.array([st.t_unix_s for st in states], float)
    pos = np.array([st.pos_ecef_m for st in states], float)
    vel = np.array([st.vel_ecef_mps for st in states], float)
    upper = np.array([st.cov_ecef for st in states], float)
    for name, arr in (("t_unix_s", t), ("pos_ecef_m", pos), ("vel_ecef_mps", vel)):
        bad = ~np.isfinite(arr) if arr.ndim == 1 else ~np.all(np.isfinite(arr), axis=1)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            return f"tracks[{k}].{name}: not finite ({arr[k].tolist()})"
    if now is not None:
        bad = (t > now + skew) | (t < now - max_age)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            return (f"tracks[{k}].t_unix_s: {t[k]:.3f} is {t[k] - now:+.1f} s from this clock "
                    f"(window -{max_age:g} s to +{skew:g} s)")
    r = np.linalg.norm(pos, axis=1)
    bad = (r < lim.min_radius_m) | (r > lim.max_radius_m)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        return (f"tracks[{k}].pos_ecef_m: |r| = {r[k]:.6g} m outside [{lim.min_radius_m:g}, "
                f"{lim.max_radius_m:g}] m")
    v = np.linalg.norm(vel, axis=1)
    bad = v > lim.max_speed_mps
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        return f"tracks[{k}].vel_ecef_mps: |v| = {v[k]:.6g} m/s above {lim.max_speed_mps:g} m/s"
    full = np.zeros((len(states), 6, 6))
    full[:, _IU[0], _IU[1]] = upper
    full = full + np.swapaxes(np.triu(full, 1), 1, 2)
    return covariance_problem(full, lim, field="cov_ecef")


def _at(field: str, k: int, c: np.ndarray) -> str:
    return f"tracks[{k}].{field}" if field == "cov_ecef" else (f"{field}[{k}]" if len(c) > 1 else field)


def _range(name: str, value: float, lo: float, hi: float) -> str | None:
    if not math.isfinite(value) or not lo <= value <= hi:
        return f"{name}: {value!r} outside [{lo:g}, {hi:g}]"
    return None


def _event_time(name: str, value: float, now: float | None, lim: Limits) -> str | None:
    if not math.isfinite(value):
        return f"{name}: {value!r} not finite"
    if now is not None and abs(value - now) > lim.event_window_s:
        return f"{name}: {value:.3f} is {value - now:+.1f} s from this clock (window ±{lim.event_window_s:g} s)"
    return None


def tle_checksum(line: str) -> int:
    """The TLE line's mod-10 checksum over its first 68 characters (digits count, '-' counts 1)."""
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def _orbit_problem(msg: OrbitReport, now: float | None, lim: Limits) -> str | None:
    for name in ("sma_m", "ecc", "incl_deg", "raan_deg", "arg_lat_deg", "perigee_alt_m", "apogee_alt_m",
                 "sma_sigma_m", "ecc_sigma", "incl_sigma_deg", "raan_sigma_deg", "arg_lat_sigma_deg"):
        value = getattr(msg, name)
        if not math.isfinite(value):
            return f"{name}: {value!r} not finite"
    rp, ra = msg.sma_m * (1.0 - msg.ecc), msg.sma_m * (1.0 + msg.ecc)
    problem = (_range("perigee radius sma_m*(1-ecc)", rp, lim.min_radius_m, lim.max_radius_m)
               or _range("apogee radius sma_m*(1+ecc)", ra, lim.min_radius_m, lim.max_radius_m)
               or _range("perigee_alt_m", msg.perigee_alt_m, rp - MEAN_RADIUS_M - lim.orbit_height_tol_m,
                         rp - MEAN_RADIUS_M + lim.orbit_height_tol_m)
               or _range("apogee_alt_m", msg.apogee_alt_m, ra - MEAN_RADIUS_M - lim.orbit_height_tol_m,
                         ra - MEAN_RADIUS_M + lim.orbit_height_tol_m)
               or _range("sma_sigma_m", msg.sma_sigma_m, 0.0, lim.max_sma_sigma_m)
               or _range("ecc_sigma", msg.ecc_sigma, 0.0, 1.0))
    if problem:
        return problem
    for name in ("incl_sigma_deg", "raan_sigma_deg", "arg_lat_sigma_deg"):
        problem = _range(name, getattr(msg, name), 0.0, lim.max_angle_sigma_deg)
        if problem:
            return problem
    for name in ("tle_line1", "tle_line2"):
        line = getattr(msg, name)
        if not line[68].isdigit() or tle_checksum(line) != int(line[68]):
            return f"{name}: checksum {line[68]!r}, expected {tle_checksum(line)}"
    try:
        tle_incl, tle_raan = float(msg.tle_line2[8:16]), float(msg.tle_line2[17:25])
    except ValueError:
        return f"tle_line2: inclination / node columns {msg.tle_line2[8:25]!r} are not numbers"
    for name, tle_value, value in (("tle_line2 inclination", tle_incl, msg.incl_deg),
                                   ("tle_line2 node", tle_raan, msg.raan_deg)):
        off = abs((tle_value - value + 180.0) % 360.0 - 180.0)
        if off > lim.tle_angle_tol_deg:
            return f"{name}: {tle_value:g} deg, {off:.2f} deg from the reported {value:g} deg"
    return _event_time("epoch_unix_s", msg.epoch_unix_s, now, lim)
