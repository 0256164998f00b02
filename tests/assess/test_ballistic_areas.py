"""Ballistic area risks: the impact probability is the Gaussian's integral (fixed nodes, not a few random
draws), and a track that just turned ballistic after its boost settles before its risks are trusted, unless a
partner's impact report agrees with its prediction; one that agrees with nothing changes nothing."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import norm
from shapely.geometry import box

from triwarn.assess.areas import PolygonAreas
from triwarn.assess.ballistic_areas import impact_hits, overflight_hits
from triwarn.assess.impact import ImpactBatch
from triwarn.geo import geodesic
from triwarn.geo.frames import geodetic_to_ecef
from triwarn.records.events import TRUSTED_QUALITY

from .conftest import T0_UNIX_S, settling_flight, state_cov

COV = state_cov(50.0, 2.0)


def _batch(lat, lon, sigma_east_m, sigma_north_m):
    one = np.array
    return ImpactBatch(one([lat]), one([lon]), one([T0_UNIX_S]), one([1.0]),
                       one([[[sigma_east_m**2, 0.0], [0.0, sigma_north_m**2]]]), one([0.0]), one([0.0]),
                       one([0.0]), one([True]), np.zeros((1, 0)), np.zeros((1, 0)))


def test_the_impact_probability_is_the_gaussians_integral_and_the_same_every_cycle():
    # Land east of the meridian 20 km east of the predicted point; sigma east 10 km: P = 1 - Phi(2) = 2.3 %.
    lat, lon = 40.0, 137.0
    _, lon_edge = geodesic.direct(lat, lon, 90.0, 20e3)
    areas = PolygonAreas({"JP-05": {"land": box(float(lon_edge), 38.0, 140.0, 42.0)}})
    hits = impact_hits(areas, _batch(lat, lon, 10e3, 3e3), np.array([0]))
    assert len(hits) == 1 and hits[0].area == "JP-05"
    assert hits[0].probability == pytest.approx(1.0 - norm.cdf(2.0), abs=0.004)
    again = impact_hits(areas, _batch(lat, lon, 10e3, 3e3), np.array([0]))
    assert again[0].probability == hits[0].probability  # no draw to draw again: no cycle crosses 5 % by chance
    # 25 km away (2.5 sigma) never reaches the 5 % threshold, in any cycle.
    _, lon_far = geodesic.direct(lat, lon, 90.0, 25e3)
    far = PolygonAreas({"JP-05": {"land": box(float(lon_far), 38.0, 140.0, 42.0)}})
    assert impact_hits(far, _batch(lat, lon, 10e3, 3e3), np.array([0]))[0].probability < 0.01


def _report(irbm, lat, lon, t_s):
    return SimpleNamespace(sender="kr", track_id="KR-S3", sent_unix_s=T0_UNIX_S + irbm.burnout_t_s + 1.0,
                           lat_deg=lat, lon_deg=lon, semi_major_m=30e3, semi_minor_m=5e3, bearing_deg=90.0,
                           impact_t_unix_s=T0_UNIX_S + t_s, impact_t_sigma_s=5.0)


def test_a_track_just_turned_ballistic_settles_before_its_area_risks_are_trusted(irbm):
    _ass, out = settling_flight(irbm)
    assert out and min(out) < 15
    early = {k: v for k, v in out.items() if k < 15}
    late = {k: v for k, v in out.items() if k >= 16}
    assert early and all(q < TRUSTED_QUALITY for _p, q in early.values())
    assert late and all(q >= TRUSTED_QUALITY and p > 0.5 for p, q in late.values())
    # Off (settle 0): trusted from the first ballistic cycle, as before.
    _ass, off = settling_flight(irbm, settle_s=0.0)
    assert all(q >= TRUSTED_QUALITY for _p, q in off.values())


def test_a_partners_agreeing_impact_report_lifts_the_settling_a_disagreeing_one_does_not(irbm):
    agree = _report(irbm, irbm.impact_lat_deg, irbm.impact_lon_deg + 0.05, irbm.impact_t_s + 3.0)
    ass, out = settling_flight(irbm, [agree])
    assert all(q >= TRUSTED_QUALITY for _p, q in out.values())
    assert ass.partner_impacts.supported["kr"] > 0 and not ass.partner_impacts.conflicts
    elsewhere = _report(irbm, irbm.impact_lat_deg + 6.0, irbm.impact_lon_deg, irbm.impact_t_s)  # ~670 km off
    ass, out = settling_flight(irbm, [elsewhere])
    assert all(q < TRUSTED_QUALITY for k, (_p, q) in out.items() if k < 15)  # no help from it
    assert ass.partner_impacts.unmatched["kr"] > 0  # never bound to the track: perhaps another object
    assert not ass.partner_impacts.supported and not ass.partner_impacts.conflicts


def _path_batch(alts_m):
    """One track, two paths (the mean's and one draw's) along 40N from 136E eastward, 0.2 deg per recorded
    point, at the given heights; the draw's path is the one that counts for the probability."""
    n = len(alts_m)
    lat = np.radians(np.full(n, 40.0))
    lon = np.radians(136.0 + 0.2 * np.arange(n))
    pos = geodetic_to_ecef(lat, lon, np.asarray(alts_m, float))  # (S, 3)
    trace_pos = np.broadcast_to(pos[:, None, None, :], (n, 1, 2, 3)).copy()
    trace_t = np.broadcast_to((T0_UNIX_S + 10.0 * np.arange(n))[:, None, None], (n, 1, 2)).copy()
    b = _batch(40.0, 136.0 + 0.2 * (n - 1), 1e3, 1e3)
    b.trace_t_unix_s, b.trace_pos_ecef_m = trace_t, trace_pos
    return b


def test_a_ballistic_overflight_counts_the_passage_above_not_the_fall_into_an_area():
    areas = PolygonAreas({"JP-15": {"territorial_sea": box(136.5, 39.5, 136.9, 40.5)}})  # under points 3-4
    high = overflight_hits(areas, _path_batch([300e3, 280e3, 260e3, 240e3, 220e3, 200e3, 0.0]), np.array([0]), 4)
    assert [(h.area, h.probability) for h in high] == [("JP-15", 1.0)]
    falling = overflight_hits(areas, _path_batch([200e3, 120e3, 60e3, 30e3, 10e3, 0.0]), np.array([0]), 4)
    assert falling == []  # below 50 km over the area: the fall into it, the impact integral's business
