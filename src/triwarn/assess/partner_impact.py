"""Partners' impact reports as supporting evidence for the ballistic impact risk.

A partner publishes an ImpactReport for each of its ballistic tracks (share.schema). The node's own
assessment predicts the impact of every fused ballistic track from that track's state; a partner's report
is checked against those predictions (gaps_sigma, through assess.partner_gate). It *supports* a track
when the two agree now: impact points within GATE_SIGMA x sigma_place + MARGIN_M and impact times within
GATE_SIGMA x sigma_time + MARGIN_S, with the sigmas as both sides report them (sigma_place: the sum of
the 95 % ellipses' semi-major axes / K95; sigma_time: the sum of the impact time sigmas), both
semi-major axes within AGREE_MAX_M. It *contradicts* a track it is bound to only beyond the same gate
with each side's sigma at least its floor and the report's age counted:
  sigma_place = max(smaj_r / K95, POINT_SIGMA_FLOOR_M) + max(smaj_o / K95, ...) + DRIFT_M_PER_S x age,
  sigma_time  = max(sigma_t_r, TIME_SIGMA_FLOOR_S) + max(sigma_t_o, ...) + DRIFT_S_PER_S x age,
age being the report's (now - sent). Between the two, a report neither supports nor contradicts. Two
gates, because support is what lifts a young track's settling (it must not bind a partner track to the
neighbouring missile of a salvo, ~25 km and ~20 s away: with the floors and the age counted it did, in
salvo-srbm-example: bound pairs' median distance 0.1 -> 18-26 km), and a contradiction is what an
operator is told about (it must not fire on an honest report made a few seconds earlier). Why each term:
  * the floors: the cubature sigmas leave out the model (vacuum flight, the RK4 step) and are 0.00-0.1 s
    and a few hundred metres on some tracks (a nearly degenerate covariance): an honest pair 10.4 s apart
    with 0.12 s and 0.00 s was refused before;
  * the drift: both predictions fly in vacuum (assess.impact: an unknown object's drag is unknown), but
    from states up to `age` apart (a partner publishes every 5 s and its last report stays up to
    REPORT_MAX_AGE_S when its track ends); drag slows the fall meanwhile, so the later prediction falls
    later and shorter. Measured (bench/bench_partner_reports.py, 6 scenarios x 2 seeds, 31,085 checks of
    bound pairs, 2026-12-08): the older report fell more than 1 s earlier in 64 % of the checks aged
    20-30 s (4 % of those aged 5 s), by up to 80 s at 8 s of age (a light separated piece); 1.5 s and
    2 km per second of age hold those;
  * the margins (10 s, 20 km) are what the sigmas leave out however small they are (the RK4 step, the
    drag of the last kilometres).
The figures (bench/bench_partner_reports.py --seeds 1 2, its 6 default scenarios, honest partners,
2026-12-08, loaded machine): the excess over the margin, in sigmas, of the ~31,000 checks of bound pairs,
old contradiction gate (reported sigmas, no floor, no age) -> this one: points p99 2.34 -> 1.31, p99.9
7.59 -> 2.55, max 11.3 -> 6.5; times p99 2.60 -> 0.84, p99.9 9.31 -> 1.86, max 418 -> 3.97. GATE_SIGMA
3 is above both 99.9th percentiles. Contradictions: 268 checks (95 logged) -> 20 (10 logged), support
unchanged (33,767 -> 33,802 checks). The 20 left: 17 on the SLV third-stage failure, a partner's report
with a 32-37 km ellipse 5-10 s after the pieces turned ballistic, 117-200 km off the node's 4-6 km one
(the young prediction's own error, as in assess.ballistic_areas.settling: the sigma says 15 km, the
fall is 100-200 km away); 1 of the same kind after an IRBM's burnout (93 km, 46 s); 2 time gaps of a
light separated piece and of a vague 21 km own prediction (75 s at 10 s of age, 227 s at 27 s).
The assessment uses support in one way only: a track that just turned ballistic (before it
has settled, see assess.ballistic_areas.settling) may alert on its area risks when a partner's
independent prediction agrees with its own. A report never makes an area
risk by itself: the probabilities always come from the node's own track.

Which of the node's tracks a partner's track is about is learnt from agreement: the first time a
partner track's report agrees with one of the node's predictions, the two are bound (one object seen by
both). A report that cannot be about any real fall (not finite, an impact time before the report was made
or beyond the longest flight), or a bound partner track's report that no longer agrees with its track's
prediction (a different impact area far beyond both ellipses, or an impossible time for that fall)
contradicts the fused picture: it is logged (once per partner track and reason), counted (``conflicts``,
by partner and reason) and not used. A bound partner track that now agrees with another own track (the
fusion re-formed one object's track) is bound to that one instead. Reports older than REPORT_MAX_AGE_S
are not used. A report that agrees with nothing the node holds and was never bound
may be about an object the node does not see (a spent stage its radars miss): counted (``unmatched``),
not used, not called a contradiction. Stale reports (impact time long past) are not used.

Degrees, metres, unix seconds.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from triwarn.assess.partner_gate import GATE_SIGMA, Refusals, excess_sigma, finite
from triwarn.geo import geodesic

log = logging.getLogger(__name__)

K95 = 2.447746830680816  # sqrt(chi2.ppf(0.95, 2)): a 95 % ellipse's semi-axis per 1-sigma
MARGIN_M = 20e3
MARGIN_S = 10.0
POINT_SIGMA_FLOOR_M = 1e3
TIME_SIGMA_FLOOR_S = 2.0
DRIFT_M_PER_S = 2e3  # a vacuum prediction's point moves this much per second between the two predictions
DRIFT_S_PER_S = 1.5  # and its impact time this much
NEAR_S = 300.0  # a report whose impact time is this close to a prediction's is about it or contradicts it
MAX_FLIGHT_S = 6000.0  # no ballistic fall predicted further ahead than this (a lofted ICBM: ~70 min)
STALE_S = 60.0  # a report whose impact time is this far in the past is about a fall that is over
AGREE_MAX_M = 60e3  # 95 % semi-major axes above this are too vague to support anything
REPORT_MAX_AGE_S = 30.0  # an older report (its partner track ended) says nothing of the track now
MAX_BOUND = 4096  # partner tracks whose own track is remembered


@dataclass
class PartnerImpact:
    """One partner's impact prediction (from an ImpactReport)."""

    sender: str
    track_id: str
    sent_unix_s: float
    lat_deg: float
    lon_deg: float
    semi_major_m: float
    impact_t_unix_s: float
    impact_t_sigma_s: float


@dataclass
class OwnImpact:
    """The node's own ballistic prediction for one fused track."""

    track: str
    lat_deg: float
    lon_deg: float
    semi_major_m: float
    time_unix_s: float
    time_sigma_s: float


@dataclass
class PartnerImpacts(Refusals):
    """Checks partners' impact reports against the node's own predictions; keeps the counts
    (conflicts: (sender, reason) -> checks refused, from partner_gate.Refusals)."""

    supported: Counter = field(default_factory=Counter)  # sender -> times a report supported a track
    unmatched: Counter = field(default_factory=Counter)  # sender -> checks that agreed with no own track
    _bound: dict = field(default_factory=dict)  # (sender, partner track) -> own track, in binding order

    def support(self, reports: list[PartnerImpact], own: list[OwnImpact], now_unix_s: float) -> dict[str, set[str]]:
        """Which of the own predictions each partner's reports support: track -> senders."""
        out: dict[str, set[str]] = {}
        for r in reports:
            key = (r.sender, r.track_id)
            bound = self._bound.get(key)
            tracks, reason = self._check(r, own, now_unix_s)
            if reason is None and bound is not None and bound not in tracks:
                bound = None  # it agrees with another own track now (the fusion re-formed it): re-bind
            if reason in ("impact_point_differs", "impact_time_differs") and (
                    bound is None or all(o.track != bound for o in own)):
                reason = "unmatched"  # perhaps an object the node does not hold
            if reason is not None:
                if reason in ("unrelated", "stale", "unmatched"):
                    self.unmatched[r.sender] += reason == "unmatched"
                    continue
                self.refuse(log, r.sender, r.track_id, reason,
                            "partner %s impact report for %s contradicts the fused track %s: %s", r.sender,
                            r.track_id, bound or "-", reason)
                continue
            if bound is None:
                self._bound.pop(key, None)
                self._bound[key] = tracks[0]
                while len(self._bound) > MAX_BOUND:  # a live node runs for months: forget the oldest
                    self._bound.pop(next(iter(self._bound)))
            for tid in tracks:
                out.setdefault(tid, set()).add(r.sender)
                self.supported[r.sender] += 1
        return out

    @staticmethod
    def _check(r: PartnerImpact, own: list[OwnImpact], now: float) -> tuple[list[str], str | None]:
        """(tracks the report agrees with, None) or ([], why not: unrelated, stale or a contradiction)."""
        if not finite(r.lat_deg, r.lon_deg, r.semi_major_m, r.impact_t_unix_s, r.impact_t_sigma_s, r.sent_unix_s):
            return [], "not_finite"
        if r.impact_t_unix_s < r.sent_unix_s - MARGIN_S - GATE_SIGMA * max(r.impact_t_sigma_s, TIME_SIGMA_FLOOR_S):
            return [], "impact_before_report"  # predicts a fall before it was made: impossible time
        if r.impact_t_unix_s > r.sent_unix_s + MAX_FLIGHT_S:
            return [], "impact_too_late"
        if r.impact_t_unix_s < now - STALE_S or r.sent_unix_s < now - REPORT_MAX_AGE_S:
            return [], "stale"
        near = [o for o in own if abs(o.time_unix_s - r.impact_t_unix_s) <= NEAR_S]
        if not near:
            return [], "unrelated"
        tight = [gaps_sigma(r, o, now, contradiction=False) for o in near]  # the same fall, now: support
        loose = [gaps_sigma(r, o, now) for o in near]  # the same fall, predicted at another time
        ok = np.array([max(g) <= GATE_SIGMA for g in tight])
        # Agreement of two vague predictions says little (a stage and the warhead agree early on): only
        # predictions both sure of the point to AGREE_MAX_M support (and bind) each other.
        sure = np.array([max(r.semi_major_m, o.semi_major_m) <= AGREE_MAX_M for o in near])
        if (ok & sure).any():
            return [o.track for o, k in zip(near, ok & sure, strict=True) if k], None
        place = np.array([g[0] <= GATE_SIGMA for g in loose])
        if (place & np.array([g[1] <= GATE_SIGMA for g in loose])).any():
            return [], "unrelated"  # consistent, but too vague or too old to say it is the same fall now
        return [], "impact_time_differs" if place.any() else "impact_point_differs"


def gaps_sigma(r: PartnerImpact, o: OwnImpact, now_unix_s: float,
               contradiction: bool = True) -> tuple[float, float]:
    """How far a report and an own prediction are apart beyond the margins, in sigmas (partner_gate.
    excess_sigma): (impact point, impact time). contradiction: each side's sigma with its floor, plus what
    a vacuum prediction moves over the report's age (DRIFT_M_PER_S, DRIFT_S_PER_S): beyond GATE_SIGMA,
    a contradiction. Else the sigmas as reported: within GATE_SIGMA, the same fall (support)."""
    age = max(now_unix_s - r.sent_unix_s, 0.0) if contradiction else 0.0
    floor_m, floor_s = (POINT_SIGMA_FLOOR_M, TIME_SIGMA_FLOOR_S) if contradiction else (0.0, 0.0)
    dist = float(geodesic.inverse(r.lat_deg, r.lon_deg, o.lat_deg, o.lon_deg)[0])
    s_place = max(r.semi_major_m / K95, floor_m) + max(o.semi_major_m / K95, floor_m) + DRIFT_M_PER_S * age
    s_time = max(r.impact_t_sigma_s, floor_s) + max(o.time_sigma_s, floor_s) + DRIFT_S_PER_S * age
    return (excess_sigma(dist, s_place, MARGIN_M),
            excess_sigma(r.impact_t_unix_s - o.time_unix_s, s_time, MARGIN_S))


def from_reports(reports) -> list[PartnerImpact]:
    """PartnerImpact records from share.schema.ImpactReport messages (already admitted and bounded)."""
    return [PartnerImpact(r.sender, r.track_id, float(r.sent_unix_s), float(r.lat_deg), float(r.lon_deg),
                          float(r.semi_major_m), float(r.impact_t_unix_s), float(r.impact_t_sigma_s))
            for r in reports]
