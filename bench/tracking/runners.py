"""Run triwarn's tracker and Stone Soup on the same simulated files; report positions at each tick.

Both see the same detections in the same order and are asked for their tracks at the same report ticks
(whole multiples of the interval), using only detections up to that tick. Time spent making the
reports is left out of both trackers' measurement rates.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from triwarn.physics.dynamics import approx_alt_m
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.measurement_reader import read_measurements
from triwarn.tracking.commands import report_ticks
from triwarn.tracking.models import RadarSites, radar_to_ecef
from triwarn.tracking.tracker import Tracker

Reports = dict[float, tuple[list[str], np.ndarray]]


def load(folder: Path):
    """Sensors and measurement log of a `triwarn simulate` folder."""
    sensors = load_sensors(folder / "sensors.yaml")
    return sensors, read_measurements(folder / "measurements.jsonl", sensors)


def run_triwarn(folder: Path, interval_s: float = 1.0) -> tuple[Reports, dict]:
    """triwarn.tracking.Tracker over the folder's files. Returns reports and timing figures."""
    sensors, log = load(folder)
    radar = log.radar
    ticks = report_ticks(float(radar.t_unix_s.min()), float(radar.t_unix_s.max()), interval_s)
    # Load (or, with a stale cache, compile) the numba kernels on a throwaway tracker first, so the rate
    # is the steady state; the one-off cost is reported apart (jit_cpu_s).
    c0 = time.process_time()
    warm = Tracker(sensors)
    warm.process(radar=radar.take(slice(0, min(5000, len(radar.t_unix_s)))))
    warm.tracks_at(float(ticks[0]) if len(ticks) else float(radar.t_unix_s.min()))
    jit_cpu_s = time.process_time() - c0
    del warm
    tracker = Tracker(sensors)
    reports: Reports = {}
    done = 0
    cpu = wall = 0.0
    for tick in ticks.tolist():
        end = int(np.searchsorted(radar.t_unix_s, tick, side="right"))
        c0, w0 = time.process_time(), time.perf_counter()
        tracker.process(radar=radar.take(slice(done, end)))
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        done = end
        rep = tracker.tracks_at(tick)
        # ids as one numpy string array per tick: a million small str objects would dominate the RSS
        reports[tick] = (rep.track_id.astype(np.str_), rep.pos_ecef_m)
    return reports, {"detections": done, "cpu_s": cpu, "wall_s": wall, "jit_cpu_s": jit_cpu_s}


def run_stonesoup(folder: Path, interval_s: float = 1.0, q_jerk: float = 0.01, min_points: int = 3,
                  max_coast_s: float = 5.0, budget_s: float | None = None) -> tuple[Reports, dict]:
    """Stone Soup 1.9.1, set up as docs/tracking.md describes: EKF predictor and updater, a constant-
    acceleration model per ECEF axis (jerk density q_jerk, m^2/s^5), Mahalanobis distance hypotheses
    gated at the same chi-square(3) 0.999 as triwarn, GNN 2-D assignment, a multi-measurement initiator
    (min_points detections), an update-time deleter. Each radar detection is converted to an ECEF
    position with its own covariance (the same conversion triwarn uses for initiation) and carries its
    own linear measurement model. budget_s stops early (the figures then cover what was processed).
    """
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantAcceleration
    from stonesoup.predictor.kalman import ExtendedKalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import ExtendedKalmanUpdater

    sensors, log = load(folder)
    radar = log.radar
    ids = list(sensors)
    sens = [sensors[i] for i in ids]
    sites = RadarSites.from_arrays(*(np.array([getattr(s, a) for s in sens], float) for a in (
        "lat_rad", "lon_rad", "alt_m", "sigma_range_m", "sigma_az_rad", "sigma_el_rad", "revisit_s",
        "max_range_m", "min_el_rad", "p_detect")))
    s_idx = radar.sensor_idx
    z = np.stack([radar.range_m, radar.az_rad, radar.el_rad], axis=-1)
    sig = np.stack([sites.sigma_range_m[s_idx], sites.sigma_az_rad[s_idx], sites.sigma_el_rad[s_idx]], -1)
    pos, cov = radar_to_ecef(z, sites.pos_ecef_m[s_idx], sites.rot_enu[s_idx], sig)
    epoch = datetime(1970, 1, 1, tzinfo=UTC).replace(tzinfo=None)

    def stamp(t: float) -> datetime:
        return epoch + timedelta(seconds=float(t))

    # One frame per distinct detection time (the simulator stamps a whole scan with its scan time).
    t = radar.t_unix_s
    cut = np.flatnonzero(np.diff(t) > 0) + 1
    frames = []
    for rows in np.split(np.arange(t.size), cut):
        dets = set()
        for r in rows.tolist():
            model = LinearGaussian(ndim_state=9, mapping=(0, 3, 6), noise_covar=cov[r])
            dets.add(Detection(pos[r].reshape(3, 1), timestamp=stamp(t[r]), measurement_model=model))
        frames.append((float(t[rows[0]]), stamp(t[rows[0]]), dets, rows.size))

    class Frames:
        def __iter__(self):
            return ((ts, d) for _, ts, d, _ in frames)

    transition = CombinedLinearGaussianTransitionModel([ConstantAcceleration(q_jerk)] * 3)
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement_model=None)
    gate = float(np.sqrt(16.27))
    hyp = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=gate)
    associator = GNNWith2DAssignment(hyp)
    deleter = UpdateTimeDeleter(timedelta(seconds=max_coast_s))
    prior = GaussianState(np.zeros((9, 1)), np.diag([0.0, 2000.0**2, 30.0**2] * 3))
    init_hyp = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=gate)
    initiator = MultiMeasurementInitiator(prior_state=prior, deleter=deleter, data_associator=GNNWith2DAssignment(
        init_hyp), updater=updater, min_points=min_points)
    tracker = MultiTargetTracker(initiator=initiator, deleter=deleter, detector=Frames(),
                                 data_associator=associator, updater=updater)
    ticks = report_ticks(float(t.min()), float(t.max()), interval_s)
    reports: Reports = {}
    cpu = wall = 0.0
    done = 0
    it = iter(tracker)
    k = 0
    stopped_early = False
    for t_frame, _, _, n in frames:
        while k < ticks.size and ticks[k] < t_frame:
            reports[float(ticks[k])] = _stonesoup_report(tracker.tracks, predictor, stamp(ticks[k]))
            k += 1
        if budget_s is not None and cpu > budget_s:
            stopped_early = True
            break
        c0, w0 = time.process_time(), time.perf_counter()
        next(it)
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        done += n
    if not stopped_early:
        while k < ticks.size:
            reports[float(ticks[k])] = _stonesoup_report(tracker.tracks, predictor, stamp(ticks[k]))
            k += 1
    return reports, {"detections": done, "cpu_s": cpu, "wall_s": wall, "stopped_early": stopped_early}


def _stonesoup_report(tracks, predictor, when) -> tuple[list[str], np.ndarray]:
    ids, pos = [], []
    for track in tracks:
        state = predictor.predict(track.state, timestamp=when) if track.timestamp != when else track.state
        p = np.asarray(state.state_vector, float).ravel()[[0, 3, 6]]
        if approx_alt_m(p) >= 0.0:  # the same "fallen" rule triwarn applies to its own reports
            ids.append(str(track.id))
            pos.append(p)
    return ids, np.array(pos, float).reshape(-1, 3)
