"""Incidents and the public-warning state machine.

Pure: `WarningMachine.step(events, now_unix_s)` takes assessment events (issue 5) and observed track
positions and returns the warning messages to issue at that clock time; it does no I/O and reads no
clock, so the same code runs live, in exercises faster than real time, and in tests.

Inputs (dicts as in events.jsonl, see triwarn.assess.events, or the typed records below; times are Unix
seconds UTC, positions geodetic WGS84 degrees, heights metres above the ellipsoid):
  - ``launch``: ``lat_deg``, ``lon_deg``, ``time_unix_s`` (optional ``track``, ``launch_id``).
  - ``impact_prediction``: ``track``, ``lat_deg``, ``lon_deg``, ``time_unix_s``, ``semi_major_m``,
    ``semi_minor_m``, ``orientation_deg``, ``confidence``, ``powered``, ``object`` (primary | separated
    | unresolved), ``flags``.
  - ``area_risk``: ``track``, ``area`` (ISO 3166-2), ``kind`` (impact | overflight), ``probability``
    (land or territorial sea), ``probability_eez`` (impact in the EEZ outside them),
    ``enter_time_unix_s``, ``object``, ``flags``.
  - ``track``: an observed position, ``track``, ``lat_deg``, ``lon_deg``, ``alt_m``, ``status``
    (alive | lost).
Every event has the sim time ``t`` (Unix s), may carry ``launch_id`` (one incident per launch) and
``exercise`` (the exercise name). Flags used: ``short_track``, ``separated_piece``,
``implausible_state`` (such an area_risk is ignored), ``areas_held``, ``cutoff_path`` (a boosting
track's cut-off path: trusted, unlike the rest of its corridor). Other fields are ignored.

The events of one assessment cycle of a track share one ``t``; a newer cycle of a track replaces all of
that track's older area risks (an area that is no longer reported has probability zero).

Decisions, per area (see docs/warnings.md for the reasoning):
  - shelter when the territory risk reaches ``on_probability`` (and neighbours, if configured);
  - notice (not shelter) when only the EEZ is at risk of impact;
  - passed only when every track still threatening the area is observed alive and past it (a
    separated piece flying over an area already warned counts too; it never warns one);
  - all-clear when the object is beyond, has landed, or is lost and its flight is certainly over, or
    when the risk has stayed below ``off_probability`` after the minimum hold time;
  - error (Cancel, or an Update that retracts those areas) when the only tracks that ever put the area
    at risk are discredited: a short track, now lost, of a piece whose newer, live companion track
    disagrees; or by an operator call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from triwarn.errors import InputError
from triwarn.geo.geodesic import inverse

AreaGeometry = Callable[[str], BaseGeometry | None]
"""Lookup from an ISO 3166-2 code to the area's land plus territorial sea, a shapely (Multi)Polygon in
lon/lat degrees, or None when unknown (then passage over it cannot be confirmed)."""

AreaState = Literal["shelter", "notice", "passed", "clear", "error"]
ACTIVE_STATES = ("shelter", "notice", "passed")

MsgType = Literal["Alert", "Update", "Cancel"]

# Reasons an area leaves the warning, each with its own wording in texts.py.
CLEAR_REASONS = ("beyond", "landed", "lost_no_threat", "no_longer_at_risk")
ERROR_REASONS = ("separated_piece", "operator_error", "false_detection")


# ----------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class LaunchEvent:
    """Estimated launch point and time (degrees, Unix s); launch_id groups one launch's tracks."""

    t: float
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    track: str | None = None
    launch_id: str | None = None
    exercise: str | None = None


@dataclass(frozen=True)
class ImpactPrediction:
    """A track's predicted impact: point (degrees), time (Unix s), ellipse (m, degrees from north)."""

    t: float
    track: str
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float
    powered: bool
    object: str = "unresolved"  # primary | separated | unresolved
    short: bool = False
    launch_id: str | None = None
    exercise: str | None = None
    areas_held: bool = False  # its track's area risks were not recomputed with it: the last ones hold
    quality: float = 1.0  # the assessment's trust in [0, 1]
    time_sigma_s: float | None = None  # 1-sigma of the impact time, when the assessment gives it
    cutoff_path: bool = False  # powered: its cut-off path was assessed, the track's area risks follow


@dataclass(frozen=True)
class AreaRisk:
    """A track's risk to one area: probability for land or territorial sea, probability_eez for the EEZ
    outside them (impact only)."""

    t: float
    area: str
    kind: str
    probability: float
    enter_time_unix_s: float | None
    track: str = ""
    probability_eez: float = 0.0
    object: str = "unresolved"
    short: bool = False
    implausible: bool = False
    launch_id: str | None = None
    exercise: str | None = None
    quality: float = 1.0  # the assessment's trust in [0, 1]
    powered: bool = False  # from a boosting track's corridor (where it can land, not where it will)
    cutoff_path: bool = False  # from its cut-off path: overflown whatever the motor does next


@dataclass(frozen=True)
class TrackObservation:
    """An observed position of a track (degrees, metres above the ellipsoid), or its loss."""

    t: float
    track: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    alive: bool
    launch_id: str | None = None
    exercise: str | None = None


InputEvent = LaunchEvent | ImpactPrediction | AreaRisk | TrackObservation

# The assessment's object roles (issue 5), with the older names some tools use.
_OBJECT_ROLES = {
    "primary": "primary",
    "warhead": "primary",
    "separated": "separated",
    "stage": "separated",
    "debris": "separated",
    "unresolved": "unresolved",
    "unknown": "unresolved",
}


def _num(ev: Mapping[str, Any], name: str, source: str | None, line: int | None, *, optional=False):
    value = ev.get(name)
    if value is None:
        if optional:
            return None
        raise InputError("missing", source=source, line=line, field=name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"must be a finite number, got {value!r}", source=source, line=line, field=name)
    return float(value)


def _text(ev: Mapping[str, Any], name: str, source, line, *, default: str | None = None) -> str:
    value = ev.get(name, default)
    if value is None:
        raise InputError("missing", source=source, line=line, field=name)
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise InputError(f"must be a non-empty string, got {value!r}", source=source, line=line, field=name)
    return str(value)


def _opt_text(ev: Mapping[str, Any], name: str, source, line) -> str | None:
    return None if ev.get(name) in (None, "") else _text(ev, name, source, line)


def _lat_lon(ev, source, line) -> tuple[float, float]:
    lat = _num(ev, "lat_deg", source, line)
    lon = _num(ev, "lon_deg", source, line)
    if not -90.0 <= lat <= 90.0:
        raise InputError(f"latitude {lat} outside [-90, 90]", source=source, line=line, field="lat_deg")
    if not -180.0 <= lon <= 360.0:
        raise InputError(f"longitude {lon} outside [-180, 360]", source=source, line=line, field="lon_deg")
    return lat, ((lon + 180.0) % 360.0) - 180.0


def _probability(ev, name, source, line, *, optional=False) -> float:
    p = _num(ev, name, source, line, optional=optional)
    if p is None:
        return 0.0
    if not 0.0 <= p <= 1.0:
        raise InputError(f"probability {p} outside [0, 1]", source=source, line=line, field=name)
    return p


def _role_and_flags(ev, source, line) -> tuple[str, bool, bool]:
    obj = _text(ev, "object", source, line, default="unresolved")
    if obj not in _OBJECT_ROLES:
        raise InputError(f"unknown object role {obj!r}", source=source, line=line, field="object")
    flags = ev.get("flags") or []
    if not isinstance(flags, list | tuple) or not all(isinstance(f, str) for f in flags):
        raise InputError("must be a list of strings", source=source, line=line, field="flags")
    role = _OBJECT_ROLES[obj]
    if "separated_piece" in flags:
        role = "separated"
    return role, "short_track" in flags, "implausible_state" in flags


def parse_event(
    ev: Mapping[str, Any], *, source: str | None = None, line: int | None = None
) -> InputEvent | None:
    """One event dict to its typed record; None for event types this stage does not consume.

    Raises InputError naming the source, line and field of the first problem.
    """
    if not isinstance(ev, Mapping):
        raise InputError(f"an event must be an object, got {type(ev).__name__}", source=source, line=line)
    kind = ev.get("type")
    if not isinstance(kind, str):
        raise InputError(f"missing or not a string: {kind!r}", source=source, line=line, field="type")
    if kind not in ("launch", "impact_prediction", "area_risk", "track"):
        return None
    t = _num(ev, "t", source, line)
    exercise = ev.get("exercise")
    if exercise is not None and (not isinstance(exercise, str) or not exercise.strip()):
        raise InputError("must be a non-empty exercise name", source=source, line=line, field="exercise")
    launch_id = _opt_text(ev, "launch_id", source, line)
    if kind == "launch":
        lat, lon = _lat_lon(ev, source, line)
        return LaunchEvent(
            t=t,
            lat_deg=lat,
            lon_deg=lon,
            time_unix_s=_num(ev, "time_unix_s", source, line),
            track=_opt_text(ev, "track", source, line),
            launch_id=launch_id,
            exercise=exercise,
        )
    if kind == "impact_prediction":
        lat, lon = _lat_lon(ev, source, line)
        role, short, _implausible = _role_and_flags(ev, source, line)
        semi_major = _num(ev, "semi_major_m", source, line)
        semi_minor = _num(ev, "semi_minor_m", source, line)
        if semi_major < 0 or semi_minor < 0:
            raise InputError("ellipse axes must be >= 0", source=source, line=line, field="semi_major_m")
        confidence = _num(ev, "confidence", source, line, optional=True)
        return ImpactPrediction(
            t=t,
            track=_text(ev, "track", source, line),
            lat_deg=lat,
            lon_deg=lon,
            time_unix_s=_num(ev, "time_unix_s", source, line),
            semi_major_m=semi_major,
            semi_minor_m=semi_minor,
            orientation_deg=_num(ev, "orientation_deg", source, line),
            confidence=0.95 if confidence is None else confidence,
            powered=bool(ev.get("powered", False)),
            object=role,
            short=short,
            launch_id=launch_id,
            exercise=exercise,
            areas_held="areas_held" in (ev.get("flags") or ()),
            quality=_probability(ev, "quality", source, line, optional=True) if "quality" in ev else 1.0,
            time_sigma_s=_num(ev, "time_sigma_s", source, line, optional=True),
            cutoff_path="cutoff_path" in (ev.get("flags") or ()),
        )
    if kind == "area_risk":
        area = _text(ev, "area", source, line)
        if not (len(area) >= 4 and area[2] == "-" and area[:2].isalpha() and area[:2].isupper()):
            raise InputError(
                f"{area!r} is not an ISO 3166-2 code like JP-02", source=source, line=line, field="area"
            )
        risk_kind = _text(ev, "kind", source, line)
        if risk_kind not in ("impact", "overflight"):
            raise InputError(
                f"must be impact or overflight, got {risk_kind!r}", source=source, line=line, field="kind"
            )
        role, short, implausible = _role_and_flags(ev, source, line)
        return AreaRisk(
            t=t,
            area=area,
            kind=risk_kind,
            probability=_probability(ev, "probability", source, line),
            enter_time_unix_s=_num(ev, "enter_time_unix_s", source, line, optional=True),
            track=_opt_text(ev, "track", source, line) or "",
            probability_eez=_probability(ev, "probability_eez", source, line, optional=True),
            object=role,
            short=short,
            implausible=implausible,
            launch_id=launch_id,
            exercise=exercise,
            quality=_probability(ev, "quality", source, line, optional=True) if "quality" in ev else 1.0,
            powered=bool(ev.get("powered", False)),
            cutoff_path="cutoff_path" in (ev.get("flags") or ()),
        )
    lat, lon = _lat_lon(ev, source, line)
    status = _text(ev, "status", source, line, default="alive")
    if status not in ("alive", "lost"):
        raise InputError(f"must be alive or lost, got {status!r}", source=source, line=line, field="status")
    return TrackObservation(
        t=t,
        track=_text(ev, "track", source, line),
        lat_deg=lat,
        lon_deg=lon,
        alt_m=_num(ev, "alt_m", source, line),
        alive=status == "alive",
        launch_id=launch_id,
        exercise=exercise,
    )


# ---------------------------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class AreaWarning:
    """One area's part in a message. probability is the highest current one over the tracks that count."""

    code: str
    state: AreaState
    kind: str  # impact | overflight | adjacent
    probability: float
    enter_time_unix_s: float | None
    reason: str | None = None  # for clear: CLEAR_REASONS; for error: ERROR_REASONS
    geometry: BaseGeometry | None = None


@dataclass(frozen=True)
class Reference:
    sender: str
    identifier: str
    sent_unix_s: float


@dataclass(frozen=True)
class ImpactSummary:
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float
    powered: bool


@dataclass(frozen=True)
class WarningMessage:
    """A public warning message, as data. cap.py turns it into one CAP 1.2 document.

    Every area of the thread is listed with its current state, so any one message is a complete picture.
    """

    sender: str
    identifier: str
    incident: str
    sent_unix_s: float
    msg_type: MsgType
    references: tuple[Reference, ...]
    areas: tuple[AreaWarning, ...]
    expires_unix_s: float
    exercise: str | None
    launch: LaunchEvent | None = None
    impact: ImpactSummary | None = None
    cancel_reason: str | None = None
    operator_note: str | None = None

    @property
    def reference(self) -> Reference:
        return Reference(self.sender, self.identifier, self.sent_unix_s)


# ----------------------------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class WarnPolicy:
    """Thresholds and timings. Probabilities in [0, 1], times in seconds, distances in metres.

    - on/off_probability: an area is sheltered at on and let go below off (hysteresis), and not before
      min_hold_s nor before it has stayed below off for off_hold_s (an area the ground track only
      clips drops out of single assessment cycles); notice_on_probability: EEZ-only impact notice.
    - adjacency maps an area code to the codes of its neighbours; with alert_adjacent they are sheltered
      together with it (Japan's practice since 2023, about a minute earlier for the neighbours).
    - expires_s: each message's lifetime; refresh_s: a standing warning is re-issued this often.
    - lost_after_s: a track with no evidence for this long is lost (the tracker says nothing when it
      drops one). landed_alt_m: seen this low, it has landed; lost below lost_low_alt_m within
      lost_late_s of its predicted impact, it has landed too. impact_margin_s: after the predicted
      impact time plus this, nothing of that track can still be flying; when the prediction gives the
      time's 1-sigma, 4 sigma (at least impact_margin_min_s) if that is shorter.
    - pass_margin_m: how far behind the object the whole area must be for "passed"; beyond_margin_m:
      for the all-clear of a passed area.
    - short_track_s: a track seen for less is "short" (a candidate for a separated-piece error).
    - continue_m, continue_dt_s: a lost track is continued by a live one of its incident seen within
      continue_dt_s after it, within continue_m of where the lost one was heading (one object, two tracks).
      match_impact_m, match_impact_s: or, after any gap, by a live one whose newer ballistic prediction
      gives the same impact as the lost one's last (points within match_impact_m, times within
      match_impact_s, both ellipses' semi-major axes within match_impact_m): the same ballistic
      trajectory, picked up again by other radars after a gap in cover.
    - Trust (docs/warnings.md): an area risk counts only if its quality is at least min_quality (the
      assessment discounts short tracks and implausible states below 0.5), it does not come from a
      boosting object's corridor (unless warn_powered: a corridor bounds where the object can land, all
      along its azimuth, it does not say where it will), and it is not a separated piece's overflight
      (unless separated_overflight: a spent stage must not inherit the warhead's path; where it falls
      on land or territorial sea still counts, a falling stage is a hazard of its own).
      trust_cutoff_path: a boosting object's cut-off path (flag cutoff_path: the ground track from the
      object to its cut-off-now impact, which it overflies whatever its motor does next) is trusted,
      the rest of its corridor is not. An area put at risk by a track's cut-off path stays at risk from
      that track until the track is seen past it (or its flight is over): a later prediction that leaves
      it out (the ballistic one that takes over at burnout, sampled along the path) does not let it go.
      The EEZ part of a cut-off impact is not acted on (the object lands there only if its motor stops
      now; the notice waits for the ballistic prediction).
    """

    on_probability: float = 0.05
    off_probability: float = 0.01
    notice_on_probability: float = 0.05
    min_hold_s: float = 60.0
    off_hold_s: float = 30.0
    alert_adjacent: bool = False
    adjacency: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    expires_s: float = 1800.0
    refresh_s: float = 600.0
    lost_after_s: float = 10.0
    landed_alt_m: float = 1000.0
    lost_low_alt_m: float = 50_000.0
    lost_late_s: float = 90.0
    impact_margin_s: float = 120.0
    impact_margin_min_s: float = 15.0
    pass_margin_m: float = 10_000.0
    beyond_margin_m: float = 300_000.0
    short_track_s: float = 90.0
    continue_m: float = 30_000.0
    continue_dt_s: float = 30.0
    match_impact_m: float = 30_000.0
    match_impact_s: float = 15.0
    min_quality: float = 0.5
    warn_powered: bool = False
    separated_overflight: bool = False
    trust_cutoff_path: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.off_probability < self.on_probability <= 1.0:
            raise InputError("need 0 <= off_probability < on_probability <= 1", field="off_probability")
        if self.refresh_s >= self.expires_s:
            raise InputError("refresh_s must be shorter than expires_s", field="refresh_s")


@dataclass(frozen=True)
class Issuer:
    """Who issues: the CAP sender and whether it is live.

    A live issuer issues `Actual` messages and refuses exercise input; an exercise issuer issues
    `Exercise` messages for exactly one named exercise and refuses everything else. Nothing else
    decides between the two.
    """

    sender: str
    live: bool = False
    exercise: str | None = None

    def __post_init__(self) -> None:
        if not self.sender or any(c in self.sender for c in " ,<&\t\n"):
            raise InputError(
                f"sender {self.sender!r} must be non-empty, without spaces, commas, < or &", field="sender"
            )
        if self.live and self.exercise is not None:
            raise InputError("a live issuer cannot have an exercise name", field="exercise")
        if not self.live and not (self.exercise and self.exercise.strip()):
            raise InputError("an exercise issuer needs the exercise name", field="exercise")

    def admit(self, exercise: str | None, *, source: str | None = None, line: int | None = None) -> None:
        """Refuse input of the other mode: live vs exercise are never mixed."""
        if self.live and exercise is not None:
            raise InputError(
                f"live issuer {self.sender} refuses exercise input ({exercise!r})",
                source=source,
                line=line,
                field="exercise",
            )
        if not self.live and exercise != self.exercise:
            what = "live input" if exercise is None else f"input of exercise {exercise!r}"
            raise InputError(
                f"exercise issuer for {self.exercise!r} refuses {what}",
                source=source,
                line=line,
                field="exercise",
            )


# ------------------------------------------------------------------------------------------------ state


@dataclass
class _Track:
    track_id: str
    first_t: float
    last_t: float
    object: str = "unresolved"
    short: bool = False
    obs: list[TrackObservation] = field(default_factory=list)  # the last two alive observations
    lost_t: float | None = None
    landed: bool = False
    batch_t: float = -math.inf
    risk: dict[tuple[str, str], tuple[float, float, float | None]] = field(default_factory=dict)
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


@dataclass
class _Area:
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
class _Incident:
    name: str
    opened_t: float
    launch: LaunchEvent | None = None
    tracks: dict[str, _Track] = field(default_factory=dict)
    areas: dict[str, _Area] = field(default_factory=dict)
    thread: list[Reference] = field(default_factory=list)
    last_sent_t: float | None = None
    seq: int = 0
    closed: bool = False


class WarningMachine:
    """One issuer's incidents and their warning threads.

    run_id must differ between runs of the same sender (the edge makes one with `new_run_id`), so that
    identifiers stay unique across restarts: identifier = sender.run_id.incident.sequence.
    """

    def __init__(
        self,
        issuer: Issuer,
        run_id: str,
        *,
        policy: WarnPolicy | None = None,
        area_geometry: AreaGeometry | None = None,
    ) -> None:
        if not run_id or any(c in run_id for c in " ,<&.\t\n"):
            raise InputError(
                f"run_id {run_id!r} must be non-empty, without spaces, commas, dots, < or &", field="run_id"
            )
        self.issuer = issuer
        self.run_id = run_id
        self.policy = policy or WarnPolicy()
        self._area_geometry = area_geometry or (lambda code: None)
        self._geometry_cache: dict[str, BaseGeometry | None] = {}
        self._outline_cache: dict[str, np.ndarray] = {}
        self._along_key: tuple[str, float] | None = None
        self._along: dict[str, tuple[float, float, bool]] = {}
        self._outlines: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None
        self._by_launch: dict[str, _Incident] = {}
        self.incidents: list[_Incident] = []
        self._track_incident: dict[str, _Incident] = {}
        self._issued: set[str] = set()

    # -------------------------------------------------------------------------------------- public API

    def step(
        self, events: Iterable[Mapping[str, Any] | InputEvent], now_unix_s: float
    ) -> list[WarningMessage]:
        """Take the events that arrived since the last step and return the messages to issue now.

        All events are checked before any is applied: a bad one raises InputError and changes nothing.
        """
        parsed: list[InputEvent] = []
        for i, ev in enumerate(events):
            rec = (
                ev
                if isinstance(ev, LaunchEvent | ImpactPrediction | AreaRisk | TrackObservation)
                else (parse_event(ev, source="events", line=i + 1))
            )
            if rec is None:
                continue
            self.issuer.admit(rec.exercise, source="events", line=i + 1)
            parsed.append(rec)
        for rec in sorted(parsed, key=lambda r: r.t):
            self._apply(rec)
        out: list[WarningMessage] = []
        for inc in self.incidents:
            if not inc.closed:
                msg = self._evaluate(inc, now_unix_s)
                if msg is not None:
                    out.append(msg)
        return out

    def cancel(
        self,
        incident: str,
        reason: str,
        now_unix_s: float,
        *,
        note: str | None = None,
        exercise: str | None = None,
    ) -> WarningMessage:
        """Operator call: the incident's warnings were issued in error. Returns the Cancel to issue.

        reason is one of ERROR_REASONS (each has an explanation in every language); note is free text
        for <note>. exercise must match the issuer's mode like any other input.
        """
        self.issuer.admit(exercise)
        if reason not in ERROR_REASONS:
            raise InputError(f"unknown reason {reason!r}; one of {', '.join(ERROR_REASONS)}", field="reason")
        inc = next((i for i in self.incidents if i.name == incident), None)
        if inc is None:
            raise InputError(f"no incident {incident!r}", field="incident")
        if not inc.thread:
            raise InputError(f"incident {incident!r} has issued nothing to cancel", field="incident")
        for area in inc.areas.values():
            area.state, area.reason = "error", reason
        msg = self._message(inc, now_unix_s, cancel_reason=reason, note=note)
        inc.closed = True
        return msg

    def incident_names(self) -> list[str]:
        return [i.name for i in self.incidents]

    # ------------------------------------------------------------------------------------------ inputs

    def _new_incident(self, t: float) -> _Incident:
        inc = _Incident(name=f"{self.run_id}-{len(self.incidents) + 1}", opened_t=t)
        self.incidents.append(inc)
        return inc

    def _incident_for(self, launch_id: str | None, track: str | None, t: float) -> _Incident:
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
                    inc = self._by_launch[launch_id] = self._new_incident(t)
        elif track and track in self._track_incident and not self._track_incident[track].closed:
            inc = self._track_incident[track]
        else:
            open_incidents = [i for i in self.incidents if not i.closed]
            inc = open_incidents[-1] if open_incidents else self._new_incident(t)
        if track:
            self._track_incident[track] = inc
        return inc

    def _launch_incident(self, rec: LaunchEvent) -> _Incident:
        if rec.launch_id or (rec.track and rec.track in self._track_incident):
            return self._incident_for(rec.launch_id, rec.track, rec.t)
        # Without ids, a launch estimate close in time and place to an open incident's is the same launch.
        for inc in reversed(self.incidents):
            if inc.closed:
                continue
            if inc.launch is None:
                return inc
            dist_m, _az = inverse(inc.launch.lat_deg, inc.launch.lon_deg, rec.lat_deg, rec.lon_deg)
            if abs(inc.launch.time_unix_s - rec.time_unix_s) <= 120.0 and float(dist_m) <= 100_000.0:
                return inc
        return self._new_incident(rec.t)

    def _track(self, inc: _Incident, track_id: str, t: float) -> _Track:
        trk = inc.tracks.get(track_id)
        if trk is None:
            trk = inc.tracks[track_id] = _Track(track_id=track_id, first_t=t, last_t=t)
        trk.first_t = min(trk.first_t, t)
        trk.last_t = max(trk.last_t, t)
        return trk

    def _trusted(self, rec: ImpactPrediction | AreaRisk) -> bool:
        """Whether the event may change who is sent to shelter (see WarnPolicy)."""
        pol = self.policy
        if rec.quality < pol.min_quality:
            return False
        if rec.powered and not pol.warn_powered and not (rec.cutoff_path and pol.trust_cutoff_path):
            return False
        if isinstance(rec, AreaRisk):
            if rec.implausible:
                return False
            if rec.object == "separated" and rec.kind == "overflight" and not pol.separated_overflight:
                return False
        return True

    def _apply(self, rec: InputEvent) -> None:
        if isinstance(rec, LaunchEvent):
            inc = self._launch_incident(rec)
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
        inc = self._incident_for(rec.launch_id, rec.track or None, rec.t)
        trk = self._track(inc, rec.track, rec.t)
        if isinstance(rec, TrackObservation):
            if rec.alive:
                trk.obs = [*trk.obs[-1:], rec]
                trk.lost_t = None
                if rec.alt_m <= self.policy.landed_alt_m:
                    trk.landed = True
            else:
                trk.lost_t = rec.t if trk.lost_t is None else trk.lost_t
            return
        trusted = self._trusted(rec)
        # Only a trusted cycle replaces the track's risks: a boosting-mode corridor or a low-quality
        # cycle in between (the tracker's mode or quality wobbling) must not wipe them, or the areas
        # would be let go and alerted again (seen on the replayed 2022-10-04 IRBM).
        if trusted and rec.t > trk.batch_t and not (isinstance(rec, ImpactPrediction) and rec.areas_held):
            trk.batch_t = rec.t
            trk.risk = {}
        trk.object = rec.object
        trk.short = rec.short
        pol = self.policy
        if (rec.object == "separated" and rec.quality >= pol.min_quality and rec.t > trk.passing_t
                and not (isinstance(rec, ImpactPrediction) and rec.areas_held)):
            trk.passing_t, trk.passing = rec.t, {}  # a new cycle of the piece replaces its overflights
        if isinstance(rec, ImpactPrediction):
            if not rec.powered:  # a corridor's time is the earliest possible impact, not the impact
                trk.impact = rec
            else:
                trk.powered_until_unix_s = rec.time_unix_s + (rec.time_sigma_s or 0.0)
            return
        if not trusted:  # a state no missile can have, or not trusted enough to send people to shelter
            if (rec.object == "separated" and rec.kind == "overflight" and rec.quality >= pol.min_quality
                    and not rec.implausible and not rec.powered and rec.probability >= pol.off_probability):
                trk.passing[rec.area] = max(trk.passing.get(rec.area, 0.0), rec.probability)
            return
        if rec.powered and not self.policy.warn_powered:  # a cut-off path's (see WarnPolicy)
            trk.risk[(rec.area, rec.kind)] = (rec.probability, 0.0, rec.enter_time_unix_s)
            if rec.probability >= self.policy.off_probability:
                p_old, e_old = trk.held.get(rec.area, (0.0, None))
                enter = rec.enter_time_unix_s if e_old is None else min(
                    e_old, rec.enter_time_unix_s if rec.enter_time_unix_s is not None else e_old)
                trk.held[rec.area] = (max(p_old, rec.probability), enter)
            return
        trk.risk[(rec.area, rec.kind)] = (rec.probability, rec.probability_eez, rec.enter_time_unix_s)

    # -------------------------------------------------------------------------------------- decisions

    def _geometry(self, code: str) -> BaseGeometry | None:
        if code not in self._geometry_cache:
            geom = self._area_geometry(code)
            self._geometry_cache[code] = geom
            self._along_key, self._outlines = None, None  # a new outline joins the next passage check
            if geom is not None and not geom.is_empty:
                # The along-course extremes of an area lie on its convex hull (the along-course distance
                # is nearly linear over an area's extent), so the hull is all passage needs to look at.
                lon_v, lat_v = _hull_lonlat(geom)
                self._outline_cache[code] = _unit(lat_v, lon_v)
        return self._geometry_cache[code]

    def _is_lost(self, trk: _Track, now: float) -> bool:
        return trk.lost_t is not None or (now - trk.last_t > self.policy.lost_after_s and not trk.landed)

    def _has_landed(self, trk: _Track, now: float) -> bool:
        """Seen at the ground, or lost low and late: the last sight below lost_low_alt_m within
        lost_late_s of the predicted impact (radar seldom sees the last kilometres)."""
        if trk.landed:
            return True
        pol = self.policy
        if not trk.obs or trk.impact is None or not self._is_lost(trk, now):
            return False
        last = trk.obs[-1]
        return last.alt_m <= pol.lost_low_alt_m and last.t >= trk.impact.time_unix_s - pol.lost_late_s

    def _flight_over(self, trk: _Track, now: float) -> bool:
        if self._has_landed(trk, now):
            return True
        pol = self.policy
        if trk.impact is None:
            # Only corridors so far: it can fly at most until the corridor's far end.
            return trk.powered_until_unix_s is not None and now >= trk.powered_until_unix_s + pol.impact_margin_s
        margin = pol.impact_margin_s
        if trk.impact.time_sigma_s is not None:  # the prediction says how sure it is of the time
            margin = min(margin, max(pol.impact_margin_min_s, 4.0 * trk.impact.time_sigma_s))
        return now >= trk.impact.time_unix_s + margin

    def _discredit(self, inc: _Incident, now: float) -> None:
        """A lost, briefly seen (or separated) piece's track is discredited once a live primary or
        unresolved companion, seen at least as long, has a newer prediction that puts its areas at no risk."""
        pol = self.policy
        live = [
            u
            for u in inc.tracks.values()
            if not self._is_lost(u, now)
            and not u.discredited
            and u.impact is not None
            and u.object != "separated"
        ]
        for trk in inc.tracks.values():
            if trk.discredited or not self._is_lost(trk, now):
                continue
            span = trk.last_t - trk.first_t
            if span >= pol.short_track_s and not trk.short and trk.object != "separated":
                continue
            areas = {a for (a, _k), (p, _pe, _e) in self._risk_view(trk).items() if p >= pol.on_probability}
            for u in live:
                if u is trk or u.batch_t <= trk.last_t or (u.last_t - u.first_t) < span:
                    continue
                u_max: dict[str, float] = {}
                for (a, _k), (p, _pe, _e) in self._risk_view(u).items():
                    u_max[a] = max(u_max.get(a, 0.0), p)
                if all(u_max.get(a, 0.0) < pol.off_probability for a in areas):
                    trk.discredited = True
                    break

    def _continue_lost(self, inc: _Incident, now: float) -> None:
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
                if len(u.obs) == 2 and not u.discredited and not self._is_lost(u, now)]
        if not live:
            return
        for trk in inc.tracks.values():
            if trk.continued_by is not None or not self._is_lost(trk, now):
                continue
            same = next((u for u in live if u is not trk and self._same_impact(trk, u)), None)
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
                pa, pb, pc = _unit(a.lat_deg, a.lon_deg), _unit(b.lat_deg, b.lon_deg), _unit(c.lat_deg, c.lon_deg)
                guess = pb + (pb - pa) * (c.t - b.t) / span
                guess /= np.linalg.norm(guess)
                gap_m = MEAN_EARTH_RADIUS_M * float(np.arccos(np.clip(guess @ pc, -1.0, 1.0)))
                alt_guess_m = b.alt_m + (b.alt_m - a.alt_m) * (c.t - b.t) / span
                if gap_m <= pol.continue_m and abs(c.alt_m - alt_guess_m) <= pol.continue_m:
                    trk.continued_by = u.track_id
                    break

    def _same_impact(self, lost: _Track, live: _Track) -> bool:
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
        cos_gap = float(_unit(a.lat_deg, a.lon_deg) @ _unit(b.lat_deg, b.lon_deg))
        return MEAN_EARTH_RADIUS_M * math.acos(min(1.0, max(-1.0, cos_gap))) <= pol.match_impact_m

    @staticmethod
    def _continuer(inc: _Incident, trk: _Track) -> _Track:
        for _ in range(8):  # a short chain at most; never loop
            nxt = inc.tracks.get(trk.continued_by) if trk.continued_by else None
            if nxt is None:
                return trk
            trk = nxt
        return trk

    def _current_risk(self, inc: _Incident, now: float):
        """Per area, over the tracks that count: territory (land or territorial sea) probability, its
        kind, entry time and supporting tracks; and EEZ-only impact probability with the same."""
        pol = self.policy
        terr: dict[str, tuple[float, str, float | None, set[str]]] = {}
        eez: dict[str, tuple[float, float | None, set[str]]] = {}
        for trk in inc.tracks.values():
            # A lost track continued by one that has landed has landed too (one object).
            if trk.discredited or self._flight_over(trk, now) or self._flight_over(self._continuer(inc, trk), now):
                continue
            # A continued track's last cycle is superseded by its continuer's; what its cut-off path
            # put at risk stands until the continuer is seen past it.
            for (code, kind), (p, p_eez, enter) in self._risk_view(trk, cycle=trk.continued_by is None).items():
                old = terr.get(code, (0.0, kind, None, set()))
                sup = old[3] | ({trk.track_id} if p >= pol.off_probability else set())
                terr[code] = (p, kind, enter, sup) if p > old[0] else (old[0], old[1], old[2], sup)
                if kind == "impact" and p_eez > 0.0:
                    old_e = eez.get(code, (0.0, None, set()))
                    sup_e = old_e[2] | ({trk.track_id} if p_eez >= pol.off_probability else set())
                    eez[code] = (p_eez, enter, sup_e) if p_eez > old_e[0] else (old_e[0], old_e[1], sup_e)
        if pol.alert_adjacent:
            for code, (p, _kind, enter, sup) in list(terr.items()):
                if p < pol.on_probability:
                    continue
                for nb in pol.adjacency.get(code, ()):
                    if terr.get(nb, (0.0,))[0] < p:
                        prev_sup = terr.get(nb, (0.0, "", None, set()))[3]
                        terr[nb] = (p, "adjacent", enter, prev_sup | sup)
        return terr, eez

    @staticmethod
    def _risk_view(trk: _Track, cycle: bool = True) -> dict[tuple[str, str], tuple[float, float, float | None]]:
        """The track's risks: its last trusted cycle's (if cycle) and the areas its cut-off paths put at
        risk and that it has not been seen past (as overflight), the higher probability of the two."""
        out = dict(trk.risk) if cycle else {}
        for code, (p, enter) in trk.held.items():
            old = out.get((code, "overflight"))
            if old is None or old[0] < p:
                out[(code, "overflight")] = (p, 0.0, enter)
        return out

    def _release_held(self, inc: _Incident) -> None:
        """Drop the cut-off path areas each track (or the live track continuing it) has been seen past."""
        margin = self.policy.pass_margin_m
        for trk in inc.tracks.values():
            if trk.held:
                ref = self._continuer(inc, trk)
                for code in [c for c in trk.held if self._seen_past(c, ref, 0.0, margin)]:
                    del trk.held[code]

    def _along_m(self, code: str, trk: _Track) -> tuple[float, float, bool] | None:
        """Where the area lies along the track's course from its last observed ground point: the least and
        greatest signed distance (m, positive ahead) of the area's outline points, and whether the point
        is inside the area. None when it cannot be judged (no geometry, < 2 observations)."""
        geom = self._geometry(code)
        if geom is None or geom.is_empty or len(trk.obs) < 2:
            return None
        key = (trk.track_id, trk.obs[-1].t)
        if self._along_key != key:
            self._along_key, self._along = key, self._along_all(trk)
        return self._along.get(code)

    def _along_all(self, trk: _Track) -> dict[str, tuple[float, float, bool]]:
        """_along_m for every known area at once, vectorised over all outline points.

        Distances are along the great circle through the last observed ground point in the direction of
        travel (sphere of mean radius: well under 1% from the ellipsoid, far inside the margins used).
        """
        if self._outlines is None:
            codes = [c for c, g in self._geometry_cache.items() if g is not None and not g.is_empty]
            if not codes:
                return {}
            pts = np.concatenate([self._outline_cache[c] for c in codes])
            starts = np.cumsum([0] + [len(self._outline_cache[c]) for c in codes[:-1]])
            geoms = np.array([self._geometry_cache[c] for c in codes])
            self._outlines = (codes, pts, starts, geoms)
        codes, pts, starts, geoms = self._outlines
        prev, last = trk.obs
        here = _unit(last.lat_deg, last.lon_deg)
        step = here - _unit(prev.lat_deg, prev.lon_deg)
        ahead = step - (step @ here) * here
        norm = float(np.linalg.norm(ahead))
        if norm == 0.0:  # no movement between the two observations: no course to judge by
            return {}
        ahead /= norm
        along = MEAN_EARTH_RADIUS_M * np.arctan2(pts @ ahead, pts @ here)
        lo, hi = np.minimum.reduceat(along, starts), np.maximum.reduceat(along, starts)
        inside = shapely.contains_xy(geoms, last.lon_deg, last.lat_deg)
        return {c: (float(lo[k]), float(hi[k]), bool(inside[k])) for k, c in enumerate(codes)}

    def _evaluate(self, inc: _Incident, now: float) -> WarningMessage | None:
        pol = self.policy
        self._discredit(inc, now)
        self._continue_lost(inc, now)
        self._release_held(inc)
        terr, eez = self._current_risk(inc, now)
        passing = self._passing(inc, now)
        changed = False
        for code in sorted(set(terr) | set(eez) | set(inc.areas)):
            p, kind, enter, sup = terr.get(code, (0.0, "", None, set()))
            pe, enter_e, sup_e = eez.get(code, (0.0, None, set()))
            area = inc.areas.get(code)
            before = None if area is None else (area.state, area.reason)
            if p >= pol.on_probability:
                if area is None or area.state in ("clear", "notice", "error"):
                    area = inc.areas[code] = _Area(code, "shelter", kind, p, enter, now, None, set(sup))
                else:
                    area.support |= sup
                    if area.state == "shelter":
                        area.probability, area.kind, area.enter_time_unix_s = p, kind, enter
            elif pe >= pol.notice_on_probability and (area is None or area.state in ("clear", "error")):
                area = inc.areas[code] = _Area(code, "notice", "impact", pe, enter_e, now, None, set(sup_e))
            elif area is not None and area.state == "notice" and pe >= pol.off_probability:
                area.probability = pe
                area.support |= sup_e
            if area is None:
                continue
            area.passing = passing.get(code, set()) if area.state in ("shelter", "passed") else set()
            area.support |= area.passing
            if area.state in ACTIVE_STATES:
                self._leave(inc, area, pe if area.state == "notice" else p, now)
            if (area.state, area.reason) != before:
                changed = True
        active = any(a.state in ACTIVE_STATES for a in inc.areas.values())
        if not inc.areas:
            return None
        if changed:
            if not inc.thread and not active:
                return None
            msg = self._message(inc, now)
        elif active and inc.last_sent_t is not None and now - inc.last_sent_t >= pol.refresh_s:
            msg = self._message(inc, now)
        else:
            msg = None
        tracks_over = bool(inc.tracks) and all(
            self._flight_over(t, now) or t.discredited or self._is_lost(t, now) for t in inc.tracks.values()
        )
        if not active and tracks_over:
            inc.closed = True
        return msg

    def _passing(self, inc: _Incident, now: float) -> dict[str, set[str]]:
        """Per area, the separated pieces of the incident whose last cycle flies over it and whose flight
        is not over (replayed 2022-10-04 IRBM with sharing: Japan's track of the spent first stage, labelled a
        separated piece, was over JP-02 when JP-02 was all-cleared on the warhead alone)."""
        if self.policy.separated_overflight:  # then they count as risks already
            return {}
        out: dict[str, set[str]] = {}
        for trk in inc.tracks.values():
            if trk.object != "separated" or not trk.passing or trk.discredited:
                continue
            if self._flight_over(trk, now) or self._flight_over(self._continuer(inc, trk), now):
                continue
            for code in trk.passing:
                out.setdefault(code, set()).add(trk.track_id)
        return out

    def _leave(self, inc: _Incident, area: _Area, p: float, now: float) -> None:
        """Move an active area to passed, clear or error when the evidence says so; p is its current
        probability over the tracks that count."""
        pol = self.policy
        if p < pol.off_probability:
            area.low_since_t = now if area.low_since_t is None else area.low_since_t
        else:
            area.low_since_t = None
        tracks = [inc.tracks[t] for t in area.support if t in inc.tracks]
        credited = [t for t in tracks if not t.discredited]
        # A lost track continued by a live one is that one from now on (one object, two system tracks).
        credited = list({id(c): c for c in (self._continuer(inc, t) for t in credited)}.values())
        if tracks and not credited:
            area.state, area.reason = "error", "separated_piece"
            return
        if credited and all(self._flight_over(t, now) for t in credited):
            lost = any(self._is_lost(t, now) and not self._has_landed(t, now) for t in credited)
            if area.state == "passed" or not lost:
                area.state, area.reason = "clear", "landed"
            else:
                area.state, area.reason = "clear", "lost_no_threat"
            return
        # Every track that ever put the area at risk and may still be flying must be seen past it: a lost
        # track is never past anything, whatever its predicted time.
        flying = [t for t in credited if not self._flight_over(t, now)]
        if area.state == "passed":
            if flying and all(self._seen_past(area.code, t, now, pol.beyond_margin_m) for t in flying):
                area.state, area.reason = "clear", "beyond"
            return
        if (
            area.state == "shelter"
            and flying
            and all(self._seen_past(area.code, t, now, pol.pass_margin_m) for t in flying)
        ):
            area.state, area.reason = "passed", None
            return
        if (p < pol.off_probability and now - area.on_since_t >= pol.min_hold_s
                and now - area.low_since_t >= pol.off_hold_s):
            # A prediction that drops the area while the object is passing it must not pre-empt the
            # observed passage: wait until it is seen past.
            if area.passing:  # a separated piece still flies over it: wait until it is past
                return
            if not any(self._alongside(area.code, t) for t in flying if not self._is_lost(t, now)):
                area.state, area.reason = "clear", "no_longer_at_risk"

    def _seen_past(self, code: str, trk: _Track, now: float, margin_m: float) -> bool:
        """The track's last observation has the whole area behind it by margin_m.

        A track lost after that observation was still seen past the area (a ballistic object does not
        turn back); one lost before it never was, whatever its predicted path (2022-11-03). With
        sharing, one object is often held as two system tracks and one of them (a partner's) ends
        first: without this, its area could only be let go when the whole flight was over.
        """
        along = self._along_m(code, trk)
        return along is not None and not along[2] and along[1] <= -margin_m

    def _alongside(self, code: str, trk: _Track) -> bool:
        """The object is over the area or has part of it behind: it is passing, not turning away."""
        along = self._along_m(code, trk)
        return along is not None and (along[2] or along[0] < 0.0)

    # ---------------------------------------------------------------------------------------- messages

    def _message(
        self, inc: _Incident, now: float, *, cancel_reason: str | None = None, note: str | None = None
    ) -> WarningMessage:
        all_error = all(a.state == "error" for a in inc.areas.values())
        if cancel_reason is None and all_error and inc.thread:
            cancel_reason = next(iter(inc.areas.values())).reason
        if cancel_reason is not None:
            msg_type: MsgType = "Cancel"
        else:
            msg_type = "Update" if inc.thread else "Alert"
        inc.seq += 1
        identifier = f"{self.issuer.sender}.{inc.name}.{inc.seq:03d}"
        if identifier in self._issued:  # cannot happen with a fresh run_id; never issue a duplicate
            raise RuntimeError(f"identifier {identifier} already issued")
        self._issued.add(identifier)
        sent = float(math.floor(now))
        impact = self._lead_impact(inc)
        areas = tuple(
            AreaWarning(
                code=a.code,
                state=a.state,
                kind=a.kind,
                probability=a.probability,
                enter_time_unix_s=a.enter_time_unix_s,
                reason=a.reason,
                geometry=self._geometry(a.code),
            )
            for a in sorted(inc.areas.values(), key=lambda a: a.code)
        )
        msg = WarningMessage(
            sender=self.issuer.sender,
            identifier=identifier,
            incident=inc.name,
            sent_unix_s=sent,
            msg_type=msg_type,
            references=tuple(inc.thread),
            areas=areas,
            expires_unix_s=sent + self.policy.expires_s,
            exercise=self.issuer.exercise,
            launch=inc.launch,
            impact=impact,
            cancel_reason=cancel_reason,
            operator_note=note,
        )
        inc.last_sent_t = now
        if msg_type == "Cancel":
            # A cancelled thread is finished; anything new in this incident starts a fresh Alert.
            inc.thread = []
            inc.areas = {}
        else:
            inc.thread.append(msg.reference)
        return msg

    @staticmethod
    def _lead_impact(inc: _Incident) -> ImpactSummary | None:
        preds = [t.impact for t in inc.tracks.values() if t.impact is not None and not t.discredited]
        if not preds:
            return None
        best = max(preds, key=lambda p: (p.object == "primary", p.t))
        return ImpactSummary(
            best.lat_deg,
            best.lon_deg,
            best.time_unix_s,
            best.semi_major_m,
            best.semi_minor_m,
            best.orientation_deg,
            best.confidence,
            best.powered,
        )


MEAN_EARTH_RADIUS_M = 6_371_008.8


def _unit(lat_deg, lon_deg) -> np.ndarray:
    """Unit vectors (..., 3) of geodetic positions, on the sphere (passage geometry only)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _hull_lonlat(geom: BaseGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (lon, lat degrees) of each part's convex hull; per part, so that islands far apart or an
    area split at the antimeridian do not become one huge hull."""
    xy = []
    for part in getattr(geom, "geoms", [geom]):
        if part.is_empty:
            continue
        hull = part.convex_hull
        xy.append(np.asarray(hull.exterior.coords if hull.geom_type == "Polygon" else hull.coords)[:, :2])
    pts = np.concatenate(xy)
    return pts[:, 0], pts[:, 1]


def new_run_id(t_unix_s: float, entropy: bytes) -> str:
    """A run id for identifiers: the start time (UTC, to the second) plus 4 random bytes in hex.

    The caller at the edge passes the clock and os.urandom(4); two runs never share one in practice.
    """
    import time as _time

    stamp = _time.strftime("%Y%m%dT%H%M%SZ", _time.gmtime(t_unix_s))
    return f"{stamp}-{entropy.hex()}"


__all__ = [
    "AreaGeometry",
    "AreaRisk",
    "AreaWarning",
    "ImpactPrediction",
    "ImpactSummary",
    "Issuer",
    "LaunchEvent",
    "Reference",
    "TrackObservation",
    "WarnPolicy",
    "WarningMachine",
    "WarningMessage",
    "new_run_id",
    "parse_event",
]
