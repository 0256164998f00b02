"""The warning stage's file edge: event dicts (JSON lines) in, checked records out.

`triwarn warn` and tools that write their own events.jsonl give the warning stage dicts: the
assessment's events (triwarn.records.events; older tools write shorter ones) and observed track
positions, each maybe marked with the ``exercise`` it belongs to. Here each line is checked (an
InputError names the source, line and field of the first problem), turned into its record
(LaunchEvent, ImpactPrediction, AreaRisk, TrackObservation) and admitted by the issuer: live and
exercise input are never mixed (Issuer.admit). WarningMachine.step then takes the records only; a node
passes the assessment's records to it as they are (one node is one mode for its whole life).

Fields read (times Unix s UTC, positions geodetic WGS84 degrees, heights metres above the ellipsoid):
  - ``launch``: ``lat_deg``, ``lon_deg``, ``time_unix_s`` (optional ``track``, ``launch_id``).
  - ``impact_prediction``: ``track``, ``lat_deg``, ``lon_deg``, ``time_unix_s``, ``semi_major_m``,
    ``semi_minor_m``, ``orientation_deg``, ``confidence``, ``powered``, ``object`` (primary | separated
    | unresolved, or an older name: ROLE_ALIASES), ``flags``, ``quality``, ``time_sigma_s``.
  - ``area_risk``: ``track``, ``area`` (ISO 3166-2), ``kind`` (impact | overflight), ``probability``
    (land or territorial sea), ``probability_eez`` (impact in the EEZ outside them),
    ``enter_time_unix_s``, ``object``, ``flags``, ``quality``, ``powered``.
  - ``track``: an observed position, ``track``, ``lat_deg``, ``lon_deg``, ``alt_m``, ``status``
    (alive | lost).
Every event has the sim time ``t``, may carry ``launch_id`` and ``exercise``. Other fields and other
event types are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from triwarn.errors import InputError
from triwarn.records.events import (
    ROLE_ALIASES,
    AreaRisk,
    ImpactPrediction,
    LaunchEvent,
    ObjectRole,
    TrackObservation,
    WarnInput,
)
from triwarn.warn.policy import Issuer


def _num(ev: Mapping[str, Any], name: str, source: str | None, line: int | None, *, optional=False):
    value = ev.get(name)
    if value is None:
        if optional:
            return None
        raise InputError("missing", source=source, line=line, field=name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"must be a finite number, got {value!r}", source=source, line=line, field=name)
    return float(value)


def _text(ev: Mapping[str, Any], name: str, source, line, *, default: str | None = None) -> str:
    value = ev.get(name, default)
    if value is None:
        raise InputError("missing", source=source, line=line, field=name)
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise InputError(f"must be a non-empty string, got {value!r}", source=source, line=line, field=name)
    return str(value)


def _opt_text(ev: Mapping[str, Any], name: str, source, line) -> str | None:
    return None if ev.get(name) in (None, "") else _text(ev, name, source, line)


def _lat_lon(ev, source, line) -> tuple[float, float]:
    lat = _num(ev, "lat_deg", source, line)
    lon = _num(ev, "lon_deg", source, line)
    if not -90.0 <= lat <= 90.0:
        raise InputError(f"latitude {lat} outside [-90, 90]", source=source, line=line, field="lat_deg")
    if not -180.0 <= lon <= 360.0:
        raise InputError(f"longitude {lon} outside [-180, 360]", source=source, line=line, field="lon_deg")
    return lat, ((lon + 180.0) % 360.0) - 180.0


def _probability(ev, name, source, line, *, optional=False) -> float:
    p = _num(ev, name, source, line, optional=optional)
    if p is None:
        return 0.0
    if not 0.0 <= p <= 1.0:
        raise InputError(f"probability {p} outside [0, 1]", source=source, line=line, field=name)
    return p


def _quality(ev, source, line) -> float:
    return _probability(ev, "quality", source, line, optional=True) if "quality" in ev else 1.0


def _role_and_flags(ev, source, line) -> tuple[ObjectRole, list[str]]:
    """The object role (older names mapped to the assessment's) and the flags, as the records hold them
    (a record's `role` reads the flag separated_piece too)."""
    obj = _text(ev, "object", source, line, default=ObjectRole.UNRESOLVED)
    if obj not in ROLE_ALIASES:
        raise InputError(f"unknown object role {obj!r}", source=source, line=line, field="object")
    flags = ev.get("flags") or []
    if not isinstance(flags, list | tuple) or not all(isinstance(f, str) for f in flags):
        raise InputError("must be a list of strings", source=source, line=line, field="flags")
    return ROLE_ALIASES[obj], list(flags)


def _launch(ev, t, launch_id, source, line) -> LaunchEvent:
    lat, lon = _lat_lon(ev, source, line)
    return LaunchEvent(
        t=t,
        lat_deg=lat,
        lon_deg=lon,
        time_unix_s=_num(ev, "time_unix_s", source, line),
        track=_opt_text(ev, "track", source, line),
        launch_id=launch_id,
    )


def _impact(ev, t, launch_id, source, line) -> ImpactPrediction:
    lat, lon = _lat_lon(ev, source, line)
    role, flags = _role_and_flags(ev, source, line)
    semi_major = _num(ev, "semi_major_m", source, line)
    semi_minor = _num(ev, "semi_minor_m", source, line)
    if semi_major < 0 or semi_minor < 0:
        raise InputError("ellipse axes must be >= 0", source=source, line=line, field="semi_major_m")
    confidence = _num(ev, "confidence", source, line, optional=True)
    return ImpactPrediction(
        t=t,
        track=_text(ev, "track", source, line),
        lat_deg=lat,
        lon_deg=lon,
        time_unix_s=_num(ev, "time_unix_s", source, line),
        semi_major_m=semi_major,
        semi_minor_m=semi_minor,
        orientation_deg=_num(ev, "orientation_deg", source, line),
        confidence=0.95 if confidence is None else confidence,
        powered=bool(ev.get("powered", False)),
        object=role,
        flags=flags,
        launch_id=launch_id,
        quality=_quality(ev, source, line),
        time_sigma_s=_num(ev, "time_sigma_s", source, line, optional=True),
    )


def _area_risk(ev, t, launch_id, source, line) -> AreaRisk:
    area = _text(ev, "area", source, line)
    if not (len(area) >= 4 and area[2] == "-" and area[:2].isalpha() and area[:2].isupper()):
        raise InputError(f"{area!r} is not an ISO 3166-2 code like JP-02", source=source, line=line, field="area")
    risk_kind = _text(ev, "kind", source, line)
    if risk_kind not in ("impact", "overflight"):
        raise InputError(f"must be impact or overflight, got {risk_kind!r}", source=source, line=line, field="kind")
    role, flags = _role_and_flags(ev, source, line)
    return AreaRisk(
        t=t,
        area=area,
        kind=risk_kind,
        probability=_probability(ev, "probability", source, line),
        enter_time_unix_s=_num(ev, "enter_time_unix_s", source, line, optional=True),
        track=_opt_text(ev, "track", source, line) or "",
        probability_eez=_probability(ev, "probability_eez", source, line, optional=True),
        object=role,
        flags=flags,
        launch_id=launch_id,
        quality=_quality(ev, source, line),
        powered=bool(ev.get("powered", False)),
    )


def _observation(ev, t, launch_id, source, line) -> TrackObservation:
    lat, lon = _lat_lon(ev, source, line)
    status = _text(ev, "status", source, line, default="alive")
    if status not in ("alive", "lost"):
        raise InputError(f"must be alive or lost, got {status!r}", source=source, line=line, field="status")
    return TrackObservation(
        t=t,
        track=_text(ev, "track", source, line),
        lat_deg=lat,
        lon_deg=lon,
        alt_m=_num(ev, "alt_m", source, line),
        status=status,
        launch_id=launch_id,
    )


_BUILDERS = {
    "launch": _launch,
    "impact_prediction": _impact,
    "area_risk": _area_risk,
    "track": _observation,
}


def parse_event(ev: Mapping[str, Any], *, source: str | None = None, line: int | None = None) -> WarnInput | None:
    """One event dict to its record; None for event types this stage does not consume.

    Checks that a given ``exercise`` is a name, but not whether the issuer takes it: read_events does.
    Raises InputError naming the source, line and field of the first problem.
    """
    if not isinstance(ev, Mapping):
        raise InputError(f"an event must be an object, got {type(ev).__name__}", source=source, line=line)
    kind = ev.get("type")
    if not isinstance(kind, str):
        raise InputError(f"missing or not a string: {kind!r}", source=source, line=line, field="type")
    if kind not in _BUILDERS:
        return None
    t = _num(ev, "t", source, line)
    exercise = ev.get("exercise")
    if exercise is not None and (not isinstance(exercise, str) or not exercise.strip()):
        raise InputError("must be a non-empty exercise name", source=source, line=line, field="exercise")
    return _BUILDERS[kind](ev, t, _opt_text(ev, "launch_id", source, line), source, line)


def read_events(
    events: Iterable[Mapping[str, Any]], issuer: Issuer, *, source: str = "events", first_line: int = 1
) -> list[WarnInput]:
    """Event dicts to records, each line checked and admitted by the issuer (its ``exercise`` must be the
    issuer's mode: none for a live issuer, its exercise's name for an exercise issuer).

    All are checked before any is returned: a bad one raises InputError (source, line, field).
    """
    out: list[WarnInput] = []
    for n, ev in enumerate(events, first_line):
        rec = parse_event(ev, source=source, line=n)
        if rec is None:
            continue
        issuer.admit(ev.get("exercise"), source=source, line=n)
        out.append(rec)
    return out


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of each non-blank line of a JSON-lines file."""
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", source=str(path)) from None
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise InputError(f"not JSON ({exc.msg})", source=str(path), line=n) from None
            if not isinstance(rec, dict):
                raise InputError("a line must be a JSON object", source=str(path), line=n)
            yield n, rec


def read_inputs(events: Path, tracks: Path | None, issuer: Issuer) -> list[WarnInput]:
    """events.jsonl (and tracks.jsonl) as records sorted by sim time; each line checked (file, line,
    field) and admitted by the issuer.

    The issuer's mode marks unmarked lines: an exercise issuer's files are its exercise; a live issuer's
    stay unmarked, and a line marked with an exercise is refused.
    """

    def stamp(rec: Mapping[str, Any]) -> dict[str, Any]:
        return dict(rec) if issuer.live or "exercise" in rec else {**rec, "exercise": issuer.exercise}

    out: list[WarnInput] = []
    for n, rec in read_jsonl(events):
        out += read_events([stamp(rec)], issuer, source=str(events), first_line=n)
    if tracks is not None:
        for n, rec in read_jsonl(tracks):
            # A tracks.jsonl line is a live track's position; a track that stops appearing is lost.
            obs = {"type": "track", "status": "alive"}
            obs |= {k: rec[k] for k in ("t", "track", "lat_deg", "lon_deg", "alt_m", "exercise") if k in rec}
            out += read_events([stamp(obs)], issuer, source=str(tracks), first_line=n)
    out.sort(key=lambda r: r.t)
    return out


__all__ = ["parse_event", "read_events", "read_inputs", "read_jsonl"]
