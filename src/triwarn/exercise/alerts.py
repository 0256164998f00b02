"""The replay summary's alerts (per node, incident and area: first shelter alert, first notice, passed,
all-clear, cancel; see replay.first_alerts), read per (node, area) across a node's incidents."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def area_firsts(alerts: Mapping, key: str) -> dict[tuple[str, str], float]:
    """(node, area) -> earliest time of `key` over the node's incidents, from replay's summary alerts."""
    out: dict[tuple[str, str], float] = {}
    for node, incidents in alerts.items():
        for areas in incidents.values():
            for code, rec in areas.items():
                t = rec.get(key)
                if t is not None:
                    out[(node, code)] = min(out.get((node, code), np.inf), float(t))
    return out
