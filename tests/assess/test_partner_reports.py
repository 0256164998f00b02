"""Partners' launch and impact reports that contradict the fused picture (a launch point 300 km off, an
impact time before the report or beyond the longest flight, an impact far from the fused prediction) are
logged once, counted, never used and never raise an alert; honest ones whose gaps come from the time
between the two estimates or a degenerate sigma are not called contradictions (assess.partner_gate)."""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

from shapely.geometry import box

from triwarn.assess import partner_impact, partner_launch
from triwarn.assess.areas import PolygonAreas
from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.assess.partner_gate import GATE_SIGMA, Refusals, excess_sigma
from triwarn.assess.partner_impact import OwnImpact, PartnerImpact, PartnerImpacts
from triwarn.assess.partner_launch import PartnerLaunch, PartnerLaunches
from triwarn.geo import geodesic
from triwarn.records.events import TRUSTED_QUALITY, AreaRisk
from triwarn.records.tracks import SystemTracks

from .conftest import T0_UNIX_S, settling_flight

T = 1_700_000_000.0
LOG_IMPACT = "triwarn.assess.partner_impact"
LOG_LAUNCH = "triwarn.assess.partner_launch"


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "contradicts" in r.getMessage()]


# -- the shared gate ------------------------------------------------------------------------------------


def test_the_excess_is_the_gap_beyond_the_margin_in_sigmas():
    assert excess_sigma(25.0, 5.0, 10.0) == 3.0  # (25 - 10) / 5: exactly at the gate
    assert excess_sigma(-25.0, 5.0, 10.0) == 3.0
    assert excess_sigma(8.0, 0.0, 10.0) == 0.0  # within the margin even with no sigma
    assert math.isinf(excess_sigma(12.0, 0.0, 10.0))


def test_a_refusal_is_counted_every_time_and_logged_once_per_report_and_reason(caplog):
    book = Refusals()
    log = logging.getLogger("test.partner_gate")
    with caplog.at_level(logging.WARNING, logger="test.partner_gate"):
        for _ in range(3):
            book.refuse(log, "kr", "E1", "launch_point_differs", "contradicts %s", "E1")
        book.refuse(log, "kr", "E1", "launch_time_differs", "contradicts %s", "E1")
    assert book.conflicts == {("kr", "launch_point_differs"): 3, ("kr", "launch_time_differs"): 1}
    assert len(_warnings(caplog)) == 2


# -- impact reports -------------------------------------------------------------------------------------


def _own(track="JP-S1", lat=40.5, lon=136.0, smaj=20e3, t_imp=T + 300.0, t_sig=3.0):
    return OwnImpact(track, lat, lon, smaj, t_imp, t_sig)


def _impact(lat=40.55, lon=136.05, smaj=25e3, t_imp=T + 302.0, sent=T - 1.0, t_sig=4.0, track="KR-S4"):
    return PartnerImpact("kr", track, sent, lat, lon, smaj, t_imp, t_sig)


def _bound_book() -> PartnerImpacts:
    book = PartnerImpacts()
    assert book.support([_impact()], [_own()], T) == {"JP-S1": {"kr"}}
    return book


def test_forged_impact_reports_are_logged_once_counted_and_never_used(caplog):
    book = _bound_book()
    lat, lon = geodesic.direct(40.5, 136.0, 45.0, 300e3)
    forged = {
        "impact_point_differs": _impact(lat=float(lat), lon=float(lon)),  # 300 km off a 20 km ellipse
        "impact_before_report": _impact(t_imp=T - 100.0, track="KR-S9"),  # falls before it was made
        "impact_too_late": _impact(t_imp=T + partner_impact.MAX_FLIGHT_S + 60.0, track="KR-S8"),  # > any flight
        "impact_time_differs": _impact(t_imp=T + 360.0),  # one minute off a fall both see to seconds
    }
    with caplog.at_level(logging.WARNING, logger=LOG_IMPACT):
        for _ in range(3):
            for rep in forged.values():
                assert book.support([rep], [_own()], T) == {}
    for reason in forged:
        assert book.conflicts[("kr", reason)] == 3, reason
    assert book.supported["kr"] == 1  # the binding report only
    assert sorted(m.rsplit(": ", 1)[1] for m in _warnings(caplog)) == sorted(forged)


def test_a_degenerate_time_sigma_or_the_reports_age_is_not_a_contradiction():
    # Both sides report 0 s, 12 s apart: not the same fall to the second (no support), but the floor holds
    # them (within 10 s + 3 x (2 + 2) s): no contradiction.
    book = _bound_book()
    assert book.support([_impact(t_imp=T + 312.0, t_sig=0.0)], [_own(t_sig=0.0)], T) == {}
    assert not book.conflicts
    # A report made 20 s before the own prediction, 50 s earlier: the vacuum prediction drifts as drag
    # slows the fall between the two states (partner_impact.DRIFT_S_PER_S). Too far apart to support the
    # track now, not a contradiction either.
    old = _impact(t_imp=T + 250.0, sent=T - 20.0, lat=40.7, lon=136.3)
    assert book.support([old], [_own()], T) == {}
    assert not book.conflicts and book.supported["kr"] == 1
    # The same gap from a report made now is beyond what its age explains: refused.
    assert book.support([_impact(t_imp=T + 250.0, sent=T, lat=40.7, lon=136.3)], [_own()], T) == {}
    assert book.conflicts[("kr", "impact_time_differs")] == 1


def test_the_gap_the_gate_compares_is_beyond_the_margin_in_both_sigmas():
    near, far = _impact(t_imp=T + 302.0, sent=T), _impact(t_imp=T + 340.0, sent=T)
    place, time = partner_impact.gaps_sigma(near, _own(), T)
    assert time == 0.0  # 2 s apart: within the 10 s margin
    g_far = partner_impact.gaps_sigma(far, _own(), T)[1]
    assert g_far == (40.0 - partner_impact.MARGIN_S) / (4.0 + 3.0)  # both sigmas, no age
    assert place < GATE_SIGMA < g_far
    book = _bound_book()  # and the book decides by the same figures
    assert book.support([near], [_own()], T) == {"JP-S1": {"kr"}} and book.support([far], [_own()], T) == {}


def _wire(irbm, t_imp_s, sent_s, lat=None, lon=None, track="KR-S3"):
    return SimpleNamespace(sender="kr", track_id=track, sent_unix_s=T0_UNIX_S + sent_s,
                           lat_deg=irbm.impact_lat_deg if lat is None else lat,
                           lon_deg=irbm.impact_lon_deg if lon is None else lon, semi_major_m=30e3,
                           semi_minor_m=5e3, bearing_deg=90.0, impact_t_unix_s=T0_UNIX_S + t_imp_s,
                           impact_t_sigma_s=5.0)


def test_an_impossible_impact_report_on_the_true_fall_does_not_lift_the_settling(irbm):
    # At the true point, but falling before it was made: counted, and the track's young risks stay
    # below trust (the report lends it nothing).
    sent = irbm.burnout_t_s + 1.0
    ass, out = settling_flight(irbm, [_wire(irbm, sent - 120.0, sent)], before_s=5)
    assert ass.partner_impacts.conflicts[("kr", "impact_before_report")] > 0
    assert not ass.partner_impacts.supported
    assert any(k < 15 for k in out) and all(q < TRUSTED_QUALITY for k, (_p, q) in out.items() if k < 15)


def test_impact_reports_alone_never_make_an_area_risk(irbm):
    # No own track at all: a report into the area (honest-looking or forged) makes no event.
    areas = PolygonAreas({"JP-S7": {"land": box(irbm.impact_lon_deg - 0.5, irbm.impact_lat_deg - 0.5,
                                                irbm.impact_lon_deg + 0.5, irbm.impact_lat_deg + 0.5)}})
    ass = Assessor(areas, AssessConfig())
    ass.partner_impact_view = lambda: [_wire(irbm, 500.0, 400.0), _wire(irbm, 100.0, 400.0, track="KR-S4")]
    for t_s in (400.0, 401.0, 405.0):
        assert not [e for e in ass.step(T0_UNIX_S + t_s, SystemTracks.empty()) if isinstance(e, AreaRisk)]


# -- launch reports -------------------------------------------------------------------------------------


def _launch(sender="kr", lat=40.6, lon=126.4, t=T, t_sig=2.0, h_sig=5e3, event="E1"):
    return PartnerLaunch(sender, event, lat, lon, t, t_sig, h_sig)


def _track_at(elapsed_s: float, km: float = 150.0):
    lat, lon = geodesic.direct(40.6, 126.4, 90.0, km * 1e3)
    return T + elapsed_s, float(lat), float(lon)


def test_a_launch_report_300_km_off_the_own_estimate_is_logged_once_counted_and_not_used(caplog):
    book = PartnerLaunches()
    own = (40.6, 126.4, T, 2.0, 10e3)
    lat, lon = geodesic.direct(40.6, 126.4, 180.0, 300e3)
    shifted = _launch(lat=float(lat), lon=float(lon))
    with caplog.at_level(logging.WARNING, logger=LOG_LAUNCH):
        for _ in range(3):
            assert book.launch_time_for([shifted], *_track_at(60.0), own) is None
    assert book.conflicts[("kr", "launch_point_differs")] == 3 and not book.used
    assert len(_warnings(caplog)) == 1
    # Alone (no own estimate): a track 20 s after it and ~670 km away could not have flown from there.
    assert book.launch_time_for([shifted], *_track_at(20.0, km=600.0), None) is None
    assert book.conflicts[("kr", "too_far_from_track")] == 1 and not book.used


def test_a_launch_report_that_agrees_with_the_own_estimate_is_not_judged_by_the_tracks_age():
    # The node's own launch estimate is the report's; its track is still called boosting 640 s later
    # (the node's mode, not the partner's report): nothing contradicts.
    book = PartnerLaunches()
    own = (40.6, 126.4, T + 0.5, 8.0, 7e3)
    assert book.launch_time_for([_launch(t_sig=8.0)], *_track_at(640.0, km=900.0), own) is None
    assert not book.conflicts
    # Without an own estimate, that report cannot date a boost 640 s later: refused, counted.
    assert book.launch_time_for([_launch(t_sig=8.0)], *_track_at(640.0, km=900.0), None) is None
    assert book.conflicts[("kr", "too_old_for_boost")] == 1


def test_a_launch_report_about_another_launch_is_unrelated_and_one_off_in_time_contradicts():
    book = PartnerLaunches()
    own = (40.6, 126.4, T, 2.0, 5e3)
    lat, lon = geodesic.direct(40.6, 126.4, 0.0, 400e3)
    other = _launch(lat=float(lat), lon=float(lon), t=T + 120.0, event="E2")  # elsewhere, two minutes later
    late = _launch(t=T + 60.0, event="E3")  # same site, a minute off an estimate known to 2 s
    assert book.launch_time_for([other, late], *_track_at(150.0), own) is None
    assert book.conflicts == {("kr", "launch_time_differs"): 1}
    # A report with a degenerate sigma of 0 s is held by the floor: 12 s apart agrees.
    assert partner_launch.gaps_sigma(_launch(t=T + 12.0, t_sig=0.0), (40.6, 126.4, T, 0.0, 5e3))[1] <= GATE_SIGMA


def test_non_finite_reports_are_refused_by_both_books():
    imp = PartnerImpacts()
    assert imp.support([_impact(t_sig=float("nan"))], [_own()], T) == {}
    assert imp.conflicts[("kr", "not_finite")] == 1
    lau = PartnerLaunches()
    assert lau.launch_time_for([_launch(lat=float("inf"))], *_track_at(60.0), None) is None
    assert lau.conflicts[("kr", "not_finite")] == 1
