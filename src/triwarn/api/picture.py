"""The picture: what one nation's node knows at one moment, as the operator UI shows it.

The national node (or the exercise engine) builds a `Picture` for each nation's view and hands it to a
`PictureHub`; the API serves the latest one over REST and pushes `PictureDelta`s to browsers.

Units and frames, as at every edge of triwarn: latitude/longitude in degrees (WGS84 geodetic),
altitude above the ellipsoid in metres, speeds in metres per second, times in Unix seconds (UTC; in an
exercise they are simulated times), ellipse axes in metres and orientation in degrees clockwise from
north. Wire names follow the Python names exactly; see docs/ui.md for the full description. The
documents have names of their own (TrackView, ImpactView, LaunchView, LinkView, IncidentView, OrbitView,
HazardZoneView, SharingGainView): they show
the records of triwarn.records and the wire's reports, and are not them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Literal

import msgspec

from triwarn.records import NATIONS

PICTURE_VERSION = 1
MIN_PUSH_INTERVAL_S = 0.1  # deltas reach a subscriber at most 10 times a second

Nation = Literal["us", "jp", "kr"]
TrackMode = Literal["boost", "ballistic"]
TrackKind = Literal["warhead", "stage", "unknown"]
AlertState = Literal["shelter", "notice", "passed", "all_clear", "cancelled"]
LinkState = Literal["up", "degraded", "down"]
PictureMode = Literal["exercise", "live"]


class LaunchView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Estimated launch point and time of a track's object."""

    lat_deg: float
    lon_deg: float
    time_unix_s: float


class TrackView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One fused system track as the nation sees it.

    kind comes from the assessment's object role (records.events.ObjectRole): warhead for the primary
    object, stage for a separated piece, unknown (with kind_reason saying why) otherwise. trail holds
    the last samples as [t_unix_s, lat_deg, lon_deg, alt_m], oldest first; nations lists the
    nations whose sensors contributed. The altitude-vs-downrange profile is drawn from trail, measured
    from launch when it is known (else from the first trail point).
    """

    id: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    speed_mps: float
    mode: TrackMode
    kind: TrackKind
    nations: list[Nation]
    trail: list[tuple[float, float, float, float]] = []
    launch: LaunchView | None = None
    kind_reason: str = ""  # why the kind is "unknown" (empty for warhead and stage)


class ImpactView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Predicted impact of one track: the point, its time, the error ellipse and the ground track.

    powered is true while the object is still under thrust (the prediction assumes burnout now).
    ground_track holds [lat_deg, lon_deg] points from the object's current position to the impact.
    """

    track: str
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    powered: bool
    ground_track: list[tuple[float, float]] = []
    # The declared hazard zone the point is in, else the nearest one, and its distance (0 inside); "" and
    # None without declared zones.
    zone: str = ""
    zone_km: float | None = None


class AreaPassView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When an orbiting object's ground track ahead enters an area's land or territorial sea."""

    area: str
    enter_unix_s: float


class OrbitView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An object whose energy is orbital: no impact point, its orbit instead (records.events.OrbitElements
    or a partner's OrbitReport, labelled "NATION:track_id"). ground_track holds [t_unix_s, lat_deg, lon_deg]
    ahead of the picture's time; areas_over the areas that ground track crosses, in time order."""

    track: str
    epoch_unix_s: float
    incl_deg: float
    perigee_km: float
    apogee_km: float
    period_s: float
    ground_track: list[tuple[float, float, float]] = []
    areas_over: list[AreaPassView] = []


class HazardZoneView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A declared hazard zone of a navigational warning (geo.hazard_zones): its label, the piece it is
    declared for (first stage, fairing, ...; "" when the notice says not), its corners [lat_deg, lon_deg]
    and the warning's launch window."""

    label: str
    piece: str
    corners: list[tuple[float, float]]
    window_start_unix_s: float
    window_end_unix_s: float


class AreaAlert(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The warning state of one area (ISO 3166-2 code) and since when it holds."""

    area: str
    name_en: str
    name_ja: str
    name_ko: str
    state: AlertState
    since_unix_s: float
    cap_identifier: str


class AlertLogEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One CAP message as issued: when, its identifier, msgType (Alert/Update/Cancel), status, areas."""

    t_unix_s: float
    cap_identifier: str
    msg_type: str
    status: str
    areas: list[str]
    headline_en: str


class LinkView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A partner link as the node's runner judges it (the same state /api/health shows): up, degraded
    (its messages are refused) or down, why when not up, when the peer was last heard (any accepted
    message, heartbeats too) and the measured latency."""

    peer: str
    state: LinkState
    last_heard_unix_s: float | None
    latency_ms: float | None
    why: str = ""


class IncidentView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One launch event as the warning engine tracks it: its tracks, the areas it touched."""

    id: str
    opened_unix_s: float
    tracks: list[str]
    areas: list[str]
    closed: bool = False


class SharingGainView(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What sharing gained for one of the view's areas in an exercise (summary.json's sharing_gain row,
    exercise.metrics.first_alert_table): the first shelter alert and the first information notice with
    sharing and alone (the no-sharing baseline), the gains in seconds (alone - shared; positive: earlier
    with sharing) and why (gain_reason, notice_gain_reason). During the run only the shared times are known
    (the baseline runs beside it in another process and reports at the end): the alone times, gains and
    reasons are null until the picture's sharing_gain_final is true."""

    node: Nation
    area: str
    first_shelter_shared_unix_s: float | None = None
    first_shelter_alone_unix_s: float | None = None
    gain_s: float | None = None
    first_notice_shared_unix_s: float | None = None
    first_notice_alone_unix_s: float | None = None
    notice_gain_s: float | None = None
    gain_reason: str | None = None
    notice_gain_reason: str | None = None


class Picture(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Everything one nation's view shows at sim time t_unix_s. mode "exercise" is never mixed with "live"."""

    nation: Nation
    t_unix_s: float
    mode: PictureMode
    exercise_name: str | None = None
    tracks: list[TrackView] = []
    impacts: list[ImpactView] = []
    alerts: list[AreaAlert] = []
    alert_log: list[AlertLogEntry] = []
    links: list[LinkView] = []
    incidents: list[IncidentView] = []
    orbits: list[OrbitView] = []
    hazard_zones: list[HazardZoneView] = []
    version: int = PICTURE_VERSION
    ended: bool = False  # the run that feeds this view has ended (an exercise's last picture)
    # An exercise's sharing gain for the view's areas; final: the no-sharing baseline's result is in
    # (sharing_gain_note says why there is none, e.g. a run without a baseline). Empty when live.
    sharing_gain: list[SharingGainView] = []
    sharing_gain_final: bool = False
    sharing_gain_note: str = ""


class PictureDelta(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What changed in a nation's picture since the subscriber's previous delta.

    full: this delta is a whole picture (the first one, or after the view changed mode): tracks holds
    every track and the client drops what it had. Otherwise tracks holds only changed or new tracks and
    removed the ids that are gone. impacts, alerts, links, incidents, orbits and hazard_zones are whole
    lists when any entry changed and null when unchanged; alert_log holds only entries new since the
    previous delta (all of them when full). ended: the run has ended; the client stops listening.
    sharing_gain is a whole list when changed, null when unchanged; sharing_gain_final and its note are the
    picture's.
    """

    nation: Nation
    t_unix_s: float
    mode: PictureMode
    exercise_name: str | None
    full: bool
    tracks: list[TrackView]
    removed: list[str]
    impacts: list[ImpactView] | None
    alerts: list[AreaAlert] | None
    alert_log: list[AlertLogEntry]
    links: list[LinkView] | None
    incidents: list[IncidentView] | None
    orbits: list[OrbitView] | None = None
    hazard_zones: list[HazardZoneView] | None = None
    version: int = PICTURE_VERSION
    ended: bool = False
    sharing_gain: list[SharingGainView] | None = None
    sharing_gain_final: bool = False
    sharing_gain_note: str = ""


def picture_delta(before: Picture | None, after: Picture) -> PictureDelta:
    """The delta that turns `before` (what the subscriber has) into `after`; full when before is None."""
    if before is None or before.mode != after.mode or before.exercise_name != after.exercise_name:
        return PictureDelta(
            nation=after.nation,
            t_unix_s=after.t_unix_s,
            mode=after.mode,
            exercise_name=after.exercise_name,
            full=True,
            tracks=list(after.tracks),
            removed=[],
            impacts=list(after.impacts),
            alerts=list(after.alerts),
            alert_log=list(after.alert_log),
            links=list(after.links),
            incidents=list(after.incidents),
            orbits=list(after.orbits),
            hazard_zones=list(after.hazard_zones),
            ended=after.ended,
            sharing_gain=list(after.sharing_gain),
            sharing_gain_final=after.sharing_gain_final,
            sharing_gain_note=after.sharing_gain_note,
        )
    old_tracks = {t.id: t for t in before.tracks}
    new_ids = {t.id for t in after.tracks}
    changed = [t for t in after.tracks if old_tracks.get(t.id) != t]
    removed = [tid for tid in old_tracks if tid not in new_ids]
    seen_log = {(e.cap_identifier, e.t_unix_s) for e in before.alert_log}
    new_log = [e for e in after.alert_log if (e.cap_identifier, e.t_unix_s) not in seen_log]

    def whole_if_changed(old: list, new: list) -> list | None:
        return None if old == new else list(new)

    return PictureDelta(
        nation=after.nation,
        t_unix_s=after.t_unix_s,
        mode=after.mode,
        exercise_name=after.exercise_name,
        full=False,
        tracks=changed,
        removed=removed,
        impacts=whole_if_changed(before.impacts, after.impacts),
        alerts=whole_if_changed(before.alerts, after.alerts),
        alert_log=new_log,
        links=whole_if_changed(before.links, after.links),
        incidents=whole_if_changed(before.incidents, after.incidents),
        orbits=whole_if_changed(before.orbits, after.orbits),
        hazard_zones=whole_if_changed(before.hazard_zones, after.hazard_zones),
        ended=after.ended,
        sharing_gain=whole_if_changed(before.sharing_gain, after.sharing_gain),
        sharing_gain_final=after.sharing_gain_final,
        sharing_gain_note=after.sharing_gain_note,
    )


class HubClosed(Exception):
    """Raised inside a subscription when the hub shuts down."""


class PictureHub:
    """Holds the latest picture of each nation's view and fans deltas out to subscribers.

    publish() never blocks and never queues: a subscriber that falls behind skips straight to the newest
    picture, so a slow browser costs memory for one picture, not a backlog. Subscribers get at most one
    delta per `min_interval_s` (10 Hz by default). Subscriptions run on one asyncio event loop;
    publish_nowait() may also be called before that loop runs (to seed a view).
    """

    def __init__(
        self,
        nations: Iterable[str] = NATIONS,
        *,
        min_interval_s: float = MIN_PUSH_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.nations: tuple[str, ...] = tuple(nations)
        unknown = [n for n in self.nations if n not in NATIONS]
        if unknown or not self.nations:
            raise ValueError(f"nations must be a non-empty subset of {NATIONS}, got {self.nations}")
        self.min_interval_s = float(min_interval_s)
        self._clock = clock
        self._latest: dict[str, Picture] = {}
        # One event per view, replaced at each publish: waking every waiter needs no lock and no loop.
        self._changed: dict[str, asyncio.Event] = {}
        self._serial: dict[str, int] = dict.fromkeys(self.nations, 0)
        self._closed = False
        self.ended = False
        self.t0_unix_s: float | None = None  # an exercise's T0 (the UI counts T+ from it); None: live

    def first_alert_unix_s(self, nation: str) -> float | None:
        """When the view's first alert was issued (its alert log's earliest entry), None before any."""
        pic = self._latest.get(nation)
        return min((e.t_unix_s for e in pic.alert_log), default=None) if pic is not None else None

    def end(self) -> None:
        """The run has ended: every view's latest picture is republished with ended=True, so that each
        browser shows the end instead of waiting for (or reconnecting to) a run that is over."""
        self.ended = True
        for pic in list(self._latest.values()):
            if not pic.ended:
                self.publish_nowait(msgspec.structs.replace(pic, ended=True))

    def _check_nation(self, nation: str) -> None:
        if nation not in self.nations:
            raise KeyError(f"nation {nation!r} is not served here (served: {', '.join(self.nations)})")

    def publish_nowait(self, picture: Picture) -> None:
        """Make `picture` the latest of its nation's view and wake that view's subscribers."""
        self._check_nation(picture.nation)
        self._latest[picture.nation] = picture
        self._serial[picture.nation] += 1
        event = self._changed.pop(picture.nation, None)
        if event is not None:
            event.set()

    async def publish(self, picture: Picture) -> None:
        """As publish_nowait, for callers in a coroutine."""
        self.publish_nowait(picture)

    def latest(self, nation: str) -> Picture | None:
        """The newest picture of `nation`'s view, or None before the first publish."""
        self._check_nation(nation)
        return self._latest.get(nation)

    async def close(self) -> None:
        """End every subscription (each returns at its next wait); used at shutdown."""
        self._closed = True
        for event in self._changed.values():
            event.set()
        self._changed.clear()

    async def subscribe(
        self, nation: str, *, heartbeat_s: float | None = None
    ) -> AsyncIterator[PictureDelta | None]:
        """Deltas of `nation`'s view: a full one first (as soon as a picture exists), then changes.

        With heartbeat_s, None is yielded after that long without a change (so a stream can send a
        keep-alive). Ends (returns) when the hub closes.
        """
        self._check_nation(nation)
        sent: Picture | None = None
        sent_serial = -1
        last_push = -math.inf
        while not self._closed:
            if self._serial[nation] == sent_serial or nation not in self._latest:
                event = self._changed.get(nation)
                if event is None:
                    event = self._changed[nation] = asyncio.Event()
                try:
                    await asyncio.wait_for(event.wait(), heartbeat_s)
                except TimeoutError:
                    yield None
                continue
            wait_s = last_push + self.min_interval_s - self._clock()
            if wait_s > 0:
                await asyncio.sleep(wait_s)  # coalesce: whatever arrives meanwhile goes in one delta
            if self._closed:
                return
            current = self._latest[nation]
            sent_serial = self._serial[nation]
            delta = picture_delta(sent, current)
            sent = current
            last_push = self._clock()
            yield delta


def apply_delta(picture: Picture | None, delta: PictureDelta) -> Picture:
    """The picture a client holds after applying `delta` to `picture` (what the browser does, in Python).

    Used by tests and by tools that mirror a node's view.
    """
    if delta.full or picture is None:
        tracks = list(delta.tracks)
        base_log: list[AlertLogEntry] = []
        base = Picture(nation=delta.nation, t_unix_s=delta.t_unix_s, mode=delta.mode)
    else:
        by_id = {t.id: t for t in picture.tracks}
        for tid in delta.removed:
            by_id.pop(tid, None)
        for t in delta.tracks:
            by_id[t.id] = t
        tracks = list(by_id.values())
        base_log = list(picture.alert_log)
        base = picture
    return Picture(
        nation=delta.nation,
        t_unix_s=delta.t_unix_s,
        mode=delta.mode,
        exercise_name=delta.exercise_name,
        tracks=tracks,
        impacts=base.impacts if delta.impacts is None else list(delta.impacts),
        alerts=base.alerts if delta.alerts is None else list(delta.alerts),
        alert_log=base_log + list(delta.alert_log),
        links=base.links if delta.links is None else list(delta.links),
        incidents=base.incidents if delta.incidents is None else list(delta.incidents),
        orbits=base.orbits if delta.orbits is None else list(delta.orbits),
        hazard_zones=base.hazard_zones if delta.hazard_zones is None else list(delta.hazard_zones),
        ended=delta.ended,
        sharing_gain=base.sharing_gain if delta.sharing_gain is None else list(delta.sharing_gain),
        sharing_gain_final=delta.sharing_gain_final,
        sharing_gain_note=delta.sharing_gain_note,
    )
