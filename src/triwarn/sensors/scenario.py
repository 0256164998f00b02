"""Scenario files: launches described by their published figures, and each nation's sensors.

```yaml
name: 2022-10-04 IRBM over Aomori
launches:
  - id: L1
    time_utc: "2022-10-04T07:22:00+09:00"   # ISO 8601; no offset means UTC
    site: mupyong-ni                         # or lat_deg / lon_deg
    aim_lat_deg: 40.82                       # or azimuth_deg
    aim_lon_deg: 140.74
    apogee_km: 970
    range_km: 4600
    burn_s: 180                              # optional
    missile_class: irbm                      # optional: srbm | mrbm | irbm | icbm
    salvo: {count: 4, spacing_s: 30, spread_az_deg: 4, spread_range_km: 200}   # optional
  - id: S1                                   # a satellite launch: `slv` instead of apogee/range/aim
    time_utc: "2023-11-21T22:42:28+09:00"
    site: sohae
    slv: {orbit_alt_km: 500, azimuth_deg: 176, inclination_deg: 97.4,   # azimuth and/or inclination
          stage_burn_s: [145, 120, 250], coast_s: [0, 0],                # optional
          failure: {stage: 2, mode: no_ignition}}   # optional: early_burnout | no_ignition | explosion
sensors: [...]                               # as in sensors.yaml
```

Optional top-level keys: truth_dt_s (truth sample spacing, default 1 s), flight_dt_s (integration
output step, default 1 s), start_utc / end_utc (the span sensors run; default first launch to last
impact). Other top-level keys (network, injects, ...) are kept in Scenario.extra for later use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triwarn.errors import InputError
from triwarn.geo import geodesic
from triwarn.geo.hazard_zones import HazardNotice, parse_notice
from triwarn.geo.wgs84 import MEAN_RADIUS_M
from triwarn.physics.launch import LaunchSpec
from triwarn.physics.stages import SlvSpec, StageFailure
from triwarn.sensors.definitions import Sensor, parse_sensor_list, read_yaml, sequence_lines

# Approximate launch areas from public map knowledge (the sites named in public launch reports).
SITES: dict[str, tuple[float, float]] = {
    "sunan": (39.20, 125.67),
    "pyongsong": (39.25, 125.87),
    "mupyong-ni": (40.6, 126.4),
    "pyongyang": (39.03, 125.75),
    "sohae": (39.66, 124.71),
    "sinpo": (40.03, 128.18),
    "wonsan": (39.15, 127.44),
}
HALF_EARTH_KM = math.pi * MEAN_RADIUS_M / 1e3
MAX_APOGEE_KM = 40_000.0
MAX_SALVO = 999


@dataclass(frozen=True)
class ScheduledLaunch:
    """One scheduled launch of a scenario: its id (object ids are "<id>/<object>"), launch time (unix s,
    UTC) and figures."""

    id: str
    t_unix_s: float
    spec: LaunchSpec | SlvSpec
    source: str | None = None  # where the launch was described, for messages about it
    line: int | None = None
    where: str | None = None  # e.g. "launches[0]"


@dataclass
class Scenario:
    """A loaded scenario: launches with salvos expanded into members, sensors by id, and settings."""

    name: str
    launches: list[ScheduledLaunch]
    sensors: dict[str, Sensor]
    truth_dt_s: float = 1.0
    flight_dt_s: float = 1.0
    start_unix_s: float | None = None
    end_unix_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    hazard_notice: HazardNotice | None = None  # the declared zones and launch window (`hazard_zones:`)


def parse_utc(value: Any, *, source: str, line: int | None, field_name: str) -> float:
    """An ISO 8601 time (a YAML timestamp or string; no offset means UTC) as unix seconds."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"{value!r} is not an ISO 8601 time such as 2022-10-03T22:22:00Z",
                             source=source, line=line, field=field_name) from None
    else:
        raise InputError(f"expected an ISO 8601 UTC time string, got {value!r}", source=source, line=line,
                         field=field_name)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    t = moment.timestamp()
    if not EARLIEST_UNIX_S <= t <= LATEST_UNIX_S:
        raise InputError(f"{value!s} is impossible: a time must lie in 1970-2100 UTC", source=source, line=line,
                         field=field_name)
    return t


EARLIEST_UNIX_S = 0.0  # 1970-01-01
LATEST_UNIX_S = 4_102_444_800.0  # 2100-01-01
MAX_SPAN_S = 86_400.0  # launches, start_utc and end_utc lie within a day of each other (sensors run the span)


def _top_line(text: str, key: str) -> int | None:
    """The line of a top-level key of a YAML text, for error messages."""
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"{key}:"):
            return n
    return None


class _Entry:
    """Field access for one mapping with errors that name the file, line and field."""

    def __init__(self, data: Mapping[str, Any], *, source: str, where: str, line: int | None,
                 lines: Mapping[str, int]) -> None:
        self.data, self.source, self.where, self.line, self.lines = data, source, where, line, lines

    def fail(self, key: str | None, why: str) -> InputError:
        name = self.where if key is None else f"{self.where}.{key}"
        return InputError(why, source=self.source, line=self.lines.get(key, self.line) if key else self.line,
                          field=name)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def number(self, key: str, lo: float = -math.inf, hi: float = math.inf, why: str = "",
               default: float | None = None, required: bool = True) -> float | None:
        value = self.data.get(key)
        if value is None:
            if default is not None or not required:
                return default
            raise self.fail(key, "missing required field")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {value!r}")
        value = float(value)
        if not (math.isfinite(value) and lo <= value <= hi):
            raise self.fail(key, f"{value!r} is impossible: {why}")
        return value


def _launch_site(entry: _Entry) -> tuple[float, float]:
    """The launch point of a launch entry: a named site or lat_deg/lon_deg (degrees)."""
    data = entry.data
    if entry.has("site"):
        site = str(data["site"]).strip().lower()
        if site not in SITES:
            raise entry.fail("site", f"unknown site {data['site']!r}; known: {', '.join(SITES)}")
        if entry.has("lat_deg") or entry.has("lon_deg"):
            raise entry.fail("site", "give either site or lat_deg/lon_deg, not both")
        return SITES[site]
    if not entry.has("lat_deg") and not entry.has("lon_deg"):
        raise entry.fail("site", "missing: give a named site or lat_deg and lon_deg")
    lat = entry.number("lat_deg", -90.0, 90.0, "latitude must lie in [-90, 90] degrees")
    lon = entry.number("lon_deg", -180.0, 360.0, "longitude must lie in [-180, 360] degrees")
    return lat, lon


SLV_KEYS = {"orbit_alt_km", "azimuth_deg", "inclination_deg", "stage_burn_s", "coast_s", "failure", "vehicle"}
FAILURE_KEYS = {"stage", "mode", "at_s", "pieces", "spread_mps", "seed"}


def _parse_slv(entry: _Entry, lat: float, lon: float) -> SlvSpec:
    """The `slv` mapping of a launch entry: a satellite launch (physics.stages.SlvSpec), checked."""
    raw = entry.data["slv"]
    for key in ("apogee_km", "range_km", "aim_lat_deg", "aim_lon_deg", "azimuth_deg", "salvo", "burn_s"):
        if entry.has(key):
            raise entry.fail(key, "a satellite launch takes its figures inside `slv`, not beside it")
    line = entry.lines.get("slv", entry.line)
    where = f"{entry.where}.slv"
    if not isinstance(raw, Mapping):
        raise InputError("expected a mapping {orbit_alt_km, azimuth_deg | inclination_deg, ...}",
                         source=entry.source, line=line, field=where)
    unknown = sorted(set(map(str, raw)) - SLV_KEYS)
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(SLV_KEYS))}",
                         source=entry.source, line=line, field=where)

    def numbers(key: str) -> tuple[float, ...] | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise InputError(f"expected a list of numbers, got {value!r}", source=entry.source, line=line,
                             field=f"{where}.{key}")
        return tuple(float(v) for v in value)

    failure = None
    f_raw = raw.get("failure")
    if f_raw is not None:
        if not isinstance(f_raw, Mapping) or set(map(str, f_raw)) - FAILURE_KEYS or "mode" not in f_raw:
            raise InputError(f"expected a mapping with mode and stage (keys: {', '.join(sorted(FAILURE_KEYS))})",
                             source=entry.source, line=line, field=f"{where}.failure")
        f = _Entry(f_raw, source=entry.source, where=f"{where}.failure", line=line, lines={})
        stage = f.number("stage", 1, 9, "a stage number lies in [1, 9]")
        pieces = f.number("pieces", 1, 50, "an explosion makes 1 to 50 tracked pieces", default=8.0)
        seed = f.number("seed", 0, 2**31, "a seed lies in [0, 2^31]", default=0.0)
        for name, v in (("stage", stage), ("pieces", pieces), ("seed", seed)):
            if v != int(v):
                raise f.fail(name, f"{v!r}: expected a whole number")
        failure = StageFailure(stage=int(stage), mode=str(f_raw["mode"]), at_s=f.number("at_s", default=0.0),
                               pieces=int(pieces), spread_mps=f.number("spread_mps", default=150.0),
                               seed=int(seed))
    s = _Entry(raw, source=entry.source, where=where, line=line, lines={})
    spec = SlvSpec(
        launch_lat_deg=lat, launch_lon_deg=lon, orbit_alt_km=s.number("orbit_alt_km"),
        azimuth_deg=s.number("azimuth_deg", required=False),
        inclination_deg=s.number("inclination_deg", required=False),
        stage_burn_s=numbers("stage_burn_s"), coast_s=numbers("coast_s"), failure=failure,
        vehicle=str(raw.get("vehicle", "slv3")),
    )
    from triwarn.physics.stages import validate_slv

    try:
        validate_slv(spec)
    except InputError as exc:
        raise InputError(exc.reason, source=entry.source, line=line, field=f"{where}.{exc.field}") from None
    return spec


def _parse_launch(entry: _Entry, index: int) -> list[ScheduledLaunch]:
    data = entry.data
    launch_id = str(data.get("id", f"L{index + 1}"))
    if not launch_id or "/" in launch_id or any(c.isspace() for c in launch_id):
        raise entry.fail("id", f"{launch_id!r}: a launch id must be non-empty, without '/' or spaces")
    if not entry.has("time_utc"):
        raise entry.fail("time_utc", "missing required field (launch time, ISO 8601 UTC)")
    t0 = parse_utc(data["time_utc"], source=entry.source, line=entry.lines.get("time_utc", entry.line),
                   field_name=f"{entry.where}.time_utc")

    lat, lon = _launch_site(entry)
    if entry.has("slv"):
        spec = _parse_slv(entry, lat, lon)
        return [ScheduledLaunch(launch_id, t0, spec, entry.source, entry.line, entry.where)]
    has_az = entry.has("azimuth_deg")
    has_aim = entry.has("aim_lat_deg") or entry.has("aim_lon_deg")
    if has_az == has_aim:
        raise entry.fail("azimuth_deg", "give exactly one direction: azimuth_deg or aim_lat_deg/aim_lon_deg")
    azimuth = aim_lat = aim_lon = None
    if has_az:
        azimuth = entry.number("azimuth_deg", -360.0, 360.0, "azimuth must lie in [-360, 360] degrees")
    else:
        aim_lat = entry.number("aim_lat_deg", -90.0, 90.0, "latitude must lie in [-90, 90] degrees")
        aim_lon = entry.number("aim_lon_deg", -180.0, 360.0, "longitude must lie in [-180, 360] degrees")
        dist_m, _ = geodesic.inverse(lat, lon, aim_lat, aim_lon)
        if float(dist_m) < 1_000.0:
            raise entry.fail("aim_lat_deg", "the aim point is the launch point: no direction")

    apogee = entry.number("apogee_km", 0.0, MAX_APOGEE_KM, f"apogee must lie in (0, {MAX_APOGEE_KM:.0f}] km")
    if apogee <= 0.0:
        raise entry.fail("apogee_km", f"{apogee!r} is impossible: apogee must be positive")
    rng_km = entry.number("range_km", 0.0, HALF_EARTH_KM,
                          f"a ballistic range lies in (0, {HALF_EARTH_KM:.0f}] km, half the Earth's girth")
    if rng_km <= 0.0:
        raise entry.fail("range_km", f"{rng_km!r} is impossible: range must be positive")
    burn = entry.number("burn_s", 1.0, 1_000.0, "a burn time lies in [1, 1000] s", required=False)
    mclass = data.get("missile_class")
    if mclass is not None:
        from triwarn.physics.missiles import CLASSES

        if str(mclass).strip().lower() not in CLASSES:
            raise entry.fail("missile_class",
                             f"unknown missile class {mclass!r}; known: {', '.join(CLASSES)}")
        mclass = str(mclass).strip().lower()

    base = LaunchSpec(launch_lat_deg=lat, launch_lon_deg=lon, apogee_km=apogee, range_km=rng_km,
                      azimuth_deg=azimuth, aim_lat_deg=aim_lat, aim_lon_deg=aim_lon, burn_s=burn,
                      missile_class=mclass)
    salvo = data.get("salvo")
    if salvo is None:
        return [ScheduledLaunch(launch_id, t0, base, entry.source, entry.line, entry.where)]
    if not isinstance(salvo, Mapping):
        raise entry.fail("salvo", "expected a mapping {count, spacing_s, spread_az_deg, spread_range_km}")
    s = _Entry(salvo, source=entry.source, where=f"{entry.where}.salvo",
               line=entry.lines.get("salvo", entry.line), lines={})
    count_f = s.number("count", 1, MAX_SALVO, f"a salvo has 1 to {MAX_SALVO} missiles")
    if count_f != int(count_f):
        raise s.fail("count", f"{count_f!r}: a count must be a whole number")
    count = int(count_f)
    spacing = s.number("spacing_s", 0.0, 86_400.0, "spacing lies in [0, 86400] s")
    spread_az = s.number("spread_az_deg", 0.0, 90.0, "spread lies in [0, 90] degrees", default=0.0)
    spread_rng = s.number("spread_range_km", 0.0, rng_km, "spread lies in [0, range_km]", default=0.0)
    if spread_az and azimuth is None:
        _, azimuth_from_aim = geodesic.inverse(lat, lon, aim_lat, aim_lon)
        azimuth = float(azimuth_from_aim)
    members = []
    for k in range(count):
        frac = (k / (count - 1) - 0.5) if count > 1 else 0.0  # members spread evenly across the width
        spec = LaunchSpec(
            launch_lat_deg=lat, launch_lon_deg=lon, apogee_km=apogee,
            range_km=min(HALF_EARTH_KM, rng_km + frac * spread_rng),
            azimuth_deg=None if azimuth is None else (azimuth + frac * spread_az) % 360.0,
            aim_lat_deg=None if spread_az else aim_lat, aim_lon_deg=None if spread_az else aim_lon,
            burn_s=burn, missile_class=mclass,
        )
        members.append(ScheduledLaunch(f"{launch_id}-{k + 1:02d}", t0 + k * spacing, spec, entry.source,
                                   entry.line, entry.where))
    return members


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML. InputError naming file, line, field and why on anything unusable."""
    source = str(path)
    data, text = read_yaml(path, "scenario")
    if not isinstance(data, Mapping):
        raise InputError("a scenario must be a mapping with 'launches' and 'sensors'", source=source)
    top = _Entry(data, source=source, where="scenario", line=None, lines={})
    launches_raw = data.get("launches")
    if not isinstance(launches_raw, list) or not launches_raw:
        raise InputError("expected a non-empty list of launches", source=source, field="launches")
    item_lines, key_lines = sequence_lines(text, "launches")
    launches: list[ScheduledLaunch] = []
    for i, raw in enumerate(launches_raw):
        line = item_lines[i] if i < len(item_lines) else None
        lines = key_lines[i] if i < len(key_lines) else {}
        if not isinstance(raw, Mapping):
            raise InputError("a launch must be a mapping of fields", source=source, line=line,
                             field=f"launches[{i}]")
        launches.extend(_parse_launch(_Entry(raw, source=source, where=f"launches[{i}]", line=line,
                                             lines=lines), i))
    seen: set[str] = set()
    for ev in launches:
        if ev.id in seen:
            raise InputError(f"duplicate launch id {ev.id!r}", source=source, field="launches")
        seen.add(ev.id)
    if "sensors" not in data:
        raise InputError("missing required list of sensors", source=source, field="sensors")
    sensors = parse_sensor_list(data["sensors"], source=source, text=text)
    truth_dt = top.number("truth_dt_s", 0.01, 3600.0, "truth spacing lies in [0.01, 3600] s", default=1.0)
    flight_dt = top.number("flight_dt_s", 0.01, 60.0, "flight step lies in [0.01, 60] s", default=1.0)
    start = end = None
    if data.get("start_utc") is not None:
        start = parse_utc(data["start_utc"], source=source, line=_top_line(text, "start_utc"),
                          field_name="start_utc")
    if data.get("end_utc") is not None:
        end = parse_utc(data["end_utc"], source=source, line=_top_line(text, "end_utc"), field_name="end_utc")
    if start is not None and end is not None and end <= start:
        raise InputError("end_utc must be after start_utc", source=source, line=_top_line(text, "end_utc"),
                         field="end_utc")
    _check_span(launches, start, end, source, text)
    known = {"name", "description", "launches", "sensors", "truth_dt_s", "flight_dt_s", "start_utc",
             "end_utc", "hazard_zones"}
    return Scenario(hazard_notice=_hazard_notice(data.get("hazard_zones"), source, text),
        name=str(data.get("name", Path(path).stem)), launches=launches, sensors=sensors,
        truth_dt_s=truth_dt, flight_dt_s=flight_dt, start_unix_s=start, end_unix_s=end,
        extra={k: v for k, v in data.items() if k not in known},
    )


def _hazard_notice(value: Any, source: str, text: str) -> HazardNotice | None:
    """The `hazard_zones` block (a navigational warning's text, geo.hazard_zones), lines counted in the
    scenario file."""
    if value is None:
        return None
    top = _top_line(text, "hazard_zones")
    if not isinstance(value, str):
        raise InputError("expected the warning's text (a YAML block: `hazard_zones: |`)", source=source,
                         line=top, field="hazard_zones")
    try:
        return parse_notice(value, source)
    except InputError as exc:
        line = None if exc.line is None or top is None else top + exc.line
        raise InputError(exc.reason, source=source, line=line, field=f"hazard_zones.{exc.field}") from None


def _check_span(launches: list[ScheduledLaunch], start: float | None, end: float | None, source: str,
                text: str) -> None:
    """Launches, start_utc and end_utc within MAX_SPAN_S of each other (the sensors run the whole span: a
    start_utc of 1900 would simulate a century of clutter)."""
    first = min(ev.t_unix_s for ev in launches)
    last = max(ev.t_unix_s for ev in launches)
    day = f"{MAX_SPAN_S / 3600:.0f} h"
    if last - first > MAX_SPAN_S:
        raise InputError(f"launches span {(last - first) / 3600:.1f} h: a scenario covers at most {day}",
                         source=source, field="launches")
    for key, t in (("start_utc", start), ("end_utc", end)):
        if t is not None and max(abs(t - first), abs(t - last)) > MAX_SPAN_S:
            raise InputError(f"is more than {day} away from the launches", source=source,
                             line=_top_line(text, key), field=key)


# Bundled scenarios: shipped in the package (triwarn/scenarios/*.yaml), usable by name anywhere a scenario
# path is (`triwarn simulate 2022-10-04-irbm-aomori`, `triwarn exercise run salvo-srbm-24.yaml`).

def bundled_dir() -> Path:
    """The folder of the scenarios shipped with triwarn."""
    import importlib.resources

    return Path(str(importlib.resources.files("triwarn") / "scenarios"))


def bundled_names() -> list[str]:
    """The bundled scenarios' names (file names without .yaml), sorted."""
    return sorted(p.stem for p in bundled_dir().glob("*.yaml"))


def resolve_scenario(path: str | Path) -> Path:
    """The scenario file a command line argument names: an existing file as it is, else a bundled scenario
    by name (with or without .yaml). InputError naming close matches for an unknown name."""
    import difflib

    given = Path(path)
    if given.exists():
        return given
    name = given.name[:-5] if given.name.endswith(".yaml") else given.name
    if given.parent != Path(".") or not name:  # a path, not a name: the file is simply missing
        raise InputError("scenario file not found", source=str(path))
    candidate = bundled_dir() / f"{name}.yaml"
    if candidate.is_file():
        return candidate
    names = bundled_names()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    if not close:
        close = [n for n in names if name and name.lower() in n.lower()][:3]
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise InputError(f"no such file, and no bundled scenario of that name; {hint}"
                     "`triwarn scenarios list` lists the bundled ones", source=str(path))


@dataclass(frozen=True)
class ScenarioInfo:
    """One line of `triwarn scenarios list`."""

    name: str
    title: str
    description: str
    launches: int
    sensors_by_nation: dict[str, int]
    exercise: bool


def _description(data: Mapping[str, Any], text: str) -> str:
    """The scenario's `description`, else the first sentence of its leading comment."""
    if isinstance(data.get("description"), str):
        return " ".join(data["description"].split())
    comment = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    words = " ".join(comment)
    end = words.find(". ")
    return words[: end + 1] if end >= 0 else words


def scenario_info(path: Path) -> ScenarioInfo:
    """What `triwarn scenarios list` shows of one scenario file (loaded and checked)."""
    from collections import Counter

    sc = load_scenario(path)
    data, text = read_yaml(path, "scenario")
    nations = Counter(getattr(s, "nation", "?") for s in sc.sensors.values())
    exercise = any(k in sc.extra for k in ("exercise", "injects", "network"))
    return ScenarioInfo(name=Path(path).stem, title=sc.name, description=_description(data, text),
                        launches=len(sc.launches), sensors_by_nation=dict(sorted(nations.items())),
                        exercise=exercise)


def bundled_scenarios() -> list[ScenarioInfo]:
    """Every bundled scenario's listing line, by name."""
    return [scenario_info(bundled_dir() / f"{name}.yaml") for name in bundled_names()]
