"""Per-step assessment of the fused picture: launch, impact or corridor, areas at risk, trust flags.

Assessor.step(t, system_tracks) takes the system track table of one fusion step (triwarn.records.tracks)
and returns events
(triwarn.records.events). Everything heavy is one batch over tracks: the impact predictions of all
ballistic tracks fly together, the corridors of all boosting tracks together, the launch estimates of
all new tracks together. The class keeps a little history per track (first sighting, the last boosting
states for the thrust estimate, the launch group) and no clock: the caller gives the time.

A boosting track gets a corridor (where it can land: advisory, flag "corridor") and, with areas, its
cut-off path's area risks (flag "cutoff_path": the ground it overflies whatever its motor does next, which
the warning stage may act on; triwarn.assess.corridor states the assumption and the margins).

Trust rule (docs/assessment.md has the reasons): every prediction is the track's own, made from its own
state, so no object inherits another's threat. Objects from one launch share a launch_id; within it the
one with the most orbital energy is "primary", one clearly below it that appeared next to it later
"separated" (a spent stage or other piece), indistinguishable ones "unresolved". A track younger than
short_track_s or with fewer than min_updates updates is flagged "short_track" (quality x0.3); a state
no missile can have is flagged "implausible_state" (quality x0.05); the tracker's own quality
multiplies in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from triwarn.assess import areas as area_risk
from triwarn.assess import ballistic_areas
from triwarn.assess.areas import AreaHit, AreaModel, merge_hits
from triwarn.assess.boost_risk import BOOST_RISK_FLAG, BoostRisk, burnout_cue
from triwarn.assess.corridor import CUTOFF_LINES, cutoff_band, densify, predict_corridors
from triwarn.assess.course import CourseBook
from triwarn.assess.cutoff_areas import band_risk
from triwarn.assess.flight import ground_tracks
from triwarn.assess.impact import predict_impacts
from triwarn.assess.launch import METHOD_POWERED, estimate_launch
from triwarn.assess.orbit import OrbitBook, is_orbital
from triwarn.assess.partner_impact import PartnerImpacts
from triwarn.assess.partner_impact import from_reports as partner_impact_reports
from triwarn.assess.partner_launch import PartnerLaunches, from_reports
from triwarn.assess.stage_events import LaunchFlights, stage_ignition
from triwarn.assess.track_checks import due as _due
from triwarn.assess.track_checks import implausible as _implausible
from triwarn.assess.track_checks import thrust_accel as _thrust_accel
from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.geo.wgs84 import GM_M3_S2
from triwarn.records.events import TRUSTED_QUALITY, AreaRisk, Event, Flag, ImpactPrediction, LaunchEvent
from triwarn.records.tracks import SystemTracks

SEPARATION_RADIUS_M = 100e3
SEPARATION_AGE_S = 5.0


@dataclass
class AssessConfig:
    """Tuning of the assessment. Seconds, metres; probabilities in [0, 1]."""

    n_draws: int = 8  # state draws per ballistic track flown for overflight probabilities
    n_impact_samples: int = 1024  # nodes of the impact Gaussian's integral (assess.ballistic_areas)
    # A track that just turned ballistic after a boost (or whose own contribution did) still carries the
    # motor's tail and the filter's mode switch in its state: its area risks are discounted below trust
    # for this long, unless a partner's impact report agrees with its prediction (assess.ballistic_areas).
    ballistic_settle_s: float = 15.0
    # Cadence: a ballistic track's impact is predicted at most this often (0: every step), a boosting
    # track's corridor likewise; new tracks and tracks that just turned ballistic are predicted at once.
    impact_interval_s: float = 0.0
    corridor_interval_s: float = 0.0
    area_interval_s: float = 5.0  # area risk of a ballistic track is recomputed this often...
    area_tracks_per_step: int = 100  # ...for at most this many tracks per step (new tracks first)
    min_probability: float = 0.01  # area_risk events below this are not emitted
    short_track_s: float = 20.0
    min_updates: int = 5
    max_time_s: float = 6000.0  # prediction horizon (a lofted ICBM flies ~70 min)
    launch_samples: int = 100
    max_launch_estimates: int = 50  # per step; more new tracks wait for the next steps (bounded work)
    # A track whose launch estimate failed (no sample flew back to a plausible start) is tried again
    # after launch_retry_s, doubling per failure up to launch_retry_max_s: a track first seen late in a
    # long flight would otherwise cost a full estimate every step.
    launch_retry_s: float = 2.0
    launch_retry_max_s: float = 30.0
    trace_substeps: int = 8  # ground-track points per integration step (60 s) for overflight
    forget_s: float = 300.0
    boost_risk: bool = True  # the probabilistic boost-phase layer (triwarn.assess.boost_risk)...
    boost_risk_interval_s: float = 2.0  # ...recomputed this often (clock grid; ~15 ms per track)
    seed: int = 0


@dataclass
class _History:
    first_seen_unix_s: float
    n_seen: int = 0
    last_unix_s: float = 0.0
    boost: list = field(default_factory=list)  # [(t, pos, vel)], the last few boosting states
    last_area_unix_s: float | None = None
    last_impact_unix_s: float | None = None
    last_corridor_unix_s: float | None = None
    born_near: set = field(default_factory=set)  # tracks within SEPARATION_RADIUS_M when this one appeared
    launch_id: str | None = None
    role: str = "primary"
    launch_failures: int = 0
    launch_next_unix_s: float = -np.inf  # no launch estimate before this time (back-off after failures)
    thrusts: list = field(default_factory=list)  # [(t, thrust m/s^2)] of the last seconds (boost layer)
    last_boost_risk_unix_s: float | None = None
    last_own_impact_unix_s: float | None = None  # the own contribution's ballistic floor (own_view)
    # Since when it has been ballistic after a boost (None: powered, or never seen powered), and the same
    # for the own contribution's floor: its area risks settle for ballistic_settle_s (AssessConfig).
    coast_since_unix_s: float | None = None
    own_coast_since_unix_s: float | None = None


@dataclass
class _Launch:
    launch_id: str
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    time_sigma_s: float
    semi_major_m: float
    powered: bool
    semi_minor_m: float = 0.0
    orientation_deg: float = 0.0
    method: str = ""
    trusted: bool = False  # a launch event with quality >= TRUSTED_QUALITY has gone out


class Assessor:
    """Assessment stage: pure over (time, system tracks); areas is anything with classify(lat, lon)."""

    def __init__(self, areas: AreaModel | None = None, config: AssessConfig | None = None) -> None:
        self.areas = areas
        self.config = config or AssessConfig()
        self._rng = np.random.default_rng(self.config.seed)
        self._hist: dict[str, _History] = {}
        self._launches: list[_Launch] = []
        self.orbits = OrbitBook()  # tracks whose energy is orbital: no impact point, an orbit (assess.orbit)
        self._launch_flights = LaunchFlights()  # launches' recorded flights: stage events (assess.stage_events)
        self._course_book = CourseBook()  # courses flown, for the cut-off path's direction (assess.course)
        # own_view(): the node's own contributions to shared tracks (triwarn.fusion.fuser.Fuser
        # .own_contributions; None: no floor). With it, a boosting shared track's cut-off path alerts cover
        # at least what the own contribution's cut-off path covers: sharing never delays that alert.
        self.own_view: Callable[[], dict] | None = None
        # Partners' launch reports (callable returning share.schema.LaunchReport; None: none), which date a
        # boosting track for the boost-phase layer where they fit it (triwarn.assess.partner_launch).
        self.partner_launch_view: Callable[[], list] | None = None
        self.partner_launches = PartnerLaunches()
        # Partners' impact reports (callable returning share.schema.ImpactReport; None: none): supporting
        # evidence for the own ballistic predictions, never a risk of their own (triwarn.assess.partner_impact).
        self.partner_impact_view: Callable[[], list] | None = None
        self.partner_impacts = PartnerImpacts()
        self._impact_support: dict[str, set[str]] = {}  # this step's: track -> partners whose report agrees
        self._step_thrust: np.ndarray | None = None  # this step's fused thrust and mode vote, by live row
        self._step_vote: np.ndarray | None = None
        # The probabilistic boost-phase layer (None: off): area risks flagged boost_risk while powered.
        self.boost_risk: BoostRisk | None = BoostRisk(seed=self.config.seed) if self.config.boost_risk else None

    def step(self, t_unix_s: float, system_tracks: SystemTracks) -> list[Event]:
        """Assess the tracks of one step at t_unix_s; return launch, impact_prediction, area_risk events."""
        t = float(t_unix_s)
        cfg = self.config
        self._impact_support = {}  # set by this step's ballistic predictions (_partner_support)
        live = system_tracks.take(~system_tracks.coasting) if system_tracks.coasting.any() else system_tracks
        tids: list[str] = live.track_id.tolist()
        powered = live.boost
        self._step_thrust, self._step_vote = live.thrust_mps2, live.boost_probability
        t_tr, pos, vel, cov = live.t_unix_s, live.pos_ecef_m, live.vel_ecef_mps, live.cov_ecef_m2
        first_seen = live.first_seen_unix_s.tolist()
        for i, tid in enumerate(tids):
            h = self._hist.get(tid)
            if h is None:
                h = self._hist[tid] = _History(first_seen_unix_s=first_seen[i])
            h.n_seen += 1
            h.last_unix_s = t
            if powered[i]:
                h.boost = [*h.boost[-3:], (float(t_tr[i]), pos[i].copy(), vel[i].copy())]
                h.coast_since_unix_s = None
            elif h.boost and h.coast_since_unix_s is None:
                h.coast_since_unix_s = t
        self._hist = {k: h for k, h in self._hist.items() if t - h.last_unix_s <= cfg.forget_s}
        if not tids:
            return []
        n = len(tids)
        newborn = [i for i, tid in enumerate(tids) if self._hist[tid].n_seen == 1]
        if newborn:
            # Which tracks each new one appeared next to: a piece separates from an object already flying.
            gap = np.linalg.norm(pos[newborn][:, None, :] - pos[None, :, :], axis=-1)
            for row, i in enumerate(newborn):
                near = np.flatnonzero(gap[row] < SEPARATION_RADIUS_M)
                self._hist[tids[i]].born_near = {tids[k] for k in near if k != i}

        implausible = _implausible(pos, vel, cov)
        flags: list[list[str]] = [[] for _ in range(n)]
        quality = np.where(np.isfinite(live.quality), np.clip(live.quality, 0.0, 1.0), 1.0)
        single = [len(x) == 1 for x in live.nations.tolist()]
        for i, tid in enumerate(tids):
            h = self._hist[tid]
            if t - h.first_seen_unix_s < cfg.short_track_s or h.n_seen < cfg.min_updates:
                flags[i].append(Flag.SHORT_TRACK)
                quality[i] *= 0.3
            if implausible[i]:
                flags[i].append(Flag.IMPLAUSIBLE_STATE)
                quality[i] *= 0.05
            if single[i]:
                flags[i].append(Flag.SINGLE_NATION)

        events: list[Event] = []
        events.extend(self._launch_step(t, tids, powered, t_tr, pos, vel, cov, implausible, quality, flags))
        events.extend(self._launch_confirmations(t, tids, quality, flags))
        roles = self._roles(tids, pos, vel, cov)
        for i, role in enumerate(roles):
            if role == "separated":
                flags[i].append(Flag.SEPARATED_PIECE)
        ids = [self._hist[tid].launch_id or "" for tid in tids]
        nations = [list(x) for x in live.nations.tolist()]

        ballistic = np.flatnonzero(~powered)
        if ballistic.size:
            events.extend(self._ballistic(t, ballistic, tids, t_tr, pos, vel, cov, roles, ids, quality, flags,
                                          nations))
        boosting = np.flatnonzero(powered)
        if boosting.size:
            events.extend(self._powered(t, boosting, tids, t_tr, pos, vel, cov, roles, ids, quality, flags,
                                        nations))
        if self.own_view is not None and self.areas is not None:
            events.extend(self._own_mode_floor(t, tids, t_tr, powered, roles, ids, quality, flags, nations))
        return events

    def _own_mode_floor(self, t, tids, t_tr, powered, roles, ids, quality, flags, nations) -> list[Event]:
        """Where the node's own contribution to a shared track is in the other mode than the fused track
        (the partners' vote or veto holds it powered, or the reverse), the area risks the node alone would
        have had from it: its ballistic prediction's (on the 5 s impact grid, at once when the modes
        part) and that impact prediction itself (flag own_view: a piece's sea notice needs it, issue 13;
        after the corridor's in the step, so it stands until the next), or its cut-off path's. On the
        shared track; the fused track's own risks still count."""
        own = self.own_view()
        split = [i for i, tid in enumerate(tids) if tid in own and own[tid][2] != bool(powered[i])]
        for i, tid in enumerate(tids):
            h = self._hist[tid]
            if i not in split:
                if h.own_coast_since_unix_s is not None and h.coast_since_unix_s is not None:
                    # Turned ballistic after its own contribution: it settles from then, as alone (issue 13).
                    h.coast_since_unix_s = min(h.coast_since_unix_s, h.own_coast_since_unix_s)
                h.last_own_impact_unix_s = h.own_coast_since_unix_s = None
            elif powered[i] and h.own_coast_since_unix_s is None:
                h.own_coast_since_unix_s = t  # own ballistic from now: its floor settles as a fused track's
        if not split:
            return []
        events: list[Event] = []
        coast = np.array([i for i in split if powered[i]], dtype=int)  # own: ballistic
        coast = coast[_due(t, [self._hist[tids[i]] for i in coast], "last_own_impact_unix_s",
                           self.config.impact_interval_s)] if coast.size else coast
        if coast.size:
            for i in coast:
                self._hist[tids[i]].last_own_impact_unix_s = t
            st = np.stack([own[tids[i]][0] for i in coast])
            cv = np.stack([own[tids[i]][1] for i in coast])
            imp = predict_impacts(t_tr[coast], st[:, :3], st[:, 3:], cv, n_draws=self.config.n_draws, rng=self._rng,
                                  max_time_s=self.config.max_time_s, trace=True)
            events.extend(ballistic_areas.impact_events(t, coast, imp, tids, roles, ids, quality, flags, nations,
                                                        [Flag.OWN_VIEW]))
            events.extend(self._impact_areas(t, coast, imp, tids, ids, roles, quality, flags,
                                             since=[self._hist[tids[i]].own_coast_since_unix_s for i in coast]))
        burn = np.array([i for i in split if not powered[i]], dtype=int)  # own: still powered
        if burn.size:
            hits = self._own_cutoff_hits(tids, burn, t_tr)
            events.extend(self._area_events(t, hits, burn, tids, ids, roles, quality, flags, powered=True,
                                            extra=[Flag.CUTOFF_PATH]))
        return events

    # -- launch --------------------------------------------------------------------------------------------

    def _launch_step(self, t, tids, powered, t_tr, pos, vel, cov, implausible, quality, flags) -> list[Event]:
        # Where each launch's tracks fly (triwarn.assess.stage_events; made on first use).
        flights = self._launch_flights
        flights.record(t, tids, [self._hist[tid].launch_id for tid in tids], t_tr, pos)
        row = {tid: k for k, tid in enumerate(tids)}
        todo, thrust = [], []
        for i, tid in enumerate(tids):
            h = self._hist[tid]
            if h.launch_id is not None or implausible[i] or t < h.launch_next_unix_s:
                continue
            if (parent := self._parent_launch(h)) is not None:
                if not powered[i]:
                    h.launch_id = parent  # a piece that came out of a flying object belongs to its launch
                    continue
                # A powered one only if it came out of one of them high up: a stage lighting, not a salvo.
                near = [row[p] for p in sorted(h.born_near) if p in row and self._hist[p].launch_id == parent]
                k = stage_ignition(pos[i], vel[i], pos[near], vel[near]) if near else -1
                if k >= 0:
                    h.launch_id = parent
                    self._course_book.adopt(tid, tids[near[k]])
                    continue
            if powered[i]:
                a = _thrust_accel(h.boost)
                if not np.isfinite(a):
                    continue  # wait for a second boosting state
                thrust.append(a)
            else:
                thrust.append(np.nan)
            todo.append(i)
            if len(todo) >= self.config.max_launch_estimates:
                break
        if not todo:
            return []
        idx = np.array(todo)
        est = estimate_launch(t_tr[idx], pos[idx], vel[idx], cov[idx],
                              np.array(thrust), rng=self._rng, n_samples=self.config.launch_samples)
        events: list[Event] = []
        for j, i in enumerate(idx):
            tid = tids[i]
            if not est.ok[j]:
                h = self._hist[tid]
                h.launch_failures += 1
                cfg = self.config
                h.launch_next_unix_s = t + min(cfg.launch_retry_max_s,
                                               cfg.launch_retry_s * 2.0 ** (h.launch_failures - 1))
                continue
            new = _Launch("", float(est.lat_deg[j]), float(est.lon_deg[j]), float(est.time_unix_s[j]),
                          float(est.time_sigma_s[j]), float(est.semi_major_m[j]),
                          est.method[j] == METHOD_POWERED, float(est.semi_minor_m[j]),
                          float(est.orientation_deg[j]), str(est.method[j]))
            group = self._match_launch(new)
            emit = False
            if group is None and (lid := flights.stage_of(new.lat_deg, new.lon_deg, new.time_unix_s,
                                                          new.time_sigma_s, new.semi_major_m,
                                                          self._launches)) is not None:
                self._hist[tid].launch_id = lid  # flown back, it lands under a known launch's flight
                continue
            if group is None:
                new.launch_id = f"L{len(self._launches) + 1}"
                self._launches.append(new)
                group, emit = new, True
            elif new.semi_major_m < 0.5 * group.semi_major_m:
                trusted = group.trusted
                group.__dict__.update({**new.__dict__, "launch_id": group.launch_id, "trusted": trusted})
                emit = True
            self._hist[tid].launch_id = group.launch_id
            if emit:
                events.append(self._launch_event(t, tid, group, float(quality[i]), flags[i]))
        return events

    def _parent_launch(self, h: _History) -> str | None:
        """The launch of the object an unpowered new track separated from: the one launch among the tracks
        that were within SEPARATION_RADIUS_M when it appeared and had been seen SEPARATION_AGE_S before it.

        Its own back-propagation would be a poorer estimate (a spent stage is first seen in free flight,
        so its launch point is uncertain by tens of km) and, outside the ellipses' overlap, would open a
        second launch and with it a second incident for one launch. A powered new track is joined only
        when it came out of one of these tracks high up (the caller's stage_events.stage_ignition test):
        otherwise it is a missile of its own (a salvo). Two candidate launches are ambiguous: None.
        """
        found = {p.launch_id for tid in h.born_near if (p := self._hist.get(tid)) is not None
                 and p.launch_id is not None and p.first_seen_unix_s <= h.first_seen_unix_s - SEPARATION_AGE_S}
        return found.pop() if len(found) == 1 else None

    def _launch_confirmations(self, t, tids, quality, flags) -> list[Event]:
        """A launch first reported from a young track (discounted) is reported again, with the same
        estimate, once one of its tracks is trusted: the warning stage can act on that one."""
        events: list[Event] = []
        by_id = {g.launch_id: g for g in self._launches}
        for i, tid in enumerate(tids):
            group = by_id.get(self._hist[tid].launch_id)
            if group is not None and not group.trusted and quality[i] >= TRUSTED_QUALITY:
                events.append(self._launch_event(t, tid, group, float(quality[i]), flags[i]))
        return events

    @staticmethod
    def _launch_event(t, track_id, group: _Launch, quality: float, flags: list[str]) -> LaunchEvent:
        if quality >= TRUSTED_QUALITY:
            group.trusted = True
        return LaunchEvent(
            t=t, track=track_id, launch_id=group.launch_id, lat_deg=group.lat_deg, lon_deg=group.lon_deg,
            time_unix_s=group.time_unix_s, time_sigma_s=group.time_sigma_s, semi_major_m=group.semi_major_m,
            semi_minor_m=group.semi_minor_m, orientation_deg=group.orientation_deg, method=group.method,
            quality=quality, flags=list(flags))

    def _match_launch(self, new: _Launch) -> _Launch | None:
        best, best_d = None, np.inf
        for g in self._launches:
            d, _ = geodesic.inverse(g.lat_deg, g.lon_deg, new.lat_deg, new.lon_deg)
            dt = abs(g.time_unix_s - new.time_unix_s)
            if d <= g.semi_major_m + new.semi_major_m and dt <= 2.45 * (g.time_sigma_s + new.time_sigma_s):
                if d < best_d:
                    best, best_d = g, float(d)
        return best

    def _roles(self, tids, pos, vel, cov) -> list[str]:
        """primary / separated / unresolved within each launch group, by specific orbital energy.

        A track is "separated" only if it is clearly below the group's most energetic track and appeared
        next to it (within SEPARATION_RADIUS_M) at least SEPARATION_AGE_S after it: a piece comes out of
        a flying object. Clearly different objects that did not (two missiles of a salvo) are both
        "primary"; objects that cannot be told apart are "unresolved".
        """
        energy = 0.5 * np.sum(vel * vel, axis=-1) - GM_M3_S2 / np.linalg.norm(pos, axis=-1)
        speed = np.linalg.norm(vel, axis=-1)
        sigma_v = np.sqrt(np.clip(np.trace(cov[:, 3:, 3:], axis1=-2, axis2=-1), 0.0, None))
        sigma_e = speed * sigma_v + 1e3
        roles = ["primary"] * len(tids)
        groups: dict[str, list[int]] = {}
        for i, tid in enumerate(tids):
            lid = self._hist[tid].launch_id
            if lid is not None:
                groups.setdefault(lid, []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            top = max(members, key=lambda i: energy[i])
            for i in members:
                if i == top:
                    continue
                h_top, h_i = self._hist[tids[top]], self._hist[tids[i]]
                if energy[top] - energy[i] <= 3.0 * np.hypot(sigma_e[top], sigma_e[i]):
                    roles[i] = roles[top] = "unresolved"
                elif (tids[top] in h_i.born_near
                      and h_i.first_seen_unix_s >= h_top.first_seen_unix_s + SEPARATION_AGE_S):
                    roles[i] = "separated"
        for i, tid in enumerate(tids):
            self._hist[tid].role = roles[i]
        return roles

    # -- ballistic: impact point and ellipse ---------------------------------------------------------------

    def _ballistic(self, t, idx, tids, t_tr, pos, vel, cov, roles, ids, quality, flags, nations):
        cfg = self.config
        orbital = is_orbital(pos[idx], vel[idx])
        if orbital.any():
            self.orbits.update(t, [tids[i] for i in idx[orbital]], t_tr[idx[orbital]], pos[idx[orbital]],
                               vel[idx[orbital]], cov[idx[orbital]])
            idx = idx[~orbital]
        track_ids = [tids[i] for i in idx]
        due = _due(t, [self._hist[tid] for tid in track_ids], "last_impact_unix_s", cfg.impact_interval_s)
        if not due.size:
            return []
        for j in due:
            h = self._hist[track_ids[j]]
            h.last_impact_unix_s = t
            h.last_corridor_unix_s = None  # should it boost again, its corridor is due at once
        idx = idx[due]
        with_areas = self._area_due(t, [tids[i] for i in idx]) if self.areas is not None else \
            np.zeros(0, int)
        rest = np.setdiff1d(np.arange(idx.size), with_areas)
        events: list[Event] = []
        # The tracks due for areas fly with random draws and their paths kept (ground tracks); the others
        # only with their cubature points. Both give the same impact point and ellipse.
        if with_areas.size:
            sub = idx[with_areas]
            imp_a = predict_impacts(t_tr[sub], pos[sub], vel[sub], cov[sub], n_draws=cfg.n_draws,
                                    rng=self._rng, max_time_s=cfg.max_time_s, trace=True)
            events.extend(ballistic_areas.impact_events(t, sub, imp_a, tids, roles, ids, quality, flags, nations, []))
            self._partner_support(t, sub, imp_a, tids)
            events.extend(self._impact_areas(t, sub, imp_a, tids, ids, roles, quality, flags,
                                             since=[self._hist[tids[i]].coast_since_unix_s for i in sub]))
        if rest.size:
            sub = idx[rest]
            imp = predict_impacts(t_tr[sub], pos[sub], vel[sub], cov[sub], max_time_s=cfg.max_time_s)
            held = [Flag.AREAS_HELD] if self.areas is not None else []
            events.extend(ballistic_areas.impact_events(t, sub, imp, tids, roles, ids, quality, flags, nations, held))
        return events

    def _impact_areas(self, t, sub, imp_a, tids, ids, roles, quality, flags, since=None) -> list[Event]:
        """Area risks of the tracks sub, whose flight imp_a was made with draws and traces: impact as the
        Gaussian's integral over each area, overflight from the draws' paths (assess.ballistic_areas).
        since: per track, when its ballistic flight after a boost began (None: not after a boost); until
        it has settled its risks are discounted below trust (ballistic_areas.settling)."""
        ok = np.flatnonzero(imp_a.landed)
        if not ok.size:
            return []
        if since is not None:
            settling = ballistic_areas.settling(t, since, [tids[i] for i in sub], self.config.ballistic_settle_s,
                                                self._impact_support)
            if settling.any():
                quality = quality.copy()
                quality[sub[settling]] *= ballistic_areas.SETTLING_QUALITY
        hits = ballistic_areas.impact_hits(self.areas, imp_a, ok, self.config.n_impact_samples)
        hits.extend(ballistic_areas.overflight_hits(self.areas, imp_a, ok, self.config.trace_substeps))
        return self._area_events(t, hits, sub[ok], tids, ids, roles, quality, flags, powered=False)

    def _partner_support(self, t, sub, imp, tids) -> None:
        """Which of this step's predictions partners' impact reports agree with (triwarn.assess.partner_impact);
        a contradicting report is counted in partner_impacts.conflicts and used for nothing."""
        reports = partner_impact_reports(self.partner_impact_view()) if self.partner_impact_view is not None else []
        own = ballistic_areas.own_impacts(sub, imp, tids) if reports else []
        self._impact_support = self.partner_impacts.support(reports, own, t) if own else {}

    def _area_due(self, t: float, track_ids: list[str]) -> np.ndarray:
        """Indices of the tracks whose area risk is recomputed now: never assessed or not in this slot of
        the area_interval_s grid (see _due), stalest first, at most area_tracks_per_step (bounded work per step)."""
        cfg = self.config
        age = np.array([t - h.last_area_unix_s if h.last_area_unix_s is not None else np.inf
                        for h in (self._hist[tid] for tid in track_ids)])
        cand = _due(t, [self._hist[tid] for tid in track_ids], "last_area_unix_s", cfg.area_interval_s)
        due = cand[np.argsort(-age[cand], kind="stable")][: cfg.area_tracks_per_step]
        for j in due:
            self._hist[track_ids[j]].last_area_unix_s = t
        return np.sort(due)

    # -- powered: corridor ----------------------------------------------------------------------------------

    def _powered(self, t, idx, tids, t_tr, pos, vel, cov, roles, ids, quality, flags, nations):
        """Every step: the cut-off path's area risks of every boosting track (the warning floor: a cadence
        here would delay shelter alerts, and with a phase that differs with and without sharing); at the
        corridor cadence: the advisory corridor (impact prediction and impact risk along it)."""
        cut_ok_all = np.zeros(idx.size, bool)
        events: list[Event] = []
        if self.areas is not None:
            cut_ok_all, cut_events = self._cutoff_step(t, idx, tids, t_tr, pos, vel, cov, roles, ids, quality,
                                                       flags)
            events.extend(cut_events)
            if self.boost_risk is not None:
                events.extend(self._boost_risk_step(t, idx, tids, t_tr, pos, vel, roles, ids, quality, flags))
        hist = [self._hist[tids[i]] for i in idx]
        due = _due(t, hist, "last_corridor_unix_s", self.config.corridor_interval_s)
        if not due.size:
            return events
        for j in due:
            hist[j].last_corridor_unix_s = t
            hist[j].last_impact_unix_s = None  # at burnout its first impact prediction is due at once
        idx = idx[due]
        cor = predict_corridors(t_tr[idx], pos[idx], vel[idx], vel_cov_ecef_m2_s2=cov[idx][:, 3:, 3:])
        cut_ok = cut_ok_all[due]
        rows = np.arange(idx.size)
        last = np.where(cor.node_ok, np.arange(cor.node_ok.shape[1])[None, :], 0).max(axis=1)
        lat0, lon0 = cor.node_lat_deg[:, 0], cor.node_lon_deg[:, 0]
        lat1, lon1 = cor.node_lat_deg[rows, last], cor.node_lon_deg[rows, last]
        length, az = geodesic.inverse(lat0, lon0, lat1, lon1)
        mid_lat, mid_lon = geodesic.direct(lat0, lon0, az, 0.5 * length)
        _d, az_mid = geodesic.inverse(mid_lat, mid_lon, lat1, lon1)
        az_mid = np.where(length > 1.0, az_mid, cor.azimuth_deg)
        for j, i in enumerate(idx):
            if not cor.node_ok[j, 0]:
                continue
            ok = cor.node_ok[j]
            line = [[float(a), float(b)] for a, b, k in
                    zip(cor.node_lat_deg[j], cor.node_lon_deg[j], ok, strict=True) if k]
            events.append(ImpactPrediction(
                t=t, track=tids[i], launch_id=ids[i], lat_deg=float(mid_lat[j]),
                lon_deg=float(mid_lon[j]), time_unix_s=float(cor.node_time_unix_s[j, 0]),
                time_sigma_s=float(cor.node_time_unix_s[j, last[j]] - cor.node_time_unix_s[j, 0]),
                semi_major_m=float(0.5 * length[j] + cor.half_width_m[j]),
                semi_minor_m=float(cor.half_width_m[j]), orientation_deg=float(np.mod(az_mid[j], 180.0)),
                powered=True, object=roles[i], quality=float(quality[i]),
                flags=[*flags[i], Flag.CORRIDOR, *([Flag.CUTOFF_PATH] if cut_ok[j] else [])],
                nations=nations[i], corridor=line, azimuth_deg=float(cor.azimuth_deg[j])))
        if self.areas is None:
            return events
        lat, lon, valid = densify(cor.node_lat_deg, cor.node_lon_deg, cor.node_ok)
        w = valid / np.maximum(valid.sum(axis=1, keepdims=True), 1)
        hits = area_risk.impact_risk(self.areas, lat, lon, cor.node_time_unix_s[:, 0], weights=w)
        events.extend(self._area_events(t, hits, idx, tids, ids, roles, quality, flags, powered=True))
        return events

    def _boost_risk_step(self, t, idx, tids, t_tr, pos, vel, roles, ids, quality, flags) -> list[Event]:
        """Probabilistic area risks (flag boost_risk) of the boosting tracks idx that are not separated
        pieces (triwarn.assess.boost_risk): time since launch from the track's launch estimate (else a
        partner's report that fits), thrust from the fused track's estimate; with own_view, each area's
        probability is at least that of the node's own contribution (sharing never lowers it)."""
        pick = np.array([i for i in idx if roles[i] != "separated"], dtype=int)
        if pick.size:  # on the clock's grid of boost_risk_interval_s (one phase shared and alone)
            due = _due(t, [self._hist[tids[i]] for i in pick], "last_boost_risk_unix_s",
                       self.config.boost_risk_interval_s)
            pick = pick[due]
        if not pick.size:
            return []
        for i in pick:
            self._hist[tids[i]].last_boost_risk_unix_s = t
        by_id = {g.launch_id: g for g in self._launches}
        reports = from_reports(self.partner_launch_view()) if self.partner_launch_view is not None else []
        lat, lon, _alt = ecef_to_geodetic(pos[pick])
        tau = np.full(pick.size, np.nan)
        for j, i in enumerate(pick):
            g = by_id.get(self._hist[tids[i]].launch_id)
            own = None if g is None else (g.lat_deg, g.lon_deg, g.time_unix_s, g.time_sigma_s, g.semi_major_m)
            t_launch = g.time_unix_s if g is not None else None
            if reports:  # checked even with an own estimate: a contradiction is counted
                t_partner = self.partner_launches.launch_time_for(reports, float(t_tr[i]), float(np.degrees(lat[j])),
                                                                  float(np.degrees(lon[j])), own)
                t_launch = t_launch if t_launch is not None else t_partner
            if t_launch is not None:
                tau[j] = t_tr[i] - t_launch
        # The fused track's own thrust estimate (fusion.mode, over its window), else the last two states'.
        fused = self._step_thrust[pick] if self._step_thrust is not None else np.full(pick.size, np.nan)
        thrust = np.array([f if np.isfinite(f) else _thrust_accel(self._hist[tids[i]].boost)
                           for f, i in zip(fused.tolist(), pick, strict=True)])
        for j, i in enumerate(pick):
            thrust[j], self._hist[tids[i]].thrusts = burnout_cue(self._hist[tids[i]].thrusts, t, thrust[j])
        # A motor seen to stop (or pause between stages) gives no new probabilities: the last ones hold
        # until the thrust is back or the ballistic prediction takes over (a few seconds), rather than
        # draws flown from a state that is no longer a boost.
        live = ~(np.isfinite(thrust) & (thrust < self.boost_risk.config.coast_accel_mps2))
        if not live.any():
            return []
        pick, tau, thrust = pick[live], tau[live], thrust[live]
        vote = self._step_vote[pick] if self._step_vote is not None else None
        hits, _post = self.boost_risk.assess(self.areas, [tids[i] for i in pick], t_tr[pick], pos[pick], vel[pick],
                                             tau, thrust, vote)
        # The own contribution's probabilities too (never below what the node alone would have had).
        own = self.own_view() if self.own_view is not None else {}
        mine = [j for j, i in enumerate(pick) if tids[i] in own and own[tids[i]][2]]
        if mine:
            st = np.stack([own[tids[pick[j]]][0] for j in mine])
            own_hits, _ = self.boost_risk.assess(self.areas, [tids[pick[j]] for j in mine], t_tr[pick[mine]],
                                                 st[:, :3], st[:, 3:], tau[mine], thrust[mine],
                                                 None if vote is None else vote[mine])
            hits = merge_hits(hits, [AreaHit(mine[h.row], h.area, h.kind, h.probability, h.probability_eez,
                                              h.enter_time_unix_s) for h in own_hits])
        return self._area_events(t, hits, pick, tids, ids, roles, quality, flags, powered=True,
                                 extra=[BOOST_RISK_FLAG])

    def _cutoff_step(self, t, idx, tids, t_tr, pos, vel, cov, roles, ids, quality, flags):
        """Cut-off path area risks of the boosting tracks idx, with the own-contribution floor; returns
        which tracks' cut-off flights came down (N,) and the events."""
        # The path's azimuth: the velocity's, refined by the course flown (triwarn.assess.course).
        courses = self._course_book
        v_course, sig_az = courses.refine([tids[i] for i in idx], t_tr[idx], pos[idx], vel[idx], cov[idx])
        cor = predict_corridors(t_tr[idx], pos[idx], v_course, n_nodes=1, trace_cutoff=True,
                                vel_cov_ecef_m2_s2=cov[idx][:, 3:, 3:], azimuth_sigma_rad=sig_az)
        rows = np.flatnonzero(cor.cutoff_ok & cor.node_ok[:, 0])
        hits = self._cutoff_hits(cor, rows) if rows.size else []
        hits = [AreaHit(int(rows[h.row]), h.area, h.kind, h.probability, h.probability_eez, h.enter_time_unix_s)
                for h in hits]
        hits = merge_hits(hits, self._own_cutoff_hits(tids, idx, t_tr))
        events = self._area_events(t, hits, idx, tids, ids, roles, quality, flags, powered=True,
                                   extra=[Flag.CUTOFF_PATH]) if hits else []
        return cor.cutoff_ok & cor.node_ok[:, 0], events

    def _own_cutoff_hits(self, tids, idx, t_tr) -> list[AreaHit]:
        """Cut-off path hits (hit.row indexes idx) of the own nation's contribution to the boosting shared
        tracks idx, where the own track says boost: the floor that keeps a shared node's cut-off alert
        no later than the same node's alone (own_view, see the class doc)."""
        own = self.own_view() if self.own_view is not None else {}
        pick = [j for j, i in enumerate(idx) if tids[i] in own and own[tids[i]][2]]
        if not pick:
            return []
        states = np.stack([own[tids[idx[j]]][0] for j in pick])
        covs = np.stack([own[tids[idx[j]]][1] for j in pick])
        courses = self._course_book
        v_course, sig_az = courses.refine([("own", tids[idx[j]]) for j in pick], t_tr[idx[pick]], states[:, :3],
                                          states[:, 3:], covs)
        cor = predict_corridors(t_tr[idx[pick]], states[:, :3], v_course, n_nodes=1,
                                trace_cutoff=True, vel_cov_ecef_m2_s2=covs[:, 3:, 3:], azimuth_sigma_rad=sig_az)
        rows = np.flatnonzero(cor.cutoff_ok & cor.node_ok[:, 0])
        if not rows.size:
            return []
        return [AreaHit(pick[int(rows[h.row])], h.area, h.kind, h.probability, h.probability_eez,
                        h.enter_time_unix_s) for h in self._cutoff_hits(cor, rows)]

    def _cutoff_hits(self, cor, rows):
        """Area hits (hit.row indexes `rows`) of the cut-off paths of corridor batch `cor`: overflight where
        the band's lateral lines pass over an area's land or territorial sea (probability: their lateral
        Gaussian weights, triwarn.assess.cutoff_areas), impact where the band's end (the cut-off-now impact
        and its lateral margin) falls."""
        tr_t = cor.cutoff_trace_t_unix_s[:, rows]
        tr_p = cor.cutoff_trace_pos_ecef_m[:, rows]
        # Only the steps until the last of these flights has landed (the batch flies on for the corridor).
        flying = np.flatnonzero(np.any(tr_t[1:] > tr_t[:-1], axis=1))
        s = int(flying[-1]) + 2 if flying.size else 1
        lat, lon, tt, valid = ground_tracks(tr_t[:s, :, None], tr_p[:s, :, None], self.config.trace_substeps)
        lat, lon, tt, valid = lat[..., 0], lon[..., 0], tt[..., 0], valid[..., 0]
        b_lat, b_lon, _half = cutoff_band(lat, lon, valid, cor.azimuth_sigma_rad[rows])
        # The last ground point of each path is where its (speed-trimmed) cut-off flight lands.
        return band_risk(self.areas, b_lat, b_lon, tt, valid, CUTOFF_LINES)

    def _area_events(self, t, hits, idx, tids, ids, roles, quality, flags, powered, extra=None):
        out: list[Event] = []
        floor = self.config.min_probability
        if extra is None:
            extra = [Flag.CORRIDOR] if powered else []
        for hit in hits:
            if max(hit.probability, hit.probability_eez) < floor:
                continue
            i = int(idx[hit.row])
            out.append(AreaRisk(
                t=t, track=tids[i], launch_id=ids[i], area=hit.area, kind=hit.kind,
                probability=round(hit.probability, 4), probability_eez=round(hit.probability_eez, 4),
                enter_time_unix_s=hit.enter_time_unix_s, powered=powered, object=roles[i],
                quality=float(quality[i]), flags=[*flags[i], *extra]))
        return out

