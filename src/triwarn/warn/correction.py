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

Pure data: no clock, no I/O (the machine passes the step's time).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REALERT_RISE = 0.2  # a rise in an area's probability, from the same tracks, that lifts a suppression


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


__all__ = ["REALERT_RISE", "Lifted", "Suppression", "material_change"]
