"""Cursor on Target: the one module that writes CoT events for TAK clients, and sends them over TCP.

Three kinds of event, each with one uid for its whole life so that a newer event replaces the older on
the map:
  - a missile track, type ``a-h-A-W-M-S-S`` (hostile air weapon, missile, surface-to-surface), uid
    ``<sender>.track.<track id>``;
  - its predicted impact ellipse, type ``u-d-c-e`` with ``detail/shape/ellipse@major,minor,angle``
    (semi-axes in metres, angle in degrees clockwise from true north), uid ``<sender>.impact.<track id>``;
  - an alert area, a filled polygon ``u-d-f`` with ``link@point`` vertices, uid
    ``<sender>.area.<incident>.<code>[.<part>]``.
Times are UTC with ``Z`` and milliseconds (CAP's are the opposite: cap.py keeps its own formatter).
``hae`` is metres above the WGS84 ellipsoid; ``ce``/``le`` are 1-sigma metres, 9999999.0 when unknown.
``how`` is ``m-f`` (fused) for live data and ``m-s`` (simulated) for exercises and replays.

`CotSender` streams events to a TAK server (plain TCP, e.g. port 8087) from asyncio code.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from typing import Literal

from lxml import etree
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from triwarn.records.warnings import WarningMessage
from triwarn.warn.area_names import AreaNames, area_name

TRACK_TYPE = "a-h-A-W-M-S-S"
ELLIPSE_TYPE = "u-d-c-e"
AREA_TYPE = "u-d-f"
UNKNOWN_ERROR_M = 9999999.0
How = Literal["m-f", "m-s"]

# ARGB colours as TAK's signed 32-bit integers, per area state.
_AREA_COLOURS = {
    "shelter": (0xFFFF0000, 0x60FF0000),  # red
    "notice": (0xFFFFA500, 0x40FFA500),  # orange
    "passed": (0xFFFFFF00, 0x30FFFF00),  # yellow
    "clear": (0xFF00C000, 0x2000C000),  # green
    "error": (0xFF808080, 0x20808080),  # grey
}


def cot_time(t_unix_s: float) -> str:
    """Unix seconds to a CoT time: UTC, milliseconds, Z."""
    ms = round(t_unix_s * 1000.0)
    secs, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{millis:03d}Z"


def _signed(argb: int) -> str:
    return str(argb - (1 << 32) if argb >= (1 << 31) else argb)


def _event(uid: str, cot_type: str, t_unix_s: float, stale_s: float, how: How) -> etree._Element:
    if how not in ("m-f", "m-s"):
        raise ValueError(f"how must be m-f or m-s, got {how!r}")
    ev = etree.Element("event")
    for name, value in (
        ("version", "2.0"),
        ("uid", uid),
        ("type", cot_type),
        ("how", how),
        ("time", cot_time(t_unix_s)),
        ("start", cot_time(t_unix_s)),
        ("stale", cot_time(t_unix_s + stale_s)),
    ):
        ev.set(name, value)
    return ev


def _point(
    ev: etree._Element,
    lat_deg: float,
    lon_deg: float,
    hae_m: float | None,
    ce_m: float | None,
    le_m: float | None,
) -> None:
    def metres(v):
        return UNKNOWN_ERROR_M if v is None or not math.isfinite(v) else min(float(v), UNKNOWN_ERROR_M)

    pt = etree.SubElement(ev, "point")
    pt.set("lat", f"{lat_deg:.6f}")
    pt.set("lon", f"{lon_deg:.6f}")
    pt.set("hae", f"{metres(hae_m):.1f}")
    pt.set("ce", f"{metres(ce_m):.1f}")
    pt.set("le", f"{metres(le_m):.1f}")


def track_uid(sender: str, track_id: str) -> str:
    return f"{sender}.track.{track_id}"


def impact_uid(sender: str, track_id: str) -> str:
    return f"{sender}.impact.{track_id}"


def area_uid(sender: str, incident: str, code: str, part: int = 0) -> str:
    return f"{sender}.area.{incident}.{code}" + (f".{part}" if part else "")


def track_event(
    *,
    sender: str,
    track_id: str,
    t_unix_s: float,
    lat_deg: float,
    lon_deg: float,
    hae_m: float,
    ce_m: float | None,
    le_m: float | None,
    course_deg: float | None = None,
    speed_mps: float | None = None,
    how: How = "m-f",
    stale_s: float = 30.0,
    remarks: str | None = None,
) -> bytes:
    """A hostile missile track position. Geodetic degrees, hae in metres, ce/le 1-sigma metres,
    course in degrees clockwise from true north, speed in metres per second (ground speed)."""
    ev = _event(track_uid(sender, track_id), TRACK_TYPE, t_unix_s, stale_s, how)
    _point(ev, lat_deg, lon_deg, hae_m, ce_m, le_m)
    detail = etree.SubElement(ev, "detail")
    etree.SubElement(detail, "contact").set("callsign", f"MISSILE {track_id}")
    if course_deg is not None and speed_mps is not None:
        trk = etree.SubElement(detail, "track")
        trk.set("course", f"{course_deg % 360.0:.1f}")
        trk.set("speed", f"{speed_mps:.1f}")
    if remarks:
        etree.SubElement(detail, "remarks").text = remarks
    return etree.tostring(ev)


def ellipse_event(
    *,
    sender: str,
    track_id: str,
    t_unix_s: float,
    lat_deg: float,
    lon_deg: float,
    semi_major_m: float,
    semi_minor_m: float,
    orientation_deg: float,
    confidence: float = 0.95,
    impact_time_unix_s: float | None = None,
    how: How = "m-f",
    stale_s: float = 120.0,
) -> bytes:
    """The predicted impact area of a track: an ellipse centred on the predicted impact point.

    semi-axes in metres; orientation of the major axis in degrees clockwise from true north.
    """
    ev = _event(impact_uid(sender, track_id), ELLIPSE_TYPE, t_unix_s, stale_s, how)
    _point(ev, lat_deg, lon_deg, 0.0, semi_major_m, None)
    detail = etree.SubElement(ev, "detail")
    ell = etree.SubElement(etree.SubElement(detail, "shape"), "ellipse")
    ell.set("major", f"{semi_major_m:.1f}")
    ell.set("minor", f"{semi_minor_m:.1f}")
    ell.set("angle", f"{orientation_deg % 360.0:.1f}")
    etree.SubElement(detail, "contact").set("callsign", f"IMPACT {track_id}")
    etree.SubElement(detail, "strokeColor").set("value", _signed(0xFFFF0000))
    etree.SubElement(detail, "fillColor").set("value", _signed(0x40FF0000))
    remark = f"Predicted impact of track {track_id}, {confidence:.0%} ellipse"
    if impact_time_unix_s is not None:
        remark += f", at {cot_time(impact_time_unix_s)}"
    etree.SubElement(detail, "remarks").text = remark
    return etree.tostring(ev)


def area_events(
    *,
    sender: str,
    incident: str,
    code: str,
    state: str,
    geometry: BaseGeometry | None,
    t_unix_s: float,
    label: str | None = None,
    how: How = "m-f",
    stale_s: float = 1800.0,
    tolerance_deg: float = 0.01,
    max_parts: int = 8,
) -> list[bytes]:
    """An alert area as filled polygons, one event per part (largest first, at most max_parts).

    geometry is a shapely (Multi)Polygon in lon/lat degrees; nothing is returned without one.
    """
    if geometry is None or geometry.is_empty:
        return []
    stroke, fill = _AREA_COLOURS.get(state, _AREA_COLOURS["error"])
    parts = sorted(
        (p for p in getattr(geometry, "geoms", [geometry]) if isinstance(p, Polygon)), key=lambda p: -p.area
    )[:max_parts]
    out = []
    for i, part in enumerate(parts):
        simple = part.simplify(tolerance_deg, preserve_topology=True)
        coords = list(simple.exterior.coords) if isinstance(simple, Polygon) and not simple.is_empty else []
        if len(coords) < 4:
            coords = list(part.envelope.exterior.coords)
        centre = part.representative_point()
        ev = _event(area_uid(sender, incident, code, i), AREA_TYPE, t_unix_s, stale_s, how)
        _point(ev, centre.y, centre.x, 0.0, None, None)
        detail = etree.SubElement(ev, "detail")
        for lon, lat in coords:
            etree.SubElement(detail, "link").set("point", f"{lat:.5f},{lon:.5f}")
        etree.SubElement(detail, "strokeColor").set("value", _signed(stroke))
        etree.SubElement(detail, "fillColor").set("value", _signed(fill))
        etree.SubElement(detail, "contact").set("callsign", f"{label or code} {state.upper()}")
        etree.SubElement(detail, "remarks").text = f"{code}: {state} (incident {incident})"
        out.append(etree.tostring(ev))
    return out


def message_events(
    msg: WarningMessage, *, names: AreaNames = area_name, stale_s: float | None = None
) -> list[bytes]:
    """The area shapes of a warning message, coloured by each area's state; uids stable per area."""
    how: How = "m-s" if msg.exercise else "m-f"
    stale = stale_s if stale_s is not None else max(msg.expires_unix_s - msg.sent_unix_s, 60.0)
    out: list[bytes] = []
    for a in msg.areas:
        label = names(a.code)["en-US"] + (" EXERCISE" if msg.exercise else "")
        out += area_events(
            sender=msg.sender,
            incident=msg.incident,
            code=a.code,
            state=a.state,
            geometry=a.geometry,
            t_unix_s=msg.sent_unix_s,
            label=label,
            how=how,
            stale_s=stale,
        )
    return out


class CotSender:
    """Sends CoT XML events to a TAK server over plain TCP, reconnecting once if the link dropped.

    Use in asyncio code: ``async with CotSender("127.0.0.1", 8087) as tak: await tak.send(events)``.
    """

    def __init__(self, host: str, port: int, *, connect_timeout_s: float = 5.0) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self._writer: asyncio.StreamWriter | None = None
        self.sent_count = 0

    async def connect(self) -> None:
        _reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout=self.connect_timeout_s
        )

    async def send(self, events: Iterable[bytes]) -> None:
        """Write the events in order and wait until the socket buffer has taken them."""
        payload = [e if e.endswith(b"\n") else e + b"\n" for e in events]
        for attempt in (1, 2):
            try:
                if self._writer is None or self._writer.is_closing():
                    await self.connect()
                assert self._writer is not None
                self._writer.writelines(payload)
                await self._writer.drain()
                self.sent_count += len(payload)
                return
            except (ConnectionError, OSError):
                self._writer = None
                if attempt == 2:
                    raise

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self._writer = None

    async def __aenter__(self) -> CotSender:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


__all__ = [
    "AREA_TYPE",
    "ELLIPSE_TYPE",
    "TRACK_TYPE",
    "CotSender",
    "area_events",
    "area_uid",
    "cot_time",
    "ellipse_event",
    "impact_uid",
    "message_events",
    "track_event",
    "track_uid",
]
