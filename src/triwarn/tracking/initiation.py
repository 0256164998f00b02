"""Track initiation (two-point, multi-scan) and M-of-N confirmation.

A radar detection that no track takes is kept for `window_s`. A later unclaimed detection that could
be the same object (distance / elapsed time below the fastest ballistic speed, and the two at least
`min_dt_s` apart so the velocity means something) starts a tentative track: position from the newer
detection, velocity from the difference corrected for gravity, covariance from both detections'
converted covariances. The tentative track must then collect M hits in its first N chances (scans
of a sensor that covers it) to be confirmed, otherwise it is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from triwarn.physics.dynamics import ballistic_accel_ecef
from triwarn.tracking.models import STATE_DIM


@dataclass(frozen=True)
class InitiationSettings:
    """Two-point initiation limits (SI units)."""

    window_s: float = 6.0
    min_dt_s: float = 0.5
    max_speed_mps: float = 8000.0
    neighbours: int = 3  # pairs tried per new detection: the nearest earlier unclaimed ones
    sigma_force_mps2: float = 30.0  # prior spread of thrust / drag specific force


@njit(cache=True, nogil=True)
def nearest_within(new_pos: NDArray, pool_pos: NDArray, k: int, max_dist: float):
    """For each new point (N, 3), its up to k nearest pool points (P, 3) within max_dist (m).

    Returns (new index, pool index, distance) arrays ordered by new index, then by distance. The pool is
    sorted on x once and each new point scans only the pool points within max_dist in x.
    """
    order = np.argsort(pool_pos[:, 0])
    xs = pool_pos[order, 0]
    n = new_pos.shape[0]
    out_new = np.empty(n * k, np.intp)
    out_old = np.empty(n * k, np.intp)
    out_d = np.empty(n * k)
    best_d = np.empty(k)
    best_j = np.empty(k, np.intp)
    lim2 = max_dist * max_dist
    cnt = 0
    for i in range(n):
        lo = np.searchsorted(xs, new_pos[i, 0] - max_dist, side="left")
        hi = np.searchsorted(xs, new_pos[i, 0] + max_dist, side="right")
        m = 0
        for q in range(lo, hi):
            j = order[q]
            dx = pool_pos[j, 0] - new_pos[i, 0]
            dy = pool_pos[j, 1] - new_pos[i, 1]
            dz = pool_pos[j, 2] - new_pos[i, 2]
            d2 = dx * dx + dy * dy + dz * dz
            if d2 > lim2 or (m == k and d2 >= best_d[k - 1]):
                continue
            pos = m if m < k else k - 1
            while pos > 0 and best_d[pos - 1] > d2:
                if pos < k:
                    best_d[pos], best_j[pos] = best_d[pos - 1], best_j[pos - 1]
                pos -= 1
            best_d[pos], best_j[pos] = d2, j
            if m < k:
                m += 1
        for a in range(m):
            out_new[cnt], out_old[cnt], out_d[cnt] = i, best_j[a], np.sqrt(best_d[a])
            cnt += 1
    return out_new[:cnt], out_old[:cnt], out_d[:cnt]


class TwoPointInitiator:
    """Keeps recent unclaimed detections and pairs new ones with them into tentative states."""

    def __init__(self, settings: InitiationSettings | None = None) -> None:
        self.settings = settings or InitiationSettings()
        self._pos = np.empty((0, 3))
        self._cov = np.empty((0, 3, 3))
        self._t = np.empty(0)

    @property
    def pending(self) -> int:
        """Number of unclaimed detections held."""
        return self._t.size

    def initiate(self, pos_ecef_m: NDArray, cov_ecef_m2: NDArray, t_unix_s: NDArray):
        """Offer unclaimed detections (K, 3), (K, 3, 3), (K,); returns tentative states.

        Returns (x (J, 9), p (J, 9, 9), t_unix_s (J,), seed (J,) index of the new detection used).
        Detections that seeded a track are removed from the pool; the rest join it.
        """
        s = self.settings
        t_now = float(np.max(t_unix_s)) if t_unix_s.size else None
        if t_now is not None:
            keep = self._t >= t_now - s.window_s
            self._pos, self._cov, self._t = self._pos[keep], self._cov[keep], self._t[keep]
        empty = (np.empty((0, STATE_DIM)), np.empty((0, STATE_DIM, STATE_DIM)), np.empty(0),
                 np.empty(0, np.intp))
        if t_unix_s.size == 0:
            return empty
        out = empty
        used_new = np.zeros(t_unix_s.size, bool)
        if self._t.size:
            new_i, old_i, dist = nearest_within(np.ascontiguousarray(pos_ecef_m, float), self._pos,
                                                min(s.neighbours, self._t.size), s.max_speed_mps * s.window_s)
            dt = t_unix_s[new_i] - self._t[old_i]
            ok = (dt >= s.min_dt_s) & (dist <= s.max_speed_mps * np.maximum(dt, 1e-9))
            new_i, old_i, dt = new_i[ok], old_i[ok], dt[ok]
            if new_i.size:
                x, p = self._states(pos_ecef_m[new_i], cov_ecef_m2[new_i], self._pos[old_i],
                                    self._cov[old_i], dt)
                out = (x, p, t_unix_s[new_i], new_i)
                used_new[new_i] = True
                drop_old = np.zeros(self._t.size, bool)
                drop_old[old_i] = True
                self._pos, self._cov, self._t = self._pos[~drop_old], self._cov[~drop_old], self._t[~drop_old]
        fresh = ~used_new
        self._pos = np.concatenate([self._pos, pos_ecef_m[fresh]])
        self._cov = np.concatenate([self._cov, cov_ecef_m2[fresh]])
        self._t = np.concatenate([self._t, t_unix_s[fresh]])
        return out

    def _states(self, p2, c2, p1, c1, dt):
        """Tentative states at the newer detection from two detections dt seconds apart."""
        n = dt.size
        v_mean = (p2 - p1) / dt[:, None]
        # Over dt the velocity changed by ~g dt; the end velocity is the chord plus half of that.
        vel = v_mean + 0.5 * dt[:, None] * ballistic_accel_ecef(p2, v_mean)
        x = np.zeros((n, STATE_DIM))
        x[:, 0:3], x[:, 3:6] = p2, vel
        p = np.zeros((n, STATE_DIM, STATE_DIM))
        inv_dt = (1.0 / dt)[:, None, None]
        p[:, 0:3, 0:3] = c2
        p[:, 0:3, 3:6] = c2 * inv_dt
        p[:, 3:6, 0:3] = c2 * inv_dt
        # Unknown thrust over the pair adds (a dt / 2)^2 to the chord velocity's spread.
        force_var = self.settings.sigma_force_mps2**2
        p[:, 3:6, 3:6] = (c1 + c2) * inv_dt**2 + np.eye(3) * (force_var * 0.25 * dt**2)[:, None, None]
        p[:, 6:9, 6:9] = np.eye(3) * force_var
        return x, p


def m_of_n(hits: NDArray, chances: NDArray, m: int, n: int) -> tuple[NDArray, NDArray]:
    """Confirmation test: (confirm, drop) masks for tentative tracks with `hits` in `chances` scans."""
    confirm = hits >= m
    drop = ~confirm & ((chances - hits) > (n - m))
    return confirm, drop
