"""Satellite launches: the solver puts the vehicle into the asked orbit; failures and pieces fall."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from triwarn.errors import InputError
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.geo.geodesic import inverse
from triwarn.physics.motion import approx_alt, coast_to_impact
from triwarn.physics.slv import fly_slv, orbit_figures, powered, solve_slv
from triwarn.physics.stages import SlvSpec, StageFailure, validate_slv

SOHAE = (39.66, 124.71)
DOGLEG = SlvSpec(*SOHAE, orbit_alt_km=500.0, azimuth_deg=179.0, inclination_deg=97.4)


def _pieces(flight) -> dict[str, dict]:
    return {p["object_id"]: p for p in flight.extra["pieces"]}


@pytest.mark.parametrize("spec", [
    SlvSpec(*SOHAE, orbit_alt_km=500.0, azimuth_deg=180.0),
    SlvSpec(*SOHAE, orbit_alt_km=500.0, inclination_deg=97.4),
    DOGLEG,
    SlvSpec(*SOHAE, orbit_alt_km=300.0, inclination_deg=97.4),
])
def test_the_solver_reaches_a_circular_orbit_of_the_asked_height_and_inclination(spec):
    sol = solve_slv(spec)
    alt_m, fpa, v_ratio, incl = orbit_figures(sol.insertion_state)
    assert abs(alt_m - spec.orbit_alt_km * 1e3) < 1e3
    assert abs(math.degrees(fpa)) < 0.05 and abs(v_ratio - 1.0) < 1e-3
    if spec.inclination_deg is not None:
        assert math.degrees(incl) == pytest.approx(spec.inclination_deg, abs=0.02)
    # Flown again from the programme alone, the stack reaches the same insertion state.
    again = powered(sol.programme, sol.programme.vehicle.insertion_s)
    assert np.allclose(again.states[-1], sol.insertion_state)


def test_a_straight_sun_synchronous_launch_from_sohae_heads_about_192_degrees():
    sol = solve_slv(SlvSpec(*SOHAE, orbit_alt_km=500.0, inclination_deg=97.4))
    assert 189.0 < sol.programme.heading_az_deg < 195.0  # the notes: "would head about 192 degrees"
    assert sol.programme.last_heading_az_deg is None


def test_a_dog_leg_flies_south_first_then_turns_its_last_stage():
    sol = solve_slv(DOGLEG)
    assert sol.programme.heading_az_deg == pytest.approx(179.0)
    assert sol.programme.last_heading_az_deg > 185.0


def test_nominal_flight_puts_the_payload_in_orbit_and_drops_stages_and_fairing_in_order():
    flight = fly_slv(DOGLEG)
    assert flight.extra["outcome"] == "orbit"
    pieces = _pieces(flight)
    assert set(pieces) == {"payload", "stage1", "stage2", "stage3", "fairing"}
    assert not pieces["payload"]["fell"] and not pieces["stage3"]["fell"]
    assert pieces["stage1"]["fell"] and pieces["stage2"]["fell"] and pieces["fairing"]["fell"]
    assert pieces["stage1"]["t_s"] < pieces["stage2"]["t_s"]
    # Further down the track the later a piece separates (south: smaller latitude).
    assert pieces["stage1"]["lat_deg"] > pieces["fairing"]["lat_deg"] > pieces["stage2"]["lat_deg"]
    for obj in flight.objects:
        boost = obj.phase == "boost"
        assert boost[0] and not boost[-1] and np.all(np.diff(boost.astype(int)) <= 0)  # boost, then free
        if pieces[obj.object_id]["fell"]:
            assert abs(approx_alt(*obj.pos_ecef_m[-1])) < 200.0
    payload = flight.objects[0]
    alts = np.array([approx_alt(*p) for p in payload.pos_ecef_m[payload.t_s > flight.burnout_t_s + 10]])
    assert alts.min() > 480e3 and alts.max() < 520e3  # stays in its orbit while sampled


def test_each_piece_falls_with_its_own_ballistic_coefficient():
    flight = fly_slv(DOGLEG)
    fairing = next(o for o in flight.objects if o.object_id == "fairing")
    k = int(np.flatnonzero(fairing.phase == "ballistic")[0])
    state = (*fairing.pos_ecef_m[k], *fairing.vel_ecef_mps[k])
    light = coast_to_impact(fairing.t_s[k], state, 60.0)
    dense = coast_to_impact(fairing.t_s[k], state, 1e5)
    lat_l, lon_l, _ = ecef_to_geodetic(np.array(light.states[-1][:3]))
    lat_d, lon_d, _ = ecef_to_geodetic(np.array(dense.states[-1][:3]))
    shift_m, _ = inverse(math.degrees(lat_l), math.degrees(lon_l), math.degrees(lat_d), math.degrees(lon_d))
    assert float(shift_m) > 5e3  # drag matters for a light fairing
    assert _pieces(flight)["fairing"]["lat_deg"] == pytest.approx(math.degrees(lat_l), abs=0.01)


def test_a_second_stage_that_does_not_ignite_brings_the_payload_down_near_the_first_stage():
    flight = fly_slv(replace(DOGLEG, failure=StageFailure(2, "no_ignition")))
    pieces = _pieces(flight)
    assert flight.extra["outcome"] == "failure"
    assert set(pieces) == {"payload", "stage1"}  # the fairing never separated
    assert pieces["payload"]["fell"]
    d, _ = inverse(pieces["payload"]["lat_deg"], pieces["payload"]["lon_deg"],
                   pieces["stage1"]["lat_deg"], pieces["stage1"]["lon_deg"])
    assert float(d) < 200e3
    assert flight.impact_lat_deg == pytest.approx(pieces["payload"]["lat_deg"])


def test_an_early_burnout_falls_short_of_the_nominal_stage_fall():
    nominal = _pieces(fly_slv(DOGLEG))
    failed = _pieces(fly_slv(replace(DOGLEG, failure=StageFailure(3, "early_burnout", at_s=60.0))))
    assert failed["payload"]["fell"] and "stage3" not in failed
    assert failed["stage2"]["lat_deg"] == pytest.approx(nominal["stage2"]["lat_deg"])  # before the failure
    assert failed["payload"]["lat_deg"] < nominal["stage2"]["lat_deg"]  # flew on further south


def test_an_explosion_makes_a_seeded_cloud_of_pieces_that_all_fall():
    spec = replace(DOGLEG, failure=StageFailure(1, "explosion", at_s=90.0, pieces=6, spread_mps=150.0, seed=7))
    a, b = fly_slv(spec), fly_slv(spec)
    pieces = _pieces(a)
    debris = [p for k, p in pieces.items() if k.startswith("debris")]
    assert len(debris) == 6 and all(p["fell"] for p in pieces.values())
    assert len({round(p["beta_kg_m2"]) for p in debris}) == 6
    assert [p["lat_deg"] for p in a.extra["pieces"]] == [p["lat_deg"] for p in b.extra["pieces"]]
    other = _pieces(fly_slv(replace(spec, failure=replace(spec.failure, seed=8))))
    assert other["debris01"]["lat_deg"] != pieces["debris01"]["lat_deg"]
    spread = [inverse(pieces["payload"]["lat_deg"], pieces["payload"]["lon_deg"], p["lat_deg"], p["lon_deg"])[0]
              for p in debris]
    assert 0.0 < max(float(s) for s in spread) < 150e3  # a cloud, near where the stack fell


@pytest.mark.parametrize("spec, field", [
    (SlvSpec(*SOHAE, orbit_alt_km=500.0, inclination_deg=30.0), "inclination_deg"),
    (SlvSpec(*SOHAE, orbit_alt_km=50.0, azimuth_deg=180.0), "orbit_alt_km"),
    (SlvSpec(*SOHAE, orbit_alt_km=500.0), "azimuth_deg"),
    (SlvSpec(95.0, 124.7, orbit_alt_km=500.0, azimuth_deg=180.0), "launch_lat_deg"),
    (replace(DOGLEG, stage_burn_s=(100.0, 100.0)), "stage_burn_s"),
    (replace(DOGLEG, failure=StageFailure(4, "explosion", at_s=10.0)), "failure.stage"),
    (replace(DOGLEG, failure=StageFailure(1, "no_ignition")), "failure.stage"),
    (replace(DOGLEG, failure=StageFailure(2, "melted", at_s=10.0)), "failure.mode"),
    (replace(DOGLEG, failure=StageFailure(2, "early_burnout", at_s=900.0)), "failure.at_s"),
    (replace(DOGLEG, vehicle="saturn5"), "vehicle"),
])
def test_impossible_launches_are_refused_naming_the_field(spec, field):
    with pytest.raises(InputError) as err:
        validate_slv(spec)
    assert err.value.field == field


def test_an_orbit_out_of_the_vehicles_reach_is_an_input_error():
    with pytest.raises(InputError) as err:
        solve_slv(SlvSpec(*SOHAE, orbit_alt_km=1900.0, azimuth_deg=180.0, stage_burn_s=(30.0, 30.0, 30.0)))
    assert err.value.field == "orbit_alt_km"
