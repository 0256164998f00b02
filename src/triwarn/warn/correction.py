"""An operator's correction of an incident's alert, and what keeps it corrected.

An operator removes areas that were wrongly alerted (they get the error text, "issued in error", with a
reason of records.warnings.ERROR_REASONS) and/or adds areas the alert missed (they get the shelter
order). WarningMachine.correct applies it; this module holds the two rules that outlive the click:

- **Suppression** (an area the operator removed): the same evidence must not alert it again. The
  area stays in error for the rest of the incident while the tracks that put it at risk when it was
  removed (its support then, and any live track that continues one of them) are the only ones that
  put it at risk, and their probability for it has not risen by REALERT_RISE or more above the highest
  seen when it was removed. A new track putting it at risk (new evidence: another object, another
  nation's sensor) or such a rise is a material change: the suppression lifts (kept in `lifted`, with
  why, for the console) and the area is judged as usual from then on, so it is alerted again if the
  risk warrants. The operator can re-add it at any time. With a removal probability of 0.8 or more
  only new evidence lifts it: the operator has already judged that evidence at its strongest.
- **Pinning** (an area the operator added): the machine's low-risk rule (clear when the risk stays
  under off_probability) does not take it away again; it leaves the warning only the way an observed
  object does (passed, beyond, landed) or by another correction. Its support is every credited track of
  the incident at the time, so passage and landing judge it like any other area.

An operator's Cancel removes every warned area the same way (each suppressed on its evidence) and
closes the incident; the same tracks' later events, which open a new incident, are held by those
suppressions too (`CorrectionRecord`, "carried" below).

**Across restarts** the corrections live on as `CorrectionRecord`s (WarningMachine.corrections: what
a node's journal stores, triwarn.node.journal; WarningMachine.restore takes them back at start-up). A
record not bound to an open incident of the machine is carried: it binds to the first open incident
about the same object, and then acts as above. Track ids mean something only within the run that
made them (a restarted node numbers its tracks from 1 again), so:
  - in the record's own run (a Cancel's areas): the incident holds one of the record's tracks;
  - in a later run: the incident's launch (time and place) or lead impact agrees with the record's
    within SAME_LAUNCH_S / SAME_LAUNCH_M or SAME_IMPACT_S / SAME_IMPACT_M (`same_object`); the
    suppressed area's support becomes the incident's tracks that put it at risk then (or all its
    credited tracks), and any other track later is new evidence, as above.
A carried record that binds to nothing for CARRY_MAX_S after it was made is dropped. Limits: an
incident with neither a launch estimate nor an impact prediction yet cannot be recognised (an area
alerted before either arrives is alerted, then put back in error by an Update once the incident is
recognised); two launches from one site within SAME_LAUNCH_S are one object for this purpose (the
first such incident takes the record). The limits are judgement, not calibrated against data.

Pure data: no clock, no I/O (the machine passes the step's time).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

REALERT_RISE = 0.2  # a rise in an area's probability, from the same tracks, that lifts a suppression
CARRY_MAX_S = 3600.0  # a carried record binds within this long after it was made, or is dropped
SAME_LAUNCH_S = 90.0  # two launch estimates this close in time and place are one launch
SAME_LAUNCH_M = 100_000.0
SAME_IMPACT_S = 180.0  # two impact predictions this close in time and place are one object's
SAME_IMPACT_M = 200_000.0
_EARTH_M = 6_371_008.8


@dataclass
class Suppression:
    """An area the operator removed from an incident's alert."""

    incident: str
    code: str
    reason: str
    since_unix_s: float
    probability: float  # the highest probability (territory or EEZ) the area had when removed
    support: set[str] = field(default_factory=set)  # the tracks that put it at risk then


@dataclass(frozen=True)
class Lifted:
    """A suppression that a material change ended: when and why (for the console and the log)."""

    incident: str
    code: str
    t_unix_s: float
    why: str


def material_change(s: Suppression, p: float, tracks: set[str], same: set[str]) -> str | None:
    """Why the risk p from tracks is a material change for suppression s (None: it is not).

    same: the suppressed support and the live tracks continuing it (the same evidence)."""
    new = sorted(tracks - same)
    if new:
        return f"new evidence: track {', '.join(new[:3])}"
    if p >= s.probability + REALERT_RISE:
        return f"risk rose from {s.probability:.2f} to {p:.2f}"
    return None


@dataclass(frozen=True)
class Anchor:
    """What identifies an incident's object across runs: its launch or its lead impact (time, place)."""

    kind: str  # "launch" | "impact"
    time_unix_s: float
    lat_deg: float
    lon_deg: float


def anchors_of(launch, impact) -> tuple[Anchor, ...]:
    """The anchors of an incident from its launch (LaunchEvent) and lead impact (ImpactSummary), either None."""
    out = []
    for kind, x in (("launch", launch), ("impact", impact)):
        if x is not None:
            out.append(Anchor(kind, float(x.time_unix_s), float(x.lat_deg), float(x.lon_deg)))
    return tuple(out)


def _distance_m(a: Anchor, b: Anchor) -> float:
    p1, p2 = math.radians(a.lat_deg), math.radians(b.lat_deg)
    dl = math.radians(b.lon_deg - a.lon_deg)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def same_object(a: Anchor, b: Anchor) -> bool:
    """True when two anchors of the same kind agree within that kind's time and distance limits."""
    if a.kind != b.kind:
        return False
    dt, dm = (SAME_LAUNCH_S, SAME_LAUNCH_M) if a.kind == "launch" else (SAME_IMPACT_S, SAME_IMPACT_M)
    return abs(a.time_unix_s - b.time_unix_s) <= dt and _distance_m(a, b) <= dm


@dataclass(frozen=True)
class CorrectionRecord:
    """One standing operator correction, as a journal stores it: a suppressed area ("suppress") or a
    pinned one ("pin") of an incident of run run_id, with what binds it to an incident of another run.
    support: the suppression's tracks (for a pin, the incident's credited tracks); reason: the error
    reason (a pin's: ""); probability: the suppressed area's highest when removed (a pin's: 0)."""

    kind: str
    run_id: str
    incident: str
    code: str
    reason: str
    since_unix_s: float
    probability: float
    support: tuple[str, ...] = ()
    anchors: tuple[Anchor, ...] = ()

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.run_id, self.incident, self.code)


def binds(rec: CorrectionRecord, run_id: str, tracks: Iterable[str], anchors: Iterable[Anchor]) -> bool:
    """Whether a carried record is about the incident with these tracks and anchors (see the module
    docstring): by track in the record's own run, by launch or impact in any other."""
    if rec.run_id == run_id:
        return not set(rec.support).isdisjoint(tracks)
    return any(same_object(a, b) for a in rec.anchors for b in anchors)


def removal(area, terr: dict, eez: dict) -> tuple[float, set[str]]:
    """A removed area's (warn.incident.IncidentArea) highest probability now and its support, the tracks
    that put it at risk, from the machine's current risks (terr, eez: WarningMachine._current_risk)."""
    code = area.code
    p = max(terr.get(code, (0.0,))[0], eez.get(code, (0.0,))[0], area.probability)
    return p, set(area.support) | terr.get(code, (0.0, "", None, set()))[3] | eez.get(code, (0.0, None, set()))[2]


def record_of(run_id: str, incident: str, code: str, s: Suppression | None,
              identity: tuple[tuple[Anchor, ...], frozenset[str], float]) -> CorrectionRecord:
    """The record of a suppression s (None: of a pin) of an incident whose identity is (anchors, credited
    tracks, time of its first correction)."""
    anchors, tracks, since = identity
    if s is None:
        return CorrectionRecord("pin", run_id, incident, code, "", since, 0.0, tuple(sorted(tracks)), anchors)
    return CorrectionRecord("suppress", run_id, incident, code, s.reason, s.since_unix_s, s.probability,
                            tuple(sorted(s.support)), anchors)


def expired(rec: CorrectionRecord, now_unix_s: float) -> bool:
    """Made more than CARRY_MAX_S ago, or (a journal from a clock far ahead) as far in the future."""
    return abs(now_unix_s - rec.since_unix_s) > CARRY_MAX_S


__all__ = ["CARRY_MAX_S", "REALERT_RISE", "Anchor", "CorrectionRecord", "Lifted", "Suppression", "anchors_of",
           "binds", "expired", "material_change", "record_of", "removal", "same_object"]
