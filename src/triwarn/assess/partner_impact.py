"""Partners' impact reports as supporting evidence for the ballistic impact risk.

A partner publishes an ImpactReport for each of its ballistic tracks (share.schema). The node's own
assessment predicts the impact of every fused ballistic track from that track's state; a partner's report
is checked against those predictions. It *supports* a track when the two agree: impact points within
GATE_SIGMA x (sigma_a + sigma_b) + MARGIN_M (sigma: the 95 % ellipse's semi-major axis / 2.45) and
impact times within GATE_SIGMA x (sigma_a + sigma_b) + MARGIN_S, both semi-major axes within
AGREE_MAX_M. The assessment uses support in one way only: a track that just turned ballistic (before it
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

from triwarn.geo import geodesic

log = logging.getLogger(__name__)

K95 = 2.447746830680816  # sqrt(chi2.ppf(0.95, 2)): a 95 % ellipse's semi-axis per 1-sigma
GATE_SIGMA = 3.0
MARGIN_M = 20e3
MARGIN_S = 10.0
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
class PartnerImpacts:
    """Checks partners' impact reports against the node's own predictions; keeps the counts."""

    conflicts: Counter = field(default_factory=Counter)  # (sender, reason) -> checks refused
    supported: Counter = field(default_factory=Counter)  # sender -> times a report supported a track
    unmatched: Counter = field(default_factory=Counter)  # sender -> checks that agreed with no own track
    _logged: set = field(default_factory=set)
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
                self.conflicts[(r.sender, reason)] += 1
                key = (r.sender, r.track_id, reason)
                if key not in self._logged:  # once per report and reason, not at every step
                    self._logged.add(key)
                    log.warning("partner %s impact report for %s contradicts the fused track %s: %s", r.sender,
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
        vals = (r.lat_deg, r.lon_deg, r.semi_major_m, r.impact_t_unix_s, r.impact_t_sigma_s, r.sent_unix_s)
        if not all(np.isfinite(v) for v in vals):
            return [], "not_finite"
        if r.impact_t_unix_s < r.sent_unix_s - MARGIN_S - 3.0 * r.impact_t_sigma_s:
            return [], "impact_before_report"  # predicts a fall before it was made: impossible time
        if r.impact_t_unix_s > r.sent_unix_s + MAX_FLIGHT_S:
            return [], "impact_too_late"
        if r.impact_t_unix_s < now - STALE_S or r.sent_unix_s < now - REPORT_MAX_AGE_S:
            return [], "stale"
        near = [o for o in own if abs(o.time_unix_s - r.impact_t_unix_s) <= NEAR_S]
        if not near:
            return [], "unrelated"
        s_r = r.semi_major_m / K95
        dist = np.array([float(geodesic.inverse(r.lat_deg, r.lon_deg, o.lat_deg, o.lon_deg)[0]) for o in near])
        place = dist <= np.array([GATE_SIGMA * (s_r + o.semi_major_m / K95) + MARGIN_M for o in near])
        time = np.array([abs(o.time_unix_s - r.impact_t_unix_s)
                         <= GATE_SIGMA * (r.impact_t_sigma_s + o.time_sigma_s) + MARGIN_S for o in near])
        ok = place & time
        # Agreement of two vague predictions says little (a stage and the warhead agree early on): only
        # predictions both sure of the point to AGREE_MAX_M support (and bind) each other.
        sure = np.array([max(r.semi_major_m, o.semi_major_m) <= AGREE_MAX_M for o in near])
        if (ok & sure).any():
            return [o.track for o, k in zip(near, ok & sure, strict=True) if k], None
        if ok.any():
            return [], "unrelated"  # consistent but too vague to say it is the same fall
        return [], "impact_time_differs" if place.any() else "impact_point_differs"


def from_reports(reports) -> list[PartnerImpact]:
    """PartnerImpact records from share.schema.ImpactReport messages (already admitted and bounded)."""
    return [PartnerImpact(r.sender, r.track_id, float(r.sent_unix_s), float(r.lat_deg), float(r.lon_deg),
                          float(r.semi_major_m), float(r.impact_t_unix_s), float(r.impact_t_sigma_s))
            for r in reports]
