"""Stage events (triwarn.assess.stage_events): a new track high and downrange of a known launch is a stage or
piece of it, not a second launch; a second missile from the site is still a launch of its own (issue 14)."""

from types import SimpleNamespace

import numpy as np

from triwarn.assess.assessor import Assessor
from triwarn.assess.stage_events import STAGE_MIN_ALT_M, LaunchFlights, stage_ignition
from triwarn.geo import geodesic
from triwarn.geo.frames import geodetic_to_ecef
from triwarn.physics.dynamics import approx_alt_m
from triwarn.records.events import LaunchEvent

from .conftest import T0_UNIX_S, state_cov, system_track, table

COV = state_cov(100.0, 2.0)


def _track(tid, t_s, state, mode, first_s, nations=("JP",)):
    return system_track(tid, T0_UNIX_S + t_s, state[:3], state[3:], COV, mode, nations,
                        tuple(f"{n}:{tid}" for n in nations), T0_UNIX_S + first_s, T0_UNIX_S + t_s, 1)


def test_a_powered_track_out_of_a_flying_object_high_up_is_a_stage_and_not_one_low_or_apart(irbm):
    parent = irbm.boost_state(110.0)
    assert approx_alt_m(parent[None, :3])[0] > STAGE_MIN_ALT_M
    unit = parent[3:] / np.linalg.norm(parent[3:])
    upper = parent[3:] + 150.0 * unit  # lit a few seconds ago
    assert stage_ignition(parent[:3] + 2e3, upper, parent[None, :3], parent[None, 3:]) == 0
    assert stage_ignition(parent[:3] + 2e3, parent[3:] + 1500.0 * unit, parent[None, :3], parent[None, 3:]) == -1
    assert stage_ignition(parent[:3] + 60e3, upper, parent[None, :3], parent[None, 3:]) == -1
    low = irbm.boost_state(40.0)  # a missile boosting low next to another: a salvo, never a stage
    assert approx_alt_m(low[None, :3])[0] < STAGE_MIN_ALT_M
    assert stage_ignition(low[:3], low[3:], low[None, :3] + 1e3, low[None, 3:]) == -1


def test_an_estimate_under_a_known_flight_is_a_stage_event_and_one_at_its_site_is_a_launch():
    # A flight due south from 39.66 N 124.71 E, climbing to 300 km, recorded every 5 s.
    flights = LaunchFlights()
    for k in range(60):
        t = T0_UNIX_S + 5.0 * k
        pos = geodetic_to_ecef(np.radians(39.66 - 0.06 * k), np.radians(124.71), min(5e3 * k, 300e3))
        flights.record(t, ["A"], ["L1"], [t], pos[None])
    l1 = SimpleNamespace(launch_id="L1", lat_deg=39.66, lon_deg=124.71, semi_major_m=8e3)
    lat = 39.66 - 0.06 * 50  # under the flight at T+250 s, 250 km high there
    assert flights.stage_of(lat, 124.75, T0_UNIX_S + 240.0, 77.0, 130e3, [l1]) == "L1"
    # Far in time from when the flight passed there: no.
    assert flights.stage_of(lat, 124.75, T0_UNIX_S + 900.0, 30.0, 130e3, [l1]) is None
    # Beside the flight by more than the estimate's ellipse and the margin: no.
    d, _ = geodesic.inverse(lat, 124.71, lat, 127.0)
    assert float(d) > 160e3 and flights.stage_of(lat, 127.0, T0_UNIX_S + 250.0, 30.0, 100e3, [l1]) is None
    # At the launch site a minute later: a second launch from the site (a salvo), not a stage.
    assert flights.stage_of(39.66, 124.71, T0_UNIX_S + 60.0, 100.0, 10e3, [l1]) is None


def test_an_upper_stage_lighting_next_to_the_launched_object_joins_its_launch_without_an_estimate(irbm,
                                                                                               monkeypatch):
    import triwarn.assess.assessor as assessor_module

    calls = []
    real = assessor_module.estimate_launch

    def counting(t, *args, **kwargs):
        calls.append(len(t))
        return real(t, *args, **kwargs)

    monkeypatch.setattr(assessor_module, "estimate_launch", counting)
    assessor = Assessor()
    events = []
    for t_s in np.arange(30.0, 115.0, 1.0):
        rows = [_track("W", t_s, irbm.boost_state(t_s), "boost", 30.0)]
        if t_s >= 108.0:  # a new powered track out of it: the next stage, a little faster
            s = irbm.boost_state(t_s)
            rows.append(_track("U", t_s, np.r_[s[:3] + 1e3, s[3:] * (1.0 + 0.03)], "boost", 108.0))
        events += assessor.step(T0_UNIX_S + t_s, table(rows))
    launches = [e for e in events if isinstance(e, LaunchEvent)]
    assert {e.launch_id for e in launches} == {"L1"} and {e.track for e in launches} == {"W"}
    assert sum(calls) == 1  # W's estimate only
    assert assessor._hist["U"].launch_id == "L1"


def test_a_second_missile_from_the_same_site_a_minute_later_is_a_launch_of_its_own(irbm):
    assessor = Assessor()
    events = []
    for t_s in np.arange(30.0, 100.0, 1.0):
        rows = [_track("A", t_s, irbm.boost_state(t_s), "boost", 30.0)]
        if t_s >= 90.0:  # the same missile type from the same site, launched 60 s later
            rows.append(_track("B", t_s, irbm.boost_state(t_s - 60.0), "boost", 90.0, nations=("KR",)))
        events += assessor.step(T0_UNIX_S + t_s, table(rows))
    launches = {e.track: e.launch_id for e in events if isinstance(e, LaunchEvent)}
    assert set(launches) == {"A", "B"} and launches["A"] != launches["B"]
