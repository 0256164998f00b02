"""Partners' launch reports as evidence for the boost-phase layer: the launch time they give sets a
boosting track's time since launch (its class) before the node's own launch estimate exists.

Where the node has its own estimate of the track's launch, a report is checked against that estimate
only (gaps_sigma, through assess.partner_gate): points within GATE_SIGMA x (sigma_a + sigma_b) +
MARGIN_M, times within GATE_SIGMA x (sigma_a + sigma_b) + MARGIN_S (each sigma at least its floor,
TIME_SIGMA_FLOOR_S / POINT_SIGMA_FLOOR_M: a reported 0 says nothing). Both apart: a report about another
launch (another site, another time), not a contradiction; one of the two apart: a contradiction (the same
launch told from another point, or the same point at an impossible time). The track's own age (time since
that launch) is then the node's business, not the report's: before 2026-12-08 a report that agreed with
the node's own estimate to 0.5 s was called too_old_for_boost on tracks the node still held as boosting
600-650 s after launch (the IRBM over Hokkaido, bench/bench_partner_reports.py).

Without an own estimate a report is used only where it fits the fused track: its time is not after the
track's, the track could have flown from its point in the time since (ground distance <=
MAX_GROUND_SPEED_MPS x elapsed + 3 sigma + MARGIN_M), and the elapsed time is a boost's (<= MAX_BOOST_S).
A report near a track in time but failing a check contradicts it.

A contradiction is logged once per report and reason, counted (conflicts, by partner and reason), and the
report is not used. A report never makes a risk by itself: it only dates a track the node already has, and
the layer's probability comes from that track's own motion. Measured with honest partners (6 scenarios x
2 seeds and three SLVs, 2026-12-08): every report checked against an own estimate was within 0.2 sigma
of it (the nations fuse each other's tracks, so their launch estimates agree to 0-2.3 s), so the floors
(1 s, 1 km) and the 3-sigma gate leave room for nations that do not share tracks.

Degrees, metres, unix seconds.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from triwarn.assess.partner_gate import GATE_SIGMA, Refusals, excess_sigma, finite
from triwarn.geo import geodesic

log = logging.getLogger(__name__)

MAX_GROUND_SPEED_MPS = 7500.0  # no ballistic missile's ground track moves faster
MAX_BOOST_S = 600.0  # a launch older than this cannot date a boosting track (slowest launcher burn)
MARGIN_M = 50e3
MARGIN_S = 10.0
NEAR_S = 900.0  # a report this close in time to a track is about it or contradicts it
TIME_SIGMA_FLOOR_S = 1.0
POINT_SIGMA_FLOOR_M = 1e3


@dataclass
class PartnerLaunch:
    """One partner's launch estimate (from a LaunchReport)."""

    sender: str
    event_id: str
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    time_sigma_s: float
    horiz_sigma_m: float


@dataclass
class PartnerLaunches(Refusals):
    """Checks partners' launch reports against tracks and keeps the counts of contradictions
    (conflicts: (sender, reason) -> checks refused, from partner_gate.Refusals)."""

    used: Counter = field(default_factory=Counter)  # sender -> times a report dated a track

    def launch_time_for(self, reports: list[PartnerLaunch], t_track_unix_s: float, lat_deg: float,
                        lon_deg: float, own: tuple[float, float, float, float, float] | None) -> float | None:
        """The launch time (unix s) the reports give one boosting track at (lat_deg, lon_deg) at
        t_track_unix_s, or None. own: the node's own estimate of the track's launch (lat, lon, time,
        time sigma, horizontal sigma) if it has one (then the reports are only checked against it)."""
        best = None
        for r in reports:
            reason = self._check(r, t_track_unix_s, lat_deg, lon_deg, own)
            if reason is None:
                if own is None and (best is None or r.time_sigma_s < best.time_sigma_s):
                    best = r
                continue
            if reason == "unrelated":
                continue
            self.refuse(log, r.sender, r.event_id, reason,
                        "partner %s launch report %s contradicts the fused track: %s", r.sender, r.event_id, reason)
        if best is None:
            return None
        self.used[best.sender] += 1
        return best.time_unix_s

    @staticmethod
    def _check(r: PartnerLaunch, t: float, lat: float, lon: float, own) -> str | None:
        """None if the report fits, "unrelated" if it is about another launch, else why it contradicts."""
        if not finite(r.time_unix_s, r.lat_deg, r.lon_deg, r.time_sigma_s, r.horiz_sigma_m):
            return "not_finite"
        elapsed = t - r.time_unix_s
        if abs(elapsed) > NEAR_S:
            return "unrelated"
        if own is not None:
            return _against_own(r, own)
        slack_t = GATE_SIGMA * time_sigma_s(r.time_sigma_s) + MARGIN_S
        if elapsed < -slack_t:
            return "after_track"
        if elapsed > MAX_BOOST_S + slack_t:
            return "too_old_for_boost"
        dist, _ = geodesic.inverse(r.lat_deg, r.lon_deg, lat, lon)
        reach = MAX_GROUND_SPEED_MPS * max(elapsed + slack_t, 0.0) + GATE_SIGMA * point_sigma_m(r.horiz_sigma_m)
        if float(dist) > reach + MARGIN_M:
            return "too_far_from_track"
        return None


def time_sigma_s(reported_s: float) -> float:
    """A launch time's 1-sigma as the gate uses it: the reported one, at least TIME_SIGMA_FLOOR_S."""
    return max(reported_s, TIME_SIGMA_FLOOR_S)


def point_sigma_m(reported_m: float) -> float:
    """A launch point's 1-sigma as the gate uses it: the reported one, at least POINT_SIGMA_FLOOR_M."""
    return max(reported_m, POINT_SIGMA_FLOOR_M)


def gaps_sigma(r: PartnerLaunch, own) -> tuple[float, float]:
    """How far a report and the node's own launch estimate own (lat, lon, time, time sigma, horizontal
    sigma) are apart beyond the margins, in sigmas (partner_gate.excess_sigma): (point, time)."""
    o_lat, o_lon, o_t, o_ts, o_hs = own
    d_own, _ = geodesic.inverse(r.lat_deg, r.lon_deg, o_lat, o_lon)
    return (excess_sigma(float(d_own), point_sigma_m(r.horiz_sigma_m) + point_sigma_m(o_hs), MARGIN_M),
            excess_sigma(r.time_unix_s - o_t, time_sigma_s(r.time_sigma_s) + time_sigma_s(o_ts), MARGIN_S))


def _against_own(r: PartnerLaunch, own) -> str | None:
    """A report against the node's own estimate of the track's launch: None if they agree, "unrelated"
    if it is about another launch (both point and time apart), else which of the two differs."""
    g_place, g_time = gaps_sigma(r, own)
    place, time = g_place <= GATE_SIGMA, g_time <= GATE_SIGMA
    if place and time:
        return None
    if not place and not time:
        return "unrelated"
    return "launch_time_differs" if place else "launch_point_differs"


def from_reports(reports) -> list[PartnerLaunch]:
    """PartnerLaunch records from share.schema.LaunchReport messages (already admitted and bounded)."""
    return [PartnerLaunch(r.sender, r.event_id, float(r.lat_deg), float(r.lon_deg), float(r.launch_t_unix_s),
                          float(r.launch_t_sigma_s), float(r.horiz_sigma_m)) for r in reports]
