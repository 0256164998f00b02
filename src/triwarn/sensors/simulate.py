"""Fly a scenario's launches and run every sensor over them: truth and measurements, deterministic for a
seed. Times unix seconds (UTC), ECEF metres.

Each sensor draws from its own random stream, seeded by (seed, sensor id), so adding a sensor does not
change what the others see.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np

from triwarn.errors import InputError
from triwarn.physics.launch import PHASE_BALLISTIC, PHASE_BOOST, Flight, LaunchSpec, ObjectTrajectory
from triwarn.records.detections import IrDetections, MeasurementLog, RadarDetections
from triwarn.sensors import infrared, radar
from triwarn.sensors.definitions import IrSensor, RadarSensor, Sensor
from triwarn.sensors.paths import ObjectPaths
from triwarn.sensors.scenario import Scenario
from triwarn.sensors.truth_reader import TruthLog


def fly_launch(spec: LaunchSpec, dt_s: float) -> list[ObjectTrajectory]:
    """The objects a launch puts in the air (t_s after launch; warhead first, then spent stages)."""
    from triwarn.physics.flight import fly
    from triwarn.physics.slv import SlvSpec, fly_slv

    flight: Flight = fly_slv(spec, dt_s) if isinstance(spec, SlvSpec) else fly(spec, dt_s)
    return flight.objects


def sensor_rng(seed: int, sensor_id: str) -> np.random.Generator:
    """The random stream of one sensor for one seed."""
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, zlib.crc32(sensor_id.encode())]))


@dataclass
class SimulationResult:
    """Everything `triwarn simulate` writes, plus the detected object of each row (for tests and benches).

    radar_object_idx / ir_object_idx index paths.object_ids; -1 marks clutter.
    """

    sensors: dict[str, Sensor]
    paths: ObjectPaths
    truth: TruthLog
    measurements: MeasurementLog
    radar_object_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    ir_object_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))


def fly_scenario(scenario: Scenario) -> ObjectPaths:
    """Every launch of the scenario flown and gathered into one ObjectPaths."""
    items = []
    flown: dict[LaunchSpec, list[ObjectTrajectory]] = {}  # salvo members often share every figure
    for ev in scenario.launches:
        if ev.spec not in flown:
            try:
                flown[ev.spec] = fly_launch(ev.spec, scenario.flight_dt_s)
            except InputError as exc:  # name the scenario entry, not only the solver's field
                field_name = ev.where if exc.field is None else f"{ev.where}.{exc.field}"
                raise InputError(f"launch {ev.id}: {exc.reason}", source=ev.source, line=ev.line,
                                 field=field_name if ev.where else exc.field) from None
        for traj in flown[ev.spec]:
            items.append((ev.id, ev.t_unix_s, traj))
    return ObjectPaths.from_trajectories(items)


def sample_truth(paths: ObjectPaths, dt_s: float) -> TruthLog:
    """Each object's state at every whole multiple of dt_s (unix s) within its flight."""
    if paths.n_objects == 0:
        empty = np.zeros(0)
        return TruthLog([], empty, np.zeros(0, np.int32), np.zeros((0, 3)), np.zeros((0, 3)),
                        np.zeros(0, np.str_))
    k0 = math.ceil(float(paths.t_first_s.min()) / dt_s)
    k1 = math.floor(float(paths.t_last_s.max()) / dt_s)
    grid = np.arange(k0, k1 + 1, dtype=float) * dt_s
    s = paths.sample(grid)
    phase = np.where(s.boost, PHASE_BOOST, PHASE_BALLISTIC)
    return TruthLog(list(paths.object_ids), s.t_unix_s, s.object_idx, s.pos_ecef_m, s.vel_ecef_mps, phase,
                    dict(zip(paths.object_ids, paths.kind, strict=True)),
                    dict(zip(paths.object_ids, paths.launch, strict=True)))


def observe_all(sensors: dict[str, Sensor], paths: ObjectPaths, t_start_unix_s: float, t_end_unix_s: float,
                seed: int) -> tuple[MeasurementLog, np.ndarray, np.ndarray]:
    """Run every sensor over [t_start, t_end]; detections in columns, with each row's object (-1: clutter)."""
    ids = list(sensors)
    r_parts: list[tuple[int, radar.RadarOutput]] = []
    i_parts: list[tuple[int, infrared.IrOutput]] = []
    for k, (sid, sensor) in enumerate(sensors.items()):
        rng = sensor_rng(seed, sid)
        if isinstance(sensor, RadarSensor):
            scans = radar.scan_times(sensor, t_start_unix_s, t_end_unix_s)
            s = paths.sample(scans)
            r_parts.append((k, radar.observe(sensor, s.t_unix_s, s.pos_ecef_m, s.object_idx, scans, rng)))
        elif isinstance(sensor, IrSensor):
            frames = infrared.frame_times(sensor, t_start_unix_s, t_end_unix_s)
            s = paths.sample(frames)
            i_parts.append((k, infrared.observe(sensor, s.t_unix_s, s.pos_ecef_m, s.boost, s.object_idx,
                                                rng)))

    def cat(parts, name, empty_shape=(0,)):
        if not parts:
            return np.zeros(empty_shape)
        return np.concatenate([getattr(out, name) for _, out in parts])

    r_t = cat(r_parts, "t_unix_s")
    r_order = np.argsort(r_t, kind="stable")
    r_idx = np.concatenate([np.full(len(out), k, np.int32) for k, out in r_parts]) if r_parts else np.zeros(
        0, np.int32)
    radar_det = RadarDetections(r_t[r_order], r_idx[r_order], cat(r_parts, "range_m")[r_order],
                                cat(r_parts, "az_rad")[r_order], cat(r_parts, "el_rad")[r_order],
                                np.zeros(len(r_t), np.int64))
    r_obj = cat(r_parts, "object_idx").astype(np.int32)[r_order]
    i_t = cat(i_parts, "t_unix_s")
    i_order = np.argsort(i_t, kind="stable")
    i_idx = np.concatenate([np.full(len(out), k, np.int32) for k, out in i_parts]) if i_parts else np.zeros(
        0, np.int32)
    ir_det = IrDetections(i_t[i_order], i_idx[i_order], cat(i_parts, "platform_ecef_m", (0, 3))[i_order],
                          cat(i_parts, "los_ecef", (0, 3))[i_order],
                          cat(i_parts, "t_available_unix_s")[i_order], np.zeros(len(i_t), np.int64))
    i_obj = cat(i_parts, "object_idx").astype(np.int32)[i_order]
    return MeasurementLog(ids, radar_det, ir_det, source="simulation"), r_obj, i_obj


def simulate(scenario: Scenario, seed: int = 0, paths: ObjectPaths | None = None) -> SimulationResult:
    """Fly the scenario (unless paths are given) and run its sensors; nothing touches the disk."""
    if paths is None:
        paths = fly_scenario(scenario)
    truth = sample_truth(paths, scenario.truth_dt_s)
    first = float(paths.t_first_s.min()) if paths.n_objects else 0.0
    last = float(paths.t_last_s.max()) if paths.n_objects else 0.0
    t_start = scenario.start_unix_s if scenario.start_unix_s is not None else first
    t_end = scenario.end_unix_s if scenario.end_unix_s is not None else last
    log, r_obj, i_obj = observe_all(scenario.sensors, paths, t_start, t_end, seed)
    return SimulationResult(scenario.sensors, paths, truth, log, r_obj, i_obj)
