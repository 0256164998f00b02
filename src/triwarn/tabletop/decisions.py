"""Scripted seats: a decisions file (YAML) read and checked at this edge.

    decisions:
      - {at: "03:10", seat: jp, action: issue_alert, areas: [JP-02], inject: 2, note: "Aomori at risk"}
      - {at: 1500, seat: controller, action: improvement, issue: ..., corrective_action: ..., responsible: kr,
         due: 2027-03-31}

Errors name the file, the line and the field: an unknown seat or action, a negative time, an area that
does not exist, an inject that is not in the MSEL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from triwarn.geo.areas_names import AREA_NAMES
from triwarn.share.schema import MESSAGE_CLASSES
from triwarn.tabletop.plan import CONTROLLER, RATINGS, TabletopPlan, parse_time
from triwarn.tabletop.session import CONTROLLER_ACTIONS, SEAT_ACTIONS
from triwarn.tabletop.yamlfile import Where, load_yaml

_KEYS = {"at", "seat", "action", "areas", "note", "inject", "incident", "reason", "partner", "data", "nation",
         "issue", "corrective_action", "capability", "responsible", "due", "objective", "rating"}


@dataclass(frozen=True)
class ScriptedDecision:
    t_s: float
    seat: str
    payload: dict
    line: int | None


def load_decisions(path: str | Path, plan: TabletopPlan) -> list[ScriptedDecision]:
    """The decisions in time order (ties keep the file's order)."""
    src = str(path)
    data, lines = load_yaml(path)
    top = Where(data, src, lines, (), known={"decisions"})
    rows = top.get("decisions")
    if not isinstance(rows, list):
        raise top.error("expected a list of decisions", "decisions")
    numbers = {i.number for i in plan.msel}
    out = []
    for i in range(len(rows)):
        w = top.child("decisions", i, known=_KEYS)
        t = parse_time(w, "at")
        if t > plan.duration_s:
            raise w.error(f"time {t:g} s is after the exercise's end ({plan.duration_s:g} s)", "at")
        seat = w.text("seat")
        if seat not in plan.seats:
            raise w.error(f"unknown seat {seat!r}; seats: {', '.join(plan.seats)}", "seat")
        action = w.text("action")
        allowed = CONTROLLER_ACTIONS if seat == CONTROLLER else SEAT_ACTIONS
        if action not in allowed:
            raise w.error(f"unknown action {action!r} for seat {seat}; one of {', '.join(allowed)}", "action")
        payload = {k: v for k, v in w.data.items() if k not in ("at", "seat")}
        if w.has("areas"):
            for code in w.text_list("areas"):
                if code not in AREA_NAMES:
                    raise w.error(f"no area {code!r} (ISO 3166-2 codes such as JP-02, KR-11, US-GU)", "areas")
        if w.has("inject"):
            n = w.get("inject")
            if n not in numbers:
                raise w.error(f"no inject {n!r} in the MSEL", "inject")
        if w.has("data") and w.get("data") not in MESSAGE_CLASSES:
            raise w.error(f"unknown data class {w.get('data')!r}; one of {', '.join(MESSAGE_CLASSES)}", "data")
        if w.has("partner") and w.get("partner") not in plan.nations:
            raise w.error(f"unknown partner {w.get('partner')!r}; nations: {', '.join(plan.nations)}", "partner")
        if w.has("rating") and w.get("rating") not in RATINGS:
            raise w.error(f"rating must be one of {', '.join(RATINGS)}", "rating")
        for k in ("note", "issue", "corrective_action"):
            if w.has(k):
                w.text(k)
        out.append(ScriptedDecision(t, seat, payload, w.line(None)))
    return sorted(out, key=lambda d: d.t_s)
