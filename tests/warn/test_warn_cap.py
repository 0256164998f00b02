"""CAP 1.2 documents: schema, rules, languages, exercise marking, and the files as a recipient reads them."""

from __future__ import annotations

import re

import pytest
import xmlschema
from lxml import etree
from shapely.geometry import Polygon
from warn_fixtures import AREAS, EXERCISE, T0, feed, launch, overflight_timeline, pred, risk, run, states

from triwarn.warn.area_names import area_name
from triwarn.warn.cap import CAP_NS, XSD_PATH, cap_time, polygons_latlon, to_cap, validate_cap, write_cap
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer
from triwarn.warn.profiles import GENERIC

NS = {"c": CAP_NS}


def _every_kind_of_message(exercise_machine):
    """Alert, Updates (shelter, passed, all-clear), an EEZ notice, an automatic and an operator Cancel."""
    msgs = [m for _t, m in run(exercise_machine(), overflight_timeline(), T0, T0 + 1000)]
    notice = feed(
        exercise_machine(run_id="R2"),
        [
            {**e, "exercise": EXERCISE}
            for e in (
                launch(),
                pred(T0 + 300, lat=40.5, lon=138.0),
                risk(T0 + 300, "JP-02", 0.0, kind="impact", probability_eez=0.8),
            )
        ],
        T0 + 300,
    )
    machine = exercise_machine(run_id="R3")
    first = [m for _t, m in run(machine, overflight_timeline(), T0, T0 + 100)]
    cancel = machine.cancel(
        first[0].incident, "operator_error", T0 + 120, note="drill settings left in", exercise=EXERCISE
    )
    return msgs + notice + first + [cancel]


def test_every_message_type_validates_against_the_xsd_and_the_rules(exercise_machine, tmp_path):
    msgs = _every_kind_of_message(exercise_machine)
    seen = set()
    for msg in msgs:
        xml = to_cap(msg)
        assert validate_cap(xml) == [], msg.identifier
        doc = etree.fromstring(xml)
        responses = {r.text for r in doc.iterfind("c:info/c:responseType", NS)}
        seen.add((msg.msg_type, frozenset(responses)))
        write_cap(msg, tmp_path)
    assert ("Alert", frozenset({"Shelter"})) in seen
    assert ("Alert", frozenset({"Monitor"})) in seen  # the EEZ notice
    assert any(t == "Update" and "Avoid" in r for t, r in seen)  # passed
    assert any(t == "Update" and r == {"AllClear"} for t, r in seen)
    assert any(t == "Cancel" for t, _r in seen)
    # Files are named by identifier and never overwritten.
    assert len(list(tmp_path.glob("*.xml"))) == len(msgs)
    with pytest.raises(FileExistsError):
        write_cap(msgs[0], tmp_path)


def test_the_written_files_pass_a_second_schema_engine_and_the_rules(exercise_machine, tmp_path):
    """Every file as written, read back from disk: the OASIS schema through a second engine (xmlschema, pure
    Python, which also knows the XML-Signature schema the CAP schema admits laxly), then the CAP rules."""
    schema = xmlschema.XMLSchema(str(XSD_PATH))
    paths = [write_cap(m, tmp_path) for m in _every_kind_of_message(exercise_machine)]
    assert len(paths) >= 7
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>"), path.name
        errors = [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(path))]
        assert errors == [], (path.name, errors)
        assert validate_cap(data) == [], path.name


def test_all_clear_is_an_update_with_allclear_and_past(exercise_machine):
    msgs = [m for _t, m in run(exercise_machine(), overflight_timeline(), T0, T0 + 1000)]
    doc = etree.fromstring(to_cap(msgs[-1]))
    assert doc.findtext("c:msgType", namespaces=NS) == "Update"
    for info in doc.iterfind("c:info", NS):
        assert info.findtext("c:responseType", namespaces=NS) == "AllClear"
        assert info.findtext("c:urgency", namespaces=NS) == "Past"
    first = etree.fromstring(to_cap(msgs[0]))
    info = first.find("c:info", NS)
    assert [info.findtext(f"c:{n}", namespaces=NS) for n in ("urgency", "severity", "certainty")] == [
        "Immediate",
        "Extreme",
        "Likely",
    ]
    assert [c.text for c in info.iterfind("c:category", NS)] == ["Security", "Safety"]


def test_times_are_utc_with_minus_zero_offset_and_no_fractions(exercise_machine):
    assert cap_time(T0 + 0.999) == "2022-10-03T22:22:00-00:00"
    msg = run(exercise_machine(), overflight_timeline(), T0, T0 + 70)[0][1]
    doc = etree.fromstring(to_cap(msg))
    stamps = [
        el.text for el in doc.iter(*(f"{{{CAP_NS}}}{n}" for n in ("sent", "effective", "onset", "expires")))
    ]
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-00:00", s) for s in stamps)


def _both_sheltered(machine):
    """The first shelter message for JP-02 and JP-03 together (one state per message: all the areas that
    entered it in that step): here both are put at risk at T0+60."""
    both = {T0 + 60.0: [risk(T0 + 60.0, "JP-03", 0.3, enter=T0 + 405.0)]}
    msgs = [m for _t, m in run(machine, overflight_timeline(extra=both), T0, T0 + 100)]
    return next(m for m in msgs if {a.code for a in m.areas} == {"JP-02", "JP-03"})


def test_three_languages_with_the_area_names_in_each(exercise_machine):
    msg = _both_sheltered(exercise_machine())
    doc = etree.fromstring(to_cap(msg))
    infos = doc.findall("c:info", NS)
    assert [i.findtext("c:language", namespaces=NS) for i in infos] == ["en-US", "ja-JP", "ko-KR"]
    for info in infos:
        lang = info.findtext("c:language", namespaces=NS)
        for code in ("JP-02", "JP-03"):
            name = area_name(code)[lang]
            assert name in info.findtext("c:description", namespaces=NS)
            assert name in [a.text for a in info.iterfind("c:area/c:areaDesc", NS)]
        assert {g.text for g in info.iterfind("c:area/c:geocode/c:value", NS)} == {"JP-02", "JP-03"}
    ja = infos[1].findtext("c:description", namespaces=NS)
    # J-Alert's first-message shape, local time with 午前/午後; Korean authority first, 공습경보, 오전/오후.
    assert "ミサイル発射。ミサイル発射。" in ja and "青森県" in ja and "午前7時22分頃" in ja
    assert "建物の中、又は地下に避難して下さい。" in infos[1].findtext("c:instruction", namespaces=NS)
    ko = infos[2].findtext("c:description", namespaces=NS)
    assert "[triwarn] 오전 7시 22분" in ko and "아오모리현, 이와테현 지역에 공습경보 발령" in ko
    assert "7:22 AM JST" in infos[0].findtext("c:description", namespaces=NS)
    assert infos[0].findtext("c:event", namespaces=NS) == "Missile Launch"
    assert infos[1].findtext("c:event", namespaces=NS) == "ミサイル発射"
    assert infos[2].findtext("c:event", namespaces=NS) == "미사일 발사"


def test_exercise_is_marked_everywhere_and_live_is_actual():
    events = [launch(), pred(T0 + 60), risk(T0 + 60, "JP-02", 0.9)]
    drill = WarningMachine(Issuer("triwarn.jp-node", exercise=EXERCISE), "R1", area_geometry=AREAS.get)
    [msg] = feed(drill, [{**e, "exercise": EXERCISE} for e in events], T0 + 60)
    doc = etree.fromstring(to_cap(msg))
    assert doc.findtext("c:status", namespaces=NS) == "Exercise"
    assert EXERCISE in doc.findtext("c:note", namespaces=NS)
    tags = {"en-US": "EXERCISE", "ja-JP": "訓練", "ko-KR": "훈련"}
    for info in doc.iterfind("c:info", NS):
        tag = tags[info.findtext("c:language", namespaces=NS)]
        assert tag in info.findtext("c:headline", namespaces=NS)
        assert tag in info.findtext("c:description", namespaces=NS)
    live = WarningMachine(Issuer("triwarn.jp-node", live=True), "R1", area_geometry=AREAS.get)
    [msg_live] = feed(live, events, T0 + 60)
    doc_live = etree.fromstring(to_cap(msg_live))
    assert doc_live.findtext("c:status", namespaces=NS) == "Actual"
    assert doc_live.find("c:note", NS) is None
    assert validate_cap(to_cap(msg_live)) == []


def test_cancel_explains_itself_in_every_language(exercise_machine):
    machine = exercise_machine()
    first = [m for _t, m in run(machine, overflight_timeline(), T0, T0 + 100)]
    cancel = machine.cancel(first[0].incident, "separated_piece", T0 + 120, exercise=EXERCISE)
    doc = etree.fromstring(to_cap(cancel))
    assert doc.findtext("c:msgType", namespaces=NS) == "Cancel"
    refs = doc.findtext("c:references", namespaces=NS).split()
    assert [r.split(",")[1] for r in refs] == [m.identifier for m in first]
    assert doc.findtext("c:incidents", namespaces=NS) == first[0].incident
    by_lang = {
        i.findtext("c:language", namespaces=NS): i.findtext("c:description", namespaces=NS)
        for i in doc.iterfind("c:info", NS)
    }
    assert "issued in error" in by_lang["en-US"] and "separated" in by_lang["en-US"]
    assert "誤り" in by_lang["ja-JP"] and "分離" in by_lang["ja-JP"]
    assert "오발령" in by_lang["ko-KR"] and "분리" in by_lang["ko-KR"]


def test_validate_cap_finds_what_is_wrong(exercise_machine):
    # An Update naming JP-03: its shelter order said again when JP-02, sheltered with it, passes.
    both = {T0 + 60.0: [risk(T0 + 60.0, "JP-03", 0.3, enter=T0 + 405.0)]}
    msgs = [m for _t, m in run(exercise_machine(), overflight_timeline(extra=both), T0, T0 + 1000)]
    msg = next(m for m in msgs if m.msg_type == "Update" and states(m).get("JP-03") == "shelter")
    good = to_cap(msg, sign=False).decode()
    assert validate_cap(good) == []
    cases = {
        "Z": good.replace("-00:00</sent>", "Z</sent>", 1),
        "+00:00": good.replace("-00:00</sent>", "+00:00</sent>", 1),
        "XSD": good.replace("<scope>Public</scope>", "", 1),
        "not closed": re.sub(
            r"(<polygon>[^<]*) [^ <]+</polygon>", r"\1 0.0000,0.0000</polygon>", good, count=1
        ),
        "lacks ko-KR": good.replace("<language>ko-KR</language>", "<language>en-GB</language>"),
        "does not say": good.replace("【訓練】", "", 1).replace("（訓練）", "", 1).replace("訓練", "", 1),
        "without references": re.sub(r"<references>[^<]*</references>", "", good),
        "ISO 3166-2": good.replace("<value>JP-03</value>", "<value>Iwate</value>", 1),
        "not YYYY": good.replace("-00:00</sent>", "+15:00</sent>", 1),  # no zone is more than 14 h from UTC
        "is not sender,identifier,sent": re.sub(r"(<references>[^,<]*),", r"\1;", good, count=1),
        "references itself": re.sub(
            r"<references>[^<]*</references>",
            lambda _m: f"<references>{GENERIC.cap_sender(msg.sender)},{msg.identifier},"
            f"{cap_time(msg.sent_unix_s)}</references>",
            good,
        ),
        "without <restriction>": good.replace("<scope>Public</scope>", "<scope>Restricted</scope>", 1),
        "without <addresses>": good.replace("<scope>Public</scope>", "<scope>Private</scope>", 1),
        "unbalanced double quote": good.replace("<incidents>", '<incidents>"', 1),
        "not a distance": good.replace("<geocode>", "<circle>40.8,140.7 -5</circle><geocode>", 1),
        "circle pair": good.replace("<geocode>", "<circle>140.7,40.8 5</circle><geocode>", 1),
        "ceiling without altitude": good.replace("</area>", "<ceiling>100</ceiling></area>", 1),
        "below altitude": good.replace("</area>", "<altitude>200</altitude><ceiling>100</ceiling></area>", 1),
        "absolute URI": re.sub(r"<web>[^<]*</web>", "<web>www.example.org/alert</web>", good, count=1),
        "SHA-1": good.replace(
            "<area>",
            "<resource><resourceDesc>map</resourceDesc><mimeType>image/png</mimeType>"
            "<digest>0123abc</digest></resource><area>",
            1,
        ),
    }
    for expected, broken in cases.items():
        assert broken != good, expected
        problems = validate_cap(broken)
        assert any(expected in p for p in problems), (expected, problems)
    # The same places filled in correctly pass.
    fine = good.replace("<geocode>", "<circle>40.8,140.7 5.5</circle><geocode>", 1)
    fine = fine.replace("</area>", "<altitude>0</altitude><ceiling>100</ceiling></area>", 1)
    fine = re.sub(r"<web>[^<]*</web>", "<web>https://www.example.org/alert</web>", fine, count=1)
    assert validate_cap(fine) == []
    assert "not well-formed" in validate_cap("<alert>")[0]


def test_polygons_are_closed_lat_lon_and_small_islands_are_kept():
    rings = polygons_latlon(AREAS["JP-13"])
    assert len(rings) == 3  # the mainland and both islands, none dropped
    for ring in rings:
        pairs = ring.split()
        assert len(pairs) >= 4 and pairs[0] == pairs[-1]
        lats = [float(p.split(",")[0]) for p in pairs]
        assert all(20.0 < lat < 46.0 for lat in lats)  # latitude first
    island = Polygon([(142.1, 27.05), (142.101, 27.05), (142.1005, 27.0505)])  # too small to keep its shape
    [ring] = polygons_latlon(island, tolerance_deg=0.01)
    lat_s, lon_s = ring.split()[0].split(",")
    assert 27.0 < float(lat_s) < 27.1 and 142.0 < float(lon_s) < 142.2
    assert validate_cap(b"") != []


def test_polygons_can_come_from_the_areas_dataset(exercise_machine):
    msg = run(exercise_machine(), overflight_timeline(), T0, T0 + 70)[0][1]
    ring = [(40.5, 140.5), (41.2, 140.5), (41.2, 141.4), (40.5, 140.5)]
    doc = etree.fromstring(to_cap(msg, cap_polygons=lambda code: [ring]))
    polys = [p.text for p in doc.iterfind("c:info/c:area/c:polygon", NS)]
    assert polys == ["40.5000,140.5000 41.2000,140.5000 41.2000,141.4000 40.5000,140.5000"] * 3
    assert validate_cap(to_cap(msg, cap_polygons=lambda code: [ring])) == []
