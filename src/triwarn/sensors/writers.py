"""The writers of the recorded-data files: sensors.yaml, measurements.jsonl and truth.jsonl.

Files carry degrees; the records written are SI (see docs/formats.md). Values are rounded to well below
any sensor's noise, and the JSON-lines files are written in chunks so that memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import yaml
from numpy.typing import NDArray

from triwarn.records.detections import IrDetections, MeasurementLog, RadarDetections
from triwarn.sensors.definitions import Sensor
from triwarn.sensors.truth_reader import TruthLine, TruthLog

WRITE_CHUNK_ROWS = 100_000  # rows encoded at a time: bounds memory for files of millions of lines


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
                TruthLine(ti, ids[oi], p, v, kinds[oi], ph or None, launches[oi])
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
