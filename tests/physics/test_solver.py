"""The launch solver: it meets what was asked, picks the class, and refuses what cannot be flown."""

from __future__ import annotations

import dataclasses

import pytest

from triwarn.errors import InputError
from triwarn.physics.flight import fly, validate_launch
from triwarn.physics.launch import LaunchSpec
from triwarn.physics.missiles import choose_class, min_energy_range_km
from triwarn.physics.solver import solve_launch

OK = LaunchSpec(39.2, 125.67, apogee_km=90.0, range_km=400.0, azimuth_deg=100.0)


@pytest.mark.parametrize(
    "spec",
    [
        OK,
        LaunchSpec(39.2, 125.67, apogee_km=300.0, range_km=1200.0, aim_lat_deg=35.0, aim_lon_deg=135.0),
        LaunchSpec(-33.0, 20.0, apogee_km=900.0, range_km=4000.0, azimuth_deg=315.0, burn_s=120.0),
    ],
    ids=["srbm-east", "mrbm-aim-southeast", "irbm-west-southern-hemisphere-burn120"],
)
def test_solver_reproduces_apogee_range_and_bearing(spec):
    flight = fly(spec, dt_s=2.0)
    assert flight.apogee_km == pytest.approx(spec.apogee_km, rel=0.01)
    assert flight.range_km == pytest.approx(spec.range_km, rel=0.01)
    sol = solve_launch(spec)
    assert sol.outcome.apogee_km == pytest.approx(spec.apogee_km, rel=1e-3)
    wrap = (sol.outcome.impact_az_deg - sol.target_az_deg + 180.0) % 360.0 - 180.0
    assert abs(wrap) < 0.05
    if spec.burn_s is not None:
        assert flight.burnout_t_s == pytest.approx(spec.burn_s)


def test_burnout_is_the_end_of_the_boost_samples():
    flight = fly(OK, dt_s=1.0)
    warhead = flight.objects[0]
    boost_t = warhead.t_s[warhead.phase == "boost"]
    assert boost_t[-1] < flight.burnout_t_s <= boost_t[-1] + 1.0
    assert flight.extra["burnout_alt_km"] > 0.0 and flight.extra["burnout_speed_mps"] > 1000.0


def test_class_follows_minimum_energy_range():
    assert choose_class(90.0, 400.0).name == "srbm"
    assert choose_class(550.0, 2700.0).name == "mrbm"
    assert choose_class(970.0, 4600.0).name == "irbm"
    assert choose_class(6000.0, 1100.0).name == "icbm"  # lofted: short range, ICBM energy
    # On its own minimum-energy path a flight's minimum-energy range is its range.
    assert min_energy_range_km(650.0, 2700.0) == pytest.approx(2700.0, rel=0.05)


BAD = [
    ({"launch_lat_deg": 91.0}, "launch_lat_deg", "outside"),
    ({"launch_lon_deg": -200.0}, "launch_lon_deg", "outside"),
    ({"apogee_km": 0.0}, "apogee_km", "positive"),
    ({"apogee_km": -5.0}, "apogee_km", "positive"),
    ({"range_km": 0.0}, "range_km", "positive"),
    ({"range_km": 20100.0}, "range_km", "half the Earth"),
    ({"range_km": float("nan")}, "range_km", "finite"),
    ({"azimuth_deg": None}, "azimuth_deg", "exactly one direction"),
    ({"aim_lat_deg": 40.0, "aim_lon_deg": 130.0}, "azimuth_deg", "both"),
    ({"azimuth_deg": None, "aim_lat_deg": 40.0}, "aim_lon_deg", "both latitude and longitude"),
    ({"azimuth_deg": None, "aim_lat_deg": 39.2, "aim_lon_deg": 125.67}, "aim_lat_deg", "launch point"),
    ({"missile_class": "slbm-x"}, "missile_class", "unknown missile class"),
    ({"burn_s": 5.0}, "burn_s", "sane range"),
    ({"burn_s": 1000.0}, "burn_s", "sane range"),
]


@pytest.mark.parametrize("change, field, why", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_impossible_input_names_the_field(change, field, why):
    with pytest.raises(InputError) as err:
        validate_launch(dataclasses.replace(OK, **change))
    assert err.value.field == field
    assert why in str(err.value)


def test_unflyable_apogee_range_pair_says_what_is_reachable():
    with pytest.raises(InputError) as err:
        solve_launch(dataclasses.replace(OK, apogee_km=20.0, range_km=3000.0))
    assert err.value.field == "apogee_km"
    assert "apogee can be about" in str(err.value)


def test_named_class_is_used_and_case_insensitive():
    spec = validate_launch(dataclasses.replace(OK, missile_class="MRBM"))
    assert spec.missile_class == "mrbm"
    assert fly(spec, dt_s=2.0).extra["missile_class"] == "mrbm"
