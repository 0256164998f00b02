"""A wrong boost-phase alert is corrected within 10 s of the evidence (issue 13, triwarn.warn.letgo): the
thrust ended short and the ballistic prediction falls at sea clear of the area, or the object was lost
over the sea after such a prediction. Ordinary noise (a cycle dropping the area while the motor burns,
or while the object still heads there) does not let go early, and a track lost over land stays a
threat."""

from __future__ import annotations

import pytest
from warn_fixtures import T0, launch, obs, pred, risk, run, states, with_exercise

from triwarn.errors import InputError
from triwarn.warn.cap import to_cap, validate_cap
from triwarn.warn.policy import WarnPolicy

BURNOUT = T0 + 100.0  # W1's motor stops (lon_at: 129.9E, over the Sea of Japan)
LAYER = WarnPolicy(boost_alert_probability=0.9, decisive_letgo=True)


def _boost(tl, t, area="JP-02", p=0.95, *, cutoff=False):
    """One powered cycle of W1: its corridor and a boost-layer (or cut-off path) risk for area."""
    flags = ["cutoff_path"] if cutoff else ["boost_risk"]
    cycle = [pred(t, powered=True, flags=["corridor", *flags], impact_t=t + 400.0, time_sigma_s=600.0)]
    if p > 0.0:
        cycle.append(risk(t, area, p, powered=True, flags=flags, enter=T0 + 390.0))
    tl.setdefault(t, []).extend(cycle)


def _flight(*, boost_until=BURNOUT, fall_lon=133.0, fall_lat=40.9, area="JP-02", cutoff=False, last_obs=T0 + 200.0,
            obs_at=None, lost_at=None, ballistic_areas=(), ballistic_quality=0.27):
    """W1 observed every 5 s from T0+40 (obs_at: t -> (lat, lon) overrides) until last_obs, or reported lost
    at lost_at; powered cycles every 5 s from T0+60 until boost_until naming area; then ballistic
    predictions every 5 s falling at (fall_lat, fall_lon), each naming ballistic_areas [(area, p)] only, at
    ballistic_quality (0.27: a settling cycle's, below trust)."""
    tl: dict[float, list] = {T0 + 20.0: [launch()]}
    t = T0 + 40.0
    while t <= last_obs:
        if lost_at is not None and t >= lost_at:
            tl.setdefault(lost_at, []).append(obs(lost_at, status="lost"))
            break
        lat, lon = (obs_at or {}).get(t, (40.9, None))
        tl.setdefault(t, []).append(obs(t, lat=lat, lon=lon))
        t += 5.0
    t = T0 + 60.0
    while t <= T0 + 400.0:
        if t < boost_until:
            _boost(tl, t, area, cutoff=cutoff)
        elif t > boost_until:
            tl.setdefault(t, []).extend([pred(t, lat=fall_lat, lon=fall_lon, impact_t=T0 + 420.0,
                                              semi_major_m=30_000.0, quality=0.9),
                                         *(risk(t, a, p, kind="impact", quality=ballistic_quality)
                                           for a, p in ballistic_areas)])
        t += 5.0
    return {k: with_exercise(v) for k, v in tl.items()}


def _changes(issued, code):
    seq = [(t, states(m)[code], m) for t, m in issued if code in states(m)]
    return [(t, s, m) for k, (t, s, m) in enumerate(seq) if k == 0 or s != seq[k - 1][1]]


def test_a_boost_layer_alert_whose_thrust_ended_short_is_cancelled_within_10_s(exercise_machine):
    issued = run(exercise_machine(LAYER), _flight(), T0, T0 + 300.0)
    changes = _changes(issued, "JP-02")
    assert [s for _t, s, _m in changes] == ["shelter", "clear"], [(t - T0, s) for t, s, _m in changes]
    t_on, t_off, cancel = changes[0][0], changes[1][0], changes[1][2]
    assert t_on == T0 + 60.0
    assert t_off - BURNOUT <= 10.0  # the first ballistic cycle comes 5 s after thrust end
    assert cancel.msg_type == "Cancel" and cancel.areas[0].reason == "thrust_ended_short"
    assert cancel.cancel_reason == "thrust_ended_short"
    assert "Thrust ended short" in cancel.operator_note and "is at sea" in cancel.operator_note
    assert "40.9N 133.0E" in cancel.operator_note
    doc = to_cap(cancel).decode()
    assert "<msgType>Cancel</msgType>" in doc and "Thrust ended short" in doc
    # Why, in every language the alert went out in (the reason's texts, not only the English note).
    assert "engine stopped early" in doc and "推進は早く終了" in doc and "추진이 일찍 종료" in doc
    assert validate_cap(doc) == []
    # Without the decisive let-go the old holds apply: at least min_hold_s after the alert.
    old = _changes(run(exercise_machine(WarnPolicy(boost_alert_probability=0.9, decisive_letgo=False)), _flight(),
                       T0, T0 + 300.0), "JP-02")
    assert old[1][1] == "clear" and old[1][0] - t_on >= 60.0 and old[1][2].msg_type == "Update"


def test_with_another_area_standing_the_wrong_one_gets_its_all_clear(exercise_machine):
    # A second object of the incident (W2) stays a ballistic threat to JP-05: only JP-02 goes, by an Update.
    tl = _flight()
    for t in range(int(T0) + 60, int(T0) + 400, 5):
        tl.setdefault(float(t), []).extend(with_exercise([
            obs(float(t), track="W2", lat=39.6, lon=139.0 + 0.001 * (t - T0)),
            pred(float(t), track="W2", lat=39.6, lon=140.1, impact_t=T0 + 500.0, quality=0.9),
            risk(float(t), "JP-05", 0.6, track="W2", kind="impact", enter=T0 + 500.0, quality=0.9)]))
    issued = run(exercise_machine(LAYER), tl, T0, T0 + 300.0)
    changes = _changes(issued, "JP-02")
    assert changes[0][1] == "shelter" and len(changes) > 1, "JP-02 was never let go"
    t_off, state, msg = changes[1]
    assert state == "clear" and msg.msg_type == "Update" and t_off - BURNOUT <= 10.0
    assert "Thrust ended short" in msg.operator_note
    assert [s for _t, s, _m in _changes(issued, "JP-05")] == ["shelter"]


def test_a_cycle_dropping_the_area_while_the_motor_burns_does_not_let_go(exercise_machine):
    tl = _flight(boost_until=T0 + 300.0)
    for t in (T0 + 80.0, T0 + 85.0, T0 + 90.0):  # three boost cycles without JP-02, motor still burning
        tl[t] = [e for e in tl[t] if e["type"] != "area_risk"]
    issued = run(exercise_machine(LAYER), tl, T0, T0 + 150.0)
    assert [s for _t, s, _m in _changes(issued, "JP-02")] == ["shelter"]


def test_a_ballistic_cycle_dropping_the_area_while_still_heading_there_does_not_let_go(exercise_machine):
    # The fall is far beyond JP-02 (170E) and the sampled path misses it: ordinary holds, not the let-go.
    issued = run(exercise_machine(LAYER), _flight(fall_lon=170.0), T0, T0 + 300.0)
    changes = _changes(issued, "JP-02")
    assert changes[0][1] == "shelter"
    assert all(t - changes[0][0] >= 60.0 for t, s, _m in changes[1:] if s == "clear")


def test_a_cut_off_path_area_whose_thrust_ended_short_is_released(exercise_machine):
    # The cut-off path's band put JP-03 on; the motor stops early and the fall is at sea, 133E.
    issued = run(exercise_machine(WarnPolicy(decisive_letgo=True)), _flight(area="JP-03", cutoff=True), T0, T0 + 300.0)
    changes = _changes(issued, "JP-03")
    assert [s for _t, s, _m in changes] == ["shelter", "clear"]
    assert changes[1][0] - BURNOUT <= 10.0 and changes[1][2].msg_type == "Cancel"


def test_a_track_lost_over_land_stays_a_threat_and_one_lost_at_sea_does_not(exercise_machine):
    # JP-13 (Tokyo) alerted by the layer; W1's last sight is over JP-02's land at T0+95 (drawn there), then
    # it is lost; its ballistic prediction (from T0+105) falls at sea far east, clear of Tokyo.
    land = {T0 + 90.0: (40.9, 139.9), T0 + 95.0: (40.9, 140.5)}
    tl = _flight(area="JP-13", fall_lon=150.0, obs_at=land, lost_at=T0 + 100.0)
    changes = _changes(run(exercise_machine(LAYER), tl, T0, T0 + 300.0), "JP-13")
    assert changes[0][1] == "shelter"
    assert all(t - changes[0][0] >= 60.0 for t, s, _m in changes[1:]), [(t - T0, s) for t, s, _m in changes]
    # The same loss over the sea (133E at T0+95): let go at the first ballistic cycle, with the loss said.
    sea = {T0 + 90.0: (40.9, 132.6), T0 + 95.0: (40.9, 133.0)}
    tl = _flight(area="JP-13", fall_lon=150.0, obs_at=sea, lost_at=T0 + 100.0)
    changes = _changes(run(exercise_machine(LAYER), tl, T0, T0 + 300.0), "JP-13")
    assert changes[1][1] == "clear" and changes[1][0] - (T0 + 100.0) <= 10.0
    assert "lost the missile over the sea" in changes[1][2].operator_note


def test_a_new_track_at_thrust_end_may_be_the_next_stage_and_holds_the_let_go(exercise_machine):
    # W2 is first seen at W1's thrust end, flying on: a multi-stage vehicle's next stage, perhaps.
    tl = _flight()
    for t in range(int(BURNOUT), int(T0) + 300, 5):
        tl.setdefault(float(t), []).extend(with_exercise([obs(float(t), track="W2", lon=130.0 + 0.04 * (t - BURNOUT))]))
    changes = _changes(run(exercise_machine(LAYER), tl, T0, T0 + 300.0), "JP-02")
    assert changes[0][1] == "shelter"
    assert all(t - changes[0][0] >= 60.0 for t, _s, _m in changes[1:]), [(t - T0, s) for t, s, _m in changes]


def test_the_let_go_margin_is_bounded():
    with pytest.raises(InputError, match="letgo_path_margin_m"):
        WarnPolicy(letgo_path_margin_m=-1.0)
