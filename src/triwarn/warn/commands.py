"""Issue warnings from recorded assessment events: events.jsonl (and tracks.jsonl) in, CAP, CoT and the
Atom feed out, on the events' own simulated clock.

The edge of the warning stage: it reads files (reader.py: each line checked and admitted by the
issuer's mode), steps the pure state machine (machine.py) once per tick of sim time, and writes each
message as it is issued:
  OUT/cap/<identifier>.xml   one CAP 1.2 document per message (validated before it is written)
  OUT/cot/<n>-<uid>.xml      the CoT events sent with each message (area shapes, impact ellipses)
  OUT/feed.atom              the Atom feed of every CAP message, newest first
  OUT/warnings.jsonl         one line per message: t, identifier, msgType, incident, area states
A bad input line raises InputError naming the file, line and field; what was issued before it is
already on disk.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path

import shapely
import shapely.geometry
from shapely.geometry.base import BaseGeometry

from triwarn.errors import InputError
from triwarn.records.events import ImpactPrediction
from triwarn.records.warnings import WarningMessage
from triwarn.warn import cot
from triwarn.warn.cap import cap_filename, to_cap, validate_cap, write_cap_xml
from triwarn.warn.feed import FeedEntry, atom_feed
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer, WarnPolicy, new_run_id
from triwarn.warn.profiles import check_profile
from triwarn.warn.reader import read_inputs

TERRITORY_ZONES = ("land", "territorial_sea")


def load_area_outlines(path: Path) -> dict[str, BaseGeometry]:
    """Each area's land plus territorial sea (lon/lat degrees) from a GeoJSON FeatureCollection whose
    features carry properties "code" (ISO 3166-2) and "zone" (land, territorial_sea or eez)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read GeoJSON ({exc})", source=str(path)) from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise InputError("not a GeoJSON FeatureCollection", source=str(path), field="features")
    parts: dict[str, list[BaseGeometry]] = {}
    for k, feat in enumerate(features):
        props = (feat or {}).get("properties") or {}
        code, zone = props.get("code"), props.get("zone")
        if not isinstance(code, str) or not code:
            raise InputError(
                "needs a string 'code'", source=str(path), field=f"features[{k}].properties.code"
            )
        if zone not in (*TERRITORY_ZONES, "eez"):
            raise InputError(
                "zone must be land, territorial_sea or eez",
                source=str(path),
                field=f"features[{k}].properties.zone",
            )
        if zone == "eez":
            continue
        try:
            geom = shapely.geometry.shape(feat["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as exc:
            raise InputError(
                f"bad geometry ({exc})", source=str(path), field=f"features[{k}].geometry"
            ) from None
        parts.setdefault(code, []).append(geom)
    return {code: shapely.union_all(geoms) for code, geoms in parts.items()}


def _cot_for(msg: WarningMessage, impacts: Mapping[str, ImpactPrediction]) -> list[bytes]:
    events = cot.message_events(msg)
    for track_id, imp in sorted(impacts.items()):
        events.extend(
            cot.impact_events(
                sender=msg.sender,
                track_id=track_id,
                t_unix_s=msg.sent_unix_s,
                lat_deg=imp.lat_deg,
                lon_deg=imp.lon_deg,
                semi_major_m=imp.semi_major_m,
                semi_minor_m=imp.semi_minor_m,
                orientation_deg=imp.orientation_deg,
                confidence=imp.confidence,
                impact_time_unix_s=imp.time_unix_s,
                exercise=msg.exercise,
            )
        )
    return events


def run_warn(
    events: Path,
    out: Path,
    *,
    sender: str,
    live: bool = False,
    exercise: str | None = None,
    tracks: Path | None = None,
    areas: Path | None = None,
    tick_s: float = 1.0,
    tail_s: float = 3600.0,
    policy: WarnPolicy | None = None,
    feed_url: str = "http://127.0.0.1:8080",
) -> dict[str, int]:
    """Run the warning stage over recorded events on their sim clock; returns counts per msgType.

    Exactly one of live=True or exercise=NAME. After the last input, the clock runs on (at most
    tail_s) until every incident is closed, so that time-based all-clears are issued too.
    """
    if not (math.isfinite(tick_s) and tick_s > 0):
        raise InputError("must be a positive number of seconds", field="tick_s")
    issuer = Issuer(sender, live=live, exercise=exercise)
    outlines = load_area_outlines(areas) if areas is not None else {}
    records = read_inputs(Path(events), tracks, issuer)
    machine = WarningMachine(
        issuer, new_run_id(time.time(), os.urandom(4)), policy=policy, area_geometry=outlines.get
    )
    out = Path(out)
    (out / "cap").mkdir(parents=True, exist_ok=True)
    (out / "cot").mkdir(parents=True, exist_ok=True)
    counts = {"Alert": 0, "Update": 0, "Cancel": 0}
    if not records:
        return counts
    feed_entries: list[FeedEntry] = []
    impacts: dict[str, ImpactPrediction] = {}
    n_cot = 0
    t = math.floor(records[0].t / tick_s) * tick_s
    t_end = records[-1].t
    i = 0
    with open(out / "warnings.jsonl", "w", encoding="utf-8") as log:
        while True:
            batch = []
            while i < len(records) and records[i].t <= t:
                batch.append(records[i])
                i += 1
            for rec in batch:
                if isinstance(rec, ImpactPrediction):
                    impacts[rec.track] = rec
            for msg in machine.step(batch, t):
                xml = to_cap(msg, web=f"{feed_url}/cap/{cap_filename(msg)}")
                problems = validate_cap(xml) + check_profile(xml, machine.profile)
                if problems:  # a bug, never the input's fault: refuse to publish it
                    raise RuntimeError(f"CAP {msg.identifier} is invalid: {'; '.join(problems)}")
                path = write_cap_xml(msg, xml, out / "cap")
                feed_entries.append(FeedEntry(xml, url=f"{feed_url}/cap/{path.name}"))
                for ev in _cot_for(msg, impacts):
                    n_cot += 1
                    (out / "cot" / f"{n_cot:05d}.xml").write_bytes(ev)
                counts[msg.msg_type] += 1
                log.write(
                    json.dumps(
                        {
                            "t": t,
                            "identifier": msg.identifier,
                            "msgType": msg.msg_type,
                            "incident": msg.incident,
                            "areas": {a.code: a.state for a in msg.areas},
                        }
                    )
                    + "\n"
                )
            done = i >= len(records)
            if done and (all(inc.closed for inc in machine.incidents) or t >= t_end + tail_s):
                break
            t += tick_s
    (out / "feed.atom").write_bytes(
        atom_feed(
            feed_entries,
            feed_id=f"tag:triwarn.org,2026:{sender}:cap",
            title=f"triwarn warnings from {sender}",
            self_url=f"{feed_url}/cap/feed.atom",
            now_unix_s=t,
        )
    )
    return counts


__all__ = ["load_area_outlines", "run_warn"]
