"""Dissemination profiles: what each nation's alert channels need in a CAP document beyond CAP 1.2 itself,
chosen per nation in configuration (triwarn/data/cap/profiles.yaml), and the checker of a document
against them.

Channels (docs/alert-profiles.md gives the sources):
  - ``ipaws-v1.0``: the OASIS CAP v1.2 IPAWS USA Profile v1.0 (US: WEA and EAS): <code>IPAWSv1.0</code>,
    exactly one SAME event code per <info>, a SAME location code on every area, the EAS-ORG parameter,
    CMAMtext (<= 90 characters) and CMAMlongtext (<= 360), and local time offsets. A notice of a fall
    at sea has no SAME place to go to and is not for phones or broadcast: it is written without the
    IPAWS marks (so IPAWS does not take it) and goes out on the other channels;
  - ``google-public-alerts``: <web> and <contact> in every <info>, a domain- or e-mail-style <sender>,
    <senderName>;
  - ``jp-lgcode``: every land area also carries Japan's national local-government code;
  - ``kr-admcode``: every land area also carries Korea's administrative standard code.
Every channel gets the OASIS event term OET-129 (missile threat) in every <info>, and every message
carries one decision (all its <info> blocks share one responseType set).

`check_areas(profile, codes)` is the start-up check: an area a channel cannot address (no SAME code on
the IPAWS channel) is refused there, by name, rather than when the alert is due.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from lxml import etree

from triwarn.errors import InputError

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "cap"
PROFILES_PATH = DATA_DIR / "profiles.yaml"
AREA_CODES_PATH = DATA_DIR / "area_codes.yaml"

IPAWS = "ipaws-v1.0"
GOOGLE = "google-public-alerts"
JP_LGCODE = "jp-lgcode"
KR_ADMCODE = "kr-admcode"
CHANNELS = (IPAWS, GOOGLE, JP_LGCODE, KR_ADMCODE)

IPAWS_CODE = "IPAWSv1.0"
OET_VALUE_NAME = "OET:v1.2"
OET_MISSILE = "OET-129"
SAME = "SAME"
JP_LG_VALUE_NAME = "JP-LGCODE"
KR_ADM_VALUE_NAME = "KR-ADMCODE"
CMAM_TEXT_MAX = 90
CMAM_LONG_TEXT_MAX = 360
SEA_AUDIENCE = {
    "en-US": "Mariners, aircraft and the press",
    "ja-JP": "船舶・航空機・報道機関",
    "ko-KR": "선박·항공기·언론",
}

_SENDER_RE = re.compile(r"^(?:[A-Za-z0-9._%+-]+@)?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
_SAME_LOC_RE = re.compile(r"^\d{6}$")
_SAME_EVENT_RE = re.compile(r"^[A-Z]{3}$")
_JP_LG_RE = re.compile(r"^\d{6}$")
_KR_ADM_RE = re.compile(r"^\d{10}$")
_LANGS = ("en-US", "ja-JP", "ko-KR")


@dataclass(frozen=True)
class AreaCodes:
    """The codes the channels address one area by, and its IANA time zone."""

    tz: str
    same: str | None = None
    jp_lg: str | None = None
    kr_adm: str | None = None


@dataclass(frozen=True)
class Profile:
    """One nation's channels and what they need to know of the issuer (profiles.yaml)."""

    name: str
    channels: tuple[str, ...]
    tz: str
    web: str
    contact: str
    sender: str | None = None  # the CAP <sender>; None: the message's own sender
    eas_org: str = "CIV"
    same_event: Mapping[str, str] = field(default_factory=lambda: {"shelter": "CDW", "other": "CEM"})
    sender_name: Mapping[str, str] = field(default_factory=dict)
    authority: Mapping[str, str] = field(default_factory=dict)
    signing_key: str | None = None  # PEM files (xmlsig.py); None: a run key in exercises, unsigned live
    signing_cert: str | None = None
    sender_domain: str | None = None  # for senders that are not domain-style (GENERIC)

    @property
    def ipaws(self) -> bool:
        return IPAWS in self.channels

    def same_event_code(self, state: str) -> str:
        return self.same_event.get(state, self.same_event["other"])

    def cap_sender(self, sender: str) -> str:
        """The CAP <sender>: the configured one, else the issuer's own when it is domain- or e-mail-style,
        else the issuer's name as a mailbox at sender_domain."""
        if self.sender:
            return self.sender
        if _SENDER_RE.match(sender) or not self.sender_domain:
            return sender
        return f"{sender}@{self.sender_domain}"


GENERIC = Profile(
    name="generic",
    channels=(GOOGLE,),
    tz="UTC",
    web="https://triwarn.org/alerts",
    contact="triwarn operator",
    sender_name={"en-US": "triwarn missile warning", "ja-JP": "triwarn ミサイル警報", "ko-KR": "triwarn 미사일 경보"},
    authority={"en-US": "triwarn", "ja-JP": "triwarn", "ko-KR": "triwarn"},
    sender_domain="triwarn.org",
)
"""For senders with no nation (e.g. `triwarn warn --sender X`): the Google requirements and OET only."""


def _need(d: Mapping, key: str, source: str, where: str, kind=str):
    value = d.get(key)
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise InputError(f"needs {key} ({kind.__name__})", source=source, field=f"{where}.{key}")
    return value


def _load_yaml(path: Path) -> dict:
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read ({exc})", source=str(path)) from None
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise InputError("not a version 1 mapping", source=str(path), field="version")
    return doc


def load_profiles(path: Path = PROFILES_PATH) -> dict[str, Profile]:
    """The profiles per nation from a profiles.yaml; InputError naming the file and field when bad."""
    src = str(path)
    nations = _load_yaml(path).get("nations")
    if not isinstance(nations, dict) or not nations:
        raise InputError("needs a mapping of nations", source=src, field="nations")
    out: dict[str, Profile] = {}
    for nation, d in nations.items():
        where = f"nations.{nation}"
        if not isinstance(d, dict):
            raise InputError("must be a mapping", source=src, field=where)
        channels = tuple(_need(d, "channels", src, where, list))
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            raise InputError(f"unknown channel {unknown[0]!r}; one of {', '.join(CHANNELS)}", source=src,
                             field=f"{where}.channels")
        sender = d.get("sender")
        if sender is not None and not _SENDER_RE.match(str(sender)):
            raise InputError(f"sender {sender!r} is not domain- or e-mail-style", source=src, field=f"{where}.sender")
        same_event = dict(d.get("same_event") or {"shelter": "CDW", "other": "CEM"})
        if "other" not in same_event or not all(_SAME_EVENT_RE.match(str(v)) for v in same_event.values()):
            raise InputError("needs three-letter codes, with 'other'", source=src, field=f"{where}.same_event")
        names = {k: str(v) for k, v in (d.get("sender_name") or {}).items()}
        authority = {k: str(v) for k, v in (d.get("authority") or {}).items()}
        for key, table in (("sender_name", names), ("authority", authority)):
            if set(table) != set(_LANGS):
                raise InputError(f"needs {', '.join(_LANGS)}", source=src, field=f"{where}.{key}")
        out[str(nation)] = Profile(
            name=str(nation), channels=channels, tz=_need(d, "tz", src, where), web=_need(d, "web", src, where),
            contact=_need(d, "contact", src, where), sender=sender, eas_org=str(d.get("eas_org", "CIV")),
            same_event=same_event, sender_name=names, authority=authority,
            signing_key=_path(d, "signing_key", path), signing_cert=_path(d, "signing_cert", path),
        )
    return out


def _path(d: Mapping, key: str, base: Path) -> str | None:
    value = d.get(key)
    return None if value is None else str((Path(base).parent / str(value)).resolve())


def load_area_codes(path: Path = AREA_CODES_PATH) -> dict[str, AreaCodes]:
    """Each ISO 3166-2 area's channel codes and time zone (area_codes.yaml)."""
    src = str(path)
    areas = _load_yaml(path).get("areas")
    if not isinstance(areas, dict):
        raise InputError("needs a mapping of areas", source=src, field="areas")
    out = {}
    for code, d in areas.items():
        if not isinstance(d, dict) or not isinstance(d.get("tz"), str):
            raise InputError("needs tz", source=src, field=f"areas.{code}")
        for key, pattern in (("same", _SAME_LOC_RE), ("jp_lg", _JP_LG_RE), ("kr_adm", _KR_ADM_RE)):
            if d.get(key) is not None and not pattern.match(str(d[key])):
                raise InputError(f"{d[key]!r} is not a {key} code", source=src, field=f"areas.{code}.{key}")
        if d.get("jp_lg") is not None and not jp_lg_check_ok(str(d["jp_lg"])):
            raise InputError(f"{d['jp_lg']!r}: wrong check digit", source=src, field=f"areas.{code}.jp_lg")
        out[str(code)] = AreaCodes(tz=d["tz"], same=d.get("same"), jp_lg=d.get("jp_lg"), kr_adm=d.get("kr_adm"))
    return out


def jp_lg_check_ok(code: str) -> bool:
    """Whether a 6-digit Japanese local-government code's last digit is its check digit (modulus 11 over
    the first five digits with weights 6, 5, 4, 3, 2)."""
    if not _JP_LG_RE.match(code):
        return False
    s = sum(int(d) * w for d, w in zip(code[:5], (6, 5, 4, 3, 2), strict=True))
    check = (11 - s % 11) % 10 if s >= 11 else 11 - s
    return int(code[5]) == check


@cache
def profiles() -> dict[str, Profile]:
    return load_profiles()


@cache
def area_codes() -> dict[str, AreaCodes]:
    return load_area_codes()


def nation_of_sender(sender: str) -> str | None:
    """The nation of a node's sender ("triwarn-us" -> "us"); None for any other sender."""
    m = re.fullmatch(r"triwarn-([a-z]{2})", sender)
    return m[1] if m else None


def profile_for_sender(sender: str) -> Profile:
    """The configured profile of the nation whose node uses this sender, or GENERIC."""
    nation = nation_of_sender(sender)
    return profiles().get(nation, GENERIC) if nation else GENERIC


def area_tz(code: str, default: str) -> str:
    codes = area_codes().get(code)
    return codes.tz if codes is not None else default


def check_areas(profile: Profile, codes: Iterable[str], table: Mapping[str, AreaCodes] | None = None) -> None:
    """Refuse (InputError naming the area) a profile whose channels cannot address one of the areas."""
    table = area_codes() if table is None else table
    need = [(IPAWS, "same", "SAME location code"), (JP_LGCODE, "jp_lg", "Japanese local-government code"),
            (KR_ADMCODE, "kr_adm", "Korean administrative standard code")]
    for code in sorted(codes):
        entry = table.get(code)
        for channel, attr, what in need:
            if channel in profile.channels and (entry is None or getattr(entry, attr) is None):
                raise InputError(
                    f"profile {profile.name!r} sends on {channel}, but area {code} has no {what} "
                    f"(add it to {AREA_CODES_PATH.name}, or take the channel out of {PROFILES_PATH.name})",
                    source=str(AREA_CODES_PATH), field=f"areas.{code}")


# ------------------------------------------------------------------------------------------- checking

_NS = {"c": CAP_NS}


def _values(el, value_name: str, path: str) -> list[str]:
    return [(g.findtext("c:value", namespaces=_NS) or "") for g in el.findall(path, _NS)
            if g.findtext("c:valueName", namespaces=_NS) == value_name]


def _params(info) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in info.findall("c:parameter", _NS):
        out.setdefault(p.findtext("c:valueName", namespaces=_NS) or "", []).append(
            p.findtext("c:value", namespaces=_NS) or "")
    return out


def is_sea_info(info) -> bool:
    """An <info> aimed at the sea: a notice (responseType Monitor only) whose areas carry no land code."""
    responses = [r.text for r in info.findall("c:responseType", _NS)]
    return responses == ["Monitor"] and not info.findall("c:area/c:geocode", _NS)


def parse_xml(xml: bytes | str) -> etree._Element:
    """The root element of an XML document from outside, parsed without resolving entities or touching the
    network (etree.XMLSyntaxError if it is not well formed)."""
    data = xml.encode() if isinstance(xml, str) else xml
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))


def check_profile(xml: bytes | str | etree._Element, profile: Profile) -> list[str]:
    """Every way a CAP document falls short of the profile's channels; empty when it satisfies them all.
    (CAP 1.2 itself is cap.validate_cap's business.)"""
    if isinstance(xml, etree._Element):
        doc = xml
    else:
        try:
            doc = parse_xml(xml)
        except etree.XMLSyntaxError as exc:
            return [f"not well-formed XML: {exc}"]
    problems: list[str] = []
    infos = doc.findall("c:info", _NS)
    decisions = {tuple(r.text for r in i.findall("c:responseType", _NS)) for i in infos}
    if len(decisions) > 1:
        problems.append(f"mixed states in one message: {sorted('/'.join(d) for d in decisions)}")
    for k, info in enumerate(infos):
        lang = info.findtext("c:language", namespaces=_NS) or "en-US"
        where = f"info {k + 1} ({lang})"
        if _values(info, OET_VALUE_NAME, "c:eventCode") != [OET_MISSILE]:
            problems.append(f"{where}: needs exactly one eventCode {OET_VALUE_NAME} {OET_MISSILE}")
        if is_sea_info(info):
            audience = info.findtext("c:audience", namespaces=_NS) or ""
            if not audience:
                problems.append(f"{where}: a sea notice names no audience (mariners, press)")
            if not info.findall("c:area/c:circle", _NS) and not info.findall("c:area/c:polygon", _NS):
                problems.append(f"{where}: a sea notice has no circle or polygon at sea")
        elif [r.text for r in info.findall("c:responseType", _NS)] == ["Monitor"]:
            problems.append(f"{where}: a notice aimed at land areas (geocodes) instead of the sea")
    if GOOGLE in profile.channels:
        problems += _google_problems(doc, infos)
    sea_only = bool(infos) and all(is_sea_info(i) for i in infos)
    has_ipaws_code = IPAWS_CODE in [c.text for c in doc.findall("c:code", _NS)]
    if profile.ipaws and not sea_only:
        problems += _ipaws_problems(doc, infos)
    elif has_ipaws_code and sea_only:
        problems.append(f"a sea notice marked {IPAWS_CODE}: IPAWS has no SAME place for it")
    for channel, value_name, pattern in ((JP_LGCODE, JP_LG_VALUE_NAME, _JP_LG_RE),
                                         (KR_ADMCODE, KR_ADM_VALUE_NAME, _KR_ADM_RE)):
        if channel not in profile.channels:
            continue
        for k, info in enumerate(infos):
            for area in info.findall("c:area", _NS):
                if not area.findall("c:geocode", _NS):
                    continue  # at sea
                desc = area.findtext("c:areaDesc", namespaces=_NS)
                values = _values(area, value_name, "c:geocode")
                if len(values) != 1 or not pattern.match(values[0]):
                    problems.append(f"info {k + 1} area {desc!r}: needs one {value_name} geocode")
                elif channel == JP_LGCODE and not jp_lg_check_ok(values[0]):
                    problems.append(f"info {k + 1} area {desc!r}: {values[0]} has a wrong check digit")
    return problems


def _google_problems(doc, infos) -> list[str]:
    problems = []
    sender = doc.findtext("c:sender", namespaces=_NS) or ""
    if not _SENDER_RE.match(sender):
        problems.append(f"sender {sender!r} is not a unique domain- or e-mail-style name (Google)")
    for k, info in enumerate(infos):
        for name in ("web", "contact", "senderName"):
            if not (info.findtext(f"c:{name}", namespaces=_NS) or "").strip():
                problems.append(f"info {k + 1}: no <{name}> (Google Public Alerts)")
    return problems


def _ipaws_problems(doc, infos) -> list[str]:
    problems = []
    if IPAWS_CODE not in [c.text for c in doc.findall("c:code", _NS)]:
        problems.append(f"no <code>{IPAWS_CODE}</code>")
    sent = doc.findtext("c:sent", namespaces=_NS) or ""
    if sent.endswith("-00:00"):
        problems.append(f"sent {sent!r}: IPAWS expects the local offset of the place, not -00:00")
    if doc.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None:
        problems.append("not signed (IPAWS takes XML-DSig enveloped signatures only)")
    for k, info in enumerate(infos):
        where = f"info {k + 1}"
        events = _values(info, SAME, "c:eventCode")
        if len(events) != 1 or not _SAME_EVENT_RE.match(events[0]):
            problems.append(f"{where}: needs exactly one SAME eventCode of three letters, has {events}")
        params = _params(info)
        if len(params.get("EAS-ORG", [])) != 1:
            problems.append(f"{where}: needs one EAS-ORG parameter")
        for name, limit in (("CMAMtext", CMAM_TEXT_MAX), ("CMAMlongtext", CMAM_LONG_TEXT_MAX)):
            values = params.get(name, [])
            if len(values) != 1:
                problems.append(f"{where}: needs one {name} parameter")
            elif len(values[0]) > limit:
                problems.append(f"{where}: {name} has {len(values[0])} characters, more than {limit}")
        for area in info.findall("c:area", _NS):
            if not any(_SAME_LOC_RE.match(v) for v in _values(area, SAME, "c:geocode")):
                desc = area.findtext("c:areaDesc", namespaces=_NS)
                problems.append(f"{where} area {desc!r}: no SAME location geocode")
    return problems


__all__ = [
    "CHANNELS",
    "GENERIC",
    "GOOGLE",
    "IPAWS",
    "JP_LGCODE",
    "KR_ADMCODE",
    "AreaCodes",
    "Profile",
    "area_codes",
    "area_tz",
    "check_areas",
    "check_profile",
    "is_sea_info",
    "jp_lg_check_ok",
    "load_area_codes",
    "load_profiles",
    "nation_of_sender",
    "profile_for_sender",
    "profiles",
]
