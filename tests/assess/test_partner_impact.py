"""Partners' impact reports: they support the node's own prediction where they agree with it; one that
contradicts the fused picture (another impact area far beyond the ellipses, an impossible time) is logged,
counted and never used, and no report makes an area risk on its own."""

from __future__ import annotations

import logging

from triwarn.assess.partner_impact import OwnImpact, PartnerImpact, PartnerImpacts

T = 1_700_000_000.0


def _own(track="JP-S1", lat=40.5, lon=136.0, smaj=20e3, t_imp=T + 300.0):
    return OwnImpact(track, lat, lon, smaj, t_imp, 3.0)


def _report(sender="kr", lat=40.55, lon=136.05, smaj=25e3, t_imp=T + 302.0, sent=T - 1.0, track="KR-S4"):
    return PartnerImpact(sender, track, sent, lat, lon, smaj, t_imp, 4.0)


def test_a_report_that_agrees_supports_the_track_and_is_counted():
    book = PartnerImpacts()
    out = book.support([_report()], [_own(), _own("JP-S2", lat=35.0, lon=150.0)], T)
    assert out == {"JP-S1": {"kr"}}
    assert book.supported["kr"] == 1 and not book.conflicts


def test_contradictions_are_counted_logged_once_and_support_nothing(caplog):
    book = PartnerImpacts()
    assert book.support([_report()], [_own()], T) == {"JP-S1": {"kr"}}  # KR-S4 is bound to JP-S1
    far = _report(lat=43.0, lon=142.0)  # then about 500 km off, far beyond both ellipses
    late = _report(t_imp=T + 420.0)  # same area, two minutes off: an impossible time for that fall
    before = _report(t_imp=T - 120.0, sent=T - 1.0, track="KR-S9")  # falls before it was predicted
    with caplog.at_level(logging.WARNING, logger="triwarn.assess.partner_impact"):
        for rep in (far, far, late, late, before, before):
            assert book.support([rep], [_own()], T) == {}
    assert book.conflicts[("kr", "impact_point_differs")] == 2
    assert book.conflicts[("kr", "impact_time_differs")] == 2
    assert book.conflicts[("kr", "impact_before_report")] == 2
    assert book.supported["kr"] == 1
    assert len([r for r in caplog.records if "contradicts" in r.getMessage()]) == 3  # once per track and reason


def test_a_report_never_bound_that_agrees_with_nothing_is_unmatched_not_a_contradiction():
    # Perhaps a spent stage the node's radars do not hold: not used, not called a contradiction.
    book = PartnerImpacts()
    assert book.support([_report("us", lat=43.0, lon=142.0, track="US-S2")], [_own()], T) == {}
    assert book.unmatched["us"] == 1 and not book.conflicts


def test_unrelated_stale_or_unbounded_reports_are_not_used():
    book = PartnerImpacts()
    other_time = _report(t_imp=T + 2000.0)  # about another fall: not a contradiction
    stale = _report(t_imp=T - 200.0, sent=T - 400.0)  # a fall that is over
    nan = _report(lat=float("nan"))
    assert book.support([other_time, stale], [_own()], T) == {}
    assert not book.conflicts
    assert book.support([nan], [_own()], T) == {}
    assert book.conflicts[("kr", "not_finite")] == 1
    # Without any own prediction a report supports nothing and contradicts nothing.
    assert PartnerImpacts().support([_report()], [], T) == {}


def test_a_bound_partner_track_follows_the_object_to_its_new_own_track_and_old_reports_say_nothing():
    book = PartnerImpacts()
    assert book.support([_report()], [_own()], T) == {"JP-S1": {"kr"}}
    # The fusion re-formed the object's track as JP-S7; JP-S1 is now another object far away.
    moved = [_own("JP-S1", lat=35.0, lon=150.0), _own("JP-S7")]
    assert book.support([_report()], moved, T + 5.0) == {"JP-S7": {"kr"}}
    assert not book.conflicts
    # A report 40 s old (its partner track ended) neither supports nor contradicts.
    assert book.support([_report(sent=T - 40.0)], [_own()], T) == {}
    assert not book.conflicts
