"""Track records entering and leaving fusion.

A national track is what one nation's tracker reports (its own id space); a system track is the fused
picture's object, with an id that the fusion keeps stable through gaps and hand-overs. ECEF metres,
metres per second and m^2 / (m/s)^2 / m^2/s covariances; times are unix seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MODE_BOOST = "boost"
MODE_BALLISTIC = "ballistic"
MODES = (MODE_BOOST, MODE_BALLISTIC)


@dataclass
class NationalTrack:
    """One nation's estimate of one object at time t_unix_s.

    pos_ecef_m (3,), vel_ecef_mps (3,), cov_ecef_m2 (6, 6) over [pos, vel]; mode "boost" or "ballistic";
    quality is the tracker's own figure in [0, 1] where it gives one; boost_probability the tracker's
    probability of the boost mode (an IMM's mode probability) where it gives one.
    """

    track_id: str
    t_unix_s: float
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    cov_ecef_m2: NDArray[np.float64]
    mode: str = MODE_BALLISTIC
    quality: float | None = None
    boost_probability: float | None = None


@dataclass
class SystemTrack:
    """A fused object at t_unix_s, in the same frame and units as NationalTrack.

    nations: the nations whose tracks contributed at this time (sorted); sources: "NATION:track_id" of
    each contribution. coasting is True when no nation reported the object at this time and the state is
    a prediction from the last fused one. first_seen_unix_s is when the fused picture first held it.
    mode is the fused decision (fusion/mode.py); boost_probability the contributors' weighted vote behind
    it; thrust_mps2 the fused track's own specific force along its velocity over the last few seconds
    (m/s^2, NaN until it has that history); both are None where no rule set them.
    """

    track_id: str
    t_unix_s: float
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    cov_ecef_m2: NDArray[np.float64]
    mode: str
    nations: tuple[str, ...]
    sources: tuple[str, ...]
    first_seen_unix_s: float
    last_update_unix_s: float
    n_updates: int
    coasting: bool = False
    quality: float | None = None
    boost_probability: float | None = None
    thrust_mps2: float | None = None

    @property
    def powered(self) -> bool:
        return self.mode == MODE_BOOST
