"""Track tables: national tracks (a tracker's output, and partners' tracks from the wire) and system
tracks (the fused picture), one row per track, in parallel arrays.

tracker -> NationalTracks -> Fuser.update (own table + partners' tables) -> SystemTracks -> Assessor.step,
node outputs, exercise pictures and metrics, UI documents. Tables pass between stages as they are;
`take` selects rows, `concat` joins tables, `empty` makes a table without rows.

Frame and units: ECEF metres and m/s, cov_ecef_m2 (N, 6, 6) over [pos, vel] in m^2, m^2/s, m^2/s^2;
times unix seconds. A track's mode is MODE_BOOST (powered) or MODE_BALLISTIC; the `boost` column holds it
as a flag. Optional figures are NaN where not given (quality, boost_probability, thrust_mps2). Geodetic
columns (lat_deg, lon_deg, alt_m) are computed once per table, on first use: a stage that changes a
table's positions in place (rather than making a new table) must do so before anyone reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from triwarn.geo.frames import ecef_to_geodetic

MODE_BOOST = "boost"
MODE_BALLISTIC = "ballistic"
MODES = (MODE_BOOST, MODE_BALLISTIC)

_NO_NAMES: tuple[str, ...] = ()


def _strings(values: Any, n: int) -> NDArray[np.object_]:
    out = np.empty(n, object)
    if n:
        out[:] = list(values)
    return out


def _tuples(values: Any, n: int, fill: tuple = _NO_NAMES) -> NDArray[np.object_]:
    out = np.empty(n, object)
    if values is None:
        out.fill(fill)
    else:
        for i, v in enumerate(values):
            out[i] = tuple(v)
    return out


def _floats(values: Any, n: int, shape: tuple[int, ...] = (), fill: float = np.nan) -> NDArray[np.float64]:
    if values is None:
        return np.full((n, *shape), fill)
    arr = np.asarray(values, float)
    if arr.size == 0 and n == 0:
        return np.zeros((0, *shape))
    if arr.ndim == len(shape):  # one value for every row
        arr = np.broadcast_to(arr, (n, *shape)).copy()
    return arr.reshape((n, *shape))


@dataclass(eq=False)
class _Table:
    """The state columns every track table has first (track id, time, ECEF position, velocity and
    covariance, boost), and the tables' shared behaviour: length, row selection, concatenation, geodetic
    columns."""

    track_id: NDArray[np.object_]
    t_unix_s: NDArray[np.float64]
    pos_ecef_m: NDArray[np.float64]
    vel_ecef_mps: NDArray[np.float64]
    cov_ecef_m2: NDArray[np.float64]
    boost: NDArray[np.bool_] = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.track_id)

    def _state_columns(self) -> int:
        """Make the columns every table has into arrays of their shapes; returns the number of rows."""
        n = len(self.track_id)
        if not (isinstance(self.track_id, np.ndarray) and self.track_id.dtype == object):
            self.track_id = _strings(self.track_id, n)
        self.t_unix_s = _floats(self.t_unix_s, n)
        self.pos_ecef_m = _floats(self.pos_ecef_m, n, (3,))
        self.vel_ecef_mps = _floats(self.vel_ecef_mps, n, (3,))
        self.cov_ecef_m2 = _floats(self.cov_ecef_m2, n, (6, 6))
        self.boost = np.zeros(n, bool) if self.boost is None else np.broadcast_to(
            np.asarray(self.boost, bool), (n,)).copy()
        return n

    @classmethod
    def _columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]

    def take(self, index: Any):
        """The rows `index` (integer array, slice or boolean mask) as a new table (copies the rows)."""
        if isinstance(index, slice):
            index = np.arange(len(self))[index]
        index = np.asarray(index)
        if index.dtype != bool:
            index = index.astype(np.intp, copy=False)
        return type(self)(**{name: getattr(self, name)[index] for name in self._columns()})

    @classmethod
    def concat(cls, tables):
        """One table of the rows of `tables` in order (an empty table if there are none)."""
        tables = [t for t in tables if len(t)]
        if not tables:
            return cls.empty()
        if len(tables) == 1:
            return tables[0]
        return cls(**{name: np.concatenate([getattr(t, name) for t in tables]) for name in cls._columns()})

    @classmethod
    def empty(cls):
        """A table without rows."""
        return cls(track_id=[], t_unix_s=[], pos_ecef_m=np.zeros((0, 3)), vel_ecef_mps=np.zeros((0, 3)),
                   cov_ecef_m2=np.zeros((0, 6, 6)))

    @property
    def mode(self) -> list[str]:
        """The mode names per row (MODE_BOOST or MODE_BALLISTIC), for writers."""
        return [MODE_BOOST if b else MODE_BALLISTIC for b in self.boost.tolist()]

    def index(self) -> dict[str, int]:
        """Row of each track id."""
        return {tid: i for i, tid in enumerate(self.track_id.tolist())}

    @cached_property
    def _geodetic(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        lat, lon, alt = ecef_to_geodetic(self.pos_ecef_m)
        return np.degrees(lat), np.degrees(lon), np.asarray(alt, float)

    @property
    def lat_deg(self) -> NDArray[np.float64]:
        return self._geodetic[0]

    @property
    def lon_deg(self) -> NDArray[np.float64]:
        return self._geodetic[1]

    @property
    def alt_m(self) -> NDArray[np.float64]:
        return self._geodetic[2]


@dataclass(eq=False)
class NationalTracks(_Table):
    """One or more nations' tracks, one row each: a tracker's report at one time, or partners' tracks
    received at various times.

    track_id: the nation's own id; t_unix_s: time of each row's state; boost: mode MODE_BOOST (else
    MODE_BALLISTIC); quality: the tracker's figure in [0, 1] (NaN where not given); boost_probability:
    the tracker's probability of the boost mode (an IMM's mode probability; NaN where not given); nation:
    whose track it is; sensors_seen: the own sensors that updated it (empty for partners' tracks, which
    name no sensor). Constructor arguments may be lists; a scalar t_unix_s, nation or quality applies to
    every row; omitted optional columns are NaN / empty.
    """

    quality: NDArray[np.float64] = None  # type: ignore[assignment]
    boost_probability: NDArray[np.float64] = None  # type: ignore[assignment]
    nation: NDArray[np.object_] = None  # type: ignore[assignment]
    sensors_seen: NDArray[np.object_] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = self._state_columns()
        self.quality = _floats(self.quality, n)
        self.boost_probability = _floats(self.boost_probability, n)
        if self.nation is None or isinstance(self.nation, str):
            self.nation = _strings([self.nation or ""] * n, n)
        elif not (isinstance(self.nation, np.ndarray) and self.nation.dtype == object):
            self.nation = _strings(self.nation, n)
        if not (isinstance(self.sensors_seen, np.ndarray) and self.sensors_seen.dtype == object):
            self.sensors_seen = _tuples(self.sensors_seen, n)


@dataclass(eq=False)
class SystemTracks(_Table):
    """The fused picture at one time, one row per system track, in the frame and units of NationalTracks.

    nations: the nations whose tracks contributed at this time (sorted tuple per row); sources:
    "NATION:track_id" of each contribution. coasting: no nation reported the object at this time and the
    state is a prediction from the last fused one. first_seen_unix_s: when the fused picture first held
    it; last_update_unix_s: its last fusion; n_updates: how many fusions it has had. boost is the fused
    mode decision (fusion/mode.py); boost_probability the contributors' weighted vote behind it;
    thrust_mps2 the fused track's own specific force along its velocity over the last few seconds
    (m/s^2); quality the best contributor's quality. NaN where no rule set them.
    """

    nations: NDArray[np.object_] = None  # type: ignore[assignment]
    sources: NDArray[np.object_] = None  # type: ignore[assignment]
    first_seen_unix_s: NDArray[np.float64] = None  # type: ignore[assignment]
    last_update_unix_s: NDArray[np.float64] = None  # type: ignore[assignment]
    n_updates: NDArray[np.int64] = None  # type: ignore[assignment]
    coasting: NDArray[np.bool_] = None  # type: ignore[assignment]
    quality: NDArray[np.float64] = None  # type: ignore[assignment]
    boost_probability: NDArray[np.float64] = None  # type: ignore[assignment]
    thrust_mps2: NDArray[np.float64] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = self._state_columns()
        for name in ("nations", "sources"):
            value = getattr(self, name)
            if not (isinstance(value, np.ndarray) and value.dtype == object):
                setattr(self, name, _tuples(value, n))
        self.first_seen_unix_s = self.t_unix_s.copy() if self.first_seen_unix_s is None else _floats(
            self.first_seen_unix_s, n)
        self.last_update_unix_s = self.t_unix_s.copy() if self.last_update_unix_s is None else _floats(
            self.last_update_unix_s, n)
        self.n_updates = np.ones(n, np.int64) if self.n_updates is None else np.broadcast_to(
            np.asarray(self.n_updates, np.int64), (n,)).copy()
        self.coasting = np.zeros(n, bool) if self.coasting is None else np.broadcast_to(
            np.asarray(self.coasting, bool), (n,)).copy()
        self.quality = _floats(self.quality, n)
        self.boost_probability = _floats(self.boost_probability, n)
        self.thrust_mps2 = _floats(self.thrust_mps2, n)

