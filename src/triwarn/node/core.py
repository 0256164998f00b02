"""One nation's processing as a pure step on a clock: no network, no disk, no wall time.

    node = NationalNode(settings, sensors, sender=..., admission=..., areas=AreaIndex.load())
    node.deliver(raw_partner_messages, now_unix_s)      # bytes + subject, as they came off the wire
    result = node.step(t_unix_s, radar, ir)             # own detections up to t_unix_s

A step runs the chain sensors -> tracking -> (partner tracks) -> fusion -> assessment -> warning and
returns what the node has to send and to show: sealed messages for its partners (under its release
policy), the fused system tracks, the assessment events, the warning messages (as data and as CAP
1.2 documents) and CoT events. The same object serves a live node (the edge feeds it from NATS and a
wall clock), `triwarn replay` and exercises (fed in lockstep on a simulated clock), and tests.

Only the nation's own tracks are shared (never system tracks that already hold partner data, so no
nation's data comes back to it as if it were new), and a track report names no sensor: it carries the
state, covariance, mode, quality and the contributing nation only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import msgspec
import numpy as np
from numpy.typing import NDArray

from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.assess.events import AreaRisk, Event, ImpactPrediction
from triwarn.assess.events import LaunchEvent as AssessLaunch
from triwarn.fusion.fuser import Fuser
from triwarn.fusion.track import NationalTrack, SystemTrack
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.sensors.formats import IrDetections, RadarDetections
from triwarn.share.admission import Admission
from triwarn.share.schema import ImpactPrediction as WireImpact
from triwarn.share.schema import LaunchEvent as WireLaunch
from triwarn.share.schema import TrackReport, TrackState
from triwarn.share.sender import Outgoing, Sender
from triwarn.tracking.tracker import Tracker
from triwarn.tracking.tracker import TrackReport as OwnTracks
from triwarn.warn import cap, cot
from triwarn.warn.state import Issuer, WarningMachine, WarningMessage, WarnPolicy

NATIONS = ("us", "jp", "kr")
# The areas each nation warns: its own subdivisions and territories (ISO 3166-2 prefixes).
WARNS_FOR = {"jp": ("JP-",), "kr": ("KR-",), "us": ("US-",)}
TRACKS_PER_REPORT = 256  # track states per signed message (one signature covers them all)
PARTNER_EVENTS_KEPT = 2000  # partner events kept for display


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


@dataclass
class StepResult:
    """What one step produced. Times are unix seconds of the (simulated) clock."""

    t_unix_s: float
    outgoing: list[Outgoing]
    system_tracks: list[SystemTrack]
    own_tracks: OwnTracks
    events: list[Event]
    warnings: list[WarningMessage]
    cap_xml: list[tuple[WarningMessage, bytes]]
    cot_xml: list[bytes]


@dataclass
class _PartnerTrack:
    nation: str
    track: NationalTrack
    received_unix_s: float


def _cov_upper(cov: NDArray) -> list[float]:
    iu = np.triu_indices(6)
    return cov[iu].tolist()


def _cov_full(upper: list[float]) -> NDArray:
    cov = np.zeros((6, 6))
    iu = np.triu_indices(6)
    cov[iu] = upper
    return cov + np.triu(cov, 1).T


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
        self.warner = WarningMachine(issuer, settings.run_id, policy=policy, area_geometry=geometry)
        self.areas = areas
        self.sender = sender
        self.admission = admission
        self._partners: dict[tuple[str, str], _PartnerTrack] = {}
        # The newest partner events only: a live node runs for months.
        self._partner_events: deque[object] = deque(maxlen=PARTNER_EVENTS_KEPT)
        self._alive: dict[str, float] = {}  # system track id -> last time seen
        self._last_cot_unix_s = -np.inf
        self.issued: list[WarningMessage] = []

    # ------------------------------------------------------------------------------------- receiving

    def deliver(self, raw: Iterable[tuple[bytes, str | None]], now_unix_s: float) -> int:
        """Admit partner messages (bytes and the subject they came on) against this node's clock.

        Rejected messages are counted by the admission (reason and counter) and change nothing;
        returns the number accepted.
        """
        if self.admission is None:
            return 0
        n = 0
        for data, subject in raw:
            verdict = self.admission.admit(data, subject, now_unix_s)
            if verdict.msg is None:
                continue
            n += 1
            self._ingest(verdict.msg)
        return n

    def ingest_message(self, msg) -> None:
        """Take one partner message that the transport already admitted (verified, deduplicated)."""
        self._ingest(msg)

    def _ingest(self, msg) -> None:
        if isinstance(msg, TrackReport):
            for st in msg.tracks:
                key = (msg.sender, st.track_id)
                prev = self._partners.get(key)
                if prev is not None and prev.track.t_unix_s > st.t_unix_s:
                    continue  # an older state than the one held: keep the newer
                self._partners[key] = _PartnerTrack(
                    nation=msg.sender,
                    track=NationalTrack(
                        track_id=st.track_id, t_unix_s=st.t_unix_s,
                        pos_ecef_m=np.asarray(st.pos_ecef_m, float),
                        vel_ecef_mps=np.asarray(st.vel_ecef_mps, float),
                        cov_ecef_m2=_cov_full(st.cov_ecef),
                        mode="boost" if st.mode == "boost" else "ballistic",
                        quality=st.quality,
                    ),
                    received_unix_s=msg.sent_unix_s,
                )
        else:
            self._partner_events.append(msg)

    def partner_events(self) -> list[object]:
        """The latest partner launch events, impact predictions and warning states (for display)."""
        return list(self._partner_events)

    # -------------------------------------------------------------------------------------- stepping

    def step(self, t_unix_s: float, radar: RadarDetections | None = None,
             ir: IrDetections | None = None) -> StepResult:
        """Process own detections (all with time <= t_unix_s) and everything delivered, at t_unix_s."""
        t = float(t_unix_s)
        if self.tracker is not None and ((radar is not None and len(radar)) or (ir is not None and len(ir))):
            self.tracker.process(radar=radar, ir=ir)
        own = self.tracker.tracks_at(t) if self.tracker is not None else None
        own_national = self._own_national(own)

        by_nation: dict[str, list[NationalTrack]] = {self.nation: own_national}
        for key in [k for k, p in self._partners.items() if t - p.track.t_unix_s > self.settings.partner_max_age_s]:
            del self._partners[key]
        for p in self._partners.values():
            by_nation.setdefault(p.nation, []).append(p.track)
        system = self.fuser.update(t, by_nation)

        events = self.assessor.step(t, system)
        warn_inputs = self._warn_inputs(t, system, events)
        warnings = self.warner.step(warn_inputs, t)
        self.issued.extend(warnings)
        polygons = self.areas.cap_polygons if self.areas is not None else None
        cap_docs = [(w, cap.to_cap(w, cap_polygons=polygons)) for w in warnings]
        cot_docs = self._cot(t, system, events, warnings)
        outgoing = self._outgoing(t, own, events) if self.settings.share and self.sender is not None else []
        return StepResult(t, outgoing, system, own, events, warnings, cap_docs, cot_docs)

    def _own_national(self, own: OwnTracks | None) -> list[NationalTrack]:
        if own is None or len(own) == 0:
            return []
        return [
            NationalTrack(track_id=own.track_ids[i], t_unix_s=own.t_unix_s,
                          pos_ecef_m=own.pos_ecef_m[i], vel_ecef_mps=own.vel_ecef_mps[i],
                          cov_ecef_m2=own.cov_ecef_m2[i], mode=own.mode[i], quality=float(own.quality[i]))
            for i in range(len(own))
        ]

    def _mine(self, code: str) -> bool:
        return code.startswith(WARNS_FOR[self.nation])

    def _warn_inputs(self, t: float, system: list[SystemTrack], events: list[Event]) -> list[dict]:
        """Assessment events for this nation's own areas, plus observed track positions and losses."""
        exercise = self.settings.exercise
        out: list[dict] = []
        for ev in events:
            if isinstance(ev, AreaRisk) and not self._mine(ev.area):
                continue
            d = msgspec.to_builtins(ev)
            d["exercise"] = exercise
            out.append(d)
        if system:
            pos = np.stack([s.pos_ecef_m for s in system])
            lat, lon, alt = ecef_to_geodetic(pos)
            lat, lon = np.degrees(lat), np.degrees(lon)
            for i, s in enumerate(system):
                if s.coasting:
                    continue
                self._alive[s.track_id] = t
                out.append({"type": "track", "t": t, "track": s.track_id, "lat_deg": float(lat[i]),
                            "lon_deg": float(lon[i]), "alt_m": float(alt[i]), "status": "alive",
                            "exercise": exercise})
        live = {s.track_id for s in system if not s.coasting}
        for tid, last in list(self._alive.items()):
            if tid not in live and t - last >= self.settings.lost_after_s:
                del self._alive[tid]
                out.append({"type": "track", "t": t, "track": tid, "lat_deg": 0.0, "lon_deg": 0.0,
                            "alt_m": 0.0, "status": "lost", "exercise": exercise})
        return out

    def _cot(self, t: float, system: list[SystemTrack], events: list[Event],
             warnings: list[WarningMessage]) -> list[bytes]:
        how = "m-s" if self.settings.exercise else "m-f"
        sender = f"triwarn-{self.nation}"
        out: list[bytes] = []
        interval = self.settings.cot_interval_s
        due = interval < np.inf and t - self._last_cot_unix_s >= interval
        if due:
            self._last_cot_unix_s = t
        if system and due:
            pos = np.stack([s.pos_ecef_m for s in system])
            lat, lon, alt = ecef_to_geodetic(pos)
            for i, s in enumerate(system):
                sigma = float(np.sqrt(max(np.trace(s.cov_ecef_m2[:3, :3]) / 3.0, 0.0)))
                out.append(cot.track_event(sender=sender, track_id=s.track_id, t_unix_s=t,
                                           lat_deg=float(np.degrees(lat[i])), lon_deg=float(np.degrees(lon[i])),
                                           hae_m=float(alt[i]), ce_m=sigma, le_m=sigma, how=how))
        for ev in events if due else ():
            if isinstance(ev, ImpactPrediction):
                out.append(cot.ellipse_event(sender=sender, track_id=ev.track, t_unix_s=t,
                                             lat_deg=ev.lat_deg, lon_deg=ev.lon_deg,
                                             semi_major_m=ev.semi_major_m, semi_minor_m=ev.semi_minor_m,
                                             orientation_deg=ev.orientation_deg, how=how))
        for w in warnings:
            out.extend(cot.message_events(w))
        return out

    def _outgoing(self, t: float, own: OwnTracks | None, events: list[Event]) -> list[Outgoing]:
        """Seal this step's releasable messages: own track states, launch events, impact predictions."""
        out: list[Outgoing] = []
        if own is not None and len(own):
            states = [
                TrackState(track_id=own.track_ids[i], t_unix_s=own.t_unix_s,
                           pos_ecef_m=own.pos_ecef_m[i].tolist(), vel_ecef_mps=own.vel_ecef_mps[i].tolist(),
                           cov_ecef=_cov_upper(own.cov_ecef_m2[i]), mode=own.mode[i],
                           quality=float(np.clip(own.quality[i], 0.0, 1.0)), nations=[self.nation])
                for i in range(len(own))
            ]
            for k in range(0, len(states), TRACKS_PER_REPORT):
                sealed = self.sender.seal(TrackReport, t, tracks=states[k:k + TRACKS_PER_REPORT])
                if sealed.subjects:
                    out.append(sealed)
        for ev in events:
            sealed = None
            if isinstance(ev, AssessLaunch):
                sealed = self.sender.seal(
                    WireLaunch, t, event_id=f"{self.nation}-{ev.launch_id}", launch_t_unix_s=ev.time_unix_s,
                    launch_t_sigma_s=max(ev.time_sigma_s, 0.0), lat_deg=ev.lat_deg, lon_deg=ev.lon_deg,
                    alt_m=0.0, horiz_sigma_m=max(ev.semi_major_m, 0.0) / 2.45, track_ids=[ev.track])
            elif isinstance(ev, ImpactPrediction) and not ev.powered:
                sealed = self.sender.seal(
                    WireImpact, t, track_id=ev.track, lat_deg=ev.lat_deg, lon_deg=ev.lon_deg,
                    semi_major_m=ev.semi_major_m, semi_minor_m=ev.semi_minor_m,
                    bearing_deg=float(ev.orientation_deg % 360.0), impact_t_unix_s=ev.time_unix_s,
                    impact_t_sigma_s=max(ev.time_sigma_s, 0.0), confidence=ev.confidence)
            if sealed is not None and sealed.subjects:
                out.append(sealed)
        return out
