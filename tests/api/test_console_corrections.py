"""The operator's correction at the API (issue 16): roles, nations and bad bodies refused and audited, a
correction queued at the API that the node's real runner issues at its next step as one CAP message per
state, the two-person rule for Actual alerts, and the audit log's outcome line for every action (issued
or failed), cancels included."""

from __future__ import annotations

import pytest
from lxml import etree
from test_console import CAP_NS, ORIGIN, PASSWORD, T0, audit_lines, client, console, login

from triwarn.api.auth import add_user
from triwarn.node.operator_actions import OperatorCancel
from triwarn.warn.cap import validate_cap


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("users") / "users.json"
    for name, role in (("aiko", "operator"), ("ben", "operator"), ("chie", "viewer")):
        add_user(path, name, "jp", role, PASSWORD)
    return path


@pytest.fixture
def body():
    return {"nation": "jp", "incident": "trun-1", "reason": "false_detection", "remove": ["JP-02"],
            "add": ["JP-03"], "note": "JP-02 was a radar ghost"}


async def test_a_correction_is_issued_at_the_next_step_one_state_per_message_and_its_outcome_audited(
        users_file, tmp_path, body):
    app, _sec, runner = await console(users_file, tmp_path)
    async with client(app) as c:
        await login(c, "chie")
        assert (await c.post("/api/correct", json=body, headers=ORIGIN)).status_code == 403  # a viewer
        await login(c, "aiko")
        listing = (await c.get("/api/cancellable", params={"nation": "jp"})).json()
        assert listing["correctable"] == [{"incident": "trun-1", "areas": {"JP-02": "shelter"}, "suppressed": [],
                                           "lifted": []}]
        assert {"code": "JP-03", "name": "Iwate"} in listing["addable"]
        for bad, status, words in (({**body, "remove": "JP-02"}, 400, "a list of at most"),
                                   ({**body, "remove": ["JP-05"]}, 409, "not warned"),
                                   ({**body, "add": ["KR-11"]}, 409, "not one of this issuer's areas"),
                                   ({**body, "nation": "kr"}, 403, "may not act")):
            r = await c.post("/api/correct", json=bad, headers=ORIGIN)
            assert r.status_code == status and words in r.json()["detail"], (bad, r.json())
        r = await c.post("/api/correct", json=body, headers=ORIGIN)
        assert r.status_code == 202 and r.json()["state"] == "queued"
        again = await c.post("/api/cancel", json={**body, "reason": "operator_error"}, headers=ORIGIN)
        assert again.status_code == 409 and "correct of 'trun-1' is already queued" in again.json()["detail"]
        result, _outs = runner.step(T0 + 32)
        docs = [etree.fromstring(x) for _m, x in result.cap_xml]
        assert all(validate_cap(x) == [] for _m, x in result.cap_xml)
        heads = [{i.findtext("c:language", namespaces=CAP_NS): i.findtext("c:headline", namespaces=CAP_NS)
                  for i in d.findall("c:info", CAP_NS)} for d in docs]
        assert [d.findtext("c:msgType", namespaces=CAP_NS) for d in docs] == ["Update", "Update"]
        assert "in error" in heads[0]["en-US"] and "Aomori" in heads[0]["en-US"]
        assert "Iwate" in heads[1]["en-US"] and "in error" not in heads[1]["en-US"]
        assert all("radar ghost" in d.findtext("c:note", namespaces=CAP_NS) for d in docs)
        listing = (await c.get("/api/cancellable", params={"nation": "jp"})).json()
        assert listing["correctable"][0]["areas"] == {"JP-02": "error", "JP-03": "shelter"}
        assert listing["correctable"][0]["suppressed"] == ["JP-02"]
        last = listing["outcomes"][-1]
        assert last["kind"] == "correct" and last["state"] == "issued" and len(last["cap_identifiers"]) == 2
    lines = audit_lines(tmp_path)
    events = [ln["event"] for ln in lines]
    # The viewer and three refusals (a malformed body is answered 400 before anyone is known); the queued-twice
    # was a cancel.
    assert events.count("correct_refused") == 4
    assert "cancel_refused" in events
    (issued,) = [ln for ln in lines if ln["event"] == "correct_issued"]
    assert issued["user"] == "aiko" and issued["incident"] == "trun-1" and issued["step_unix_s"] == T0 + 32
    assert issued["cap_identifiers"] == [m.identifier for m in result.warnings]


async def test_a_live_correction_waits_for_a_second_operator(users_file, tmp_path, body):
    app, _sec, runner = await console(users_file, tmp_path, exercise=None, two_person=True)
    async with client(app) as c, client(app) as c2:
        await login(c, "aiko")
        await login(c2, "ben")
        bad = await c.post("/api/correct", json={**body, "remove": ["JP-05"]}, headers=ORIGIN)
        assert bad.status_code == 409  # refused at the first click, not after the second operator's
        r = await c.post("/api/correct", json=body, headers=ORIGIN)
        assert r.status_code == 202 and r.json()["state"] == "awaiting_confirmation"
        assert runner.desk.pending() == 0
        awaiting = (await c2.get("/api/cancellable", params={"nation": "jp"})).json()["awaiting"]
        assert [(a["kind"], a["remove"], a["add"]) for a in awaiting] == [("correct", ["JP-02"], ["JP-03"])]
        assert (await c.post(f"/api/correct/{r.json()['id']}/confirm", headers=ORIGIN)).status_code == 403
        assert (await c2.post(f"/api/correct/{r.json()['id']}/confirm", headers=ORIGIN)).status_code == 202
        result, _ = runner.step(T0 + 32)
        assert [m.msg_type for m in result.warnings] == ["Update", "Update"]
        assert all(b"<status>Actual</status>" in x for _m, x in result.cap_xml)
    events = [(ln["event"], ln.get("user"), ln.get("confirmed_by")) for ln in audit_lines(tmp_path)]
    assert ("correct_confirmed", "ben", None) in events and ("correct_issued", "aiko", "ben") in events


async def test_a_cancel_that_fails_at_the_step_is_audited_as_failed(users_file, tmp_path):
    app, _sec, runner = await console(users_file, tmp_path)
    async with client(app) as c:
        await login(c, "aiko")
        r = await c.post("/api/cancel", json={"nation": "jp", "incident": "trun-1", "reason": "operator_error"},
                         headers=ORIGIN)
        assert r.status_code == 202
    runner.node.warner.cancel("trun-1", "separated_piece", T0 + 31.5, exercise="DRILL")  # closed before the step
    runner.step(T0 + 32)
    (failed,) = [ln for ln in audit_lines(tmp_path) if ln["event"] == "cancel_failed"]
    assert failed["user"] == "aiko" and "issued nothing to cancel" in failed["error"]
    assert isinstance(runner.desk.outcomes[-1].action, OperatorCancel)
