"""The course of a boosting track over the ground: its velocity's azimuth, refined by the course it has flown.

The cut-off path (triwarn.assess.corridor) is flown along the azimuth of the track's velocity, and its band
widens with that azimuth's 1-sigma. Early in a boost, climbing nearly vertically, a track's horizontal
velocity is small and its boost-mode filter noisy: on 2023-08-24 Korea's track of the Sohae SLV at T+146 s
(horizontal speed ~1.1 km/s, cross-track velocity sigma ~40 m/s) had an azimuth 2.4 degrees off with a
1-sigma of 2.2 degrees, and the band, 48 km wide at 270 km, reached a province whose land is 136 km from
the flight. The positions the track has held say more: over the last COURSE_WINDOW_S the chord from an
earlier position to the present one gives the course flown, with an error of the two positions'
cross-track sigmas over the chord (0.3-0.9 degrees there).

CourseBook.refine combines the two (inverse-variance, on the azimuth only; speed and climb unchanged):
- the chord's azimuth is taken at the present position, and its sigma gets a lag term, COURSE_TURN_DEG_S
  times half the chord's time span in quadrature (the chord is the mean course over the window; a boosting
  vehicle's heading turns slowly, an SLV's dog-leg about 0.05 deg/s);
- a chord shorter than COURSE_MIN_CHORD_M or younger than COURSE_MIN_S is not used;
- a chord that disagrees with the velocity by more than COURSE_GATE sigmas (the track jumped to another
  object, or a real turn) is not used: the velocity's azimuth and sigma stand.

A new track can adopt another's history (`adopt`): an upper stage tied to the object it came out of
(triwarn.assess.stage_events) starts with the course that object flew.
Keys are opaque (a system track id, or ("own", id) for a node's own contribution). ECEF metres in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_geodetic, enu_rotation

COURSE_WINDOW_S = 20.0
COURSE_MIN_S = 5.0
COURSE_MIN_CHORD_M = 2e3
COURSE_TURN_DEG_S = 0.05
COURSE_GATE = 3.0
FORGET_S = 60.0  # a key not seen for this long is dropped
MAX_KEYS = 2000  # bounded memory: the stalest keys go first


class CourseBook:
    """Recent positions (and their covariances) of boosting tracks, by key, for refine()."""

    def __init__(self) -> None:
        self._hist: dict[Hashable, deque] = {}
        self._seen: dict[Hashable, float] = {}

    def __len__(self) -> int:
        return len(self._hist)

    def adopt(self, key: Hashable, parent: Hashable) -> None:
        """key starts with parent's history (a stage tied to the object it separated from)."""
        if parent in self._hist and parent != key:
            mine = self._hist.get(key, deque())
            merged = sorted([*self._hist[parent], *mine], key=lambda r: r[0])
            self._hist[key] = deque(merged)
            self._seen[key] = self._seen.get(key, self._seen[parent])

    def refine(self, keys: Sequence[Hashable], t_unix_s: ArrayLike, pos_ecef_m: ArrayLike, vel_ecef_mps: ArrayLike,
               cov_ecef_m2: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Record the states (N, 3) + (N, 3) with covariances (N, 6, 6) at t_unix_s (N,) under keys, and
        return each velocity turned to the refined azimuth (N, 3) and that azimuth's 1-sigma (N,) radians."""
        t = np.asarray(t_unix_s, float).reshape(-1)
        pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)
        vel = np.asarray(vel_ecef_mps, float).reshape(-1, 3)
        cov = np.asarray(cov_ecef_m2, float).reshape(-1, 6, 6)
        n = pos.shape[0]
        lat, lon, _alt = ecef_to_geodetic(pos)
        rot = enu_rotation(lat, lon)
        v_enu = np.einsum("nij,nj->ni", rot, vel)
        az = np.arctan2(v_enu[:, 0], v_enu[:, 1])
        v_h = np.maximum(np.hypot(v_enu[:, 0], v_enu[:, 1]), 1.0)
        cross = np.einsum("nji,nj->ni", rot, np.stack([np.cos(az), -np.sin(az), np.zeros(n)], axis=-1))
        var_v = np.clip(np.einsum("ni,nij,nj->n", cross, cov[:, 3:, 3:], cross), 0.0, None)
        sig_v = np.arctan2(np.sqrt(var_v), v_h)
        old = [self._record(k, float(t[j]), pos[j], cov[j, :3, :3]) for j, k in enumerate(keys)]
        self._forget(float(t.max()) if n else 0.0)
        az_out, sig_out = az.copy(), sig_v.copy()
        for j, rec in enumerate(old):
            if rec is None:
                continue
            t_old, p_old, c_old = rec
            o_lat, o_lon, _ = ecef_to_geodetic(p_old)
            chord, back = geodesic.inverse(np.degrees(lat[j]), np.degrees(lon[j]), np.degrees(o_lat),
                                           np.degrees(o_lon))
            chord = float(chord)
            if chord < COURSE_MIN_CHORD_M:
                continue
            az_c = np.radians(float(back) + 180.0)
            var_p = float(cross[j] @ (cov[j, :3, :3] + c_old) @ cross[j])
            lag = np.radians(COURSE_TURN_DEG_S) * 0.5 * (t[j] - t_old)
            sig_c = np.hypot(np.arctan2(np.sqrt(max(var_p, 0.0)), chord), lag)
            d = np.angle(np.exp(1j * (az_c - az[j])))  # chord minus velocity, wrapped to (-pi, pi]
            if abs(d) > COURSE_GATE * np.hypot(sig_v[j], sig_c):
                continue
            w = sig_v[j] ** 2 / (sig_v[j] ** 2 + sig_c**2)
            az_out[j] = az[j] + w * d
            sig_out[j] = np.sqrt(w) * sig_c
        turned = np.stack([v_h * np.sin(az_out), v_h * np.cos(az_out), v_enu[:, 2]], axis=-1)
        v_h_true = np.hypot(v_enu[:, 0], v_enu[:, 1])
        turned = np.where((v_h_true > 1.0)[:, None], turned, v_enu)
        return np.einsum("nji,nj->ni", rot, turned), sig_out

    def _record(self, key: Hashable, t: float, pos: NDArray, cov_pos: NDArray):
        """Add the state; return the oldest one kept at least COURSE_MIN_S before t (None: none)."""
        hist = self._hist.setdefault(key, deque())
        self._seen[key] = t
        while hist and hist[0][0] < t - COURSE_WINDOW_S:
            hist.popleft()
        if hist and hist[-1][0] >= t:  # the same time again (or going back): keep the first
            return hist[0] if t - hist[0][0] >= COURSE_MIN_S else None
        hist.append((t, pos.copy(), cov_pos.copy()))
        return hist[0] if t - hist[0][0] >= COURSE_MIN_S else None

    def _forget(self, t: float) -> None:
        stale = [k for k, s in self._seen.items() if t - s > FORGET_S]
        if len(self._seen) - len(stale) > MAX_KEYS:
            stale += sorted((k for k in self._seen if k not in stale), key=self._seen.get)[
                : len(self._seen) - len(stale) - MAX_KEYS]
        for k in stale:
            self._hist.pop(k, None)
            self._seen.pop(k, None)
