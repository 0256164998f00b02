"""Stage events: a new track that is a stage or piece of a launch already known, not a launch of its own.

A multi-stage flight makes new tracks high and downrange: an upper stage lighting (after a coast, or when
the tracker starts a new track at staging), a spent stage, a fairing, the pieces of an explosion. Flown back
to the ground on their own (triwarn.assess.launch) they give a "launch" under the flight, at about the time
the flight passed there: on 2023-08-24 Japan's node declared the third stage's pieces a second launch
(36.35 N, T+240 s, under the flight 366 km downrange of Sohae) and Okinawa got a thread per launch.
Two rules tie such a track to its parent launch instead:

- `stage_ignition`: a powered new track that appeared next to a track of a known launch (the assessor's
  born-near rule: within 100 km, the other seen 5 s before) is a stage of it when it is high
  (STAGE_MIN_ALT_M), within STAGE_RADIUS_M of that track and within STAGE_MAX_DV_MPS of its velocity: it came
  out of it. A missile of a salvo is powered only low (an SRBM's boost ends near 30-40 km) or, high, is
  tens of seconds and over a km/s away from its neighbour;
- `LaunchFlights.stage_of`: a launch estimate that matches no launch is a stage event of launch L when
  its point lies under L's recorded flight (within the estimate's semi-major axis plus STAGE_MARGIN_M of
  a point where L's tracks flew at least STAGE_MIN_ALT_M high) at a time within STAGE_TIME_SIGMAS of the
  estimate's time sigma (plus STAGE_TIME_SLACK_S), and is not at L's launch point (that, at another time,
  is a second launch from the same site: a salvo).

Degrees, metres, seconds; ECEF metres in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.physics.dynamics import approx_alt_m

STAGE_MIN_ALT_M = 50e3
STAGE_RADIUS_M = 30e3
STAGE_MAX_DV_MPS = 600.0
STAGE_MARGIN_M = 30e3
STAGE_TIME_SIGMAS = 3.0
STAGE_TIME_SLACK_S = 60.0
RECORD_EVERY_S = 5.0  # one flight point per track this often
KEEP_S = 3600.0  # flight points older than this are dropped
MAX_POINTS = 5000  # per launch (the oldest go first)


def stage_ignition(pos_ecef_m: ArrayLike, vel_ecef_mps: ArrayLike, parent_pos_ecef_m: ArrayLike,
                   parent_vel_ecef_mps: ArrayLike) -> int:
    """Index of the parent state (P, 3) + (P, 3) a powered new track's state came out of (see the module
    doc), or -1. The nearest qualifying parent wins."""
    pos = np.asarray(pos_ecef_m, float).reshape(3)
    vel = np.asarray(vel_ecef_mps, float).reshape(3)
    p_pos = np.asarray(parent_pos_ecef_m, float).reshape(-1, 3)
    p_vel = np.asarray(parent_vel_ecef_mps, float).reshape(-1, 3)
    if not p_pos.size or float(approx_alt_m(pos[None])[0]) < STAGE_MIN_ALT_M:
        return -1
    gap = np.linalg.norm(p_pos - pos, axis=-1)
    dv = np.linalg.norm(p_vel - vel, axis=-1)
    ok = (gap <= STAGE_RADIUS_M) & (dv <= STAGE_MAX_DV_MPS) & (approx_alt_m(p_pos) >= STAGE_MIN_ALT_M)
    return int(np.argmin(np.where(ok, gap, np.inf))) if ok.any() else -1


class LaunchFlights:
    """Where each known launch's tracks have flown: (t, lat, lon, height) points, RECORD_EVERY_S per track."""

    def __init__(self) -> None:
        self._points: dict[str, list[tuple[float, float, float, float]]] = {}
        self._last: dict[str, float] = {}  # track id -> time of its last recorded point

    def record(self, t_unix_s: float, track_ids: Sequence[str], launch_ids: Sequence[str | None],
               t_track_unix_s: ArrayLike, pos_ecef_m: ArrayLike) -> None:
        """Add a point for each track with a launch id not recorded in the last RECORD_EVERY_S."""
        t_tr = np.asarray(t_track_unix_s, float).reshape(-1)
        pick = [k for k, (tid, lid) in enumerate(zip(track_ids, launch_ids, strict=True))
                if lid is not None and t_tr[k] - self._last.get(tid, -np.inf) >= RECORD_EVERY_S]
        if pick:
            pos = np.asarray(pos_ecef_m, float).reshape(-1, 3)[pick]
            lat, lon, alt = ecef_to_geodetic(pos)
            for j, k in enumerate(pick):
                pts = self._points.setdefault(launch_ids[k], [])
                pts.append((float(t_tr[k]), float(np.degrees(lat[j])), float(np.degrees(lon[j])), float(alt[j])))
                if len(pts) > MAX_POINTS:
                    del pts[: len(pts) - MAX_POINTS]
                self._last[track_ids[k]] = float(t_tr[k])
        for lid, pts in self._points.items():
            if pts and pts[0][0] < t_unix_s - KEEP_S:
                self._points[lid] = [p for p in pts if p[0] >= t_unix_s - KEEP_S]
        self._last = {k: v for k, v in self._last.items() if v >= t_unix_s - KEEP_S}

    def points(self, launch_id: str) -> NDArray[np.float64]:
        """(K, 4) t, lat, lon, height of the launch's recorded flight."""
        return np.asarray(self._points.get(launch_id, []), float).reshape(-1, 4)

    def stage_of(self, lat_deg: float, lon_deg: float, time_unix_s: float, time_sigma_s: float,
                 semi_major_m: float, launches: Sequence) -> str | None:
        """The one launch (objects with launch_id, lat_deg, lon_deg, semi_major_m) under whose recorded
        flight this launch estimate lies (module doc), or None (none, or more than one)."""
        found = set()
        tol_s = STAGE_TIME_SIGMAS * max(time_sigma_s, 0.0) + STAGE_TIME_SLACK_S
        for g in launches:
            pts = self.points(g.launch_id)
            if not pts.size:
                continue
            d_site, _ = geodesic.inverse(g.lat_deg, g.lon_deg, lat_deg, lon_deg)
            if float(d_site) <= semi_major_m + g.semi_major_m:
                continue  # at its launch point: another launch from that site, not a stage
            near_t = (np.abs(pts[:, 0] - time_unix_s) <= tol_s) & (pts[:, 3] >= STAGE_MIN_ALT_M)
            if not near_t.any():
                continue
            d, _ = geodesic.inverse(pts[near_t, 1], pts[near_t, 2], lat_deg, lon_deg)
            if float(np.min(d)) <= semi_major_m + STAGE_MARGIN_M:
                found.add(g.launch_id)
        return found.pop() if len(found) == 1 else None
