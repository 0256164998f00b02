"""Sea notices never later with sharing (issue 13): while the partners' boost label holds a shared track
powered, the own-view floor gives the node's own ballistic impact prediction (flag own_view), so a
piece's notice of its fall at sea goes out as the node alone would give it (2023-08-24 seed 1, Japan off
JP-47: 2 s later shared; 2023-11-21 seed 1, Korea off KR-46: 3 s)."""

from __future__ import annotations

import numpy as np
from shapely.geometry import box

from triwarn.assess.areas import PolygonAreas
from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.geo import geodesic
from triwarn.geo.hazard_zones import parse_notice
from triwarn.records.events import AreaRisk, Flag, ImpactPrediction
from triwarn.warn.fall_notice import SEA_SUFFIX
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import Issuer, WarnPolicy

from .conftest import T0_UNIX_S, state_cov, system_track, table

COV = state_cov(100.0, 10.0)
NOTICE = parse_notice("""NAVAREA XI 0001/22
DPRK. ROCKET LAUNCHING 032200Z OCT TO 042200Z OCT 22 IN AREAS BOUNDED BY:
A. 41-18N 142-30E, 41-18N 143-30E, 40-30N 142-30E, 40-30N 143-30E. (FIRST STAGE)
""")
RUN_S = 100  # seconds of the shared track held powered, beyond the notice's trust gate (short_track_s)


def _coast_area(irbm):
    """JP-01's outline for this test: a box 150 km north of the fall, so the fall is at sea near it."""
    lat, lon = geodesic.direct(irbm.impact_lat_deg, irbm.impact_lon_deg, 0.0, 150e3)
    lat, lon = float(lat), float(lon)
    return box(lon - 0.5, lat, lon + 0.5, lat + 1.0)


def _run(irbm, own_powered: bool | None):
    """The assessor and the warning machine of jp's node each second while the fused track is labelled
    boost; own_powered: the mode of jp's own contribution (None: no own view, the node alone's floor off)."""
    outline = _coast_area(irbm)
    assessor = Assessor(PolygonAreas({"JP-01": {"land": outline}}),
                        AssessConfig(impact_interval_s=5.0, corridor_interval_s=5.0, area_interval_s=5.0))
    machine = WarningMachine(Issuer("triwarn.jp-node", exercise="TEST"), "R1",
                             policy=WarnPolicy(hazard_notice=NOTICE), area_geometry={"JP-01": outline}.get)
    t_start = irbm.burnout_t_s + 20.0
    events, issued = [], []
    for k in range(RUN_S + 1):
        t_s = t_start + k
        st = irbm.free_state(t_s)
        if own_powered is not None:
            assessor.own_view = lambda st=st: {"JP-S1": (st, COV, own_powered)}
        step = assessor.step(T0_UNIX_S + t_s, table([system_track(
            "JP-S1", T0_UNIX_S + t_s, st[:3], st[3:], COV, "boost", ("jp", "kr"), ("jp:T1", "kr:T4"),
            T0_UNIX_S + t_start - 200.0, T0_UNIX_S + t_s, 60)]))
        events += step
        issued += [(t_s, m) for m in machine.step(step, T0_UNIX_S + t_s)]
    notices = [(t_s, m) for t_s, m in issued if m.areas and m.areas[0].code == "JP-01" + SEA_SUFFIX]
    return events, notices


def test_the_own_view_prediction_lets_the_notice_out_while_the_fused_track_is_held_powered(irbm):
    events, notices = _run(irbm, own_powered=False)
    own = [e for e in events if isinstance(e, ImpactPrediction) and e.has(Flag.OWN_VIEW)]
    assert own and all(e.track == "JP-S1" and not e.powered for e in own)
    gap_km = [geodesic.inverse(e.lat_deg, e.lon_deg, irbm.impact_lat_deg, irbm.impact_lon_deg)[0] / 1e3 for e in own]
    assert max(gap_km) < 50.0, gap_km  # the own track's fall, not the corridor's middle
    assert notices, "no notice of the fall at sea while the fused track is labelled powered"
    t_first, msg = notices[0]
    assert msg.msg_type == "Alert" and msg.areas[0].state == "notice"
    # The trust gate (a track seen short_track_s) is the only wait, as for the node alone.
    assert t_first - (irbm.burnout_t_s + 20.0) <= WarnPolicy().short_track_s + 1.0


def test_without_the_own_view_a_powered_fused_track_gives_no_notice(irbm):
    """The case the own view is for: the fused track alone (corridor only) tells no fall."""
    events, notices = _run(irbm, own_powered=None)
    assert not any(isinstance(e, ImpactPrediction) and not e.powered for e in events)
    assert notices == []


def test_an_own_contribution_in_the_fused_mode_adds_no_prediction(irbm):
    events, _notices = _run(irbm, own_powered=True)
    assert not any(isinstance(e, ImpactPrediction) and e.has(Flag.OWN_VIEW) for e in events)


def _first_trusted_ballistic_k(irbm, with_own_view: bool) -> int | None:
    """Seconds from the own contribution's turn to ballistic (k = 0, on the 5 s grid) until the shared
    track's first trusted ballistic area risk; the fused label turns ballistic 5 s later (k = 5)."""
    t0 = 5.0 * np.ceil((irbm.burnout_t_s + 20.0) / 5.0)
    areas = PolygonAreas({"JP-07": {"land": box(irbm.impact_lon_deg - 1.0, irbm.impact_lat_deg - 1.0,
                                                irbm.impact_lon_deg + 1.0, irbm.impact_lat_deg + 1.0)}})
    assessor = Assessor(areas, AssessConfig(impact_interval_s=5.0, corridor_interval_s=5.0, area_interval_s=5.0))
    for k in range(-3, 31):
        t_s = t0 + k
        st = irbm.free_state(t_s)
        if with_own_view:
            assessor.own_view = lambda st=st, k=k: {"JP-S1": (st, COV, k < 0)}
        events = assessor.step(T0_UNIX_S + t_s, table([system_track(
            "JP-S1", T0_UNIX_S + t_s, st[:3], st[3:], COV, "boost" if k < 5 else "ballistic", ("jp", "kr"),
            ("jp:T1", "kr:T4"), T0_UNIX_S + t0 - 200.0, T0_UNIX_S + t_s, 60)]))
        if any(isinstance(e, AreaRisk) and e.area == "JP-07" and not e.powered and e.trusted_quality
               for e in events):
            return k
    return None


def test_a_shared_track_labelled_ballistic_after_its_own_contribution_settles_from_the_own_turn(irbm):
    """2022-11-18 seed 2 (Japan's EEZ notice for JP-01 5 s later shared): the fused track turned ballistic
    5 s after jp's own track and its settling (ballistic_settle_s) started over; alone it runs from the
    own track's turn."""
    settle = AssessConfig().ballistic_settle_s
    assert _first_trusted_ballistic_k(irbm, with_own_view=False) == 5 + settle  # the fused turn's clock
    assert _first_trusted_ballistic_k(irbm, with_own_view=True) == settle  # the own turn's, as alone
