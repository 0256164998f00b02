"""One nation's processing as a pure step on a clock: no network, no disk, no wall time.

    node = NationalNode(settings, sensors, sender=..., admission=..., areas=AreaIndex.load())
    node.ingest_message(msg)                            # a partner message the transport admitted
    result = node.step(t_unix_s, radar, ir)             # own detections up to t_unix_s

A step runs the chain sensors -> tracking -> (partner tracks) -> fusion -> assessment -> warning and
returns what the node has to send and to show: sealed messages for its partners (under its release
policy), the fused system tracks, the assessment events, the warning messages (as data and as CAP
1.2 documents) and CoT events, and the partners' latest launch reports and impact reports (for the picture). The
same object serves a live node and `triwarn replay` and exercises, always through
triwarn.node.runner.NodeRunner (on a wall clock or in lockstep on a simulated clock), and tests.

Only the nation's own tracks are shared (never system tracks that already hold partner data, so no
nation's data comes back to it as if it were new), and a track report names no sensor: it carries the
state, covariance, mode, quality and the contributing nation only.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.fusion.fuser import Fuser
from triwarn.geo.hazard_zones import HazardNotice
from triwarn.node.orbit_sharing import PartnerOrbits, ground_track_deg, new_estimates, orbit_record, report_fields
from triwarn.node.partner_budget import Budget, PartnerBudgets
from triwarn.records import NATIONS
from triwarn.records.columns import grown
from triwarn.records.detections import IrDetections, RadarDetections
from triwarn.records.events import (
    AreaRisk,
    Event,
    Flag,
    ImpactPrediction,
    LaunchEvent,
    OrbitElements,
    TrackObservation,
    WarnInput,
)
from triwarn.records.tracks import MODE_BALLISTIC, MODE_BOOST, NationalTracks, SystemTracks
from triwarn.records.warnings import WarningMessage
from triwarn.share.admission import Admission
from triwarn.share.schema import ImpactReport, LaunchReport, OrbitReport, TrackReport, TrackState, WarningState
from triwarn.share.sender import Outgoing, Sender
from triwarn.tracking.tracker import Tracker
from triwarn.warn import cap, cot
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer, WarnPolicy
from triwarn.warn.profiles import Profile

# The areas each nation warns: its own subdivisions and territories (ISO 3166-2 prefixes).
WARNS_FOR = {"jp": ("JP-",), "kr": ("KR-",), "us": ("US-",)}
TRACKS_PER_REPORT = 256  # track states per signed message (one signature covers them all)
ORBIT_COT_AHEAD_S = 1200.0  # an orbit's ground track ahead in CoT: 20 minutes
PARTNER_EVENTS_KEPT = 2000  # partner launch / impact / warning reports kept (each kind), newest first out last


def node_assess_config() -> AssessConfig:
    """The assessment cadence of a node: a ballistic track's impact and area risks every 5 s, a boosting
    track's corridor every 5 s (new tracks and burnouts at once). Impact prediction is the heaviest
    stage; 5 s keeps a 20-minute replay fast and costs at most 5 s of warning time."""
    return AssessConfig(impact_interval_s=5.0, corridor_interval_s=5.0, area_interval_s=5.0)


@dataclass(frozen=True)
class NodeSettings:
    """How one node runs. exercise: the exercise name (every warning is CAP status Exercise); None for
    a live node (status Actual). A node is one or the other for its whole life."""

    nation: str
    exercise: str | None
    run_id: str
    share: bool = True
    partner_max_age_s: float = 12.0  # a partner track not refreshed for this long leaves the picture
    lost_after_s: float = 15.0  # a system track gone this long is reported lost to the warning stage
    warn_policy: WarnPolicy = field(default_factory=WarnPolicy)
    assess: AssessConfig = field(default_factory=node_assess_config)
    # CoT track and ellipse events at most this often (sim s; 0: every step; inf: never); alert areas
    # always. Building them is a fair part of a step, and a TAK picture (or replay's cot/) wants them
    # every few seconds, not at every step.
    cot_interval_s: float = 0.0
    # Per-partner budgets (one partner cannot stall a step): what a partner's messages may put into the
    # picture between two steps; the excess waits, in order, for the next step (a waiting track report
    # older than partner_max_age_s is dropped and counted: it would leave the picture at once).
    # Sized far above a partner's normal traffic (one track report and a few event reports per step).
    partner_msgs_per_step: int = 64
    partner_tracks_per_step: int = 2048  # track states
    partner_backlog_msgs: int = 2048  # waiting per partner; beyond it the oldest waiting is dropped, counted
    # Distinct tracks held per partner (a new one beyond it is refused, counted): a salvo of dozens of
    # missiles with their stages fits; each held track costs the assessment time at every step.
    partner_max_tracks: int = 128
    # The declared hazard zones and launch window of a navigational warning (geo.hazard_zones), drawn in
    # CoT with the tracks; None when none is known.
    hazard_notice: HazardNotice | None = None
    # The CAP profile of this node's alerts (warn.profiles; e.g. with the signing key of `triwarn node
    # --cap-key`); None: the one configured for the nation.
    cap_profile: Profile | None = None


@dataclass
class StepResult:
    """What one step produced. Times are unix seconds of the (simulated) clock."""

    t_unix_s: float
    outgoing: list[Outgoing]
    system_tracks: SystemTracks
    own_tracks: NationalTracks | None
    events: list[Event]
    warnings: list[WarningMessage]
    cap_xml: list[tuple[WarningMessage, bytes]]
    cot_xml: list[bytes]
    # The partners' latest launch reports (one per sender and event) and impact reports (one per sender
    # and track) held at this step, oldest first: what they assessed, for the picture (never fused).
    partner_launches: list[LaunchReport] = field(default_factory=list)
    partner_impacts: list[ImpactReport] = field(default_factory=list)
    # Orbit estimates (triwarn.node.orbit_sharing): this node's latest per orbital track, and the partners'
    # latest that did not contradict the fused picture.
    orbits: list[OrbitElements] = field(default_factory=list)
    partner_orbits: list[OrbitReport] = field(default_factory=list)


class _PartnerTracks:
    """The partners' latest track states, one slot per (nation, track id), in parallel arrays: a step
    builds its partner table with one fancy index (no per-track objects). A state older than the one
    held for its track is ignored.

    Ageing runs on the receiver's clock too: a state is stamped as heard at the first `expire` after it
    arrived (the step that first sees it), and leaves once either its own time or that receipt is more
    than max_age_s old. So a state stamped in the future (whatever admission let through) cannot stay
    for ever, nor block its track's later, truthful states for longer than max_age_s."""

    def __init__(self, max_per_nation: int | None = None) -> None:
        self.max_per_nation = max_per_nation
        self.held: Counter[str] = Counter()  # tracks held per nation
        self.refused: Counter[str] = Counter()  # new tracks refused per nation (max_per_nation reached)
        self._slot: dict[tuple[str, str], int] = {}
        self._free: list[int] = []
        self._cap = 0
        self._next_seq = 0
        self._grow(64)

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap)
        old = self._cap

        def ext(arr, shape, dtype=float, fill=0):
            return grown(arr, cap, shape, dtype, fill)

        self.key = ext(getattr(self, "key", None), (), object, None)
        self.track_id = ext(getattr(self, "track_id", None), (), object, None)
        self.nation = ext(getattr(self, "nation", None), (), object, None)
        self.seq = ext(getattr(self, "seq", None), (), np.int64)  # first arrival order of the key
        self.t = ext(getattr(self, "t", None), ())
        self.heard = ext(getattr(self, "heard", None), (), float, np.nan)  # receiver's clock; NaN: not yet
        self.pos = ext(getattr(self, "pos", None), (3,))
        self.vel = ext(getattr(self, "vel", None), (3,))
        self.cov = ext(getattr(self, "cov", None), (6, 6))
        self.boost = ext(getattr(self, "boost", None), (), bool, False)
        self.quality = ext(getattr(self, "quality", None), ())
        self.used = ext(getattr(self, "used", None), (), bool, False)
        self._free.extend(range(cap - 1, old - 1, -1))
        self._cap = cap

    def __len__(self) -> int:
        return len(self._slot)

    def put(self, nation: str, states) -> None:
        """Hold one message's track states (share.schema.TrackState) of `nation`."""
        slots, rows = [], []
        for st in states:
            key = (nation, st.track_id)
            k = self._slot.get(key)
            if k is None:
                if self.max_per_nation is not None and self.held[nation] >= self.max_per_nation:
                    self.refused[nation] += 1
                    continue
                self.held[nation] += 1
                if not self._free:
                    self._grow(self._cap + 1)
                k = self._free.pop()
                self._slot[key] = k
                self.key[k], self.track_id[k], self.nation[k] = key, st.track_id, nation
                self.seq[k] = self._next_seq
                self._next_seq += 1
                self.used[k] = True
            elif self.t[k] > st.t_unix_s:
                continue  # an older state than the one held: keep the newer
            slots.append(k)
            rows.append(st)
        if not slots:
            return
        idx = np.array(slots, np.intp)
        self.t[idx] = [st.t_unix_s for st in rows]
        self.heard[idx] = np.nan  # stamped with the receiver's clock at the next expire
        self.pos[idx] = [st.pos_ecef_m for st in rows]
        self.vel[idx] = [st.vel_ecef_mps for st in rows]
        self.cov[idx] = _cov_full([st.cov_ecef for st in rows])
        self.boost[idx] = [st.mode == MODE_BOOST for st in rows]
        self.quality[idx] = [st.quality for st in rows]

    def expire(self, t_unix_s: float, max_age_s: float) -> None:
        """Forget the tracks whose latest state, or its receipt, is more than max_age_s older than
        t_unix_s (the receiver's clock)."""
        self.heard[self.used & np.isnan(self.heard)] = t_unix_s
        old = np.flatnonzero(self.used & ((t_unix_s - self.t > max_age_s) | (t_unix_s - self.heard > max_age_s)))
        for k in old.tolist():
            del self._slot[self.key[k]]
            self.held[self.nation[k]] -= 1
            self._free.append(k)
        self.used[old] = False

    def table(self) -> NationalTracks:
        """The held tracks, in the order their tracks first arrived."""
        idx = np.flatnonzero(self.used)
        idx = idx[np.argsort(self.seq[idx], kind="stable")]
        return NationalTracks(self.track_id[idx], self.t[idx], self.pos[idx], self.vel[idx], self.cov[idx],
                              boost=self.boost[idx], quality=self.quality[idx], nation=self.nation[idx])


def _keep_latest(held: OrderedDict, key: tuple[str, str], msg) -> None:
    """Hold msg as the latest under key (an older one than held is ignored); the oldest entries go
    beyond PARTNER_EVENTS_KEPT."""
    prev = held.get(key)
    if prev is not None and prev.sent_unix_s > msg.sent_unix_s:
        return
    held.pop(key, None)
    held[key] = msg
    while len(held) > PARTNER_EVENTS_KEPT:
        held.popitem(last=False)


_IU = np.triu_indices(6)


def _cov_upper(cov: NDArray) -> list:
    """Upper triangles (..., 21), row by row, of covariances (..., 6, 6), as (nested) lists."""
    return np.asarray(cov)[..., _IU[0], _IU[1]].tolist()


def _cov_full(upper) -> NDArray:
    """Covariances (..., 6, 6) from upper triangles (..., 21), row by row."""
    upper = np.asarray(upper, float)
    cov = np.zeros((*upper.shape[:-1], 6, 6))
    cov[..., _IU[0], _IU[1]] = upper
    return cov + np.swapaxes(np.triu(cov, 1), -1, -2)


class NationalNode:
    """One nation's node core. See the module docstring for the call sequence."""

    def __init__(self, settings: NodeSettings, sensors: Mapping[str, object], *,
                 sender: Sender | None = None, admission: Admission | None = None,
                 areas=None) -> None:
        if settings.nation not in NATIONS:
            raise ValueError(f"unknown nation {settings.nation!r}")
        self.settings = settings
        self.nation = settings.nation
        self.sensors = dict(sensors)
        self.tracker = Tracker(self.sensors, id_prefix=f"{self.nation.upper()}-T") if self.sensors else None
        self.fuser = Fuser(id_prefix=f"{self.nation.upper()}-S")
        self.assessor = Assessor(areas, settings.assess)
        # Sharing never delays a warning: the assessment holds each shared track's cut-off-path alerts to no later
        # than this nation's own contribution would give (Assessor.own_view), and partners' launch reports date
        # its boosting tracks (Assessor.partner_launch_view), partners' impact reports support its ballistic
        # predictions (Assessor.partner_impact_view). The same for live nodes, replays and exercises.
        self.fuser.own_nation = self.nation
        self.assessor.own_view = self.fuser.own_contributions
        self.assessor.partner_launch_view = self.partner_launches
        self.assessor.partner_impact_view = self.partner_impacts  # evidence, never an alert alone
        issuer = Issuer(sender=f"triwarn-{self.nation}", live=settings.exercise is None,
                        exercise=settings.exercise)
        # Land plus territorial sea: an object is past an area only when it is past both.
        geometry = (lambda code: areas.geometry(code, "territorial_sea", nested=True)) if areas is not None else None
        policy = settings.warn_policy
        if policy.alert_adjacent and not policy.adjacency and areas is not None:
            # J-Alert practice: neighbours of an area at risk are alerted with it (own areas only).
            own = [c for c in areas.codes if self._mine(c)] if hasattr(areas, "codes") else []
            policy = replace(policy, adjacency={c: tuple(a for a in areas.adjacent(c) if self._mine(a))
                                                for c in own})
        if settings.hazard_notice is not None and policy.hazard_notice is None:
            policy = replace(policy, hazard_notice=settings.hazard_notice)  # falls at sea told against the zones
        self.warner = WarningMachine(issuer, settings.run_id, policy=policy, area_geometry=geometry)
        self.areas = areas
        self.sender = sender
        self.admission = admission
        self._partners = _PartnerTracks(settings.partner_max_tracks)
        self.budgets = PartnerBudgets(Budget(settings.partner_msgs_per_step, settings.partner_tracks_per_step,
                                             settings.partner_backlog_msgs), self._ingest)
        # The partners' latest reports, bounded (a live node runs for months): launch reports by (sender,
        # event_id), impact reports by (sender, track_id), warning states by (sender, cap_identifier).
        self._partner_launches: OrderedDict[tuple[str, str], LaunchReport] = OrderedDict()
        self._partner_impacts: OrderedDict[tuple[str, str], ImpactReport] = OrderedDict()
        self._partner_warnings: OrderedDict[tuple[str, str], WarningState] = OrderedDict()
        self.partner_orbits = PartnerOrbits(PARTNER_EVENTS_KEPT)
        self._orbits: dict[str, OrbitElements] = {}  # own latest orbit record per track
        self._orbit_published: dict[str, float] = {}  # track -> epoch of the last record made
        self._alive: dict[str, float] = {}  # system track id -> last time seen
        self._last_cot_unix_s = -np.inf
        self.issued: list[WarningMessage] = []

    # ------------------------------------------------------------------------------------- receiving

    def ingest_message(self, msg) -> None:
        """Take one partner message that the transport already admitted (verified, deduplicated). It goes
        into the picture now if its partner's budget for this step has room (NodeSettings.partner_*),
        else it waits for the next step (triwarn.node.partner_budget)."""
        if isinstance(msg, TrackReport | LaunchReport | ImpactReport | OrbitReport | WarningState):
            self.budgets.offer(msg)
        # Heartbeats and link reports are the runner's business (link state), not the picture's.

    def partner_budget_counts(self) -> dict[str, dict[str, int]]:
        """Per partner: messages applied, deferred to a later step, dropped (stale, overflow), waiting, and
        new tracks refused because the partner already holds partner_max_tracks."""
        out = self.budgets.snapshot()
        for nation, n in self._partners.refused.items():
            out.setdefault(nation, {})["tracks_refused"] = n
        return out

    def _ingest(self, msg) -> None:
        if isinstance(msg, TrackReport):
            self._partners.put(msg.sender, msg.tracks)
        elif isinstance(msg, LaunchReport):
            _keep_latest(self._partner_launches, (msg.sender, msg.event_id), msg)
        elif isinstance(msg, ImpactReport):
            _keep_latest(self._partner_impacts, (msg.sender, msg.track_id), msg)
        elif isinstance(msg, OrbitReport):
            self.partner_orbits.offer(msg)  # judged against the fused picture at the next step
        elif isinstance(msg, WarningState):
            _keep_latest(self._partner_warnings, (msg.sender, msg.cap_identifier), msg)

    def partner_launches(self) -> list[LaunchReport]:
        """The partners' latest launch reports, oldest first."""
        return list(self._partner_launches.values())

    def partner_impacts(self) -> list[ImpactReport]:
        """The partners' latest impact reports (one per partner track), oldest first."""
        return list(self._partner_impacts.values())

    def partner_warnings(self) -> list[WarningState]:
        """The partners' latest warning states (one per CAP identifier), oldest first."""
        return list(self._partner_warnings.values())

    # -------------------------------------------------------------------------------------- stepping

    def step(self, t_unix_s: float, radar: RadarDetections | None = None,
             ir: IrDetections | None = None) -> StepResult:
        """Process own detections (all with time <= t_unix_s) and everything delivered, at t_unix_s."""
        t = float(t_unix_s)
        self.budgets.new_window(t, self.settings.partner_max_age_s)  # what waited, within each budget
        if self.tracker is not None and ((radar is not None and len(radar)) or (ir is not None and len(ir))):
            self.tracker.process(radar=radar, ir=ir)
        own = self.tracker.tracks_at(t) if self.tracker is not None else None
        own = self._own_national(own)
        self._partners.expire(t, self.settings.partner_max_age_s)
        system = self.fuser.update(t, [own, self._partners.table()])

        events = self.assessor.step(t, system)
        self.partner_orbits.check(system)
        new_orbits = [orbit_record(est, t, self.nation)
                      for est in new_estimates(self.assessor.orbits.latest, self._orbit_published)]
        self._orbits.update((rec.track, rec) for rec in new_orbits)
        if len(self._orbits) > len(system):  # a live node runs for months: forget the tracks that left
            held = set(system.track_id.tolist())
            self._orbits = {k: v for k, v in self._orbits.items() if k in held}
        warn_inputs = self._warn_inputs(t, system, events)
        warnings = self.warner.step(warn_inputs, t)
        self.issued.extend(warnings)
        polygons = self.areas.cap_polygons if self.areas is not None else None
        cap_docs = [(w, cap.to_cap(w, cap_polygons=polygons, profile=self.settings.cap_profile)) for w in warnings]
        cot_docs = self._cot(t, system, events, warnings)
        outgoing = (self._outgoing(t, own, [*events, *new_orbits]) if self.settings.share and self.sender is not None
                    else [])
        return StepResult(t, outgoing, system, own, events, warnings, cap_docs, cot_docs,
                          partner_launches=self.partner_launches(), partner_impacts=self.partner_impacts(),
                          orbits=list(self._orbits.values()), partner_orbits=self.partner_orbits.latest())

    def _own_national(self, own: NationalTracks | None) -> NationalTracks:
        """The tracker's table as this nation's (an empty table without a tracker)."""
        if own is None:
            return NationalTracks.empty()
        own.nation = np.full(len(own), self.nation, dtype=object)
        return own

    def _mine(self, code: str) -> bool:
        return code.startswith(WARNS_FOR[self.nation])

    def _warn_inputs(self, t: float, system: SystemTracks, events: list[Event]) -> list[WarnInput]:
        """The assessment's records for this nation's own areas, as they are, plus observed track positions
        and losses. The node is one mode (live or its exercise) for its life: its issuer says which."""
        out: list[WarnInput] = [ev for ev in events if not (isinstance(ev, AreaRisk) and not self._mine(ev.area))]
        seen = system.take(~system.coasting)
        for tid, la, lo, al in zip(seen.track_id.tolist(), seen.lat_deg.tolist(), seen.lon_deg.tolist(),
                                   seen.alt_m.tolist(), strict=True):
            self._alive[tid] = t
            out.append(TrackObservation(t=t, track=tid, lat_deg=la, lon_deg=lo, alt_m=al))
        live = set(seen.track_id.tolist())
        for tid, last in list(self._alive.items()):
            if tid not in live and t - last >= self.settings.lost_after_s:
                del self._alive[tid]
                out.append(TrackObservation(t=t, track=tid, status="lost"))
        return out

    def _cot(self, t: float, system: SystemTracks, events: list[Event],
             warnings: list[WarningMessage]) -> list[bytes]:
        # how tells the true source (machine, fused); an exercise is marked by opex (cot._event), not by how.
        how, exercise = "m-f", self.settings.exercise
        sender = f"triwarn-{self.nation}"
        out: list[bytes] = []
        interval = self.settings.cot_interval_s
        due = interval < np.inf and t - self._last_cot_unix_s >= interval
        if due:
            self._last_cot_unix_s = t
        if len(system) and due:
            sigma = np.sqrt(np.clip(np.trace(system.cov_ecef_m2[:, :3, :3], axis1=-2, axis2=-1) / 3.0, 0.0, None))
            for tid, la, lo, al, sg, v in zip(system.track_id.tolist(), system.lat_deg.tolist(),
                                              system.lon_deg.tolist(), system.alt_m.tolist(), sigma.tolist(),
                                              system.vel_ecef_mps, strict=True):
                course, speed = cot.course_speed(la, lo, v)
                out.append(cot.track_event(sender=sender, track_id=tid, t_unix_s=t, lat_deg=la, lon_deg=lo,
                                           hae_m=al, ce_m=sg, le_m=sg, course_deg=course, speed_mps=speed,
                                           how=how, exercise=exercise))
        for ev in events if due else ():
            if isinstance(ev, ImpactPrediction):
                out.extend(cot.impact_events(sender=sender, track_id=ev.track, t_unix_s=t,
                                             lat_deg=ev.lat_deg, lon_deg=ev.lon_deg,
                                             semi_major_m=ev.semi_major_m, semi_minor_m=ev.semi_minor_m,
                                             orientation_deg=ev.orientation_deg, how=how, exercise=exercise))
        if due:
            out.extend(self._orbit_cot(t, system, sender, how, exercise))
        for w in warnings:
            out.extend(cot.message_events(w))
        return out

    def _orbit_cot(self, t: float, system: SystemTracks, sender: str, how, exercise) -> list[bytes]:
        """The ground track ahead of each orbit of a track still held, and the declared hazard zones."""
        out: list[bytes] = []
        held = set(system.track_id.tolist())
        for rec in self._orbits.values():
            if rec.track in held:
                ground = ground_track_deg(rec.tle[0], rec.tle[1], t, ORBIT_COT_AHEAD_S, 30.0)
                out.extend(cot.orbit_track_events(sender=sender, track_id=rec.track, t_unix_s=t, ground_track=ground,
                                                  perigee_km=rec.perigee_km, apogee_km=rec.apogee_km,
                                                  incl_deg=rec.incl_deg, how=how, exercise=exercise))
        notice = self.settings.hazard_notice
        for z in notice.zones if notice is not None else ():
            out.extend(cot.hazard_zone_events(sender=sender, label=z.label, piece=z.role,
                                              corners_deg=list(z.corners_deg),
                                              window_start_unix_s=notice.window_start_unix_s,
                                              window_end_unix_s=notice.window_end_unix_s, t_unix_s=t, how=how,
                                              exercise=exercise))
        return out

    def _outgoing(self, t: float, own: NationalTracks, events: list[Event | OrbitElements]) -> list[Outgoing]:
        """Seal this step's releasable messages: own track states, launch events, impact predictions, orbit
        estimates."""
        out: list[Outgoing] = []
        if len(own):
            quality = np.clip(np.nan_to_num(own.quality, nan=1.0), 0.0, 1.0)
            states = [
                TrackState(track_id=tid, t_unix_s=tt, pos_ecef_m=p, vel_ecef_mps=v, cov_ecef=c,
                           mode=MODE_BOOST if b else MODE_BALLISTIC, quality=q, nations=[self.nation])
                for tid, tt, p, v, c, b, q in zip(
                    own.track_id.tolist(), own.t_unix_s.tolist(), own.pos_ecef_m.tolist(), own.vel_ecef_mps.tolist(),
                    _cov_upper(own.cov_ecef_m2), own.boost.tolist(), quality.tolist(), strict=True)
            ]
            for k in range(0, len(states), TRACKS_PER_REPORT):
                sealed = self.sender.seal(TrackReport, t, tracks=states[k:k + TRACKS_PER_REPORT])
                if sealed.subjects:
                    out.append(sealed)
        for ev in events:
            sealed = None
            if isinstance(ev, LaunchEvent):
                sealed = self.sender.seal(
                    LaunchReport, t, event_id=f"{self.nation}-{ev.launch_id}", launch_t_unix_s=ev.time_unix_s,
                    launch_t_sigma_s=max(ev.time_sigma_s, 0.0), lat_deg=ev.lat_deg, lon_deg=ev.lon_deg,
                    alt_m=0.0, horiz_sigma_m=max(ev.semi_major_m, 0.0) / 2.45, track_ids=[ev.track])
            elif isinstance(ev, ImpactPrediction) and not ev.powered and Flag.OWN_VIEW not in ev.flags:
                # (An own-view prediction is the node's stand-in while the fused track is held powered: the
                # fused prediction follows within seconds; an orbiting stage's is beyond the wire's bounds.)
                sealed = self.sender.seal(
                    ImpactReport, t, track_id=ev.track, lat_deg=ev.lat_deg, lon_deg=ev.lon_deg,
                    semi_major_m=ev.semi_major_m, semi_minor_m=ev.semi_minor_m,
                    bearing_deg=float(ev.orientation_deg % 360.0), impact_t_unix_s=ev.time_unix_s,
                    impact_t_sigma_s=max(ev.time_sigma_s, 0.0), confidence=ev.confidence)
            elif isinstance(ev, OrbitElements) and self.sender.release.spec.recipients(self.nation, "orbit"):
                # A policy that predates orbit reports releases them to nobody: nothing to seal or log.
                sealed = self.sender.seal(OrbitReport, t, **report_fields(ev))
            if sealed is not None and sealed.subjects:
                out.append(sealed)
        return out
