"""The check partners' launch and impact reports share (assess.partner_launch, assess.partner_impact):
the gap between a partner's estimate and the node's own in sigma units, one gate on it, and the book of
refusals (counted by partner and reason, logged once per report and reason).

Two estimates a and b of one quantity agree when |a - b| <= GATE_SIGMA x sigma + margin. The caller's
sigma is sigma_a + sigma_b (each at least the module's floor: the model error a reported sigma leaves
out, and a 0 from a degenerate covariance says nothing), plus what separates the two estimates (an
impact prediction's drift over the report's age). The sum, not the root sum of squares: the two are not
independent (each nation fuses the others' tracks, so both often rest on the same detections), and the
sum is the bound that holds whatever their correlation. The margin (the estimate's unit) is what the
sigmas leave out however small they are. excess_sigma is by how many sigmas a pair is beyond the
margin: the one figure the gate compares with GATE_SIGMA and bench/bench_partner_reports.py measures.

Metres, seconds.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field

GATE_SIGMA = 3.0
MAX_LOGGED = 4096  # (sender, report, reason) keys remembered for logging once (a live node runs for months)


def excess_sigma(diff: float, sigma: float, margin: float) -> float:
    """How far |diff| is beyond margin, in units of sigma: 0 within the margin, inf where
    sigma is 0 and diff is beyond it. The gate: two estimates agree when this is <= GATE_SIGMA."""
    over = max(abs(diff) - margin, 0.0)
    if sigma > 0.0:
        return over / sigma
    return 0.0 if over == 0.0 else math.inf


def finite(*values: float) -> bool:
    """Whether every value is a finite number."""
    return all(math.isfinite(v) for v in values)


@dataclass
class Refusals:
    """Reports refused as contradicting the fused picture: counted by (sender, reason) at every check,
    logged once per (sender, report, reason) (not at every step)."""

    conflicts: Counter = field(default_factory=Counter)  # (sender, reason) -> checks refused
    _logged: dict = field(default_factory=dict)  # (sender, report, reason) -> None, oldest first

    def refuse(self, logger: logging.Logger, sender: str, report_id: str, reason: str, message: str,
               *args) -> None:
        """Count one refusal; log message % args at WARNING the first time for this report and reason."""
        self.conflicts[(sender, reason)] += 1
        key = (sender, report_id, reason)
        if key not in self._logged:
            self._logged[key] = None
            while len(self._logged) > MAX_LOGGED:
                self._logged.pop(next(iter(self._logged)))
            logger.warning(message, *args)
