"""What public reports say about a launch, and the flight computed from it.

These are the types shared by the solver (physics), the simulator (sensors) and the scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class LaunchSpec:
    """A launch as reports describe it. Degrees and kilometres, as published.

    Exactly one of azimuth_deg or aim (aim_lat_deg, aim_lon_deg) gives the direction; burn_s is optional
    (the missile class's documented assumption is used when absent).
    """

    launch_lat_deg: float
    launch_lon_deg: float
    apogee_km: float
    range_km: float
    azimuth_deg: float | None = None
    aim_lat_deg: float | None = None
    aim_lon_deg: float | None = None
    burn_s: float | None = None
    missile_class: str | None = None  # e.g. "srbm", "mrbm", "irbm", "icbm"; None: chosen from range/apogee


PHASE_BOOST = "boost"
PHASE_BALLISTIC = "ballistic"


@dataclass
class ObjectTrajectory:
    """One flying object's samples. t_s is seconds after launch; ECEF metres and metres per second.

    kind is "warhead" (the payload, the object to warn about) or "stage" (a spent stage or other separated
    piece that falls on its own). phase holds PHASE_BOOST or PHASE_BALLISTIC per sample.
    """

    object_id: str
    kind: str
    t_s: NDArray[np.float64]
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    phase: NDArray[np.str_]


@dataclass
class Flight:
    """A solved launch: the objects it puts in the air and the figures reports compare against."""

    spec: LaunchSpec
    objects: list[ObjectTrajectory]
    flight_time_s: float
    burnout_t_s: float
    burnout_pos_ecef_m: NDArray[np.float64]
    burnout_vel_ecef_mps: NDArray[np.float64]
    apogee_km: float
    range_km: float
    impact_lat_deg: float
    impact_lon_deg: float
    extra: dict = field(default_factory=dict)
