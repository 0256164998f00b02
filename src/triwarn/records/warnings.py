"""Warning states as data: the messages the warning stage issues and each area's part in them.

triwarn.warn.machine decides them; triwarn.warn.cap writes a message as one CAP 1.2 document, triwarn.warn.cot
as CoT events, and the operator picture shows them. Times are unix seconds UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shapely.geometry.base import BaseGeometry

from triwarn.records.events import LaunchEvent

AreaState = Literal["shelter", "notice", "passed", "clear", "error"]
ACTIVE_STATES = ("shelter", "notice", "passed")

MsgType = Literal["Alert", "Update", "Cancel"]

# Reasons an area leaves the warning, each with its own wording in texts.py.
CLEAR_REASONS = ("beyond", "landed", "lost_no_threat", "no_longer_at_risk", "thrust_ended_short", "lost_at_sea")
ERROR_REASONS = ("separated_piece", "operator_error", "false_detection")


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
