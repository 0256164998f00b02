"""The assessment's events and the observations the warning stage takes: typed, versioned records.

Every event has the sim time `t` (unix s) at which it was assessed (or observed) and a `type` tag.
Positions in degrees, distances in metres, times unix seconds, ellipse orientation in degrees clockwise
from north (major axis). `quality` in [0, 1] and `flags` (Flag) say how far the warning stage may trust
an event (docs/assessment.md). The assessment fills every field; the warning stage's file edge
(triwarn.warn.reader) also accepts the shorter events that older tools write, so the fields the
warning stage does not need have defaults.

These records go from the assessment to the warning stage as they are. JSON lines (events.jsonl) are
their file form: `encode_line` and `decode_line` here are the only writer and strict reader.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import msgspec

EVENT_VERSION = 1

# The warning stage discounts events whose quality is below this (docs/assessment.md); the
# assessment sends a launch event on once its quality reaches it.
TRUSTED_QUALITY = 0.5


class Flag(StrEnum):
    """Why an event is to be trusted less, or read differently (docs/assessment.md)."""

    SHORT_TRACK = "short_track"  # seen too briefly or too few updates (quality x0.3)
    IMPLAUSIBLE_STATE = "implausible_state"  # state outside physical bounds: its area risks are ignored
    SEPARATED_PIECE = "separated_piece"  # a piece that came off another object (a stage, debris)
    CORRIDOR = "corridor"  # a boosting object's corridor: where it can land, not where it will
    SINGLE_NATION = "single_nation"  # one nation's data only
    # This cycle did not recompute the track's area risks, so its last ones still hold (the warning
    # stage must not read the missing area_risk events as "no risk").
    AREAS_HELD = "areas_held"
    # From a boosting object's cut-off path: the ground track from the object to its cut-off-now impact,
    # which it overflies whatever the motor does next (triwarn.assess.corridor). Unlike the rest of the
    # corridor, the warning stage may act on these.
    CUTOFF_PATH = "cutoff_path"
    # From the probabilistic boost-phase layer (triwarn.assess.boost_risk): P(area overflown or struck) over
    # drawn burnout states; the warning stage acts on it only at its policy's boost_alert_probability.
    BOOST_RISK = "boost_risk"
    # From the node's own contribution to a shared track whose fused mode differs (the own-view floor,
    # triwarn.assess.assessor): the ballistic impact the node alone would predict while the fused track is
    # still held powered. Read like any ballistic prediction; the fused track's own replaces it.
    OWN_VIEW = "own_view"


class ObjectRole(StrEnum):
    """What an object is within its launch (the assessment's role for a track)."""

    PRIMARY = "primary"  # the object that carries on: a warhead or a payload
    SEPARATED = "separated"  # a spent stage or another piece
    UNRESOLVED = "unresolved"  # not yet told apart


# Older names some tools write for the roles.
ROLE_ALIASES: dict[str, ObjectRole] = {
    "primary": ObjectRole.PRIMARY,
    "warhead": ObjectRole.PRIMARY,
    "separated": ObjectRole.SEPARATED,
    "stage": ObjectRole.SEPARATED,
    "debris": ObjectRole.SEPARATED,
    "unresolved": ObjectRole.UNRESOLVED,
    "unknown": ObjectRole.UNRESOLVED,
}


class _Event(msgspec.Struct, tag_field="type", kw_only=True):
    t: float
    quality: float = 1.0
    flags: list[str] = msgspec.field(default_factory=list)

    def has(self, flag: Flag) -> bool:
        return flag in self.flags

    @property
    def short(self) -> bool:
        return Flag.SHORT_TRACK in self.flags

    @property
    def implausible(self) -> bool:
        return Flag.IMPLAUSIBLE_STATE in self.flags

    @property
    def cutoff_path(self) -> bool:
        return Flag.CUTOFF_PATH in self.flags

    @property
    def areas_held(self) -> bool:
        return Flag.AREAS_HELD in self.flags

    @property
    def trusted_quality(self) -> bool:
        return self.quality >= TRUSTED_QUALITY


class LaunchEvent(_Event, tag="launch", kw_only=True):
    """Estimated launch point and time of one system track's launch (launch_id groups the tracks).

    The 95% ellipse (semi-axes m, major axis degrees from north) and the time's 1-sigma are None only in
    events from tools that do not give them."""

    track: str | None = None
    launch_id: str | None = None
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    time_sigma_s: float | None = None
    semi_major_m: float | None = None
    semi_minor_m: float | None = None
    orientation_deg: float | None = None
    confidence: float = 0.95
    method: str = ""
    v: int = EVENT_VERSION


class ImpactPrediction(_Event, tag="impact_prediction", kw_only=True):
    """Predicted impact of one system track with its 95% ellipse.

    While powered, lat/lon is the middle of the impact corridor, the ellipse encloses the corridor, and
    `corridor` lists its centre line [[lat, lon], ...] from cut-off-now outwards; time_unix_s is then the
    earliest possible impact (cut-off now).
    """

    track: str
    launch_id: str | None = None
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    time_sigma_s: float | None = None
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float = 0.95
    powered: bool = False
    object: str = ObjectRole.UNRESOLVED
    nations: list[str] = msgspec.field(default_factory=list)
    corridor: list[list[float]] | None = None
    azimuth_deg: float | None = None
    v: int = EVENT_VERSION

    @property
    def role(self) -> ObjectRole:
        return ObjectRole.SEPARATED if Flag.SEPARATED_PIECE in self.flags else ObjectRole(self.object)


class AreaRisk(_Event, tag="area_risk", kw_only=True):
    """Risk to one area (ISO 3166-2 code) from one system track.

    kind "impact": probability of impact on the area's land or territorial sea, probability_eez of impact
    in its (approximate) EEZ outside them; enter_time_unix_s is the predicted impact time. kind
    "overflight": probability that the path passes over its land or territorial sea, entered at the
    earliest at enter_time_unix_s. powered: from a boosting track's corridor (where it can land, not where
    it will); its flag cutoff_path marks the part it overflies whatever its motor does next.
    """

    track: str = ""
    launch_id: str | None = None
    area: str
    kind: Literal["impact", "overflight"]
    probability: float
    probability_eez: float = 0.0
    enter_time_unix_s: float | None
    powered: bool = False
    object: str = ObjectRole.UNRESOLVED
    v: int = EVENT_VERSION

    @property
    def role(self) -> ObjectRole:
        return ObjectRole.SEPARATED if Flag.SEPARATED_PIECE in self.flags else ObjectRole(self.object)


class TrackObservation(msgspec.Struct, tag_field="type", tag="track", kw_only=True):
    """An observed position of a system track (degrees, metres above the ellipsoid), or its loss
    (status "lost": the position fields then mean nothing)."""

    t: float
    track: str
    lat_deg: float = 0.0
    lon_deg: float = 0.0
    alt_m: float = 0.0
    status: Literal["alive", "lost"] = "alive"
    launch_id: str | None = None

    @property
    def alive(self) -> bool:
        return self.status == "alive"


class OrbitElements(_Event, tag="orbit", kw_only=True):
    """The orbit estimate of one system track whose energy is orbital (triwarn.assess.orbit): no impact
    point, this instead. Osculating elements at epoch_unix_s (TEME, km and degrees; arg_lat_deg is the
    argument of latitude, defined for circular orbits), heights above the mean radius (km), the 1-sigma
    of each (`sigma`, keyed by the element's field name), and the TLE whose SGP4 propagation reproduces
    the state at epoch. `t` is when it was assessed. Not a warning input: it goes to partners and to the
    picture; the warning stage acts on the tracks' observed positions.
    """

    track: str
    launch_id: str | None = None
    epoch_unix_s: float
    sma_km: float
    ecc: float
    incl_deg: float
    raan_deg: float
    arg_lat_deg: float
    period_s: float
    perigee_km: float
    apogee_km: float
    sigma: dict[str, float] = msgspec.field(default_factory=dict)
    tle: tuple[str, str]
    nations: list[str] = msgspec.field(default_factory=list)
    v: int = EVENT_VERSION


Event = LaunchEvent | ImpactPrediction | AreaRisk
WarnInput = LaunchEvent | ImpactPrediction | AreaRisk | TrackObservation

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_line(event: Event | TrackObservation | OrbitElements) -> bytes:
    """One event as a JSON line (with the trailing newline)."""
    return _encoder.encode(event) + b"\n"


def decode_line(line: bytes | str) -> Event:
    """One JSON line of events.jsonl back into its event type (msgspec errors on anything malformed)."""
    return _decoder.decode(line)
