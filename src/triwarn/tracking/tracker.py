"""The multi-target ballistic tracker: assembled from the role modules, driven by measurement batches.

Usage (the same code serves `triwarn track`, a live node and exercises on a simulated clock)::

    tracker = Tracker(sensors)                  # sensors: {id: RadarSensor | IrSensor} (load_sensors)
    tracker.process(radar=RadarDetections(...), ir=IrDetections(...))   # any batch, any size
    report = tracker.tracks_at(t_unix_s)        # confirmed tracks predicted to t_unix_s

A batch's sensor_idx indexes `tracker.sensor_ids` (= list(sensors), the order `read_measurements`
uses). Within a batch, detections are cut into frames (one sensor, one scan) and processed in time
order. A detection older than a track's last update is still used: the track is predicted back to
it (process noise is added for |dt|), so late infrared reports need no special path.

Per frame: predict live tracks to the frame time (dominant mode, for gating only), coarse spatial
gate, Mahalanobis gate, GNN 2-D assignment (confirmed tracks first, then tentative ones, so a
tentative track never steals a confirmed track's detection), IMM-EKF update of each assigned track
at its detection's exact time, M-of-N bookkeeping for tracks the sensor covered, two-point
initiation from the detections nobody took, deletion of lost / fallen / duplicate tracks. The per-track
algebra runs in the compiled kernels of `imm_ekf` (numba), one call per step for all tracks of a frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from triwarn.records.columns import grown
from triwarn.records.detections import IrDetections, MeasurementLog, RadarDetections
from triwarn.records.tracks import NationalTracks
from triwarn.sensors.definitions import RadarSensor
from triwarn.tracking.association import gnn_assign, spatial_candidates
from triwarn.tracking.deletion import DeletionSettings, delete_duplicates, delete_lost
from triwarn.tracking.imm_ekf import (
    dominant_predict,
    imm_predict_combined,
    imm_update_los,
    imm_update_radar,
    kernel_params,
    radar_gate_tracks,
    radar_pair_gate,
    radar_to_ecef_compiled,
)
from triwarn.tracking.initiation import InitiationSettings, TwoPointInitiator, m_of_n
from triwarn.tracking.models import (
    MODE_BOOST,
    N_MODES,
    STATE_DIM,
    MotionNoise,
    RadarSites,
    los_predict,
)
from triwarn.tracking.predictor import ModeSwitching
from triwarn.tracking.updater import small_inverse

FREE, TENTATIVE, CONFIRMED = 0, 1, 2


@dataclass(frozen=True)
class TrackerSettings:
    """Everything tunable, SI units. Gates are chi-square thresholds (0.999 for 3 and 2 degrees)."""

    noise: MotionNoise = field(default_factory=MotionNoise)
    switching: ModeSwitching = field(default_factory=ModeSwitching)
    initiation: InitiationSettings = field(default_factory=InitiationSettings)
    deletion: DeletionSettings = field(default_factory=DeletionSettings)
    gate_radar_d2: float = 16.27
    gate_los_d2: float = 13.82
    confirm_m: int = 5  # hits (the two seeding detections count) ...
    confirm_n: int = 6  # ... within this many chances
    max_missed_in_row: int = 5  # covered scans in a row without a hit: the track has lost its object
    tentative_max_coast_s: float = 6.0
    initial_boost_probability: float = 0.2
    quality_gain: float = 0.2  # weight of the newest chance in the quality figure
    duplicate_check_interval_s: float = 2.0


class Tracker:
    """IMM-EKF / GNN multi-target tracker in ECEF for radar (range, az, el) and IR line-of-sight data."""

    def __init__(self, sensors: Mapping[str, object], settings: TrackerSettings | None = None,
                 id_prefix: str = "T") -> None:
        self.settings = settings or TrackerSettings()
        self.sensor_ids = list(sensors)
        self.id_prefix = id_prefix
        sens = [sensors[s] for s in self.sensor_ids]
        self._is_radar = np.array([isinstance(s, RadarSensor) for s in sens])
        radars = [s if isinstance(s, RadarSensor) else None for s in sens]

        def col(name, default=0.0):
            return np.array([getattr(r, name) if r is not None else default for r in radars], float)

        self.sites = RadarSites.from_arrays(
            col("lat_rad"), col("lon_rad"), col("alt_m"), col("sigma_range_m", 1.0),
            col("sigma_az_rad", 1.0), col("sigma_el_rad", 1.0), col("revisit_s", 1.0),
            col("max_range_m"), col("min_el_rad"), col("p_detect"),
        )
        self._max_el_rad = col("max_el_rad", np.pi / 2)
        self._bore_az_rad = col("boresight_az_rad")
        self._half_az_rad = col("half_width_az_rad", np.pi)
        self._scan_phase_s = col("scan_phase_s")
        self._ir_sigma_rad = np.array([getattr(s, "sigma_los_rad", 1.0) for s in sens], float)
        self._ir_frame_s = np.array([getattr(s, "frame_s", 1.0) for s in sens], float)
        self.initiator = TwoPointInitiator(self.settings.initiation)
        self._params = kernel_params(self.settings.noise, self.settings.switching)
        self._cap = 0
        self._next_id = 1
        self._grow(64)
        self.n_radar_processed = 0
        self.n_ir_processed = 0
        self._last_dup_check_t = -np.inf
        self.n_ever_confirmed = 0
        self.frame_errors = 0
        self.frame_error_example = ""

    # ------------------------------------------------------------------------------------- storage

    def _grow(self, need: int) -> None:
        cap = max(need, 2 * self._cap, 64)
        if cap <= self._cap:
            return

        def ext(arr, shape, dtype=float, fill=0):
            return grown(arr, cap, shape, dtype, fill)

        s = len(self.sensor_ids)
        self.x_mode = ext(getattr(self, "x_mode", None), (N_MODES, STATE_DIM))
        self.p_mode = ext(getattr(self, "p_mode", None), (N_MODES, STATE_DIM, STATE_DIM))
        self.mu = ext(getattr(self, "mu", None), (N_MODES,))
        self.x = ext(getattr(self, "x", None), (STATE_DIM,))
        self.p = ext(getattr(self, "p", None), (STATE_DIM, STATE_DIM))
        self.t = ext(getattr(self, "t", None), ())
        self.status = ext(getattr(self, "status", None), (), np.int8)
        self.track_num = ext(getattr(self, "track_num", None), (), np.int64)
        self.hits = ext(getattr(self, "hits", None), (), np.int32)
        self.chances = ext(getattr(self, "chances", None), (), np.int32)
        self.missed_in_row = ext(getattr(self, "missed_in_row", None), (), np.int32)
        self.last_hit_t = ext(getattr(self, "last_hit_t", None), ())
        self.quality = ext(getattr(self, "quality", None), ())
        self.seen = ext(getattr(self, "seen", None), (s,), bool, False)
        self._cap = cap

    def _add_tracks(self, x: NDArray, p: NDArray, t: NDArray, sensor: int) -> None:
        n = len(x)
        if n == 0:
            return
        free = np.flatnonzero(self.status == FREE)
        if free.size < n:
            self._grow(self._cap + n)
            free = np.flatnonzero(self.status == FREE)
        slot = free[:n]
        self.x_mode[slot] = x[:, None, :]
        self.p_mode[slot] = p[:, None, :, :]
        self.mu[slot] = [1.0 - self.settings.initial_boost_probability, self.settings.initial_boost_probability]
        self.x[slot], self.p[slot], self.t[slot] = x, p, t
        self.status[slot] = TENTATIVE
        self.track_num[slot] = np.arange(self._next_id, self._next_id + n)
        self._next_id += n
        self.hits[slot] = 2
        self.chances[slot] = 2
        self.missed_in_row[slot] = 0
        self.last_hit_t[slot] = t
        self.quality[slot] = 0.5
        self.seen[slot] = False
        self.seen[slot, sensor] = True

    def _free(self, idx: NDArray) -> None:
        self.status[idx] = FREE

    @property
    def n_confirmed(self) -> int:
        return int(np.count_nonzero(self.status == CONFIRMED))

    @property
    def n_tentative(self) -> int:
        return int(np.count_nonzero(self.status == TENTATIVE))

    # ------------------------------------------------------------------------------------- driving

    def process_log(self, log: MeasurementLog) -> None:
        """Process everything a reader returned (its sensor ids must be this tracker's, in order)."""
        if list(log.sensor_ids) != self.sensor_ids:
            raise ValueError("the measurement log was read with a different sensor list")
        self.process(radar=log.radar, ir=log.ir)

    def process(self, radar: RadarDetections | None = None, ir: IrDetections | None = None) -> None:
        """Process one batch of detections (any mix of sensors and times) in frame-time order."""
        frames = []
        if radar is not None and len(radar):
            frames += self._frames(radar.t_unix_s, radar.sensor_idx, kind=0)
        if ir is not None and len(ir):
            frames += self._frames(ir.t_unix_s, ir.sensor_idx, kind=1)
        frames.sort(key=lambda f: f[0])
        for _, kind, rows in frames:
            # A numerical failure in one frame (a singular matrix from a pathological detection) must not
            # stop the stream: the frame is counted and skipped, tracks with non-finite states dropped.
            try:
                with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                    if kind == 0:
                        self._radar_frame(radar, rows)
                    else:
                        self._ir_frame(ir, rows)
            except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
                self.frame_errors += 1
                self.frame_error_example = self.frame_error_example or f"{type(exc).__name__}: {exc}"
                bad = ~np.all(np.isfinite(self.x), axis=1) | ~np.all(np.isfinite(self.p), axis=(1, 2))
                self._free(np.flatnonzero(bad & (self.status != FREE)))

    def _frames(self, t: NDArray, sensor: NDArray, kind: int) -> list[tuple[float, int, NDArray]]:
        """Cut detections into (start time, kind, rows) frames: one sensor, one scan each."""
        period = self.sites.revisit_s[sensor] if kind == 0 else self._ir_frame_s[sensor]
        phase = self._scan_phase_s[sensor] if kind == 0 else 0.0
        scan = np.round((t - phase) / period).astype(np.int64)
        order = np.lexsort((t, scan, sensor))
        key_s, key_k = sensor[order], scan[order]
        cut = np.flatnonzero((np.diff(key_s) != 0) | (np.diff(key_k) != 0)) + 1
        out = []
        for rows in np.split(order, cut):
            out.append((float(t[rows[0]]), kind, rows))
        return out

    # ---------------------------------------------------------------------------------- prediction

    def _predict_dominant(self, idx: NDArray, t_s: float | NDArray) -> tuple[NDArray, NDArray]:
        """Combined states and covariances of tracks idx predicted to t_s with their dominant mode."""
        return dominant_predict(self.x, self.p, self.t, self.mu[:, MODE_BOOST], idx, float(t_s), self._params, True)

    def _predict_for_gating(self, idx: NDArray, t_s: float) -> tuple[NDArray, NDArray]:
        """States (N, 9) and position covariances (N, 3, 3) of tracks idx at t_s (dominant mode)."""
        x, p = dominant_predict(self.x, self.p, self.t, self.mu[:, MODE_BOOST], idx, float(t_s), self._params,
                                False)
        return x, p[:, 0:3, 0:3]

    # -------------------------------------------------------------------------------------- radar

    def _radar_frame(self, det: RadarDetections, rows: NDArray) -> None:
        st = self.settings
        s = int(det.sensor_idx[rows[0]])
        t = det.t_unix_s[rows]
        z = np.stack([det.range_m[rows], det.az_rad[rows], det.el_rad[rows]], axis=-1)
        self.n_radar_processed += len(rows)
        site, rot = self.sites.pos_ecef_m[s], self.sites.rot_enu[s]
        sig = np.array([self.sites.sigma_range_m[s], self.sites.sigma_az_rad[s], self.sites.sigma_el_rad[s]])
        meas_pos, meas_cov, meas_var = radar_to_ecef_compiled(z, site, rot, sig)
        t_f = float(t.min())
        span = float(t.max()) - t_f
        n_m = len(rows)
        taken = np.zeros(n_m, bool)
        act = np.flatnonzero(self.status != FREE)
        # Only tracks that could be near this radar's volume need predicting.
        if act.size:
            reach = self.sites.max_range_m[s] + np.linalg.norm(self.x[act, 3:6], axis=1) * (
                np.abs(t_f - self.t[act]) + span) + 50_000.0
            act = act[np.linalg.norm(self.x[act, 0:3] - site, axis=1) <= reach]
        if act.size:
            xp, pp, covered, radius = radar_gate_tracks(
                self.x, self.p, self.t, self.mu[:, MODE_BOOST], act, t_f, self._params, site, rot,
                self.sites.max_range_m[s], self.sites.min_el_rad[s], self._max_el_rad[s], self._bore_az_rad[s],
                self._half_az_rad[s], st.gate_radar_d2, meas_var, span)
            ti, mj = spatial_candidates(xp[:, 0:3], radius, meas_pos)
            if ti.size:
                d2, log_det = radar_pair_gate(xp, pp, ti, mj, t[mj] - t_f, z, site, rot, sig**2)
                ok = d2 < st.gate_radar_d2
                cost = d2 + log_det
                is_conf = self.status[act[ti]] == CONFIRMED
                sel = ok & is_conf
                a_t, a_m = gnn_assign(ti[sel], mj[sel], cost[sel], act.size, n_m)
                taken[a_m] = True
                sel = ok & ~is_conf & ~taken[mj]
                b_t, b_m = gnn_assign(ti[sel], mj[sel], cost[sel], act.size, n_m)
                taken[b_m] = True
                at = np.concatenate([a_t, b_t])
                am = np.concatenate([a_m, b_m])
            else:
                at = am = np.empty(0, np.intp)
            if at.size:
                self._update_radar(act[at], t[am], z[am], s, sig**2)
            hit = np.zeros(act.size, bool)
            hit[at] = True
            self._bookkeep(act, covered | hit, hit)
        # Detections nobody took may start tracks.
        free_m = np.flatnonzero(~taken)
        if free_m.size:
            x0, p0, t0, _ = self.initiator.initiate(meas_pos[free_m], meas_cov[free_m], t[free_m])
            self._add_tracks(x0, p0, t0, s)
        self._delete(t_f)

    def _update_radar(self, idx: NDArray, t_m: NDArray, z_m: NDArray, s: int, r_var: NDArray) -> None:
        """IMM-EKF cycle of tracks idx (unique) with one detection each, at the detection's time."""
        finite = imm_update_radar(self.x_mode, self.p_mode, self.mu, self.x, self.p, self.t, idx, t_m, z_m,
                                  self.sites.pos_ecef_m[s], self.sites.rot_enu[s], r_var, self._params)
        self._mark_hit(idx, t_m, s, finite)

    def _mark_hit(self, idx: NDArray, t_m: NDArray, s: int, finite: NDArray) -> None:
        self.last_hit_t[idx] = np.maximum(self.last_hit_t[idx], t_m)
        self.seen[idx, s] = True
        # A numerical failure (a pathological detection) leaves a non-finite state: drop that track now.
        if not finite.all():
            self._free(idx[~finite])

    def _bookkeep(self, idx: NDArray, chance: NDArray, hit: NDArray) -> None:
        """Count chances and hits; update quality; confirm or drop tentative tracks (M of N)."""
        st = self.settings
        c_idx = idx[chance]
        h = hit[chance]
        self.chances[c_idx] += 1
        self.hits[c_idx] += h.astype(np.int32)
        self.missed_in_row[c_idx] = np.where(h, 0, self.missed_in_row[c_idx] + 1)
        self.quality[c_idx] += st.quality_gain * (h - self.quality[c_idx])
        tent = c_idx[self.status[c_idx] == TENTATIVE]
        confirm, drop = m_of_n(self.hits[tent], self.chances[tent], st.confirm_m, st.confirm_n)
        self.status[tent[confirm]] = CONFIRMED
        self.n_ever_confirmed += int(np.count_nonzero(confirm))
        self._free(tent[drop])

    def _delete(self, t_now: float) -> None:
        st = self.settings
        act = np.flatnonzero(self.status != FREE)
        if act.size == 0:
            return
        lost = delete_lost(t_now, self.last_hit_t, self.x, self.p, st.deletion, idx=act)
        lost |= (self.status[act] == TENTATIVE) & (t_now - self.last_hit_t[act] > st.tentative_max_coast_s)
        lost |= self.missed_in_row[act] > st.max_missed_in_row
        self._free(act[lost])
        if t_now - self._last_dup_check_t >= st.duplicate_check_interval_s:
            self._last_dup_check_t = t_now
            act = np.flatnonzero(self.status != FREE)
            if act.size > 1:
                xp, pp = self._predict_dominant(act, t_now)
                rank = self.status[act] * 1e6 + self.hits[act]
                self._free(act[delete_duplicates(xp, pp, rank, st.deletion)])

    # ----------------------------------------------------------------------------------------- IR

    def _ir_frame(self, det: IrDetections, rows: NDArray) -> None:
        st = self.settings
        s = int(det.sensor_idx[rows[0]])
        t = det.t_unix_s[rows]
        plat, los = det.platform_ecef_m[rows], det.los_ecef[rows]
        self.n_ir_processed += len(rows)
        act = np.flatnonzero(self.status != FREE)
        if act.size == 0:
            return  # a line of sight alone has no range: IR confirms and refines, radar initiates
        t_f = float(t.min())
        span = float(t.max()) - t_f
        sigma = self._ir_sigma_rad[s]
        xp, pp = self._predict_for_gating(act, t_f)
        d = xp[:, None, 0:3] - plat[None, :, :]
        along = np.einsum("nmi,mi->nm", d, los)
        perp = np.linalg.norm(d - along[..., None] * los[None], axis=-1)
        radius = (np.sqrt(st.gate_los_d2) * np.sqrt(np.trace(pp, axis1=1, axis2=2)[:, None]
                                                    + (sigma * along) ** 2)
                  + np.linalg.norm(xp[:, 3:6], axis=1)[:, None] * span)
        ti, mj = np.nonzero((perp <= radius) & (along > 0))
        if ti.size == 0:
            return
        pos_pair = xp[ti, 0:3] + xp[ti, 3:6] * (t[mj] - t_f)[:, None]
        zp, h = los_predict(pos_pair, plat[mj], los[mj])
        h = h[:, :, 0:3]
        s_mat = h @ pp[ti] @ np.swapaxes(h, -1, -2) + sigma**2 * np.eye(2)
        s_inv, s_det = small_inverse(s_mat)
        d2 = np.einsum("ni,nij,nj->n", zp, s_inv, zp)
        ok = d2 < st.gate_los_d2
        cost = d2 + np.log(s_det)
        at, am = gnn_assign(ti[ok], mj[ok], cost[ok], act.size, len(rows))
        if at.size == 0:
            return
        idx = act[at]
        finite = imm_update_los(self.x_mode, self.p_mode, self.mu, self.x, self.p, self.t, idx, t[am], plat[am],
                                los[am], float(sigma), self._params)
        self._mark_hit(idx, t[am], s, finite)

    # ------------------------------------------------------------------------------------ reports

    def _sensor_lists(self, idx: NDArray) -> NDArray[np.object_]:
        """Ids of the sensors that updated each track idx: a tuple per track (one per distinct pattern)."""
        ids = self.sensor_ids
        seen = self.seen[idx]
        out = np.empty(idx.size, object)
        if len(ids) > 62 or idx.size == 0:
            for k, row in enumerate(seen):
                out[k] = tuple(ids[j] for j in np.flatnonzero(row))
            return out
        codes = seen.astype(np.int64) @ (np.int64(1) << np.arange(len(ids), dtype=np.int64))
        uniq, inverse = np.unique(codes, return_inverse=True)
        lists = np.empty(uniq.size, object)
        for k, c in enumerate(uniq.tolist()):
            lists[k] = tuple(ids[j] for j in range(len(ids)) if (c >> j) & 1)
        return lists[inverse.reshape(-1)]

    def tracks_at(self, t_unix_s: float, *, confirmed_only: bool = True) -> NationalTracks:
        """Live tracks (confirmed only by default) predicted to t_unix_s; the tracker is not changed.

        The table's boost column: the boost mode is the more probable and its specific force pushes
        forward (thrust); a ballistic track's drag on re-entry shows as a specific force against the
        velocity. boost_probability: the IMM's boost-mode probability. quality: a detection-ratio figure
        in [0, 1] (an exponentially weighted mean of hit = 1 / miss = 0 over the scans of sensors that
        covered the track). sensors_seen: the sensors that updated each track. nation is left empty (the
        caller knows whose tracker it is).
        """
        want = CONFIRMED if confirmed_only else TENTATIVE
        idx = np.flatnonzero(self.status >= want)
        idx = idx[np.argsort(self.track_num[idx])]
        if idx.size:
            x, p, mu = imm_predict_combined(self.x_mode, self.p_mode, self.mu, self.t, idx, float(t_unix_s),
                                            self._params)
            # A track that would be deleted at t (fallen, coasted too long) is not reported at t.
            keep = ~delete_lost(t_unix_s, self.last_hit_t[idx], x, p, self.settings.deletion)
            idx, x, p, mu = idx[keep], x[keep], p[keep], mu[keep]
        else:
            x, p, mu = np.zeros((0, STATE_DIM)), np.zeros((0, STATE_DIM, STATE_DIM)), np.zeros((0, N_MODES))
        thrusting = np.einsum("ni,ni->n", x[:, 6:9], x[:, 3:6]) > 0
        boost = (mu[:, MODE_BOOST] > 0.5) & thrusting
        n = len(idx)
        return NationalTracks(
            track_id=np.array([f"{self.id_prefix}{k}" for k in self.track_num[idx].tolist()], dtype=object),
            t_unix_s=np.full(n, float(t_unix_s)),
            pos_ecef_m=x[:, 0:3], vel_ecef_mps=x[:, 3:6], cov_ecef_m2=p[:, 0:6, 0:6],
            boost=boost, quality=self.quality[idx].copy(), boost_probability=mu[:, MODE_BOOST],
            sensors_seen=self._sensor_lists(idx),
        )
