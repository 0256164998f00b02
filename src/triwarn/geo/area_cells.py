"""AreaIndex.classify with a per-cell shortcut, for runs that classify millions of points (issue 13).

The alert areas are stored cut along a 1-degree lon/lat grid (triwarn.geo.areas.tile). Most grid cells a
ground track crosses are simple: no area at all (the open ocean beyond every EEZ), or one piece that
covers the whole cell and is the innermost zone there (open water inside one EEZ). A point strictly
inside such a cell has the same answer as the cell, so only the points in mixed cells (coasts, borders,
zone limits) and the points on the grid lines themselves go through the shapely index. The answers are
exactly AreaIndex.classify's: a cell is simple only when its covering piece is of the lowest rank among
the pieces near the cell and no other piece of that rank reaches into the cell's interior.

    areas = CellAreaIndex.load()   # an AreaIndex in every other respect (one per process)
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from triwarn.geo.areas import ZONES, AreaIndex, _wrap_lon

_MIXED = -2  # cell answer: test each point
_UNKNOWN = -3  # cell not looked at yet
_NONE = -1  # cell answer: outside every area
MIN_POINTS = 64  # fewer points than this go straight to the shapely index
SUBCELLS = 16  # a mixed 1-degree cell is looked at again in cells of 1/SUBCELLS degree (exact binary fractions)


class CellAreaIndex(AreaIndex):
    """An AreaIndex (sharing the loaded one's data) whose classify answers simple cells at once."""

    def __init__(self, base: AreaIndex) -> None:  # shares base's data, builds nothing
        self.__dict__.update(base.__dict__)
        self._coarse = np.full(180 * 360, _UNKNOWN, np.int32)  # per 1-degree cell
        self._block_of = np.full(180 * 360, -1, np.int32)  # per mixed 1-degree cell: its row of _fine
        self._fine = np.full((16, SUBCELLS * SUBCELLS), _UNKNOWN, np.int32)  # rows: 1/SUBCELLS-degree cells
        self._blocks = 0
        self._block_cell: list[int] = []  # the 1-degree cell of each row of _fine
        self._answer_key: dict[tuple[str, int], int] = {}
        self._answer_code: list[str] = []
        self._answer_zone: list[str] = []

    @classmethod
    def load(cls, directory: str | Path | None = None) -> CellAreaIndex:
        """The index over the shipped data (or the data in `directory`), one per process."""
        return _load_cells(str(directory) if directory is not None else "")

    def classify(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[NDArray, NDArray]:
        """As AreaIndex.classify (same answers, same errors)."""
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float))
        if lat.size < MIN_POINTS:
            return super().classify(lat_deg, lon_deg)
        shape = lat.shape
        lat, lon = lat.ravel(), lon.ravel()
        if not (np.isfinite(lat).all() and np.isfinite(lon).all() and (np.abs(lat) <= 90.0).all()):
            return super().classify(lat_deg, lon_deg)  # raises its InputError
        answer = self._answers(lat, _wrap_lon(lon))
        codes = np.full(lat.size, "", dtype="<U5")
        zones = np.full(lat.size, "", dtype="<U15")
        known = answer >= 0
        if known.any():
            codes[known] = np.asarray(self._answer_code, dtype="<U5")[answer[known]]
            zones[known] = np.asarray(self._answer_zone, dtype="<U15")[answer[known]]
        slow = answer == _MIXED
        if slow.any():
            codes[slow], zones[slow] = super().classify(lat[slow], lon[slow])
        return codes.reshape(shape), zones.reshape(shape)

    def _answers(self, lat: NDArray, lon_w: NDArray) -> NDArray:
        """Per point: an index into the answer lists, _NONE, or _MIXED (test the point itself)."""
        y, x = np.floor(lat), np.floor(lon_w)
        edge = (y == lat) | (x == lon_w) | (x >= 180.0)  # on a grid line (or lon wrapped to 180)
        cell = ((y + 90.0) * 360.0 + np.clip(x, -180.0, 179.0) + 180.0).astype(np.int64)
        answer = self._coarse[cell]
        new = answer == _UNKNOWN
        if new.any():
            for c in np.unique(cell[new]).tolist():
                self._coarse[c] = self._work_out(c, 1)
            answer = self._coarse[cell]
        answer[edge] = _MIXED
        fine = np.flatnonzero((answer == _MIXED) & ~edge)
        if fine.size:  # the mixed cells' points again, on the finer grid
            answer[fine] = self._fine_answers(lat[fine], lon_w[fine], y[fine], x[fine], cell[fine])
        return answer

    def _fine_answers(self, lat, lon_w, y, x, cell) -> NDArray:
        n = SUBCELLS
        sy, sx = np.floor(lat * n), np.floor(lon_w * n)  # exact: n is a power of two
        edge = (sy == lat * n) | (sx == lon_w * n)
        sub = ((sy - y * n) * n + (sx - x * n)).astype(np.int64)
        block = self._block_of[cell]
        for c in np.unique(cell[block < 0]).tolist():
            if self._blocks == len(self._fine):
                self._fine = np.concatenate([self._fine, np.full_like(self._fine, _UNKNOWN)])
            self._block_of[c] = self._blocks
            self._block_cell.append(c)
            self._blocks += 1
        block = self._block_of[cell]
        answer = self._fine[block, sub]
        new = answer == _UNKNOWN
        if new.any():
            for b, k in np.unique(np.stack([block[new], sub[new]], axis=1), axis=0).tolist():
                c = self._block_cell[b]
                fine_cell = ((c // 360) * n + k // n) * (360 * n) + (c % 360) * n + k % n
                self._fine[b, k] = self._work_out(fine_cell, n)
            answer = self._fine[block, sub]
        answer[edge] = _MIXED
        return answer

    def _work_out(self, cell: int, per_deg: int) -> int:
        y0, x0 = divmod(cell, 360 * per_deg)
        lat0, lon0 = y0 / per_deg - 90.0, x0 / per_deg - 180.0
        box = shapely.box(lon0, lat0, lon0 + 1.0 / per_deg, lat0 + 1.0 / per_deg)
        near = self._tree.query(box)  # every piece whose bounds meet the cell's (closed)
        if near.size == 0:
            return _NONE
        ranks = self._piece_rank[near]
        low = near[ranks == ranks.min()]
        covering = [int(p) for p in low if shapely.covers(self._pieces[p], box)]
        if len(covering) != 1:
            return _MIXED
        for p in low:
            if int(p) != covering[0] and shapely.intersects(self._pieces[p], box) \
                    and not shapely.touches(self._pieces[p], box):
                return _MIXED  # another piece of that rank reaches into the cell
        key = (str(self._piece_code[covering[0]]), int(self._piece_rank[covering[0]]))
        if key not in self._answer_key:
            self._answer_key[key] = len(self._answer_code)
            self._answer_code.append(key[0])
            self._answer_zone.append(ZONES[key[1]])
        return self._answer_key[key]


@functools.cache
def _load_cells(directory: str) -> CellAreaIndex:
    return CellAreaIndex(AreaIndex.load(directory or None))
