"""The probabilistic boost-phase layer: class from the thrust profile, burnout draws, area probabilities;
partners' launch reports date a track only where they fit it."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from triwarn.assess.areas import PolygonAreas
from triwarn.assess.assessor import Assessor
from triwarn.assess.boost_risk import (
    BOOST_RISK_FLAG,
    VEHICLE_CLASSES,
    BoostRisk,
    BoostRiskConfig,
    class_posterior,
    draw_burnouts,
    draw_noise,
)
from triwarn.assess.corridor import predict_corridors
from triwarn.assess.partner_launch import PartnerLaunch, PartnerLaunches
from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.records.events import AreaRisk

from .conftest import T0_UNIX_S, state_cov, system_track, table

NAMES = [c.name for c in VEHICLE_CLASSES]


def test_class_posterior_follows_speed_bands_burn_times_and_thrust():
    # 3.5 km/s rules out the SRBM band; 100 s after launch rules out a single-stage MRBM's burn.
    post = class_posterior([3500.0], [100.0], [np.nan])[0]
    assert post[NAMES.index("srbm")] == 0.0 and post[NAMES.index("mrbm")] == 0.0
    assert post[NAMES.index("irbm")] > 0.2
    # 20 s after launch at 30 m/s^2: the single-stage classes' thrust (22-25 m/s^2), not the big ones' 14.
    early = class_posterior([400.0], [20.0], [30.0])[0]
    assert early[NAMES.index("srbm")] + early[NAMES.index("mrbm")] > 0.6
    # Nothing known but the speed: every class whose band is above it, by prior.
    blind = class_posterior([500.0], [np.nan], [np.nan])[0]
    assert np.all(blind > 0.0) and blind.sum() == pytest.approx(1.0)
    # Faster than any band: every class alike rather than nothing.
    assert class_posterior([9000.0], [np.nan], [np.nan])[0] == pytest.approx(np.full(len(NAMES), 1 / len(NAMES)))


def test_burnout_draws_never_slow_down_and_early_termination_stops_short(irbm):
    s = irbm.boost_state(100.0)
    cfg = BoostRiskConfig(n_draws=400, p_early_termination=0.3)
    post = class_posterior([np.linalg.norm(s[3:])], [100.0], [np.nan])
    d = draw_burnouts([T0_UNIX_S], s[None, :3], s[None, 3:], post, [np.nan], draw_noise(["W"], 0, 400), cfg)
    v_now = np.linalg.norm(s[3:])
    v_bo = np.linalg.norm(d.vel_ecef_mps[0], axis=-1)
    assert np.all(v_bo >= v_now - 1e-6)
    assert 0.2 < d.early.mean() < 0.4
    assert np.median(v_bo[d.early[0]]) < np.median(v_bo[~d.early[0]])
    assert np.all(d.t_unix_s >= T0_UNIX_S)
    # Trackers that already say ballistic (vote 0): every draw burns out now, at the present speed.
    off = draw_burnouts([T0_UNIX_S], s[None, :3], s[None, 3:], post, [np.nan], draw_noise(["W"], 0, 400), cfg,
                        p_motor_on=[0.0])
    assert np.allclose(np.linalg.norm(off.vel_ecef_mps[0], axis=-1), v_now)
    # The same track gets the same random numbers at every step (smooth probabilities).
    assert np.array_equal(draw_noise(["W", "X"], 0, 8)[0], draw_noise(["W"], 0, 8)[0])


def _square(lat, lon, half_deg=0.6):
    return {"land": box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)}


def test_an_area_on_the_way_gets_a_probability_and_one_behind_the_launch_none(irbm):
    t_s = 90.0
    s = irbm.boost_state(t_s)
    probe = predict_corridors([0.0], s[None, :3], s[None, 3:], n_nodes=1)
    lat0, lon0 = (float(np.degrees(x[0])) for x in ecef_to_geodetic(s[None, :3])[:2])
    _d, az = geodesic.inverse(lat0, lon0, probe.node_lat_deg[0, 0], probe.node_lon_deg[0, 0])
    ahead = geodesic.direct(lat0, lon0, az, 1500e3)  # beyond today's cut-off point, on the azimuth
    behind = geodesic.direct(lat0, lon0, az + 180.0, 400e3)
    areas = PolygonAreas({"JP-02": _square(*ahead), "KR-01": _square(*behind)})
    hits, post = BoostRisk().assess(areas, ["W"], [T0_UNIX_S + t_s], s[None, :3], s[None, 3:], [t_s], [np.nan])
    prob = {(h.area, h.kind): h.probability for h in hits}
    assert prob.get(("JP-02", "overflight"), 0.0) > 0.3
    assert not any(a == "KR-01" for a, _k in prob)
    assert post.shape == (1, len(NAMES))


def test_the_assessor_emits_boost_risk_events_only_while_powered_and_the_warning_stage_ignores_them(irbm):
    t_s = 90.0
    s = irbm.boost_state(t_s)
    lat0, lon0 = (float(np.degrees(x[0])) for x in ecef_to_geodetic(s[None, :3])[:2])
    az = float(geodesic.inverse(lat0, lon0, irbm.impact_lat_deg, irbm.impact_lon_deg)[1])
    ahead = geodesic.direct(lat0, lon0, az, 1500e3)
    assessor = Assessor(PolygonAreas({"JP-02": _square(*ahead)}))
    cov = state_cov(100.0, 10.0)
    events = []
    for k in range(3):
        t_k = t_s - 2 + k
        st = irbm.boost_state(t_k)
        events += assessor.step(T0_UNIX_S + t_k, table([system_track(
            "S1", T0_UNIX_S + t_k, st[:3], st[3:], cov, "boost", ("jp", "kr"), ("jp:1", "kr:1"),
            T0_UNIX_S + t_s - 40, T0_UNIX_S + t_k, 30)]))
    risk = [e for e in events if isinstance(e, AreaRisk) and BOOST_RISK_FLAG in e.flags]
    assert risk and all(e.powered and e.area == "JP-02" for e in risk)
    t_b = irbm.burnout_t_s + 5.0
    st = irbm.free_state(t_b)
    later = assessor.step(T0_UNIX_S + t_b, table([system_track(
        "S1", T0_UNIX_S + t_b, st[:3], st[3:], cov, "ballistic", ("jp", "kr"), ("jp:1", "kr:1"),
        T0_UNIX_S + t_s - 40, T0_UNIX_S + t_b, 40)]))
    assert not any(isinstance(e, AreaRisk) and BOOST_RISK_FLAG in e.flags for e in later)


def test_partner_launch_reports_date_a_track_only_where_they_fit_it():
    book = PartnerLaunches()
    good = PartnerLaunch("kr", "E1", 40.6, 126.4, T0_UNIX_S, 2.0, 5e3)
    far = PartnerLaunch("us", "E2", 30.0, 150.0, T0_UNIX_S, 2.0, 5e3)  # 2,500 km away 60 s before
    late = PartnerLaunch("us", "E3", 40.6, 126.4, T0_UNIX_S + 200.0, 2.0, 5e3)  # after the track's time
    # A track 60 s after launch, 150 km from the launch point.
    lat, lon = geodesic.direct(40.6, 126.4, 90.0, 150e3)
    t_track = T0_UNIX_S + 60.0
    assert book.launch_time_for([good, far, late], t_track, float(lat), float(lon), None) == T0_UNIX_S
    assert book.conflicts[("us", "too_far_from_track")] == 1 and book.conflicts[("us", "after_track")] == 1
    assert book.used["kr"] == 1
    # Alone, a contradicting report dates nothing (it cannot make a risk on its own).
    assert book.launch_time_for([far], t_track, float(lat), float(lon), None) is None
    # With the node's own estimate, a report 300 km off it is a contradiction, counted, not used.
    own = (40.6, 126.4, T0_UNIX_S, 2.0, 10e3)
    shifted = PartnerLaunch("kr", "E4", 38.0, 126.4, T0_UNIX_S, 2.0, 5e3)
    assert book.launch_time_for([shifted], t_track, float(lat), float(lon), own) is None
    assert book.conflicts[("kr", "launch_point_differs")] == 1
