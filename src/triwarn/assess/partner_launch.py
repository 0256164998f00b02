"""Partners' launch reports as evidence for the boost-phase layer: the launch time they give sets a
boosting track's time since launch (its class) before the node's own launch estimate exists.

A partner's report is used only where it fits the fused track: its time is not after the track's, the
track could have flown from its point in the time since (ground distance <= MAX_GROUND_SPEED_MPS x
elapsed + 3 sigma + MARGIN_M), the elapsed time is a boost's (<= MAX_BOOST_S), and, where the node has
its own estimate of that launch, the two agree (points within 3 (sigma_a + sigma_b) + MARGIN_M, times
within 3 (sigma_a + sigma_b) + MARGIN_S). A report near a track in time but failing a check
contradicts it: logged, counted (conflicts, by partner and reason), and not used. A report never makes
a risk by itself: it only dates a track the node already has, and the layer's probability comes from
that track's own motion.

Degrees, metres, unix seconds.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from triwarn.geo import geodesic

log = logging.getLogger(__name__)

MAX_GROUND_SPEED_MPS = 7500.0  # no ballistic missile's ground track moves faster
MAX_BOOST_S = 600.0  # a launch older than this cannot date a boosting track (slowest launcher burn)
MARGIN_M = 50e3
MARGIN_S = 10.0
NEAR_S = 900.0  # a report this close in time to a track is about it or contradicts it


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
class PartnerLaunches:
    """Checks partners' launch reports against tracks and keeps the counts of contradictions."""

    conflicts: Counter = field(default_factory=Counter)  # (sender, reason) -> reports refused
    used: Counter = field(default_factory=Counter)  # sender -> times a report dated a track
    _logged: set = field(default_factory=set)

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
            self.conflicts[(r.sender, reason)] += 1
            key = (r.sender, r.event_id, reason)
            if key not in self._logged:  # once per report and reason, not at every step
                self._logged.add(key)
                log.warning("partner %s launch report %s contradicts the fused track: %s", r.sender, r.event_id,
                            reason)
        if best is None:
            return None
        self.used[best.sender] += 1
        return best.time_unix_s

    @staticmethod
    def _check(r: PartnerLaunch, t: float, lat: float, lon: float, own) -> str | None:
        """None if the report fits, "unrelated" if it is about another time, else why it contradicts."""
        if not (np.isfinite(r.time_unix_s) and np.isfinite(r.lat_deg) and np.isfinite(r.lon_deg)):
            return "not_finite"
        elapsed = t - r.time_unix_s
        if abs(elapsed) > NEAR_S:
            return "unrelated"
        slack_t = 3.0 * r.time_sigma_s + MARGIN_S
        if elapsed < -slack_t:
            return "after_track"
        if elapsed > MAX_BOOST_S + slack_t:
            return "too_old_for_boost"
        dist, _ = geodesic.inverse(r.lat_deg, r.lon_deg, lat, lon)
        if float(dist) > MAX_GROUND_SPEED_MPS * max(elapsed + slack_t, 0.0) + 3.0 * r.horiz_sigma_m + MARGIN_M:
            return "too_far_from_track"
        if own is not None:
            o_lat, o_lon, o_t, o_ts, o_hs = own
            d_own, _ = geodesic.inverse(r.lat_deg, r.lon_deg, o_lat, o_lon)
            if float(d_own) > 3.0 * (r.horiz_sigma_m + o_hs) + MARGIN_M:
                return "launch_point_differs"
            if abs(r.time_unix_s - o_t) > 3.0 * (r.time_sigma_s + o_ts) + MARGIN_S:
                return "launch_time_differs"
        return None


def from_reports(reports) -> list[PartnerLaunch]:
    """PartnerLaunch records from share.schema.LaunchReport messages (already admitted and bounded)."""
    return [PartnerLaunch(r.sender, r.event_id, float(r.lat_deg), float(r.lon_deg), float(r.launch_t_unix_s),
                          float(r.launch_t_sigma_s), float(r.horiz_sigma_m)) for r in reports]
