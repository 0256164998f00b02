"""The nuclear-emergency scenario's zones against hand-computed values (docs/tabletop.md), the areas they
touch, and the CAP alerts built from them (status Exercise, three languages)."""

from __future__ import annotations

import pytest
from lxml import etree
from pyproj import Geod

from triwarn.errors import InputError
from triwarn.geo.areas import AreaIndex
from triwarn.tabletop import nuclear
from triwarn.tabletop.plan import Detonation
from triwarn.warn import profiles, xmlsig
from triwarn.warn.cap import CAP_NS, validate_cap
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer

GEOD = Geod(ellps="WGS84")
NS = {"c": CAP_NS}


def det(**kw) -> Detonation:
    base = dict(lat_deg=13.8, lon_deg=144.4, yield_kt=300.0, at_s=600.0, wind_to_deg=120.0, wind_speed_m_s=15.0,
                issuer="us")
    return Detonation(**(base | kw))


# Hand-computed: reference radii 0.5, 1 and 3 statute miles (1 mi = 1609.344 m) at 10 kt, times (Y/10)^(1/3).
# 300 kt: (30)^(1/3) = 3.1072325; 1 kt: (0.1)^(1/3) = 0.4641589; 1000 kt: (100)^(1/3) = 4.6415888.
@pytest.mark.parametrize(("yield_kt", "severe", "moderate", "light"), [
    (10.0, 804.672, 1609.344, 4828.032),
    (300.0, 2500.30, 5000.61, 15001.82),
    (1.0, 373.50, 747.00, 2241.00),
    (1000.0, 3734.98, 7469.96, 22409.88),
])
def test_damage_radii_match_hand_computed_within_1_percent(yield_kt, severe, moderate, light):
    z = nuclear.zones(det(yield_kt=yield_kt))
    assert z.severe_m == pytest.approx(severe, rel=0.01)
    assert z.moderate_m == pytest.approx(moderate, rel=0.01)
    assert z.light_m == pytest.approx(light, rel=0.01)


# Hand-computed from Glasstone & Dolan 1977, Table 9.93 (a * W^b statute miles, 15 mph wind) and §9.97's
# wind factor F = 1 + (H - 15)/60 (H >= 15 mph) or 1 + (H - 15)/30 (H < 15), 1 mph = 0.44704 m/s:
# - 10 kt, 15 mph: 10 R/h row: downwind 24 * 10^0.45 = 24 * 2.81838 = 67.641 mi = 108858 m; max width
#   1.4 * 10^0.53 = 1.4 * 3.38844 = 4.7438 mi = 7634.4 m; ground-zero width 0.68 * 10^0.41 = 0.68 * 2.57040
#   = 1.7479 mi = 2812.9 m. 1 R/h row: downwind 40 * 2.81838 = 112.735 mi = 181430 m.
# - 300 kt, 15 m/s = 33.554 mph: F = 1 + 18.554/60 = 1.30923; downwind 24 * 300^0.45 = 24 * 13.0228
#   = 312.547 mi, times F = 409.197 mi = 658540 m; max width 1.4 * 300^0.53 = 1.4 * 20.5530 = 28.774 mi
#   = 46307 m.
# - 1000 kt, 5 m/s = 11.185 mph: F = 1 - 3.8153/30 = 0.87282; downwind 24 * 1000^0.45 = 24 * 22.3872
#   = 537.29 mi, times F = 468.96 mi = 754721 m.
@pytest.mark.parametrize(("yield_kt", "wind_m_s", "downwind_10", "width_10", "downwind_1"), [
    (10.0, 6.7056, 108858.0, 7634.4, 181430.0),
    (300.0, 15.0, 658540.0, 46307.0, 1097566.0),
    (1000.0, 5.0, 754721.0, 87655.0, 1257868.0),
])
def test_fallout_contours_match_table_9_93_within_1_percent(yield_kt, wind_m_s, downwind_10, width_10, downwind_1):
    z = nuclear.zones(det(yield_kt=yield_kt, wind_speed_m_s=wind_m_s))
    assert z.fallout.dose_rate_r_h == 10.0 and z.caution.dose_rate_r_h == 1.0
    assert z.fallout.downwind_m == pytest.approx(downwind_10, rel=0.01)
    assert z.fallout.max_width_m == pytest.approx(width_10, rel=0.01)
    assert z.caution.downwind_m == pytest.approx(downwind_1, rel=0.01)


def test_wind_factor_is_one_at_the_tables_wind_and_grows_with_it():
    assert nuclear.wind_factor(15 * 0.44704) == pytest.approx(1.0)
    assert nuclear.wind_factor(75 * 0.44704) == pytest.approx(2.0)  # 1 + 60/60
    assert nuclear.wind_factor(0.0) == pytest.approx(0.5)  # 1 - 15/30


def test_fallout_footprint_shape_on_the_ground():
    from shapely.geometry import Point

    z = nuclear.zones(det(yield_kt=10.0, wind_speed_m_s=6.7056, wind_to_deg=120.0))
    length, width, gz = z.fallout.downwind_m, z.fallout.max_width_m, z.fallout.gz_width_m
    fallout = z.shapes["fallout"]

    def at(az, dist):
        return Point(*GEOD.fwd(144.4, 13.8, az, dist)[:2])

    # Downwind (azimuth 120) it reaches the table's downwind distance, and no farther.
    assert fallout.contains(at(120.0, 0.99 * length)) and not fallout.contains(at(120.0, 1.01 * length))
    # Half-way downwind it is as wide as the table's maximum width.
    mid = GEOD.fwd(144.4, 13.8, 120.0, length / 2)[:2]
    for side in (30.0, 210.0):
        assert fallout.contains(Point(*GEOD.fwd(*mid, side, 0.98 * width / 2)[:2]))
        assert not fallout.contains(Point(*GEOD.fwd(*mid, side, 1.03 * width / 2)[:2]))
    # Upwind it reaches only half the ground-zero width.
    assert fallout.contains(at(300.0, 0.95 * gz / 2)) and not fallout.contains(at(300.0, 1.05 * gz / 2))
    assert z.shapes["caution"].contains(fallout)


def test_zone_circles_have_the_radius_on_the_ground():
    z = nuclear.zones(det(yield_kt=10.0, lat_deg=35.0, lon_deg=139.0))
    ring = list(z.shapes["light"].exterior.coords)
    dists = [GEOD.inv(139.0, 35.0, lon, lat)[2] for lon, lat in ring]
    assert min(dists) == pytest.approx(4828.032, rel=0.01) and max(dists) == pytest.approx(4828.032, rel=0.01)


def test_zones_map_to_areas_downwind_only():
    areas = AreaIndex.load()
    toward = nuclear.affected_areas(nuclear.zones(det(wind_to_deg=120.0)), areas)
    assert toward["shelter"] == ["US-GU"] and toward["light"] == []
    away = nuclear.affected_areas(nuclear.zones(det(wind_to_deg=300.0)), areas)
    assert away["shelter"] == []


def _issue(d, codes, state, nation="us"):
    machine = WarningMachine(Issuer(f"triwarn-tabletop-{nation}", exercise="TEST-TTX"), "run1" + state)
    t0 = 1705280400.0
    msgs = machine.step(nuclear.warn_inputs(d, t0, codes), t0 + d.at_s)
    assert len(msgs) == 1 and msgs[0].msg_type == "Alert"
    return msgs[0], nuclear.nuclear_cap(msgs[0], d, t0 + d.at_s, state)


def _check_signed_and_profiled(xml: bytes, nation: str) -> None:
    profile = profiles.profiles()[nation]
    assert validate_cap(xml) == []
    assert profiles.check_profile(xml, profile) == []
    cert = xmlsig.key_for(profile, exercise=True).cert_pem
    xmlsig.verify_cap(xml, cert)
    tampered = xml.replace(b"Nuclear Detonation", b"Nuclear Detonatio_", 1)
    with pytest.raises(InputError):
        xmlsig.verify_cap(tampered, cert)


def test_alerts_are_cap_exercise_in_three_languages():
    areas = AreaIndex.load()
    d = det()
    affected = nuclear.affected_areas(nuclear.zones(d), areas)
    msg, xml = _issue(d, affected["shelter"], "shelter")
    assert [(a.code, a.state) for a in msg.areas] == [("US-GU", "shelter")]
    _check_signed_and_profiled(xml, "us")
    doc = etree.fromstring(xml)
    assert doc.findtext("c:status", namespaces=NS) == "Exercise"
    infos = {i.findtext("c:language", namespaces=NS): i for i in doc.findall("c:info", NS)}
    assert set(infos) == {"en-US", "ja-JP", "ko-KR"}
    en = infos["en-US"]
    assert en.findtext("c:event", namespaces=NS) == "Nuclear Detonation"
    assert "shelter in place" in en.findtext("c:headline", namespaces=NS)
    assert "Do not evacuate to the south-east" in en.findtext("c:instruction", namespaces=NS)
    assert "南東方向へ避難しないでください" in infos["ja-JP"].findtext("c:instruction", namespaces=NS)
    assert "남동쪽으로 대피하지 마십시오" in infos["ko-KR"].findtext("c:instruction", namespaces=NS)
    assert b"Missile" not in xml and "ミサイル".encode() not in xml


@pytest.mark.parametrize(("nation", "codes"), [("us", ["US-GU"]), ("jp", ["JP-47"]), ("kr", ["KR-26"])])
def test_caution_notice_passes_each_nations_profile_and_is_signed(nation, codes):
    d = det(lat_deg=13.0, lon_deg=144.0, wind_to_deg=45.0, wind_speed_m_s=8.0, yield_kt=50.0, issuer=nation)
    msg, xml = _issue(d, codes, "caution", nation)
    assert [a.state for a in msg.areas] == ["shelter"]  # responseType Shelter: go inside, do not travel
    _check_signed_and_profiled(xml, nation)
    assert b"do not travel into the fallout plume" in xml
    assert b"shelter in place now" not in xml


def test_bad_yield_refused():
    with pytest.raises(ValueError, match="positive"):
        nuclear.damage_radius_m("light", 0.0)
    with pytest.raises(ValueError, match="positive"):
        nuclear.contour(10.0, -1.0, 5.0)
