"""The wire schema shared between nations: versioned, typed messages, JSON on the wire.

Every message carries the envelope fields `msg_id` (32 hex digits, unique per message), `sender` (the
nation code that wrote and signed it), `seq` (per-sender sequence number, strictly increasing by one for
each message the sender publishes), `epoch` (UTC milliseconds at which that sequence began: a sender
that lost its outbox starts a new epoch at seq 1), `sent_unix_s` (UTC seconds since 1970-01-01 when
the sender signed it), `mode` ("live" or "exercise") and `exercise` (the exercise's name; null when
live), `schema` (SCHEMA_VERSION) and `sig` (base64 Ed25519 signature, see `triwarn.share.signing`). The mode travels
inside the signed envelope of every message, so a receiver can refuse data of the other mode (live and
exercise never meet: share.admission, reason `wrong_mode`).
The JSON key `kind` says which message class it is; each class maps to one NATS subject token.
The classes are named for what travels (`TrackReport`, `LaunchReport`, `ImpactReport`, `OrbitReport`,
`WarningState`, `Heartbeat`, `LinkReport`), apart from the assessment's records (records/events.py
`LaunchEvent`, `ImpactPrediction`, `OrbitElements`) and the picture's classes; their `kind` tags ("track",
"launch", "impact", "orbit", "warning", "heartbeat", "link") are the wire names.

Units and frames: SI inside every message. Positions and velocities are ECEF metres and metres per
second; covariances are ECEF, the 6x6 state covariance of (x, y, z, vx, vy, vz) packed as its 21
upper-triangle entries row by row (m^2, m^2/s, m^2/s^2). Geodetic points are degrees (latitude,
longitude) and metres above the WGS84 ellipsoid because they are meant for people and maps.

What never appears: sensor identifiers, sensor types or sensor sites. A track report says which
*nations* contributed, nothing finer (public reports: the type and location of a nation's sensors are
not shared).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

SCHEMA_VERSION = 3  # 2: the envelope carries mode and exercise; 3: and the sequence's epoch

Nation = Annotated[str, Meta(pattern=r"^[a-z]{2}$", description="Two-letter lower-case nation code.")]
MsgId = Annotated[str, Meta(pattern=r"^[0-9a-f]{32}$", description="32 hex digits, unique per message.")]
Seq = Annotated[int, Meta(ge=1, description="Per-sender sequence number, starting at 1.")]
Epoch = Annotated[int, Meta(ge=0, le=2**53 - 1, description=(
    "When the sender's sequence began: UTC milliseconds since 1970-01-01. (epoch, seq) orders a sender's "
    "messages; a new epoch (a sender that lost its outbox) restarts the sequence at 1."))]
UnixSeconds = Annotated[float, Meta(ge=0.0, description="UTC seconds since 1970-01-01T00:00:00Z.")]
Vec3 = Annotated[list[float], Meta(min_length=3, max_length=3)]
Cov6Upper = Annotated[
    list[float],
    Meta(min_length=21, max_length=21,
         description="6x6 ECEF state covariance (x,y,z,vx,vy,vz), upper triangle row by row, SI units."),
]
Probability = Annotated[float, Meta(ge=0.0, le=1.0)]
LatDeg = Annotated[float, Meta(ge=-90.0, le=90.0)]
LonDeg = Annotated[float, Meta(ge=-180.0, le=180.0)]
AreaCode = Annotated[str, Meta(min_length=1, max_length=64, description="Warning-area code, e.g. 'jp-01'.")]
Mode = Literal["live", "exercise"]
MAX_BOX_CHARS = 8 * 1024 * 1024  # a sealed frame's base64 ciphertext; a 1,024-track report is about 0.6 MB
ExerciseName = Annotated[str, Meta(min_length=1, max_length=256,
                                   description="The exercise's name; null when the mode is live.")]


class _Envelope(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True,
                tag_field="kind", omit_defaults=False):
    msg_id: MsgId
    sender: Nation
    seq: Seq
    epoch: Epoch
    sent_unix_s: UnixSeconds
    mode: Mode
    exercise: ExerciseName | None
    schema: Literal[3] = SCHEMA_VERSION
    sig: str = ""

    def __post_init__(self) -> None:
        # Runs on decode too (a ValueError there is a ValidationError): the two fields agree.
        if (self.mode == "exercise") != (self.exercise is not None):
            raise ValueError(f"mode {self.mode!r} with exercise {self.exercise!r}: an exercise message "
                             "names its exercise, a live message names none")


class TrackState(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One track's state as the sender estimates it at t_unix_s (UTC)."""

    track_id: Annotated[str, Meta(min_length=1, max_length=64, description="The sender's own track id.")]
    t_unix_s: UnixSeconds
    pos_ecef_m: Vec3
    vel_ecef_mps: Vec3
    cov_ecef: Cov6Upper
    mode: Literal["boost", "ballistic", "unknown"]
    quality: Probability
    nations: Annotated[list[Nation], Meta(min_length=1, description="Nations whose data went into it.")]


class TrackReport(_Envelope, frozen=True, tag="track"):
    """Track states updated at one reporting instant, signed once.

    Several tracks travel in one message because an Ed25519 verification costs ~0.1 ms here: a node
    that sent one signed message per track could not be verified at 20,000 tracks/s.
    """

    tracks: Annotated[list[TrackState], Meta(min_length=1, max_length=1024)]


class LaunchReport(_Envelope, frozen=True, tag="launch"):
    """An estimated launch: point (deg, m above the ellipsoid) and time (UTC) with 1-sigma uncertainty."""

    event_id: Annotated[str, Meta(min_length=1, max_length=64)]
    launch_t_unix_s: UnixSeconds
    launch_t_sigma_s: Annotated[float, Meta(ge=0.0)]
    lat_deg: LatDeg
    lon_deg: LonDeg
    alt_m: float
    horiz_sigma_m: Annotated[float, Meta(ge=0.0)]
    track_ids: list[str] = []


class ImpactReport(_Envelope, frozen=True, tag="impact"):
    """A predicted impact: centre point, error ellipse (semi-axes in metres, major-axis bearing in degrees
    clockwise from north), impact time (UTC) with 1-sigma, confidence that the impact lies in the
    ellipse, and the warning areas the predicted path overflies."""

    track_id: Annotated[str, Meta(min_length=1, max_length=64)]
    lat_deg: LatDeg
    lon_deg: LonDeg
    semi_major_m: Annotated[float, Meta(ge=0.0)]
    semi_minor_m: Annotated[float, Meta(ge=0.0)]
    bearing_deg: Annotated[float, Meta(ge=0.0, lt=360.0)]
    impact_t_unix_s: UnixSeconds
    impact_t_sigma_s: Annotated[float, Meta(ge=0.0)]
    confidence: Probability
    areas_overflown: list[AreaCode] = []


class OrbitReport(_Envelope, frozen=True, tag="orbit"):
    """An orbit estimate of an object whose energy is orbital (an SLV's payload or upper stage): what an
    impact report is for a falling object. Osculating elements at epoch (TEME): semi-major axis in metres,
    eccentricity, inclination, right ascension of the ascending node and argument of latitude in degrees,
    each with its 1-sigma; perigee and apogee heights in metres above the mean Earth radius; and the two
    TLE lines (69 characters each) whose SGP4 propagation reproduces the state at epoch. Physical limits
    on the values: share.bounds."""

    track_id: Annotated[str, Meta(min_length=1, max_length=64)]
    epoch_unix_s: UnixSeconds
    sma_m: Annotated[float, Meta(gt=0.0)]
    ecc: Annotated[float, Meta(ge=0.0, lt=1.0, description="Eccentricity; an escaping object (>= 1) has no TLE.")]
    incl_deg: Annotated[float, Meta(ge=0.0, le=180.0)]
    raan_deg: Annotated[float, Meta(ge=0.0, lt=360.0)]
    arg_lat_deg: Annotated[float, Meta(ge=0.0, lt=360.0)]
    perigee_alt_m: float
    apogee_alt_m: float
    sma_sigma_m: Annotated[float, Meta(ge=0.0)]
    ecc_sigma: Annotated[float, Meta(ge=0.0)]
    incl_sigma_deg: Annotated[float, Meta(ge=0.0)]
    raan_sigma_deg: Annotated[float, Meta(ge=0.0)]
    arg_lat_sigma_deg: Annotated[float, Meta(ge=0.0)]
    tle_line1: Annotated[str, Meta(pattern=r"^1 [ -~]{67}$", description="TLE line 1 (69 characters).")]
    tle_line2: Annotated[str, Meta(pattern=r"^2 [ -~]{67}$", description="TLE line 2 (69 characters).")]


class WarningState(_Envelope, frozen=True, tag="warning"):
    """The state of a public warning the sender issued: areas, status and the CAP identifier."""

    cap_identifier: Annotated[str, Meta(min_length=1, max_length=256)]
    status: Literal["issued", "updated", "cancelled", "all_clear"]
    areas: list[AreaCode]
    track_ids: list[str] = []


class Heartbeat(_Envelope, frozen=True, tag="heartbeat"):
    """I am alive; my node's state."""

    node_state: Literal["ok", "degraded", "exercise"]
    tracks_held: Annotated[int, Meta(ge=0)] = 0


class LinkReport(_Envelope, frozen=True, tag="link"):
    """What the sender sees of its link to a partner."""

    partner: Nation
    state: Literal["up", "down", "degraded"]
    last_heard_unix_s: UnixSeconds | None = None
    backlog_msgs: Annotated[int, Meta(ge=0)] = 0


class SealedFrame(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True, tag_field="kind",
                  tag="sealed", omit_defaults=False):
    """One of the messages above, encrypted to one recipient and signed by its sender: what travels when
    encryption is on (triwarn.share.sealing, which seals and opens it)."""

    sender: Nation
    to: Nation
    nonce: Annotated[str, Meta(min_length=32, max_length=32, description="Base64 of the 24-byte nonce.")]
    box: Annotated[str, Meta(min_length=1, max_length=MAX_BOX_CHARS,
                             description="Base64 of the XChaCha20-Poly1305 ciphertext and tag.")]
    schema: Literal[3] = SCHEMA_VERSION
    sig: str = ""


Message = TrackReport | LaunchReport | ImpactReport | OrbitReport | WarningState | Heartbeat | LinkReport
MESSAGE_TYPES: tuple[type[_Envelope], ...] = (
    TrackReport, LaunchReport, ImpactReport, OrbitReport, WarningState, Heartbeat, LinkReport,
)
# Message class name (the `kind` tag) for each type; also the last token of the NATS subject.
CLASS_OF: dict[type, str] = {t: t.__struct_config__.tag for t in MESSAGE_TYPES}
MESSAGE_CLASSES: tuple[str, ...] = tuple(CLASS_OF.values())

_decoder = msgspec.json.Decoder(Message)
_encoder = msgspec.json.Encoder()


def message_class(msg: Message) -> str:
    """The class name ("track", "launch", ...) of a message."""
    return CLASS_OF[type(msg)]


def subject_for(sender: str, recipient: str, msg_class: str) -> str:
    """The NATS subject a sender publishes a message class to for one recipient: tw.<from>.<to>.<class>."""
    return f"tw.{sender}.{recipient}.{msg_class}"


def encode(msg: Message) -> bytes:
    """JSON bytes of a message, signature included."""
    return _encoder.encode(msg)


def decode(data: bytes) -> Message:
    """Parse and validate JSON bytes; raises msgspec.ValidationError / DecodeError on anything malformed."""
    return _decoder.decode(data)


class _VersionProbe(msgspec.Struct):
    schema: int | None = None


_probe_decoder = msgspec.json.Decoder(_VersionProbe)


def schema_version_of(data: bytes) -> int | None:
    """The `schema` number a JSON object claims (None: not a JSON object, or no integer `schema`), so a
    receiver can tell an older sender's message from a malformed one. Never raises."""
    try:
        return _probe_decoder.decode(data).schema
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def json_schema() -> dict:
    """JSON Schema (draft 2020-12) of every message class, as one document."""
    schema = msgspec.json.schema(Message)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"triwarn wire messages, schema version {SCHEMA_VERSION}"
    return schema


def json_schema_files() -> dict[str, str]:
    """File name -> text of the exported schema: messages.schema.json (all classes) and one per class."""
    files = {"messages.schema.json": json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"}
    for cls in MESSAGE_TYPES:
        schema = msgspec.json.schema(cls)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"triwarn {CLASS_OF[cls]} message, schema version {SCHEMA_VERSION}"
        files[f"{CLASS_OF[cls]}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    schema = msgspec.json.schema(SealedFrame)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"triwarn sealed frame (an encrypted message), schema version {SCHEMA_VERSION}"
    files["sealed.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def write_json_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in json_schema_files().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written
