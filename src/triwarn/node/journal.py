"""The operator-correction journal: what an operator's Cancel or correction left standing survives a
node restart.

An operator's Cancel and correction hold areas against the same evidence and pin added ones
(triwarn.warn.correction). In memory only, a restarted node would alert an area the operator cancelled
again on the very evidence judged false (the Hawaii-2018 class of failure, and worse: after the
correction went out). So the node appends, to OUT/state/corrections.jsonl, one JSON line per event,
flushed and fsynced before the step's outputs go anywhere:

    {"v": 1, "t": T, "event": "action", "kind": "cancel"|"correct", "incident", "reason", "user",
     "confirmed_by", "remove": [...], "add": [...], "note", "identifiers": [...]}        what was issued
    {"v": 1, "t": T, "event": "standing", "record": {kind, run_id, incident, code, reason, since_unix_s,
     probability, support: [...], anchors: [{kind, time_unix_s, lat_deg, lon_deg}]}}  a correction now stands
    {"v": 1, "t": T, "event": "ended", "key": [kind, run_id, incident, code], "why": "..."}  it no longer does

Every line also carries the node's mode, "exercise": its exercise name or null (live). Live and
exercise never meet here either: a node restores only corrections made in its own mode (a live node
started on a folder an exercise used restores none of the exercise's, and says so).

At start-up `load` replays the file: the records standing at its end go to
WarningMachine.restore (the machine binds them to the incident about the same object, or lets them
expire: triwarn.warn.correction). A line that cannot be read (not JSON, a field missing or out of
bounds, too long) is reported, naming the line and the field, and skipped; the rest still loads: a bad
journal never stops a node. Numbers are bounded as at any file edge.

    journal = CorrectionJournal(out_dir / "state" / "corrections.jsonl")
    errors = desk.attach_journal(journal, now_unix_s)      # node.operator_actions.OperatorDesk
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from triwarn.warn.correction import Anchor, CorrectionRecord

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_LINE_BYTES = 64 * 1024
MAX_STANDING = 10_000  # records standing at once (a node has a handful)
JOURNAL_NAME = "corrections.jsonl"

_Text = Annotated[str, msgspec.Meta(max_length=200)]
_Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Time = Annotated[float, msgspec.Meta(ge=0.0, le=1e11)]  # unix seconds, until about year 5100
_Lat = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
_Lon = Annotated[float, msgspec.Meta(ge=-360.0, le=360.0)]


class _Anchor(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["launch", "impact"]
    time_unix_s: _Time
    lat_deg: _Lat
    lon_deg: _Lon


class _Record(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["suppress", "pin"]
    run_id: _Short
    incident: _Short
    code: _Short
    reason: Annotated[str, msgspec.Meta(max_length=64)]
    since_unix_s: _Time
    probability: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
    support: Annotated[list[_Short], msgspec.Meta(max_length=1024)] = []
    anchors: Annotated[list[_Anchor], msgspec.Meta(max_length=4)] = []


class _Line(msgspec.Struct, forbid_unknown_fields=True):
    v: Literal[1]
    t: _Time
    event: Literal["action", "standing", "ended"]
    exercise: _Short | None = None
    record: _Record | None = None
    key: Annotated[list[_Short], msgspec.Meta(min_length=4, max_length=4)] | None = None
    why: _Text | None = None
    # an action's fields (kept for the record; not needed to restore)
    kind: _Short | None = None
    incident: _Short | None = None
    reason: _Short | None = None
    user: _Text | None = None
    confirmed_by: _Text | None = None
    remove: Annotated[list[_Short], msgspec.Meta(max_length=64)] = []
    add: Annotated[list[_Short], msgspec.Meta(max_length=64)] = []
    note: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    identifiers: Annotated[list[_Text], msgspec.Meta(max_length=256)] = []


_decoder = msgspec.json.Decoder(_Line)


def _record(r: _Record) -> CorrectionRecord:
    return CorrectionRecord(r.kind, r.run_id, r.incident, r.code, r.reason, r.since_unix_s, r.probability,
                            tuple(r.support), tuple(Anchor(a.kind, a.time_unix_s, a.lat_deg, a.lon_deg)
                                                    for a in r.anchors))


def record_doc(rec: CorrectionRecord) -> dict:
    return {"kind": rec.kind, "run_id": rec.run_id, "incident": rec.incident, "code": rec.code,
            "reason": rec.reason, "since_unix_s": rec.since_unix_s, "probability": rec.probability,
            "support": list(rec.support),
            "anchors": [{"kind": a.kind, "time_unix_s": a.time_unix_s, "lat_deg": a.lat_deg, "lon_deg": a.lon_deg}
                        for a in rec.anchors]}


@dataclass
class JournalLoad:
    """What a journal held: the records standing at its end, the lines read and the lines skipped, each
    with why ("corrections.jsonl line 7: field record.probability: ...")."""

    records: list[CorrectionRecord] = field(default_factory=list)
    lines: int = 0
    errors: list[str] = field(default_factory=list)


def _field_of(exc: msgspec.ValidationError) -> str:
    text = str(exc)
    return text.rsplit("`$.", 1)[-1].rstrip("`") if "`$." in text else "(the line)"


def _mode(exercise: str | None) -> str:
    return "live" if exercise is None else f"in exercise {exercise!r}"


class CorrectionJournal:
    """One node's journal file (see the module docstring). Writes are appended, flushed and fsynced; a
    write that fails (a full disk) raises OSError to the caller, which keeps the records and retries."""

    def __init__(self, path: Path, *, exercise: str | None = None) -> None:
        self.path = Path(path)
        self.exercise = exercise  # the node's mode: its exercise name, None when live

    def load(self) -> JournalLoad:
        """The standing records after replaying the file (none when it does not exist); never raises for
        the file's content (bad lines are skipped and listed), OSError only when it cannot be read."""
        out = JournalLoad()
        if not self.path.exists():
            return out
        standing: dict[tuple, CorrectionRecord] = {}
        name = self.path.name
        with self.path.open("rb") as fh:
            number = 0
            while True:
                raw = fh.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    break
                number += 1
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    out.errors.append(f"{name} line {number}: longer than {MAX_LINE_BYTES} bytes; skipped")
                    while raw and not raw.endswith(b"\n"):  # the rest of the long line
                        raw = fh.readline(MAX_LINE_BYTES + 1)
                    continue
                if not raw.strip():
                    continue
                out.lines += 1
                try:
                    line = _decoder.decode(raw)
                except msgspec.ValidationError as exc:
                    out.errors.append(f"{name} line {number}: field {_field_of(exc)}: {exc}; skipped")
                    continue
                except msgspec.DecodeError as exc:
                    out.errors.append(f"{name} line {number}: not JSON ({exc}); skipped")
                    continue
                problem = self._apply(line, standing)
                if problem:
                    out.errors.append(f"{name} line {number}: {problem}; skipped")
        out.records = list(standing.values())
        return out

    def _apply(self, line: _Line, standing: dict) -> str | None:
        if line.event == "standing":
            if line.record is None:
                return "field record: missing for a standing line"
            if line.exercise != self.exercise:
                return (f"field exercise: a correction made {_mode(line.exercise)}, this node runs "
                        f"{_mode(self.exercise)}; not restored")
            rec = _record(line.record)
            if rec.key not in standing and len(standing) >= MAX_STANDING:
                return f"more than {MAX_STANDING} corrections standing"
            standing[rec.key] = rec
        elif line.event == "ended":
            if line.key is None:
                return "field key: missing for an ended line"
            standing.pop(tuple(line.key), None)
        return None

    def _append(self, docs: list[dict]) -> None:
        if not docs:
            return
        for doc in docs:
            doc["exercise"] = self.exercise
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n" for d in docs)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            view = memoryview(data.encode("utf-8"))
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_action(self, t_unix_s: float, action, identifiers: tuple[str, ...]) -> None:
        """One issued operator action (node.operator_actions.OperatorCancel / OperatorCorrect)."""
        self._append([{"v": SCHEMA_VERSION, "t": t_unix_s, "event": "action", "kind": action.kind,
                       "incident": action.incident, "reason": action.reason, "user": action.user,
                       "confirmed_by": action.confirmed_by, "remove": list(getattr(action, "remove", ())),
                       "add": list(getattr(action, "add", ())), "note": action.note,
                       "identifiers": list(identifiers)}])

    def write_changes(self, t_unix_s: float, standing: list[CorrectionRecord],
                      ended: list[tuple[tuple, str]]) -> None:
        """Records that now stand (new or changed) and keys that no longer do, with why, in one write."""
        docs = [{"v": SCHEMA_VERSION, "t": t_unix_s, "event": "ended", "key": list(key), "why": why[:200]}
                for key, why in ended]
        docs += [{"v": SCHEMA_VERSION, "t": t_unix_s, "event": "standing", "record": record_doc(r)}
                 for r in standing]
        self._append(docs)


__all__ = ["JOURNAL_NAME", "CorrectionJournal", "JournalLoad", "record_doc"]
