"""The warning state machine: the sequences people see, and the failures of the real record."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from warn_fixtures import (
    AREAS,
    EXERCISE,
    T0,
    consumer_view,
    feed,
    launch,
    lon_at,
    obs,
    overflight_timeline,
    pred,
    risk,
    run,
    states,
    with_exercise,
)

from triwarn.errors import InputError
from triwarn.warn.cap import to_cap, validate_cap
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer, WarnPolicy, new_run_id


def test_alert_update_passed_only_on_observed_passage_then_all_clear(exercise_machine):
    machine = exercise_machine()
    issued = run(machine, overflight_timeline(), T0, T0 + 1000)
    kinds = [(m.msg_type, states(m)) for _t, m in issued]
    assert kinds[0] == ("Alert", {"JP-02": "shelter"})
    assert issued[0][0] == T0 + 60  # out in the same step the prediction crossed the threshold
    # JP-03, put at risk later, gets a shelter order of its own: JP-02's stands and is not said again.
    assert kinds[1] == ("Alert", {"JP-03": "shelter"}) and not issued[1][1].references
    passed = [(t, m) for t, m in issued if "passed" in states(m).values()]
    assert passed, "never passed"
    t_pass, m_pass = passed[0]
    assert states(m_pass)["JP-02"] == "passed"
    # JP-02 ends at 141.7E; passage needs the missile seen at least 10 km (about 0.12 deg) beyond it.
    assert lon_at(t_pass) >= 141.7 + 0.1
    assert lon_at(t_pass - 5.0) < 141.7 + 0.13  # and it came with the first observation that showed it
    final = issued[-1][1]
    assert final.msg_type == "Update"
    assert set(states(final).values()) == {"clear"}
    assert {a.reason for a in final.areas} == {"beyond"}
    # No area flips back and forth: each area's states only move forward.
    order = {"shelter": 0, "passed": 1, "clear": 2}
    for code in ("JP-02", "JP-03"):
        seq = [order[states(m)[code]] for _t, m in issued if code in states(m)]
        assert seq == sorted(seq)


def test_each_update_supersedes_the_messages_naming_its_areas_and_identifiers_are_unique(exercise_machine):
    machine = exercise_machine()
    issued = run(machine, overflight_timeline(), T0, T0 + 1000)
    msgs = [m for _t, m in issued]
    assert len(msgs) >= 4
    ids = [m.identifier for m in msgs]
    assert len(set(ids)) == len(ids)
    assert msgs[0].msg_type == "Alert" and not msgs[0].references
    for i, m in enumerate(msgs):
        assert m.incident == msgs[0].incident
        assert m.expires_unix_s - m.sent_unix_s == pytest.approx(1800.0)
        assert m.msg_type == "Alert" or m.references
        # Every reference is an earlier message that named one of this message's areas.
        for r in m.references:
            earlier = next(x for x in msgs[:i] if x.identifier == r.identifier)
            assert set(states(earlier)) & set(states(m))
    # JP-02 passes first (it ends at 141.7E, JP-03 at 142.1E): when JP-03 passes later, JP-02's standing
    # "passed" is not said again (before: every message restated every standing state).
    seq02 = [states(m)["JP-02"] for m in msgs if "JP-02" in states(m)]
    assert seq02[seq02.index("passed"):] == ["passed", "clear"]
    assert any(states(m) == {"JP-03": "passed"} for m in msgs)
    assert consumer_view(msgs) == {"JP-02": "clear", "JP-03": "clear"}


def test_a_lost_track_never_passes_and_clears_only_when_its_flight_is_certainly_over(exercise_machine):
    # 2022-11-03: the object vanished over the sea before reaching the area; "passed" was announced from
    # the predicted time. Here radar loses W1 at 134E, long before JP-02 (140E-141.7E).
    lost_at = T0 + 220.0
    issued = run(exercise_machine(), overflight_timeline(lost_at=lost_at), T0, T0 + 1500)
    assert issued[0][1].msg_type == "Alert"
    assert all("passed" not in states(m).values() for _t, m in issued)
    # The predicted entry time (T0+390) goes by: still sheltering.
    standing = [m for t, m in issued if t <= T0 + 1300]
    assert states(standing[-1])["JP-02"] == "shelter"
    t_clear, final = issued[-1]
    assert set(states(final).values()) == {"clear"}
    assert {a.reason for a in final.areas} == {"lost_no_threat"}
    assert T0 + 1300 + 120 <= t_clear <= T0 + 1300 + 120 + 10  # impact time + margin, within 10 s


def test_impact_only_in_the_eez_gives_a_notice_not_a_shelter_alert(exercise_machine):
    machine = exercise_machine()
    tl = {
        T0 + 20.0: [launch()],
        T0 + 300.0: [
            pred(T0 + 300.0, lat=40.5, lon=138.0),
            obs(T0 + 300.0, lon=135.0),
            risk(T0 + 300.0, "JP-02", 0.0, kind="impact", probability_eez=0.8, enter=T0 + 600.0),
        ],
    }
    issued = run(machine, {k: with_exercise(v) for k, v in tl.items()}, T0, T0 + 310)
    assert len(issued) == 1
    msg = issued[0][1]
    assert msg.msg_type == "Alert"
    assert states(msg) == {"JP-02": "notice"}


def test_probability_wobbling_around_the_threshold_does_not_flip_the_area(exercise_machine):
    machine = exercise_machine(WarnPolicy(on_probability=0.05, off_probability=0.01, min_hold_s=60.0))
    wobble = [0.06, 0.04, 0.055, 0.03, 0.02, 0.049, 0.051, 0.015, 0.06, 0.04]
    tl = {T0 + 20.0: [launch()]}
    for i, p in enumerate(wobble):
        t = T0 + 60.0 + 5.0 * i
        tl[t] = [pred(t), obs(t, lon=128.0 + 0.1 * i), risk(t, "JP-05", p)]
    issued = run(machine, {k: with_exercise(v) for k, v in tl.items()}, T0, T0 + 110)
    assert [(m.msg_type, states(m)) for _t, m in issued] == [("Alert", {"JP-05": "shelter"})]


def test_min_hold_keeps_an_area_before_letting_it_go(exercise_machine):
    machine = exercise_machine(WarnPolicy(min_hold_s=60.0))
    tl = {T0 + 20.0: [launch()]}
    for i in range(40):
        t = T0 + 60.0 + 5.0 * i
        tl[t] = [pred(t), obs(t, lon=128.0 + 0.1 * i)] + ([risk(t, "JP-05", 0.5)] if i == 0 else [])
    issued = run(machine, {k: with_exercise(v) for k, v in tl.items()}, T0, T0 + 250)
    assert [m.msg_type for _t, m in issued] == ["Alert", "Update"]
    t_clear, clear = issued[1]
    assert states(clear) == {"JP-05": "clear"}
    assert clear.areas[0].reason == "no_longer_at_risk"
    assert t_clear == T0 + 120.0  # risk gone at T0+70, held until 60 s after the alert


def test_operator_cancel_explains_and_references_the_thread(exercise_machine):
    machine = exercise_machine()
    issued = [m for _t, m in run(machine, overflight_timeline(), T0, T0 + 100)]
    cancel = machine.cancel(
        issued[0].incident, "false_detection", T0 + 110, note="operator K. Sato", exercise=EXERCISE
    )
    assert cancel.msg_type == "Cancel"
    assert [r.identifier for r in cancel.references] == [m.identifier for m in issued]
    assert cancel.cancel_reason == "false_detection"
    assert {a.state for a in cancel.areas} == {"error"}
    # The incident is finished: nothing more comes from it.
    assert machine.step([], T0 + 2000) == []


def test_separated_piece_short_track_does_not_leave_a_shelter_alert_standing(exercise_machine):
    # 2023-04-13: a short track of a separated piece predicted a fall near Hokkaido and a live alert went
    # out. Here P2 (a piece) is seen for 25 s heading for JP-01 and lost; W1, tracked since launch,
    # then predicts a fall far from Japan: the JP-01 alert must be cancelled at once, with the reason.
    machine = exercise_machine()
    tl = {T0 + 20.0: [launch()]}
    for t in range(int(T0 + 40), int(T0 + 400), 5):
        tl.setdefault(float(t), []).append(obs(float(t), lon=126.4 + (t - T0) * 0.02))
    for t in (T0 + 300.0, T0 + 310.0, T0 + 320.0):
        tl[t].append(obs(t, track="P2", lat=42.0, lon=136.0 + (t - T0 - 300.0) * 0.03))
        tl[t] += [
            pred(t, track="P2", lat=43.0, lon=141.5, impact_t=T0 + 600.0),
            risk(t, "JP-01", 0.8, track="P2", kind="impact", enter=T0 + 600.0),
        ]
    tl[T0 + 325.0].append(obs(T0 + 325.0, track="P2", lat=42.0, lon=136.8, status="lost"))
    for t in (T0 + 330.0, T0 + 340.0):
        tl[t].append(pred(t, track="W1", lat=41.0, lon=134.0, impact_t=T0 + 700.0))
    issued = run(machine, {k: with_exercise(v) for k, v in tl.items()}, T0, T0 + 360)
    assert issued[0][1].msg_type == "Alert" and states(issued[0][1]) == {"JP-01": "shelter"}
    t_cancel, cancel = issued[-1]
    assert cancel.msg_type == "Cancel"
    assert cancel.cancel_reason == "separated_piece"
    assert t_cancel - (T0 + 330.0) <= 10.0
    assert all(m.msg_type != "Cancel" for _t, m in issued[:-1])


def test_a_live_separated_piece_keeps_its_own_threat(exercise_machine):
    # The companion's disagreement discredits only a piece that is lost and briefly seen; a piece still
    # tracked toward an area is a falling object and keeps the area sheltered.
    machine = exercise_machine()
    tl = {T0 + 20.0: [launch()]}
    for t in range(int(T0 + 40), int(T0 + 400), 5):
        tt = float(t)
        tl.setdefault(tt, []).append(obs(tt, lon=126.4 + (t - T0) * 0.02))
        if t >= T0 + 300:
            tl[tt].append(obs(tt, track="P2", lat=42.0, lon=136.0 + (t - T0 - 300.0) * 0.01))
            tl[tt] += [
                pred(tt, track="P2", lat=43.0, lon=141.5, impact_t=T0 + 600.0),
                risk(tt, "JP-01", 0.8, track="P2", kind="impact", enter=T0 + 600.0),
            ]
            tl[tt].append(pred(tt, track="W1", lat=41.0, lon=134.0, impact_t=T0 + 700.0))
    issued = run(machine, {k: with_exercise(v) for k, v in tl.items()}, T0, T0 + 400)
    assert [m.msg_type for _t, m in issued] == ["Alert"]


def test_adjacent_subdivisions_are_alerted_with_the_area_when_configured(exercise_machine):
    policy = WarnPolicy(alert_adjacent=True, adjacency={"JP-02": ("JP-03", "JP-05")})
    issued = run(exercise_machine(policy), overflight_timeline(), T0, T0 + 70)
    msg = issued[0][1]
    assert states(msg) == {"JP-02": "shelter", "JP-03": "shelter", "JP-05": "shelter"}
    assert {a.code: a.kind for a in msg.areas} == {
        "JP-02": "overflight",
        "JP-03": "adjacent",
        "JP-05": "adjacent",
    }


def test_live_and_exercise_are_never_mixed():
    live = WarningMachine(Issuer("triwarn.jp-node", live=True), "R1", area_geometry=AREAS.get)
    drill = WarningMachine(Issuer("triwarn.jp-node", exercise=EXERCISE), "R2", area_geometry=AREAS.get)
    with pytest.raises(InputError, match="refuses exercise input"):
        feed(live, with_exercise([launch(), risk(T0 + 60, "JP-02", 0.9)]), T0 + 60)
    with pytest.raises(InputError, match="refuses live input"):
        feed(drill, [launch(), risk(T0 + 60, "JP-02", 0.9)], T0 + 60)
    with pytest.raises(InputError, match="refuses input of exercise 'Other'"):
        feed(drill, with_exercise([risk(T0 + 60, "JP-02", 0.9)], "Other"), T0 + 60)
    with pytest.raises(InputError):
        Issuer("triwarn.jp-node", live=True, exercise=EXERCISE)
    with pytest.raises(InputError):
        Issuer("triwarn.jp-node")  # neither live nor a named exercise
    # Refused input changed nothing; each issuer still works in its own mode.
    assert live.incidents == [] and drill.incidents == []
    [m_live] = feed(live, [launch(), pred(T0 + 60), risk(T0 + 60, "JP-02", 0.9)], T0 + 60)
    [m_drill] = feed(drill, with_exercise([launch(), pred(T0 + 60), risk(T0 + 60, "JP-02", 0.9)]), T0 + 60)
    assert m_live.exercise is None and m_drill.exercise == EXERCISE
    with pytest.raises(InputError):
        live.cancel(m_live.incident, "operator_error", T0 + 70, exercise=EXERCISE)


def test_identifiers_stay_unique_across_restarts(exercise_machine):
    tl = overflight_timeline()
    first = [
        m.identifier
        for _t, m in run(exercise_machine(run_id=new_run_id(T0, b"\x01\x02\x03\x04")), tl, T0, T0 + 500)
    ]
    again = [
        m.identifier
        for _t, m in run(exercise_machine(run_id=new_run_id(T0 + 1, b"\x09\x08\x07\x06")), tl, T0, T0 + 500)
    ]
    assert first and again and not set(first) & set(again)
    assert all(" " not in i and "," not in i for i in first)


def test_bad_events_name_the_field_and_change_nothing(exercise_machine):
    machine = exercise_machine()
    good = with_exercise([launch(), pred(T0 + 60), risk(T0 + 60, "JP-02", 0.9)])
    bad = {**good[2], "probability": 1.7}
    with pytest.raises(InputError, match=r"events:3: field 'probability'"):
        feed(machine, [*good[:2], bad], T0 + 60)
    with pytest.raises(InputError, match="field 'area'"):
        feed(machine, [{**good[2], "area": "Aomori"}], T0 + 60)
    with pytest.raises(InputError, match="field 'lat_deg'"):
        feed(machine, [{**good[1], "lat_deg": "north"}], T0 + 60)
    assert machine.incidents == []
    assert [m.msg_type for m in feed(machine, good, T0 + 60)] == ["Alert"]


def test_one_incident_per_launch(exercise_machine):
    machine = exercise_machine()
    # Repeated launch estimates of one launch (the assessment refines them) stay one incident.
    first = feed(
        machine,
        with_exercise(
            [
                launch(launch_id="L1"),
                launch(t=T0 + 40, launch_id="L1"),
                pred(T0 + 60, launch_id="L1"),
                risk(T0 + 60, "JP-02", 0.9, launch_id="L1"),
            ]
        ),
        T0 + 60,
    )
    # A second launch, with its own id, while the first is still in the air: its own incident and thread.
    second = feed(
        machine,
        with_exercise(
            [
                launch(t=T0 + 100, track="W9", launch_id="L2"),
                pred(T0 + 120, track="W9", launch_id="L2"),
                risk(T0 + 120, "JP-05", 0.9, track="W9", launch_id="L2"),
            ]
        ),
        T0 + 120,
    )
    assert len(machine.incidents) == 2
    assert first[0].incident != second[0].incident
    assert second[0].msg_type == "Alert" and states(second[0]) == {"JP-05": "shelter"}
    # Without ids, a launch far from the open one in time is a new launch too.
    third = exercise_machine(run_id="R9")
    feed(third, with_exercise([launch(), launch(t=T0 + 30), launch(t=T0 + 900, time_unix_s=T0 + 880)]), T0 + 900)
    assert len(third.incidents) == 2


def test_reads_the_assessment_events_as_the_assess_stage_writes_them(exercise_machine):
    events_mod = pytest.importorskip("triwarn.records.events")
    import json

    common = {"launch_id": "L7", "quality": 1.0, "flags": []}
    launch_ev = events_mod.LaunchEvent(
        t=T0 + 30,
        track="S1",
        lat_deg=40.6,
        lon_deg=126.4,
        time_unix_s=T0,
        time_sigma_s=2.0,
        semi_major_m=3000.0,
        semi_minor_m=1000.0,
        orientation_deg=80.0,
        method="backprop",
        **common,
    )
    impact = events_mod.ImpactPrediction(
        t=T0 + 60,
        track="S1",
        lat_deg=40.9,
        lon_deg=170.0,
        time_unix_s=T0 + 1300,
        time_sigma_s=5.0,
        semi_major_m=60_000.0,
        semi_minor_m=20_000.0,
        orientation_deg=88.0,
        powered=False,
        object="primary",
        nations=["kr", "jp"],
        **common,
    )
    over = events_mod.AreaRisk(
        t=T0 + 60,
        track="S1",
        area="JP-02",
        kind="overflight",
        probability=0.9,
        enter_time_unix_s=T0 + 390,
        powered=False,
        object="primary",
        **common,
    )
    eez = events_mod.AreaRisk(
        t=T0 + 60,
        track="S1",
        area="JP-05",
        kind="impact",
        probability=0.0,
        probability_eez=0.4,
        enter_time_unix_s=T0 + 600,
        powered=False,
        object="primary",
        **common,
    )
    lines = [json.loads(events_mod.encode_line(e)) for e in (launch_ev, impact, over, eez)]
    # One decision per message: the sea notice first, the shelter order last (the thread's latest word).
    notice, msg = feed(exercise_machine(), with_exercise(lines), T0 + 60)
    assert notice.msg_type == "Alert" and states(notice) == {"JP-05": "notice"}
    # Two decisions, neither superseding the other: two Alerts that both stand.
    assert msg.msg_type == "Alert" and states(msg) == {"JP-02": "shelter"} and not msg.references
    assert msg.launch is not None and msg.launch.launch_id == "L7"
    assert msg.impact is not None and msg.impact.lon_deg == 170.0


def test_expires_is_refreshed_while_a_warning_stands(exercise_machine):
    # Radar loses W1 early; the shelter stands until the flight is certainly over (T0+1420), so the
    # machine re-issues it before it expires.
    issued = run(exercise_machine(), overflight_timeline(lost_at=T0 + 220.0), T0, T0 + 1500)
    shelters = [(t, m) for t, m in issued if set(states(m).values()) == {"shelter"}]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(shelters)]
    assert len(shelters) >= 3 and max(gaps) <= 600.0
    assert all(m.expires_unix_s > t + 600.0 for t, m in shelters)


def test_a_discredited_piece_is_retracted_while_the_real_threat_stands(exercise_machine):
    machine = exercise_machine()
    tl = overflight_timeline()
    for t in (T0 + 300.0, T0 + 310.0):
        tl[t] = tl.get(t, []) + with_exercise(
            [
                obs(t, track="P2", lat=42.0, lon=136.0 + (t - T0 - 300.0) * 0.03),
                pred(t, track="P2", lat=43.0, lon=141.5, impact_t=T0 + 600.0),
                risk(t, "JP-01", 0.8, track="P2", kind="impact", enter=T0 + 600.0),
            ]
        )
    tl[T0 + 315.0] = with_exercise([obs(T0 + 315.0, track="P2", lat=42.0, lon=136.5, status="lost")])
    issued = run(machine, tl, T0, T0 + 340)
    by_time = {t: states(m) for t, m in issued}
    assert by_time[T0 + 300.0]["JP-01"] == "shelter"
    retract = [(t, m) for t, m in issued if states(m).get("JP-01") == "error"]
    assert retract, [states(m) for _t, m in issued]
    t_err, msg = retract[0]
    # The retraction is its own message, superseding JP-01's shelter order only: JP-02's (and JP-03's)
    # stand, as a CAP consumer holds them, without being said again.
    assert msg.msg_type == "Update" and states(msg) == {"JP-01": "error"}
    assert [m for t, m in issued if t == t_err and m is not msg] == []
    before = [m for t, m in issued if t <= t_err]
    assert consumer_view(before) == {"JP-01": "error", "JP-02": "shelter", "JP-03": "shelter"}
    assert t_err <= T0 + 330.0  # W1's next prediction after the loss disagrees: at once
    xml = to_cap(msg)
    assert validate_cap(xml) == []
    assert "issued in error" in xml.decode() and "誤り" in xml.decode()


def test_a_track_lost_low_near_its_impact_time_has_landed(exercise_machine):
    # W5 comes down on JP-05: seen descending to 20 km, 30 s before the predicted impact, then gone.
    machine = exercise_machine()
    impact_t = T0 + 600.0
    tl = {T0 + 20.0: [launch()]}
    for k, t in enumerate(np.arange(T0 + 300.0, impact_t - 30.0 + 1e-9, 5.0)):
        alt = 300_000.0 - 280_000.0 * (t - (T0 + 300.0)) / (impact_t - 30.0 - (T0 + 300.0))
        tl[float(t)] = [
            obs(float(t), track="W5", lat=39.5, lon=138.0 + 0.01 * k, alt_m=alt),
            pred(float(t), track="W5", lat=39.5, lon=140.2, impact_t=impact_t),
            risk(float(t), "JP-05", 0.9, track="W5", kind="impact", enter=impact_t),
        ]
    issued = run(machine, {k: with_exercise(v) for k, v in tl.items()}, T0, T0 + 800)
    t_clear, clear = issued[-1]
    assert states(clear) == {"JP-05": "clear"} and clear.areas[0].reason == "landed"
    last_seen = impact_t - 30.0
    assert t_clear - last_seen <= WarnPolicy().lost_after_s + 1.0  # as soon as it counts as lost


def test_takes_the_assessment_records_as_they_are(exercise_machine):
    # A node passes its assessment's records and its tracks' observations straight in: no dicts, no
    # exercise mark (the node is one mode for its life; its issuer says which).
    from triwarn.records.events import AreaRisk, ImpactPrediction, LaunchEvent, TrackObservation

    machine = exercise_machine()
    launch_rec = LaunchEvent(t=T0 + 20, lat_deg=40.6, lon_deg=126.4, time_unix_s=T0, launch_id="L1")
    records = [
        launch_rec,
        ImpactPrediction(t=T0 + 60, track="W1", lat_deg=40.9, lon_deg=170.0, time_unix_s=T0 + 1300,
                         semi_major_m=60_000.0, semi_minor_m=20_000.0, orientation_deg=88.0, object="primary",
                         launch_id="L1"),
        AreaRisk(t=T0 + 60, track="W1", area="JP-02", kind="overflight", probability=0.9,
                 enter_time_unix_s=T0 + 390, launch_id="L1"),
        # below the trusted quality: not acted on
        AreaRisk(t=T0 + 60, track="W1", area="JP-03", kind="overflight", probability=0.9,
                 enter_time_unix_s=T0 + 405, launch_id="L1", quality=0.4),
        TrackObservation(t=T0 + 60, track="W1", lat_deg=40.9, lon_deg=lon_at(T0 + 60), alt_m=400_000.0),
    ]
    [msg] = machine.step(records, T0 + 60)
    assert msg.msg_type == "Alert" and states(msg) == {"JP-02": "shelter"}
    assert msg.exercise == EXERCISE and msg.launch is launch_rec
    with pytest.raises(TypeError, match=r"triwarn\.warn\.reader"):
        machine.step(with_exercise([launch()]), T0 + 61)


def test_the_reader_maps_older_role_names_and_keeps_the_flags():
    from triwarn.records.events import ObjectRole
    from triwarn.warn.reader import parse_event

    p = parse_event(pred(T0 + 60, object="warhead", flags=["short_track", "areas_held"]))
    assert p.role == ObjectRole.PRIMARY and p.short and p.areas_held and not p.cutoff_path
    r = parse_event(risk(T0 + 60, "JP-02", 0.9, object="warhead", flags=["separated_piece", "implausible_state"]))
    assert r.role == ObjectRole.SEPARATED and r.implausible
    o = parse_event(obs(T0 + 60, lon=190.0, status="lost"))
    assert not o.alive and o.lon_deg == -170.0
    assert parse_event({"type": "cycle", "t": T0}) is None
    with pytest.raises(InputError, match="unknown object role"):
        parse_event(pred(T0 + 60, object="satellite"))
