"""The session core: injects reach their seats only, decisions go through the warning machine (status
Exercise), a seat cannot act for another nation (refused and logged), the release policy holds, rewind."""

from __future__ import annotations

import pytest
from lxml import etree

from triwarn.tabletop.plan import load_tabletop
from triwarn.tabletop.report import build_aar, render_html
from triwarn.tabletop.script import new_session
from triwarn.tabletop.session import Refused
from triwarn.tabletop.system import SystemEvent, SystemTimeline
from triwarn.warn.cap import CAP_NS, validate_cap


@pytest.fixture
def session(tabletop):
    plan = load_tabletop(tabletop)
    tl = SystemTimeline(events=[SystemEvent(30.0, "jp", "launch_detected", "JP node: launch detected"),
                                SystemEvent(70.0, "kr", "warning", "KR node issued Alert: shelter KR-49")])
    return new_session(plan, tl)


def kinds(entries):
    return [(e.kind, e.seat) for e in entries]


def test_injects_and_system_events_reach_only_their_seats(session):
    session.advance(130.0)
    jp = session.visible("jp")
    kr = session.visible("kr")
    assert [e.text for e in jp if e.kind == "system"] == ["JP node: launch detected"]
    assert [e.text for e in kr if e.kind == "system"] == ["KR node issued Alert: shelter KR-49"]
    assert [e.data["number"] for e in jp if e.kind == "inject"] == [1]
    assert [e.data["number"] for e in kr if e.kind == "inject"] == [1, 2]  # the false report went to Korea only
    assert len(session.visible("observer-eval")) == len(session.entries) == len(session.visible("controller"))


def test_alert_goes_through_the_warning_machine_as_exercise(session):
    session.advance(90.0)
    e = session.decide("jp", {"action": "issue_alert", "areas": ["JP-47"], "note": "Okinawa", "inject": 1}, 90.0)
    assert e.kind == "decision" and e.data["messages"] == ["triwarn-tabletop-jp.TEST-TTX-jp-1.001"]
    ident, xml = session.caps[-1]
    assert validate_cap(xml) == []
    doc = etree.fromstring(xml)
    assert doc.findtext(f"{{{CAP_NS}}}status") == "Exercise" and doc.findtext(f"{{{CAP_NS}}}msgType") == "Alert"
    c = session.decide("jp", {"action": "cancel", "note": "passed"}, 200.0)
    assert c.kind == "decision"
    doc = etree.fromstring(session.caps[-1][1])
    assert doc.findtext(f"{{{CAP_NS}}}msgType") == "Cancel" and ident in doc.findtext(f"{{{CAP_NS}}}references")
    again = session.decide("jp", {"action": "cancel"}, 210.0)
    assert again.kind == "refused" and "no alert in force" in again.text


def test_a_seat_cannot_act_for_another_nation(session):
    n = len(session.caps)
    by_nation = session.decide("kr", {"action": "issue_alert", "nation": "jp", "areas": ["JP-47"]}, 100.0)
    by_area = session.decide("kr", {"action": "issue_alert", "areas": ["JP-47"]}, 101.0)
    observer = session.decide("observer-eval", {"action": "note", "note": "hello"}, 102.0)
    assert [e.kind for e in (by_nation, by_area, observer)] == ["refused"] * 3
    assert "cannot act for 'jp'" in by_nation.text and "is not JP's" not in by_nation.text
    assert "area JP-47 is not KR's" in by_area.text
    assert len(session.caps) == n  # nothing issued
    # logged: in the timeline the controller and the seat see (Japan's seat is not told)
    assert by_nation in session.visible("controller") and by_nation in session.visible("kr")
    assert by_nation not in session.visible("jp")


def test_release_policy_and_partner_requests(session):
    ok = session.decide("jp", {"action": "release_data", "partner": "us", "data": "impact"}, 300.0)
    no = session.decide("us", {"action": "release_data", "partner": "kr", "data": "track"}, 310.0)
    ask = session.decide("kr", {"action": "ask_partner", "partner": "jp", "note": "Do you see it?"}, 320.0)
    assert ok.kind == "decision" and no.kind == "refused" and "outside the release policy" in no.text
    assert ask in session.visible("jp") and ask not in session.visible("us")


def test_controller_rewinds_to_a_decision_point(session):
    session.advance(400.0)
    assert sum(e.kind == "inject" for e in session.entries) == 3
    with pytest.raises(Refused, match="not a decision point"):
        session.rewind(100.0)
    session.rewind(120.0)
    assert session.branch == 1
    session.advance(400.0)
    again = [e.data["number"] for e in session.entries if e.kind == "inject" and e.branch == 1]
    assert again == [2, 3]  # inject 1 (T+60 s) stays before the decision point


def test_detonation_issues_shelter_alert_for_the_issuer(session):
    session.advance(600.0)
    det = [e for e in session.entries if e.data.get("event") == "detonation"]
    assert len(det) == 1 and det[0].data["affected"]["shelter"] == ["US-GU"]
    ident, xml = session.caps[-1]
    assert ident.startswith("triwarn-tabletop-us.") and validate_cap(xml) == []
    assert det[0] in session.visible("kr")  # every nation's seat is told


def test_aar_has_every_decision_and_latency(session):
    session.advance(60.0)
    session.decide("jp", {"action": "issue_alert", "areas": ["JP-47"], "inject": 1}, 75.0)
    session.decide("kr", {"action": "hold_alert", "areas": ["KR-49"], "inject": 1}, 100.0)
    session.decide("kr", {"action": "issue_alert", "nation": "us", "areas": ["US-GU"]}, 110.0)
    session.decide("controller", {"action": "improvement", "issue": "x", "corrective_action": "y",
                                  "responsible": "kr", "due": "2027-01-01"}, 120.0)
    aar = build_aar(session)
    decided = {e.seq for e in session.entries if e.kind in ("decision", "refused")}
    assert decided <= {r["seq"] for r in aar["timeline"]}
    lat = {(r["inject"], r["seat"]): r["latency_s"] for r in aar["latency"]}
    assert lat == {(1, "us"): None, (1, "jp"): 15.0, (1, "kr"): 40.0}
    assert aar["improvement_plan"][0]["responsible"] == "kr"
    assert aar["objectives"][0]["rating"] == "M"  # 2 of 3 seats answered inject 1
    html = render_html(aar)
    assert "seat kr cannot act for &#x27;us&#x27;" in html and "8. Improvement plan" in html
