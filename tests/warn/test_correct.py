"""The operator's correction at the warning machine (issue 16): removed areas get the error text in an
Update of their own, added areas the shelter order, one state per message; a removed area is not alerted
again on the same evidence, and is when the risk materially changes (new track, a large rise); an added
area is not taken away by the low-risk clear."""

from __future__ import annotations

import pytest
from lxml import etree
from warn_fixtures import EXERCISE, T0, launch, obs, risk, states, with_exercise
from warn_fixtures import feed as feed_live

from triwarn.errors import InputError
from triwarn.warn.cap import to_cap, validate_cap
from triwarn.warn.correction import REALERT_RISE

NS = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}


def feed(machine, events, now):
    return feed_live(machine, with_exercise(events), now)


def cycle(t, p02=0.9, p03=0.6, track="W1", lon=135.0):
    """One assessment cycle of a track: it is alive, JP-02 and JP-03 at risk of impact."""
    out = [obs(t, track=track, lon=lon)]
    if p02:
        out.append(risk(t, "JP-02", p02, track=track, kind="impact", enter=T0 + 600))
    if p03:
        out.append(risk(t, "JP-03", p03, track=track, kind="impact", enter=T0 + 600))
    return out


def alerted(exercise_machine):
    machine = exercise_machine()
    first = feed(machine, [launch(), *cycle(T0 + 30)], T0 + 30)
    assert [(m.msg_type, states(m)) for m in first] == [("Alert", {"JP-02": "shelter", "JP-03": "shelter"})]
    return machine, first[0].incident


def test_a_correction_sends_one_message_per_state_with_the_error_text_for_removed_areas(exercise_machine):
    machine, inc = alerted(exercise_machine)
    msgs = machine.correct(inc, T0 + 35, remove=["JP-03"], add=["JP-05"], reason="false_detection",
                           note="JP-03 was a radar ghost", exercise=EXERCISE)
    assert [(m.msg_type, states(m)) for m in msgs] == [
        ("Update", {"JP-03": "error"}), ("Update", {"JP-02": "shelter", "JP-05": "shelter"})]
    assert all(m.operator_note == "JP-03 was a radar ghost" for m in msgs)
    # Both supersede the alert that named JP-03 (and JP-02): the shelter order is restated, sent last.
    assert msgs[0].references == msgs[1].references == (machine.incidents[0].thread[0],)
    doc = etree.fromstring(to_cap(msgs[0]))
    assert validate_cap(to_cap(msgs[0])) == [] and validate_cap(to_cap(msgs[1])) == []
    by_lang = {i.findtext("c:language", namespaces=NS): i.findtext("c:headline", namespaces=NS)
               for i in doc.iterfind("c:info", NS)}
    assert "in error" in by_lang["en-US"] and "誤り" in by_lang["ja-JP"] and "오발령" in by_lang["ko-KR"]
    assert machine.suppressed_areas(inc) == ["JP-03"]


def test_a_removed_area_stays_suppressed_on_the_same_evidence_and_returns_on_new_evidence(exercise_machine):
    machine, inc = alerted(exercise_machine)
    machine.correct(inc, T0 + 35, remove=["JP-03"], exercise=EXERCISE)
    quiet = []
    for k in range(1, 5):  # the same track keeps saying JP-03, a little higher: not a material change
        t = T0 + 35 + 10 * k
        quiet += feed(machine, cycle(t, p03=0.6 + REALERT_RISE * 0.9), t)
    assert quiet == []
    assert machine.suppressed_areas(inc) == ["JP-03"]
    # Another track (a new object, or a partner's sensor) puts JP-03 at risk: the area is alerted again.
    t = T0 + 90
    again = feed(machine, [*cycle(t), *cycle(t, p02=0.0, p03=0.7, track="W2", lon=136.0)], t)
    # Its own shelter order, superseding its error message; JP-02's standing order is not restated.
    assert [(m.msg_type, states(m)) for m in again] == [("Update", {"JP-03": "shelter"})]
    assert machine.suppressed_areas(inc) == []
    (lift,) = machine.lifted
    assert lift.code == "JP-03" and "W2" in lift.why


def test_a_material_rise_of_the_same_tracks_risk_lifts_the_suppression(exercise_machine):
    machine, inc = alerted(exercise_machine)
    machine.correct(inc, T0 + 35, remove=["JP-03"], exercise=EXERCISE)
    assert feed(machine, cycle(T0 + 45, p03=0.6 + REALERT_RISE + 0.05), T0 + 45)[0].areas[-1].code == "JP-03"
    assert "rose" in machine.lifted[-1].why


def test_removing_every_warned_area_is_a_cancel_and_nothing_comes_back_on_the_same_evidence(exercise_machine):
    machine, inc = alerted(exercise_machine)
    (msg,) = machine.correct(inc, T0 + 35, remove=["JP-02", "JP-03"], reason="operator_error", exercise=EXERCISE)
    assert msg.msg_type == "Cancel" and states(msg) == {"JP-02": "error", "JP-03": "error"}
    later = []
    for k in range(1, 4):
        later += feed(machine, cycle(T0 + 35 + 10 * k), T0 + 35 + 10 * k)
    assert later == []


def test_an_added_area_is_not_taken_away_by_the_low_risk_clear(exercise_machine):
    machine, inc = alerted(exercise_machine)
    machine.correct(inc, T0 + 35, add=["JP-05"], exercise=EXERCISE)
    out = []
    for k in range(1, 16):  # 150 s: well past min_hold_s + off_hold_s with no risk at all for JP-05
        out += feed(machine, cycle(T0 + 35 + 10 * k), T0 + 35 + 10 * k)
    assert out == []
    (incident,) = machine.incidents
    assert incident.areas["JP-05"].state == "shelter"


def test_corrections_that_cannot_be_taken_say_why(exercise_machine):
    machine, inc = alerted(exercise_machine)
    cases = [
        (dict(remove=["JP-05"]), "remove", "not warned"),
        (dict(add=["JP-02"]), "add", "already warned"),
        (dict(add=["XX-99"]), "add", "not one of this issuer's areas"),
        (dict(remove=["JP-02"], add=["JP-02"]), "add", "both removed and added"),
        (dict(), "remove", "at least one area"),
        (dict(remove=["JP-02"], reason="bored"), "reason", "unknown reason"),
    ]
    for kwargs, field, words in cases:
        with pytest.raises(InputError, match=words) as e:
            machine.correct(inc, T0 + 35, exercise=EXERCISE, **kwargs)
        assert e.value.field == field
    with pytest.raises(InputError, match="no open incident"):
        machine.correct("R1-9", T0 + 35, remove=["JP-02"], exercise=EXERCISE)
    with pytest.raises(InputError, match="refuses"):
        machine.correct(inc, T0 + 35, remove=["JP-02"], exercise="Another-Drill")
    assert [m for m in feed(machine, cycle(T0 + 40), T0 + 40)] == []  # nothing was half applied
