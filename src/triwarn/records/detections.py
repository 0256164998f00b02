"""Detection records: radar and infrared detections in columns (one row per detection), and a
measurement log holding both with what a lenient reader skipped.

SI throughout: unix seconds, metres, radians, ECEF. Read from and written to measurements.jsonl by
triwarn.sensors.measurement_reader and triwarn.sensors.writers (see docs/formats.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

# A measurement file's detections more than this far in time from the bulk of the file are skipped as
# 'time_outlier' (a line dated a year ahead must not stretch a replay over a year).
TIME_OUTLIER_GAP_S = 6 * 3600.0
SKIP_REASONS = ("malformed_json", "missing_field", "malformed_field", "unknown_sensor", "nan",
                "impossible_value", "out_of_order", "duplicate", "time_outlier")
_REASON_TEXT = {
    "malformed_json": "malformed JSON",
    "missing_field": "missing field",
    "malformed_field": "malformed field",
    "unknown_sensor": "unknown sensor",
    "nan": "NaN or infinite value",
    "impossible_value": "impossible value",
    "out_of_order": "out of time order beyond the reorder window",
    "duplicate": "exact duplicate of an earlier line",
    "time_outlier": f"dated more than {TIME_OUTLIER_GAP_S / 3600:.0f} h from the rest of the file",
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

