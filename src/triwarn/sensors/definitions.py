"""Sensor definitions: the radar and infrared sensor types, the checks of their fields, and the reader of
sensors.yaml (and of the sensor lists in scenario files), with the YAML line numbers its errors name.

Fields are in file units (degrees, metres, seconds); the types give SI helpers. A bad entry raises an
InputError naming file, line and field and saying why (see docs/formats.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import yaml
from numpy.typing import NDArray

from triwarn.errors import InputError
from triwarn.geo.frames import geodetic_to_ecef
from triwarn.records import NATIONS

GEO_RADIUS_M = 42_164_172.0  # geostationary orbit radius (GM / Ω²)^(1/3)
GEO_ALT_M = 35_786_000.0


class RadarSensor(msgspec.Struct, frozen=True, kw_only=True):
    """A ground (or ship) radar. Fields in file units (degrees, metres, seconds); SI helpers below.

    Required: id, nation, lat_deg, lon_deg, alt_m, sigma_range_m, sigma_az_deg, sigma_el_deg, revisit_s,
    max_range_m, min_el_deg, p_detect. Optional: clutter_rate (mean false detections per scan, Poisson),
    scan_phase_s (scans at t = scan_phase_s + k * revisit_s, unix seconds), boresight_az_deg and
    half_width_az_deg (azimuth field of regard; 180 = all round), max_el_deg, range_resolution_m and
    beamwidth_deg (objects sharing one such cell in a scan give one detection; 0 turns this off).
    """

    id: str
    nation: str
    lat_deg: float
    lon_deg: float
    alt_m: float
    sigma_range_m: float
    sigma_az_deg: float
    sigma_el_deg: float
    revisit_s: float
    max_range_m: float
    min_el_deg: float
    p_detect: float
    kind: Literal["radar"] = "radar"
    clutter_rate: float = 0.0
    scan_phase_s: float = 0.0
    boresight_az_deg: float = 0.0
    half_width_az_deg: float = 180.0
    max_el_deg: float = 90.0
    range_resolution_m: float = 30.0
    beamwidth_deg: float = 1.0

    @property
    def lat_rad(self) -> float:
        return math.radians(self.lat_deg)

    @property
    def lon_rad(self) -> float:
        return math.radians(self.lon_deg)

    @property
    def sigma_az_rad(self) -> float:
        return math.radians(self.sigma_az_deg)

    @property
    def sigma_el_rad(self) -> float:
        return math.radians(self.sigma_el_deg)

    @property
    def min_el_rad(self) -> float:
        return math.radians(self.min_el_deg)

    @property
    def max_el_rad(self) -> float:
        return math.radians(self.max_el_deg)

    @property
    def beamwidth_rad(self) -> float:
        return math.radians(self.beamwidth_deg)

    @property
    def boresight_az_rad(self) -> float:
        return math.radians(self.boresight_az_deg)

    @property
    def half_width_az_rad(self) -> float:
        return math.radians(self.half_width_az_deg)

    @property
    def pos_ecef_m(self) -> NDArray[np.float64]:
        """Site position in ECEF (m), shape (3,)."""
        return geodetic_to_ecef(self.lat_rad, self.lon_rad, self.alt_m)


class IrSensor(msgspec.Struct, frozen=True, kw_only=True):
    """A space-based infrared sensor that sees boost plumes and reports lines of sight.

    Required: id, nation, platform ("geo" or "heo"), sigma_los_urad (1-sigma error of each of the two
    line-of-sight angles, microradians), frame_s (frame period), latency_s (observation to report),
    p_detect. GEO needs sub_lon_deg. HEO needs Keplerian elements: sma_km, ecc, incl_deg, raan_deg,
    argp_deg, mean_anomaly_deg at epoch_unix_s (RAAN measured from the ECEF x axis at the epoch).
    Optional: frame_phase_s (frames at t = frame_phase_s + k * frame_s), boost_only (true: sees only
    burning objects, the plume; false also sees hot objects after burnout, for tests of other sensors),
    min_alt_m (plumes below this height, e.g. under cloud, are not seen; default 0), resolution_urad
    (plumes sharing a pixel of this size in one frame give one report; default 30, 0 turns it off).
    lat_deg/lon_deg/alt_m are accepted and ignored (the position is the platform's, on every report).
    """

    id: str
    nation: str
    platform: Literal["geo", "heo"]
    sigma_los_urad: float
    frame_s: float
    latency_s: float
    p_detect: float
    kind: Literal["ir"] = "ir"
    sub_lon_deg: float | None = None
    sma_km: float | None = None
    ecc: float | None = None
    incl_deg: float | None = None
    raan_deg: float | None = None
    argp_deg: float | None = None
    mean_anomaly_deg: float | None = None
    epoch_unix_s: float | None = None
    frame_phase_s: float = 0.0
    boost_only: bool = True
    min_alt_m: float = 0.0
    resolution_urad: float = 30.0

    @property
    def sigma_los_rad(self) -> float:
        return self.sigma_los_urad * 1e-6


Sensor = RadarSensor | IrSensor

_RADAR_REQUIRED = ("id", "nation", "lat_deg", "lon_deg", "alt_m", "sigma_range_m", "sigma_az_deg",
                   "sigma_el_deg", "revisit_s", "max_range_m", "min_el_deg", "p_detect")
_IR_REQUIRED = ("id", "nation", "platform", "sigma_los_urad", "frame_s", "latency_s", "p_detect")
_HEO_ELEMENTS = ("sma_km", "ecc", "incl_deg", "raan_deg", "argp_deg", "mean_anomaly_deg", "epoch_unix_s")


def _check_range(value: Any, lo: float, hi: float, why: str, raise_at) -> None:
    if value is None:
        return
    if not (math.isfinite(value) and lo <= value <= hi):
        raise_at(f"{value!r} is impossible: {why}")


def parse_sensor(entry: Any, *, source: str, where: str, lines: Mapping[str, int] | None = None,
                 line: int | None = None) -> Sensor:
    """One sensor from a mapping read from YAML (sensors.yaml or a scenario), checked for impossible values.

    where names the entry in messages (e.g. "sensors[2]"); lines maps keys to their YAML line numbers.
    Raises InputError naming the file, line and field and saying why.
    """
    lines = lines or {}

    def fail(key: str | None, why: str) -> None:
        name = where if key is None else f"{where}.{key}"
        raise InputError(why, source=source, line=lines.get(key, line) if key else line, field=name)

    if not isinstance(entry, Mapping):
        fail(None, f"a sensor must be a mapping of fields, got {type(entry).__name__}")
    kind = entry.get("kind")
    if kind not in ("radar", "ir"):
        fail("kind", f"unknown sensor kind {kind!r}: expected 'radar' or 'ir'")
    required = _RADAR_REQUIRED if kind == "radar" else _IR_REQUIRED
    for key in required:
        if entry.get(key) is None:
            fail(key, f"missing required field for a {kind} sensor")
    if kind == "ir" and entry.get("platform") not in ("geo", "heo"):
        fail("platform", f"unknown IR platform {entry.get('platform')!r}: expected 'geo' or 'heo'")
    struct_type = RadarSensor if kind == "radar" else IrSensor
    known = set(struct_type.__struct_fields__)
    data = {k: v for k, v in entry.items() if k in known}  # readers ignore extra fields
    if isinstance(data.get("id"), int):
        data["id"] = str(data["id"])
    try:
        sensor = msgspec.convert(data, struct_type, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        key = text.rsplit("`$.", 1)[1].rstrip("`") if "`$." in text else None
        fail(key, text.split(" - at ")[0].replace(" | null", ""))

    def check(key: str, lo: float, hi: float, why: str) -> None:
        _check_range(getattr(sensor, key), lo, hi, why, lambda msg: fail(key, msg))

    if not sensor.id:
        fail("id", "empty sensor id")
    if sensor.nation not in NATIONS:
        fail("nation", f"unknown nation {sensor.nation!r}: expected one of {', '.join(NATIONS)}")
    check("p_detect", 0.0, 1.0, "a probability must lie in [0, 1]")
    if isinstance(sensor, RadarSensor):
        check("lat_deg", -90.0, 90.0, "latitude must lie in [-90, 90] degrees")
        check("lon_deg", -180.0, 360.0, "longitude must lie in [-180, 360] degrees")
        check("alt_m", -500.0, 100_000.0, "a radar site lies between -500 m and 100 km")
        for key in ("sigma_range_m", "sigma_az_deg", "sigma_el_deg"):
            check(key, 0.0, math.inf, "a standard deviation cannot be negative")
        # Lower bounds on periods and an upper bound on clutter keep a simulation finite (issue 16).
        check("revisit_s", 0.01, 86_400.0, "the revisit period must be positive, in [0.01, 86400] s")
        check("max_range_m", 1e-6, math.inf, "the maximum range must be positive")
        check("min_el_deg", -90.0, 90.0, "elevation must lie in [-90, 90] degrees")
        check("max_el_deg", -90.0, 90.0, "elevation must lie in [-90, 90] degrees")
        if sensor.max_el_deg <= sensor.min_el_deg:
            fail("max_el_deg", "must exceed min_el_deg")
        check("clutter_rate", 0.0, 1000.0, "a clutter rate cannot be negative, nor above 1000 per scan")
        check("scan_phase_s", -math.inf, math.inf, "must be a finite number of seconds")
        check("boresight_az_deg", -360.0, 360.0, "azimuth must lie in [-360, 360] degrees")
        check("half_width_az_deg", 0.0, 180.0, "a half width must lie in [0, 180] degrees")
        check("range_resolution_m", 0.0, math.inf, "a resolution cannot be negative")
        check("beamwidth_deg", 0.0, 90.0, "a beamwidth must lie in [0, 90] degrees")
    else:
        check("sigma_los_urad", 0.0, math.inf, "a standard deviation cannot be negative")
        check("frame_s", 0.01, 86_400.0, "the frame period must be positive, in [0.01, 86400] s")
        check("latency_s", 0.0, math.inf, "a latency cannot be negative")
        check("frame_phase_s", -math.inf, math.inf, "must be a finite number of seconds")
        check("min_alt_m", -500.0, 1_000_000.0, "a plume height must lie between -500 m and 1000 km")
        check("resolution_urad", 0.0, 1e5, "a pixel size must lie in [0, 1e5] microradians")
        if sensor.platform == "geo":
            if sensor.sub_lon_deg is None:
                fail("sub_lon_deg", "missing: a GEO platform needs its sub-satellite longitude")
            check("sub_lon_deg", -180.0, 360.0, "longitude must lie in [-180, 360] degrees")
        else:
            for key in _HEO_ELEMENTS:
                if getattr(sensor, key) is None:
                    fail(key, "missing: a HEO platform needs Keplerian elements " + ", ".join(_HEO_ELEMENTS))
            check("sma_km", 6_578.0, 1_000_000.0, "semi-major axis must exceed the Earth radius + 200 km")
            check("ecc", 0.0, 0.95, "eccentricity must lie in [0, 0.95)")
            assert sensor.sma_km is not None and sensor.ecc is not None
            if sensor.sma_km * (1.0 - sensor.ecc) < 6_578.0:
                fail("ecc", "perigee below 200 km altitude: the orbit would decay")
            check("incl_deg", 0.0, 180.0, "inclination must lie in [0, 180] degrees")
            for key in ("raan_deg", "argp_deg", "mean_anomaly_deg"):
                check(key, -360.0, 360.0, "an angle must lie in [-360, 360] degrees")
            check("epoch_unix_s", -math.inf, math.inf, "must be a finite unix time")
    return sensor


def sequence_lines(text: str, key: str) -> tuple[list[int], list[dict[str, int]]]:
    """Line numbers (1-based) of each item of the top-level sequence `key`, and of each item's keys."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return [], []
    if not isinstance(root, yaml.MappingNode):
        return [], []
    for k_node, v_node in root.value:
        if getattr(k_node, "value", None) == key and isinstance(v_node, yaml.SequenceNode):
            item_lines, key_lines = [], []
            for item in v_node.value:
                item_lines.append(item.start_mark.line + 1)
                keys = {}
                if isinstance(item, yaml.MappingNode):
                    keys = {str(kn.value): kn.start_mark.line + 1 for kn, _ in item.value}
                key_lines.append(keys)
            return item_lines, key_lines
    return [], []


MAX_YAML_BYTES = 1 << 20  # sensors and scenario files are a few kB; a bigger one is refused unread
MAX_YAML_DEPTH = 64  # nesting of mappings and lists (a scenario needs 4)
MAX_YAML_NODES = 200_000  # values once aliases (*name) are expanded (a big scenario holds ~2,000)


class _BoundedYamlLoader(yaml.SafeLoader):
    """SafeLoader with bounded nesting (deep nesting would exhaust the stack) and a bounded size with aliases
    expanded: an alias bomb (`*name` of `*name` of ...) expands a few lines into billions of values. Aliases
    themselves are fine (PyYAML's dumper writes them for repeated values)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        mark = self.peek_event().start_mark
        depth = getattr(self, "_depth", 0)
        if depth > MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", mark)
        sizes = self.__dict__.setdefault("_sizes", {})
        self._depth = depth + 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth = depth
        if id(node) not in sizes:  # a new node (an alias returns its anchor's node, sized already)
            children = node.value if isinstance(node, yaml.SequenceNode) else (
                [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else [])
            size = 1 + sum(sizes.get(id(c), 1) for c in children)
            if size > MAX_YAML_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"more than {MAX_YAML_NODES} values once aliases (*name) are expanded", mark)
            sizes[id(node)] = size
        return node


def read_yaml(path: str | Path, what: str) -> tuple[Any, str]:
    """A YAML file's data and text; InputError if it is missing, unreadable, too big or not plain YAML
    (deep nesting and alias bombs are refused)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} file: {exc}", source=str(path)) from None
    if len(raw) > MAX_YAML_BYTES:
        raise InputError(f"{what} file is larger than {MAX_YAML_BYTES} bytes: refused", source=str(path))
    try:
        data = yaml.load(text, Loader=_BoundedYamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", source=str(path),
                         line=mark.line + 1 if mark else None) from None
    except (RecursionError, ValueError, OverflowError) as exc:  # e.g. a timestamp out of range
        raise InputError(f"not valid YAML: {exc}", source=str(path)) from None
    return data, text


def parse_sensor_list(items: Any, *, source: str, text: str, key: str = "sensors") -> dict[str, Sensor]:
    """The sensors of a YAML sequence (under top-level `key` of the file whose text is given), by id."""
    if not isinstance(items, list):
        raise InputError(f"'{key}' must be a list of sensors", source=source, field=key)
    item_lines, key_lines = sequence_lines(text, key)
    sensors: dict[str, Sensor] = {}
    for i, entry in enumerate(items):
        line = item_lines[i] if i < len(item_lines) else None
        lines = key_lines[i] if i < len(key_lines) else None
        sensor = parse_sensor(entry, source=source, where=f"{key}[{i}]", lines=lines, line=line)
        if sensor.id in sensors:
            raise InputError(f"duplicate sensor id {sensor.id!r}", source=source,
                             line=(lines or {}).get("id", line), field=f"{key}[{i}].id")
        sensors[sensor.id] = sensor
    return sensors


def load_sensors(path: str | Path) -> dict[str, Sensor]:
    """Read sensors.yaml: ``{sensors: [...]}`` -> sensors by id, in file order. InputError on bad input."""
    data, text = read_yaml(path, "sensors")
    if not isinstance(data, Mapping) or "sensors" not in data:
        raise InputError("expected a mapping with a 'sensors' list", source=str(path), field="sensors")
    return parse_sensor_list(data["sensors"], source=str(path), text=text)
