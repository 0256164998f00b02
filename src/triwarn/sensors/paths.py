"""Many objects' trajectories in one set of arrays, interpolated at sensor scan times all at once.

Times are unix seconds (UTC); positions and velocities ECEF in metres and metres per second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triwarn.physics.launch import PHASE_BOOST, ObjectTrajectory


@dataclass
class ObjectPaths:
    """Samples of every object, concatenated in object order; object o owns rows start[o]:start[o+1].

    Each object's samples are in increasing time. boost marks samples taken while the object burns.
    """

    object_ids: list[str]
    kind: list[str]
    launch: list[str]
    t_unix_s: NDArray[np.float64]
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    boost: NDArray[np.bool_]
    start: NDArray[np.intp]

    @classmethod
    def from_trajectories(cls, items: Iterable[tuple[str, float, ObjectTrajectory]]) -> ObjectPaths:
        """Build from (launch id, launch time in unix s, trajectory with t_s after launch) triples.

        Object ids become "<launch id>/<object id>". Objects with fewer than two samples are left out.
        """
        ids, kinds, launches, ts, ps, vs, bs = [], [], [], [], [], [], []
        for launch_id, t0_unix_s, traj in items:
            if len(traj.t_s) < 2:
                continue
            ids.append(f"{launch_id}/{traj.object_id}")
            kinds.append(traj.kind)
            launches.append(launch_id)
            ts.append(t0_unix_s + np.asarray(traj.t_s, float))
            ps.append(np.asarray(traj.pos_ecef_m, float))
            vs.append(np.asarray(traj.vel_ecef_mps, float))
            bs.append(np.asarray(traj.phase) == PHASE_BOOST)
        counts = [len(t) for t in ts]
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.intp)
        if not ids:
            return cls([], [], [], np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, bool), start)
        return cls(ids, kinds, launches, np.concatenate(ts), np.concatenate(ps), np.concatenate(vs),
                   np.concatenate(bs), start)

    @property
    def n_objects(self) -> int:
        return len(self.object_ids)

    @property
    def t_first_s(self) -> NDArray[np.float64]:
        return self.t_unix_s[self.start[:-1]]

    @property
    def t_last_s(self) -> NDArray[np.float64]:
        return self.t_unix_s[self.start[1:] - 1]

    def sample(self, times_unix_s: NDArray[np.float64]) -> PathSamples:
        """Every object at every time of the sorted grid that falls inside its flight (Hermite cubic).

        The state between two samples is the cubic matching both positions and velocities, so samples
        a second apart interpolate to well under a metre in free flight. boost is taken from the sample at
        or before the time.
        """
        grid = np.asarray(times_unix_s, float)
        n_obj = self.n_objects
        if n_obj == 0 or grid.size == 0:
            return PathSamples.empty()
        lo = np.searchsorted(grid, self.t_first_s, side="left")
        hi = np.searchsorted(grid, self.t_last_s, side="right")
        counts = np.maximum(hi - lo, 0)
        total = int(counts.sum())
        if total == 0:
            return PathSamples.empty()
        obj = np.repeat(np.arange(n_obj), counts)
        first_q = np.concatenate([[0], np.cumsum(counts)[:-1]])
        gi = np.repeat(lo, counts) + (np.arange(total) - np.repeat(first_q, counts))
        t = grid[gi]
        # One sorted key over all objects: time since the object's first sample plus a per-object offset.
        span = float(np.max(self.t_last_s - self.t_first_s)) + 10.0
        sample_obj = np.repeat(np.arange(n_obj), np.diff(self.start))
        key_samples = self.t_unix_s - self.t_first_s[sample_obj] + sample_obj * span
        key_q = t - self.t_first_s[obj] + obj * span
        j = np.searchsorted(key_samples, key_q, side="right") - 1
        j = np.clip(j, self.start[obj], self.start[obj + 1] - 2)
        t0, t1 = self.t_unix_s[j], self.t_unix_s[j + 1]
        h = np.maximum(t1 - t0, 1e-9)  # a repeated sample time would otherwise divide by zero
        s = ((t - t0) / h)[:, None]
        hh = h[:, None]
        p0, p1 = self.pos_ecef_m[j], self.pos_ecef_m[j + 1]
        v0, v1 = self.vel_ecef_mps[j], self.vel_ecef_mps[j + 1]
        s2, s3 = s * s, s * s * s
        pos = ((2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * hh * v0 + (-2 * s3 + 3 * s2) * p1
               + (s3 - s2) * hh * v1)
        vel = ((6 * s2 - 6 * s) * p0 / hh + (3 * s2 - 4 * s + 1) * v0 + (-6 * s2 + 6 * s) * p1 / hh
               + (3 * s2 - 2 * s) * v1)
        at_or_before = np.where(t >= t1, j + 1, j)
        return PathSamples(obj.astype(np.int32), t, pos, vel, self.boost[at_or_before])


@dataclass
class PathSamples:
    """Objects' states at chosen times: one row per (object, time), grouped by object then time."""

    object_idx: NDArray[np.int32]
    t_unix_s: NDArray[np.float64]
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    boost: NDArray[np.bool_]

    @classmethod
    def empty(cls) -> PathSamples:
        return cls(np.zeros(0, np.int32), np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, bool))

    def __len__(self) -> int:
        return len(self.t_unix_s)
