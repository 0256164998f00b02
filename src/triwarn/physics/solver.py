"""Find the boost that flies a reported launch: given launch point, direction, apogee and ground range.

Unknowns: one factor scaling every stage's thrust acceleration (so the burnout speed), the elevation the
pitch programme ends at (so the trajectory's shape) and the launch heading; the burn times come from the
missile class or from the report. Residuals: relative apogee and range errors and the bearing error of
the impact, so Earth rotation's sideways push is steered out and the impact lies on the reported bearing.
A damped Newton iteration with a finite-difference Jacobian and a backtracking line search solves them,
from a Kepler-conic thrust and the best of a short scan of pitch angles. See docs/physics.md.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from triwarn.errors import InputError
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.geo.geodesic import inverse
from triwarn.physics.launch import LaunchSpec
from triwarn.physics.missiles import MissileClass, choose_class, class_by_name, kepler_surface_launch
from triwarn.physics.motion import BoostProgramme, apogee_of, approx_alt, boost, coast_to_impact
from triwarn.physics.validation import target_azimuth_deg, validate_launch
from triwarn.wording import article

PITCH_OVER_FRACTION = 0.5  # pitch-over ends half-way between the end of the vertical rise and burnout
# Past 90 deg the thrust leans back over the launch point: a short lofted shot must lean against the
# westward drift that Earth rotation gives a near-vertical flight.
PITCH_END_LIMITS_DEG = (3.0, 110.0)
ACCEL_SCALE_MAX = 3.0  # thrust at most 3x the class's nominal
LIFTOFF_THRUST_TO_WEIGHT_MIN = 1.1
TOLERANCE = 1e-4  # on the residual: relative apogee and range error, cross-range over range
MAX_ITERATIONS = 30
FD_STEPS = (1e-4, 0.01, 0.01)  # finite-difference steps in ln scale, pitch (deg), heading (deg)
MAX_STEP = np.array([0.3, 10.0, 20.0])  # largest Newton step in each unknown


@dataclass(frozen=True)
class Outcome:
    """What one trial boost gives (nan when it does not come down or does not get up)."""

    apogee_km: float
    range_km: float
    impact_az_deg: float
    flight_time_s: float

    @property
    def ok(self) -> bool:
        return math.isfinite(self.range_km)


FAILED = Outcome(math.nan, math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class Solution:
    """A solved launch: the validated spec, the vehicle (burn times applied) and its boost programme."""

    spec: LaunchSpec
    missile_class: MissileClass
    programme: BoostProgramme
    accel_scale: float
    target_az_deg: float
    outcome: Outcome
    iterations: int
    evaluations: int


def programme_for(
    spec: LaunchSpec, cls: MissileClass, accel_scale: float, pitch_end_deg: float, heading_az_deg: float
) -> BoostProgramme:
    """The boost programme of vehicle cls from spec's launch point with these solved parameters."""
    tv = cls.vertical_rise_s
    return BoostProgramme(
        launch_lat_deg=spec.launch_lat_deg,
        launch_lon_deg=spec.launch_lon_deg,
        heading_az_deg=heading_az_deg % 360.0,
        stage_burn_s=cls.stage_burn_s,
        stage_mass_ratio=cls.stage_mass_ratio,
        stage_accel0_mps2=tuple(a * accel_scale for a in cls.stage_accel0_mps2),
        vertical_rise_s=tv,
        pitch_end_s=tv + PITCH_OVER_FRACTION * (cls.burn_s - tv),
        pitch_end_deg=pitch_end_deg,
        boost_beta_kg_m2=cls.boost_beta_kg_m2,
    )


def evaluate(prog: BoostProgramme, warhead_beta_kg_m2: float) -> Outcome:
    """Fly the warhead of programme prog to impact: apogee, ground range, impact bearing, flight time."""
    powered = boost(prog)
    if powered.impacted:
        return FAILED
    coast = coast_to_impact(powered.t_s[-1], powered.states[-1], warhead_beta_kg_m2)
    if not coast.impacted:
        return FAILED
    _, apogee_m = apogee_of(coast)
    apogee_m = max(apogee_m, max(approx_alt(*s[:3]) for s in powered.states))
    lat, lon, _ = ecef_to_geodetic(np.array(coast.states[-1][:3]))
    dist_m, az = inverse(prog.launch_lat_deg, prog.launch_lon_deg, math.degrees(lat), math.degrees(lon))
    return Outcome(apogee_m / 1e3, float(dist_m) / 1e3, float(az), coast.t_s[-1])


def vehicle_for(spec: LaunchSpec) -> MissileClass:
    """The class named by spec, or chosen from its apogee and range; burn time from spec if given."""
    if spec.missile_class:
        cls = class_by_name(spec.missile_class)
    else:
        cls = choose_class(spec.apogee_km, spec.range_km)
    return cls.with_burn_s(spec.burn_s) if spec.burn_s is not None else cls


def _nominal_delta_v(cls: MissileClass) -> float:
    return sum(
        a * t * math.log(m) / (1.0 - 1.0 / m)
        for a, t, m in zip(cls.stage_accel0_mps2, cls.stage_burn_s, cls.stage_mass_ratio, strict=True)
    )


def _wrap_deg(d: float) -> float:
    return (d + 180.0) % 360.0 - 180.0


@functools.lru_cache(maxsize=256)
def solve_launch(spec: LaunchSpec) -> Solution:
    """Solve spec (validated first). InputError if no flight of the vehicle meets the apogee and range."""
    spec = validate_launch(spec)
    cls = vehicle_for(spec)
    target_az = target_azimuth_deg(spec)
    ln_apo, ln_rng = math.log(spec.apogee_km), math.log(spec.range_km)
    ln_s_min = math.log(LIFTOFF_THRUST_TO_WEIGHT_MIN * 9.81 / cls.stage_accel0_mps2[0])
    lo = np.array([ln_s_min, PITCH_END_LIMITS_DEG[0], target_az - 90.0])
    hi = np.array([math.log(ACCEL_SCALE_MAX), PITCH_END_LIMITS_DEG[1], target_az + 90.0])
    n_eval = 0

    def residual(x: np.ndarray) -> tuple[np.ndarray, Outcome]:
        """(ln apogee error, ln range error, bearing error in rad) at x = (ln scale, pitch, heading deg)."""
        nonlocal n_eval
        n_eval += 1
        out = evaluate(programme_for(spec, cls, math.exp(x[0]), x[1], x[2]), cls.warhead_beta_kg_m2)
        if not out.ok or out.apogee_km <= 0.0:
            return np.full(3, math.nan), FAILED
        cross = math.radians(_wrap_deg(out.impact_az_deg - target_az))  # ~ cross-range / range
        return np.array([math.log(out.apogee_km) - ln_apo, math.log(out.range_km) - ln_rng, cross]), out

    speed, fpa = kepler_surface_launch(spec.apogee_km, spec.range_km)
    losses = 0.35 * 9.81 * cls.burn_s * (1.0 + math.sin(fpa))
    # The conic's speed sets the thrust well, but its angle ignores Earth rotation, which over a lofted
    # hour turns the ground by ~15 degrees: scan the pitch at that thrust and start from the best one.
    ln_s0 = math.log((speed + losses) / _nominal_delta_v(cls))
    fpa_deg = math.degrees(fpa)
    x, r, out, norm = None, None, FAILED, math.inf
    for pitch in np.linspace(max(fpa_deg - 40.0, lo[1]), min(fpa_deg + 5.0, hi[1]), 7):
        x_try = np.clip(np.array([ln_s0, pitch, target_az]), lo, hi)
        r_try, out_try = residual(x_try)
        norm_try = float(np.linalg.norm(r_try)) if out_try.ok else math.inf
        if x is None or norm_try < norm:
            x, r, out, norm = x_try, r_try, out_try, norm_try
    history: list[float] = []
    for iteration in range(1, MAX_ITERATIONS + 1):
        history.append(norm)
        if norm < TOLERANCE:
            prog = programme_for(spec, cls, math.exp(x[0]), x[1], x[2])
            return Solution(spec, cls, prog, math.exp(x[0]), target_az, out, iteration, n_eval)
        if not out.ok or (len(history) > 6 and norm > 0.5 * history[-6]):
            break  # no flyable start, or stalled against a bound: this pair is out of reach
        jac = np.empty((3, 3))
        for k, delta in enumerate(FD_STEPS):
            xk = x.copy()
            xk[k] += delta
            rk, _ = residual(xk)
            jac[:, k] = (rk - r) / delta
        try:
            dx = -np.linalg.solve(jac, r)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(dx)):
            break
        dx *= min(1.0, *(MAX_STEP / np.maximum(np.abs(dx), 1e-12)))
        # Backtracking line search: halve the step until the residual shrinks.
        t = 1.0
        while t > 1.0 / 64.0:
            x_try = np.clip(x + t * dx, lo, hi)
            r_try, out_try = residual(x_try)
            norm_try = float(np.linalg.norm(r_try)) if out_try.ok else math.inf
            if norm_try < norm:
                break
            t *= 0.5
        else:
            break
        x, r, out, norm = x_try, r_try, out_try, norm_try
    raise _unreachable(spec, cls, target_az, lo[:2], hi[:2])


def _unreachable(
    spec: LaunchSpec, cls: MissileClass, heading: float, lo: np.ndarray, hi: np.ndarray
) -> InputError:
    """The error for an apogee/range pair the vehicle cannot fly, saying which apogees it reaches there."""
    apogees = []
    overshoots = 0  # pitches at which even the least thrust flies too far
    for pitch in np.linspace(PITCH_END_LIMITS_DEG[0], 90.0, 5):

        def f(ln_s: float, pitch: float = float(pitch)) -> tuple[float, float]:
            out = evaluate(programme_for(spec, cls, math.exp(ln_s), pitch, heading), cls.warhead_beta_kg_m2)
            if not out.ok:
                return 1.0, math.nan  # does not come down: treat as too far
            return math.log(out.range_km / spec.range_km), out.apogee_km

        a, b = float(lo[0]), float(hi[0])
        fa, _ = f(a)
        fb, _ = f(b)
        if not (fa < 0.0 < fb):
            overshoots += fa >= 0.0
            continue
        apo = math.nan
        for _ in range(12):
            m = a - fa * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
            m = min(max(m, a + 0.02 * (b - a)), b - 0.02 * (b - a))
            fm, apo = f(m)
            if abs(fm) < 2e-3:
                break
            if fm < 0.0:
                a, fa = m, fm
            else:
                b, fb = m, fm
        if math.isfinite(apo):
            apogees.append(apo)
    what = f"{article(cls.name)} ({cls.burn_s:.0f} s burn)"
    hint = "even the least thrust flies further" if overshoots else "a longer burn reaches further"
    if not apogees:
        return InputError(
            f"no flight of {what} reaches {spec.range_km:g} km (apogee {spec.apogee_km:g} km asked) within "
            f"its thrust limits ({LIFTOFF_THRUST_TO_WEIGHT_MIN:g} x weight at liftoff to "
            f"{ACCEL_SCALE_MAX:g} x nominal): {hint}",
            field="range_km",
        )
    lo_km, hi_km = min(apogees), max(apogees)
    band = f"about {lo_km:.0f} km" if hi_km - lo_km < 0.05 * hi_km else f"about {lo_km:.0f} to {hi_km:.0f} km"
    return InputError(
        f"no flight of {what} meets apogee {spec.apogee_km:g} km at range {spec.range_km:g} km; "
        f"at that range its apogee can be {band} (another burn time changes what is reachable)",
        field="apogee_km",
    )
