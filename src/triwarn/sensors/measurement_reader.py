"""The reader of measurements.jsonl: radar and infrared detections into columns (SI), for given sensors.

Reader rules (issue 2 and issue 3): extra fields are ignored; with ``strict=True`` the first bad line
raises an InputError naming file, line and field; with ``strict=False`` bad lines are skipped and counted
per reason (with a few examples) so that nothing already accepted is lost. Lines must be sorted by ``t``;
a line up to ``reorder_window_s`` older than the newest line seen is put back in order, an older one is
"out of order". Files carry degrees; the returned columns are unix seconds, metres and radians.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import numpy as np
from numpy.typing import NDArray

from triwarn.errors import InputError
from triwarn.records.detections import (
    TIME_OUTLIER_GAP_S,
    IrDetections,
    MeasurementLog,
    RadarDetections,
    SkipReport,
)
from triwarn.sensors.definitions import RadarSensor, Sensor
from triwarn.sensors.jsonl_blocks import block_lines, decode_clean_block, line_blocks, open_for_reading
from triwarn.sensors.line_checks import Reject, decode_line, finite, vector3


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


class _Limit(NamedTuple):
    """The possible values of a measured field: ok(value) is true for a possible one, message(value) says
    why another is impossible. ok takes a number or an array of them (then true where possible), so one
    test serves the line-by-line path and the whole-chunk path alike."""

    field: str
    ok: Callable[[Any], Any]
    message: Callable[[float], str]


_RANGE = _Limit("range_m", lambda v: v > 0.0, lambda v: f"{v!r}: a range must be positive")
_AZIMUTH = _Limit("az_deg", lambda v: abs(v) <= 360.0, lambda v: f"{v!r}: azimuth must lie in [-360, 360]")
_ELEVATION = _Limit("el_deg", lambda v: abs(v) <= 90.0, lambda v: f"{v!r}: elevation must lie in [-90, 90]")
# IR: the platform's distance from the Earth's centre, the norm of the line of sight, and the report's
# delay (t_available - t).
_PLATFORM = _Limit("platform_ecef_m", lambda r: r >= 6.3e6,
                   lambda r: f"{r:.0f} m from the Earth's centre: a satellite must be in orbit")
_LOS = _Limit("los_ecef", lambda n: (n >= 0.99) & (n <= 1.01), lambda n: f"norm {n:.4g}: must be a unit vector")
_DELAY = _Limit("t_available", lambda d: d >= 0.0, lambda d: "a report cannot arrive before it is made")


def _check(limit: _Limit, value: float) -> None:
    """Reject ("impossible_value") a value outside its limit."""
    if not limit.ok(value):
        raise Reject("impossible_value", limit.field, limit.message(value))


def _all_within(limit: _Limit, values: NDArray) -> bool:
    """Every value of an array within its limit (NaN fails)."""
    with np.errstate(invalid="ignore"):
        return bool(np.all(limit.ok(values)))


# Issue 16: lines beyond the reorder window are kept (re-sorted) and counted as late; exact duplicates of an
# earlier detection and detections more than MAX_GAP_S away from the bulk of the file are skipped and counted.
MAX_GAP_S = TIME_OUTLIER_GAP_S


@dataclass
class ReaderSkips(SkipReport):
    """SkipReport with the reader's warning: lines kept but later than the reorder window ('late')."""

    late: int = 0
    late_examples: list[str] = field(default_factory=list)

    def add_late(self, example: str) -> None:
        self.late += 1
        if len(self.late_examples) < self.max_examples:
            self.late_examples.append(example)

    def summary(self, source: str = "input", accepted: int | None = None) -> str:
        lines = super().summary(source, accepted).split("\n")
        if self.late:
            lines[0] += f", {self.late} older than the reorder window (kept, re-sorted; is the file sorted?)"
            lines.extend(f"    e.g. {ex}" for ex in self.late_examples)
        return "\n".join(lines)


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
        self.skips = ReaderSkips()
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
        if not (_all_within(_RANGE, rng) and _all_within(_AZIMUTH, az) and _all_within(_ELEVATION, el)):
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
        if not (_all_within(_PLATFORM, norm_p) and _all_within(_LOS, norm_u) and _all_within(_DELAY, t_av - t_ir)
                and np.isfinite(plat).all() and np.isfinite(los).all()):
            return False
    newest_before = np.maximum.accumulate(np.concatenate([[st.newest], t]))[:-1]
    late = t < newest_before - st.window_s
    if np.any(late):
        if st.strict:
            return False  # the line-by-line path raises at the first one
        for k in np.flatnonzero(late).tolist():
            st.skips.add_late(f"{st.source}:{linenos[k]}: t: {_late_why(float(t[k]), float(newest_before[k]), st)}")
    st.skips.reordered += int(np.count_nonzero((t < newest_before) & ~late))
    st.newest = max(st.newest, float(t.max()))
    if r_recs:
        st.radar.append((t[radar_rows], idx[radar_rows], rng, az, el, linenos[radar_rows]))
    if i_recs:
        st.ir.append((t_ir, idx[~radar_rows], plat, los / norm_u[:, None], t_av, linenos[~radar_rows]))
    return True


def _late_why(t: float, newest: float, st: _ReadState) -> str:
    return f"t={t!r} is {newest - t:.3f} s older than an earlier line (reorder window {st.window_s} s)"


def _slow_chunk(raws: list[bytes], linenos: list[int], decoder: msgspec.json.Decoder, st: _ReadState) -> None:
    """Line by line: accept good lines, and raise (strict) or skip and count (lenient) bad ones."""
    r_rows: list[tuple] = []
    i_rows: list[tuple] = []
    for lineno, raw in zip(linenos, raws, strict=True):
        if not raw.strip():
            continue
        try:
            rec = decode_line(decoder, raw, _Line)
            if rec.t is None:
                raise Reject("missing_field", "t", "missing required field")
            t = finite(rec.t, "t")
            if rec.sensor is None:
                raise Reject("missing_field", "sensor", "missing required field")
            sid = str(rec.sensor)
            idx = st.index_of.get(sid)
            if idx is None:
                raise Reject("unknown_sensor", "sensor",
                             f"unknown sensor id {sid!r} (not in the sensors file)")
            if st.is_radar[idx]:
                for name in ("range_m", "az_deg", "el_deg"):
                    if getattr(rec, name) is None:
                        raise Reject("missing_field", name, f"missing required field for radar {sid!r}")
                rng = finite(rec.range_m, "range_m")
                az = finite(rec.az_deg, "az_deg")
                el = finite(rec.el_deg, "el_deg")
                _check(_RANGE, rng)
                _check(_AZIMUTH, az)
                _check(_ELEVATION, el)
            else:
                for name in ("platform_ecef_m", "los_ecef"):
                    if getattr(rec, name) is None:
                        raise Reject("missing_field", name, f"missing required field for IR sensor {sid!r}")
                pos = vector3(rec.platform_ecef_m, "platform_ecef_m")
                los = vector3(rec.los_ecef, "los_ecef")
                _check(_PLATFORM, math.sqrt(pos[0] ** 2 + pos[1] ** 2 + pos[2] ** 2))
                norm_u = math.sqrt(los[0] ** 2 + los[1] ** 2 + los[2] ** 2)
                _check(_LOS, norm_u)
                t_av = t if rec.t_available is None else finite(rec.t_available, "t_available")
                _check(_DELAY, t_av - t)
            if t < st.newest - st.window_s and st.strict:
                raise Reject("out_of_order", "t", _late_why(t, st.newest, st))
        except Reject as rej:
            if st.strict:
                raise InputError(rej.why, source=st.source, line=lineno, field=rej.field_name) from None
            where = f"{st.source}:{lineno}" + (f": {rej.field_name}" if rej.field_name else "")
            st.skips.add(rej.reason, f"{where}: {rej.why}")
            continue
        if t < st.newest - st.window_s:
            st.skips.add_late(f"{st.source}:{lineno}: t: {_late_why(t, st.newest, st)}")
        elif t < st.newest:
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
    fh = open_for_reading(path, "measurements")
    sensor_ids = list(sensors)
    st = _ReadState([isinstance(sensors[sid], RadarSensor) for sid in sensor_ids],
                    {sid: i for i, sid in enumerate(sensor_ids)}, reorder_window_s, strict, source)
    decoder = msgspec.json.Decoder(_Line)
    with fh:
        for first, block in line_blocks(fh, source, "measurements"):
            recs = decode_clean_block(decoder, block)
            if recs is not None and _fast_chunk(recs, np.arange(first, first + len(recs), dtype=np.int64), st):
                continue
            del recs
            raws = block_lines(block)
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
    if skips.reordered or skips.late:
        radar = radar.take(np.argsort(radar.t_unix_s, kind="stable"))
        ir = ir.take(np.argsort(ir.t_unix_s, kind="stable"))
    radar = _drop_duplicates(radar, np.column_stack([radar.t_unix_s, radar.sensor_idx, radar.range_m,
                                                     radar.az_rad, radar.el_rad]), st)
    ir = _drop_duplicates(ir, np.column_stack([ir.t_unix_s, ir.sensor_idx, ir.platform_ecef_m, ir.los_ecef,
                                               ir.t_available_unix_s]), st)
    radar, ir = _drop_time_outliers(radar, ir, st)
    return MeasurementLog(sensor_ids, radar, ir, skips, source)


def _drop_duplicates(rows: Any, values: NDArray, st: _ReadState) -> Any:
    """rows without exact repeats of an earlier detection (same time, sensor and values): counted skips."""
    if len(values) < 2:
        return rows
    _, first = np.unique(values, axis=0, return_index=True)
    if len(first) == len(values):
        return rows
    keep = np.zeros(len(values), bool)
    keep[first] = True
    for k in np.flatnonzero(~keep).tolist():
        line = int(rows.line[k])
        if st.strict:
            raise InputError("exact duplicate of an earlier line", source=st.source, line=line)
        st.skips.add("duplicate", f"{st.source}:{line}: exact duplicate of an earlier line")
    return rows.take(np.flatnonzero(keep))


def _drop_time_outliers(radar: RadarDetections, ir: IrDetections, st: _ReadState,
                        ) -> tuple[RadarDetections, IrDetections]:
    """Keep the largest run of detections with no gap over MAX_GAP_S; skip and count the others (a line
    dated a year ahead would otherwise stretch the recording over a year)."""
    t = np.sort(np.concatenate([radar.t_unix_s, ir.t_unix_s]))
    if t.size == 0 or t[-1] - t[0] <= MAX_GAP_S:
        return radar, ir
    cuts = np.flatnonzero(np.diff(t) > MAX_GAP_S)
    starts = np.concatenate([[0], cuts + 1])
    ends = np.concatenate([cuts + 1, [t.size]])
    k = int(np.argmax(ends - starts))
    lo, hi = float(t[starts[k]]), float(t[ends[k] - 1])
    kept = []
    for rows in (radar, ir):
        inside = (rows.t_unix_s >= lo) & (rows.t_unix_s <= hi)
        for j in np.flatnonzero(~inside).tolist():
            line, tj = int(rows.line[j]), float(rows.t_unix_s[j])
            why = (f"t={tj!r} is {min(abs(tj - lo), abs(tj - hi)) / 3600:.1f} h away from the other "
                   f"{int(ends[k] - starts[k])} detections ({lo!r} to {hi!r})")
            if st.strict:
                raise InputError(why, source=st.source, line=line, field="t")
            st.skips.add("time_outlier", f"{st.source}:{line}: t: {why}")
        kept.append(rows.take(np.flatnonzero(inside)))
    return kept[0], kept[1]
