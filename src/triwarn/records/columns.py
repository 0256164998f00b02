"""Growing the parallel numpy columns of a slot table (the tracker's tracks, a node's partner tracks)."""

from __future__ import annotations

import numpy as np


def grown(arr: np.ndarray | None, cap: int, shape: tuple[int, ...] = (), dtype=float, fill=0) -> np.ndarray:
    """A column of `cap` rows of `shape`: arr's rows first (None: none), the rest `fill`."""
    new = np.full((cap, *shape), fill, dtype=dtype)
    if arr is not None and len(arr):
        new[: len(arr)] = arr
    return new
