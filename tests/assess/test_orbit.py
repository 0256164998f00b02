"""Orbital objects: classified orbital, an orbit estimate (elements, uncertainty, TLE, OMM), no impact."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec

from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.assess.orbit import ecef_to_teme, estimate_orbit, is_orbital, omm_kvn, teme_to_ecef
from triwarn.physics.slv import fly_slv
from triwarn.physics.stages import SlvSpec
from triwarn.records.events import ImpactPrediction
from triwarn.records.tracks import SystemTracks

T0 = 1_700_574_148.0  # 2023-11-21 13:42:28 UTC
SPEC = SlvSpec(39.66, 124.71, orbit_alt_km=500.0, azimuth_deg=179.0, inclination_deg=97.4)


@pytest.fixture(scope="module")
def flight():
    return fly_slv(SPEC, span_s=2400.0)


def _state(flight, obj: str, t_s: float):
    o = next(x for x in flight.objects if x.object_id == obj)
    k = int(np.argmin(np.abs(o.t_s - t_s)))
    return float(o.t_s[k]), o.pos_ecef_m[k], o.vel_ecef_mps[k]


def test_orbital_energy_is_told_from_a_fall(flight):
    t_ins = flight.burnout_t_s
    _, p, v = _state(flight, "payload", t_ins + 30)
    _, p_st, v_st = _state(flight, "stage2", 400.0)  # a spent stage on its way down
    _, p_b, v_b = _state(flight, "payload", t_ins - 60)  # still short of orbital speed
    assert is_orbital(np.array([p, p_st, p_b]), np.array([v, v_st, v_b])).tolist() == [True, False, False]
    escape = is_orbital(p[None], 2.0 * v[None])
    assert escape.tolist() == [True]


def test_teme_and_ecef_round_trip():
    p = np.array([[-2.8e6, 4.0e6, 4.0e6]])
    p_t, _ = ecef_to_teme(T0, p[0], np.zeros(3))
    assert np.allclose(teme_to_ecef(np.array([T0]), p_t[None]), p, atol=1e-6)
    assert np.linalg.norm(p_t) == pytest.approx(np.linalg.norm(p))


def test_the_estimate_gives_elements_and_predicts_ten_minutes_ahead_within_a_kilometre(flight):
    t_s, p, v = _state(flight, "payload", flight.burnout_t_s + 30)
    est = estimate_orbit("S1", T0 + t_s, p, v, np.diag([100.0**2] * 3 + [1.0] * 3))
    assert est.elements.incl_deg == pytest.approx(97.4, abs=0.05)
    assert 480.0 < est.elements.perigee_km <= est.elements.apogee_km < 530.0
    assert est.elements.period_s == pytest.approx(5680.0, rel=0.01)
    _, p10, _ = _state(flight, "payload", t_s + 600.0)
    err = np.linalg.norm(est.position_ecef_m(T0 + t_s + 600.0)[0] - p10)
    assert err < 1e3  # SGP4 from the fitted TLE against the J2 integrator
    assert np.linalg.norm(est.position_ecef_m(T0 + t_s)[0] - p) < 1.0  # the fit reproduces the epoch state
    track = est.ground_track(T0 + t_s, 600.0, 60.0)
    assert len(track) == 11 and track[-1][1] < track[0][1]  # heading south


def test_uncertainty_scales_with_the_state_covariance(flight):
    t_s, p, v = _state(flight, "payload", flight.burnout_t_s + 30)
    small = estimate_orbit("S1", T0 + t_s, p, v, np.diag([100.0**2] * 3 + [1.0] * 3))
    big = estimate_orbit("S1", T0 + t_s, p, v, np.diag([1000.0**2] * 3 + [10.0**2] * 3))
    assert big.elements.sigma["sma_km"] == pytest.approx(10.0 * small.elements.sigma["sma_km"], rel=0.05)
    assert 0.5 < small.elements.sigma["sma_km"] < 5.0
    assert big.cov_teme_km[0, 0] + big.cov_teme_km[1, 1] == pytest.approx(2.0, rel=1e-6)  # (1 km)^2 each


def test_the_tle_parses_back_and_the_omm_has_elements_and_covariance(flight):
    t_s, p, v = _state(flight, "payload", flight.burnout_t_s + 30)
    est = estimate_orbit("S1", T0 + t_s, p, v, np.diag([100.0**2] * 3 + [1.0] * 3), satnum=90001)
    line1, line2 = est.elements.tle
    sat = Satrec.twoline2rv(line1, line2, WGS72)
    assert sat.satnum == 90001 and math.degrees(sat.inclo) == pytest.approx(est.elements.incl_deg, abs=0.05)
    for line in est.elements.tle:  # modulo-10 checksums
        digits = sum(int(c) for c in line[:68] if c.isdigit()) + line[:68].count("-")
        assert digits % 10 == int(line[68])
    omm = omm_kvn(est, "MALLIGYONG-1", "2023-999A")
    kv = dict(line.split(" = ", 1) for line in omm.splitlines() if " = " in line)
    assert kv["CCSDS_OMM_VERS"] == "2.0" and kv["MEAN_ELEMENT_THEORY"] == "SGP4" and kv["REF_FRAME"] == "TEME"
    assert float(kv["INCLINATION"]) == pytest.approx(est.elements.incl_deg, abs=0.05)
    assert float(kv["MEAN_MOTION"]) == pytest.approx(86400.0 / est.elements.period_s, rel=0.01)
    assert kv["EPOCH"].startswith("2023-11-21T13:")
    cov = [k for k in kv if k.startswith("C") and k not in ("CCSDS_OMM_VERS", "CREATION_DATE", "CENTER_NAME",
                                                           "CLASSIFICATION_TYPE", "COV_REF_FRAME")]
    assert len(cov) == 21 and float(kv["CX_X"]) == pytest.approx(0.01, rel=1e-6)
    with pytest.raises(ValueError):
        omm_kvn(est, "X", "not-an-id")


def test_the_assessor_gives_an_orbit_not_an_impact_for_an_orbiting_track(flight):
    t_s, p, v = _state(flight, "payload", flight.burnout_t_s + 30)
    _, p_st, v_st = _state(flight, "stage2", flight.burnout_t_s + 30)
    cov = np.diag([200.0**2] * 3 + [2.0**2] * 3)
    assessor = Assessor(None, AssessConfig(seed=0))
    events = []
    for dt in (0.0, 1.0, 2.0):
        tracks = SystemTracks(["S1", "S2"], [T0 + t_s + dt] * 2, [p, p_st], [v, v_st], [cov, cov],
                              boost=[False, False], nations=[("jp",), ("jp",)])
        events.extend(assessor.step(T0 + t_s + dt, tracks))
    impacts = {e.track for e in events if isinstance(e, ImpactPrediction)}
    assert impacts == {"S2"}  # the falling stage gets its impact point; the payload does not
    assert set(assessor.orbits.latest) == {"S1"}
    assert assessor.orbits.first_unix_s["S1"] == pytest.approx(T0 + t_s)
    assert assessor.orbits.latest["S1"].elements.incl_deg == pytest.approx(97.4, abs=0.1)
