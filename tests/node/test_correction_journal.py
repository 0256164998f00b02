"""Operator corrections survive a node restart (issue 16): the node's journal (OUT/state/corrections.jsonl,
triwarn.node.journal) keeps what a Cancel or correction left standing; a new node from the same folder
takes it back, holds the areas against the same evidence (whatever its new track ids), and lets new
evidence (another track) or another object alert as usual. A bad journal line is named and skipped."""

from __future__ import annotations

import json

import pytest

from triwarn.node.core import NationalNode, NodeSettings
from triwarn.node.journal import JOURNAL_NAME, CorrectionJournal
from triwarn.node.operator_actions import OperatorCancel, OperatorCorrect, OperatorDesk
from triwarn.warn.correction import CARRY_MAX_S
from triwarn.warn.reader import read_events

EX = "J-TEST"
T0 = 1_700_000_000.0
LAUNCH = {"lat_deg": 40.6, "lon_deg": 126.4}


def _node(folder, run_id: str, now: float, exercise: str | None = EX):
    node = NationalNode(NodeSettings("jp", exercise=exercise, run_id=run_id, share=False), {})
    desk = OperatorDesk(node)
    errors = desk.attach_journal(CorrectionJournal(folder / "state" / JOURNAL_NAME, exercise=exercise), now)
    return node, desk, errors


def _evidence(t, track, areas=(("JP-02", 0.9),), launch_t=T0, launch_lat=LAUNCH["lat_deg"], launch_id="L1"):
    """One assessment cycle of a track: its launch estimate, its impact prediction and its area risks."""
    out = [{"type": "launch", "t": t, "track": track, "launch_id": launch_id, "lat_deg": launch_lat,
            "lon_deg": LAUNCH["lon_deg"], "time_unix_s": launch_t, "uncertainty_m": 2000.0},
           {"type": "impact_prediction", "t": t, "track": track, "launch_id": launch_id, "lat_deg": 40.8,
            "lon_deg": 140.9, "time_unix_s": launch_t + 600.0, "semi_major_m": 50_000.0,
            "semi_minor_m": 20_000.0, "orientation_deg": 90.0, "confidence": 0.95, "powered": False}]
    out += [{"type": "area_risk", "t": t, "track": track, "launch_id": launch_id, "area": a, "kind": "impact",
             "probability": p, "enter_time_unix_s": launch_t + 600.0} for a, p in areas]
    return [{**e, "exercise": EX} for e in out]


def _step(node, desk, t, events):
    """The node's warning machine given the events at t, then the node's step and the operator desk (as
    NodeRunner.finish does): every message issued at t."""
    msgs = node.warner.step(read_events(events, node.warner.issuer), t)
    result, _ = desk.apply(t, node.step(t))
    return msgs + result.warnings


def _states(msgs):
    return [(m.msg_type, {a.code: a.state for a in m.areas}) for m in msgs]


def _alerted(tmp_path, run_id="ra"):
    node, desk, errors = _node(tmp_path, run_id, T0)
    assert errors == []
    first = _step(node, desk, T0 + 30, _evidence(T0 + 30, "JP-S1"))
    assert _states(first) == [("Alert", {"JP-02": "shelter"})]
    return node, desk, first[0].incident


def test_a_cancel_holds_after_a_restart_until_new_evidence(tmp_path):
    node, desk, inc = _alerted(tmp_path)
    desk.request(OperatorCancel(inc, "false_detection", "aiko", note="radar ghost"))
    assert _states(_step(node, desk, T0 + 35, _evidence(T0 + 35, "JP-S1"))) == [("Cancel", {"JP-02": "error"})]
    # The same track keeps saying JP-02 (a new incident opens for it): nothing, in this run already.
    assert _step(node, desk, T0 + 45, _evidence(T0 + 45, "JP-S1")) == []
    lines = [json.loads(x) for x in (tmp_path / "state" / JOURNAL_NAME).read_text().splitlines()]
    assert [x["event"] for x in lines[:2]] == ["action", "standing"]
    assert lines[0]["kind"] == "cancel" and lines[0]["user"] == "aiko" and lines[0]["identifiers"]
    assert lines[1]["record"]["code"] == "JP-02" and lines[1]["record"]["anchors"]

    # Restart: a new node and warning machine from the same folder, a new run id; its tracker numbers
    # the same object's track differently. The same evidence (its launch estimate a little different).
    node, desk, errors = _node(tmp_path, "rb", T0 + 100)
    assert errors == [] and len(node.warner.carried) == 1
    quiet = []
    for k in range(6):
        t = T0 + 100 + 10 * k
        quiet += _step(node, desk, t, _evidence(t, "JP-S4", launch_t=T0 + 6.0, launch_lat=40.7))
    assert quiet == [], _states(quiet)
    inc_b = node.warner.incidents[0].name
    assert node.warner.suppressed_areas(inc_b) == ["JP-02"]
    # New evidence: another track (another object, or a partner's sensor) puts JP-02 at risk.
    t = T0 + 170
    again = _step(node, desk, t, [*_evidence(t, "JP-S4"), *_evidence(t, "JP-S5", areas=(("JP-02", 0.8),))])
    assert _states(again) == [("Alert", {"JP-02": "shelter"})]
    assert "new evidence" in node.warner.lifted[-1].why and "JP-S5" in node.warner.lifted[-1].why
    ended = [json.loads(x) for x in (tmp_path / "state" / JOURNAL_NAME).read_text().splitlines()][-1]
    assert ended["event"] == "ended" and "JP-S5" in ended["why"]


def test_another_launch_after_a_restart_is_not_held_by_the_cancel(tmp_path):
    node, desk, inc = _alerted(tmp_path)
    desk.request(OperatorCancel(inc, "operator_error", "aiko"))
    _step(node, desk, T0 + 35, [])
    node, desk, _ = _node(tmp_path, "rb", T0 + 600)
    t = T0 + 630  # a real launch ten minutes later from the same site
    out = _step(node, desk, t, _evidence(t, "JP-S1", launch_t=T0 + 600, launch_id="L2"))
    assert _states(out) == [("Alert", {"JP-02": "shelter"})]


def test_a_correction_holds_its_removed_area_and_its_added_one_after_a_restart(tmp_path):
    node, desk, _ = _node(tmp_path, "ra", T0)
    first = _step(node, desk, T0 + 30, _evidence(T0 + 30, "JP-S1", areas=(("JP-02", 0.9), ("JP-03", 0.7))))
    inc = first[0].incident
    desk.request(OperatorCorrect(inc, "false_detection", "aiko", remove=("JP-03",), add=("JP-05",)))
    assert _states(_step(node, desk, T0 + 35, [])) == [("Update", {"JP-03": "error"}),
                                                         ("Update", {"JP-02": "shelter", "JP-05": "shelter"})]
    node, desk, _ = _node(tmp_path, "rb", T0 + 100)
    assert {r.kind for r in node.warner.carried} == {"suppress", "pin"}
    t = T0 + 100
    out = _step(node, desk, t, _evidence(t, "JP-S2", areas=(("JP-02", 0.9), ("JP-03", 0.7))))
    # JP-02 alerted as before the restart, JP-05 again in the shelter order, JP-03 not.
    assert _states(out) == [("Alert", {"JP-02": "shelter", "JP-05": "shelter"})]
    out = []
    for k in range(1, 16):  # 150 s with no risk at all for JP-05: the pin holds it
        t = T0 + 100 + 10 * k
        out += _step(node, desk, t, _evidence(t, "JP-S2", areas=(("JP-02", 0.9), ("JP-03", 0.7))))
    assert all("JP-03" not in {a.code for a in m.areas} for m in out), _states(out)
    assert node.warner.incidents[0].areas["JP-05"].state == "shelter"


def test_bad_journal_lines_are_named_and_skipped_and_the_rest_is_restored(tmp_path):
    node, desk, inc = _alerted(tmp_path)
    desk.request(OperatorCancel(inc, "false_detection", "aiko"))
    _step(node, desk, T0 + 35, [])
    path = tmp_path / "state" / JOURNAL_NAME
    good = path.read_text().splitlines()
    record = json.loads(good[1])
    bad_prob = json.dumps({**record, "record": {**record["record"], "code": "JP-03", "probability": 7}})
    no_key = json.dumps({"v": 1, "t": T0, "event": "ended"})
    path.write_text("\n".join(["{not json", good[0], bad_prob, "\x00\xff" * 10, good[1], no_key,
                               json.dumps({**record, "v": 99}), "x" * 70_000, ""]) + "\n")
    node, desk, errors = _node(tmp_path, "rb", T0 + 100)
    text = "\n".join(errors)
    assert len(errors) == 6, text
    assert "line 1: not JSON" in errors[0]
    assert "line 3: field record.probability" in errors[1]
    assert "line 6: field key" in errors[3]
    assert "line 7: field v" in errors[4]
    assert "line 8: longer than" in errors[5]
    assert [r.code for r in node.warner.carried] == ["JP-02"]  # the good lines still count
    assert _step(node, desk, T0 + 110, _evidence(T0 + 110, "JP-S4")) == []


def test_expired_corrections_are_not_restored_and_a_journal_that_cannot_be_written_is_counted(tmp_path):
    node, desk, inc = _alerted(tmp_path)
    desk.request(OperatorCancel(inc, "false_detection", "aiko"))
    _step(node, desk, T0 + 35, [])
    node, desk, _ = _node(tmp_path, "rb", T0 + 35 + CARRY_MAX_S + 1)
    assert node.warner.carried == []
    last = json.loads((tmp_path / "state" / JOURNAL_NAME).read_text().splitlines()[-1])
    assert last["event"] == "ended"  # the journal says so: the next start restores nothing either
    assert _node(tmp_path, "rc", T0)[0].warner.carried == []

    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the state folder should be")
    node = NationalNode(NodeSettings("jp", exercise=EX, run_id="rd", share=False), {})
    desk = OperatorDesk(node)
    desk.attach_journal(CorrectionJournal(blocked / "state" / JOURNAL_NAME), T0)
    first = _step(node, desk, T0 + 30, _evidence(T0 + 30, "JP-S1"))
    desk.request(OperatorCancel(first[0].incident, "false_detection", "aiko"))
    assert _states(_step(node, desk, T0 + 35, [])) == [("Cancel", {"JP-02": "error"})]  # still issued
    assert desk.journal_errors == 1 and desk._unwritten


@pytest.mark.parametrize("field", ["since_unix_s", "probability"])
def test_journal_numbers_are_bounded(tmp_path, field):
    path = tmp_path / JOURNAL_NAME
    rec = {"kind": "suppress", "run_id": "r", "incident": "r-1", "code": "JP-02", "reason": "operator_error",
           "since_unix_s": T0, "probability": 0.5, "support": ["JP-S1"], "anchors": []}
    path.write_text(json.dumps({"v": 1, "t": T0, "event": "standing", "record": {**rec, field: 1e300}}) + "\n")
    loaded = CorrectionJournal(path).load()
    assert loaded.records == [] and f"field record.{field}" in loaded.errors[0]


def test_an_area_alerted_before_the_object_is_recognised_goes_back_to_error(tmp_path):
    node, desk, inc = _alerted(tmp_path)
    desk.request(OperatorCancel(inc, "false_detection", "aiko"))
    _step(node, desk, T0 + 35, [])
    node, desk, _ = _node(tmp_path, "rb", T0 + 100)
    risk_only = [e for e in _evidence(T0 + 100, "JP-S3") if e["type"] == "area_risk"]
    assert _states(_step(node, desk, T0 + 100, risk_only)) == [("Alert", {"JP-02": "shelter"})]
    # Its launch estimate arrives: the incident is the cancelled object's, JP-02 goes back to error.
    out = _step(node, desk, T0 + 110, _evidence(T0 + 110, "JP-S3"))
    assert _states(out) == [("Cancel", {"JP-02": "error"})]
    assert _step(node, desk, T0 + 120, _evidence(T0 + 120, "JP-S3")) == []


def test_a_live_node_restores_no_exercise_correction(tmp_path):
    node, desk, inc = _alerted(tmp_path)
    desk.request(OperatorCancel(inc, "false_detection", "aiko"))
    _step(node, desk, T0 + 35, [])
    node, desk, errors = _node(tmp_path, "rb", T0 + 100, exercise=None)
    assert node.warner.carried == []
    assert len(errors) == 1 and "made in exercise 'J-TEST', this node runs live; not restored" in errors[0]
    assert _node(tmp_path, "rc", T0 + 100, exercise="Other")[0].warner.carried == []
    assert len(_node(tmp_path, "rd", T0 + 100)[0].warner.carried) == 1  # the exercise's own still restores
