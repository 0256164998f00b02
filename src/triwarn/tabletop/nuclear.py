"""The nuclear-emergency tabletop scenario (exercise only): public consequence-planning zones for warning
people, the areas they touch, and the shelter-in-place / do-not-evacuate-into-the-plume alerts.

It computes zones for warning people; nothing in it aims or targets. The formulas and their sources are
in docs/tabletop.md:

- damage zones (severe, moderate, light): the reference radii the US Planning Guidance for Response to a
  Nuclear Detonation (2nd ed. 2010, ch. 1-2) gives for a 10 kt detonation at ground level (about 0.5, 1 and
  3 statute miles), scaled to the stated yield by the cube-root law for blast (Glasstone & Dolan 1977,
  §3.60 et seq.): R = R_10 (Y / 10 kt)^(1/3);
- dangerous-fallout footprint: Glasstone & Dolan 1977, Table 9.93, the idealized unit-time reference
  dose-rate contours of a contact surface burst of W kt in a 15 mph effective wind (downwind distance,
  maximum width and ground-zero width, each a * W^b statute miles), at the guidance's dangerous-fallout
  threshold, 10 R/h; downwind distances scaled to the scenario's wind by §9.97's factor F. The
  travel-caution corridor is the table's outermost contour, 1 R/h.

Lengths in metres, angles in degrees clockwise from north, positions WGS84 degrees.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import shapely
import shapely.affinity
from pyproj import CRS, Transformer
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from triwarn.records.events import AreaRisk
from triwarn.records.warnings import WarningMessage
from triwarn.tabletop.plan import Detonation
from triwarn.warn import texts
from triwarn.warn.area_names import LANGUAGES, area_name

MILE_M = 1609.344
MPH_M_S = 0.44704  # 1 statute mile per hour in m/s
REFERENCE_YIELD_KT = 10.0
# Planning Guidance for Response to a Nuclear Detonation (2nd ed. 2010): 10 kt at ground level.
REFERENCE_RADII_M = {"severe": 0.5 * MILE_M, "moderate": 1.0 * MILE_M, "light": 3.0 * MILE_M}

# Glasstone & Dolan 1977, Table 9.93 (contact surface burst, W kt, 15 mph effective wind): per unit-time
# reference dose rate (R/h), (a, b) of downwind distance, maximum width and ground-zero width = a * W^b miles.
TABLE_9_93: dict[float, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    3000.0: ((0.95, 0.45), (0.0076, 0.86), (0.026, 0.58)),
    1000.0: ((1.8, 0.45), (0.036, 0.76), (0.06, 0.57)),
    300.0: ((4.5, 0.45), (0.13, 0.66), (0.2, 0.48)),
    100.0: ((8.9, 0.45), (0.38, 0.60), (0.39, 0.42)),
    30.0: ((16.0, 0.45), (0.76, 0.56), (0.53, 0.41)),
    10.0: ((24.0, 0.45), (1.4, 0.53), (0.68, 0.41)),
    3.0: ((30.0, 0.45), (2.2, 0.50), (0.89, 0.41)),
    1.0: ((40.0, 0.45), (3.3, 0.48), (1.5, 0.41)),
}
TABLE_WIND_MPH = 15.0
DANGEROUS_FALLOUT_R_H = 10.0  # the guidance's dangerous-fallout zone: dose rates of 10 R/h and more
CAUTION_R_H = 1.0  # the table's outermost contour: the travel-caution corridor


@dataclass(frozen=True)
class Contour:
    """One idealized fallout contour (Table 9.93): downwind distance, maximum width, ground-zero width (m)."""

    dose_rate_r_h: float
    downwind_m: float
    max_width_m: float
    gz_width_m: float


@dataclass(frozen=True)
class Zones:
    """Radii (m) of the damage zones, the dangerous-fallout contour and the travel-caution contour, and
    the zones as lon/lat shapely geometries."""

    severe_m: float
    moderate_m: float
    light_m: float
    fallout: Contour
    caution: Contour
    wind_to_deg: float
    shapes: dict[str, BaseGeometry]

    @property
    def fallout_length_m(self) -> float:
        return self.fallout.downwind_m


def damage_radius_m(zone: str, yield_kt: float) -> float:
    """Cube-root scaling of the reference radius: R = R_10 * (Y / 10 kt)^(1/3)."""
    _check_yield(yield_kt)
    return REFERENCE_RADII_M[zone] * (yield_kt / REFERENCE_YIELD_KT) ** (1.0 / 3.0)


def _check_yield(yield_kt: float) -> None:
    if not (math.isfinite(yield_kt) and yield_kt > 0):
        raise ValueError(f"yield must be a positive number of kilotons, got {yield_kt}")


def wind_factor(wind_speed_m_s: float) -> float:
    """Glasstone & Dolan §9.97: downwind distances for an effective wind of H mph are those of Table 9.93
    times F = 1 + (H - 15)/60 (H >= 15) or 1 + (H - 15)/30 (H < 15)."""
    h = max(0.0, wind_speed_m_s) / MPH_M_S
    return 1.0 + (h - TABLE_WIND_MPH) / (60.0 if h >= TABLE_WIND_MPH else 30.0)


def contour(dose_rate_r_h: float, yield_kt: float, wind_speed_m_s: float) -> Contour:
    """The Table 9.93 contour of a unit-time reference dose rate (one of its rows) for the yield and wind."""
    _check_yield(yield_kt)
    (a_d, b_d), (a_w, b_w), (a_g, b_g) = TABLE_9_93[dose_rate_r_h]
    return Contour(dose_rate_r_h, a_d * yield_kt ** b_d * MILE_M * wind_factor(wind_speed_m_s),
                   a_w * yield_kt ** b_w * MILE_M, a_g * yield_kt ** b_g * MILE_M)


def _plume(c: Contour, east: float, north: float):
    """A contour's footprint in local metres: the convex hull of a circle of the ground-zero width round
    ground zero and an ellipse from ground zero to the downwind distance, as wide as the maximum width
    (our drawing of the table's three figures; the book draws the contours by hand)."""
    half = c.downwind_m / 2.0
    ell = shapely.affinity.scale(Point(0, 0).buffer(1.0, 64), half, max(c.max_width_m / 2.0, 1.0))
    angle = math.degrees(math.atan2(north, east))
    ell = shapely.affinity.rotate(shapely.affinity.translate(ell, half, 0.0), angle, origin=(0, 0))
    return shapely.union(ell, Point(0, 0).buffer(max(c.gz_width_m / 2.0, 1.0), 64)).convex_hull


def _to_lonlat(lat_deg: float, lon_deg: float):
    local = CRS.from_proj4(f"+proj=aeqd +lat_0={lat_deg} +lon_0={lon_deg} +datum=WGS84 +units=m")
    return Transformer.from_crs(local, CRS.from_epsg(4326), always_xy=True).transform


def zones(det: Detonation) -> Zones:
    """The planning zones of a stated detonation (see the module docstring)."""
    y = det.yield_kt
    sev, mod, light = (damage_radius_m(z, y) for z in ("severe", "moderate", "light"))
    fallout = contour(DANGEROUS_FALLOUT_R_H, y, det.wind_speed_m_s)
    caution = contour(CAUTION_R_H, y, det.wind_speed_m_s)
    az = math.radians(det.wind_to_deg)
    east, north = math.sin(az), math.cos(az)
    local = {
        "severe": Point(0, 0).buffer(sev, 64),
        "moderate": Point(0, 0).buffer(mod, 64),
        "light": Point(0, 0).buffer(light, 64),
        "fallout": _plume(fallout, east, north),
        "caution": _plume(caution, east, north),
    }
    fwd = _to_lonlat(det.lat_deg, det.lon_deg)
    shapes = {k: shapely.transform(g, fwd, interleaved=False) for k, g in local.items()}
    return Zones(sev, mod, light, fallout, caution, det.wind_to_deg, shapes)


def affected_areas(z: Zones, areas) -> dict[str, list[str]]:
    """Per zone, the area codes (land or territorial sea) it touches; `areas` is a geo.areas.AreaIndex.
    "shelter": every area in a damage zone or the fallout footprint; "caution": areas only in the
    travel-caution corridor (told not to travel into the plume)."""
    out = {k: areas.areas_intersecting(g, "territorial_sea") for k, g in z.shapes.items()}
    shelter = sorted(set(out["light"]) | set(out["fallout"]))
    out["shelter"] = shelter
    out["caution"] = sorted(set(out["caution"]) - set(shelter))
    return out


def warn_inputs(det: Detonation, t0_unix_s: float, codes: list[str]) -> list[AreaRisk]:
    """The records that put areas into a warning machine (territory probability 1, at the detonation's
    time): the shelter areas into one machine, the travel-caution areas into another (one state per CAP
    message; nuclear_cap words each)."""
    t = t0_unix_s + det.at_s
    return [AreaRisk(t=t, track="nuclear-detonation", area=code, kind="impact", probability=1.0,
                     enter_time_unix_s=t, object="primary") for code in codes]


_DIRS = {"en-US": ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"),
         "ja-JP": ("北", "北東", "東", "南東", "南", "南西", "西", "北西"),
         "ko-KR": ("북", "북동", "동", "남동", "남", "남서", "서", "북서")}
EVENT = {"en-US": "Nuclear Detonation", "ja-JP": "核爆発", "ko-KR": "핵폭발"}


def _direction(deg: float, lang: str) -> str:
    return _DIRS[lang][int(((deg % 360.0) + 22.5) // 45.0) % 8]


def _join(codes: list[str], lang: str) -> str:
    sep = {"en-US": ", ", "ja-JP": "、", "ko-KR": ", "}[lang]
    return sep.join(area_name(c)[lang] for c in codes)


def _clock(t_unix_s: float, lang: str) -> str:
    if lang == "en-US":
        return time.strftime("%H:%M UTC", time.gmtime(t_unix_s))
    return time.strftime("%H:%M", time.gmtime(t_unix_s + 9 * 3600))


def nuclear_text(state: str, codes: list[str], det: Detonation, t_unix_s: float, lang: str) -> texts.Text:
    """Our own wording of the two planning messages: shelter in place (and do not evacuate into the plume),
    and, for the areas beyond the footprint, do not travel into the plume."""
    names = _join(codes, lang)
    d = _direction(det.wind_to_deg, lang)
    at = _clock(t_unix_s, lang)
    where = f"{abs(det.lat_deg):.2f}{'N' if det.lat_deg >= 0 else 'S'} {abs(det.lon_deg):.2f}E"
    if state == "shelter":
        return {
            "en-US": texts.Text(
                f"Nuclear detonation: shelter in place now ({names})",
                f"A nuclear detonation was reported at {at} near {where}. Dangerous fallout is expected to the "
                f"{d} within the hour. Areas: {names}.",
                "Go inside now: a basement or the middle of a large brick or concrete building, away from windows. "
                f"Stay inside at least 24 hours unless officials say otherwise. Do not evacuate to the {d}: you "
                "would travel into the fallout plume. Listen for instructions."),
            "ja-JP": texts.Text(
                f"核爆発。ただちに屋内に退避（{names}）",
                f"{at}ごろ、{where}付近で核爆発が報告されました。1時間以内に{d}方向へ危険な放射性降下物が及ぶおそれ"
                f"があります。対象地域：{names}。",
                "ただちに建物の中に入り、地下室か頑丈な建物の中心部に移動し、窓から離れてください。当局から別の指示が"
                f"あるまで、少なくとも24時間は屋内にとどまってください。{d}方向へ避難しないでください。放射性降下物の"
                "中に入ることになります。"),
            "ko-KR": texts.Text(
                f"[핵폭발] 즉시 실내 대피 ({names})",
                f"{at}경 {where} 부근에서 핵폭발이 보고되었습니다. 1시간 이내에 {d}쪽으로 위험한 방사성 낙진이 "
                f"예상됩니다. 대상 지역: {names}.",
                "즉시 건물 안으로 들어가 지하실이나 튼튼한 건물의 중앙으로 이동하고 창문에서 떨어지시기 바랍니다. "
                f"당국의 다른 지시가 없으면 최소 24시간 실내에 머무르시기 바랍니다. {d}쪽으로 대피하지 마십시오. "
                "낙진 속으로 들어가게 됩니다."),
        }[lang]
    return {
        "en-US": texts.Text(
            f"Nuclear detonation: do not travel into the fallout plume ({names})",
            f"A nuclear detonation was reported at {at} near {where}; the fallout plume moves to the {d}. "
            f"Areas: {names}.",
            f"Do not travel to the {d} or toward the detonation. If you are outdoors, go inside. "
            "Listen for instructions."),
        "ja-JP": texts.Text(
            f"核爆発。放射性降下物の方向へ移動しないでください（{names}）",
            f"{at}ごろ、{where}付近で核爆発が報告されました。放射性降下物は{d}方向へ流れています。対象地域：{names}。",
            f"{d}方向や爆発地点の方向へ移動しないでください。屋外にいる場合は屋内に入ってください。当局の指示に従って"
            "ください。"),
        "ko-KR": texts.Text(
            f"[핵폭발] 낙진 방향으로 이동 금지 ({names})",
            f"{at}경 {where} 부근에서 핵폭발이 보고되었습니다. 낙진은 {d}쪽으로 이동하고 있습니다. 대상 지역: "
            f"{names}.",
            f"{d}쪽이나 폭발 지점 쪽으로 이동하지 마십시오. 실외에 계시면 실내로 들어가시기 바랍니다. "
            "당국의 안내를 따르시기 바랍니다."),
    }[lang]


SENDER_NAME = {"en-US": "triwarn public warning", "ja-JP": "triwarn 住民警報", "ko-KR": "triwarn 주민 경보"}
_PHONE_TAG = {"en-US": "EXERCISE: ", "ja-JP": "【訓練】", "ko-KR": "[훈련] "}
PHONE_MAX, PHONE_LONG_MAX = 90, 360


def phone_text(state: str, det: Detonation, lang: str, *, long: bool, exercise: bool) -> str:
    """The phone alert (at most PHONE_MAX characters; long: PHONE_LONG_MAX), exercise-tagged."""
    d = _direction(det.wind_to_deg, lang)
    short = {
        ("shelter", "en-US"): f"Nuclear detonation. Shelter in place now. Do not evacuate to the {d}.",
        ("shelter", "ja-JP"): f"核爆発。ただちに屋内に退避。{d}方向へ避難しないでください。",
        ("shelter", "ko-KR"): f"핵폭발. 즉시 실내 대피. {d}쪽으로 대피하지 마십시오.",
        ("caution", "en-US"): f"Nuclear detonation. Do not travel to the {d}, into the fallout plume.",
        ("caution", "ja-JP"): f"核爆発。{d}方向（放射性降下物の方向）へ移動しないでください。",
        ("caution", "ko-KR"): f"핵폭발. 낙진 방향인 {d}쪽으로 이동하지 마십시오.",
    }[(state, lang)]
    tag = _PHONE_TAG[lang] if exercise else ""
    if not long:
        return (tag + short)[:PHONE_MAX]
    extra = {"en-US": " Go inside a solid building, away from windows; stay inside 24 hours unless told otherwise.",
             "ja-JP": "頑丈な建物の中に入り、窓から離れ、指示があるまで24時間は屋内にとどまってください。",
             "ko-KR": " 튼튼한 건물 안으로 들어가 창문에서 떨어지고, 다른 지시가 없으면 24시간 "
                      "실내에 머무르십시오."}[lang]
    return (tag + short + extra)[:PHONE_LONG_MAX]


def nuclear_cap(msg: WarningMessage, det: Detonation, t_unix_s: float, state: str = "shelter") -> bytes:
    """The CAP document of a detonation message: warn.cap builds it unsigned (status Exercise, areas,
    references, three languages), the nuclear-emergency wording then replaces the missile texts in each
    <info> (event, headline, description, instruction, sender name, phone texts), marked as an exercise
    like every exercise text, and warn.cap.sign_for signs the result as to_cap would have (the signature
    covers the edited document). state: "shelter" (the damage zones and the fallout footprint) or
    "caution" (beyond it: do not travel into the plume). The issuer nation's alert profile
    (warn.profiles) chooses the channels' codes and the signing key."""
    from lxml import etree

    from triwarn.warn import profiles
    from triwarn.warn.cap import CAP_NS, sign_for, to_cap

    if state not in ("shelter", "caution"):
        raise ValueError(f"state must be shelter or caution, got {state!r}")
    profile = profiles.profiles().get(det.issuer, profiles.GENERIC)
    doc = etree.fromstring(to_cap(msg, sign=False, profile=profile))
    ns = {"c": CAP_NS}
    known = {a.code for a in msg.areas}
    for info in doc.findall("c:info", ns):
        lang = info.findtext("c:language", namespaces=ns)
        codes = [g.text for g in info.findall("c:area/c:geocode/c:value", ns) if g.text in known]
        codes = list(dict.fromkeys(codes)) or [a.code for a in msg.areas]
        text = nuclear_text(state, codes, det, t_unix_s, lang)
        if msg.exercise:
            text = texts.mark_exercise(text, lang)
        info.find("c:event", ns).text = EVENT[lang]
        info.find("c:headline", ns).text = text.headline
        info.find("c:description", ns).text = text.description
        info.find("c:instruction", ns).text = text.instruction
        sender = info.find("c:senderName", ns)
        if sender is not None:
            sender.text = SENDER_NAME[lang]
        for param in info.findall("c:parameter", ns):  # phone texts (WEA CMAMtext / CMAMlongtext)
            name = param.findtext("c:valueName", namespaces=ns) or ""
            if name in ("CMAMtext", "CMAMlongtext"):
                param.find("c:value", ns).text = phone_text(state, det, lang, long=name == "CMAMlongtext",
                                                           exercise=bool(msg.exercise))
    xml = etree.tostring(doc, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return sign_for(msg, xml, profile)


def area_label(code: str) -> str:
    return area_name(code)[LANGUAGES[0]]
