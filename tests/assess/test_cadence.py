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
    assert [round(e.t - T0_UNIX_S - (b - 12.0)) for e in corridors] == [0, 5, 10]
    impacts = [e for e in events if isinstance(e, ImpactPrediction) and not e.powered]
    # The first ballistic step is predicted at once, then every 5 s.
    assert [round(e.t - T0_UNIX_S - (b + 1.0)) for e in impacts] == [0, 5, 10, 15, 20]
    # Areas every 10 s: the predictions between carry areas_held, those with areas do not.
    area_t = {round(e.t - T0_UNIX_S - (b + 1.0)) for e in events if isinstance(e, AreaRisk) and not e.powered}
    assert area_t == {0, 10, 20}
    held = {round(e.t - T0_UNIX_S - (b + 1.0)) for e in impacts if Flag.AREAS_HELD in e.flags}
    assert held == {5, 15}


def test_the_default_still_predicts_every_step(irbm):
    assessor = Assessor()
    b = irbm.burnout_t_s
    events = []
    for k in range(4):
        t_s = b + 10.0 + k
        events += assessor.step(T0_UNIX_S + t_s, table([_track("W", t_s, irbm.free_state(t_s), "ballistic", b - 40.0)]))
    assert len(_times(events, ImpactPrediction, "W")) == 4
    assert not any(Flag.AREAS_HELD in e.flags for e in events if isinstance(e, ImpactPrediction))
