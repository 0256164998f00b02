"""Orbit estimates between nations: own estimates as records and wire reports, partners' reports judged
against the fused picture before they are held (issue 14).

An orbit report is shared like an impact report: every new estimate of an orbital track (the assessment
refreshes each every 10 s, assess.orbit.OrbitBook) goes to the partners the release policy names, and a
node keeps each partner's latest per (sender, track). Unlike an impact report, an orbit can be checked at
once: its TLE, propagated with SGP4 to the time of a fused track, must put the object where the fused
picture has it. A partner's orbit that contradicts the fused track it is about (the nearest live orbital
one) by more than ORBIT_AGREE_M is counted
per sender and not held; an orbit no fused track can confirm or deny (the object out of every sensor's
view) is held.

Pure: data in, data out; the receiver's clock is the step's.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

import msgspec
import numpy as np
from numpy.typing import NDArray
from sgp4.api import WGS72, Satrec

from triwarn.assess.orbit import OrbitEstimate, ground_track_points, is_orbital, sgp4_positions_ecef_m
from triwarn.records.events import OrbitElements
from triwarn.records.tracks import SystemTracks
from triwarn.share.schema import OrbitReport

# A partner's orbit further than this from the fused track at the track's time contradicts it. Own
# estimates are within a few km at epoch and 7 km ten minutes on (docs/space-launches.md); a different
# object in a neighbouring orbit (a separated stage) is tens of km away within minutes.
ORBIT_AGREE_M = 50e3
PENDING_KEPT = 256  # partner orbit reports waiting for the next step's check (oldest dropped beyond it)


def orbit_record(est: OrbitEstimate, t_unix_s: float, nation: str) -> OrbitElements:
    """The record of one of the assessment's orbit estimates, assessed at t_unix_s by nation."""
    own = est.elements
    return msgspec.structs.replace(own, t=float(t_unix_s), sigma=dict(own.sigma), flags=list(own.flags),
                                   nations=[nation])


def report_fields(rec: OrbitElements) -> dict:
    """OrbitReport's content fields (SI) for one record."""
    sig = rec.sigma
    return dict(
        track_id=rec.track, epoch_unix_s=rec.epoch_unix_s, sma_m=rec.sma_km * 1e3, ecc=rec.ecc,
        incl_deg=rec.incl_deg, raan_deg=rec.raan_deg % 360.0, arg_lat_deg=rec.arg_lat_deg % 360.0,
        perigee_alt_m=rec.perigee_km * 1e3, apogee_alt_m=rec.apogee_km * 1e3,
        sma_sigma_m=sig.get("sma_km", 0.0) * 1e3, ecc_sigma=sig.get("ecc", 0.0),
        incl_sigma_deg=min(sig.get("incl_deg", 0.0), 180.0), raan_sigma_deg=min(sig.get("raan_deg", 0.0), 180.0),
        arg_lat_sigma_deg=min(sig.get("arg_lat_deg", 0.0), 180.0), tle_line1=rec.tle[0], tle_line2=rec.tle[1],
    )


def _tle_satrec(line1: str, line2: str) -> Satrec | None:
    try:
        return Satrec.twoline2rv(line1, line2, WGS72)
    except (ValueError, IndexError):
        return None


def tle_positions_ecef_m(line1: str, line2: str, t_unix_s: NDArray) -> NDArray:
    """SGP4 positions (N, 3) ECEF m of a TLE at times t_unix_s (NaN where SGP4 fails, or the lines do
    not parse)."""
    return sgp4_positions_ecef_m(_tle_satrec(line1, line2), t_unix_s)


def ground_track_deg(line1: str, line2: str, t0_unix_s: float, span_s: float,
                     step_s: float) -> list[tuple[float, float, float]]:
    """[(t unix s, lat deg, lon deg)] of a TLE's ground track every step_s over span_s from t0 (points
    SGP4 cannot give are left out)."""
    return ground_track_points(_tle_satrec(line1, line2), t0_unix_s, span_s, step_s)


def orbit_disagreement_m(report: OrbitReport, system: SystemTracks) -> float | None:
    """How far (m) the report's orbit is from the fused track it is about, at that track's time: the nearest
    live (not coasting, not boosting) fused track whose energy is orbital. (The report names the sender's
    system track, which the receiver's picture does not hold by that name.) None when no fused track can
    judge it; inf when the TLE cannot be propagated."""
    if not len(system):
        return None
    live = ~system.coasting & ~system.boost & is_orbital(system.pos_ecef_m, system.vel_ecef_mps)
    idx = np.flatnonzero(live)
    if not len(idx):
        return None
    pos = tle_positions_ecef_m(report.tle_line1, report.tle_line2, system.t_unix_s[idx])
    d = np.linalg.norm(pos - system.pos_ecef_m[idx], axis=1)
    return float(np.nanmin(d)) if np.isfinite(d).any() else float("inf")


class PartnerOrbits:
    """The partners' orbit reports: waiting for a check, then held (latest per sender and track, at most
    `kept`) or counted as contradicting the fused picture (`disputed`, per sender)."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self.pending: list[OrbitReport] = []
        self.held: OrderedDict[tuple[str, str], OrbitReport] = OrderedDict()
        self.disputed: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()

    def offer(self, report: OrbitReport) -> None:
        self.pending.append(report)
        if len(self.pending) > PENDING_KEPT:
            self.dropped[self.pending.pop(0).sender] += 1

    def check(self, system: SystemTracks) -> list[OrbitReport]:
        """Judge the waiting reports against the fused picture; the ones that contradicted it."""
        refused = []
        pending, self.pending = self.pending, []
        for report in pending:
            d = orbit_disagreement_m(report, system)
            if d is not None and not d <= ORBIT_AGREE_M:
                self.disputed[report.sender] += 1
                refused.append(report)
                continue
            key = (report.sender, report.track_id)
            prev = self.held.get(key)
            if prev is not None and prev.epoch_unix_s > report.epoch_unix_s:
                continue
            self.held.pop(key, None)
            self.held[key] = report
            while len(self.held) > self.kept:
                self.held.popitem(last=False)
        return refused

    def latest(self) -> list[OrbitReport]:
        return list(self.held.values())


def new_estimates(latest: dict[str, OrbitEstimate], published: dict[str, float]) -> list[OrbitEstimate]:
    """The estimates in latest (track -> estimate) whose epoch has not been published yet; published
    (track -> epoch) is updated."""
    out = []
    for tid, est in latest.items():
        if published.get(tid) != est.elements.epoch_unix_s:
            published[tid] = est.elements.epoch_unix_s
            out.append(est)
    return out
