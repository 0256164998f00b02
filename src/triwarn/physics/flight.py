"""A reported launch flown end to end: the warhead and every spent stage, sampled from launch to impact.

    fly(LaunchSpec(39.2, 125.67, apogee_km=550, range_km=2700, azimuth_deg=73)) -> Flight

Times are seconds after launch; positions and velocities ECEF (m, m/s) over the rotating WGS84 Earth.
Each object is sampled every dt_s from t = 0 and once more at its impact (height 0 on the ellipsoid).
While a piece is still part of the thrusting vehicle its samples are the vehicle's, phase "boost"; from
its separation on (burnout, for the warhead) it flies on its own, phase "ballistic". Boost samples are
integrator nodes; ballistic samples interpolate the free-flight nodes with cubic Hermite polynomials
(position from position and velocity, velocity from velocity and acceleration).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from triwarn.errors import InputError
from triwarn.geo.frames import ecef_to_geodetic, enu_rotation
from triwarn.geo.geodesic import inverse
from triwarn.physics.dynamics import ballistic_accel_ecef
from triwarn.physics.launch import PHASE_BALLISTIC, PHASE_BOOST, Flight, LaunchSpec, ObjectTrajectory
from triwarn.physics.motion import Nodes, apogee_of, approx_alt, boost, coast_to_impact
from triwarn.physics.solver import Solution, solve_launch
from triwarn.physics.validation import validate_launch

__all__ = ["fly", "hermite_sample", "validate_launch"]


def hermite_sample(path: Nodes, beta_kg_m2: float, t_s: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """Positions and velocities (ECEF m, m/s), shape (len(t_s), 3), of a free-flight path at times t_s
    (within the path's span), by cubic Hermite interpolation between its nodes."""
    tn = np.asarray(path.t_s, float)
    sn = np.asarray(path.states, float)
    pos, vel = sn[:, :3], sn[:, 3:]
    acc = ballistic_accel_ecef(pos, vel, beta_kg_m2)
    i = np.clip(np.searchsorted(tn, t_s, side="right") - 1, 0, len(tn) - 2)
    h = (tn[i + 1] - tn[i])[:, None]
    s = (np.asarray(t_s, float) - tn[i])[:, None] / h
    s2, s3 = s * s, s * s * s
    h00, h10, h01, h11 = 2 * s3 - 3 * s2 + 1, s3 - 2 * s2 + s, -2 * s3 + 3 * s2, s3 - s2
    p = h00 * pos[i] + h10 * h * vel[i] + h01 * pos[i + 1] + h11 * h * vel[i + 1]
    v = h00 * vel[i] + h10 * h * acc[i] + h01 * vel[i + 1] + h11 * h * acc[i + 1]
    return p, v


def _object(
    object_id: str, kind: str, powered: Nodes, t_sep_s: float, coast: Nodes, beta_kg_m2: float, dt_s: float
) -> ObjectTrajectory:
    t_impact = coast.t_s[-1]
    t = np.arange(0.0, t_impact, dt_s)
    if t_impact - t[-1] > 1e-6:
        t = np.append(t, t_impact)
    pos = np.empty((len(t), 3))
    vel = np.empty((len(t), 3))
    on_vehicle = t < t_sep_s - 1e-9
    tb = np.asarray(powered.t_s)
    sb = np.asarray(powered.states)
    k = np.searchsorted(tb, t[on_vehicle] - 1e-7)
    pos[on_vehicle], vel[on_vehicle] = sb[k, :3], sb[k, 3:]
    free = ~on_vehicle
    pos[free], vel[free] = hermite_sample(coast, beta_kg_m2, t[free])
    pos[-1], vel[-1] = coast.states[-1][:3], coast.states[-1][3:]
    phase = np.where(on_vehicle, PHASE_BOOST, PHASE_BALLISTIC)
    return ObjectTrajectory(object_id, kind, t, pos, vel, phase)


def _geodetic_deg(pos_ecef_m) -> tuple[float, float, float]:
    lat, lon, alt = ecef_to_geodetic(np.asarray(pos_ecef_m, float))
    return math.degrees(float(lat)), math.degrees(float(lon)), float(alt)


def fly(spec: LaunchSpec, dt_s: float = 1.0) -> Flight:
    """Solve spec (solver.solve_launch, cached) and fly it: Flight.objects holds the warhead first, then
    "stage1", "stage2", ... in separation order. InputError for impossible input or dt_s."""
    if not (isinstance(dt_s, int | float) and math.isfinite(dt_s) and 0.01 <= dt_s <= 60.0):
        raise InputError(f"sample interval {dt_s!r} s is outside [0.01, 60] s", field="dt_s")
    sol: Solution = solve_launch(spec)
    prog, cls = sol.programme, sol.missile_class
    powered = boost(prog, sample_dt_s=dt_s)
    ends = prog.stage_end_s
    pieces = [("warhead", "warhead", ends[-1], cls.warhead_beta_kg_m2)]
    pieces += [(f"stage{i + 1}", "stage", t_end, cls.stage_beta_kg_m2) for i, t_end in enumerate(ends)]
    objects: list[ObjectTrajectory] = []
    coasts: dict[str, Nodes] = {}
    for object_id, kind, t_sep, beta in pieces:
        k = int(np.argmin(np.abs(np.asarray(powered.t_s) - t_sep)))
        coast = coast_to_impact(powered.t_s[k], powered.states[k], beta)
        if not coast.impacted:
            raise RuntimeError(f"{object_id} of a solved launch did not come down")  # solver guarantees it
        coasts[object_id] = coast
        objects.append(_object(object_id, kind, powered, t_sep, coast, beta, dt_s))

    warhead = coasts["warhead"]
    apogee_t, apogee_m = apogee_of(warhead)
    boost_alts = [approx_alt(*s[:3]) for s in powered.states]
    if max(boost_alts) > apogee_m:
        top = int(np.argmax(boost_alts))
        apogee_t, apogee_m = powered.t_s[top], boost_alts[top]
    impact_lat, impact_lon, _ = _geodetic_deg(warhead.states[-1][:3])
    dist_m, _ = inverse(prog.launch_lat_deg, prog.launch_lon_deg, impact_lat, impact_lon)

    bo = np.asarray(powered.states[-1], float)
    bo_lat, bo_lon, bo_alt = _geodetic_deg(bo[:3])
    vel_enu = enu_rotation(math.radians(bo_lat), math.radians(bo_lon)) @ bo[3:]
    stage_impacts = []
    for object_id, coast in coasts.items():
        lat, lon, _ = _geodetic_deg(coast.states[-1][:3])
        d, _ = inverse(prog.launch_lat_deg, prog.launch_lon_deg, lat, lon)
        stage_impacts.append(
            {
                "object_id": object_id,
                "t_s": coast.t_s[-1],
                "lat_deg": lat,
                "lon_deg": lon,
                "range_km": float(d) / 1e3,
            }
        )
    extra = {
        "missile_class": cls.name,
        "burn_s": cls.burn_s,
        "stage_burn_s": list(cls.stage_burn_s),
        "target_az_deg": sol.target_az_deg,
        "heading_az_deg": prog.heading_az_deg,
        "pitch_end_deg": prog.pitch_end_deg,
        "accel_scale": sol.accel_scale,
        "apogee_t_s": apogee_t,
        "burnout_alt_km": bo_alt / 1e3,
        "burnout_speed_mps": float(np.linalg.norm(bo[3:])),
        "burnout_fpa_deg": math.degrees(math.atan2(vel_enu[2], math.hypot(vel_enu[0], vel_enu[1]))),
        "burnout_lat_deg": bo_lat,
        "burnout_lon_deg": bo_lon,
        "impacts": stage_impacts,
        "solver_iterations": sol.iterations,
        "solver_evaluations": sol.evaluations,
    }
    return Flight(
        spec=sol.spec,
        objects=objects,
        flight_time_s=warhead.t_s[-1],
        burnout_t_s=ends[-1],
        burnout_pos_ecef_m=bo[:3],
        burnout_vel_ecef_mps=bo[3:],
        apogee_km=apogee_m / 1e3,
        range_km=float(dist_m) / 1e3,
        impact_lat_deg=impact_lat,
        impact_lon_deg=impact_lon,
        extra=extra,
    )
