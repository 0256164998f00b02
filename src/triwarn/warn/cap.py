"""CAP 1.2: the one module that writes Common Alerting Protocol documents, and checks them.

`to_cap(message)` turns a WarningMessage (state.py) into one CAP 1.2 XML document for the channels of
its nation's profile (profiles.py; docs/alert-profiles.md): one `<info>` per area group and language
(en-US, ja-JP, ko-KR), areas as ISO 3166-2 geocodes plus the channels' own codes (SAME, Japanese and
Korean local-government codes) and simplified polygons ("lat,lon" pairs, closed), a sea notice as a
circle at sea, references to every earlier message of the thread, the incident name in `<incidents>`,
`expires`, and an enveloped signature (xmlsig.py). Times are whole seconds with the profile's local
offset, UTC written "-00:00" (CoT's are UTC with Z and fractions: cot.py keeps its own formatter).

`validate_cap(xml)` checks a document against the OASIS schema shipped in triwarn/data/cap and against
the rules the schema cannot express, including the project's own: three languages, exercise markings,
status never Actual from an exercise.
"""

from __future__ import annotations

import errno
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from triwarn.records.warnings import CLEAR_REASONS, AreaWarning, WarningMessage
from triwarn.warn import profiles, texts, xmlsig
from triwarn.warn.area_names import LANGUAGES, AreaNames, area_name
from triwarn.warn.fall_notice import PieceFall
from triwarn.warn.profiles import Profile

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
XSD_PATH = Path(__file__).resolve().parents[1] / "data" / "cap" / "CAP-v1.2.xsd"
POLYGON_TOLERANCE_DEG = 0.01  # about 1 km: far below the size of any warning area

_CAP_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-](\d{2}):(\d{2})$")
_FORBIDDEN_ID_RE = re.compile(r"[\s,<&]")
_ISO3166_2_RE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
_DECIMAL_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")  # WGS 84 degrees and km: plain decimals
_SHA1_RE = re.compile(r"^[0-9A-Fa-f]{40}$")
_ABSOLUTE_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")  # RFC 3986: scheme ":" ...

# state: (responseType(s), urgency, severity, certainty)
_INFO_CODES: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "shelter": (("Shelter",), "Immediate", "Extreme", "Likely"),
    "notice": (("Monitor",), "Expected", "Moderate", "Likely"),
    "passed": (("Avoid", "Monitor"), "Past", "Minor", "Observed"),
    "clear": (("AllClear",), "Past", "Minor", "Observed"),
    "error": (("AllClear",), "Past", "Minor", "Unlikely"),
}
_GROUP_ORDER = ("shelter", "notice", "passed", "clear", "error")


def cap_time(t_unix_s: float, tz: str | None = None) -> str:
    """Unix seconds to a CAP dateTime, whole seconds: in UTC written with the offset -00:00, or with tz (an
    IANA zone name) the local time with its offset, e.g. 2022-10-04T08:22:00+10:00 for Pacific/Guam."""
    if tz is None or tz == "UTC":
        return time.strftime("%Y-%m-%dT%H:%M:%S-00:00", time.gmtime(int(t_unix_s // 1)))
    local = datetime.fromtimestamp(int(t_unix_s // 1), _zone(tz))
    offset = local.strftime("%z")
    if offset in ("+0000", "-0000"):
        offset = "-0000"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + f"{offset[:3]}:{offset[3:]}"


@cache
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def cap_filename(msg: WarningMessage) -> str:
    """A file name for the message: its identifier, which is unique and holds no path separator."""
    return re.sub(r"[^A-Za-z0-9._@-]", "_", msg.identifier) + ".xml"


@lru_cache(maxsize=512)
def polygons_latlon(
    geom: BaseGeometry | None, tolerance_deg: float = POLYGON_TOLERANCE_DEG
) -> tuple[str, ...]:
    """CAP polygon strings ("lat,lon" pairs, first pair repeated last) for a lon/lat shapely geometry.

    Each part is simplified to about tolerance_deg; a part too small to keep its shape (a small island)
    becomes its bounding box grown by the tolerance, so that no land of the area is left out.
    """
    if geom is None or geom.is_empty:
        return ()
    out = []
    for part in getattr(geom, "geoms", [geom]):
        if not isinstance(part, Polygon) or part.is_empty:
            continue
        # Each part is its own polygon, so the faster non-topological simplification is safe; a part it
        # breaks falls back to a box below.
        simple = part.simplify(tolerance_deg, preserve_topology=False)
        ring = _ring_text(simple) if isinstance(simple, Polygon) and not simple.is_empty else None
        if ring is None:
            lon0, lat0, lon1, lat1 = part.buffer(tolerance_deg).bounds
            box = Polygon([(lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1)])
            ring = _ring_text(box)
        if ring is not None:
            out.append(ring)
    return tuple(out)


CapPolygons = Callable[[str], Sequence[Sequence[tuple[float, float]]]]
"""A lookup from an area code to its CAP polygons, each a closed sequence of (lat_deg, lon_deg)."""


def _rings_text(code: str, cap_polygons: CapPolygons) -> tuple[str, ...]:
    out = []
    for ring in cap_polygons(code):
        text = _ring_text(Polygon([(lon, lat) for lat, lon in ring]))
        if text is not None:
            out.append(text)
    return tuple(out)


def _ring_text(poly: Polygon) -> str | None:
    pairs: list[str] = []
    for lon, lat in poly.exterior.coords:
        pair = f"{max(-90.0, min(90.0, lat)):.4f},{max(-180.0, min(180.0, lon)):.4f}"
        if not pairs or pairs[-1] != pair:
            pairs.append(pair)
    if pairs[0] != pairs[-1]:
        pairs.append(pairs[0])
    if len(pairs) < 4 or len(set(pairs)) < 3:
        return None
    return " ".join(pairs)


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
    if text is not None:
        el.text = text
    return el


def _group_text(
    state: str, areas: Sequence[AreaWarning], msg: WarningMessage, lang: str, names: AreaNames, profile: Profile
) -> texts.Text:
    codes = [a.code for a in areas]
    reason = None
    if state == "clear":
        # One reason per group (_groups splits clears by reason).
        reason = next((a.reason for a in areas if a.reason in CLEAR_REASONS), "landed")
    elif state == "error":
        reason = msg.cancel_reason or next((a.reason for a in areas if a.reason), "operator_error")
    launch = msg.launch
    fall = msg.impact if isinstance(msg.impact, PieceFall) and state == "notice" else None
    tz_code = fall.near_area if fall is not None else (codes[0] if codes else None)
    occasion = texts.Occasion(
        tz=profiles.area_tz(tz_code, profile.tz) if tz_code else profile.tz,
        launch_t=None if launch is None else launch.time_unix_s,
        event_t=msg.sent_unix_s,
        launch_latlon=None if launch is None else (launch.lat_deg, launch.lon_deg),
        impact_latlon=None if msg.impact is None else (msg.impact.lat_deg, msg.impact.lon_deg),
        authority=profile.authority or None,
        exercise=bool(msg.exercise),
        piece_notice=fall is not None,
        zone=None if fall is None else fall.zone,
        zone_piece=None if fall is None else fall.zone_piece,
        zone_inside=fall is not None and fall.inside,
        zone_km=None if fall is None else fall.zone_km,
    )
    return texts.render(state, codes, lang, occasion, reason=reason, kinds=[a.kind for a in areas], names=names)


def _groups(msg: WarningMessage) -> list[tuple[str, list[AreaWarning]]]:
    groups: list[tuple[str, list[AreaWarning]]] = []
    for state in _GROUP_ORDER:
        members = [a for a in msg.areas if a.state == state]
        if state == "clear":
            # A group shares one text, so clears with different reasons go in separate groups.
            for reason in CLEAR_REASONS:
                same = [a for a in members if a.reason == reason]
                if same:
                    groups.append((state, same))
        elif members:
            groups.append((state, members))
    return groups


SEA_MIN_RADIUS_KM = 20.0  # a notice circle at sea is never smaller than this round the predicted point


def to_cap(
    msg: WarningMessage,
    *,
    names: AreaNames = area_name,
    web: str | None = None,
    polygon_tolerance_deg: float = POLYGON_TOLERANCE_DEG,
    cap_polygons: CapPolygons | None = None,
    profile: Profile | None = None,
    sign: bool = True,
) -> bytes:
    """One CAP 1.2 document (UTF-8 bytes with an XML declaration) for the message, for the channels of
    the profile (triwarn.warn.profiles; by default the one configured for the nation of msg.sender).

    Area polygons come from cap_polygons(code) when given (e.g. triwarn.geo.areas.AreaIndex.cap_polygons:
    closed lists of (lat_deg, lon_deg)), else from each area's geometry, simplified here. A notice of a
    fall at sea is aimed at the sea: a circle round the predicted point, no land geocode, for mariners,
    aircraft and the press. Times carry the profile's local offset (UTC is written -00:00).

    status is Exercise whenever the message comes from an exercise (message.exercise is set), and every
    headline and description then says so; Actual otherwise. The issuer (policy.Issuer) guarantees that a
    live issuer never sees exercise input, so Actual here means a live issuer. With sign, the document
    carries an enveloped XML signature with the nation's key (xmlsig.key_for) when there is one.
    """
    profile = profile or profiles.profile_for_sender(msg.sender)
    groups = _groups(msg)
    sea = bool(groups) and all(state == "notice" for state, _ in groups)
    ipaws = profile.ipaws and not sea  # IPAWS has no SAME place at sea: the notice goes out elsewhere
    tz = profile.tz
    exercise = msg.exercise
    alert = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
    _sub(alert, "identifier", msg.identifier)
    _sub(alert, "sender", profile.cap_sender(msg.sender))
    _sub(alert, "sent", cap_time(msg.sent_unix_s, tz))
    _sub(alert, "status", "Exercise" if exercise else "Actual")
    _sub(alert, "msgType", msg.msg_type)
    _sub(alert, "scope", "Public")
    if ipaws:
        _sub(alert, "code", profiles.IPAWS_CODE)
    notes = []
    if exercise:
        notes.append(f"EXERCISE {exercise} / 訓練 / 훈련")
    if msg.operator_note:
        notes.append(msg.operator_note)
    if notes:
        _sub(alert, "note", " | ".join(notes))
    if msg.references:
        _sub(alert, "references", " ".join(
            f"{profile.cap_sender(r.sender) if r.sender == msg.sender else r.sender},{r.identifier},"
            f"{cap_time(r.sent_unix_s, tz)}" for r in msg.references))
    _sub(alert, "incidents", msg.incident)
    for state, areas in groups:
        for lang in LANGUAGES:
            _info(alert, state, areas, msg, lang, names=names, profile=profile, ipaws=ipaws, web=web,
                  rings=lambda a: (_rings_text(a.code, cap_polygons) if cap_polygons is not None
                                   else polygons_latlon(a.geometry, polygon_tolerance_deg)))
    xml = etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return sign_for(msg, xml, profile) if sign else xml


def sign_for(msg: WarningMessage, xml: bytes, profile: Profile | None = None) -> bytes:
    """xml (msg's CAP document, rendered with sign=False and perhaps edited since) signed as to_cap signs:
    with the key of the profile (by default that of msg's nation; xmlsig.key_for), unchanged when there is
    none. A signed document must not be edited afterwards: the signature covers all of it."""
    profile = profile or profiles.profile_for_sender(msg.sender)
    key = xmlsig.key_for(profile, exercise=bool(msg.exercise))
    return xml if key is None else xmlsig.sign_cap(xml, key)


def _info(alert, state: str, areas: Sequence[AreaWarning], msg: WarningMessage, lang: str, *, names: AreaNames,
          profile: Profile, ipaws: bool, web: str | None, rings: Callable[[AreaWarning], Sequence[str]]) -> None:
    """One <info>: one group of areas in one state, in one language, for the profile's channels."""
    responses, urgency, severity, certainty = _INFO_CODES[state]
    tz = profile.tz
    text = _group_text(state, areas, msg, lang, names, profile)
    info = _sub(alert, "info")
    _sub(info, "language", lang)
    _sub(info, "category", "Security")
    _sub(info, "category", "Safety")
    _sub(info, "event", texts.EVENT[lang])
    for response in responses:
        _sub(info, "responseType", response)
    _sub(info, "urgency", urgency)
    _sub(info, "severity", severity)
    _sub(info, "certainty", certainty)
    if state == "notice":
        _sub(info, "audience", profiles.SEA_AUDIENCE[lang])
    _event_code(info, profiles.OET_VALUE_NAME, profiles.OET_MISSILE)
    if ipaws:
        _event_code(info, profiles.SAME, profile.same_event_code(state))
    _sub(info, "effective", cap_time(msg.sent_unix_s, tz))
    onset_candidates = [a.enter_time_unix_s for a in areas if a.enter_time_unix_s is not None]
    if state in ("shelter", "notice") and onset_candidates:
        _sub(info, "onset", cap_time(max(min(onset_candidates), msg.sent_unix_s), tz))
    _sub(info, "expires", cap_time(msg.expires_unix_s, tz))
    _sub(info, "senderName", (profile.sender_name or texts.SENDER_NAME)[lang])
    _sub(info, "headline", text.headline)
    _sub(info, "description", text.description)
    _sub(info, "instruction", text.instruction)
    _sub(info, "web", web or profile.web)
    _sub(info, "contact", profile.contact)
    params = _parameters(msg)
    if ipaws:
        params = [("EAS-ORG", profile.eas_org), *params]
    params += [("CMAMtext", text.phone), ("CMAMlongtext", text.phone_long)]
    for name, value in params:
        param = _sub(info, "parameter")
        _sub(param, "valueName", name)
        _sub(param, "value", value)
    if state == "notice":
        _sea_area(info, msg, areas, lang, names)
        return
    table = profiles.area_codes()
    for a in areas:
        area = _sub(info, "area")
        _sub(area, "areaDesc", names(a.code)[lang])
        for ring in rings(a):
            _sub(area, "polygon", ring)
        codes = table.get(a.code)
        geocodes = [("ISO3166-2", a.code)]
        if codes is not None:
            for channel, value_name, value in ((profiles.IPAWS, profiles.SAME, codes.same),
                                               (profiles.JP_LGCODE, profiles.JP_LG_VALUE_NAME, codes.jp_lg),
                                               (profiles.KR_ADMCODE, profiles.KR_ADM_VALUE_NAME, codes.kr_adm)):
                if value is not None and channel in profile.channels and (channel != profiles.IPAWS or ipaws):
                    geocodes.append((value_name, value))
        for value_name, value in geocodes:
            geocode = _sub(area, "geocode")
            _sub(geocode, "valueName", value_name)
            _sub(geocode, "value", value)


def _event_code(info, value_name: str, value: str) -> None:
    code = _sub(info, "eventCode")
    _sub(code, "valueName", value_name)
    _sub(code, "value", value)


def _sea_area(info, msg: WarningMessage, areas: Sequence[AreaWarning], lang: str, names: AreaNames) -> None:
    """The sea area of a notice: a circle round the predicted point as large as its ellipse's semi-major
    axis (at least SEA_MIN_RADIUS_KM). The land areas are named for orientation only, without a geocode, so
    that no gateway pushes the notice to their residents."""
    area = _sub(info, "area")
    imp = msg.impact
    near = texts.join_names([a.code for a in areas], lang, names, limit=3)
    if isinstance(imp, PieceFall):  # one falling piece: off the nearest area, maybe outside any EEZ
        point, near = texts.sea_point(imp.lat_deg, imp.lon_deg, lang), names(imp.near_area)[lang]
        _sub(area, "areaDesc", {"en-US": f"Sea near {point} (off {near})", "ja-JP": f"{point}付近の海域（{near}沖）",
                                "ko-KR": f"{point} 부근 해역 ({near} 앞바다)"}[lang])
        _sub(area, "circle", _circle(imp))
        return
    if imp is None:
        _sub(area, "areaDesc", {"en-US": f"Sea off {near}", "ja-JP": f"{near}沖の海域",
                                "ko-KR": f"{near} 앞바다"}[lang])
        return
    point = texts.sea_point(imp.lat_deg, imp.lon_deg, lang)
    _sub(area, "areaDesc", {"en-US": f"Sea near {point} (EEZ, off {near})",
                            "ja-JP": f"{point}付近の海域（{near}沖の排他的経済水域）",
                            "ko-KR": f"{point} 부근 해역 ({near} 앞 배타적 경제수역)"}[lang])
    _sub(area, "circle", _circle(imp))


def _circle(imp) -> str:
    """A CAP circle round the predicted point, as large as the ellipse's semi-major axis (at least
    SEA_MIN_RADIUS_KM)."""
    radius_km = max(imp.semi_major_m / 1000.0, SEA_MIN_RADIUS_KM)
    lat = max(-90.0, min(90.0, imp.lat_deg))
    lon = (imp.lon_deg + 180.0) % 360.0 - 180.0
    return f"{lat:.4f},{lon:.4f} {radius_km:.1f}"


def _parameters(msg: WarningMessage) -> list[tuple[str, str]]:
    out = []
    if msg.launch is not None:
        out.append(("launchTime", cap_time(msg.launch.time_unix_s)))
        out.append(("launchPoint", f"{msg.launch.lat_deg:.3f},{msg.launch.lon_deg:.3f}"))
    if msg.impact is not None and msg.msg_type != "Cancel":
        imp = msg.impact
        out.append(("predictedImpactPoint", f"{imp.lat_deg:.3f},{imp.lon_deg:.3f}"))
        out.append(("predictedImpactTime", cap_time(imp.time_unix_s)))
        out.append(
            (
                "predictedImpactEllipse",
                f"semiMajorKm={imp.semi_major_m / 1000:.1f} semiMinorKm={imp.semi_minor_m / 1000:.1f} "
                f"orientationDeg={imp.orientation_deg:.0f} confidence={imp.confidence:.2f}",
            )
        )
    return out


def write_cap(msg: WarningMessage, out_dir: Path, **kwargs) -> Path:
    """Write the message's CAP document to out_dir/<identifier>.xml, refusing to overwrite a file."""
    return write_cap_xml(msg, to_cap(msg, **kwargs), out_dir)


def write_cap_xml(msg: WarningMessage, xml: bytes, out_dir: Path) -> Path:
    """Write msg's rendered CAP document to out_dir/<identifier>.xml. An issued CAP file is never
    overwritten: a name clash raises FileExistsError naming the file (an identifier is never reused, so
    an existing file means a bug or a second run into the same folder). The one writer of CAP files:
    `triwarn warn` and every node's output sink (triwarn.node.outputs) use it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / cap_filename(msg)
    try:
        with open(path, "xb") as fh:
            fh.write(xml)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "an issued CAP file is never overwritten, and this one exists",
                              str(path)) from None
    return path


# ------------------------------------------------------------------------------------------ validation


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def _cap_dt(text: str | None) -> datetime | None:
    match = None if text is None else _CAP_TIME_RE.match(text)
    if match is None or int(match[1]) > 14 or int(match[2]) > 59:  # no zone is more than 14 h from UTC
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def validate_cap(xml: bytes | str) -> list[str]:
    """Every problem with a CAP 1.2 document, as readable strings; an empty list means valid.

    Checks the OASIS XSD, then the rules of the CAP 1.2 standard (OASIS CAP-v1.2-os, sections 3.2 and
    3.3) that the XSD cannot express: dateTime form with a numeric offset and UTC as -00:00 (3.3.2);
    identifier/sender without spaces, commas, < or & (3.2.1); references as sender,identifier,sent
    triples, required by Update and Cancel and never pointing at the message itself (3.2.1); a
    <restriction> for scope Restricted and <addresses> for scope Private (3.2.1); balanced quotes in
    the space-delimited <addresses> and <incidents> (3.2.1); a full absolute URI in <web> and a SHA-1
    <digest> (3.2.2, 3.2.3); polygons of >= 4 WGS 84 lat,lon pairs, closed; circles "lat,lon radius_km";
    <ceiling> only with <altitude> and not below it (3.2.4); expires after sent. Then this project's
    rules: en-US, ja-JP and ko-KR for every group of areas, ISO 3166-2 geocodes, and an exercise marked
    as such in status, note, headline and description.
    """
    try:
        doc = profiles.parse_xml(xml)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    problems: list[str] = []
    schema = _schema()
    if not schema.validate(doc):
        problems += [f"XSD line {e.line}: {e.message}" for e in schema.error_log]
    return problems + _alert_problems(doc) + _content_problems(doc) + _info_problems(doc)


_NS = {"c": CAP_NS}


def _txt(el, path: str) -> str | None:
    found = el.find(path, _NS)
    return None if found is None else found.text


def _alert_problems(doc) -> list[str]:
    """The <alert> block: identifier and sender, times, scope, lists and references."""
    problems: list[str] = []
    identifier, sender = _txt(doc, "c:identifier"), _txt(doc, "c:sender")
    for name, value in (("identifier", identifier), ("sender", sender)):
        if not value or _FORBIDDEN_ID_RE.search(value):
            problems.append(f"{name} {value!r}: empty or holds a space, comma, < or &")
    times = {}
    for el in doc.iter(*(f"{{{CAP_NS}}}{n}" for n in ("sent", "effective", "onset", "expires"))):
        name = etree.QName(el).localname
        dt = _cap_dt(el.text)
        if dt is None:
            problems.append(f"{name} {el.text!r}: not YYYY-MM-DDThh:mm:ss±hh:mm (no Z, no fractions)")
        elif el.text.endswith("+00:00"):
            problems.append(f"{name} {el.text!r}: UTC must be written -00:00")
        else:
            times.setdefault(name, []).append(dt)
    sent = times.get("sent", [None])[0]
    if sent is not None:
        for expires in times.get("expires", []):
            if expires <= sent:
                problems.append("expires is not after sent")
    msg_type, scope = _txt(doc, "c:msgType"), _txt(doc, "c:scope")
    if scope == "Restricted" and not _txt(doc, "c:restriction"):
        problems.append("scope Restricted without <restriction>")
    if scope == "Private" and not _txt(doc, "c:addresses"):
        problems.append("scope Private without <addresses>")
    for name in ("addresses", "incidents"):
        if (_txt(doc, f"c:{name}") or "").count('"') % 2:
            problems.append(f"{name}: unbalanced double quote in a space-delimited list")
    refs = _txt(doc, "c:references")
    if msg_type in ("Update", "Cancel") and not refs:
        problems.append(f"msgType {msg_type} without references")
    for triple in (refs or "").split():
        parts = triple.split(",")
        if len(parts) != 3 or not parts[0] or not parts[1] or _cap_dt(parts[2]) is None:
            problems.append(f"reference {triple!r} is not sender,identifier,sent")
        elif parts[0] == sender and parts[1] == identifier:
            problems.append(f"message references itself: {triple!r}")
    return problems


def _content_problems(doc) -> list[str]:
    """Areas (polygons, circles, altitude and ceiling, geocodes) and resources (web, digest)."""
    problems: list[str] = []
    for poly in doc.iter(f"{{{CAP_NS}}}polygon"):
        problems += _polygon_problems(poly.text or "")
    for circle in doc.iter(f"{{{CAP_NS}}}circle"):
        problems += _circle_problems(circle.text or "")
    for area in doc.iter(f"{{{CAP_NS}}}area"):
        altitude, ceiling = _txt(area, "c:altitude"), _txt(area, "c:ceiling")
        if ceiling is not None and altitude is None:
            problems.append("ceiling without altitude")
        elif ceiling is not None and altitude is not None:
            try:
                if float(ceiling) < float(altitude):
                    problems.append(f"ceiling {ceiling} below altitude {altitude}")
            except ValueError:
                pass  # the XSD types both as decimals and has reported it
    for web in doc.iter(f"{{{CAP_NS}}}web"):
        if not _ABSOLUTE_URI_RE.match((web.text or "").strip()):
            problems.append(f"web {web.text!r} is not a full absolute URI")
    for digest in doc.iter(f"{{{CAP_NS}}}digest"):
        if not _SHA1_RE.match((digest.text or "").strip()):
            problems.append(f"digest {digest.text!r} is not a SHA-1 hash (40 hex digits)")
    for gc in doc.iter(f"{{{CAP_NS}}}geocode"):
        if _txt(gc, "c:valueName") == "ISO3166-2" and not _ISO3166_2_RE.match(_txt(gc, "c:value") or ""):
            problems.append(f"geocode {_txt(gc, 'c:value')!r} is not an ISO 3166-2 code")
    return problems


def _info_problems(doc) -> list[str]:
    """The <info> blocks: present where the message type needs them, every language for every group of
    areas, and the exercise marking."""
    problems: list[str] = []
    msg_type, status = _txt(doc, "c:msgType"), _txt(doc, "c:status")
    infos = doc.findall("c:info", _NS)
    if msg_type in ("Alert", "Update", "Cancel") and not infos:
        problems.append(f"msgType {msg_type} without <info>: nothing to tell the public")
    by_group: dict[tuple, set[str]] = {}
    for info in infos:
        key = (
            tuple(r.text for r in info.findall("c:responseType", _NS)),
            tuple(sorted(_txt(a, "c:geocode/c:value") or "" for a in info.findall("c:area", _NS))),
        )
        by_group.setdefault(key, set()).add(_txt(info, "c:language") or "en-US")
        if _txt(info, "c:expires") is None:
            problems.append("an <info> has no expires")
    for (responses, codes), langs in by_group.items():
        missing = set(LANGUAGES) - langs
        if missing:
            problems.append(
                f"info {'/'.join(responses)} for {' '.join(codes)} lacks {', '.join(sorted(missing))}"
            )
    tags = {lang: texts.EXERCISE_TAG[lang] for lang in LANGUAGES}
    if status == "Exercise":
        if "EXERCISE" not in (_txt(doc, "c:note") or ""):
            problems.append("status Exercise without the exercise named in <note>")
        for info in infos:
            lang = _txt(info, "c:language") or "en-US"
            tag = tags.get(lang, "EXERCISE")
            for field in ("headline", "description"):
                if tag not in (_txt(info, f"c:{field}") or ""):
                    problems.append(f"exercise {lang} {field} does not say {tag!r}")
    elif status == "Actual":
        for info in infos:
            lang = _txt(info, "c:language") or "en-US"
            if tags.get(lang, "EXERCISE") in (_txt(info, "c:headline") or ""):
                problems.append(f"status Actual but the {lang} headline says exercise")
    return problems


def _polygon_problems(text: str) -> list[str]:
    pairs = text.split()
    out = []
    if len(pairs) < 4:
        out.append(f"polygon has {len(pairs)} pairs; at least 4 are needed")
    elif pairs[0] != pairs[-1]:
        out.append(f"polygon not closed: {pairs[0]} != {pairs[-1]}")
    for pair in pairs:
        problem = _point_problem(pair)
        if problem:
            out.append(f"polygon {problem}")
    if len(set(pairs)) < 3:
        out.append("polygon has fewer than 3 distinct points")
    return out


def _point_problem(pair: str) -> str | None:
    """What is wrong with one CAP point, "lat,lon" in WGS 84 decimal degrees; None when nothing."""
    parts = pair.split(",")
    if len(parts) != 2 or not all(_DECIMAL_RE.match(p) for p in parts):
        return f"pair {pair!r} is not lat,lon"
    lat, lon = float(parts[0]), float(parts[1])
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return f"pair {pair!r} out of range (lat,lon order?)"
    return None


def _circle_problems(text: str) -> list[str]:
    """A CAP circle is a centre point and a radius in kilometres, separated by one space."""
    parts = text.split()
    if len(parts) != 2:
        return [f"circle {text!r} is not 'lat,lon radius_km'"]
    out = []
    problem = _point_problem(parts[0])
    if problem:
        out.append(f"circle {problem}")
    if not _DECIMAL_RE.match(parts[1]) or float(parts[1]) < 0.0:
        out.append(f"circle radius {parts[1]!r} is not a distance in km")
    return out


__all__ = [
    "CAP_NS",
    "XSD_PATH",
    "cap_filename",
    "cap_time",
    "polygons_latlon",
    "sign_for",
    "to_cap",
    "validate_cap",
    "write_cap",
    "write_cap_xml",
]
