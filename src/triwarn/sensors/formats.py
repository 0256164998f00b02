"""The recorded-data formats: sensors.yaml, measurements.jsonl and truth.jsonl (see docs/formats.md).

This module is the only writer and reader of these files. Files carry degrees; everything returned here
is SI (metres, seconds, radians) in columnar numpy arrays, one row per detection or truth sample.

Reader rules (issue 2 and issue 3): extra fields are ignored; with ``strict=True`` the first bad line
raises an InputError naming file, line and field; with ``strict=False`` bad lines are skipped and counted
per reason (with a few examples) so that nothing already accepted is lost. Lines must be sorted by ``t``;
a line up to ``reorder_window_s`` older than the newest line seen is put back in order, an older one is
"out of order".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np
import yaml
from numpy.typing import NDArray

from triwarn.errors import InputError
from triwarn.geo.frames import geodetic_to_ecef

NATIONS = ("us", "jp", "kr")
GEO_RADIUS_M = 42_164_172.0  # geostationary orbit radius (GM / Ω²)^(1/3)
GEO_ALT_M = 35_786_000.0


# --------------------------------------------------------------------------------------------- sensors


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
        check("revisit_s", 1e-6, math.inf, "the revisit period must be positive")
        check("max_range_m", 1e-6, math.inf, "the maximum range must be positive")
        check("min_el_deg", -90.0, 90.0, "elevation must lie in [-90, 90] degrees")
        check("max_el_deg", -90.0, 90.0, "elevation must lie in [-90, 90] degrees")
        if sensor.max_el_deg <= sensor.min_el_deg:
            fail("max_el_deg", "must exceed min_el_deg")
        check("clutter_rate", 0.0, math.inf, "a clutter rate cannot be negative")
        check("scan_phase_s", -math.inf, math.inf, "must be a finite number of seconds")
        check("boresight_az_deg", -360.0, 360.0, "azimuth must lie in [-360, 360] degrees")
        check("half_width_az_deg", 0.0, 180.0, "a half width must lie in [0, 180] degrees")
        check("range_resolution_m", 0.0, math.inf, "a resolution cannot be negative")
        check("beamwidth_deg", 0.0, 90.0, "a beamwidth must lie in [0, 90] degrees")
    else:
        check("sigma_los_urad", 0.0, math.inf, "a standard deviation cannot be negative")
        check("frame_s", 1e-6, math.inf, "the frame period must be positive")
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


def read_yaml(path: str | Path, what: str) -> tuple[Any, str]:
    """A YAML file's data and text; InputError if it is missing, unreadable or not YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} file: {exc}", source=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", source=str(path),
                         line=mark.line + 1 if mark else None) from None
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


def sensor_to_dict(sensor: Sensor) -> dict[str, Any]:
    """The file form of a sensor (kind first, unset optional fields left out)."""
    out = {"id": sensor.id, "nation": sensor.nation, "kind": sensor.kind}
    for name in sensor.__struct_fields__:
        value = getattr(sensor, name)
        if name not in out and value is not None:
            out[name] = value
    return out


def write_sensors(path: str | Path, sensors: Mapping[str, Sensor] | Iterable[Sensor]) -> None:
    """Write sensors.yaml from sensors (a mapping by id or an iterable)."""
    items = list(sensors.values()) if isinstance(sensors, Mapping) else list(sensors)
    doc = {"sensors": [sensor_to_dict(s) for s in items]}
    Path(path).write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


# ----------------------------------------------------------------------------------------- measurements


class _Line(msgspec.Struct):
    """Every field a measurement line may carry; the sensor's kind decides which are required."""

    t: float | None = None
    sensor: str | int | None = None
    range_m: float | None = None
    az_deg: float | None = None
    el_deg: float | None = None
    platform_ecef_m: list[float] | None = None
    los_ecef: list[float] | None = None
    t_available: float | None = None


class _RadarOut(msgspec.Struct, array_like=False):
    t: float
    sensor: str
    range_m: float
    az_deg: float
    el_deg: float


class _IrOut(msgspec.Struct):
    t: float
    sensor: str
    platform_ecef_m: list[float]
    los_ecef: list[float]
    t_available: float


SKIP_REASONS = ("malformed_json", "missing_field", "malformed_field", "unknown_sensor", "nan",
                "impossible_value", "out_of_order")
_REASON_TEXT = {
    "malformed_json": "malformed JSON",
    "missing_field": "missing field",
    "malformed_field": "malformed field",
    "unknown_sensor": "unknown sensor",
    "nan": "NaN or infinite value",
    "impossible_value": "impossible value",
    "out_of_order": "out of time order beyond the reorder window",
}


@dataclass
class SkipReport:
    """What a lenient reader left out: counts per reason and a few examples 'file:line: field: why'."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    examples: dict[str, list[str]] = field(default_factory=dict)
    max_examples: int = 3
    reordered: int = 0  # lines put back in time order (inside the window): accepted, not skipped

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, reason: str, example: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < self.max_examples:
            ex.append(example)

    def summary(self, source: str = "input", accepted: int | None = None) -> str:
        """A few lines for stderr: accepted and skipped counts per reason, with examples."""
        head = f"{source}: "
        if accepted is not None:
            head += f"{accepted} lines accepted, "
        head += f"{self.total} skipped"
        if self.reordered:
            head += f", {self.reordered} re-sorted within the reorder window"
        lines = [head]
        for reason in SKIP_REASONS:
            n = self.counts.get(reason, 0)
            if n:
                lines.append(f"  {_REASON_TEXT[reason]}: {n}")
                lines.extend(f"    e.g. {ex}" for ex in self.examples.get(reason, []))
        return "\n".join(lines)


def _empty(n_cols: int | None = None) -> NDArray[np.float64]:
    return np.zeros((0,) if n_cols is None else (0, n_cols), float)


@dataclass
class RadarDetections:
    """Radar detections, one row each, sorted by time. SI: unix seconds, metres, radians.

    sensor_idx indexes MeasurementLog.sensor_ids; line is the 1-based source line (0 if not from a file).
    az_rad is clockwise from true north in [0, 2π); el_rad is above the ellipsoid-normal plane at the site.
    """

    t_unix_s: NDArray[np.float64] = field(default_factory=_empty)
    sensor_idx: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    range_m: NDArray[np.float64] = field(default_factory=_empty)
    az_rad: NDArray[np.float64] = field(default_factory=_empty)
    el_rad: NDArray[np.float64] = field(default_factory=_empty)
    line: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.t_unix_s)

    def take(self, index: Any) -> RadarDetections:
        """A subset (index: integer array, slice or boolean mask)."""
        return RadarDetections(self.t_unix_s[index], self.sensor_idx[index], self.range_m[index],
                               self.az_rad[index], self.el_rad[index], self.line[index])


@dataclass
class IrDetections:
    """Infrared line-of-sight reports, one row each, sorted by observation time t_unix_s.

    platform_ecef_m (n, 3): the satellite's ECEF position (m) at t; los_ecef (n, 3): unit vector from the
    platform towards the plume, ECEF; t_available_unix_s: when the report reached its node (t + latency).
    """

    t_unix_s: NDArray[np.float64] = field(default_factory=_empty)
    sensor_idx: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    platform_ecef_m: NDArray[np.float64] = field(default_factory=lambda: _empty(3))
    los_ecef: NDArray[np.float64] = field(default_factory=lambda: _empty(3))
    t_available_unix_s: NDArray[np.float64] = field(default_factory=_empty)
    line: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.t_unix_s)

    def take(self, index: Any) -> IrDetections:
        """A subset (index: integer array, slice or boolean mask)."""
        return IrDetections(self.t_unix_s[index], self.sensor_idx[index], self.platform_ecef_m[index],
                            self.los_ecef[index], self.t_available_unix_s[index], self.line[index])


@dataclass
class MeasurementLog:
    """The content of a measurements.jsonl: radar and IR detections in columns, and what was skipped."""

    sensor_ids: list[str]
    radar: RadarDetections = field(default_factory=RadarDetections)
    ir: IrDetections = field(default_factory=IrDetections)
    skips: SkipReport = field(default_factory=SkipReport)
    source: str = "measurements"

    def __len__(self) -> int:
        return len(self.radar) + len(self.ir)

    def summary(self) -> str:
        """Accepted and skipped counts per reason with examples (file:line: field: why), for stderr."""
        return self.skips.summary(self.source, accepted=len(self))


class _Reject(Exception):
    def __init__(self, reason: str, field_name: str | None, why: str) -> None:
        super().__init__(why)
        self.reason = reason
        self.field_name = field_name
        self.why = why


def _finite(value: float, name: str) -> float:
    if not math.isfinite(value):
        raise _Reject("nan", name, f"{value!r} is not a finite number")
    return value


def _vector3(value: Any, name: str) -> list[float]:
    if len(value) != 3:
        raise _Reject("malformed_field", name, f"expected 3 numbers, got {len(value)}")
    for v in value:
        _finite(v, name)
    return value


def _from_python_json(raw: bytes, struct_type: type = _Line) -> Any:
    """Slow path for a line msgspec refuses: classify why (NaN literals, bad JSON, wrong field type)."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Reject("malformed_json", None, f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _Reject("malformed_json", None, f"expected a JSON object, got {type(obj).__name__}")
    for name in struct_type.__struct_fields__:
        value = obj.get(name)
        if isinstance(value, float) and not math.isfinite(value):
            raise _Reject("nan", name, f"{value!r} is not a finite number")
        if isinstance(value, list) and any(isinstance(v, float) and not math.isfinite(v) for v in value):
            raise _Reject("nan", name, "contains a non-finite number")
    try:
        return msgspec.convert(obj, struct_type)
    except msgspec.ValidationError as exc:
        text = str(exc)
        name = text.rsplit("`$.", 1)[1].rstrip("`").split("[")[0] if "`$." in text else None
        raise _Reject("malformed_field", name, text.split(" - at ")[0].replace(" | null", "")) from None


READ_BLOCK_BYTES = 2 << 20  # bytes of whole lines decoded and checked at once (~20,000 detections)
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n")


def _open_for_reading(path: Path, what: str) -> Any:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what} file: {exc}", source=str(path)) from None


def _line_blocks(fh: Any, source: str, what: str) -> Iterator[tuple[int, bytes]]:
    """(number of the block's first line, block) for blocks of whole lines of about READ_BLOCK_BYTES.

    The whole file is never held in memory: only one block and the columns made from earlier ones.
    """
    first = 1
    carry = b""
    while True:
        try:
            data = fh.read(READ_BLOCK_BYTES)
        except OSError as exc:
            raise InputError(f"cannot read {what} file: {exc}", source=source) from None
        if not data:
            break
        data = carry + data
        end = data.rfind(b"\n") + 1
        if end == 0:
            carry = data  # one very long line: keep reading until it ends
            continue
        block, carry = data[:end], data[end:]
        yield first, block
        first += block.count(b"\n")
    if carry:
        yield first, carry


def _block_lines(block: bytes) -> list[bytes]:
    """The lines of a block (without the final newline's empty remainder)."""
    raws = block.split(b"\n")
    if raws and raws[-1] == b"":
        raws.pop()
    return raws


def _clean_block_count(block: bytes) -> int | None:
    """Number of lines of a block without blank lines (so that line k of a decode is file line first + k),
    or None when it holds a blank line."""
    closed = block if block.endswith(b"\n") else block + b"\n"
    if _BLANK_LINE.search(b"\n" + closed) is not None:
        return None
    return closed.count(b"\n")


class _ReadState:
    """Columns accepted so far (lists of per-chunk arrays, in file order) and the time-order state."""

    def __init__(self, is_radar: list[bool], index_of: dict[str, int], window_s: float, strict: bool,
                 source: str) -> None:
        self.is_radar = np.array(is_radar, bool)
        self.index_of = index_of
        self.window_s = window_s
        self.strict = strict
        self.source = source
        self.newest = -math.inf
        self.skips = SkipReport()
        self.radar: list[tuple[NDArray, ...]] = []
        self.ir: list[tuple[NDArray, ...]] = []


def _fast_chunk(recs: list[_Line], linenos: NDArray, st: _ReadState) -> bool:
    """Accept a whole chunk of decoded lines with array checks; False (nothing taken) if any line is bad."""
    get = st.index_of.get
    idx = np.array([get(r.sensor, -1) for r in recs], np.int64)  # ids are str: an int id misses, -1
    if idx.size == 0 or idx.min() < 0:
        return False
    t = np.array([r.t for r in recs], float)  # None becomes NaN and fails the checks below
    if not np.isfinite(t).all():
        return False
    radar_rows = st.is_radar[idx]
    r_recs = [r for r, ok in zip(recs, radar_rows.tolist(), strict=True) if ok]
    i_recs = [r for r, ok in zip(recs, radar_rows.tolist(), strict=True) if not ok]
    if r_recs:
        rng = np.array([r.range_m for r in r_recs], float)
        az = np.array([r.az_deg for r in r_recs], float)
        el = np.array([r.el_deg for r in r_recs], float)
        with np.errstate(invalid="ignore"):
            good = (rng > 0.0) & (np.abs(az) <= 360.0) & (np.abs(el) <= 90.0)  # NaN fails every test
        if not good.all():
            return False
    if i_recs:
        try:
            plat = np.array([r.platform_ecef_m for r in i_recs], float)
            los = np.array([r.los_ecef for r in i_recs], float)
        except (TypeError, ValueError):  # a missing or ragged vector
            return False
        if plat.shape != (len(i_recs), 3) or los.shape != (len(i_recs), 3):
            return False
        t_ir = t[~radar_rows]
        t_av = np.array([r.t_available if r.t_available is not None else r.t for r in i_recs], float)
        norm_p = np.linalg.norm(plat, axis=1)
        norm_u = np.linalg.norm(los, axis=1)
        with np.errstate(invalid="ignore"):
            good = (norm_p >= 6.3e6) & (norm_u >= 0.99) & (norm_u <= 1.01) & (t_av >= t_ir)
        if not (good.all() and np.isfinite(plat).all() and np.isfinite(los).all()):
            return False
    newest_before = np.maximum.accumulate(np.concatenate([[st.newest], t]))[:-1]
    if np.any(t < newest_before - st.window_s):
        return False
    st.skips.reordered += int(np.count_nonzero(t < newest_before))
    st.newest = max(st.newest, float(t.max()))
    if r_recs:
        st.radar.append((t[radar_rows], idx[radar_rows], rng, az, el, linenos[radar_rows]))
    if i_recs:
        st.ir.append((t_ir, idx[~radar_rows], plat, los / norm_u[:, None], t_av, linenos[~radar_rows]))
    return True


def _slow_chunk(raws: list[bytes], linenos: list[int], decoder: msgspec.json.Decoder, st: _ReadState) -> None:
    """Line by line: accept good lines, and raise (strict) or skip and count (lenient) bad ones."""
    r_rows: list[tuple] = []
    i_rows: list[tuple] = []
    for lineno, raw in zip(linenos, raws, strict=True):
        if not raw.strip():
            continue
        try:
            try:
                rec = decoder.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError):
                rec = _from_python_json(raw)
            if rec.t is None:
                raise _Reject("missing_field", "t", "missing required field")
            t = _finite(rec.t, "t")
            if rec.sensor is None:
                raise _Reject("missing_field", "sensor", "missing required field")
            sid = str(rec.sensor)
            idx = st.index_of.get(sid)
            if idx is None:
                raise _Reject("unknown_sensor", "sensor",
                              f"unknown sensor id {sid!r} (not in the sensors file)")
            if st.is_radar[idx]:
                for name in ("range_m", "az_deg", "el_deg"):
                    if getattr(rec, name) is None:
                        raise _Reject("missing_field", name, f"missing required field for radar {sid!r}")
                rng = _finite(rec.range_m, "range_m")
                az = _finite(rec.az_deg, "az_deg")
                el = _finite(rec.el_deg, "el_deg")
                if rng <= 0.0:
                    raise _Reject("impossible_value", "range_m", f"{rng!r}: a range must be positive")
                if not -360.0 <= az <= 360.0:
                    raise _Reject("impossible_value", "az_deg", f"{az!r}: azimuth must lie in [-360, 360]")
                if not -90.0 <= el <= 90.0:
                    raise _Reject("impossible_value", "el_deg", f"{el!r}: elevation must lie in [-90, 90]")
            else:
                for name in ("platform_ecef_m", "los_ecef"):
                    if getattr(rec, name) is None:
                        raise _Reject("missing_field", name, f"missing required field for IR sensor {sid!r}")
                pos = _vector3(rec.platform_ecef_m, "platform_ecef_m")
                los = _vector3(rec.los_ecef, "los_ecef")
                norm_p = math.sqrt(pos[0] ** 2 + pos[1] ** 2 + pos[2] ** 2)
                if norm_p < 6.3e6:
                    raise _Reject("impossible_value", "platform_ecef_m",
                                  f"{norm_p:.0f} m from the Earth's centre: a satellite must be in orbit")
                norm_u = math.sqrt(los[0] ** 2 + los[1] ** 2 + los[2] ** 2)
                if not 0.99 <= norm_u <= 1.01:
                    raise _Reject("impossible_value", "los_ecef", f"norm {norm_u:.4g}: must be a unit vector")
                t_av = t if rec.t_available is None else _finite(rec.t_available, "t_available")
                if t_av < t:
                    raise _Reject("impossible_value", "t_available",
                                  "a report cannot arrive before it is made")
            if t < st.newest - st.window_s:
                raise _Reject("out_of_order", "t",
                              f"t={t!r} is {st.newest - t:.3f} s older than an earlier line "
                              f"(reorder window {st.window_s} s)")
        except _Reject as rej:
            if st.strict:
                raise InputError(rej.why, source=st.source, line=lineno, field=rej.field_name) from None
            where = f"{st.source}:{lineno}" + (f": {rej.field_name}" if rej.field_name else "")
            st.skips.add(rej.reason, f"{where}: {rej.why}")
            continue
        if t < st.newest:
            st.skips.reordered += 1
        else:
            st.newest = t
        if st.is_radar[idx]:
            r_rows.append((t, idx, rng, az, el, lineno))
        else:
            i_rows.append((t, idx, pos, [c / norm_u for c in los], t_av, lineno))
    if r_rows:
        t, idx, rng, az, el, ln = zip(*r_rows, strict=True)
        st.radar.append(tuple(np.asarray(v) for v in (t, idx, rng, az, el, ln)))
    if i_rows:
        t, idx, pos, los, t_av, ln = zip(*i_rows, strict=True)
        st.ir.append(tuple(np.asarray(v) for v in (t, idx, pos, los, t_av, ln)))


def read_measurements(
    path: str | Path,
    sensors: Mapping[str, Sensor],
    *,
    strict: bool = False,
    reorder_window_s: float = 5.0,
) -> MeasurementLog:
    """Read measurements.jsonl into columns (SI) for the given sensors (by id, e.g. from load_sensors).

    strict=True: the first bad line raises InputError naming file, line and field. strict=False: bad lines
    are skipped and counted in log.skips (log.summary() for stderr). Lines older than the newest seen by at
    most reorder_window_s are re-sorted; older ones are out of order. A missing or unreadable file, or one
    without a single valid line, is an InputError.

    Clean stretches of the file are decoded and checked a chunk at a time with arrays; a chunk holding any
    bad line is redone line by line, so both paths accept and reject exactly the same lines.
    """
    path = Path(path)
    source = str(path)
    fh = _open_for_reading(path, "measurements")
    sensor_ids = list(sensors)
    st = _ReadState([isinstance(sensors[sid], RadarSensor) for sid in sensor_ids],
                    {sid: i for i, sid in enumerate(sensor_ids)}, reorder_window_s, strict, source)
    decoder = msgspec.json.Decoder(_Line)
    with fh:
        for first, block in _line_blocks(fh, source, "measurements"):
            n_lines = _clean_block_count(block)
            recs = None
            if n_lines is not None:
                try:
                    recs = decoder.decode_lines(block)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    recs = None
            # Two objects on one line would decode as two records: the count check sends such a block,
            # and any block with a bad or blank line, down the line-by-line path.
            if (recs is not None and len(recs) == n_lines
                    and _fast_chunk(recs, np.arange(first, first + n_lines, dtype=np.int64), st)):
                continue
            del recs
            raws = _block_lines(block)
            _slow_chunk(raws, list(range(first, first + len(raws))), decoder, st)

    n_ok = sum(len(c[0]) for c in st.radar) + sum(len(c[0]) for c in st.ir)
    skips = st.skips
    if n_ok == 0:
        detail = "" if skips.total == 0 else "\n" + skips.summary(source, accepted=0)
        what = "is empty" if skips.total == 0 else "has no valid line"
        raise InputError(f"measurements file {what}{detail}", source=source)

    def column(chunks: list[tuple[NDArray, ...]], k: int, dtype: Any, width: int | None = None) -> NDArray:
        if not chunks:
            return np.zeros((0,) if width is None else (0, width), dtype)
        return np.concatenate([np.asarray(c[k], dtype) for c in chunks])

    radar = RadarDetections(
        column(st.radar, 0, float), column(st.radar, 1, np.int32), column(st.radar, 2, float),
        np.mod(np.radians(column(st.radar, 3, float)), 2.0 * np.pi), np.radians(column(st.radar, 4, float)),
        column(st.radar, 5, np.int64),
    )
    ir = IrDetections(
        column(st.ir, 0, float), column(st.ir, 1, np.int32), column(st.ir, 2, float, 3),
        column(st.ir, 3, float, 3), column(st.ir, 4, float), column(st.ir, 5, np.int64),
    )
    if skips.reordered:
        radar = radar.take(np.argsort(radar.t_unix_s, kind="stable"))
        ir = ir.take(np.argsort(ir.t_unix_s, kind="stable"))
    return MeasurementLog(sensor_ids, radar, ir, skips, source)


WRITE_CHUNK_ROWS = 100_000  # rows encoded at a time: bounds memory for files of millions of lines


def _radar_rows(radar: RadarDetections, ids: list[str], sel: NDArray) -> list[_RadarOut]:
    az_deg = np.round(np.degrees(radar.az_rad[sel]) % 360.0, 7)
    az_deg[az_deg >= 360.0] -= 360.0
    return [
        _RadarOut(t, ids[s], r, a, e)
        for t, s, r, a, e in zip(
            np.round(radar.t_unix_s[sel], 6).tolist(),
            radar.sensor_idx[sel].tolist(),
            np.round(radar.range_m[sel], 3).tolist(),
            az_deg.tolist(),
            np.round(np.degrees(radar.el_rad[sel]), 7).tolist(),
            strict=True,
        )
    ]


def _ir_rows(ir: IrDetections, ids: list[str], sel: NDArray) -> list[_IrOut]:
    return [
        _IrOut(t, ids[s], p, u, ta)
        for t, s, p, u, ta in zip(
            np.round(ir.t_unix_s[sel], 6).tolist(),
            ir.sensor_idx[sel].tolist(),
            np.round(ir.platform_ecef_m[sel], 3).tolist(),
            np.round(ir.los_ecef[sel], 10).tolist(),
            np.round(ir.t_available_unix_s[sel], 6).tolist(),
            strict=True,
        )
    ]


def write_measurements(path: str | Path, log: MeasurementLog) -> int:
    """Write measurements.jsonl (radar and IR merged, sorted by t; degrees at the edge). Returns line count.

    Values are rounded to well below any sensor's noise (mm, 1e-7 deg, µs). Written in chunks, so memory
    stays bounded whatever the number of lines.
    """
    ids = log.sensor_ids
    radar, ir = log.radar, log.ir
    n_radar = len(radar)
    order = np.argsort(np.concatenate([radar.t_unix_s, ir.t_unix_s]), kind="stable")
    encoder = msgspec.json.Encoder()
    with Path(path).open("wb") as fh:
        for a in range(0, len(order), WRITE_CHUNK_ROWS):
            idx = order[a:a + WRITE_CHUNK_ROWS]
            is_ir = idx >= n_radar
            if not is_ir.any():
                rows: list[Any] = _radar_rows(radar, ids, idx)
            else:
                rows = [None] * len(idx)
                for pos, row in zip(np.flatnonzero(~is_ir).tolist(), _radar_rows(radar, ids, idx[~is_ir]),
                                    strict=True):
                    rows[pos] = row
                for pos, row in zip(np.flatnonzero(is_ir).tolist(), _ir_rows(ir, ids, idx[is_ir] - n_radar),
                                    strict=True):
                    rows[pos] = row
            fh.write(encoder.encode_lines(rows))
    return len(order)


# ------------------------------------------------------------------------------------------------ truth


class _TruthLine(msgspec.Struct, omit_defaults=True):
    t: float | None = None
    object: str | None = None
    ecef_m: list[float] | None = None
    vel_ecef_mps: list[float] | None = None
    kind: str | None = None
    phase: str | None = None
    launch: str | None = None


@dataclass
class TruthLog:
    """Truth samples, one row per object per sample. object_idx indexes object_ids; SI units, ECEF.

    kind maps object id to "warhead" or "stage" (or "unknown"); phase is "boost" or "ballistic" per row
    ("" when the file did not say); launch maps object id to its launch id.
    """

    object_ids: list[str]
    t_unix_s: NDArray[np.float64]
    object_idx: NDArray[np.int32]
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    phase: NDArray[np.str_]
    kind: dict[str, str] = field(default_factory=dict)
    launch: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t_unix_s)

    def object_rows(self, object_id: str) -> NDArray[np.intp]:
        """Row indices of one object's samples, in time order."""
        return np.flatnonzero(self.object_idx == self.object_ids.index(object_id))


def write_truth(path: str | Path, truth: TruthLog) -> int:
    """Write truth.jsonl sorted by t then object (extra fields: kind, phase, launch). Returns line count."""
    order = np.lexsort((truth.object_idx, truth.t_unix_s))
    ids = truth.object_ids
    kinds = [truth.kind.get(o) for o in ids]
    launches = [truth.launch.get(o) for o in ids]
    encoder = msgspec.json.Encoder()
    with Path(path).open("wb") as fh:
        for a in range(0, len(order), WRITE_CHUNK_ROWS):
            idx = order[a:a + WRITE_CHUNK_ROWS]
            phase = truth.phase[idx].tolist() if len(truth.phase) else [""] * len(idx)
            rows = [
                _TruthLine(ti, ids[oi], p, v, kinds[oi], ph or None, launches[oi])
                for ti, oi, p, v, ph in zip(
                    np.round(truth.t_unix_s[idx], 6).tolist(),
                    truth.object_idx[idx].tolist(),
                    np.round(truth.pos_ecef_m[idx], 3).tolist(),
                    np.round(truth.vel_ecef_mps[idx], 4).tolist(),
                    phase,
                    strict=True,
                )
            ]
            fh.write(encoder.encode_lines(rows))
    return len(order)


def _truth_block_fast(recs: list[_TruthLine], index_of: dict[str, int], kind: dict[str, str],
                      launch: dict[str, str]) -> tuple[NDArray, ...] | None:
    """Columns of a decoded block of truth lines, or None (nothing taken) if any line is bad."""
    try:
        t = np.array([r.t for r in recs], float)
        pos = np.array([r.ecef_m for r in recs], float)
        vel = np.array([r.vel_ecef_mps for r in recs], float)
    except (TypeError, ValueError):  # a missing field or a ragged vector
        return None
    n = len(recs)
    if pos.shape != (n, 3) or vel.shape != (n, 3) or t.shape != (n,):
        return None
    if not (np.isfinite(t).all() and np.isfinite(pos).all() and np.isfinite(vel).all()):
        return None
    objects = [r.object for r in recs]
    if None in objects:
        return None
    obj = np.empty(n, np.int32)
    for k, r in enumerate(recs):
        obj[k] = index_of.setdefault(r.object, len(index_of))
        if r.kind is not None:
            kind[r.object] = r.kind
        if r.launch is not None:
            launch[r.object] = r.launch
    phase = np.asarray([r.phase or "" for r in recs], dtype=np.str_)
    return t, obj, pos, vel, phase


def _truth_block_slow(raws: list[bytes], first: int, decoder: msgspec.json.Decoder, source: str,
                      index_of: dict[str, int], kind: dict[str, str], launch: dict[str, str]) -> tuple[NDArray, ...]:
    """Line by line: columns of the good lines; the first bad line raises InputError (file, line, field)."""
    t_l: list[float] = []
    o_l: list[int] = []
    p_l: list[list[float]] = []
    v_l: list[list[float]] = []
    ph_l: list[str] = []
    for lineno, raw in enumerate(raws, start=first):
        if not raw.strip():
            continue
        try:
            try:
                rec = decoder.decode(raw)
            except (msgspec.DecodeError, msgspec.ValidationError):
                rec = _from_python_json(raw, _TruthLine)
            for name in ("t", "object", "ecef_m", "vel_ecef_mps"):
                if getattr(rec, name) is None:
                    raise _Reject("missing_field", name, "missing required field")
            _finite(rec.t, "t")
            _vector3(rec.ecef_m, "ecef_m")
            _vector3(rec.vel_ecef_mps, "vel_ecef_mps")
        except _Reject as rej:
            raise InputError(rej.why, source=source, line=lineno, field=rej.field_name) from None
        idx = index_of.setdefault(rec.object, len(index_of))
        if rec.kind is not None:
            kind[rec.object] = rec.kind
        if rec.launch is not None:
            launch[rec.object] = rec.launch
        t_l.append(rec.t)
        o_l.append(idx)
        p_l.append(rec.ecef_m)
        v_l.append(rec.vel_ecef_mps)
        ph_l.append(rec.phase or "")
    return (np.asarray(t_l, float), np.asarray(o_l, np.int32), np.asarray(p_l, float).reshape(-1, 3),
            np.asarray(v_l, float).reshape(-1, 3), np.asarray(ph_l, dtype=np.str_))


def read_truth(path: str | Path) -> TruthLog:
    """Read truth.jsonl. Extra fields are ignored; a bad line raises InputError naming file, line, field.

    Read a block of lines at a time (clean blocks decoded into arrays at once), so memory holds the
    columns and one block, never the file or a Python object per line.
    """
    path = Path(path)
    source = str(path)
    fh = _open_for_reading(path, "truth")
    decoder = msgspec.json.Decoder(_TruthLine)
    index_of: dict[str, int] = {}
    kind: dict[str, str] = {}
    launch: dict[str, str] = {}
    chunks: list[tuple[NDArray, ...]] = []
    with fh:
        for first, block in _line_blocks(fh, source, "truth"):
            n_lines = _clean_block_count(block)
            cols = None
            if n_lines is not None:
                try:
                    recs = decoder.decode_lines(block)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    recs = []
                if len(recs) == n_lines:
                    cols = _truth_block_fast(recs, index_of, kind, launch)
                del recs
            if cols is None:
                cols = _truth_block_slow(_block_lines(block), first, decoder, source, index_of, kind, launch)
            chunks.append(cols)
    if not chunks or sum(len(c[0]) for c in chunks) == 0:
        raise InputError("truth file has no samples", source=source)
    t, obj, pos, vel, phase = (np.concatenate([c[k] for c in chunks]) for k in range(5))
    return TruthLog(list(index_of), t, obj, pos, vel, phase, kind, launch)
