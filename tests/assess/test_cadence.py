"""The assessment cadence a node uses (AssessConfig.impact_interval_s / corridor_interval_s): impact
prediction is the heaviest stage, so a node predicts each ballistic track every few seconds, not at
every step, and says in the prediction when it did not recompute the areas (flag areas_held)."""

from __future__ import annotations

from shapely.geometry import box

from triwarn.assess.areas import PolygonAreas
from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.records.events import AreaRisk, Flag, ImpactPrediction

from .conftest import T0_UNIX_S, state_cov, system_track, table

COV = state_cov(100.0, 2.0)


def _track(tid, t_s, state, mode, first_s):
    return system_track(tid, T0_UNIX_S + t_s, state[:3], state[3:], COV, mode, ("JP", "KR"),
                        ("JP:" + tid, "KR:" + tid), T0_UNIX_S + first_s, T0_UNIX_S + t_s, 1)


def _times(events, kind, track):
    return [round(e.t - T0_UNIX_S) for e in events if isinstance(e, kind) and e.track == track]


def test_impacts_and_corridors_follow_the_cadence_and_burnout_is_predicted_at_once(irbm):
    cfg = AssessConfig(impact_interval_s=5.0, corridor_interval_s=5.0, area_interval_s=10.0)
    areas = PolygonAreas({"JP-02": {"land": box(139.0, 39.0, 143.0, 43.0)}})
    assessor = Assessor(areas, cfg)
    b = irbm.burnout_t_s
    events = []
    steps = [b - 12.0 + k for k in range(12)] + [b + 1.0 + k for k in range(21)]
    for t_s in steps:
        mode = "boost" if t_s <= b else "ballistic"
        state = irbm.boost_state(t_s) if t_s <= b else irbm.free_state(t_s)
        events += assessor.step(T0_UNIX_S + t_s, table([_track("W", t_s, state, mode, b - 40.0)]))
    corridors = [e for e in events if isinstance(e, ImpactPrediction) and e.powered]
    boost_steps = [T0_UNIX_S + t_s for t_s in steps if t_s <= b]
    # The first at once, then at the first step of each later slot of the clock's 5 s grid.
    assert [e.t for e in corridors] == _grid_firsts(boost_steps, 5.0)
    # The cut-off path (the warning floor) at every powered step, whatever the cadence.
    cut_t = sorted({e.t for e in events if isinstance(e, AreaRisk) and Flag.CUTOFF_PATH in e.flags})
    assert cut_t == boost_steps
    impacts = [e for e in events if isinstance(e, ImpactPrediction) and not e.powered]
    # The first ballistic step is predicted at once, then on the 5 s grid.
    free_steps = [T0_UNIX_S + t_s for t_s in steps if t_s > b]
    assert [e.t for e in impacts] == _grid_firsts(free_steps, 5.0)
    # Areas on the 10 s grid: the predictions between carry areas_held, those with areas do not.
    area_t = {e.t for e in events if isinstance(e, AreaRisk) and not e.powered}
    assert area_t == {x for x in _grid_firsts(free_steps, 10.0) if x in {e.t for e in impacts}}
    held = {e.t for e in impacts if Flag.AREAS_HELD in e.flags}
    assert held == {e.t for e in impacts} - area_t and held


def _grid_firsts(times, interval_s):
    """The first time, then the first of each later slot of width interval_s (unix time grid)."""
    out = []
    for t in times:
        if not out or t // interval_s > out[-1] // interval_s:
            out.append(t)
    return out


def test_the_cadence_has_one_phase_for_tracks_first_seen_at_different_times(irbm):
    """Two nodes (or one node with and without sharing) that first hear of an object at different times
    recompute its corridor at the same instants: the phase comes from the clock, not the track."""
    b = irbm.burnout_t_s
    seen = {}
    for first in (b - 60.0, b - 57.0):
        assessor = Assessor(None, AssessConfig(corridor_interval_s=5.0))
        events = []
        for k in range(30):
            t_s = first + k
            events += assessor.step(T0_UNIX_S + t_s, table([_track("W", t_s, irbm.boost_state(t_s), "boost", first)]))
        seen[first] = [e.t for e in events if isinstance(e, ImpactPrediction) and e.powered][1:]
    a, c = seen.values()
    common = sorted(set(a) & set(c))
    span = (common[0], min(a[-1], c[-1]))
    assert len(common) >= 4
    assert [x for x in a if span[0] <= x <= span[1]] == [x for x in c if span[0] <= x <= span[1]]


def test_the_default_still_predicts_every_step(irbm):
    assessor = Assessor()
    b = irbm.burnout_t_s
    events = []
    for k in range(4):
        t_s = b + 10.0 + k
        events += assessor.step(T0_UNIX_S + t_s, table([_track("W", t_s, irbm.free_state(t_s), "ballistic", b - 40.0)]))
    assert len(_times(events, ImpactPrediction, "W")) == 4
    assert not any(Flag.AREAS_HELD in e.flags for e in events if isinstance(e, ImpactPrediction))
