"""The assessment's output events: typed, versioned records, written as JSON lines (one owner: here).

Every event has the sim time `t` (unix s) at which it was assessed and a `type`. Positions in degrees,
distances in metres, times unix seconds, ellipse orientation in degrees clockwise from north (major axis).
`quality` in [0, 1] and `flags` say how far the warning stage may trust an event (docs/assessment.md).
"""

from __future__ import annotations

import msgspec

EVENT_VERSION = 1


class LaunchEvent(msgspec.Struct, tag_field="type", tag="launch", kw_only=True, omit_defaults=False):
    """Estimated launch point and time of one system track's launch (launch_id groups the tracks)."""

    t: float
    track: str
    launch_id: str
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    time_sigma_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float = 0.95
    method: str
    quality: float
    flags: list[str] = msgspec.field(default_factory=list)
    v: int = EVENT_VERSION


class ImpactPrediction(msgspec.Struct, tag_field="type", tag="impact_prediction", kw_only=True):
    """Predicted impact of one system track with its 95% ellipse.

    While powered, lat/lon is the middle of the impact corridor, the ellipse encloses the corridor, and
    `corridor` lists its centre line [[lat, lon], ...] from cut-off-now outwards; time_unix_s is then the
    earliest possible impact (cut-off now).
    """

    t: float
    track: str
    launch_id: str
    lat_deg: float
    lon_deg: float
    time_unix_s: float
    time_sigma_s: float
    semi_major_m: float
    semi_minor_m: float
    orientation_deg: float
    confidence: float = 0.95
    powered: bool
    object: str  # "primary", "separated" or "unresolved"
    quality: float
    flags: list[str] = msgspec.field(default_factory=list)
    nations: list[str] = msgspec.field(default_factory=list)
    corridor: list[list[float]] | None = None
    azimuth_deg: float | None = None
    v: int = EVENT_VERSION


class AreaRisk(msgspec.Struct, tag_field="type", tag="area_risk", kw_only=True):
    """Risk to one area (ISO 3166-2 code) from one system track.

    kind "impact": probability of impact on the area's land or territorial sea, probability_eez of impact
    in its (approximate) EEZ outside them; enter_time_unix_s is the predicted impact time. kind
    "overflight": probability that the path passes over its land or territorial sea, entered at the
    earliest at enter_time_unix_s.
    """

    t: float
    track: str
    launch_id: str
    area: str
    kind: str
    probability: float
    probability_eez: float = 0.0
    enter_time_unix_s: float
    powered: bool
    object: str
    quality: float
    flags: list[str] = msgspec.field(default_factory=list)
    v: int = EVENT_VERSION


Event = LaunchEvent | ImpactPrediction | AreaRisk

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_line(event: Event) -> bytes:
    """One event as a JSON line (with the trailing newline)."""
    return _encoder.encode(event) + b"\n"


def decode_line(line: bytes | str) -> Event:
    """One JSON line back into its event type."""
    return _decoder.decode(line)
