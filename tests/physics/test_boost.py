"""The boost: thrust profile against the rocket equation, pitch programme, stage separation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from triwarn.physics.dynamics import gravity_j2_ecef
from triwarn.physics.flight import fly
from triwarn.physics.launch import LaunchSpec
from triwarn.physics.motion import BoostProgramme, boost


def polar_vertical(**kw) -> BoostProgramme:
    args = dict(launch_lat_deg=90.0, launch_lon_deg=0.0, heading_az_deg=0.0, stage_burn_s=(100.0, 60.0),
                stage_mass_ratio=(3.0, 2.5), stage_accel0_mps2=(15.0, 12.0), vertical_rise_s=10.0,
                pitch_end_s=80.0, pitch_end_deg=90.0, boost_beta_kg_m2=math.inf)
    args.update(kw)
    return BoostProgramme(**args)


def test_vertical_boost_from_the_pole_meets_the_rocket_equation():
    # At the pole a vertical flight feels neither Coriolis nor centrifugal terms: speed gained is the ideal
    # delta-v, sum a0 T ln(mu) / (1 - 1/mu), less the gravity loss integrated along the path.
    prog = polar_vertical()
    path = boost(prog, sample_dt_s=0.25)
    states = np.array(path.states)
    t = np.array(path.t_s)
    g = -gravity_j2_ecef(states[:, :3])[:, 2]
    gravity_loss = float(np.sum(0.5 * (g[1:] + g[:-1]) * np.diff(t)))
    ideal = sum(a * tb * math.log(m) / (1.0 - 1.0 / m)
                for a, tb, m in zip(prog.stage_accel0_mps2, prog.stage_burn_s, prog.stage_mass_ratio,
                                    strict=True))
    assert states[-1, 5] == pytest.approx(ideal - gravity_loss, abs=0.05)
    assert np.allclose(states[:, 3:5], 0.0, atol=1e-6)  # stays on the axis


def test_thrust_follows_the_pitch_programme():
    # Drag-free, pitch-over from vertical to 30 deg: the velocity tilts away from vertical only after the
    # vertical rise, and ends in the heading's plane (north from lon 0 on the equator: +z).
    prog = polar_vertical(launch_lat_deg=0.0, pitch_end_deg=30.0)
    path = boost(prog, sample_dt_s=1.0)
    states = np.array(path.states)
    t = np.array(path.t_s)
    up = states[:, :3] / np.linalg.norm(states[:, :3], axis=1, keepdims=True)
    speed = np.linalg.norm(states[:, 3:], axis=1)
    elev = np.degrees(np.arcsin(np.sum(up[1:] * states[1:, 3:], axis=1) / speed[1:]))
    rise = (t[1:] <= prog.vertical_rise_s)
    assert np.all(elev[rise] > 89.0)  # only Coriolis bends it (ECEF frame)
    assert elev[-1] < 40.0
    assert states[-1, 5] > 0.9 * speed[-1]  # downrange is north, +z


def test_spent_stage_rides_with_the_vehicle_until_it_separates():
    flight = fly(LaunchSpec(39.25, 125.87, 4475.0, 950.0, azimuth_deg=95.0), dt_s=1.0)
    objs = {o.object_id: o for o in flight.objects}
    t_sep = flight.extra["stage_burn_s"][0]
    wh, s1 = objs["warhead"], objs["stage1"]
    together = s1.t_s < t_sep
    n = int(together.sum())
    assert np.array_equal(s1.pos_ecef_m[:n], wh.pos_ecef_m[:n])
    assert np.all(s1.phase[:n] == "boost") and np.all(s1.phase[n:] == "ballistic")
    assert np.all(wh.phase[wh.t_s < flight.burnout_t_s] == "boost")
    # After separation the stage stops accelerating while the warhead's upper stage keeps burning.
    k = n + 20
    assert np.linalg.norm(wh.vel_ecef_mps[k]) > np.linalg.norm(s1.vel_ecef_mps[k]) + 100.0
