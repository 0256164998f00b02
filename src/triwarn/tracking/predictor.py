"""IMM mode switching of the tracker: how fast a boost ends and a coasting object starts thrusting.

The prediction itself (mode mixing, then each mode's EKF prediction) is compiled in `imm_ekf`
(`_imm_predict_one`); its numpy reference is `imm_predict` in tests/tracking/kernel_oracles.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModeSwitching:
    """Mode-switch rates (1/s): a boost ends (burnout, staging) or a coasting object starts thrusting.

    Over |dt| the Markov matrix is [[1 - p_start, p_start], [p_end, 1 - p_end]] (rows: mode before,
    columns: mode after) with p = 1 - exp(-rate |dt|).
    """

    boost_end_rate_per_s: float = 0.05
    boost_start_rate_per_s: float = 1e-6
