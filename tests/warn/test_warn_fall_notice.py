"""Notices for falling pieces at sea, against the declared hazard zones (issue 14; triwarn.warn.fall_notice).

Hand-made predictions off the test boxes of warn_fixtures (JP-02 is northern Honshu, 140.0-141.7E); the
declared zones are east of it: A (first stage) 40.5-41.3N 142.5-143.5E, B (fairing) 39.0-39.5N 145-146E.
"""

from __future__ import annotations

from lxml import etree
from warn_fixtures import AREAS, T0, launch, obs, pred, risk, run, states, with_exercise

from triwarn.geo.hazard_zones import parse_notice
from triwarn.warn import cap, profiles
from triwarn.warn.fall_notice import SEA_SUFFIX, PieceFall, SeaReach, zone_verdict
from triwarn.warn.policy import WarnPolicy

NOTICE = parse_notice("""NAVAREA XI 0001/22
DPRK. ROCKET LAUNCHING 032200Z OCT TO 042200Z OCT 22 IN AREAS BOUNDED BY:
A. 41-18N 142-30E, 41-18N 143-30E, 40-30N 142-30E, 40-30N 143-30E. (FIRST STAGE)
B. 39-30N 145-00E, 39-30N 146-00E, 39-00N 145-00E, 39-00N 146-00E. (FAIRING)
""")
NS = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
PIECE = {"object": "separated", "flags": ["separated_piece"], "quality": 0.9}


def _piece(track, seen_from, t, lat, lon, fall_t, **kw):
    """The piece's track seen every 5 s from seen_from to t, with one prediction at t of a fall at (lat, lon)."""
    out = {seen_from + k: with_exercise([obs(seen_from + k, track=track, lat=lat, lon=lon)])
           for k in range(0, int(t - seen_from), 5)}
    out[t] = with_exercise([obs(t, track=track, lat=lat, lon=lon),
                            pred(t, track=track, lat=lat, lon=lon, impact_t=fall_t, **{**PIECE, **kw})])
    return out


def _merge(*timelines):
    out: dict[float, list] = {T0 + 5.0: with_exercise([launch(T0 + 5.0)])}
    for tl in timelines:
        for t, evs in tl.items():
            out.setdefault(t, []).extend(evs)
    return out


def _machine(exercise_machine, **kw):
    return exercise_machine(WarnPolicy(hazard_notice=NOTICE, **kw))


def test_a_trusted_piece_falling_in_its_zone_gets_one_notice_aimed_at_sea_naming_the_zone(exercise_machine):
    tl = _merge(_piece("P1", T0 + 100.0, T0 + 200.0, 40.9, 143.0, T0 + 400.0))
    issued = run(_machine(exercise_machine), tl, T0, T0 + 300)
    assert [m.msg_type for _t, m in issued] == ["Alert"]
    t, msg = issued[0]
    assert t == T0 + 200.0
    (area,) = msg.areas
    assert area.state == "notice" and area.code == "JP-01" + SEA_SUFFIX  # off JP-01, never JP-01 itself
    fall = msg.impact
    assert isinstance(fall, PieceFall) and (fall.zone, fall.zone_piece, fall.inside) == ("A", "stage1", True)
    assert 50.0 < fall.near_km < 60.0  # 0.5 degrees south of JP-01 (41.4N)
    xml = cap.to_cap(msg, sign=False)
    doc = etree.fromstring(xml)
    desc = {i.findtext("c:language", namespaces=NS): i.findtext("c:description", namespaces=NS)
            for i in doc.findall("c:info", namespaces=NS)}
    assert "inside declared hazard zone A, declared for the first stage" in desc["en-US"]
    assert "危険区域A（1段目）の内側" in desc["ja-JP"]
    assert "위험구역 A(1단 추진체) 안쪽" in desc["ko-KR"]
    # Aimed at the sea: a circle round the point, no geocode, for mariners; a valid document for the channels.
    assert doc.findall(".//c:geocode", namespaces=NS) == []
    circles = [c.text for c in doc.findall(".//c:circle", namespaces=NS)]
    assert circles and all(c.startswith("40.9000,143.0000 ") for c in circles)
    assert doc.findtext(".//c:audience", namespaces=NS)
    assert profiles.check_profile(xml, profiles.profile_for_sender(msg.sender)) == []


def test_a_fall_outside_the_zones_says_how_far_from_the_nearest(exercise_machine):
    tl = _merge(_piece("P1", T0 + 100.0, T0 + 200.0, 39.8, 143.0, T0 + 400.0))
    (_t, msg), = run(_machine(exercise_machine), tl, T0, T0 + 300)
    fall = msg.impact
    label, _piece_of, inside, km = zone_verdict(NOTICE, 39.8, 143.0)
    assert (fall.zone, fall.inside, label, inside) == ("A", False, "A", False)
    assert 75.0 < fall.zone_km == km < 85.0  # 40.5N is 0.7 degrees (78 km) north
    en = etree.fromstring(cap.to_cap(msg, sign=False)).findtext("c:info/c:description", namespaces=NS)
    assert f"outside the declared hazard zones, about {km:.0f} km from the nearest (zone A)" in en


def test_no_notice_from_a_short_track_and_one_once_it_is_long(exercise_machine):
    # The same prediction from a track seen 30 s, or flagged short: nothing; seen 95 s: the notice.
    for tl in (_piece("P1", T0 + 170.0, T0 + 200.0, 40.9, 143.0, T0 + 400.0),
               _piece("P1", T0 + 100.0, T0 + 200.0, 40.9, 143.0, T0 + 400.0,
                      flags=["separated_piece", "short_track"]),
               _piece("P1", T0 + 100.0, T0 + 200.0, 40.9, 143.0, T0 + 400.0, quality=0.3)):
        assert run(_machine(exercise_machine), _merge(tl), T0, T0 + 300) == []
    tl = _merge(_piece("P1", T0 + 105.0, T0 + 200.0, 40.9, 143.0, T0 + 400.0))
    assert len(run(_machine(exercise_machine), tl, T0, T0 + 300)) == 1


def test_no_notice_far_from_the_issuers_waters_on_land_or_after_the_fall(exercise_machine):
    far = _piece("P1", T0 + 100.0, T0 + 200.0, 20.0, 150.0, T0 + 400.0)  # > 600 km from every area
    land = _piece("P2", T0 + 100.0, T0 + 200.0, 40.8, 140.8, T0 + 400.0)  # inside JP-02: a shelter matter
    late = _piece("P3", T0 + 100.0, T0 + 200.0, 39.2, 145.5, T0 + 150.0)  # predicted to be down already
    issued = run(_machine(exercise_machine), _merge(far, land, late), T0, T0 + 300)
    assert all(not a.code.endswith(SEA_SUFFIX) for _t, m in issued for a in m.areas)


def test_each_piece_has_its_own_notice_updated_only_when_its_fall_moves(exercise_machine):
    stage = _piece("P1", T0 + 100.0, T0 + 200.0, 40.9, 143.0, T0 + 400.0)
    fairing = _piece("P2", T0 + 100.0, T0 + 210.0, 39.2, 145.5, T0 + 600.0)
    again = {T0 + 220.0: with_exercise([obs(T0 + 220.0, track="P1", lat=40.9, lon=143.0),  # 8 km: same
                                        pred(T0 + 220.0, track="P1", lat=40.95, lon=143.05, impact_t=T0 + 401.0,
                                             **PIECE)]),
             # Another track of the fairing (the first lost), the same fall: no second notice.
             T0 + 230.0: with_exercise([obs(T0 + 130.0, track="P3", lat=39.3, lon=145.4),
                                        obs(T0 + 230.0, track="P3", lat=39.3, lon=145.4),
                                        pred(T0 + 230.0, track="P3", lat=39.25, lon=145.5, impact_t=T0 + 610.0,
                                             **PIECE)]),
             # P1's fall moves 80 km and out of zone A: an Update superseding P1's notice only.
             T0 + 240.0: with_exercise([obs(T0 + 240.0, track="P1", lat=40.9, lon=143.0),
                                        pred(T0 + 240.0, track="P1", lat=40.9, lon=144.0, impact_t=T0 + 420.0,
                                             **PIECE)])}
    issued = run(_machine(exercise_machine), _merge(stage, fairing, again), T0, T0 + 300)
    assert [(t - T0, m.msg_type) for t, m in issued] == [(200.0, "Alert"), (210.0, "Alert"), (240.0, "Update")]
    first, fair, moved = (m for _t, m in issued)
    assert fair.impact.verdict == ("B", True) and fair.impact.zone_piece == "fairing"
    assert moved.references == (first.reference,)
    assert moved.impact.verdict == ("A", False)


def test_a_piece_notice_leaves_the_areas_shelter_order_standing(exercise_machine):
    # JP-01 is sheltered for the overflight; a piece's notice off JP-01 names the sea, not JP-01, and
    # supersedes nothing; the shelter order is the step's last word.
    warhead = {T0 + 60.0 + k: with_exercise([obs(T0 + 60.0 + k), pred(T0 + 60.0 + k),
                                             risk(T0 + 60.0 + k, "JP-01", 0.9)]) for k in range(0, 150, 10)}
    tl = _merge(warhead, _piece("P1", T0 + 100.0, T0 + 200.0, 40.9, 143.0, T0 + 400.0))
    tl[T0 + 200.0] = tl[T0 + 200.0] + with_exercise([risk(T0 + 200.0, "JP-03", 0.9)])
    issued = run(_machine(exercise_machine), tl, T0, T0 + 210)
    assert [(t - T0, sorted(states(m).items())) for t, m in issued] == [
        (60.0, [("JP-01", "shelter")]), (200.0, [("JP-01/sea", "notice")]), (200.0, [("JP-03", "shelter")])]
    assert issued[1][1].references == ()


def test_without_declared_zones_the_area_notice_is_unchanged(exercise_machine):
    tl = _merge(_piece("P1", T0 + 100.0, T0 + 200.0, 40.9, 143.0, T0 + 400.0))
    tl[T0 + 200.0].extend(with_exercise([risk(T0 + 200.0, "JP-02", 0.0, track="P1", kind="impact",
                                              probability_eez=0.9, **PIECE)]))
    issued = run(exercise_machine(), tl, T0, T0 + 300)
    assert [states(m) for _t, m in issued] == [{"JP-02": "notice"}]
    assert not isinstance(issued[0][1].impact, PieceFall)


def test_sea_reach_names_the_nearest_area_and_its_distance():
    reach = SeaReach(AREAS, AREAS.get)
    code, km = reach.nearest(40.9, 143.0)
    assert code == "JP-01" and 50.0 < km < 60.0
    assert reach.nearest(40.8, 140.8) == ("JP-02", 0.0)
    assert SeaReach([], AREAS.get).nearest(40.9, 143.0) is None
