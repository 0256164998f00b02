"""Dissemination profiles (IPAWS, Google, national codes), one state per message, national texts, signed
CAP, and the CoT the TAK clients draw."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest
import xmlschema
import yaml
from lxml import etree
from warn_fixtures import AREAS, EXERCISE, T0, launch, obs, overflight_timeline, pred, risk, run, with_exercise

from triwarn.errors import InputError
from triwarn.warn import cot, profiles, texts, xmlsig
from triwarn.warn.cap import CAP_NS, XSD_PATH, sign_for, to_cap, validate_cap
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer, WarnPolicy

NS = {"c": CAP_NS}
KR_ALL = [c for c in profiles.area_codes() if c.startswith("KR-")]


def _machine(nation: str, run_id: str = "R1", **kw) -> WarningMachine:
    return WarningMachine(Issuer(f"triwarn-{nation}", exercise=EXERCISE), run_id, area_geometry=AREAS.get, **kw)


def _sea_notice_timeline(area: str, lat: float, lon: float) -> dict:
    """A launch whose impact is predicted at sea, in the EEZ off area only, then lands."""
    tl: dict[float, list] = {T0 + 20.0: [launch()]}
    for t in (T0 + 60.0, T0 + 70.0):
        tl[t] = [pred(t, lat=lat, lon=lon, impact_t=T0 + 400.0),
                 risk(t, area, 0.0, kind="impact", probability_eez=0.7, enter=T0 + 400.0)]
    tl[T0 + 80.0] = [obs(T0 + 80.0, lat=lat, lon=lon, alt_m=500.0)]
    return {k: with_exercise(v) for k, v in tl.items()}


def _kr_timeline() -> dict:
    """Every Korean province under the path (so the area list is long), Gangwon only as a neighbour."""
    tl: dict[float, list] = {T0 + 20.0: [launch()]}
    for t in (T0 + 60.0, T0 + 70.0):
        tl[t] = [pred(t, lat=35.0, lon=129.0, impact_t=T0 + 400.0)]
        tl[t] += [risk(t, code, 0.9) for code in KR_ALL if code != "KR-42"]
    for t in (T0 + 200.0, T0 + 260.0):
        tl[t] = [pred(t, lat=35.0, lon=129.0, impact_t=T0 + 400.0)] + [risk(t, c, 0.0) for c in KR_ALL]
    return {k: with_exercise(v) for k, v in tl.items()}


def _issued() -> dict[str, list]:
    """Every kind of message from the three nations' real profiles."""
    out = {}
    jp = [m for _t, m in run(_machine("jp"), overflight_timeline(), T0, T0 + 1000)]
    jp += [m for _t, m in run(_machine("jp", "R2"), _sea_notice_timeline("JP-13", 20.4, 136.1), T0, T0 + 200)]
    machine = _machine("jp", "R3")
    first = [m for _t, m in run(machine, overflight_timeline(), T0, T0 + 100)]
    out["jp"] = jp + first + [machine.cancel(first[0].incident, "operator_error", T0 + 120, exercise=EXERCISE)]
    guam = {T0 + 20.0: [launch()]}
    for t in (T0 + 60.0, T0 + 70.0):
        guam[t] = [pred(t, lat=13.4, lon=144.8, impact_t=T0 + 1400.0), risk(t, "US-GU", 0.9, kind="impact")]
    for t in (T0 + 200.0, T0 + 240.0):
        guam[t] = [pred(t, lat=13.4, lon=144.8), risk(t, "US-GU", 0.0, kind="impact")]
    us = [m for _t, m in run(_machine("us"), {k: with_exercise(v) for k, v in guam.items()}, T0, T0 + 300)]
    us += [m for _t, m in run(_machine("us", "R2"), _sea_notice_timeline("US-GU", 16.0, 146.0), T0, T0 + 200)]
    out["us"] = us
    neighbours = WarnPolicy(alert_adjacent=True, adjacency={"KR-41": ("KR-42",)})
    out["kr"] = [m for _t, m in run(_machine("kr", policy=neighbours), _kr_timeline(), T0, T0 + 300)]
    return out


@pytest.fixture(scope="module")
def issued():
    return _issued()


def test_every_message_of_every_nation_passes_its_profile_and_the_schema(issued):
    schema = xmlschema.XMLSchema(str(XSD_PATH))
    seen_states = set()
    for nation, msgs in issued.items():
        profile = profiles.profiles()[nation]
        for msg in msgs:
            xml = to_cap(msg)
            assert validate_cap(xml) == [], (nation, msg.identifier)
            assert profiles.check_profile(xml, profile) == [], (nation, msg.identifier)
            assert not list(schema.iter_errors(xml.decode())), msg.identifier
            doc = etree.fromstring(xml)
            decisions = {tuple(r.text for r in i.iterfind("c:responseType", NS)) for i in doc.iterfind("c:info", NS)}
            assert len(decisions) == 1, (msg.identifier, decisions)  # one state per message
            assert len({a.state for a in msg.areas}) == 1
            seen_states |= {(nation, a.state) for a in msg.areas}
            # The nation's key signed it; the signature verifies on read.
            signed = xmlsig.verify_cap(xml, xmlsig.run_key(nation).cert_pem, source=msg.identifier)
            assert signed.findtext("c:identifier", namespaces=NS) == msg.identifier
    assert {("jp", s) for s in ("shelter", "passed", "clear", "notice", "error")} <= seen_states
    assert {("us", "shelter"), ("us", "clear"), ("us", "notice"), ("kr", "shelter"), ("kr", "clear")} <= seen_states


def test_ipaws_document_for_guam(issued):
    msg = next(m for m in issued["us"] if m.areas[0].state == "shelter")
    doc = etree.fromstring(to_cap(msg))
    assert doc.findtext("c:code", namespaces=NS) == "IPAWSv1.0"
    assert doc.findtext("c:sent", namespaces=NS).endswith("+10:00")  # Guam's own offset
    assert doc.findtext("c:sender", namespaces=NS) == "triwarn-us@triwarn.org"
    for info in doc.iterfind("c:info", NS):
        codes = {c.findtext("c:valueName", namespaces=NS): c.findtext("c:value", namespaces=NS)
                 for c in info.iterfind("c:eventCode", NS)}
        assert codes == {"OET:v1.2": "OET-129", "SAME": "CDW"}
        geo = {g.findtext("c:valueName", namespaces=NS): g.findtext("c:value", namespaces=NS)
               for g in info.iterfind("c:area/c:geocode", NS)}
        assert geo == {"ISO3166-2": "US-GU", "SAME": "066010"}
        params = {p.findtext("c:valueName", namespaces=NS): p.findtext("c:value", namespaces=NS)
                  for p in info.iterfind("c:parameter", NS)}
        assert params["EAS-ORG"] == "CIV" and 0 < len(params["CMAMtext"]) <= 90
        assert len(params["CMAMlongtext"]) <= 360
    en = doc.find("c:info", NS)
    # Local time of Guam in the text: 07:22 JST is 08:22 ChST.
    assert "8:22 AM ChST" in en.findtext("c:description", namespaces=NS)
    assert "Missile launch. Missile launch" not in en.findtext("c:description", namespaces=NS)


def test_sea_notices_are_aimed_at_the_sea_and_not_sent_to_ipaws(issued):
    notices = [m for n in ("jp", "us") for m in issued[n] if m.areas[0].state == "notice"]
    assert {m.sender for m in notices} == {"triwarn-jp", "triwarn-us"}
    for msg in notices:
        doc = etree.fromstring(to_cap(msg))
        assert doc.find("c:code", NS) is None  # no IPAWS mark: IPAWS has no SAME place at sea
        for info in doc.iterfind("c:info", NS):
            assert info.find("c:area/c:geocode", NS) is None  # no prefecture's residents
            assert info.findtext("c:audience", namespaces=NS)
            _centre, radius = info.findtext("c:area/c:circle", namespaces=NS).split()
            assert float(radius) >= 20.0
        ja = doc.find("c:info[c:language='ja-JP']", NS)
        assert "排他的経済水域" in ja.findtext("c:description", namespaces=NS)
        assert "東京都" not in ja.findtext("c:headline", namespaces=NS)  # the sea by its point, not Tokyo
    jp = next(m for m in notices if m.sender == "triwarn-jp")
    assert "北緯20.4度、東経136.1度" in to_cap(jp).decode()


def test_japanese_and_korean_codes_and_texts(issued):
    jp = next(m for m in issued["jp"] if m.areas[0].state == "shelter")
    doc = etree.fromstring(to_cap(jp))
    values = {g.findtext("c:value", namespaces=NS) for g in doc.iterfind("c:info/c:area/c:geocode", NS)}
    assert {"JP-02", "020001"} <= values
    kr_msgs = issued["kr"]
    kr = next(m for m in kr_msgs if m.areas[0].state == "shelter")
    doc = etree.fromstring(to_cap(kr))
    by_iso = {}
    for area in doc.find("c:info", NS).iterfind("c:area", NS):
        codes = {g.findtext("c:valueName", namespaces=NS): g.findtext("c:value", namespaces=NS)
                 for g in area.iterfind("c:geocode", NS)}
        by_iso[codes["ISO3166-2"]] = codes["KR-ADMCODE"]
    assert by_iso["KR-42"] == "5100000000" and by_iso["KR-45"] == "5200000000"  # Gangwon 51, Jeonbuk 52
    ko = doc.find("c:info[c:language='ko-KR']", NS)
    phone = next(p.findtext("c:value", namespaces=NS) for p in ko.iterfind("c:parameter", NS)
                 if p.findtext("c:valueName", namespaces=NS) == "CMAMtext")
    assert phone.startswith("[훈련] [행정안전부] 오전 7시 22분 북한 미사일 발사") and "공습경보" in phone
    assert "서울특별시" in phone and "등 17개 지역" in phone
    # Every Korean phone text of every message fits a phone.
    for msg in kr_msgs:
        for p in etree.fromstring(to_cap(msg)).iterfind("c:info[c:language='ko-KR']/c:parameter", NS):
            if p.findtext("c:valueName", namespaces=NS) == "CMAMtext":
                assert len(p.findtext("c:value", namespaces=NS)) <= texts.PHONE_MAX
    clear = next(m for m in kr_msgs if m.areas[0].state == "clear")
    assert "경보 해제" in to_cap(clear).decode()


def test_korean_alert_level_and_local_clocks():
    occ = texts.Occasion(tz="Asia/Seoul", launch_t=T0, launch_latlon=(39.0, 125.7),
                         authority={"en-US": "MOIS", "ja-JP": "行政安全部", "ko-KR": "행정안전부"})
    prepare = texts.render("shelter", ["KR-42"], "ko-KR", occ, kinds=["adjacent"])
    assert "경계경보" in prepare.phone and "공습경보" not in prepare.phone
    shelter = texts.render("shelter", ["KR-42"], "ko-KR", occ, kinds=["overflight"])
    assert "공습경보" in shelter.headline
    # 午前/午後 and 오전/오후 in the area's own zone; Guam is an hour ahead of Japan.
    assert texts.local_clock(T0, "ja-JP", "Asia/Tokyo") == "午前7時22分"
    assert texts.local_clock(T0 + 6 * 3600, "ko-KR", "Asia/Seoul") == "오후 1시 22분"
    assert texts.local_clock(T0, "en-US", "Pacific/Guam") == "8:22 AM ChST"
    # No country is named for a launch near the border.
    near = replace(occ, launch_latlon=(38.0, 126.5))
    assert "북한" not in texts.render("shelter", ["KR-11"], "ko-KR", near).description


def test_a_profile_that_cannot_address_an_area_is_refused_at_start_up(tmp_path):
    doc = yaml.safe_load(profiles.PROFILES_PATH.read_text(encoding="utf-8"))
    doc["nations"]["jp"]["channels"] = ["ipaws-v1.0", "google-public-alerts"]
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    jp_ipaws = profiles.load_profiles(path)["jp"]
    with pytest.raises(InputError, match=r"area JP-01 has no SAME location code") as err:
        _machine("jp", profile=jp_ipaws)
    assert err.value.field == "areas.JP-01"
    # The shipped configuration starts for every nation.
    for nation in ("us", "jp", "kr"):
        assert _machine(nation).profile.name == nation
    doc["nations"]["kr"]["channels"] = ["carrier-pigeon"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="unknown channel 'carrier-pigeon'"):
        profiles.load_profiles(path)


def test_the_profile_checker_finds_what_each_channel_misses(issued):
    msg = next(m for m in issued["us"] if m.areas[0].state == "shelter")
    good = to_cap(msg).decode()
    us = profiles.profiles()["us"]
    cases = {
        "no <code>IPAWSv1.0</code>": good.replace("<code>IPAWSv1.0</code>", ""),
        "exactly one SAME eventCode": good.replace("<value>CDW</value>", "<value>CDW1</value>", 1),
        "no SAME location geocode": re.sub(r"<valueName>SAME</valueName>(\s*)<value>066010",
                                           r"<valueName>FIPS6</valueName>\1<value>066010", good),
        "CMAMtext has": re.sub(r"(<valueName>CMAMtext</valueName>\s*<value>)", r"\1" + "x" * 90, good, count=1),
        "no <web>": re.sub(r"<web>[^<]*</web>", "", good, count=1),
        "not a unique domain": good.replace("triwarn-us@triwarn.org</sender>", "triwarn-us</sender>"),
        "expects the local offset": re.sub(r"\+10:00</sent>", "-00:00</sent>", good),
        "OET-129": good.replace("<value>OET-129</value>", "<value>OET-000</value>", 1),
        "mixed states": good.replace("<responseType>Shelter</responseType>",
                                     "<responseType>AllClear</responseType>", 1),
    }
    for expected, broken in cases.items():
        assert broken != good, expected
        problems = profiles.check_profile(broken.encode(), us)
        assert any(expected in p for p in problems), (expected, problems)
    unsigned = to_cap(msg, sign=False)
    assert any("not signed" in p for p in profiles.check_profile(unsigned, us))


def test_signatures_refuse_altered_documents_and_other_keys(issued):
    msg = issued["kr"][0]
    xml = to_cap(msg)
    cert = xmlsig.run_key("kr").cert_pem
    assert xmlsig.verify_cap(xml, cert) is not None
    forged = xml.replace("공습경보".encode(), "경보 해제".encode(), 1)
    with pytest.raises(InputError, match="signature does not verify"):
        xmlsig.verify_cap(forged, cert, source="forged.xml")
    with pytest.raises(InputError, match="does not verify"):
        xmlsig.verify_cap(xml, xmlsig.run_key("jp").cert_pem)
    with pytest.raises(InputError, match="not signed"):
        xmlsig.verify_cap(to_cap(msg, sign=False), cert)
    # A document edited after rendering (e.g. other wording) is signed afterwards with the same key.
    edited = to_cap(msg, sign=False).replace("공습경보".encode(), "경계경보".encode(), 1)
    assert xmlsig.verify_cap(sign_for(msg, edited), cert) is not None
    # A live issuer without a configured key issues unsigned CAP (no run key for live alerts).
    live = replace(msg, exercise=None)
    assert b"Signature" not in to_cap(live)


def test_cot_ellipse_full_axes_polygon_size_limit_and_course():
    kw = dict(sender="triwarn-jp", track_id="W1", t_unix_s=T0, lat_deg=40.9, lon_deg=170.0, semi_major_m=60_000.0,
              semi_minor_m=20_000.0, orientation_deg=90.0, exercise=EXERCISE)
    ell, poly = (etree.fromstring(e) for e in cot.impact_events(**kw))
    assert ell.get("opex") == f"e-{EXERCISE}" and ell.get("how") == "m-f"
    assert ell.find("detail/shape/ellipse").get("major") == "120000.0"
    assert poly.get("type") == "u-d-f" and poly.get("uid") == "triwarn-jp.impact.W1.poly"
    pts = [tuple(map(float, link.get("point").split(","))) for link in poly.iterfind("detail/link")]
    assert pts[0] == pts[-1] and len(pts) == cot.ELLIPSE_POLYGON_POINTS + 1
    east = max(p[1] for p in pts) - 170.0  # the major axis points east: 60 km
    assert east * 111_195.0 * math.cos(math.radians(40.9)) == pytest.approx(60_000.0, rel=0.01)
    huge = cot.impact_events(**{**kw, "semi_major_m": 900_000.0})
    assert len(huge) == 1 and etree.fromstring(huge[0]).find("detail/shape") is None
    assert "too large to draw" in etree.fromstring(huge[0]).findtext("detail/remarks")
    # Course and speed from an ECEF velocity: due north at the equator and 0 E is +z.
    course, speed = cot.course_speed(0.0, 0.0, (0.0, 0.0, 3000.0))
    assert course == pytest.approx(0.0) and speed == pytest.approx(3000.0)
    course, _ = cot.course_speed(0.0, 0.0, (0.0, 2000.0, 0.0))
    assert course == pytest.approx(90.0)
    trk = etree.fromstring(cot.track_event(sender="s", track_id="T", t_unix_s=T0, lat_deg=0.0, lon_deg=0.0,
                                           hae_m=1.0, ce_m=1.0, le_m=1.0, course_deg=course, speed_mps=2000.0))
    assert trk.find("detail/track").get("speed") == "2000.0" and trk.get("opex") is None


def test_sea_notice_is_drawn_at_sea_in_cot(issued):
    msg = next(m for m in issued["jp"] if m.areas[0].state == "notice")
    [ev] = [etree.fromstring(e) for e in cot.message_events(msg)]
    assert ev.get("uid").endswith(".sea")
    lats = [float(link.get("point").split(",")[0]) for link in ev.iterfind("detail/link")]
    assert 19.5 < min(lats) < max(lats) < 21.5  # round the point near Okinotorishima, not Tokyo at 35.7N


def test_refresh_repeats_each_standing_state_in_its_own_message():
    m = _machine("jp", policy=WarnPolicy(refresh_s=120.0, expires_s=300.0))
    msgs = [msg for _t, msg in run(m, overflight_timeline(), T0, T0 + 250)]
    assert msgs and all(len({a.state for a in x.areas}) == 1 for x in msgs)
    refreshes = [x for x in msgs if x.sent_unix_s >= T0 + 180]
    assert refreshes and all({a.state for a in x.areas} == {"shelter"} for x in refreshes)
