"""The public-warning state machine: incidents' areas through shelter, notice, passed, clear and error,
and the messages (Alert, Update, Cancel) that tell people.

Pure: `WarningMachine.step(records, now_unix_s)` takes the assessment's records (triwarn.records.events:
LaunchEvent, ImpactPrediction, AreaRisk) and observed track positions (TrackObservation) and returns the
warning messages to issue at that clock time; it does no I/O and reads no clock, so the same code runs
live, in exercises faster than real time, and in tests. A node passes its assessment's records as they
are; files of event dicts go through triwarn.warn.reader first. Trust flags (records.events.Flag):
short_track, separated_piece, implausible_state (such an area_risk is ignored), areas_held, cutoff_path
(a boosting track's cut-off path: trusted, unlike the rest of its corridor).

Decisions, per area (see docs/warnings.md for the reasoning):
  - shelter when the territory risk reaches ``on_probability`` (and neighbours, if configured);
  - notice (not shelter) when only the EEZ is at risk of impact;
  - passed only when every track still threatening the area is observed alive and past it (a
    separated piece flying over an area already warned counts too; it never warns one);
  - all-clear when the object is beyond, has landed, or is lost and its flight is certainly over, or
    when the risk has stayed below ``off_probability`` after the minimum hold time;
  - error (Cancel, or an Update that retracts those areas) when the only tracks that ever put the area
    at risk are discredited: a short track, now lost, of a piece whose newer, live companion track
    disagrees; or by an operator call: `cancel` (the whole incident) or `correct` (areas removed, kept
    from re-alerting on the same evidence, and areas added: triwarn.warn.correction).
Incidents and tracks: triwarn.warn.incident; how an area leaves (passed, clear, error) and the decisive
let-go of a wrong boost-phase alert: triwarn.warn.letgo; passage geometry: triwarn.warn.geometry; thresholds and
the issuer: triwarn.warn.policy. With declared hazard zones in the policy (a notified launch), falls at
sea are told per falling object instead of per area, each against the zones: triwarn.warn.fall_notice.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

from triwarn.errors import InputError
from triwarn.geo.areas_names import AREA_NAMES
from triwarn.records.events import ObjectRole, WarnInput
from triwarn.records.warnings import (
    ACTIVE_STATES,
    ERROR_REASONS,
    AreaWarning,
    ImpactSummary,
    MsgType,
    Reference,
    WarningMessage,
)
from triwarn.warn import correction, profiles
from triwarn.warn.correction import CorrectionRecord, Lifted, Suppression, material_change
from triwarn.warn.fall_notice import SEA_SUFFIX, PieceFall, SeaReach, ToldFall, piece_fall, same_fall, trustworthy
from triwarn.warn.geometry import AreaGeometry, Passage
from triwarn.warn.incident import Incident, IncidentArea, IncidentBook
from triwarn.warn.letgo import LetGo, leave, passing
from triwarn.warn.policy import Issuer, WarnPolicy
from triwarn.warn.profiles import Profile

# One decision per message (a gateway shows one headline). The messages of one step go out in this
# order, so that the standing warnings come last and the shelter order is the thread's latest word.
MESSAGE_ORDER = ("error", "clear", "passed", "notice", "shelter")
# States whose new message also supersedes the same state's message it replaces in that step (an added
# area's shelter order updates the removed one's), so that it is an Update, not a second Alert.
CUMULATIVE_STATES = ("shelter", "notice")
LIFTED_KEPT = 100  # lifted suppressions remembered for the console


class WarningMachine:
    """One issuer's incidents and their warning threads.

    run_id must differ between runs of the same sender (the edge makes one with `new_run_id`), so that
    identifiers stay unique across restarts: identifier = sender.run_id.incident.sequence.

    profile: the dissemination profile (triwarn.warn.profiles), by default the one configured for the
    issuer's nation; area_codes: the areas it may warn for (by default every area of that nation). A
    profile that cannot address one of them (no SAME code on the IPAWS channel) is refused here with
    InputError naming the area.
    """

    def __init__(
        self,
        issuer: Issuer,
        run_id: str,
        *,
        policy: WarnPolicy | None = None,
        area_geometry: AreaGeometry | None = None,
        profile: Profile | None = None,
        area_codes: Iterable[str] | None = None,
    ) -> None:
        if not run_id or any(c in run_id for c in " ,<&.\t\n"):
            raise InputError(
                f"run_id {run_id!r} must be non-empty, without spaces, commas, dots, < or &", field="run_id"
            )
        self.issuer = issuer
        self.profile = profile or profiles.profile_for_sender(issuer.sender)
        nation = profiles.nation_of_sender(issuer.sender)
        if area_codes is None and nation is not None:
            # The node warns for its own nation's areas: every one the area dataset names.
            area_codes = [c for c in AREA_NAMES if c.startswith(nation.upper() + "-")]
        self.area_codes = tuple(area_codes or ())
        profiles.check_areas(self.profile, self.area_codes)  # refused now, never when an alert is due
        self.run_id = run_id
        self.policy = policy or WarnPolicy()
        self.book = IncidentBook(run_id, self.policy)
        self.passage = Passage(area_geometry)
        self._area_geometry = area_geometry or (lambda code: None)
        self._reach: SeaReach | None = None  # built at the first fall to judge (warn.fall_notice)
        self._told: dict[str, list[ToldFall]] = {}  # per incident, the falls its standing notices tell
        self._judged: dict[tuple[str, str], float] = {}  # (incident, track) -> the prediction judged last (t)
        self._issued: set[str] = set()
        # Operator corrections (triwarn.warn.correction): removed areas kept from re-alerting on the same
        # evidence, keyed (incident, area); added areas kept from the low-risk clear.
        self.suppressed: dict[tuple[str, str], Suppression] = {}
        self.lifted: deque[Lifted] = deque(maxlen=LIFTED_KEPT)
        self.pinned: set[tuple[str, str]] = set()
        # Corrections bound to no open incident (a Cancel's areas, a journal's from an earlier run: `restore`),
        # and per corrected incident what binds its corrections elsewhere: (anchors, credited tracks, since).
        self.carried: list[CorrectionRecord] = []
        self._identity: dict[str, tuple[tuple, frozenset[str], float]] = {}
        # Per incident, the messages no later message has superseded, with the state and the areas each
        # names: what a CAP consumer holds (an area is named by at most one of them).
        self._standing: dict[str, dict[Reference, tuple[str, frozenset[str]]]] = {}
        self.letgo = LetGo(self)  # the decisive let-go of a wrong boost-phase alert (triwarn.warn.letgo)

    # -------------------------------------------------------------------------------------- public API

    @property
    def incidents(self) -> list[Incident]:
        return self.book.incidents

    def step(self, events: Iterable[WarnInput], now_unix_s: float) -> list[WarningMessage]:
        """Take the records that arrived since the last step and return the messages to issue now.

        Records only (triwarn.records.events): event dicts from files go through triwarn.warn.reader,
        which checks them and refuses input of the other mode.
        """
        records = list(events)
        for rec in records:
            if not isinstance(rec, WarnInput):
                raise TypeError(f"WarningMachine.step takes records, got {type(rec).__name__} "
                                "(event dicts go through triwarn.warn.reader)")
        for rec in sorted(records, key=lambda r: r.t):
            self.letgo.observe(rec)
            self.book.apply(rec)
        out: list[WarningMessage] = []
        for inc in self.incidents:
            if not inc.closed:
                out.extend(self._evaluate(inc, now_unix_s))
        if self._told or self._judged:  # a closed incident's falls are over
            open_names = {i.name for i in self.incidents if not i.closed}
            self._told = {k: v for k, v in self._told.items() if k in open_names}
            self._judged = {k: v for k, v in self._judged.items() if k[0] in open_names}
        if len(self.letgo.evidence) > 64:  # a closed incident's tracks are over
            self.letgo.forget({t for i in self.incidents if not i.closed for t in i.tracks})
        if self.suppressed or self.pinned or self.carried:  # a closed incident's corrections are over
            open_names = {i.name for i in self.incidents if not i.closed}
            self.suppressed = {k: v for k, v in self.suppressed.items() if k[0] in open_names}
            self.pinned = {k for k in self.pinned if k[0] in open_names}
            self._identity = {k: v for k, v in self._identity.items() if k in open_names}
            self.carried = [r for r in self.carried if not correction.expired(r, now_unix_s)]
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
        # Every warned area is held against the same evidence, carried to the incident its tracks open next.
        terr, eez = self._current_risk(inc, now_unix_s)
        self._remember(inc, now_unix_s)
        for code, area in sorted(inc.areas.items()):
            if area.state in ACTIVE_STATES:
                self.suppressed[(inc.name, code)] = Suppression(inc.name, code, reason, now_unix_s,
                                                                *correction.removal(area, terr, eez))
        self.carried += [self._record(n, c, self.suppressed.pop((n, c))) for n, c in sorted(self.suppressed)
                         if n == inc.name]
        for area in inc.areas.values():
            area.state, area.reason = "error", reason
        msg = self._message(inc, now_unix_s, cancel_reason=reason, note=note)
        inc.closed = True
        return msg

    def correct(
        self,
        incident: str,
        now_unix_s: float,
        *,
        remove: Iterable[str] = (),
        add: Iterable[str] = (),
        reason: str = "operator_error",
        note: str | None = None,
        exercise: str | None = None,
    ) -> list[WarningMessage]:
        """Operator call: correct an open incident's alert. Returns the messages to issue, one per state.

        remove: areas now warned (shelter, notice, passed) that were alerted in error: they go to error with
        reason (one of ERROR_REASONS) and stay suppressed for this incident until their risk materially
        changes (triwarn.warn.correction). add: areas of this issuer the alert missed: they get the shelter
        order and are pinned against the low-risk clear. The messages are those of any change: the removed
        areas' error Update, then every standing state again (a Cancel when no area is left standing and
        every area is in error). note goes to every message's <note>. InputError names what cannot be done.
        """
        self.issuer.admit(exercise)
        inc, remove, add = self.check_correction(incident, remove, add, reason)
        now = now_unix_s
        terr, eez = self._current_risk(inc, now)
        self._remember(inc, now)
        credited = {t.track_id for t in inc.tracks.values() if not t.discredited}
        for code in remove:
            area = inc.areas[code]
            self.suppressed[(inc.name, code)] = Suppression(inc.name, code, reason, now,
                                                            *correction.removal(area, terr, eez))
            self.pinned.discard((inc.name, code))
            area.state, area.reason, area.passing = "error", reason, set()
        for code in add:
            self.suppressed.pop((inc.name, code), None)
            p, kind, enter, _sup = terr.get(code, (0.0, "impact", None, set()))
            inc.areas[code] = IncidentArea(code, "shelter", kind or "impact", p, enter, now, None, set(credited))
            self.pinned.add((inc.name, code))
        return self._messages(inc, now, set(remove) | set(add), note=note)

    def check_correction(self, incident: str, remove: Iterable[str], add: Iterable[str],
                         reason: str) -> tuple[Incident, list[str], list[str]]:
        """What correct would do, checked without doing it: (incident, areas removed, areas added), sorted;
        InputError (field and why) when it cannot be done."""
        if reason not in ERROR_REASONS:
            raise InputError(f"unknown reason {reason!r}; one of {', '.join(ERROR_REASONS)}", field="reason")
        remove, add = sorted(set(remove)), sorted(set(add))
        inc = next((i for i in self.incidents if i.name == incident), None)
        if inc is None or inc.closed:
            raise InputError(f"no open incident {incident!r}", field="incident")
        if not inc.thread:
            raise InputError(f"incident {incident!r} has issued nothing to correct", field="incident")
        if not remove and not add:
            raise InputError("a correction removes or adds at least one area", field="remove")
        both = set(remove) & set(add)
        if both:
            raise InputError(f"area {sorted(both)[0]} is both removed and added", field="add")
        for code in remove:
            area = inc.areas.get(code)
            if area is None or area.state not in ACTIVE_STATES:
                raise InputError(f"area {code!r} is not warned in {incident}"
                                 + (f" (it is {area.state})" if area is not None else ""), field="remove")
        mine = self.area_codes or tuple(AREA_NAMES)
        for code in add:
            if code not in mine:
                raise InputError(f"area {code!r} is not one of this issuer's areas", field="add")
            area = inc.areas.get(code)
            if area is not None and area.state in ACTIVE_STATES:
                raise InputError(f"area {code!r} is already warned in {incident} ({area.state})", field="add")
        return inc, remove, add

    def corrections(self) -> list[CorrectionRecord]:
        """The standing corrections as records (what a node's journal keeps; `restore` takes them back)."""
        return [*self.carried, *(self._record(n, c, s) for (n, c), s in sorted(self.suppressed.items())),
                *(self._record(n, c, None) for n, c in sorted(self.pinned))]

    def restore(self, records: Iterable[CorrectionRecord], now_unix_s: float) -> int:
        """Take back an earlier run's corrections (a journal's): carried until one binds to an open incident
        about the same object (triwarn.warn.correction) or expires. Returns how many were taken."""
        fresh = [r for r in records if r.kind in ("suppress", "pin") and not correction.expired(r, now_unix_s)]
        self.carried.extend(fresh)
        return len(fresh)

    def suppressed_areas(self, incident: str) -> list[str]:
        """The areas an operator removed from the incident that stay suppressed (triwarn.warn.correction)."""
        return sorted(code for (name, code) in self.suppressed if name == incident)

    def incident_names(self) -> list[str]:
        return [i.name for i in self.incidents]

    # -------------------------------------------------------------------------------------- decisions

    def _evaluate(self, inc: Incident, now: float) -> list[WarningMessage]:
        """The incident's messages at now: one per state that some area entered (one decision per
        message, MESSAGE_ORDER), or, when nothing changed and a warning stands, a refresh of each active
        state once refresh_s has passed since the last message."""
        pol = self.policy
        self.book.discredit(inc, now)
        self.book.continue_lost(inc, now)
        self._release_held(inc)
        if pol.decisive_letgo:
            self.letgo.release_short(inc, now)
        terr, eez = self._current_risk(inc, now)
        rebound = self._bind_carried(inc, terr, eez, now) if self.carried else set()
        terr, eez = self._suppress(inc, terr, eez, now)
        falls: list[WarningMessage] = []
        if pol.hazard_notice is not None:  # a notified launch: falls at sea are told per object
            falls, eez = self._falls(inc, now), {}
        over = passing(self, inc, now)
        changed: set[str] = set(rebound)
        for code in sorted(set(terr) | set(eez) | set(inc.areas)):
            p, kind, enter, sup = terr.get(code, (0.0, "", None, set()))
            pe, enter_e, sup_e = eez.get(code, (0.0, None, set()))
            area = inc.areas.get(code)
            before = None if area is None else (area.state, area.reason)
            if p >= pol.on_probability:
                if area is None or area.state in ("clear", "notice", "error"):
                    area = inc.areas[code] = IncidentArea(code, "shelter", kind, p, enter, now, None, set(sup))
                else:
                    area.support |= sup
                    if area.state == "shelter":
                        area.probability, area.kind, area.enter_time_unix_s = p, kind, enter
            elif pe >= pol.notice_on_probability and (area is None or area.state in ("clear", "error")):
                area = inc.areas[code] = IncidentArea(code, "notice", "impact", pe, enter_e, now, None, set(sup_e))
            elif area is not None and area.state == "notice" and pe >= pol.off_probability:
                area.probability = pe
                area.support |= sup_e
            if area is None:
                continue
            area.passing = over.get(code, set()) if area.state in ("shelter", "passed") else set()
            area.support |= area.passing
            if area.state in ACTIVE_STATES:
                leave(self, inc, area, pe if area.state == "notice" else p, now)
            if (area.state, area.reason) != before:
                changed.add(code)
        active = any(a.state in ACTIVE_STATES for a in inc.areas.values())
        if not inc.areas:
            return falls
        note = self.letgo.note(inc)  # why areas were let go decisively this step (triwarn.warn.letgo)
        if changed:
            if not inc.thread and not active:
                return []
            if note is not None and not active and not self._told.get(inc.name) and self.letgo.all_wrong(inc):
                # Nothing of the thread was true: a Cancel, its areas all-cleared with the explanation.
                why = {a.reason for a in inc.areas.values() if a.state == "clear"}
                why_one = why.pop() if len(why) == 1 else "no_longer_at_risk"
                return [*falls, self._message(inc, now, cancel_reason=why_one, note=note)]
            msgs = self._messages(inc, now, changed, note=note)
        elif active and inc.last_sent_t is not None and now - inc.last_sent_t >= pol.refresh_s:
            msgs = self._messages(inc, now, set())
        else:
            msgs = []
        tracks_over = bool(inc.tracks) and all(
            self.book.flight_over(t, now) or t.discredited or self.book.is_lost(t, now) for t in inc.tracks.values()
        )
        if not active and tracks_over:
            inc.closed = True
        # The fall notices go before the step's shelter orders (MESSAGE_ORDER: notice, then shelter).
        k = next((i for i, m in enumerate(msgs) if m.areas and m.areas[0].state == "shelter"), len(msgs))
        return msgs[:k] + falls + msgs[k:]

    def _falls(self, inc: Incident, now: float) -> list[WarningMessage]:
        """The notices of falls at sea due now, one per falling object (triwarn.warn.fall_notice): a new
        fall's is an Alert, a told fall whose point moved by fall_notice_moved_m or whose zone verdict
        changed gets an Update superseding its notice."""
        pol = self.policy
        if self._reach is None:
            self._reach = SeaReach(self.area_codes or tuple(AREA_NAMES), self._area_geometry)
        told = self._told.setdefault(inc.name, [])
        out: list[WarningMessage] = []
        for trk in list(inc.tracks.values()):
            imp = trk.impact
            if imp is None or trk.discredited or not trustworthy(
                    imp, trk.last_t - trk.first_t, min_quality=pol.min_quality, min_seen_s=pol.short_track_s):
                continue
            if now >= imp.time_unix_s or self.book.object_down(inc, trk, now):
                continue  # down already: a notice now tells nobody anything
            if self._judged.get((inc.name, trk.track_id)) == imp.t:
                continue  # this very prediction was judged at an earlier step
            self._judged[(inc.name, trk.track_id)] = imp.t
            near = self._reach.nearest(imp.lat_deg, imp.lon_deg)
            if near is None or near[1] == 0.0 or near[1] * 1e3 > pol.fall_notice_within_m:
                continue  # on land or territorial sea (a shelter matter), or far from the issuer's waters
            fall = piece_fall(imp, trk.track_id, near, pol.hazard_notice)
            prev = next((f for f in told if same_fall(f, fall, pol.fall_notice_moved_m)), None)
            if prev is not None and prev.verdict == fall.verdict:
                continue
            prev = prev or next((f for f in told if f.track == trk.track_id), None)
            msg = self._fall_message(inc, now, fall, () if prev is None else (prev.reference,))
            if prev is not None:
                told.remove(prev)
            told.append(ToldFall(trk.track_id, fall.lat_deg, fall.lon_deg, fall.time_unix_s, fall.verdict,
                                 msg.reference))
            out.append(msg)
        return out

    def _fall_message(self, inc: Incident, now: float, fall: PieceFall,
                      refs: tuple[Reference, ...]) -> WarningMessage:
        """One fall's notice: aimed at the sea round its point, named after the nearest area plus
        SEA_SUFFIX (never the area itself, whose own state may be shelter), superseding refs."""
        area = AreaWarning(code=fall.near_area + SEA_SUFFIX, state="notice", kind="impact",
                           probability=fall.confidence, enter_time_unix_s=fall.time_unix_s)
        sent = float(math.floor(now))
        msg = WarningMessage(sender=self.issuer.sender, identifier=self._next_identifier(inc), incident=inc.name,
                             sent_unix_s=sent, msg_type="Update" if refs else "Alert", references=refs,
                             areas=(area,), expires_unix_s=sent + self.policy.expires_s,
                             exercise=self.issuer.exercise, launch=inc.launch, impact=fall)
        inc.thread.append(msg.reference)
        return msg

    def _next_identifier(self, inc: Incident) -> str:
        inc.seq += 1
        identifier = f"{self.issuer.sender}.{inc.name}.{inc.seq:03d}"
        if identifier in self._issued:  # cannot happen with a fresh run_id; never issue a duplicate
            raise RuntimeError(f"identifier {identifier} already issued")
        self._issued.add(identifier)
        return identifier

    def _messages(self, inc: Incident, now: float, changed: set[str], *,
                  note: str | None = None) -> list[WarningMessage]:
        """One message per decision, in MESSAGE_ORDER, each superseding only the standing messages that
        named one of its areas (docs/alert-profiles.md, "Message threads").

        The touched areas are the changed ones (every active area on a refresh, changed empty) and the
        active areas of every standing message they were named in (an Update supersedes all of a message,
        so its other areas are restated). An area is thus named again only when an area it was alerted,
        or passed, with changes, not whenever any area of the incident does: an area that joins the
        shelter order later gets a message of its own. When every area of the incident is in
        error, one Cancel for them all."""
        if inc.thread and all(a.state == "error" for a in inc.areas.values()):
            return [self._message(inc, now, note=note)]
        standing = self._standing.setdefault(inc.name, {})
        touched = set(changed) if changed else {c for c, a in inc.areas.items() if a.state in ACTIVE_STATES}
        superseded = {ref for ref, (_s, codes) in standing.items() if codes & touched}
        for ref in superseded:
            touched |= {c for c in standing[ref][1] if c in inc.areas and inc.areas[c].state in ACTIVE_STATES}
        out = []
        for state in MESSAGE_ORDER:
            members = {c for c in touched if c in inc.areas and inc.areas[c].state == state
                       and (state in ACTIVE_STATES or c in changed)}
            if members:
                # It supersedes the messages that named its areas and, for shelter and notice, that
                # state's message superseded in this step (an added area's order updates the removed one's).
                refs = tuple(r for r in inc.thread if r in superseded and (
                    standing[r][1] & members or (state in CUMULATIVE_STATES and standing[r][0] == state)))
                msg = self._message(inc, now, only=members, note=note, refs=refs)
                out.append(msg)
                standing[msg.reference] = (state, frozenset(members))
        for ref in superseded:
            del standing[ref]
        return out

    def _suppress(self, inc: Incident, terr: dict, eez: dict, now: float) -> tuple[dict, dict]:
        """The risks without the areas an operator removed, unless a risk that would alert one again is a
        material change (triwarn.warn.correction): then its suppression lifts, noted in `lifted`."""
        pol = self.policy
        for (name, code), s in list(self.suppressed.items()):
            if name != inc.name:
                continue
            p, _kind, _enter, sup = terr.get(code, (0.0, "", None, set()))
            pe, _enter_e, sup_e = eez.get(code, (0.0, None, set()))
            if p < pol.on_probability and pe < pol.notice_on_probability:
                terr.pop(code, None)  # nothing that would alert it: it stays as the operator left it
                eez.pop(code, None)
                continue
            same = set(s.support)
            same |= {self.book.continuer(inc, inc.tracks[t]).track_id for t in s.support if t in inc.tracks}
            why = material_change(s, max(p, pe), sup | sup_e, same)
            if why is None:
                terr.pop(code, None)
                eez.pop(code, None)
            else:
                del self.suppressed[(name, code)]
                self.lifted.append(Lifted(name, code, now, why))
        return terr, eez

    def _remember(self, inc: Incident, now: float) -> None:
        """What binds the incident's corrections to an incident of another run or another incident."""
        if not self._identity.get(inc.name, ((),))[0]:
            credited = frozenset(t.track_id for t in inc.tracks.values() if not t.discredited)
            self._identity[inc.name] = (correction.anchors_of(inc.launch, self._lead_impact(inc)), credited, now)

    def _record(self, name: str, code: str, s: Suppression | None) -> CorrectionRecord:
        return correction.record_of(self.run_id, name, code, s, self._identity.get(name, ((), frozenset(), 0.0)))

    def _bind_carried(self, inc: Incident, terr: dict, eez: dict, now: float) -> set[str]:
        """The carried corrections about this incident's object bound to it (triwarn.warn.correction):
        a suppression joins `suppressed` (an area warned already goes to error), a pin puts its area in
        shelter, pinned. Returns the areas whose state this changed."""
        credited = {t.track_id for t in inc.tracks.values() if not t.discredited}
        anchors = correction.anchors_of(inc.launch, self._lead_impact(inc))
        changed, keep = set(), []
        for rec in self.carried:
            if not correction.binds(rec, self.run_id, inc.tracks, anchors):
                keep.append(rec)
                continue
            self._remember(inc, now)
            area, key = inc.areas.get(rec.code), (inc.name, rec.code)
            if rec.kind == "pin":
                if area is None or area.state not in ACTIVE_STATES:
                    p, kind, enter, _sup = terr.get(rec.code, (0.0, "impact", None, set()))
                    inc.areas[rec.code] = IncidentArea(rec.code, "shelter", kind or "impact", p, enter, now, None,
                                                       set(credited))
                    changed.add(rec.code)
                self.pinned.add(key)
                continue
            support = set(rec.support) if rec.run_id == self.run_id else (
                terr.get(rec.code, (0.0, "", None, set()))[3] | eez.get(rec.code, (0.0, None, set()))[2] or credited)
            self.suppressed.setdefault(key, Suppression(inc.name, rec.code, rec.reason, rec.since_unix_s,
                                                        rec.probability, set(support)))
            if area is not None and area.state in ACTIVE_STATES and key not in self.pinned:
                area.state, area.reason, area.passing = "error", rec.reason, set()
                changed.add(rec.code)
        self.carried = keep
        return changed

    def _current_risk(self, inc: Incident, now: float):
        """Per area, over the tracks that count: territory (land or territorial sea) probability, its
        kind, entry time and supporting tracks; and EEZ-only impact probability with the same."""
        pol = self.policy
        terr: dict[str, tuple[float, str, float | None, set[str]]] = {}
        eez: dict[str, tuple[float, float | None, set[str]]] = {}
        for trk in inc.tracks.values():
            # A lost track continued by one that has landed has landed too (one object).
            if trk.discredited or self.book.object_down(inc, trk, now):
                continue
            if trk.object == ObjectRole.SEPARATED and (trk.short or trk.last_t - trk.first_t < pol.short_track_s):
                continue  # a piece's fall on land shelters only from a trusted, long track (2023-04-13)
            # A continued track's last cycle is superseded by its continuer's; what its cut-off path
            # put at risk stands until the continuer is seen past it.
            for (code, kind), (p, p_eez, enter) in self.book.risk_view(trk, cycle=trk.continued_by is None).items():
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

    def _release_held(self, inc: Incident) -> None:
        """Drop the cut-off path areas each track (or the live track continuing it) has been seen past."""
        margin = self.policy.pass_margin_m
        for trk in inc.tracks.values():
            if trk.held:
                ref = self.book.continuer(inc, trk)
                for code in [c for c in trk.held if self.passage.seen_past(c, ref, margin)]:
                    del trk.held[code]

    # ---------------------------------------------------------------------------------------- messages

    def _message(
        self, inc: Incident, now: float, *, cancel_reason: str | None = None, note: str | None = None,
        only: set[str] | None = None, refs: tuple[Reference, ...] | None = None,
    ) -> WarningMessage:
        """The incident's next message, for the areas in only (every area when None), superseding refs
        (every earlier message of the thread when None): an Update, or an Alert when it supersedes
        nothing."""
        all_error = all(a.state == "error" for a in inc.areas.values())
        if cancel_reason is None and all_error and inc.thread:
            cancel_reason = next(iter(inc.areas.values())).reason
        if cancel_reason is not None:
            msg_type: MsgType = "Cancel"
        else:
            refs = tuple(inc.thread) if refs is None else refs
            msg_type = "Update" if refs else "Alert"
        identifier = self._next_identifier(inc)
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
                geometry=self.passage.geometry(a.code),
            )
            for a in sorted(inc.areas.values(), key=lambda a: a.code)
            if only is None or a.code in only
        )
        msg = WarningMessage(
            sender=self.issuer.sender,
            identifier=identifier,
            incident=inc.name,
            sent_unix_s=sent,
            msg_type=msg_type,
            references=tuple(inc.thread) if msg_type == "Cancel" else refs,
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
            self._standing.pop(inc.name, None)
            self._told.pop(inc.name, None)
        else:
            inc.thread.append(msg.reference)
        return msg

    @staticmethod
    def _lead_impact(inc: Incident) -> ImpactSummary | None:
        preds = [t.impact for t in inc.tracks.values() if t.impact is not None and not t.discredited]
        if not preds:
            return None
        best = max(preds, key=lambda p: (p.role == ObjectRole.PRIMARY, p.t))
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


__all__ = ["WarningMachine"]
