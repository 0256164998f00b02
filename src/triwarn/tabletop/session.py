"""The tabletop session: one controller, one seat per nation, observers; a timeline of system events, MSEL
injects and the seats' decisions. Pure: it takes data and the scenario time of each call (seconds after T0)
and returns data; the clock (pause, speed, rewind) and the web face are elsewhere (clock.py, app.py).

    s = TabletopSession(plan, timeline, area_codes=areas.codes, network=load_network())
    s.advance(120.0)                                   # injects and system events due by T+120 s
    s.decide("jp", {"action": "issue_alert", "areas": ["JP-02"], "note": "..."}, 125.0)

Decisions go through the warning path of automatic ones: each nation's seat has a warn.machine.WarningMachine
(status Exercise, always; its Issuer refuses anything else), alerts are issued by stepping it with area-risk
records for the chosen areas and cancelled with its `cancel`; CAP documents come from warn.cap. A seat acts
for its own nation only: a decision naming another nation, or another nation's area, is refused and logged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from triwarn.errors import InputError
from triwarn.records.events import AreaRisk
from triwarn.records.warnings import WarningMessage
from triwarn.share.policy import NetworkSpec
from triwarn.share.schema import MESSAGE_CLASSES
from triwarn.tabletop.plan import CONTROLLER, OBSERVER_PREFIX, RATINGS, Inject, TabletopPlan
from triwarn.tabletop.system import SystemTimeline
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer

SEAT_ACTIONS = ("issue_alert", "hold_alert", "cancel", "ask_partner", "release_data", "withhold_data",
                "answer_inject", "note")
CONTROLLER_ACTIONS = ("improvement", "rate")
NOTE_MAX = 2000
MAX_AREAS = 100
MAX_REFUSED_LOGGED = 1000


@dataclass
class Entry:
    """One line of the exercise timeline. audience: the seats that see it (controller and observers see
    everything); kind: system | inject | decision | refused | request | control | cap."""

    seq: int
    t_s: float
    kind: str
    seat: str | None
    text: str
    audience: tuple[str, ...]
    data: dict = field(default_factory=dict)
    branch: int = 0

    def as_dict(self) -> dict:
        return {"seq": self.seq, "t_s": round(self.t_s, 3), "kind": self.kind, "seat": self.seat,
                "text": self.text, "branch": self.branch, "data": self.data}


class Refused(Exception):
    """A decision the session refuses (and logs): why, in words."""


def seat_nation(seat: str) -> str | None:
    return None if seat == CONTROLLER or seat.startswith(OBSERVER_PREFIX) else seat


class TabletopSession:
    def __init__(self, plan: TabletopPlan, timeline: SystemTimeline, *, area_codes: Iterable[str],
                 network: NetworkSpec, cap_polygons=None) -> None:
        self.plan = plan
        self.timeline = timeline
        self.area_codes = frozenset(area_codes)
        self.network = network
        self.cap_polygons = cap_polygons
        self.entries: list[Entry] = []
        self.t_s = 0.0
        self.branch = 0
        self.machines = {n: WarningMachine(Issuer(f"triwarn-tabletop-{n}", exercise=plan.exercise),
                                           f"{plan.exercise}-{n}") for n in plan.nations}
        # The detonation's alerts come from a machine of their own (same sender, own run id), so that a
        # seat's later alert does not re-evaluate them; the seat's cancel reaches both.
        self.nuclear_machines = {n: WarningMachine(Issuer(f"triwarn-tabletop-{n}", exercise=plan.exercise),
                                                   f"{plan.exercise}-{n}-nuclear") for n in plan.nations}
        # The do-not-travel-into-the-plume notice to the areas beyond the footprint: a message of its own
        # (one state per CAP message, as the alert profiles require).
        self.caution_machines = {n: WarningMachine(Issuer(f"triwarn-tabletop-{n}", exercise=plan.exercise),
                                                   f"{plan.exercise}-{n}-plume") for n in plan.nations}
        self.held_areas: dict[str, set[str]] = {n: set() for n in plan.nations}
        self.caps: list[tuple[str, bytes]] = []  # (identifier, CAP XML) of every message the seats issued
        self.improvements: list[dict] = []
        self.ratings: dict[str, dict] = {}
        self._delivered: set[tuple[int, int]] = set()  # (branch, inject number)
        self._system_i = 0
        self.refused_count = 0
        self._detonation_done: list[Entry] | None = None

    # --------------------------------------------------------------------------------------------- views

    def visible(self, seat: str, after_seq: int = -1) -> list[Entry]:
        """The entries the seat may see (controller and observers: all)."""
        everyone = seat == CONTROLLER or seat.startswith(OBSERVER_PREFIX)
        return [e for e in self.entries if e.seq > after_seq and (everyone or seat in e.audience)]

    def _log(self, t_s: float, kind: str, seat: str | None, text: str, audience: Iterable[str],
             data: dict | None = None) -> Entry:
        e = Entry(len(self.entries), float(t_s), kind, seat, text, tuple(audience), data or {}, self.branch)
        self.entries.append(e)
        return e

    def log_refused(self, t_s: float, who: str | None, why: str, request: dict | None = None) -> Entry:
        """Log an attempt the web face refused before it reached a seat (a bad code, a seat acting as another).
        Past MAX_REFUSED_LOGGED such entries they are only counted (a flood must not grow the timeline)."""
        self.refused_count += 1
        if self.refused_count > MAX_REFUSED_LOGGED:
            return Entry(-1, float(t_s), "refused", who, "refused (not logged: too many)", ())
        return self._log(t_s, "refused", who, f"refused a request from {who or 'an unknown code'}: {why}",
                         (who,) if who in self.plan.seats else (), {"reason": why, "request": _safe(request or {})})

    # ------------------------------------------------------------------------------------------- clock

    def advance(self, t_s: float) -> list[Entry]:
        """Move the scenario time to t_s (never back: see rewind) and log what fell due: system events of
        the base run, MSEL injects, the stated detonation."""
        start = len(self.entries)
        t_s = min(max(t_s, self.t_s), self.plan.duration_s)
        due: list[tuple[float, int, object]] = []
        evs = self.timeline.events
        while self._system_i < len(evs) and evs[self._system_i].t_s <= t_s:
            due.append((evs[self._system_i].t_s, 0, evs[self._system_i]))
            self._system_i += 1
        for inj in self.plan.msel:
            if inj.time_s <= t_s and (self.branch, inj.number) not in self._delivered:
                due.append((inj.time_s, 1, inj))
        det = self.plan.detonation
        if det is not None and self.t_s <= det.at_s <= t_s and (self.branch, -1) not in self._delivered:
            due.append((det.at_s, 2, det))
        for t, _k, item in sorted(due, key=lambda d: (d[0], d[1])):
            if isinstance(item, Inject):
                self.deliver(item, t)
            elif _k == 0:
                self._log(t, "system", item.nation, item.text, (item.nation,), {"event": item.kind, **item.data})
            else:
                self._delivered.add((self.branch, -1))
                self._detonate(t)
        self.t_s = t_s
        return self.entries[start:]

    def rewind(self, t_s: float) -> Entry:
        """Go back to a decision point: the injects after it are armed again, on a new branch of the timeline.
        What was issued stays issued (a CAP identifier is never reused); the AAR shows every branch."""
        points = self.plan.decision_points()
        if not any(abs(t_s - p) < 1e-6 for p in points):
            raise Refused(f"T+{t_s:g} s is not a decision point; decision points: "
                          + ", ".join(f"{p:g}" for p in points))
        old = self.t_s
        self.branch += 1
        self.t_s = t_s
        self._system_i = next((i for i, e in enumerate(self.timeline.events) if e.t_s >= t_s),
                              len(self.timeline.events))
        for inj in self.plan.msel:
            if inj.time_s < t_s:
                self._delivered.add((self.branch, inj.number))
        if self.plan.detonation is not None and self.plan.detonation.at_s < t_s:
            self._delivered.add((self.branch, -1))
        return self._log(t_s, "control", CONTROLLER, f"rewound from T+{old:.0f} s to T+{t_s:.0f} s "
                         f"(branch {self.branch})", (), {"action": "rewind", "from_s": old})

    def control(self, action: str, t_s: float, **data) -> Entry:
        """Log a controller action on the clock (start, pause, resume, speed, end)."""
        words = {"start": "started the exercise", "pause": "paused", "resume": "resumed",
                 "speed": f"set the speed to {data.get('speed')}x", "end": "ended the exercise"}
        return self._log(t_s, "control", CONTROLLER, words.get(action, action), (), {"action": action, **data})

    def deliver(self, inj: Inject, t_s: float, *, adhoc: bool = False) -> Entry:
        self._delivered.add((self.branch, inj.number))
        tag = "ad hoc inject" if adhoc else f"inject {inj.number}"
        # A scheduled system inject was compiled into the base run (its effect is in the system events);
        # every other inject, and any inject sent now or ad hoc, is told to the seats only.
        played = inj.system is not None and not adhoc and abs(t_s - inj.time_s) < 1.0
        effect = f" [in the base run: {_system_words(inj)}]" if played else ""
        return self._log(t_s, "inject", inj.sender,
                         f"{tag} ({inj.type}) to {', '.join(inj.to)}: {inj.description}{effect}",
                         inj.to, {"number": inj.number, "type": inj.type, "to": list(inj.to),
                                  "expected_action": inj.expected_action, "objective": inj.objective,
                                  "scheduled_s": inj.time_s, "in_base_run": played})

    def inject_now(self, number: int, t_s: float) -> Entry:
        """The controller sends an MSEL inject now (early or again)."""
        inj = self.plan.inject(number)
        if inj is None:
            raise Refused(f"no inject number {number} in the MSEL")
        return self.deliver(inj, t_s)

    def inject_adhoc(self, kind: str, to: list[str], description: str, t_s: float) -> Entry:
        from triwarn.tabletop.plan import INJECT_TYPES

        if kind not in INJECT_TYPES:
            raise Refused(f"unknown inject type {kind!r}; one of {', '.join(INJECT_TYPES)}")
        bad = [s for s in to if s not in self.plan.seats] or ([] if to else ["(none)"])
        if bad:
            raise Refused(f"unknown seat(s) {bad}; seats: {', '.join(self.plan.seats)}")
        number = 1000 + sum(1 for e in self.entries if e.kind == "inject" and e.data.get("number", 0) >= 1000)
        inj = Inject(number, t_s, kind, CONTROLLER, tuple(to), description[:NOTE_MAX], "", None)
        return self.deliver(inj, t_s, adhoc=True)

    # --------------------------------------------------------------------------------------- decisions

    def decide(self, seat: str, decision: dict, t_s: float) -> Entry:
        """A seat's decision at scenario time t_s: accepted (logged, with what it issued) or refused (logged,
        the reason in the entry's text; seen by the seat, the controller and observers)."""
        try:
            if seat not in self.plan.seats:
                raise Refused(f"unknown seat {seat!r}")
            action = decision.get("action")
            if seat == CONTROLLER:
                return self._controller_decision(action, decision, t_s)
            nation = seat_nation(seat)
            if nation is None:
                raise Refused("an observer seat makes no decisions")
            if action not in SEAT_ACTIONS:
                raise Refused(f"unknown action {action!r}; one of {', '.join(SEAT_ACTIONS)}")
            claimed = decision.get("nation", nation)
            if claimed != nation:
                raise Refused(f"seat {seat} cannot act for {claimed!r}: a seat acts for its own nation only")
            note = str(decision.get("note") or "")[:NOTE_MAX]
            return getattr(self, f"_{action}")(seat, nation, decision, note, t_s)
        except (Refused, InputError) as exc:
            return self._log(t_s, "refused", seat, f"refused {decision.get('action')!r} from {seat}: {exc}",
                             (seat,) if seat in self.plan.seats else (),
                             {"action": decision.get("action"), "reason": str(exc), "request": _safe(decision)})

    def _areas(self, nation: str, decision: dict) -> list[str]:
        areas = decision.get("areas") or []
        if isinstance(areas, str):
            areas = [areas]
        if not isinstance(areas, list) or not areas or len(areas) > MAX_AREAS:
            raise Refused(f"name 1 to {MAX_AREAS} areas")
        out = []
        for code in areas:
            if not isinstance(code, str) or code not in self.area_codes:
                raise Refused(f"no area {code!r}")
            if not code.lower().startswith(nation + "-"):
                raise Refused(f"area {code} is not {nation.upper()}'s: a seat acts for its own nation only")
            out.append(code)
        return sorted(set(out))

    def _decision(self, seat: str, action: str, text: str, t_s: float, data: dict, decision: dict,
                  audience: Iterable[str] = ()) -> Entry:
        inj = decision.get("inject")
        if inj is not None:
            data["inject"] = inj
        return self._log(t_s, "decision", seat, text, (seat, *audience), {"action": action, **data})

    def _issue(self, nation: str, records: list[AreaRisk], t_unix: float) -> list[WarningMessage]:
        msgs = self.machines[nation].step(records, t_unix)
        for m in msgs:
            self.caps.append((m.identifier, self._cap(m)))
        return msgs

    def _cap(self, m: WarningMessage) -> bytes:
        from triwarn.warn.cap import to_cap

        return to_cap(m, cap_polygons=self.cap_polygons) if self.cap_polygons else to_cap(m)

    def _issue_alert(self, seat, nation, decision, note, t_s) -> Entry:
        areas = self._areas(nation, decision)
        t = self.plan.t0_unix_s + t_s
        self.held_areas[nation] |= set(areas)
        recs = [AreaRisk(t=t, track=f"{nation}-desk", area=code, kind="impact", probability=1.0,
                         enter_time_unix_s=None, object="primary") for code in sorted(self.held_areas[nation])]
        msgs = self._issue(nation, recs, t)
        ids = [m.identifier for m in msgs]
        return self._decision(seat, "issue_alert", f"{seat} issued an alert for {', '.join(areas)}"
                              + (f" ({', '.join(ids)})" if ids else " (already in force: nothing new issued)")
                              + (f": {note}" if note else ""), t_s,
                              {"areas": areas, "messages": ids, "note": note}, decision)

    def _hold_alert(self, seat, nation, decision, note, t_s) -> Entry:
        areas = self._areas(nation, decision)
        return self._decision(seat, "hold_alert", f"{seat} held the alert for {', '.join(areas)}"
                              + (f": {note}" if note else ""), t_s, {"areas": areas, "note": note}, decision)

    def _cancel(self, seat, nation, decision, note, t_s) -> Entry:
        wanted = decision.get("incident")
        m, incident = None, None
        for machine in (self.machines[nation], self.nuclear_machines[nation], self.caution_machines[nation]):
            open_ = [i.name for i in machine.incidents if i.thread and not i.closed]
            if open_ and (wanted is None or wanted in open_):
                m, incident = machine, wanted or open_[-1]
                break
        if m is None:
            raise Refused(f"{nation.upper()} has no alert in force to cancel"
                          + (f" named {wanted!r}" if wanted else ""))
        reason = decision.get("reason", "operator_error")
        msg = m.cancel(str(incident), str(reason), self.plan.t0_unix_s + t_s, note=note or None,
                       exercise=self.plan.exercise)
        self.caps.append((msg.identifier, self._cap(msg)))
        self.held_areas[nation].clear()
        return self._decision(seat, "cancel", f"{seat} cancelled {incident} ({msg.identifier})"
                              + (f": {note}" if note else ""), t_s,
                              {"incident": incident, "messages": [msg.identifier], "note": note}, decision)

    def _partner(self, nation: str, decision: dict) -> str:
        partner = decision.get("partner")
        if partner not in self.plan.nations or partner == nation:
            raise Refused(f"partner must be another nation of the exercise ({', '.join(self.plan.nations)})")
        return partner

    def _ask_partner(self, seat, nation, decision, note, t_s) -> Entry:
        partner = self._partner(nation, decision)
        if not note:
            raise Refused("say what you ask in the note")
        return self._decision(seat, "ask_partner", f"{seat} asked {partner}: {note}", t_s,
                              {"partner": partner, "note": note}, decision, audience=(partner,))

    def _data_class(self, decision: dict) -> str:
        cls = decision.get("data")
        if cls not in MESSAGE_CLASSES:
            raise Refused(f"data must be one of the message classes {', '.join(MESSAGE_CLASSES)}")
        return cls

    def _release_data(self, seat, nation, decision, note, t_s) -> Entry:
        partner, cls = self._partner(nation, decision), self._data_class(decision)
        if not self.network.allows(nation, partner, cls):
            allowed = ", ".join(sorted(self.network.released(nation, partner))) or "none"
            raise Refused(f"releasing {cls} to {partner} is outside the release policy "
                          f"({nation}->{partner}: {allowed})")
        return self._decision(seat, "release_data", f"{seat} released {cls} data to {partner}"
                              + (f": {note}" if note else ""), t_s,
                              {"partner": partner, "data": cls, "note": note}, decision, audience=(partner,))

    def _withhold_data(self, seat, nation, decision, note, t_s) -> Entry:
        partner, cls = self._partner(nation, decision), self._data_class(decision)
        return self._decision(seat, "withhold_data", f"{seat} withheld {cls} data from {partner}"
                              + (f": {note}" if note else ""), t_s,
                              {"partner": partner, "data": cls, "note": note}, decision, audience=(partner,))

    def _answer_inject(self, seat, nation, decision, note, t_s) -> Entry:
        number = decision.get("inject")
        got = [e for e in self.entries if e.kind == "inject" and e.data.get("number") == number
               and seat in e.audience]
        if not got:
            raise Refused(f"inject {number!r} was not sent to {seat}")
        if not note:
            raise Refused("write the answer in the note")
        return self._decision(seat, "answer_inject", f"{seat} answered inject {number}: {note}", t_s,
                              {"note": note}, decision)

    def _note(self, seat, nation, decision, note, t_s) -> Entry:
        if not note:
            raise Refused("empty note")
        return self._decision(seat, "note", f"{seat}: {note}", t_s, {"note": note}, decision)

    def _controller_decision(self, action, decision: dict, t_s: float) -> Entry:
        if action == "improvement":
            row = {k: str(decision.get(k) or "")[:NOTE_MAX] for k in
                   ("issue", "corrective_action", "capability", "responsible", "due")}
            if not row["issue"] or not row["corrective_action"]:
                raise Refused("an improvement-plan row needs an issue and a corrective action")
            if row["responsible"] not in self.plan.nations:
                raise Refused(f"responsible must be one of {', '.join(self.plan.nations)}")
            self.improvements.append(row)
            return self._log(t_s, "control", CONTROLLER, f"improvement plan: {row['issue']} -> "
                             f"{row['corrective_action']} ({row['responsible']}, due {row['due'] or '-'})", (),
                             {"action": "improvement", **row})
        if action == "rate":
            oid, rating = decision.get("objective"), decision.get("rating")
            if oid not in {o.id for o in self.plan.objectives}:
                raise Refused(f"no objective {oid!r}")
            if rating not in RATINGS:
                raise Refused(f"rating must be one of {', '.join(RATINGS)}")
            self.ratings[oid] = {"rating": rating, "note": str(decision.get("note") or "")[:NOTE_MAX]}
            return self._log(t_s, "control", CONTROLLER, f"rated {oid}: {rating} ({RATINGS[rating]})", (),
                             {"action": "rate", "objective": oid, "rating": rating})
        raise Refused(f"unknown controller action {action!r}; one of {', '.join(CONTROLLER_ACTIONS)}")

    # ----------------------------------------------------------------------------------------- nuclear

    def _detonate(self, t_s: float) -> None:
        """The stated detonation: the planning zones, the areas they touch, and the issuer nation's
        shelter-in-place / do-not-travel-into-the-plume alerts through its warning machine."""
        from triwarn.tabletop import nuclear

        det = self.plan.detonation
        if self._detonation_done is not None:  # a rewound branch: the alerts stand as issued
            for e in self._detonation_done:
                self._log(t_s, e.kind, e.seat, e.text + " (issued before the rewind)", e.audience, e.data)
            return
        from triwarn.geo.areas import AreaIndex

        z = nuclear.zones(det)
        affected = nuclear.affected_areas(z, AreaIndex.load())
        t = self.plan.t0_unix_s + det.at_s
        ids = []
        for state, machine in (("shelter", self.nuclear_machines), ("caution", self.caution_machines)):
            if not affected[state]:
                continue
            for m in machine[det.issuer].step(nuclear.warn_inputs(det, self.plan.t0_unix_s, affected[state]), t):
                self.caps.append((m.identifier, nuclear.nuclear_cap(m, det, t, state)))
                ids.append(m.identifier)
        zone_data = {"severe_m": z.severe_m, "moderate_m": z.moderate_m, "light_m": z.light_m,
                     "fallout_length_m": z.fallout.downwind_m, "fallout_width_m": z.fallout.max_width_m,
                     "fallout_gz_width_m": z.fallout.gz_width_m, "caution_length_m": z.caution.downwind_m,
                     "wind_to_deg": z.wind_to_deg, "affected": affected, "messages": ids,
                     "yield_kt": det.yield_kt, "lat_deg": det.lat_deg, "lon_deg": det.lon_deg}
        everyone = tuple(self.plan.nations)
        e1 = self._log(t_s, "system", det.issuer,
                       f"nuclear detonation (exercise) {det.yield_kt:g} kt at {det.lat_deg:.2f}, {det.lon_deg:.2f}: "
                       f"damage zones {z.severe_m / 1000:.2f} / {z.moderate_m / 1000:.2f} / {z.light_m / 1000:.2f} km, "
                       f"fallout footprint {z.fallout_length_m / 1000:.0f} km toward {z.wind_to_deg:.0f} deg",
                       everyone, {"event": "detonation", **zone_data})
        shelter, caution = affected["shelter"], affected["caution"]
        e2 = self._log(t_s, "system", det.issuer,
                       f"{det.issuer.upper()} issued shelter-in-place for {', '.join(shelter) or 'no area'}"
                       + (f"; do not travel into the plume for {', '.join(caution)}" if caution else "")
                       + (f" ({', '.join(ids)})" if ids else ""), everyone,
                       {"event": "warning", "messages": ids, "shelter": shelter, "caution": caution})
        self._detonation_done = [e1, e2]


def _system_words(inj: Inject) -> str:
    s = inj.system
    if s.kind == "launch":
        return f"launch {s.subject} like {s.like}" + "".join(f", {k} {v:g}" for k, v in s.overrides)
    what = "sensor" if s.kind == "sensor_down" else "link of"
    return f"{what} {s.subject} down for {s.duration_s:g} s"


def _safe(decision: dict) -> dict:
    """What a refused request asked, bounded for the log."""
    out = {}
    for k, v in list(decision.items())[:12]:
        out[str(k)[:40]] = v if isinstance(v, int | float | bool) or v is None else str(v)[:200]
    return out
