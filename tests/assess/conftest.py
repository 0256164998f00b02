"""Truth flights for the assessment tests: triwarn.physics.flight.fly, sampled every second."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pytest

from triwarn.physics.dynamics import propagate
from triwarn.physics.flight import fly
from triwarn.physics.launch import LaunchSpec
from triwarn.records.tracks import MODE_BOOST, SystemTracks
from triwarn_eval.covariance import random_cov

T0_UNIX_S = 1_700_000_000.0


def system_track(tid, t_unix_s, pos, vel, cov, mode, nations, sources, first_seen_unix_s, last_update_unix_s,
                 n_updates, coasting=False, quality=None):
    """A one-row system track table from one row's values."""
    return SystemTracks([tid], [t_unix_s], [pos], [vel], [cov], boost=[mode == MODE_BOOST], nations=[nations],
                        sources=[sources], first_seen_unix_s=[first_seen_unix_s],
                        last_update_unix_s=[last_update_unix_s], n_updates=[n_updates], coasting=[coasting],
                        quality=quality)


def table(rows) -> SystemTracks:
    """The one-row tables `rows` as one system track table."""
    return SystemTracks.concat(list(rows))


@dataclass
class Truth:
    """One flown launch. Times are seconds after launch; states (6,) ECEF metres and m/s."""

    launch_lat_deg: float
    launch_lon_deg: float
    t_s: np.ndarray  # warhead samples, every second from 0 (and the impact)
    states: np.ndarray
    stages: dict[str, tuple[np.ndarray, np.ndarray]]  # spent stages: (t_s, states)
    stage_end_s: tuple[float, ...]
    burnout_t_s: float
    impact_lat_deg: float
    impact_lon_deg: float
    impact_t_s: float

    def _at(self, t_grid, states, t_s):
        i = int(np.argmin(np.abs(t_grid - t_s)))
        if abs(t_grid[i] - t_s) < 1e-9:
            return states[i].copy()
        p, v = propagate(states[i, None, :3], states[i, None, 3:], [t_s - t_grid[i]], max_step_s=1.0)
        return np.concatenate([p[0], v[0]])

    def boost_state(self, t_s: float) -> np.ndarray:
        assert t_s <= self.burnout_t_s
        return self._at(self.t_s, self.states, t_s)

    def free_state(self, t_s: float) -> np.ndarray:
        assert t_s >= self.burnout_t_s
        return self._at(self.t_s, self.states, t_s)

    def stage_state(self, stage_id: str, t_s: float) -> np.ndarray:
        t_grid, states = self.stages[stage_id]
        return self._at(t_grid, states, t_s)


def _states(obj) -> np.ndarray:
    return np.concatenate([obj.pos_ecef_m, obj.vel_ecef_mps], axis=1)


@functools.cache
def truth_flight(lat: float, lon: float, apogee_km: float, range_km: float, azimuth_deg: float) -> Truth:
    flight = fly(LaunchSpec(lat, lon, apogee_km, range_km, azimuth_deg=azimuth_deg), 1.0)
    objs = {o.object_id: o for o in flight.objects}
    warhead = next(o for o in flight.objects if o.kind == "warhead")
    stages = {k: (o.t_s, _states(o)) for k, o in objs.items() if o.kind == "stage"}
    stage_end = tuple(float(v) for v in np.cumsum(flight.extra["stage_burn_s"]))
    return Truth(lat, lon, warhead.t_s, _states(warhead), stages, stage_end, flight.burnout_t_s,
                 flight.impact_lat_deg, flight.impact_lon_deg, float(warhead.t_s[-1]))


@pytest.fixture(scope="session")
def irbm() -> Truth:
    """2022-10-04 style: IRBM from Mupyong-ni over Aomori (public reports: apogee ~970 km, ~4,600 km)."""
    return truth_flight(40.6, 126.4, 970.0, 4600.0, 88.0)


@pytest.fixture(scope="session")
def lofted_icbm() -> Truth:
    """2017-11-29 style: lofted ICBM from Pyongsong (apogee ~4,475 km, range ~950 km)."""
    return truth_flight(39.25, 125.87, 4475.0, 950.0, 95.0)


def state_cov(pos_sigma_m: float, vel_sigma_mps: float, corr: float = 0.3, seed: int = 1) -> np.ndarray:
    """A full 6x6 covariance with the given per-axis sigmas and some position-velocity correlation."""
    return random_cov(np.random.default_rng(seed), pos_sigma_m, vel_sigma_mps, corr)


def settling_flight(irbm, reports=(), settle_s: float = 15.0, before_s: int = 30):
    """An assessor fed the IRBM's true states from before_s before burnout to 30 s after, boost then
    ballistic, with the partners' impact reports; the area JP-S7 is the true fall's neighbourhood.
    Returns (assessor, {s after burnout: (probability, quality) of JP-S7's ballistic impact risk})."""
    from shapely.geometry import box

    from triwarn.assess.areas import PolygonAreas
    from triwarn.assess.assessor import AssessConfig, Assessor
    from triwarn.records.events import AreaRisk

    areas = PolygonAreas({"JP-S7": {"territorial_sea": box(irbm.impact_lon_deg - 0.5, irbm.impact_lat_deg - 0.5,
                                                           irbm.impact_lon_deg + 0.5, irbm.impact_lat_deg + 0.5)}})
    ass = Assessor(areas, AssessConfig(ballistic_settle_s=settle_s))
    reports = list(reports)
    ass.partner_impact_view = lambda: reports
    bo = int(np.floor(irbm.burnout_t_s))
    cov = state_cov(50.0, 2.0)
    out = {}
    for t_s in range(bo - before_s, bo + 31):
        boost = t_s <= bo
        s = irbm.boost_state(t_s) if boost else irbm.free_state(t_s)
        events = ass.step(T0_UNIX_S + t_s, table([system_track(
            "JP-S1", T0_UNIX_S + t_s, s[:3], s[3:], cov, "boost" if boost else "ballistic", ("jp",), ("jp:T1",),
            T0_UNIX_S + bo - 60, T0_UNIX_S + t_s, 60 + t_s)]))
        for e in events:
            if isinstance(e, AreaRisk) and e.area == "JP-S7" and e.kind == "impact" and not e.powered:
                out[t_s - bo] = (e.probability, e.quality)
    return ass, out
