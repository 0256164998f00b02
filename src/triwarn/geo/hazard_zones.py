"""Declared hazard zones of a launch: a navigational warning in its usual text form, read and checked.

Before a satellite launch North Korea notifies the Japan Coast Guard (NAVAREA XI coordinator), which
issues a navigational warning: a launch window and rectangular zones where pieces will fall, corners in
degrees and minutes. This module owns that text format:

    NAVAREA XI 0701/23
    YELLOW SEA. EAST CHINA SEA. PHILIPPINE SEA.
    DPRK. ROCKET LAUNCHING 302315Z MAY TO 102315Z JUN 23 IN AREAS BOUNDED BY:
    A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-30E, 35-19N 124-54E. (FIRST STAGE)
    B. 33-16N 124-11E, 33-16N 125-09E, 32-22N 124-11E, 32-21N 125-08E. (FAIRING)
    C. 19-44N 123-53E, 19-43N 124-51E, 17-01N 123-52E, 17-00N 124-48E. (SECOND STAGE)

The window is two date-time groups (DDHHMMZ MON [YY]) joined by TO; the year, when the first group has
none, is the second's (and the year before when the month would come after the end). A zone is a line
"X. corner, corner, ... ." with three or more corners (DD-MMN DDD-MME; also DD-MM.mN, DD°MM'N) joined by
commas or AND, closed by a full stop; the text in parentheses after it names the piece it is declared for
(optional). Notices list rectangles corner by corner in any order (the 2016 one gives NW, NE, SW, SE):
when the given order crosses itself the corners are taken in angular order about their centre (the zones
are convex).

Every error names the line and field; nothing here touches the disk except read_notice.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

from triwarn.errors import InputError
from triwarn.geo.geodesic import inverse

MAX_NOTICE_BYTES = 64 * 1024
MAX_ZONES = 26
MAX_CORNERS = 40
MAX_WINDOW_S = 90 * 86400.0  # a launch window is days, not months

_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DTG = r"(\d{2})(\d{2})(\d{2})Z\s+([A-Z]{3})(?:\s+(\d{2}|\d{4}))?"
_WINDOW_RE = re.compile(_DTG + r"\s+TO\s+" + _DTG)
_ZONE_RE = re.compile(r"^\s*([A-Z])\s*[.)]\s+(.*)$")
_COORD = r"(\d{1,3})\s*[-°\s]\s*(\d{1,2}(?:\.\d+)?)\s*['′]?\s*"
_CORNER_RE = re.compile(r"^" + _COORD + r"([NS])\s+" + _COORD + r"([EW])$")
_ROLE_RE = re.compile(r"\(([^()]*)\)\s*$")

# The piece each declared role is for, as flights name their objects (physics.slv).
ROLE_PIECES = {"FIRST STAGE": "stage1", "SECOND STAGE": "stage2", "THIRD STAGE": "stage3",
               "FAIRING": "fairing", "PAYLOAD": "payload"}


@dataclass(frozen=True)
class HazardZone:
    """One declared zone: its label (A, B, ...), the piece it is declared for (ROLE_PIECES value or
    None), corners (lat, lon) in degrees as given, the polygon (x = lon, y = lat) and its text line."""

    label: str
    role: str | None
    corners_deg: tuple[tuple[float, float], ...]
    polygon: Polygon
    line: int

    def contains(self, lat_deg: float, lon_deg: float) -> bool:
        return bool(self.polygon.covers(Point(lon_deg, lat_deg)))

    def distance_km(self, lat_deg: float, lon_deg: float) -> float:
        """Distance (km) from a point to the zone (0 inside): geodesic to the nearest point of its edge."""
        if self.contains(lat_deg, lon_deg):
            return 0.0
        near = nearest_points(self.polygon.exterior, Point(lon_deg, lat_deg))[0]
        dist_m, _ = inverse(lat_deg, lon_deg, near.y, near.x)
        return float(dist_m) / 1e3


@dataclass(frozen=True)
class HazardNotice:
    """A navigational warning: its identifier line, launch window (unix s, UTC) and zones."""

    ident: str | None
    window_start_unix_s: float
    window_end_unix_s: float
    zones: tuple[HazardZone, ...]
    source: str | None = None

    def zone_for(self, object_id: str) -> HazardZone | None:
        """The zone declared for a piece (by role), else None."""
        return next((z for z in self.zones if z.role == object_id), None)

    def as_dict(self) -> dict:
        def iso(t: float) -> str:
            return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return {"ident": self.ident, "window_start_utc": iso(self.window_start_unix_s),
                "window_end_utc": iso(self.window_end_unix_s),
                "zones": [{"label": z.label, "role": z.role, "corners_deg": [list(c) for c in z.corners_deg]}
                          for z in self.zones]}


def _fail(why: str, source: str | None, line: int | None, field: str) -> InputError:
    return InputError(why, source=source, line=line, field=field)


def _angle(deg: str, minutes: str, hemi: str, text: str, *, src: str | None, line: int, field: str) -> float:
    limit = 90 if hemi in "NS" else 180
    d, m = int(deg), float(minutes)
    if m >= 60.0:
        raise _fail(f"{text!r}: minutes must be below 60", src, line, field)
    value = d + m / 60.0
    if value > limit:
        what = "latitude" if hemi in "NS" else "longitude"
        raise _fail(f"{text!r}: {what} is out of range (at most {limit} degrees)", src, line, field)
    return -value if hemi in "SW" else value


def _corner(text: str, *, src: str | None, line: int, field: str) -> tuple[float, float]:
    m = _CORNER_RE.match(text.strip())
    if not m:
        raise _fail(f"{text.strip()!r} is not a corner such as 36-04N 124-30E (degrees-minutes, N/S then E/W)",
                    src, line, field)
    lat = _angle(m[1], m[2], m[3], text.strip(), src=src, line=line, field=field)
    lon = _angle(m[4], m[5], m[6], text.strip(), src=src, line=line, field=field)
    return lat, lon


def _polygon(corners: list[tuple[float, float]], *, src: str | None, line: int, field: str) -> Polygon:
    """The zone's polygon (x lon, y lat): the corners in the given order, or in angular order about their
    centre when the given order crosses itself."""
    pts = [(lon, lat) for lat, lon in corners]
    if len(pts) > 3 and pts[0] == pts[-1]:
        pts = pts[:-1]  # an explicitly closed ring
    if len(set(pts)) < 3:
        raise _fail(f"open polygon: {len(set(pts))} distinct corner(s) enclose no area; a zone needs 3 or more",
                    src, line, field)
    poly = Polygon(pts)
    if not poly.is_valid:
        cx = sum(p[0] for p in pts) / len(pts)
        cy = sum(p[1] for p in pts) / len(pts)
        poly = Polygon(sorted(pts, key=lambda p: math.atan2(p[1] - cy, p[0] - cx)))
    if not poly.is_valid or poly.area <= 0.0:
        raise _fail("the corners enclose no area (all on one line)", src, line, field)
    return poly


def _dtg(groups: tuple, year: int | None, *, src: str | None, line: int, field: str) -> datetime:
    day, hour, minute, mon, yy = groups
    if mon not in _MONTHS:
        raise _fail(f"{mon!r} is not a month (JAN ... DEC)", src, line, field)
    y = year if yy is None else (int(yy) + 2000 if len(yy) == 2 else int(yy))
    try:
        return datetime(y, _MONTHS[mon], int(day), int(hour), int(minute), tzinfo=UTC)
    except ValueError as exc:
        raise _fail(f"{day}{hour}{minute}Z {mon} {y}: {exc}", src, line, field) from None


def _window(text: str, lineno: int, src: str | None) -> tuple[float, float]:
    m = _WINDOW_RE.search(text)
    end_groups, start_groups = m.groups()[5:], m.groups()[:5]
    if end_groups[4] is None:
        raise _fail("the window's end needs a year (DDHHMMZ MON YY)", src, lineno, "window.end")
    end = _dtg(end_groups, None, src=src, line=lineno, field="window.end")
    start = _dtg(start_groups, end.year, src=src, line=lineno, field="window.start")
    if start_groups[4] is None and start > end and start.month > end.month:  # e.g. DEC ... TO ... JAN 24
        start = start.replace(year=end.year - 1)
    if end <= start:
        raise _fail(f"the window ends ({end:%Y-%m-%d %H:%MZ}) before it starts ({start:%Y-%m-%d %H:%MZ})",
                    src, lineno, "window.end")
    if (end - start).total_seconds() > MAX_WINDOW_S:
        raise _fail(f"a window of {(end - start).days} days is impossible: at most {MAX_WINDOW_S / 86400:.0f}",
                    src, lineno, "window.end")
    return start.timestamp(), end.timestamp()


def _zone(label: str, body: str, lineno: int, src: str | None) -> HazardZone:
    field = f"zone {label}"
    role_m = _ROLE_RE.search(body)
    role = None
    if role_m:
        words = " ".join(role_m[1].upper().split())
        if words not in ROLE_PIECES:
            raise _fail(f"unknown piece {role_m[1]!r}; known: {', '.join(ROLE_PIECES)}", src, lineno,
                        f"{field}.role")
        role = ROLE_PIECES[words]
        body = body[: role_m.start()]
    body = body.strip()
    if not body.endswith("."):
        raise _fail("open polygon: the corner list does not end with a full stop (a corner is missing or the "
                    "zone was cut short)", src, lineno, f"{field}.corners")
    parts = body[:-1].replace(" AND ", ",").split(",")  # "..., 35-19N 124-54E AND 35-19N 124-30E."
    if len(parts) > MAX_CORNERS:
        raise _fail(f"{len(parts)} corners: at most {MAX_CORNERS}", src, lineno, f"{field}.corners")
    corners = []
    for k, part in enumerate(parts):
        if not part.strip():
            raise _fail(f"corner {k + 1} is empty (two commas or a trailing comma)", src, lineno,
                        f"{field}.corner {k + 1}")
        corners.append(_corner(part, src=src, line=lineno, field=f"{field}.corner {k + 1}"))
    poly = _polygon(corners, src=src, line=lineno, field=f"{field}.corners")
    return HazardZone(label, role, tuple(corners), poly, lineno)


def parse_notice(text: str, source: str | None = None) -> HazardNotice:
    """A navigational warning's text, checked. InputError naming the line and field on anything wrong."""
    if len(text.encode("utf-8", "replace")) > MAX_NOTICE_BYTES:
        raise _fail(f"a notice is a few lines; this one is over {MAX_NOTICE_BYTES // 1024} kB", source, None,
                    "notice")
    ident, window, window_line = None, None, None
    zones: list[HazardZone] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = " ".join(raw.upper().split())
        if not line:
            continue
        if ident is None and line.startswith("NAVAREA"):
            ident = line
        if _WINDOW_RE.search(line):
            if window is not None:
                raise _fail(f"a second launch window (the first is on line {window_line})", source, lineno,
                            "window")
            window, window_line = _window(line, lineno, source), lineno
            continue
        if re.search(r"\d{4,6}Z\b", line) and " TO " in f" {line} ":  # a window, malformed
            raise _fail(f"{line!r}: a launch window reads DDHHMMZ MON [YY] TO DDHHMMZ MON YY", source, lineno,
                        "window")
        zm = _ZONE_RE.match(line)
        if zm and re.search(r"\d", zm[2]):
            label = zm[1]
            if any(z.label == label for z in zones):
                raise _fail(f"zone {label} is declared twice", source, lineno, f"zone {label}")
            zones.append(_zone(label, zm[2], lineno, source))
            if len(zones) > MAX_ZONES:
                raise _fail(f"more than {MAX_ZONES} zones", source, lineno, "zones")
    if window is None:
        raise _fail("no launch window (DDHHMMZ MON YY TO DDHHMMZ MON YY) found", source, None, "window")
    if not zones:
        raise _fail("no zone (a line such as 'A. 36-04N 124-30E, 36-04N 124-54E, 35-19N 124-54E.') found",
                    source, None, "zones")
    return HazardNotice(ident, window[0], window[1], tuple(zones), source)


def read_notice(path: str | Path) -> HazardNotice:
    """Read and check a navigational warning file."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_NOTICE_BYTES:
            raise _fail(f"a notice is a few lines; this file is over {MAX_NOTICE_BYTES // 1024} kB", str(p),
                        None, "notice")
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError("file not found", source=str(p)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=str(p)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a notice file", source=str(p)) from None
    return parse_notice(text, str(p))


@dataclass(frozen=True)
class FallScore:
    """Where one piece fell against its declared zone (the zone declared for it, else the nearest)."""

    object_id: str
    lat_deg: float
    lon_deg: float
    zone: str
    declared_for_piece: bool
    inside: bool
    distance_km: float  # 0 inside


def score_falls(notice: HazardNotice, falls: list[tuple[str, float, float]]) -> list[FallScore]:
    """Each (object id, fall lat, fall lon in degrees) scored against its zone."""
    out = []
    for object_id, lat, lon in falls:
        piece = object_id.rsplit("/", 1)[-1]
        zone = notice.zone_for(piece)
        declared = zone is not None
        if zone is None:
            zone = min(notice.zones, key=lambda z: z.distance_km(lat, lon))
        d = zone.distance_km(lat, lon)
        out.append(FallScore(object_id, lat, lon, zone.label, declared, d == 0.0, d))
    return out


def describe(notice: HazardNotice, as_json: bool = False) -> str:
    """What `triwarn hazard-zones` prints: the window and each zone (lines, or JSON)."""
    import json

    d = notice.as_dict()
    if as_json:
        return json.dumps(d, indent=2)
    out = [f"{d['ident'] or 'navigational warning'}: window {d['window_start_utc']} to {d['window_end_utc']}"]
    for z in notice.zones:
        corners = ", ".join(f"{lat:.3f} {lon:.3f}" for lat, lon in z.corners_deg)
        out.append(f"  zone {z.label} ({z.role or 'no piece named'}): {corners}")
    return "\n".join(out)
