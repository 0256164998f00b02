"""Incidents and their tracks: which incident an input belongs to, what each track has said and been
seen doing, and the judgements about a track's flight (lost, landed, over, discredited, continued by
another track of the same object). The warning decisions on top of them are triwarn.warn.machine's.

One incident per launch: by launch_id when the assessment gives one, else by track, else the newest
open incident. The events of one assessment cycle of a track share one ``t``; a newer trusted cycle of
a track replaces all of that track's older area risks (an area no longer reported has probability zero)
unless the prediction says its areas are held (flag areas_held).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from triwarn.geo.geodesic import inverse
from triwarn.records.events import (
    AreaRisk,
    Flag,
    ImpactPrediction,
    LaunchEvent,
    ObjectRole,
    TrackObservation,
    WarnInput,
)
from triwarn.records.warnings import AreaState, Reference
from triwarn.warn.geometry import MEAN_EARTH_RADIUS_M, unit
from triwarn.warn.policy import WarnPolicy

Risks = dict[tuple[str, str], tuple[float, float, float | None]]
"""(area, kind) -> (territory probability, EEZ probability, entry time)."""


@dataclass
class Track:
    """What one system track of an incident has said (its last trusted cycle) and been seen doing."""

    track_id: str
    first_t: float
    last_t: float
    object: ObjectRole = ObjectRole.UNRESOLVED
    short: bool = False
    obs: list[TrackObservation] = field(default_factory=list)  # the last two alive observations
    lost_t: float | None = None
    landed: bool = False
    batch_t: float = -math.inf
    risk: Risks = field(default_factory=dict)
    impact: ImpactPrediction | None = None
    # Latest possible impact of a boosting track (its corridor's far end, Unix s): until a ballistic
    # prediction gives the impact, its flight is not certainly over before this (plus impact_margin_s).
    powered_until_unix_s: float | None = None
    # Areas its cut-off path put at risk: code -> (probability, entry time); held until seen past.
    held: dict[str, tuple[float, float | None]] = field(default_factory=dict)
    # A separated piece's overflights (its last such cycle): code -> probability. They keep an area that
    # is already warned until the piece is past it too; they never warn one (see WarnPolicy).
    passing: dict[str, float] = field(default_factory=dict)
    passing_t: float = -math.inf
    discredited: bool = False
    continued_by: str | None = None  # a live track of the incident that carries on this lost one's motion
    # Areas this track has been seen past (WarningMachine._leave): it puts them at risk no more, so an
    # area it passed is never alerted again on its account (an SLV's orbiting payload flapped Okinawa).
    past: set[str] = field(default_factory=set)
    # Ballistic (and cut-off path) risks of its last cycle that wait while their area is entered more than
    # defer_beyond_s ahead (WarnPolicy): (area, kind) -> entry time. Judged at the machine's time
    # (IncidentBook.risk_view).
    deferred: dict[tuple[str, str], float] = field(default_factory=dict)
    # Areas of `held` whose cut-off risk waits the same way, at any probability (not sheltered when last put
    # on hold; judged with the held entry time in IncidentBook.risk_view).
    held_deferred: set[str] = field(default_factory=set)


@dataclass
class IncidentArea:
    """One area's state in an incident's thread, and the tracks that put it at risk (support)."""

    code: str
    state: AreaState
    kind: str
    probability: float
    enter_time_unix_s: float | None
    on_since_t: float
    reason: str | None = None
    support: set[str] = field(default_factory=set)
    low_since_t: float | None = None  # since when its risk has been below off_probability
    passing: set[str] = field(default_factory=set)  # separated pieces flying over it now (WarnPolicy)


@dataclass
class Incident:
    """One launch: its tracks, its areas' states and the thread of the messages issued for it."""

    name: str
    opened_t: float
    launch: LaunchEvent | None = None
    tracks: dict[str, Track] = field(default_factory=dict)
    areas: dict[str, IncidentArea] = field(default_factory=dict)
    thread: list[Reference] = field(default_factory=list)
    last_sent_t: float | None = None
    # Areas all-cleared after the object was seen past them, with the clear's reason: an area's state never
    # flaps, so after "passed" it gets at most one all-clear (WarningMachine._leave).
    cleared_after_passage: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    closed: bool = False


class IncidentBook:
    """One machine's incidents, the tracks in them, and what the inputs say about each track."""

    def __init__(self, run_id: str, policy: WarnPolicy) -> None:
        self.run_id = run_id
        self.policy = policy
        self.incidents: list[Incident] = []
        self._by_launch: dict[str, Incident] = {}
        self._track_incident: dict[str, Incident] = {}
        self.now = -math.inf  # the latest time the machine has asked about (deferral, risk_view)

    # ------------------------------------------------------------------------------------------ inputs

    def new_incident(self, t: float) -> Incident:
        inc = Incident(name=f"{self.run_id}-{len(self.incidents) + 1}", opened_t=t)
        self.incidents.append(inc)
        return inc

    def incident_for(self, launch_id: str | None, track: str | None, t: float) -> Incident:
        """The incident an event belongs to: by launch_id when the assessment gives one, else by track,
        else the newest open incident (a new one if none is open)."""
        if launch_id:
            inc = self._by_launch.get(launch_id)
            if inc is None or inc.closed:
                # The track's events before its launch was estimated opened an incident: that is this
                # launch's incident (one incident per launch), unless it already belongs to another.
                prior = self._track_incident.get(track) if track else None
                bound = {id(i) for i in self._by_launch.values()}
                if prior is not None and not prior.closed and id(prior) not in bound:
                    inc = self._by_launch[launch_id] = prior
                else:
                    inc = self._by_launch[launch_id] = self.new_incident(t)
        elif track and track in self._track_incident and not self._track_incident[track].closed:
            inc = self._track_incident[track]
        else:
            open_incidents = [i for i in self.incidents if not i.closed]
            inc = open_incidents[-1] if open_incidents else self.new_incident(t)
        if track:
            self._track_incident[track] = inc
        return inc

    def launch_incident(self, rec: LaunchEvent) -> Incident:
        if rec.launch_id or (rec.track and rec.track in self._track_incident):
            return self.incident_for(rec.launch_id, rec.track, rec.t)
        # Without ids, a launch estimate close in time and place to an open incident's is the same launch.
        for inc in reversed(self.incidents):
            if inc.closed:
                continue
            if inc.launch is None:
                return inc
            dist_m, _az = inverse(inc.launch.lat_deg, inc.launch.lon_deg, rec.lat_deg, rec.lon_deg)
            if abs(inc.launch.time_unix_s - rec.time_unix_s) <= 120.0 and float(dist_m) <= 100_000.0:
                return inc
        return self.new_incident(rec.t)

    def track(self, inc: Incident, track_id: str, t: float) -> Track:
        trk = inc.tracks.get(track_id)
        if trk is None:
            trk = inc.tracks[track_id] = Track(track_id=track_id, first_t=t, last_t=t)
        trk.first_t = min(trk.first_t, t)
        trk.last_t = max(trk.last_t, t)
        return trk

    def trusted(self, rec: ImpactPrediction | AreaRisk) -> bool:
        """Whether the event may change who is sent to shelter (see WarnPolicy)."""
        pol = self.policy
        if rec.quality < pol.min_quality:
            return False
        if rec.powered and not pol.warn_powered and not (rec.cutoff_path and pol.trust_cutoff_path) \
                and not self._boost_risk_trusted(rec):
            return False
        if isinstance(rec, AreaRisk):
            if rec.implausible:
                return False
            if rec.role == ObjectRole.SEPARATED and rec.kind == "overflight" and not pol.separated_overflight:
                return False
        return True

    def _boost_risk_trusted(self, rec: ImpactPrediction | AreaRisk) -> bool:
        """A probabilistic boost-phase risk at or above the authority's threshold (WarnPolicy)."""
        threshold = self.policy.boost_alert_probability
        return (threshold is not None and isinstance(rec, AreaRisk) and rec.has(Flag.BOOST_RISK)
                and rec.probability >= threshold)

    def apply(self, rec: WarnInput) -> None:
        if isinstance(rec, LaunchEvent):
            inc = self.launch_incident(rec)
            inc.launch = rec
            if rec.track:
                self._track_incident[rec.track] = inc
            return
        if isinstance(rec, TrackObservation) and not rec.alive:
            # The loss of a track this machine never saw, or of one whose incident is closed (landed,
            # and the edge reports the loss a few seconds later), says nothing: no new incident.
            known = self._track_incident.get(rec.track)
            if known is None or known.closed:
                return
        inc = self.incident_for(rec.launch_id, rec.track or None, rec.t)
        trk = self.track(inc, rec.track, rec.t)
        if isinstance(rec, TrackObservation):
            if rec.alive:
                trk.obs = [*trk.obs[-1:], rec]
                trk.lost_t = None
                if rec.alt_m <= self.policy.landed_alt_m:
                    trk.landed = True
            else:
                trk.lost_t = rec.t if trk.lost_t is None else trk.lost_t
            return
        trusted = self.trusted(rec)
        # Only a trusted cycle replaces the track's risks: a boosting-mode corridor or a low-quality
        # cycle in between (the tracker's mode or quality wobbling) must not wipe them, or the areas
        # would be let go and alerted again (seen on the replayed 2022-10-04 IRBM).
        if trusted and rec.t > trk.batch_t and not (isinstance(rec, ImpactPrediction) and rec.areas_held):
            trk.batch_t = rec.t
            trk.risk = {}
            trk.deferred = {}
        trk.object = rec.role
        trk.short = rec.short
        pol = self.policy
        if (rec.role == ObjectRole.SEPARATED and rec.quality >= pol.min_quality and rec.t > trk.passing_t
                and not (isinstance(rec, ImpactPrediction) and rec.areas_held)):
            trk.passing_t, trk.passing = rec.t, {}  # a new cycle of the piece replaces its overflights
        if isinstance(rec, ImpactPrediction):
            if not rec.powered:  # a corridor's time is the earliest possible impact, not the impact
                trk.impact = rec
            else:
                trk.powered_until_unix_s = rec.time_unix_s + (rec.time_sigma_s or 0.0)
                if trk.impact is not None and rec.t > trk.impact.t and rec.quality >= pol.min_quality:
                    # Boosting again (a multi-stage vehicle's next stage, or the mode wobbling): the
                    # ballistic impact of the coast before is void, and its time must not end the flight.
                    trk.impact = None
            return
        if not trusted:  # a state no missile can have, or not trusted enough to send people to shelter
            if (rec.role == ObjectRole.SEPARATED and rec.kind == "overflight" and rec.quality >= pol.min_quality
                    and not rec.implausible and not rec.powered and rec.probability >= pol.off_probability):
                trk.passing[rec.area] = max(trk.passing.get(rec.area, 0.0), rec.probability)
            return
        if rec.powered and not self.policy.warn_powered:  # a cut-off path's or the boost layer's (WarnPolicy)
            key = (rec.area, rec.kind)
            if key not in trk.risk or trk.risk[key][0] < rec.probability:  # one cycle: the higher of the two
                trk.risk[key] = (rec.probability, 0.0, rec.enter_time_unix_s)
            # Only the cut-off path is certain (overflown whatever the motor does next): only its areas are
            # held until seen past. A boost-layer probability is one cycle's and lapses with it.
            if rec.cutoff_path and rec.probability >= self.policy.off_probability:
                p_old, e_old = trk.held.get(rec.area, (0.0, None))
                enter = rec.enter_time_unix_s if e_old is None else min(
                    e_old, rec.enter_time_unix_s if rec.enter_time_unix_s is not None else e_old)
                trk.held[rec.area] = (max(p_old, rec.probability), enter)
            if rec.cutoff_path:
                # A cut-off path's area entered more than defer_beyond_s ahead (a lofted ICBM's, 40-70 min)
                # is not reached before a warning is due, and a ballistic prediction follows within seconds of
                # thrust end: it waits like a ballistic one, whatever its probability (the band's end is the
                # speed-lagged or -overshooting track's, not a calibrated impact).
                wait = self._defer(inc, trk, rec, below=math.inf)
                (trk.held_deferred.add if wait else trk.held_deferred.discard)(rec.area)
            return
        trk.risk[(rec.area, rec.kind)] = (rec.probability, rec.probability_eez, rec.enter_time_unix_s)
        self._defer(inc, trk, rec)

    def _defer(self, inc: Incident, trk: Track, rec: AreaRisk, below: float | None = None) -> bool:
        """Whether the risk rec waits (WarnPolicy.defer_beyond_s; below its probability bound, by default
        defer_below_probability), noted in trk.deferred."""
        pol = self.policy
        area = inc.areas.get(rec.area)
        sheltered = area is not None and area.state == "shelter"  # the deferral only holds back a first alert
        if (pol.defer_beyond_s is not None and rec.enter_time_unix_s is not None
                and rec.probability < (pol.defer_below_probability if below is None else below) and not sheltered):
            trk.deferred[(rec.area, rec.kind)] = rec.enter_time_unix_s
            return True
        trk.deferred.pop((rec.area, rec.kind), None)
        return False

    # ----------------------------------------------------------------------------------- flight status

    def is_lost(self, trk: Track, now: float) -> bool:
        self.now = max(self.now, now)
        return trk.lost_t is not None or (now - trk.last_t > self.policy.lost_after_s and not trk.landed)

    def has_landed(self, trk: Track, now: float) -> bool:
        """Seen at the ground, or lost low and late: the last sight below lost_low_alt_m within
        lost_late_s of the predicted impact (radar seldom sees the last kilometres)."""
        if trk.landed:
            return True
        pol = self.policy
        if not trk.obs or trk.impact is None or not self.is_lost(trk, now):
            return False
        last = trk.obs[-1]
        return last.alt_m <= pol.lost_low_alt_m and last.t >= trk.impact.time_unix_s - pol.lost_late_s

    def flight_over(self, trk: Track, now: float) -> bool:
        self.now = max(self.now, now)
        if self.has_landed(trk, now):
            return True
        pol = self.policy
        if trk.impact is None:
            # Only corridors so far: it can fly at most until the corridor's far end.
            return trk.powered_until_unix_s is not None and now >= trk.powered_until_unix_s + pol.impact_margin_s
        margin = pol.impact_margin_s
        if trk.impact.time_sigma_s is not None:  # the prediction says how sure it is of the time
            margin = min(margin, max(pol.impact_margin_min_s, 4.0 * trk.impact.time_sigma_s))
        if now < trk.impact.time_unix_s + margin:
            return False
        # Seen alive and high after its predicted impact: the prediction was wrong (an object that went
        # on to orbit gets no new impact), so the flight is not over while it is still seen.
        last = trk.obs[-1] if trk.obs else None
        return not (last is not None and not self.is_lost(trk, now) and last.t > trk.impact.time_unix_s
                    and last.alt_m > pol.lost_low_alt_m)

    def discredit(self, inc: Incident, now: float) -> None:
        """A lost, briefly seen (or separated) piece's track is discredited once a live primary or
        unresolved companion, seen at least as long, has a newer prediction that puts its areas at no risk."""
        pol = self.policy
        live = [
            u
            for u in inc.tracks.values()
            if not self.is_lost(u, now)
            and not u.discredited
            and u.impact is not None
            and u.object != ObjectRole.SEPARATED
        ]
        for trk in inc.tracks.values():
            if trk.discredited or not self.is_lost(trk, now):
                continue
            span = trk.last_t - trk.first_t
            if span >= pol.short_track_s and not trk.short and trk.object != ObjectRole.SEPARATED:
                continue
            areas = {a for (a, _k), (p, _pe, _e) in self.risk_view(trk).items() if p >= pol.on_probability}
            for u in live:
                if u is trk or u.batch_t <= trk.last_t or (u.last_t - u.first_t) < span:
                    continue
                u_max: dict[str, float] = {}
                for (a, _k), (p, _pe, _e) in self.risk_view(u).items():
                    u_max[a] = max(u_max.get(a, 0.0), p)
                if all(u_max.get(a, 0.0) < pol.off_probability for a in areas):
                    trk.discredited = True
                    break

    def continue_lost(self, inc: Incident, now: float) -> None:
        """Mark lost tracks whose motion a live track of the same incident continues: extrapolated from
        its last two observations to the live track's last one, it is within continue_m of it.

        With sharing, one object is often held as two system tracks (own and partner) and the partner's
        ends first, e.g. at the edge of its radars' cover. Without this, every area it supported could
        neither pass nor clear until its predicted impact time plus margin (seen on the replayed
        2022-10-04 IRBM: Aomori all-cleared 15 min late). An object that vanished with no live companion
        where it should be (2022-11-03) stays lost and unpassed.
        """
        pol = self.policy
        live = [u for u in inc.tracks.values()
                if len(u.obs) == 2 and not u.discredited and not self.is_lost(u, now)]
        if not live:
            return
        for trk in inc.tracks.values():
            if trk.continued_by is not None or not self.is_lost(trk, now):
                continue
            same = next((u for u in live if u is not trk and self.same_impact(trk, u)), None)
            if same is not None:
                trk.continued_by = same.track_id
                continue
            if len(trk.obs) < 2:
                continue
            (a, b) = trk.obs
            span = b.t - a.t
            for u in live:
                c = u.obs[-1]
                if u is trk or span <= 0.0 or not 0.0 <= c.t - b.t <= pol.continue_dt_s:
                    continue
                pa, pb, pc = unit(a.lat_deg, a.lon_deg), unit(b.lat_deg, b.lon_deg), unit(c.lat_deg, c.lon_deg)
                guess = pb + (pb - pa) * (c.t - b.t) / span
                guess /= np.linalg.norm(guess)
                gap_m = MEAN_EARTH_RADIUS_M * float(np.arccos(np.clip(guess @ pc, -1.0, 1.0)))
                alt_guess_m = b.alt_m + (b.alt_m - a.alt_m) * (c.t - b.t) / span
                if gap_m <= pol.continue_m and abs(c.alt_m - alt_guess_m) <= pol.continue_m:
                    trk.continued_by = u.track_id
                    break

    def same_impact(self, lost: Track, live: Track) -> bool:
        """The live track's newer ballistic prediction puts the impact where and when the lost track's last
        one did: the same trajectory (Guam replay: the US radars lost the warhead at +674 s over the
        Pacific and picked it up again at +780 s as a new track, 100 s later; the lost track's own
        timer then held Guam 12 s past the impact). Both predictions must be sure of the point (semi-major
        axis within match_impact_m) and trusted, so a vague early estimate never matches by chance."""
        pol = self.policy
        a, b = lost.impact, live.impact
        if a is None or b is None or b.t <= lost.last_t:
            return False
        if max(a.semi_major_m, b.semi_major_m) > pol.match_impact_m or min(a.quality, b.quality) < pol.min_quality:
            return False
        if abs(a.time_unix_s - b.time_unix_s) > pol.match_impact_s:
            return False
        cos_gap = float(unit(a.lat_deg, a.lon_deg) @ unit(b.lat_deg, b.lon_deg))
        return MEAN_EARTH_RADIUS_M * math.acos(min(1.0, max(-1.0, cos_gap))) <= pol.match_impact_m

    def object_down(self, inc: Incident, trk: Track, now: float) -> bool:
        """The track's flight is over, or that of the live track continuing it (one object)."""
        return self.flight_over(trk, now) or self.flight_over(self.continuer(inc, trk), now)

    @staticmethod
    def continuer(inc: Incident, trk: Track) -> Track:
        for _ in range(8):  # a short chain at most; never loop
            nxt = inc.tracks.get(trk.continued_by) if trk.continued_by else None
            if nxt is None:
                return trk
            trk = nxt
        return trk


    def risk_view(self, trk: Track, cycle: bool = True) -> Risks:
        """The track's risks: its last trusted cycle's (if cycle) and the areas its cut-off paths put at
        risk and that it has not been seen past (as overflight), the higher probability of the two. A
        deferred ballistic or cut-off path risk (WarnPolicy.defer_beyond_s) counts below off_probability while
        its area is entered more than defer_beyond_s after the latest time the machine has asked about."""
        out = dict(trk.risk) if cycle else {}
        wait = self.policy.defer_beyond_s
        for key, enter in trk.deferred.items():
            if key in out and wait is not None and enter - self.now > wait:
                p, p_eez, e = out[key]
                out[key] = (min(p, 0.5 * self.policy.off_probability), p_eez, e)
        for code, (p, enter) in trk.held.items():
            if code in trk.held_deferred and wait is not None and enter is not None and enter - self.now > wait:
                p = min(p, 0.5 * self.policy.off_probability)
            old = out.get((code, "overflight"))
            if old is None or old[0] < p:
                out[(code, "overflight")] = (p, 0.0, enter)
        if trk.past:
            out = {key: v for key, v in out.items() if key[0] not in trk.past}
        return out


__all__ = ["Incident", "IncidentArea", "IncidentBook", "Risks", "Track"]
