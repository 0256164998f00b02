"""`triwarn track`: recorded detections in, confirmed tracks at each report tick out (JSONL).

Output line (one per confirmed track alive at a tick, predicted to the tick):
{"t", "track", "ecef_m", "vel_ecef_mps", "cov_ecef_m2" (6x6, position then velocity), "lat_deg",
"lon_deg", "alt_m", "mode": "boost"|"ballistic", "boost_probability", "quality", "sensors_seen"}.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import msgspec
import numpy as np

from triwarn.errors import InputError
from triwarn.progress import ProgressLine
from triwarn.records.tracks import NationalTracks
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.tracking.tracker import Tracker


class TrackLine(msgspec.Struct):
    """One line of tracks.jsonl (version 1). ECEF metres, m/s, m^2; degrees and metres for geodetic."""

    t: float
    track: str
    ecef_m: list[float]
    vel_ecef_mps: list[float]
    cov_ecef_m2: list[list[float]]
    lat_deg: float
    lon_deg: float
    alt_m: float
    mode: str
    boost_probability: float
    quality: float
    sensors_seen: list[str]


def report_lines(report: NationalTracks) -> list[TrackLine]:
    """The tracks.jsonl lines of one report (rounded to far below the track accuracy)."""
    pos = np.round(report.pos_ecef_m, 2).tolist()
    vel = np.round(report.vel_ecef_mps, 3).tolist()
    cov = report.cov_ecef_m2
    cov = np.round(0.5 * (cov + np.swapaxes(cov, -1, -2)), 4).tolist()
    return [
        TrackLine(round(t, 6), tid, p, v, c, round(la, 7), round(lo, 7), round(al, 2), m,
                  round(b, 4), round(q, 4), list(ss))
        for t, tid, p, v, c, la, lo, al, m, b, q, ss in zip(
            report.t_unix_s.tolist(), report.track_id.tolist(), pos, vel, cov, report.lat_deg.tolist(),
            report.lon_deg.tolist(),
            report.alt_m.tolist(), report.mode, report.boost_probability.tolist(), report.quality.tolist(),
            report.sensors_seen, strict=True)
    ]


MIN_REPORT_INTERVAL_S = 0.1  # the fastest radar revisit is ~1 s: a finer report grid only repeats itself
MAX_REPORT_INTERVAL_S = 3600.0
MAX_REPORT_TICKS = 2_000_000  # a week of reports at 0.3 s


def report_ticks(t_first_s: float, t_last_s: float, interval_s: float) -> np.ndarray:
    """Whole multiples of interval_s (unix seconds) inside [t_first_s, t_last_s]."""
    k0 = math.ceil(t_first_s / interval_s - 1e-9)
    k1 = math.floor(t_last_s / interval_s + 1e-9)
    return np.arange(k0, k1 + 1) * interval_s


def run_track(sensors: Path, measurements: Path, out: Path, report_interval_s: float = 1.0,
              quiet: bool = False) -> dict[str, int]:
    """Track everything in a measurements file; write confirmed tracks at each report tick to out.

    Bad lines are skipped and counted by the reader (summary on stderr); an unusable file raises
    InputError. Returns counts (detections, ticks, lines, tracks confirmed). The kernels are compiled
    first if they are not cached (a notice); a progress line on stderr follows the report times (on a
    terminal only, never with quiet: triwarn.progress).
    """
    from triwarn.tracking.kernel_cache import compile_kernels

    if not (math.isfinite(report_interval_s) and MIN_REPORT_INTERVAL_S <= report_interval_s <= MAX_REPORT_INTERVAL_S):
        raise InputError(f"{report_interval_s!r}: the report interval must lie in [{MIN_REPORT_INTERVAL_S}, "
                         f"{MAX_REPORT_INTERVAL_S:.0f}] seconds", field="--report-interval")
    sensor_map = load_sensors(sensors)
    log = read_measurements(measurements, sensor_map, strict=False)
    print(log.summary(), file=sys.stderr)
    out = Path(out)
    if not out.parent.exists():
        raise InputError("output folder does not exist", source=str(out))
    compile_kernels(quiet=quiet)
    tracker = Tracker(sensor_map)
    radar, ir = log.radar, log.ir
    times = np.concatenate([radar.t_unix_s, ir.t_unix_s])
    n_ticks = (float(times.max()) - float(times.min())) / report_interval_s
    if n_ticks > MAX_REPORT_TICKS:
        raise InputError(f"{report_interval_s!r}: {n_ticks:.3g} report times over the recording; at most "
                         f"{MAX_REPORT_TICKS} (give a longer interval)", field="--report-interval")
    ticks = report_ticks(float(times.min()), float(times.max()), report_interval_s)
    encoder = msgspec.json.Encoder()
    n_lines = 0
    r_done = i_done = 0
    try:
        fh = out.open("wb")
    except OSError as exc:
        raise InputError(f"cannot write tracks: {exc}", source=str(out)) from None
    bar = ProgressLine("track", total=int(ticks.size), enabled=False if quiet else None)
    with fh, bar:
        for k, tick in enumerate(ticks.tolist()):
            r_end = int(np.searchsorted(radar.t_unix_s, tick, side="right"))
            i_end = int(np.searchsorted(ir.t_unix_s, tick, side="right"))
            tracker.process(radar=radar.take(slice(r_done, r_end)), ir=ir.take(slice(i_done, i_end)))
            r_done, i_done = r_end, i_end
            lines = report_lines(tracker.tracks_at(tick))
            if lines:
                fh.write(encoder.encode_lines(lines))
                n_lines += len(lines)
            if bar.enabled:
                bar.update(k + 1, f"T+{tick - ticks[0]:.0f} s, {r_done + i_done} detections, {n_lines} lines")
    stats = {"detections": r_done + i_done, "ticks": int(ticks.size), "lines": n_lines,
             "tracks_confirmed": tracker.n_ever_confirmed, "frame_errors": tracker.frame_errors}
    from triwarn.wording import plural

    after = len(log) - stats["detections"]  # detections after the last whole report time: no report holds them
    msg = (f"track: {plural(stats['detections'], 'detection')} processed"
           + (f" ({len(log)} read, {after} after the last report time)" if after else "")
           + f", {plural(stats['tracks_confirmed'], 'track')} confirmed, "
           f"{plural(n_lines, 'line')} at {plural(stats['ticks'], 'report time')} written to {out}")
    if tracker.frame_errors:
        msg += f"; {tracker.frame_errors} frames failed numerically and were skipped ({tracker.frame_error_example})"
    print(msg, file=sys.stderr)
    return stats
