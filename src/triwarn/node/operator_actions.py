"""Operator actions on a node: cancelling or correcting an issued alert, queued and taken at the node's
next step.

    desk = OperatorDesk(node)                                   # NodeRunner holds one
    desk.request(OperatorCancel("jp.r1.1", "operator_error", "aiko", note="wrong track"), on_done=audit_it)
    desk.request(OperatorCorrect("jp.r1.2", "false_detection", "aiko", remove=("JP-03",), add=("JP-05",)))
    result, n = desk.apply(t, result, sender)                    # NodeRunner.finish, at the next step

A request is checked at once (a known reason of triwarn.records.warnings.ERROR_REASONS, an incident that
has issued something and is still open, areas that can be removed or added, nothing else queued for the
incident): InputError otherwise, so the console can say why. The messages are built at the next step by
the warning machine (WarningMachine.cancel: one Cancel; WarningMachine.correct: one message per state),
at the step's clock time, and join that step's result like any warning the step issued: CAP documents
(all languages), CoT area events, the sink's files and feed, the picture (on_step) and, when the node shares, a signed
WarningState per message for the partners. Taking actions at a step, never between, keeps lockstep runs
(exercises, the demo) deterministic: the same actions at the same steps give the same messages.

Every action ends issued or failed (why: e.g. the incident closed on its own before the step); on_done,
given with the request, is called with the outcome then (the console writes it to the audit log).

With a journal (`attach_journal`, triwarn.node.journal: the CLI node's OUT/state/corrections.jsonl) the
corrections outlive the process: at attach the journal's standing records go to the warning machine
(WarningMachine.restore), and after every step the desk appends each issued action and every change of
the machine's standing corrections (WarningMachine.corrections), fsynced. A write that fails (a full
disk) is logged and counted (journal_errors) and retried at the next step; the node keeps warning.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar

from triwarn.errors import InputError
from triwarn.records.warnings import ERROR_REASONS, WarningMessage
from triwarn.share.schema import WarningState
from triwarn.warn import cap, cot

log = logging.getLogger(__name__)

NOTE_MAX_CHARS = 500
OUTCOMES_KEPT = 200
AREAS_MAX = 64  # areas one correction may name (a nation has fewer)


@dataclass(frozen=True)
class OperatorCancel:
    """Cancel an incident's alerts: its name, one of ERROR_REASONS, who asked (and who confirmed, when a
    second operator must), an optional note for the CAP <note>."""

    kind: ClassVar[str] = "cancel"
    incident: str
    reason: str
    user: str
    note: str | None = None
    confirmed_by: str | None = None


@dataclass(frozen=True)
class OperatorCorrect:
    """Correct an incident's alert: areas alerted in error (remove: they get the error text for reason,
    one of ERROR_REASONS, and stay suppressed on the same evidence) and areas it missed (add: shelter).
    Who asked, who confirmed, an optional note, as for OperatorCancel."""

    kind: ClassVar[str] = "correct"
    incident: str
    reason: str
    user: str
    remove: tuple[str, ...] = ()
    add: tuple[str, ...] = ()
    note: str | None = None
    confirmed_by: str | None = None


OperatorAction = OperatorCancel | OperatorCorrect
OnDone = Callable[["ActionOutcome"], None]


@dataclass
class ActionOutcome:
    """What became of an action: queued, then issued (the CAP identifiers of its messages, the last in
    cap_identifier, and the step time) or failed (why: e.g. the incident closed on its own before the
    step). on_done is called once it is issued or failed."""

    action: OperatorAction
    state: str = "queued"
    t_unix_s: float | None = None
    cap_identifier: str | None = None
    error: str | None = None
    cap_identifiers: tuple[str, ...] = ()
    on_done: OnDone | None = field(default=None, repr=False, compare=False)

    def done(self, state: str, *, error: str | None = None, identifiers: tuple[str, ...] = ()) -> None:
        self.state, self.error, self.cap_identifiers = state, error, identifiers
        self.cap_identifier = identifiers[-1] if identifiers else None
        if self.on_done is not None:
            try:
                self.on_done(self)
            except Exception:  # a failing listener (the audit log) must never stop the step
                log.exception("operator action outcome listener failed")


def partner_status(msg: WarningMessage) -> str:
    """The WarningState status the partners get for one message (one state per message)."""
    if msg.msg_type == "Cancel" or (msg.areas and all(a.state == "error" for a in msg.areas)):
        return "cancelled"
    if msg.areas and all(a.state == "clear" for a in msg.areas):
        return "all_clear"
    return "issued" if msg.msg_type == "Alert" else "updated"


def clean_note(note: str | None) -> str | None:
    """The note as CAP will carry it: control characters out, whitespace folded, at most NOTE_MAX_CHARS."""
    if note is None:
        return None
    text = " ".join("".join(c if c.isprintable() else " " for c in note).split())
    if len(text) > NOTE_MAX_CHARS:
        raise InputError(f"a note has at most {NOTE_MAX_CHARS} characters, got {len(text)}", field="note")
    return text or None


class OperatorDesk:
    """The operator actions of one node (see the module docstring)."""

    def __init__(self, node) -> None:
        self.node = node
        self._queue: list[ActionOutcome] = []
        self._lock = threading.Lock()  # requests come from the HTTP side, steps may run in a worker thread
        self.outcomes: deque[ActionOutcome] = deque(maxlen=OUTCOMES_KEPT)
        self.journal = None  # triwarn.node.journal.CorrectionJournal, when attached
        self.journal_errors = 0
        self._journaled: dict[tuple, object] = {}  # key -> CorrectionRecord, as the journal holds them
        self._unwritten: list[tuple[float, OperatorAction, tuple[str, ...]]] = []

    def attach_journal(self, journal, now_unix_s: float) -> list[str]:
        """Restore the corrections the journal holds into the node's warning machine (those not expired
        at now_unix_s) and keep the journal from now on. Returns the journal's unreadable lines, each
        naming its line and field (they are skipped; the rest is restored); OSError if it cannot be read."""
        loaded = journal.load()
        self.node.warner.restore(loaded.records, now_unix_s)
        self.journal = journal
        self._journaled = {r.key: r for r in loaded.records}
        self._sync(now_unix_s)  # the expired ones end now
        return loaded.errors

    def _sync(self, t_unix_s: float) -> None:
        """Append the issued actions and the changes of the machine's standing corrections."""
        if self.journal is None:
            return
        current = {r.key: r for r in self.node.warner.corrections()}
        changed = [r for k, r in current.items() if self._journaled.get(k) != r]
        gone = [k for k in self._journaled if k not in current]
        if not (changed or gone or self._unwritten):
            return
        lifted = {(x.incident, x.code): x.why for x in self.node.warner.lifted}
        ended = [(k, lifted.get((k[2], k[3]), "no longer standing (bound, cleared or the incident is over)"))
                 for k in gone]
        try:
            for t, action, identifiers in self._unwritten:
                self.journal.write_action(t, action, identifiers)
            self._unwritten = []
            self.journal.write_changes(t_unix_s, changed, ended)
        except OSError as exc:  # kept in memory, written at the next step that can
            self.journal_errors += 1
            log.error("cannot write the corrections journal %s: %s", self.journal.path, exc)
            return
        self._journaled = current

    def cancellable(self) -> list[str]:
        """Incidents that issued something and are still open: what an operator may cancel now."""
        return [i.name for i in list(self.node.warner.incidents) if i.thread and not i.closed]

    def correctable(self) -> list[dict]:
        """The incidents an operator may correct now, each with its areas' states ({code: state}), the
        areas the operator removed that stay suppressed, and the suppressions a material change lifted."""
        warner = self.node.warner
        out = []
        for inc in list(warner.incidents):
            if not inc.thread or inc.closed:
                continue
            out.append({"incident": inc.name,
                        "areas": {c: a.state for c, a in sorted(inc.areas.items())},
                        "suppressed": warner.suppressed_areas(inc.name),
                        "lifted": [{"area": x.code, "t_unix_s": x.t_unix_s, "why": x.why}
                                   for x in warner.lifted if x.incident == inc.name][-5:]})
        return out

    def check(self, action: OperatorAction) -> OperatorAction:
        """The action as it will be queued (note cleaned); InputError (field and why) when it cannot be
        taken now."""
        if action.reason not in ERROR_REASONS:
            raise InputError(f"unknown reason {action.reason!r}; one of {', '.join(ERROR_REASONS)}", field="reason")
        if action.incident not in self.cancellable():
            known = self.cancellable()
            raise InputError(f"no open incident {action.incident!r} that issued an alert"
                             + (f" (open: {', '.join(known)})" if known else " (none open)"), field="incident")
        if isinstance(action, OperatorCorrect):
            for name in ("remove", "add"):
                codes = getattr(action, name)
                if not isinstance(codes, tuple) or len(codes) > AREAS_MAX or not all(
                        isinstance(c, str) and 0 < len(c) <= 16 for c in codes):
                    raise InputError(f"{name}: at most {AREAS_MAX} area codes", field=name)
            self.node.warner.check_correction(action.incident, action.remove, action.add, action.reason)
        return replace(action, note=clean_note(action.note))

    def request(self, action: OperatorAction, on_done: OnDone | None = None) -> ActionOutcome:
        """Queue an action for the next step; InputError (field and why) when it cannot be taken. on_done
        is called with the outcome when the action is issued or has failed."""
        outcome = ActionOutcome(self.check(action), on_done=on_done)
        with self._lock:
            queued = next((q for q in self._queue if q.action.incident == action.incident), None)
            if queued is not None:
                raise InputError(f"a {queued.action.kind} of {action.incident!r} is already queued", field="incident")
            self._queue.append(outcome)
            self.outcomes.append(outcome)
        return outcome

    def pending(self) -> int:
        return len(self._queue)

    def apply(self, t_unix_s: float, result, sender=None):
        """The step result with the queued actions' messages added (warnings, CAP documents, and a sealed
        WarningState per message when sender is given). Returns (result, number of messages issued)."""
        with self._lock:
            queue, self._queue = self._queue, []
        if not queue:
            self._sync(t_unix_s)
            return result, 0
        node = self.node
        warnings: list[WarningMessage] = []
        docs: list[tuple[WarningMessage, bytes]] = []
        cot_docs: list[bytes] = []
        outgoing = []
        polygons = node.areas.cap_polygons if node.areas is not None else None
        for outcome in queue:
            a = outcome.action
            outcome.t_unix_s = t_unix_s
            try:
                if isinstance(a, OperatorCorrect):
                    msgs = node.warner.correct(a.incident, t_unix_s, remove=a.remove, add=a.add, reason=a.reason,
                                               note=a.note, exercise=node.settings.exercise)
                else:
                    msgs = [node.warner.cancel(a.incident, a.reason, t_unix_s, note=a.note,
                                               exercise=node.settings.exercise)]
            except InputError as exc:  # e.g. the incident closed, or the area cleared, before this step
                outcome.done("failed", error=exc.reason)
                continue
            profile = node.settings.cap_profile
            docs.extend((msg, cap.to_cap(msg, cap_polygons=polygons, profile=profile)) for msg in msgs)
            for msg in msgs:  # the area shapes change colour in CoT clients too
                cot_docs.extend(cot.message_events(msg))
            node.issued.extend(msgs)
            warnings.extend(msgs)
            for msg in msgs:
                if sender is not None:
                    sealed = sender.seal(WarningState, t_unix_s, cap_identifier=msg.identifier,
                                         status=partner_status(msg), areas=[w.code for w in msg.areas])
                    if sealed.subjects:
                        outgoing.append(sealed)
            outcome.done("issued", identifiers=tuple(m.identifier for m in msgs))
            if self.journal is not None:
                self._unwritten.append((t_unix_s, a, tuple(m.identifier for m in msgs)))
        self._sync(t_unix_s)
        if not warnings:
            return result, 0
        result = replace(result, warnings=[*result.warnings, *warnings], cap_xml=[*result.cap_xml, *docs],
                         cot_xml=[*result.cot_xml, *cot_docs], outgoing=[*result.outgoing, *outgoing])
        return result, len(warnings)
