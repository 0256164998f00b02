"""Flight of one object, stepped in plain floats: the powered boost and free flight (coast) to impact.

Frame: Earth-fixed ECEF (rotating WGS84 Earth); positions m, velocities m/s, times s after launch.
The free-flight equations are those of dynamics.ballistic_accel_ecef: J2 gravity with the Coriolis and
centrifugal terms from physics.equations.free_flight_accel (the same function, on floats), and
exponential-atmosphere drag at dynamics.approx_alt_m; the tests check that the two agree.

Why floats: one launch is one state, and numpy's fixed cost per call (about 65 us per acceleration on a
3-vector here, against 2.5 us in floats) would make a single trajectory 25 times slower. Batches of many
states go through dynamics.propagate instead.

A state is a 6-tuple (x, y, z, vx, vy, vz). The integrator is the classical RK4 of dynamics.rk4_step.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triwarn.geo.frames import ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from triwarn.geo.wgs84 import A_M, E2
from triwarn.physics.dynamics import RHO0_KG_M3, SCALE_HEIGHT_M
from triwarn.physics.equations import free_flight_accel

State = tuple[float, float, float, float, float, float]
Accel = Callable[[float, float, float, float, float, float, float], tuple[float, float, float]]

_HALF_PI = 0.5 * math.pi


def approx_alt(x: float, y: float, z: float) -> float:
    """Height (m) above the ellipsoid along the geocentric radius: dynamics.approx_alt_m for one point."""
    r2 = x * x + y * y + z * z
    rn = math.sqrt(r2)
    sin2 = z * z / r2
    return rn - A_M * math.sqrt((1.0 - E2) / (1.0 - E2 * (1.0 - sin2)))


def exact_alt(x: float, y: float, z: float) -> float:
    """Geodetic height (m) above the WGS84 ellipsoid (frames.ecef_to_geodetic)."""
    return float(ecef_to_geodetic(np.array([x, y, z]))[2])


def coast_accel(
    x: float, y: float, z: float, vx: float, vy: float, vz: float, inv_beta: float
) -> tuple[float, float, float]:
    """ECEF acceleration (m/s^2) of an unpowered object; inv_beta = 1/beta in m^2/kg (0: no drag)."""
    ax, ay, az = free_flight_accel(x, y, z, vx, vy)
    if inv_beta:
        alt = approx_alt(x, y, z)
        rho = RHO0_KG_M3 * math.exp(-max(alt, 0.0) / SCALE_HEIGHT_M)
        kd = -0.5 * rho * math.sqrt(vx * vx + vy * vy + vz * vz) * inv_beta
        ax += kd * vx
        ay += kd * vy
        az += kd * vz
    return ax, ay, az


def thrust_accel(
    x: float, y: float, z: float, vx: float, vy: float, vz: float, inv_beta: float,
    nx: float, ny: float, nz: float, mag: float, elev: float,
) -> tuple[float, float, float]:
    """ECEF acceleration (m/s^2) of a thrusting object: coast_accel plus thrust acceleration mag pointed elev
    (rad) above the local (geocentric) horizontal, within the flight plane of unit normal (nx, ny, nz)."""
    ax, ay, az = coast_accel(x, y, z, vx, vy, vz, inv_beta)
    rn = math.sqrt(x * x + y * y + z * z)
    ux, uy, uz = x / rn, y / rn, z / rn
    dx, dy, dz = ny * uz - nz * uy, nz * ux - nx * uz, nx * uy - ny * ux
    dn = math.sqrt(dx * dx + dy * dy + dz * dz)
    c, sn = math.cos(elev) * mag / dn, math.sin(elev) * mag
    return ax + c * dx + sn * ux, ay + c * dy + sn * uy, az + c * dz + sn * uz


def rk4(acc: Accel, t: float, s: State, h: float) -> State:
    """One RK4 step of length h (s) for a second-order system; acc(t, x, y, z, vx, vy, vz) -> a."""
    x, y, z, vx, vy, vz = s
    hh = 0.5 * h
    a1x, a1y, a1z = acc(t, x, y, z, vx, vy, vz)
    x2, y2, z2 = x + hh * vx, y + hh * vy, z + hh * vz
    vx2, vy2, vz2 = vx + hh * a1x, vy + hh * a1y, vz + hh * a1z
    a2x, a2y, a2z = acc(t + hh, x2, y2, z2, vx2, vy2, vz2)
    x3, y3, z3 = x + hh * vx2, y + hh * vy2, z + hh * vz2
    vx3, vy3, vz3 = vx + hh * a2x, vy + hh * a2y, vz + hh * a2z
    a3x, a3y, a3z = acc(t + hh, x3, y3, z3, vx3, vy3, vz3)
    x4, y4, z4 = x + h * vx3, y + h * vy3, z + h * vz3
    vx4, vy4, vz4 = vx + h * a3x, vy + h * a3y, vz + h * a3z
    a4x, a4y, a4z = acc(t + h, x4, y4, z4, vx4, vy4, vz4)
    h6 = h / 6.0
    return (
        x + h6 * (vx + 2.0 * vx2 + 2.0 * vx3 + vx4),
        y + h6 * (vy + 2.0 * vy2 + 2.0 * vy3 + vy4),
        z + h6 * (vz + 2.0 * vz2 + 2.0 * vz3 + vz4),
        vx + h6 * (a1x + 2.0 * a2x + 2.0 * a3x + a4x),
        vy + h6 * (a1y + 2.0 * a2y + 2.0 * a3y + a4y),
        vz + h6 * (a1z + 2.0 * a2z + 2.0 * a3z + a4z),
    )


@dataclass
class Nodes:
    """Integrator nodes of one object: t_s (N,), states (N, 6) ECEF m and m/s. impacted: the last node
    is on the ellipsoid (height 0); otherwise the flight was cut at the time limit (orbit or escape)."""

    t_s: list[float]
    states: list[State]
    impacted: bool


COAST_MAX_STEP_S = 20.0
COAST_MIN_STEP_S = 0.2
COAST_MAX_TIME_S = 4.0 * 3600.0


def coast_to_impact(
    t0_s: float,
    state: State,
    beta_kg_m2: float,
    max_step_s: float = COAST_MAX_STEP_S,
    max_time_s: float = COAST_MAX_TIME_S,
) -> Nodes:
    """Free flight from (t0_s, state) to height 0 on the ellipsoid, found to a millimetre.

    Steps adapt: a tenth of the time to fall to the ground at the current speed and of the drag time scale
    2 beta / (rho v), between COAST_MIN_STEP_S and max_step_s.
    """
    inv_beta = 0.0 if math.isinf(beta_kg_m2) else 1.0 / beta_kg_m2

    def acc(_t: float, x: float, y: float, z: float, vx: float, vy: float, vz: float):
        return coast_accel(x, y, z, vx, vy, vz, inv_beta)

    ts = [t0_s]
    states = [state]
    t, s = t0_s, state
    while t - t0_s < max_time_s:
        x, y, z, vx, vy, vz = s
        speed = math.sqrt(vx * vx + vy * vy + vz * vz) + 1e-3
        alt = approx_alt(x, y, z)
        tau = (max(alt, 0.0) + 1000.0) / speed
        if inv_beta and alt < 300e3:  # above, the drag time scale is years
            rho = RHO0_KG_M3 * math.exp(-max(alt, 0.0) / SCALE_HEIGHT_M)
            tau = min(tau, 2.0 / (rho * speed * inv_beta))
        h = min(max_step_s, max(COAST_MIN_STEP_S, 0.1 * tau))
        s_new = rk4(acc, t, s, h)
        if approx_alt(*s_new[:3]) < 100.0 and exact_alt(*s_new[:3]) <= 0.0:
            tau_hit, s_hit = _ground_crossing(acc, t, s, h)
            ts.append(t + tau_hit)
            states.append(s_hit)
            return Nodes(ts, states, True)
        t, s = t + h, s_new
        ts.append(t)
        states.append(s)
    return Nodes(ts, states, False)


def _ground_crossing(acc: Accel, t: float, s: State, h: float) -> tuple[float, State]:
    """Time into the step (s) and state where the geodetic height is 0 (Illinois regula falsi)."""
    lo, hi = 0.0, h
    f_lo = exact_alt(*s[:3])
    s_hi = rk4(acc, t, s, h)
    f_hi = exact_alt(*s_hi[:3])
    if f_lo <= 0.0:
        return 0.0, s
    side = 0
    for _ in range(60):
        mid = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        s_mid = rk4(acc, t, s, mid)
        f_mid = exact_alt(*s_mid[:3])
        if abs(f_mid) < 1e-3 or hi - lo < 1e-9:
            return mid, s_mid
        if f_mid > 0.0:
            lo, f_lo = mid, f_mid
            if side == 1:
                f_hi *= 0.5
            side = 1
        else:
            hi, f_hi, s_hi = mid, f_mid, s_mid
            if side == -1:
                f_lo *= 0.5
            side = -1
    return hi, s_hi


@dataclass(frozen=True)
class BoostProgramme:
    """Thrust profile and pitch programme of one launch. Degrees only where the name says so.

    Each stage burns at constant thrust while its mass falls linearly from mass_ratio times its burnout
    mass, so its thrust acceleration grows from accel0 to accel0 * mass_ratio. The thrust points straight
    up (geocentric) for vertical_rise_s, then tilts at a constant rate in the vertical plane of the launch
    heading until its elevation above the local horizontal is pitch_end_deg at pitch_end_s, and holds that
    elevation to burnout. The plane is fixed in ECEF: the great circle leaving the launch point on
    heading_az_deg.
    """

    launch_lat_deg: float
    launch_lon_deg: float
    heading_az_deg: float
    stage_burn_s: tuple[float, ...]
    stage_mass_ratio: tuple[float, ...]
    stage_accel0_mps2: tuple[float, ...]
    vertical_rise_s: float
    pitch_end_s: float
    pitch_end_deg: float
    boost_beta_kg_m2: float

    @property
    def burn_s(self) -> float:
        return float(sum(self.stage_burn_s))

    @property
    def stage_end_s(self) -> tuple[float, ...]:
        """Time (s after launch) each stage burns out and separates."""
        return tuple(float(v) for v in np.cumsum(self.stage_burn_s))

    def launch_pos_ecef_m(self) -> NDArray[np.float64]:
        return geodetic_to_ecef(math.radians(self.launch_lat_deg), math.radians(self.launch_lon_deg), 0.0)

    def plane_normal(self) -> tuple[float, float, float]:
        """Unit normal (ECEF) of the vertical plane of the launch heading."""
        lat, lon = math.radians(self.launch_lat_deg), math.radians(self.launch_lon_deg)
        east, north, _ = enu_rotation(lat, lon)
        az = math.radians(self.heading_az_deg)
        d0 = math.sin(az) * east + math.cos(az) * north
        r0 = self.launch_pos_ecef_m()
        n = np.cross(r0 / np.linalg.norm(r0), d0)
        n /= np.linalg.norm(n)
        return float(n[0]), float(n[1]), float(n[2])


BOOST_MAX_STEP_S = 1.0


def boost(
    prog: BoostProgramme, sample_dt_s: float | None = None, max_step_s: float = BOOST_MAX_STEP_S
) -> Nodes:
    """Powered flight from rest on the launch pad to the last burnout.

    Nodes fall on every event (end of vertical rise, end of pitch-over, each stage's burnout) and, when
    sample_dt_s is given, on every multiple of it, with no step longer than max_step_s. impacted is True
    if the vehicle fell back to the ground during the boost (an unflyable programme).
    """
    burn = prog.burn_s
    ends = prog.stage_end_s
    events = {0.0, burn, prog.vertical_rise_s, prog.pitch_end_s, *ends}
    if sample_dt_s:
        events.update(float(v) for v in np.arange(0.0, burn, sample_dt_s))
    grid = sorted(round(e, 9) for e in events if 0.0 <= e <= burn)

    nx, ny, nz = prog.plane_normal()
    inv_beta = 1.0 / prog.boost_beta_kg_m2
    tv, tp = prog.vertical_rise_s, prog.pitch_end_s
    gamma = math.radians(prog.pitch_end_deg)
    starts = (0.0, *ends[:-1])
    fracs = [1.0 - 1.0 / m for m in prog.stage_mass_ratio]

    def make_acc(i: int) -> Accel:
        t0, dur, a0, f = starts[i], prog.stage_burn_s[i], prog.stage_accel0_mps2[i], fracs[i]

        def acc(t: float, x: float, y: float, z: float, vx: float, vy: float, vz: float):
            mag = a0 / (1.0 - f * (t - t0) / dur)
            if t <= tv:
                elev = _HALF_PI
            elif t >= tp:
                elev = gamma
            else:
                elev = _HALF_PI - (_HALF_PI - gamma) * (t - tv) / (tp - tv)
            return thrust_accel(x, y, z, vx, vy, vz, inv_beta, nx, ny, nz, mag, elev)

        return acc

    accs = [make_acc(i) for i in range(len(ends))]
    p0 = prog.launch_pos_ecef_m()
    s: State = (float(p0[0]), float(p0[1]), float(p0[2]), 0.0, 0.0, 0.0)
    ts, states = [0.0], [s]
    for a, b in itertools.pairwise(grid):
        stage = int(np.searchsorted(ends, 0.5 * (a + b)))
        n_sub = max(1, math.ceil((b - a) / max_step_s - 1e-9))
        h = (b - a) / n_sub
        for k in range(n_sub):
            t = a + k * h
            s = rk4(accs[stage], t, s, h)
        ts.append(b)
        states.append(s)
        if b > tv and approx_alt(*s[:3]) < -50.0:
            return Nodes(ts, states, True)
    return Nodes(ts, states, False)


def apogee_of(path: Nodes) -> tuple[float, float]:
    """Time (s) and geodetic height (m) of the highest point: a parabola through the three nodes about the
    highest node (heights from frames.ecef_to_geodetic)."""
    alts = [approx_alt(*s[:3]) for s in path.states]
    i = int(np.argmax(alts))
    if i == 0 or i == len(alts) - 1:
        return path.t_s[i], exact_alt(*path.states[i][:3])
    pts = np.array([path.states[j][:3] for j in (i - 1, i, i + 1)])
    h = ecef_to_geodetic(pts)[2]
    t = np.array(path.t_s[i - 1 : i + 2])
    c2, c1, c0 = np.polyfit(t - t[1], h, 2)
    if c2 >= 0.0:
        return float(t[1]), float(h[1])
    dt = -c1 / (2.0 * c2)
    return float(t[1] + dt), float(c0 - c1 * c1 / (4.0 * c2))
