"""Cursor on Target: the one module that writes CoT events for TAK clients, and sends them over TCP.

The kinds of event, each with one uid for its whole life so that a newer event replaces the older on
the map:
  - a missile track, type ``a-h-A-W-M-S-S`` (hostile air weapon, missile, surface-to-surface), uid
    ``<sender>.track.<track id>``;
  - its predicted impact ellipse, type ``u-d-c-e`` with ``detail/shape/ellipse@major,minor,angle``
    (FULL axis lengths in metres, as ATAK reads them: it halves them to draw; angle in degrees clockwise
    from true north), uid ``<sender>.impact.<track id>``, and the same ellipse as a filled polygon
    ``u-d-f`` (uid ``<sender>.impact.<track id>.poly``) for clients that draw no ellipses
    (`impact_events`). An ellipse whose semi-major axis exceeds ELLIPSE_MAX_SEMI_MAJOR_M is not drawn as
    a precise shape: the event is its centre point with the uncertainty in ce and the remarks;
  - an alert area, a filled polygon ``u-d-f`` with ``link@point`` vertices, uid
    ``<sender>.area.<incident>.<code>[.<part>]``; a notice of a fall at sea is drawn at sea instead, a
    circle round the predicted point, uid ``<sender>.area.<incident>.sea``.
Times are UTC with ``Z`` and milliseconds (CAP's are the opposite: cap.py keeps its own formatter).
``hae`` is metres above the WGS84 ellipsoid; ``ce``/``le`` are 1-sigma metres (a 95% ellipse's
semi-major axis divided by its scale, 2.45), 9999999.0 when unknown.
``how`` says where the data came from: ``m-f`` (machine, fused) for tracks, predictions and warning
areas, live or not. An exercise event carries ``opex="e-<exercise name>"`` on <event>, which TAK clients
show; a caller that still passes ``how="m-s"`` for an exercise gets ``m-f`` plus ``opex="e-exercise"``.
Missile tracks carry ``<track course speed>`` (degrees from true north, m/s) when known.

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
from triwarn.warn.fall_notice import PieceFall

TRACK_TYPE = "a-h-A-W-M-S-S"
ELLIPSE_TYPE = "u-d-c-e"
AREA_TYPE = "u-d-f"
UNKNOWN_ERROR_M = 9999999.0
ELLIPSE_MAX_SEMI_MAJOR_M = 500_000.0  # beyond this an impact ellipse says "somewhere in this region"
ELLIPSE_POLYGON_POINTS = 36
MEAN_EARTH_RADIUS_M = 6_371_008.8
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


def _event(uid: str, cot_type: str, t_unix_s: float, stale_s: float, how: How,
           exercise: str | None = None) -> etree._Element:
    if how not in ("m-f", "m-s"):
        raise ValueError(f"how must be m-f or m-s, got {how!r}")
    if how == "m-s":  # the old way of marking an exercise: the source is still the fusion
        how, exercise = "m-f", exercise or "exercise"
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
    if exercise:
        ev.set("opex", f"e-{exercise}")
    return ev


def one_sigma_m(semi_axis_m: float, confidence: float) -> float:
    """The 1-sigma length of a bivariate normal ellipse's semi-axis given at a confidence level (the 95%
    ellipse is 2.448 sigma: sqrt(-2 ln(1 - confidence)))."""
    confidence = min(max(confidence, 0.01), 0.9999)
    return semi_axis_m / math.sqrt(-2.0 * math.log(1.0 - confidence))


def ellipse_ring(lat_deg: float, lon_deg: float, semi_major_m: float, semi_minor_m: float,
                 orientation_deg: float, n: int = ELLIPSE_POLYGON_POINTS) -> list[tuple[float, float]]:
    """The ellipse as a closed ring of (lat_deg, lon_deg), n points plus the first again; local tangent
    plane, which is within a fraction of a percent at the sizes drawn (ELLIPSE_MAX_SEMI_MAJOR_M)."""
    alpha = math.radians(orientation_deg)
    cos_lat = max(math.cos(math.radians(lat_deg)), 1e-6)
    ring = []
    for k in range(n):
        th = 2.0 * math.pi * k / n
        u, v = semi_major_m * math.cos(th), semi_minor_m * math.sin(th)
        north = u * math.cos(alpha) - v * math.sin(alpha)
        east = u * math.sin(alpha) + v * math.cos(alpha)
        lat = lat_deg + math.degrees(north / MEAN_EARTH_RADIUS_M)
        lon = lon_deg + math.degrees(east / (MEAN_EARTH_RADIUS_M * cos_lat))
        ring.append((max(-90.0, min(90.0, lat)), (lon + 180.0) % 360.0 - 180.0))
    return [*ring, ring[0]]


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
    exercise: str | None = None,
) -> bytes:
    """A hostile missile track position. Geodetic degrees, hae in metres, ce/le 1-sigma metres,
    course in degrees clockwise from true north, speed in metres per second (ground speed)."""
    ev = _event(track_uid(sender, track_id), TRACK_TYPE, t_unix_s, stale_s, how, exercise)
    _point(ev, lat_deg, lon_deg, hae_m, ce_m, le_m)
    detail = etree.SubElement(ev, "detail")
    etree.SubElement(detail, "contact").set("callsign", f"MISSILE {track_id}")
    if course_deg is not None and speed_mps is not None and math.isfinite(course_deg) and math.isfinite(speed_mps):
        trk = etree.SubElement(detail, "track")
        trk.set("course", f"{course_deg % 360.0:.1f}")
        trk.set("speed", f"{max(speed_mps, 0.0):.1f}")
    if remarks:
        etree.SubElement(detail, "remarks").text = remarks
    return etree.tostring(ev)


def course_speed(lat_deg: float, lon_deg: float, vel_ecef_mps) -> tuple[float, float]:
    """Course (degrees clockwise from true north) and ground speed (m/s) of an ECEF velocity at a place."""
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    vx, vy, vz = (float(v) for v in vel_ecef_mps)
    east = -math.sin(lo) * vx + math.cos(lo) * vy
    north = -math.sin(la) * math.cos(lo) * vx - math.sin(la) * math.sin(lo) * vy + math.cos(la) * vz
    return math.degrees(math.atan2(east, north)) % 360.0, math.hypot(east, north)


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
    exercise: str | None = None,
    max_semi_major_m: float = ELLIPSE_MAX_SEMI_MAJOR_M,
) -> bytes:
    """The predicted impact area of a track: an ellipse centred on the predicted impact point.

    semi-axes in metres at the given confidence; orientation of the major axis in degrees clockwise
    from true north. Written with full axis lengths (what ATAK reads) and ce as the 1-sigma semi-major
    axis. Over max_semi_major_m, no shape: the centre point, ce, and the size in the remarks.
    """
    ev = _event(impact_uid(sender, track_id), ELLIPSE_TYPE, t_unix_s, stale_s, how, exercise)
    precise = semi_major_m <= max_semi_major_m
    _point(ev, lat_deg, lon_deg, 0.0, one_sigma_m(semi_major_m, confidence), None)
    detail = etree.SubElement(ev, "detail")
    if precise:
        ell = etree.SubElement(etree.SubElement(detail, "shape"), "ellipse")
        ell.set("major", f"{2.0 * semi_major_m:.1f}")
        ell.set("minor", f"{2.0 * semi_minor_m:.1f}")
        ell.set("angle", f"{orientation_deg % 360.0:.1f}")
    etree.SubElement(detail, "contact").set("callsign", f"IMPACT {track_id}")
    etree.SubElement(detail, "strokeColor").set("value", _signed(0xFFFF0000))
    etree.SubElement(detail, "fillColor").set("value", _signed(0x40FF0000))
    remark = f"Predicted impact of track {track_id}, {confidence:.0%} ellipse"
    if not precise:
        remark += (f" too large to draw ({semi_major_m / 1000:.0f} x {semi_minor_m / 1000:.0f} km semi-axes):"
                   " the impact point is uncertain")
    if impact_time_unix_s is not None:
        remark += f", at {cot_time(impact_time_unix_s)}"
    etree.SubElement(detail, "remarks").text = remark
    return etree.tostring(ev)


def impact_events(*, max_semi_major_m: float = ELLIPSE_MAX_SEMI_MAJOR_M, **kwargs) -> list[bytes]:
    """The impact ellipse (ellipse_event, same arguments) and, when it is drawn as a precise shape, the
    same ellipse as a filled polygon (u-d-f, uid "<impact uid>.poly") for clients without ellipses."""
    out = [ellipse_event(max_semi_major_m=max_semi_major_m, **kwargs)]
    if kwargs["semi_major_m"] > max_semi_major_m:
        return out
    ring = ellipse_ring(kwargs["lat_deg"], kwargs["lon_deg"], kwargs["semi_major_m"], kwargs["semi_minor_m"],
                        kwargs["orientation_deg"])
    ev = _event(impact_uid(kwargs["sender"], kwargs["track_id"]) + ".poly", AREA_TYPE, kwargs["t_unix_s"],
                kwargs.get("stale_s", 120.0), kwargs.get("how", "m-f"), kwargs.get("exercise"))
    _point(ev, kwargs["lat_deg"], kwargs["lon_deg"], 0.0,
           one_sigma_m(kwargs["semi_major_m"], kwargs.get("confidence", 0.95)), None)
    detail = etree.SubElement(ev, "detail")
    for lat, lon in ring:
        etree.SubElement(detail, "link").set("point", f"{lat:.5f},{lon:.5f}")
    etree.SubElement(detail, "strokeColor").set("value", _signed(0xFFFF0000))
    etree.SubElement(detail, "fillColor").set("value", _signed(0x40FF0000))
    etree.SubElement(detail, "contact").set("callsign", f"IMPACT {kwargs['track_id']} AREA")
    out.append(etree.tostring(ev))
    return out


def _polygon_event(uid: str, t_unix_s: float, stale_s: float, how: How, exercise: str | None,
                   ring_latlon: list[tuple[float, float]], centre: tuple[float, float], state: str,
                   callsign: str, remarks: str) -> bytes:
    stroke, fill = _AREA_COLOURS.get(state, _AREA_COLOURS["error"])
    ev = _event(uid, AREA_TYPE, t_unix_s, stale_s, how, exercise)
    _point(ev, centre[0], centre[1], 0.0, None, None)
    detail = etree.SubElement(ev, "detail")
    for lat, lon in ring_latlon:
        etree.SubElement(detail, "link").set("point", f"{lat:.5f},{lon:.5f}")
    etree.SubElement(detail, "strokeColor").set("value", _signed(stroke))
    etree.SubElement(detail, "fillColor").set("value", _signed(fill))
    etree.SubElement(detail, "contact").set("callsign", callsign)
    etree.SubElement(detail, "remarks").text = remarks
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
    exercise: str | None = None,
) -> list[bytes]:
    """An alert area as filled polygons, one event per part (largest first, at most max_parts).

    geometry is a shapely (Multi)Polygon in lon/lat degrees; nothing is returned without one.
    """
    if geometry is None or geometry.is_empty:
        return []
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
        out.append(_polygon_event(area_uid(sender, incident, code, i), t_unix_s, stale_s, how, exercise,
                                  [(lat, lon) for lon, lat in coords], (centre.y, centre.x), state,
                                  f"{label or code} {state.upper()}", f"{code}: {state} (incident {incident})"))
    return out


ORBIT_COLOUR = 0xFF00E5FF  # cyan: no area state uses it
ZONE_COLOURS = (0xFFFF8C00, 0x30FF8C00)  # dark orange outline, faint fill


def _drawing_event(uid: str, cot_type: str, t_unix_s: float, stale_s: float, how: How, exercise: str | None,
                   points_latlon: list[tuple[float, float]], centre: tuple[float, float], stroke: int,
                   fill: int | None, callsign: str, remarks: str) -> bytes:
    ev = _event(uid, cot_type, t_unix_s, stale_s, how, exercise)
    _point(ev, centre[0], centre[1], 0.0, None, None)
    detail = etree.SubElement(ev, "detail")
    for lat, lon in points_latlon:
        etree.SubElement(detail, "link").set("point", f"{lat:.5f},{lon:.5f}")
    etree.SubElement(detail, "strokeColor").set("value", _signed(stroke))
    if fill is not None:
        etree.SubElement(detail, "fillColor").set("value", _signed(fill))
    etree.SubElement(detail, "contact").set("callsign", callsign)
    etree.SubElement(detail, "remarks").text = remarks
    return etree.tostring(ev)


def orbit_uid(sender: str, track_id: str) -> str:
    return f"{sender}.orbit.{track_id}"


def zone_uid(sender: str, label: str) -> str:
    return f"{sender}.zone.{label}"


def orbit_track_events(*, sender: str, track_id: str, t_unix_s: float, ground_track: list[tuple[float, float, float]],
                       perigee_km: float, apogee_km: float, incl_deg: float, how: How = "m-f",
                       stale_s: float = 60.0, exercise: str | None = None) -> list[bytes]:
    """An orbiting object's ground track ahead as open polylines (``u-d-f``, no fill), uid
    ``<sender>.orbit.<track id>[.<part>]``: ground_track is [(t_unix_s, lat_deg, lon_deg)], split where it
    crosses the antimeridian (a line across it would be drawn the long way round). The remarks give the
    times of the first and last points."""
    parts: list[list[tuple[float, float, float]]] = [[]]
    for p in ground_track:
        if parts[-1] and abs(p[2] - parts[-1][-1][2]) > 180.0:
            parts.append([])
        parts[-1].append(p)
    out = []
    for i, part in enumerate(q for q in parts if len(q) >= 2):
        uid = orbit_uid(sender, track_id) + (f".{i}" if i else "")
        out.append(_drawing_event(
            uid, AREA_TYPE, t_unix_s, stale_s, how, exercise, [(lat, lon) for _t, lat, lon in part],
            (part[0][1], part[0][2]), ORBIT_COLOUR, None,
            f"ORBIT {track_id}" + (" EXERCISE" if exercise else ""),
            f"orbit {perigee_km:.0f} x {apogee_km:.0f} km, inclination {incl_deg:.1f} deg; ground track "
            f"{cot_time(part[0][0])} to {cot_time(part[-1][0])}"))
    return out


def hazard_zone_events(*, sender: str, label: str, piece: str | None, corners_deg: list[tuple[float, float]],
                       window_start_unix_s: float, window_end_unix_s: float, t_unix_s: float, how: How = "m-f",
                       exercise: str | None = None) -> list[bytes]:
    """A declared hazard zone of a navigational warning as a filled polygon (``u-d-f``, the ring closed),
    uid ``<sender>.zone.<label>``, stale at the end of the warning's window (at least an hour from now)."""
    if len(corners_deg) < 3:
        return []
    ring = [*corners_deg, corners_deg[0]]
    lat_c = sum(c[0] for c in corners_deg) / len(corners_deg)
    lon_c = sum(c[1] for c in corners_deg) / len(corners_deg)
    stale = max(window_end_unix_s - t_unix_s, 3600.0)
    return [_drawing_event(
        zone_uid(sender, label), AREA_TYPE, t_unix_s, stale, how, exercise, ring, (lat_c, lon_c),
        ZONE_COLOURS[0], ZONE_COLOURS[1], f"HAZARD ZONE {label}" + (" EXERCISE" if exercise else ""),
        f"declared hazard zone {label}" + (f" ({piece})" if piece else "")
        + f", window {cot_time(window_start_unix_s)} to {cot_time(window_end_unix_s)}")]


SEA_MIN_RADIUS_M = 20_000.0


def message_events(
    msg: WarningMessage, *, names: AreaNames = area_name, stale_s: float | None = None
) -> list[bytes]:
    """The area shapes of a warning message, coloured by each area's state; uids stable per area. A
    notice of a fall at sea is drawn at sea: a circle round the predicted point (uid
    "<sender>.area.<incident>.sea"), never the land area."""
    stale = stale_s if stale_s is not None else max(msg.expires_unix_s - msg.sent_unix_s, 60.0)
    out: list[bytes] = []
    sea_done = False
    for a in msg.areas:
        label = names(a.code)["en-US"] + (" EXERCISE" if msg.exercise else "")
        if a.state == "notice":
            imp = msg.impact
            if imp is None or sea_done:
                continue
            sea_done = True
            radius = max(imp.semi_major_m, SEA_MIN_RADIUS_M)
            ring = ellipse_ring(imp.lat_deg, imp.lon_deg, radius, radius, 0.0)
            # One piece's fall has a drawing of its own (several pieces of one launch fall apart).
            piece = f".{imp.track}" if isinstance(imp, PieceFall) else ""
            out.append(_polygon_event(f"{msg.sender}.area.{msg.incident}.sea{piece}", msg.sent_unix_s, stale, "m-f",
                                      msg.exercise, ring, (imp.lat_deg, imp.lon_deg), "notice",
                                      f"SEA FALL {imp.lat_deg:.1f},{imp.lon_deg:.1f}"
                                      + (" EXERCISE" if msg.exercise else ""),
                                      f"sea notice for mariners (incident {msg.incident})"))
            continue
        out += area_events(
            sender=msg.sender,
            incident=msg.incident,
            code=a.code,
            state=a.state,
            geometry=a.geometry,
            t_unix_s=msg.sent_unix_s,
            label=label,
            stale_s=stale,
            exercise=msg.exercise,
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
    "course_speed",
    "ellipse_event",
    "ellipse_ring",
    "impact_events",
    "impact_uid",
    "message_events",
    "one_sigma_m",
    "track_event",
    "track_uid",
]
