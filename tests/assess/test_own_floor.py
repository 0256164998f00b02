"""Sharing never later: a shared track's cut-off path alerts are held to no less than the node's own
contribution gives (Fuser.own_contributions -> Assessor.own_view)."""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

from triwarn.assess.areas import PolygonAreas
from triwarn.assess.assessor import Assessor
from triwarn.assess.corridor import predict_corridors
from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.records.events import AreaRisk, Flag

from .conftest import T0_UNIX_S, state_cov, system_track, table

COV = state_cov(100.0, 10.0)


def _ground_deg(pos):
    lat, lon, _ = ecef_to_geodetic(np.asarray(pos)[None])
    return float(np.degrees(lat[0])), float(np.degrees(lon[0]))


def _setup(irbm):
    """An area just beyond the cut-off path of a fused state 8 % slow, inside the true state's."""
    t_s = round(0.7 * irbm.burnout_t_s)
    s = irbm.boost_state(t_s)
    slow = s.copy()
    slow[3:] *= 0.92  # a fused state lagging in speed (a partner's older report pulled it back)
    probe = predict_corridors([t_s, t_s], np.stack([s[:3], slow[:3]]), np.stack([s[3:], slow[3:]]), n_nodes=1)
    true_lat, true_lon = probe.node_lat_deg[0, 0], probe.node_lon_deg[0, 0]
    slow_lat, slow_lon = probe.node_lat_deg[1, 0], probe.node_lon_deg[1, 0]
    gap, az = geodesic.inverse(slow_lat, slow_lon, true_lat, true_lon)
    assert gap > 300e3  # the two cut-off paths end far apart
    lat, lon = geodesic.direct(slow_lat, slow_lon, az, 0.6 * gap)
    areas = PolygonAreas({"JP-09": {"land": box(lon - 0.4, lat - 0.4, lon + 0.4, lat + 0.4)}})
    return t_s, s, slow, areas


def _run(irbm, own_view):
    t_s, _s, _slow, areas = _setup(irbm)
    assessor = Assessor(areas)
    assessor.own_view = own_view
    events = []
    for k in range(6):
        t_k = t_s - 5 + k
        fused = irbm.boost_state(t_k)
        fused[3:] *= 0.92
        events = assessor.step(T0_UNIX_S + t_k, table([system_track(
            "JP-S1", T0_UNIX_S + t_k, fused[:3], fused[3:], COV, "boost", ("jp", "kr"), ("jp:T1", "kr:T4"),
            T0_UNIX_S + t_s - 30, T0_UNIX_S + t_k, 20)]))
    return [e for e in events if isinstance(e, AreaRisk) and e.area == "JP-09" and Flag.CUTOFF_PATH in e.flags]


def test_the_own_contribution_holds_the_cut_off_alert_the_fused_state_would_delay(irbm):
    t_s = round(0.7 * irbm.burnout_t_s)
    own = irbm.boost_state(t_s)  # the own track: on the true speed (predicted to the fusion time)
    assert _run(irbm, None) == []  # the lagging fused state alone does not reach the area
    hits = _run(irbm, lambda: {"JP-S1": (own, COV, True)})
    assert hits and max(e.probability for e in hits) > 0.5
    assert all(e.track == "JP-S1" and e.powered for e in hits)  # on the shared track, not a second one


def test_an_own_track_that_says_ballistic_adds_nothing(irbm):
    t_s = round(0.7 * irbm.burnout_t_s)
    own = irbm.boost_state(t_s)
    assert _run(irbm, lambda: {"JP-S1": (own, COV, False)}) == []


def test_the_boost_probability_of_a_shared_track_is_at_least_its_own_contributions(irbm):
    t_s, _s, _slow, areas = _setup(irbm)
    own = irbm.boost_state(t_s)

    def probs(view):
        assessor = Assessor(areas)
        assessor.own_view = view
        fused = own.copy()
        fused[3:] *= 0.92
        events = assessor.step(T0_UNIX_S + t_s, table([system_track(
            "JP-S1", T0_UNIX_S + t_s, fused[:3], fused[3:], COV, "boost", ("jp", "kr"), ("jp:T1", "kr:T4"),
            T0_UNIX_S + t_s - 30, T0_UNIX_S + t_s, 20)]))
        return {(e.area, e.kind): e.probability for e in events
                if isinstance(e, AreaRisk) and "boost_risk" in e.flags}

    alone_fused = probs(None)
    with_own = probs(lambda: {"JP-S1": (own, COV, True)})
    assert with_own and all(with_own.get(k, 0.0) >= p for k, p in alone_fused.items())


def test_a_shared_track_held_powered_by_the_partners_still_gets_the_own_tracks_ballistic_risks(irbm):
    """The partners' veto keeps the fused track powered after burnout; the node alone would already have
    predicted the impact: its area risks come on the shared track, not later."""
    t_s = irbm.burnout_t_s + 20.0
    st = irbm.free_state(t_s)
    areas = PolygonAreas({"JP-07": {"land": box(irbm.impact_lon_deg - 1.0, irbm.impact_lat_deg - 1.0,
                                                irbm.impact_lon_deg + 1.0, irbm.impact_lat_deg + 1.0)}})

    def run(view):
        assessor = Assessor(areas)
        assessor.own_view = view
        return assessor.step(T0_UNIX_S + t_s, table([system_track(
            "JP-S1", T0_UNIX_S + t_s, st[:3], st[3:], COV, "boost", ("jp", "kr"), ("jp:T1", "kr:T4"),
            T0_UNIX_S + t_s - 200, T0_UNIX_S + t_s, 60)]))

    def ballistic_risk(events):
        return [e for e in events if isinstance(e, AreaRisk) and not e.powered and e.area == "JP-07"]

    assert ballistic_risk(run(None)) == []  # the fused track is powered: corridor and cut-off path only
    hits = ballistic_risk(run(lambda: {"JP-S1": (st, COV, False)}))
    assert hits and all(e.track == "JP-S1" for e in hits) and max(e.probability for e in hits) > 0.5
