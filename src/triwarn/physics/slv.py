"""Satellite launches: a multi-stage vehicle flown to its target orbit, or failing at a chosen stage, and
every piece it sheds falling (or orbiting) on its own.

    fly_slv(SlvSpec(39.66, 124.71, orbit_alt_km=500, azimuth_deg=180, inclination_deg=97.4)) -> Flight

Frame: ECEF over the rotating WGS84 Earth; positions m, velocities m/s, times s after launch. The free
flight is physics.motion's (J2 gravity and frame terms from physics.equations, exponential drag), the
integrator its RK4; only the thrust law is new here.

Thrust law. Each stage burns at constant thrust (stages.Stage) and points in a vertical plane fixed in
ECEF at an elevation above the local horizontal that changes linearly over the stage's burn: from 90
degrees (after the vertical rise) to pitch_end_deg[0] in stage 1, then from pitch_end_deg[i-1] to
pitch_end_deg[i] in stage i+1. The plane is the great circle leaving the pad on heading_az_deg; the last
stage may turn into another plane (the dog-leg), the great circle leaving its ignition point on
last_heading_az_deg.

Solver. Unknowns: one factor on every thrust acceleration, the elevation at the end of stage 1 and at
insertion (the middle stages' are interpolated), and the heading when an inclination is asked.
Residuals at the last burnout: height error, flight-path angle, inertial speed against circular speed,
and inclination error. A damped Newton iteration with a finite-difference Jacobian, as physics.solver.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from triwarn.errors import InputError
from triwarn.geo.frames import ecef_to_geodetic, enu_rotation, geodetic_to_ecef
from triwarn.geo.wgs84 import GM_M3_S2, OMEGA_RAD_S
from triwarn.physics.flight import hermite_sample
from triwarn.physics.launch import PHASE_BALLISTIC, PHASE_BOOST, Flight, ObjectTrajectory
from triwarn.physics.motion import Nodes, State, approx_alt, coast_accel, coast_to_impact, rk4, thrust_accel
from triwarn.physics.stages import SlvSpec, SlvVehicle, validate_slv

SUBSTEP_S = 1.0  # longest RK4 step of the powered flight
ORBIT_SPAN_S = 1800.0  # an object still up this long after launch is sampled to here and no further
TOLERANCE = 1e-4
MAX_ITERATIONS = 40
ACCEL_SCALE_LIMITS = (0.5, 3.0)
PITCH_LIMITS_DEG = (-30.0, 89.0)

_HALF_PI = 0.5 * math.pi


@dataclass(frozen=True)
class SlvProgramme:
    """A flyable programme: the vehicle (burn times applied), thrust scale, pitch and headings."""

    launch_lat_deg: float
    launch_lon_deg: float
    vehicle: SlvVehicle
    accel_scale: float
    pitch_end_deg: tuple[float, ...]  # elevation at each stage's burnout
    heading_az_deg: float
    last_heading_az_deg: float | None = None  # None: the last stage stays in the first plane


def _plane_normal(pos: np.ndarray, heading_az_deg: float) -> tuple[float, float, float]:
    """Unit normal (ECEF) of the vertical plane through pos (ECEF m) on heading_az_deg."""
    lat, lon, _ = ecef_to_geodetic(np.asarray(pos, float))
    east, north, _ = enu_rotation(float(lat), float(lon))
    az = math.radians(heading_az_deg)
    d0 = math.sin(az) * east + math.cos(az) * north
    n = np.cross(pos / np.linalg.norm(pos), d0)
    n /= np.linalg.norm(n)
    return float(n[0]), float(n[1]), float(n[2])


def _thrust_accel(prog: SlvProgramme, i: int, normal: tuple[float, float, float]):
    """acc(t, state) of stage i (0-based) burning: free flight with the stack's drag plus thrust."""
    veh = prog.vehicle
    ign, bo = veh.stage_windows()[i]
    st = veh.stages[i]
    a0 = st.accel0_mps2 * prog.accel_scale
    frac = 1.0 - 1.0 / st.mass_ratio
    if i == 0:
        e0, t_e0 = _HALF_PI, veh.vertical_rise_s
    else:
        e0, t_e0 = math.radians(prog.pitch_end_deg[i - 1]), ign
    e1 = math.radians(prog.pitch_end_deg[i])
    inv_beta = 1.0 / veh.stack_beta_kg_m2
    nx, ny, nz = normal

    def acc(t: float, x: float, y: float, z: float, vx: float, vy: float, vz: float):
        mag = a0 / (1.0 - frac * min(max(t - ign, 0.0), bo - ign) / (bo - ign))
        elev = e0 if t <= t_e0 else e0 + (e1 - e0) * min((t - t_e0) / (bo - t_e0), 1.0)
        return thrust_accel(x, y, z, vx, vy, vz, inv_beta, nx, ny, nz, mag, elev)

    return acc


def powered(prog: SlvProgramme, until_s: float, sample_dt_s: float | None = None,
            extra_events: tuple[float, ...] = ()) -> Nodes:
    """The stack's flight from the pad to until_s (s after launch): thrust in each stage's window, free
    flight (stack drag) in the coasts between. Nodes on every event (vertical rise, ignitions, burnouts,
    extra_events) and multiple of sample_dt_s. impacted: the stack came back to the ground."""
    veh = prog.vehicle
    windows = veh.stage_windows()
    events = {0.0, until_s, veh.vertical_rise_s, *extra_events}
    for ign, bo in windows:
        events.update((ign, bo))
    if sample_dt_s:
        events.update(float(v) for v in np.arange(0.0, until_s, sample_dt_s))
    grid = sorted(round(e, 9) for e in events if 0.0 <= e <= until_s)

    p0 = geodetic_to_ecef(math.radians(prog.launch_lat_deg), math.radians(prog.launch_lon_deg), 0.0)
    n_first = _plane_normal(p0, prog.heading_az_deg)
    inv_beta = 1.0 / veh.stack_beta_kg_m2

    def coast(_t: float, x: float, y: float, z: float, vx: float, vy: float, vz: float):
        return coast_accel(x, y, z, vx, vy, vz, inv_beta)

    accs: dict[int, object] = {}
    s: State = (float(p0[0]), float(p0[1]), float(p0[2]), 0.0, 0.0, 0.0)
    ts, states = [0.0], [s]
    last = len(windows) - 1
    for a, b in itertools.pairwise(grid):
        mid = 0.5 * (a + b)
        i = next((k for k, (ign, bo) in enumerate(windows) if ign <= mid < bo), None)
        if i is None:
            acc = coast
        else:
            if i not in accs:
                normal = n_first
                if i == last and prog.last_heading_az_deg is not None and last > 0:
                    normal = _plane_normal(np.array(s[:3]), prog.last_heading_az_deg)
                accs[i] = _thrust_accel(prog, i, normal)
            acc = accs[i]
        n_sub = max(1, math.ceil((b - a) / SUBSTEP_S - 1e-9))
        h = (b - a) / n_sub
        for k in range(n_sub):
            s = rk4(acc, a + k * h, s, h)
        ts.append(b)
        states.append(s)
        if b > veh.vertical_rise_s and approx_alt(*s[:3]) < -50.0:
            return Nodes(ts, states, True)
    return Nodes(ts, states, False)


def orbit_figures(state: State) -> tuple[float, float, float, float]:
    """(height m, flight-path angle rad, inertial speed over circular speed, inclination rad) of an ECEF
    state (m, m/s); inertial velocity v + w x r."""
    x, y, z, vx, vy, vz = state
    vix, viy = vx - OMEGA_RAD_S * y, vy + OMEGA_RAD_S * x
    r = math.sqrt(x * x + y * y + z * z)
    v = math.sqrt(vix * vix + viy * viy + vz * vz)
    fpa = math.asin((x * vix + y * viy + z * vz) / (r * v))
    hz = x * viy - y * vix
    hx, hy = y * vz - z * viy, z * vix - x * vz
    incl = math.acos(hz / math.sqrt(hx * hx + hy * hy + hz * hz))
    return approx_alt(x, y, z), fpa, v / math.sqrt(GM_M3_S2 / r), incl


@dataclass(frozen=True)
class SlvSolution:
    """A solved satellite launch: the nominal spec, its programme and the state at insertion (ECEF m, m/s)."""

    spec: SlvSpec
    programme: SlvProgramme
    insertion_state: State
    iterations: int
    evaluations: int


def _pitches(n: int, e_first: float, e_last: float) -> tuple[float, ...]:
    """Elevation (deg) at each of n stages' burnouts: the first and last solved, the middle ones between."""
    if n == 1:
        return (e_last,)
    return tuple(e_first + (e_last - e_first) * k / (n - 1) for k in range(n))


def _initial_heading(spec: SlvSpec) -> float:
    """Launch heading for spec's inclination alone: sin az = cos i / cos lat, the southward branch."""
    c = math.cos(math.radians(spec.inclination_deg)) / math.cos(math.radians(spec.launch_lat_deg))
    az = math.degrees(math.asin(max(-1.0, min(1.0, c))))
    return (180.0 - az) % 360.0


@functools.lru_cache(maxsize=64)
def solve_slv(spec: SlvSpec) -> SlvSolution:
    """The programme that puts spec's vehicle into a circular orbit at orbit_alt_km (and inclination).
    The failure, if any, is ignored: the vehicle is aimed as if nominal. InputError if out of reach."""
    spec = spec.nominal()
    veh = validate_slv(spec)
    n = len(veh.stages)
    target_m = spec.orbit_alt_km * 1e3
    steer = spec.inclination_deg is not None
    dogleg = steer and spec.azimuth_deg is not None
    base_heading = spec.azimuth_deg % 360.0 if spec.azimuth_deg is not None else _initial_heading(spec)
    n_eval = 0

    def prog_of(x: np.ndarray) -> SlvProgramme:
        heading = base_heading if (dogleg or not steer) else float(x[3])
        last = float(x[3]) if dogleg else None
        return SlvProgramme(spec.launch_lat_deg, spec.launch_lon_deg, veh, math.exp(x[0]),
                            _pitches(n, float(x[1]), float(x[2])), heading, last)

    def residual(x: np.ndarray) -> tuple[np.ndarray, State | None]:
        nonlocal n_eval
        n_eval += 1
        path = powered(prog_of(x), veh.insertion_s)
        if path.impacted:
            return np.full(len(x), math.nan), None
        alt, fpa, vr, incl = orbit_figures(path.states[-1])
        r = [(alt - target_m) / 100e3, fpa, vr - 1.0]
        if steer:
            r.append(incl - math.radians(spec.inclination_deg))
        return np.array(r), path.states[-1]

    nominal_dv = sum(st.accel0_mps2 * st.burn_s * math.log(st.mass_ratio) / (1.0 - 1.0 / st.mass_ratio)
                     for st in veh.stages)
    v_need = math.sqrt(GM_M3_S2 / (6.371e6 + target_m)) + 1500.0
    lo = [math.log(ACCEL_SCALE_LIMITS[0]), PITCH_LIMITS_DEG[0], PITCH_LIMITS_DEG[0]]
    hi = [math.log(ACCEL_SCALE_LIMITS[1]), PITCH_LIMITS_DEG[1], PITCH_LIMITS_DEG[1]]
    if steer:
        lo.append(base_heading - 60.0)
        hi.append(base_heading + 60.0)
    lo_a, hi_a = np.array(lo), np.array(hi)
    best = None
    for e1 in (20.0, 30.0, 40.0, 50.0):
        x0 = [math.log(v_need / nominal_dv), e1, 0.0] + ([base_heading] if steer else [])
        x0 = np.clip(np.array(x0), lo_a, hi_a)
        r0, s0 = residual(x0)
        norm0 = float(np.linalg.norm(r0)) if s0 is not None else math.inf
        if best is None or norm0 < best[2]:
            best = (x0, r0, norm0, s0)
    x, r, norm, state = best
    steps = np.array([1e-4, 0.01, 0.01, 0.01][: len(x)])
    for iteration in range(1, MAX_ITERATIONS + 1):
        if norm < TOLERANCE:
            return SlvSolution(spec, prog_of(x), state, iteration, n_eval)
        if state is None:
            break
        jac = np.empty((len(r), len(x)))
        for k, delta in enumerate(steps):
            xk = x.copy()
            xk[k] += delta
            jac[:, k] = (residual(xk)[0] - r) / delta
        try:
            dx = -np.linalg.lstsq(jac, r, rcond=None)[0]
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(dx)):
            break
        dx *= min(1.0, *(np.array([0.3, 15.0, 15.0, 20.0][: len(x)]) / np.maximum(np.abs(dx), 1e-12)))
        t = 1.0
        while t > 1.0 / 64.0:
            x_try = np.clip(x + t * dx, lo_a, hi_a)
            r_try, s_try = residual(x_try)
            norm_try = float(np.linalg.norm(r_try)) if s_try is not None else math.inf
            if norm_try < norm:
                break
            t *= 0.5
        else:
            break
        x, r, norm, state = x_try, r_try, norm_try, s_try
    raise InputError(
        f"no flight of the {veh.name} vehicle reaches a {spec.orbit_alt_km:g} km circular orbit"
        + (f" inclined {spec.inclination_deg:g} degrees" if steer else "")
        + f" from {spec.launch_lat_deg:g}, {spec.launch_lon_deg:g} (residual {norm:.3g})",
        field="orbit_alt_km",
    )


@dataclass(frozen=True)
class _Piece:
    object_id: str
    kind: str  # "warhead" for the payload (the primary object, as for a missile), else "stage"
    t_sep_s: float
    state: State
    beta_kg_m2: float


def _trajectory(piece: _Piece, stack: Nodes, coast: Nodes, dt_s: float) -> ObjectTrajectory:
    """Samples every dt_s from launch: the stack's until separation, then the piece's own free flight."""
    t_end = coast.t_s[-1]
    t = np.arange(0.0, t_end, dt_s)
    if t_end - t[-1] > 1e-6:
        t = np.append(t, t_end)
    pos, vel = np.empty((len(t), 3)), np.empty((len(t), 3))
    on = t < piece.t_sep_s - 1e-9
    tb, sb = np.asarray(stack.t_s), np.asarray(stack.states)
    k = np.minimum(np.searchsorted(tb, t[on] - 1e-7), len(tb) - 1)
    pos[on], vel[on] = sb[k, :3], sb[k, 3:]
    free = ~on
    if len(coast.t_s) >= 2:
        pos[free], vel[free] = hermite_sample(coast, piece.beta_kg_m2, t[free])
    pos[-1], vel[-1] = coast.states[-1][:3], coast.states[-1][3:]
    return ObjectTrajectory(piece.object_id, piece.kind, t, pos, vel,
                            np.where(on, PHASE_BOOST, PHASE_BALLISTIC))


def _debris(spec: SlvSpec, veh: SlvVehicle, t_s: float, state: State) -> list[_Piece]:
    """The pieces of an explosion at t_s: velocities scattered uniformly in a ball of spread_mps about
    the stack's, ballistic coefficients log-uniform over the vehicle's debris range (seeded)."""
    f = spec.failure
    rng = np.random.default_rng(f.seed)
    lo, hi = (math.log(b) for b in veh.debris_beta_kg_m2)
    pieces = []
    for k in range(f.pieces):
        d = rng.normal(size=3)
        d *= f.spread_mps * rng.random() ** (1.0 / 3.0) / np.linalg.norm(d)
        s = (*state[:3], state[3] + d[0], state[4] + d[1], state[5] + d[2])
        pieces.append(_Piece(f"debris{k + 1:02d}", "stage", t_s, s, math.exp(rng.uniform(lo, hi))))
    return pieces


def fly_slv(spec: SlvSpec, dt_s: float = 1.0, span_s: float = ORBIT_SPAN_S) -> Flight:
    """Solve spec's nominal flight (cached), fly it with its failure, and every piece on its own.

    Flight.objects: "payload" first (kind "warhead"; after an explosion, the heaviest remnant), then the
    stages that separated ("stage1", ...), the "fairing", and an explosion's "debris01", .... Objects
    that do not come down (the payload and last stage in orbit) are sampled to span_s after launch.
    Flight.extra["outcome"] is "orbit" or "failure", extra["pieces"] each piece's separation and fall.
    """
    if not (isinstance(dt_s, int | float) and math.isfinite(dt_s) and 0.01 <= dt_s <= 60.0):
        raise InputError(f"sample interval {dt_s!r} s is outside [0.01, 60] s", field="dt_s")
    veh = validate_slv(spec)
    sol = solve_slv(spec.nominal())
    prog = sol.programme
    windows = veh.stage_windows()
    n = len(windows)
    f = spec.failure
    if f is None:
        cut = windows[-1][1]
        separated = n
    else:
        i = f.stage - 1
        cut = windows[i - 1][1] if f.mode == "no_ignition" else windows[i][0] + f.at_s
        separated = i
    extra_ev = (veh.fairing_sep_s, cut)
    stack = powered(prog, cut, sample_dt_s=dt_s, extra_events=extra_ev)
    if stack.impacted:
        raise RuntimeError("the solved stack came down during its own boost")  # the solver guarantees it

    def state_at(t: float) -> State:
        return stack.states[int(np.argmin(np.abs(np.asarray(stack.t_s) - t)))]

    end = stack.states[-1]
    if f is not None and f.mode == "explosion":
        pieces = [_Piece("payload", "warhead", cut, end, veh.stack_beta_kg_m2), *_debris(spec, veh, cut, end)]
    else:
        beta = veh.payload_beta_kg_m2 if f is None else veh.stack_beta_kg_m2
        pieces = [_Piece("payload", "warhead", cut, end, beta)]
    for j in range(separated):
        t_sep = windows[j][1]
        pieces.append(_Piece(f"stage{j + 1}", "stage", t_sep, state_at(t_sep), veh.stages[j].spent_beta_kg_m2))
    if veh.fairing_sep_s < cut:
        pieces.append(_Piece("fairing", "stage", veh.fairing_sep_s, state_at(veh.fairing_sep_s),
                             veh.fairing_beta_kg_m2))

    objects, falls = [], []
    for p in pieces:
        coast = coast_to_impact(p.t_sep_s, p.state, p.beta_kg_m2, max_time_s=max(span_s - p.t_sep_s, dt_s))
        objects.append(_trajectory(p, stack, coast, dt_s))
        lat, lon, _ = ecef_to_geodetic(np.asarray(coast.states[-1][:3], float))
        falls.append({"object_id": p.object_id, "t_sep_s": p.t_sep_s, "beta_kg_m2": p.beta_kg_m2,
                      "fell": coast.impacted, "t_s": coast.t_s[-1],
                      "lat_deg": math.degrees(float(lat)), "lon_deg": math.degrees(float(lon))})
    alts = [approx_alt(*s[:3]) for s in stack.states]
    ok = f is None
    payload = objects[0]
    last = falls[0]
    return Flight(
        spec=spec, objects=objects, flight_time_s=float(payload.t_s[-1]), burnout_t_s=cut,
        burnout_pos_ecef_m=np.asarray(end[:3]), burnout_vel_ecef_mps=np.asarray(end[3:]),
        apogee_km=max(alts) / 1e3, range_km=math.nan,
        impact_lat_deg=math.nan if ok else last["lat_deg"], impact_lon_deg=math.nan if ok else last["lon_deg"],
        extra={"outcome": "orbit" if ok else "failure", "pieces": falls, "heading_az_deg": prog.heading_az_deg,
               "last_heading_az_deg": prog.last_heading_az_deg, "pitch_end_deg": list(prog.pitch_end_deg),
               "accel_scale": prog.accel_scale, "stage_windows_s": windows,
               "solver_iterations": sol.iterations, "solver_evaluations": sol.evaluations},
    )

