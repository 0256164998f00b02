"""Where a live node's own detections come from: a small interface, and a recording replayed on a clock.

    source = ReplaySource.from_files(sensors, measurements_path, nation="kr", epoch_unix_s=epoch)
    radar, ir = source.take_until(t_unix_s)     # detections not taken yet with time <= t_unix_s

A live sensor feed later implements the same `take_until` (and `exhausted`), so the node does not
care whether detections were recorded or are arriving now.

Replay on a clock: the recording's times are shifted so that its origin (the earliest `t` of any line
in the file, whichever nation's sensor made it) falls on `epoch_unix_s`. Three nodes started
separately with the same recording and the same epoch therefore agree on when the flight happens.
Radar detections are released at their (shifted) time t, infrared reports at their (shifted)
t_available, the time they reach the node. Times are unix seconds; the sensor_idx of each detection
indexes the node's own sensors (NodeFeed re-indexing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import msgspec
import numpy as np

from triwarn.errors import InputError
from triwarn.node.lockstep import NodeFeed
from triwarn.records.detections import IrDetections, MeasurementLog, RadarDetections
from triwarn.sensors.measurement_reader import read_measurements


class DetectionSource(Protocol):
    """A node's own detections, handed out once each in time order."""

    def take_until(self, t_unix_s: float) -> tuple[RadarDetections, IrDetections]:
        """Detections not taken before whose time (radar t, IR t_available) is <= t_unix_s."""
        ...

    def exhausted(self) -> bool:
        """True when no detection will ever come again (a recording played to its end)."""
        ...


class _TimeOnly(msgspec.Struct):
    t: float | None = None


def recording_origin_unix_s(path: Path) -> float:
    """The earliest finite `t` (unix s) of any line of a measurements.jsonl; lines without one are ignored.

    It is the same for every nation reading the same file, which is what lets separately started nodes
    line their replays up on one epoch.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("measurements file not found", source=str(path)) from None
    decoder = msgspec.json.Decoder(_TimeOnly)
    best = math.inf
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            t = decoder.decode(raw).t
        except (msgspec.ValidationError, msgspec.DecodeError):
            continue
        if t is not None and math.isfinite(t):
            best = min(best, t)
    if not math.isfinite(best):
        raise InputError("no line with a time 't'", source=str(path))
    return best


def _shifted(feed: NodeFeed, shift_s: float) -> NodeFeed:
    r, ir = feed.radar, feed.ir
    radar = RadarDetections(r.t_unix_s + shift_s, r.sensor_idx, r.range_m, r.az_rad, r.el_rad, r.line)
    ir = IrDetections(ir.t_unix_s + shift_s, ir.sensor_idx, ir.platform_ecef_m, ir.los_ecef,
                      ir.t_available_unix_s + shift_s, ir.line)
    return NodeFeed(radar=radar, ir=ir)


@dataclass
class ReplaySource:
    """A recording played against a clock (see the module docstring). shift_s = epoch - origin.

    start_unix_s: detections at or before it are never handed out (a node started, or restarted, late
    does not see what its sensors saw while it was down); None hands out everything from the start.
    """

    feed: NodeFeed
    shift_s: float
    start_unix_s: float | None = None
    log: MeasurementLog | None = None

    def __post_init__(self) -> None:
        self._shifted = _shifted(self.feed, self.shift_s)
        self._taken_to = -np.inf if self.start_unix_s is None else float(self.start_unix_s)
        ends = [x[-1] for x in (self._shifted.radar.t_unix_s, self._shifted.ir.t_available_unix_s) if len(x)]
        self.end_unix_s = float(max(ends)) if ends else -np.inf
        self.taken = 0

    @classmethod
    def from_files(cls, sensors: Mapping[str, object], measurements: Path, *, nation: str,
                   epoch_unix_s: float, start_unix_s: float | None = None) -> ReplaySource:
        """The nation's own detections from a recording (lines of other sensors are skipped and counted
        in `log.skips` as unknown sensors), shifted so that the recording's origin is epoch_unix_s."""
        own = {sid: s for sid, s in sensors.items() if getattr(s, "nation", None) == nation}
        if not own:
            raise InputError(f"no sensor of {nation} to replay", field="sensors")
        log = read_measurements(measurements, own)
        shift = float(epoch_unix_s) - recording_origin_unix_s(measurements)
        return cls(NodeFeed.for_nation(log, own, nation), shift, start_unix_s, log)

    def take_until(self, t_unix_s: float) -> tuple[RadarDetections, IrDetections]:
        t = float(t_unix_s)
        if t <= self._taken_to:
            return self._shifted.slice(t, t)  # empty, of the right types
        radar, ir = self._shifted.slice(self._taken_to, t)
        self._taken_to = t
        self.taken += len(radar) + len(ir)
        return radar, ir

    def exhausted(self) -> bool:
        return self._taken_to >= self.end_unix_s
