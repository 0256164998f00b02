import numpy as np
from shapely.geometry import box

from triwarn.assess.areas import PolygonAreas
from triwarn.assess.assessor import Assessor
from triwarn.assess.flight import fly_to_ground
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.records.events import AreaRisk, Flag, ImpactPrediction, LaunchEvent

from .conftest import T0_UNIX_S, state_cov, system_track, table

COV = state_cov(100.0, 2.0)


def _track(tid, t_s, state, mode, first_s, nations=("JP", "KR")):
    return system_track(tid, T0_UNIX_S + t_s, state[:3], state[3:], COV, mode, nations,
                        tuple(f"{n}:{tid}" for n in nations), T0_UNIX_S + first_s, T0_UNIX_S + t_s, 1)


def _impact_deg(state):
    hit = fly_to_ground(state[None, :3], state[None, 3:])
    lat, lon, _ = ecef_to_geodetic(hit.pos_ecef_m)
    return float(np.degrees(lat[0])), float(np.degrees(lon[0]))


def _area_around(lat, lon, half_deg=0.7):
    return {"land": box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)}


def test_a_separated_stage_neither_inherits_nor_passes_on_the_warheads_threat(irbm):
    def stage_state(t_s):  # the first stage, spent at 120 s, falls on its own
        return irbm.stage_state("stage1", t_s)

    w_lat, w_lon = _impact_deg(irbm.free_state(irbm.burnout_t_s + 20.0))
    s_lat, s_lon = _impact_deg(stage_state(200.0))
    assert abs(w_lon - s_lon) > 5.0  # the two boxes below are far apart
    areas = PolygonAreas({"JP-02": _area_around(w_lat, w_lon), "JP-01": _area_around(s_lat, s_lon)})
    assessor = Assessor(areas)
    events = []
    for t_s in (30.0, 31.0, 32.0, 33.0, 34.0):
        events += assessor.step(T0_UNIX_S + t_s, table([_track("W", t_s, irbm.boost_state(t_s), "boost", 30.0)]))
    for t_s in (200.0, 210.0, 220.0, 230.0, 240.0):
        tracks = [_track("W", t_s, irbm.free_state(t_s), "ballistic", 30.0),
                  _track("S", t_s, stage_state(t_s), "ballistic", 200.0, nations=("JP",))]
        events += assessor.step(T0_UNIX_S + t_s, table(tracks))

    launches = [e for e in events if isinstance(e, LaunchEvent)]
    assert launches and launches[0].track == "W"
    impacts = {e.track: e for e in events if isinstance(e, ImpactPrediction) and e.t == T0_UNIX_S + 240.0}
    assert impacts["W"].launch_id == impacts["S"].launch_id == launches[0].launch_id  # one launch
    assert impacts["W"].object == "primary" and impacts["S"].object == "separated"
    assert Flag.SEPARATED_PIECE in impacts["S"].flags and Flag.SEPARATED_PIECE not in impacts["W"].flags
    last = [e for e in events if isinstance(e, AreaRisk) and e.t == T0_UNIX_S + 240.0]
    w_impact = {e.area: e.probability for e in last if e.track == "W" and e.kind == "impact"}
    s_impact = {e.area: e.probability for e in last if e.track == "S" and e.kind == "impact"}
    assert w_impact == {"JP-02": 1.0}
    assert s_impact == {"JP-01": 1.0}
    assert not [e for e in last if e.track == "S" and e.area == "JP-02"]
    assert all(e.object == "separated" for e in last if e.track == "S")


def test_a_new_short_track_is_flagged_and_discounted_until_it_has_history(irbm):
    assessor = Assessor()
    s = irbm.free_state(irbm.burnout_t_s + 100.0)
    first = assessor.step(T0_UNIX_S + 300.0, table([_track("N", 300.0, s, "ballistic", 300.0)]))
    imp = next(e for e in first if isinstance(e, ImpactPrediction))
    assert Flag.SHORT_TRACK in imp.flags and imp.quality <= 0.3
    for k in range(1, 6):
        t_s = 300.0 + 5.0 * k
        out = assessor.step(T0_UNIX_S + t_s, table([_track("N", t_s, irbm.free_state(t_s), "ballistic", 300.0)]))
    imp = next(e for e in out if isinstance(e, ImpactPrediction))
    assert Flag.SHORT_TRACK not in imp.flags and imp.quality == 1.0


def test_an_implausible_state_is_flagged_and_gets_no_launch(irbm):
    s = irbm.free_state(irbm.burnout_t_s + 100.0).copy()
    s[3:] *= 3.0  # ~15 km/s: faster than escape
    out = Assessor().step(T0_UNIX_S + 300.0, table([_track("X", 300.0, s, "ballistic", 280.0)]))
    assert not [e for e in out if isinstance(e, LaunchEvent)]
    assert all(Flag.IMPLAUSIBLE_STATE in e.flags and e.quality < 0.1 for e in out)


def test_a_powered_track_gets_a_corridor_not_a_point(irbm):
    out = []
    assessor = Assessor()
    for t_s in (60.0, 61.0):
        out = assessor.step(T0_UNIX_S + t_s, table([_track("B", t_s, irbm.boost_state(t_s), "boost", 60.0)]))
    imp = next(e for e in out if isinstance(e, ImpactPrediction))
    assert imp.powered and imp.corridor and len(imp.corridor) > 2
    assert abs(((imp.azimuth_deg - 88.0) + 180.0) % 360.0 - 180.0) < 5.0
    assert imp.semi_major_m > 10 * imp.semi_minor_m  # long and narrow


def test_a_launch_first_seen_on_a_young_track_is_confirmed_once_the_track_is_trusted(irbm):
    assessor = Assessor()
    launches = []
    for t_s in np.arange(30.0, 56.0, 1.0):
        out = assessor.step(T0_UNIX_S + t_s, table([_track("W", t_s, irbm.boost_state(t_s), "boost", 30.0)]))
        launches += [e for e in out if isinstance(e, LaunchEvent)]
    assert len(launches) == 2
    first, confirmed = launches
    assert Flag.SHORT_TRACK in first.flags and first.quality < 0.5
    assert Flag.SHORT_TRACK not in confirmed.flags and confirmed.quality >= 0.5
    assert (confirmed.launch_id, confirmed.lat_deg, confirmed.time_unix_s) == (
        first.launch_id, first.lat_deg, first.time_unix_s)


def test_two_missiles_of_a_salvo_are_never_called_separated_pieces(irbm):
    from .conftest import truth_flight

    srbm = truth_flight(40.6, 126.4, 100.0, 400.0, 88.0)  # same site, same time, shorter shot
    assessor = Assessor()
    out = []
    for t_s in (30.0, 31.0, 32.0, 33.0, 34.0, 50.0, 60.0):
        out = assessor.step(T0_UNIX_S + t_s, table([_track("A", t_s, irbm.boost_state(t_s), "boost", 30.0),
                                              _track("B", t_s, srbm.boost_state(t_s), "boost", 30.0)]))
    imps = {e.track: e for e in out if isinstance(e, ImpactPrediction)}
    assert imps["A"].launch_id == imps["B"].launch_id  # one launch site and time
    assert {imps["A"].object, imps["B"].object} <= {"primary", "unresolved"}
    assert all(Flag.SEPARATED_PIECE not in e.flags for e in out)


def test_a_failed_launch_estimate_is_retried_with_back_off_not_every_step(monkeypatch):
    # A near-circular state at 300 km: flown back, no sample ever reaches a plausible start, so the real
    # estimate fails. It must be tried again after 2 s, then 4 s, ..., not on every 1 s step.
    import triwarn.assess.assessor as assessor_module
    from triwarn.geo.frames import enu_rotation, geodetic_to_ecef

    lat, lon = np.radians(40.0), np.radians(135.0)
    pos = geodetic_to_ecef(lat, lon, 300e3)
    vel = enu_rotation(lat, lon).T @ np.array([7600.0, 0.0, -100.0])
    calls = []
    real = assessor_module.estimate_launch

    def counting(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(bool(out.ok[0]))
        return out

    monkeypatch.setattr(assessor_module, "estimate_launch", counting)
    assessor = Assessor()
    for k in range(11):
        state = np.concatenate([pos, vel])  # the state itself does not matter for the cadence
        events = assessor.step(T0_UNIX_S + k, table([_track("X", float(k), state, "ballistic", 0.0)]))
        assert not any(isinstance(e, LaunchEvent) for e in events)
    assert calls == [False, False, False]  # at 0, 2 and 6 s (next due at 14 s)


def test_a_piece_appearing_next_to_a_launched_object_joins_its_launch_without_an_estimate(irbm, monkeypatch):
    # The spent first stage, first seen just after separation next to the still-boosting missile, is part of
    # the missile's launch: no back-propagation of its own (from free flight it would be tens of km off and
    # could open a second launch, hence a second incident, for one launch).
    import triwarn.assess.assessor as assessor_module

    rows = []
    real = assessor_module.estimate_launch

    def counting(t, *args, **kwargs):
        rows.append(len(t))
        return real(t, *args, **kwargs)

    monkeypatch.setattr(assessor_module, "estimate_launch", counting)
    assessor = Assessor()
    events = []
    for t_s in (30.0, 31.0, 32.0, 33.0, 34.0):
        events += assessor.step(T0_UNIX_S + t_s, table([_track("W", t_s, irbm.boost_state(t_s), "boost", 30.0)]))
    assert rows and sum(rows) >= 1
    before = len(rows)
    end = min(irbm.burnout_t_s, 135.0)
    for t_s in np.arange(122.0, end + 1e-9, 1.0):
        stage = irbm.stage_state("stage1", t_s)
        assert np.linalg.norm(stage[:3] - irbm.boost_state(t_s)[:3]) < 100e3  # next to the missile
        events += assessor.step(T0_UNIX_S + t_s, table([_track("W", t_s, irbm.boost_state(t_s), "boost", 30.0),
                                                  _track("S", t_s, stage, "ballistic", 122.0)]))
    assert len(rows) == before  # no launch estimate for the stage
    launch_id = next(e for e in events if isinstance(e, LaunchEvent)).launch_id
    s_impacts = [e for e in events if isinstance(e, ImpactPrediction) and e.track == "S"]
    assert s_impacts and all(e.launch_id == launch_id for e in s_impacts)
    assert not any(isinstance(e, LaunchEvent) and e.track == "S" for e in events)
