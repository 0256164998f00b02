"""Orbit estimates shared like impact predictions (issue 14): the wire report, its physical bounds, a node
that publishes its own and holds its partners' latest, and a partner orbit that contradicts the fused
track counted, not held."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from triwarn.assess.orbit import estimate_orbit
from triwarn.geo.wgs84 import GM_M3_S2, OMEGA_RAD_S
from triwarn.node.core import NationalNode, NodeSettings
from triwarn.node.orbit_sharing import orbit_disagreement_m, orbit_record, report_fields
from triwarn.records.events import OrbitElements, decode_line, encode_line
from triwarn.share import bounds, signing
from triwarn.share.admission import Admission
from triwarn.share.policy import parse_network
from triwarn.share.schema import OrbitReport, TrackReport, TrackState, decode, encode, json_schema_files

T0 = 1_700_574_800.0  # 2023-11-21, after the insertion of the bundled SLV
CLASSES = ["track", "launch", "impact", "orbit", "warning", "heartbeat", "link"]
SPEC = parse_network({"version": 1, "hub": "us", "nations": ["us", "jp", "kr"],
                      "release": {a: {b: CLASSES for b in ("us", "jp", "kr") if b != a} for a in ("us", "jp", "kr")}})
COV = np.diag([200.0**2] * 3 + [2.0**2] * 3)


def _state(raan_shift_deg: float = 0.0, incl_deg: float = 97.4, alt_m: float = 500e3):
    """ECEF position and velocity (m, m/s) of a circular orbit at its ascending node at T0, the node
    rotated raan_shift_deg east."""
    r = 6_378_137.0 + alt_m
    v = math.sqrt(GM_M3_S2 / r)
    i = math.radians(incl_deg)
    pos = np.array([r, 0.0, 0.0])
    vel = np.array([0.0, v * math.cos(i) - OMEGA_RAD_S * r, v * math.sin(i)])
    c, s = math.cos(math.radians(raan_shift_deg)), math.sin(math.radians(raan_shift_deg))
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return rot @ pos, rot @ vel


@pytest.fixture(scope="module")
def good_fields():
    pos, vel = _state()
    return report_fields(orbit_record(estimate_orbit("KR-S1", T0, pos, vel, COV), T0, "kr"))


@pytest.fixture(scope="module")
def keys():
    return {n: signing.new_key() for n in SPEC.nations}


def _sender(keys, nation="kr"):
    from triwarn.share.sender import Sender

    return Sender(nation, keys[nation], SPEC)


def test_the_report_round_trips_and_the_record_has_its_own_file_form(good_fields, keys):
    msg = _sender(keys).seal(OrbitReport, T0 + 1, to=("jp",), **good_fields)
    assert msg.subjects == ("tw.kr.jp.orbit",)
    back = decode(encode(msg.msg))
    assert back == msg.msg and back.incl_deg == pytest.approx(97.4, abs=0.05)
    assert 480e3 < back.perigee_alt_m < 520e3
    pos, vel = _state()
    rec = orbit_record(estimate_orbit("KR-S1", T0, pos, vel, COV), T0, "kr")
    line = encode_line(rec)
    assert msgspec.json.decode(line, type=OrbitElements) == rec
    with pytest.raises(msgspec.ValidationError):
        decode_line(line)  # not an assessment event for the warning stage
    assert "orbit.schema.json" in json_schema_files()


def test_the_record_names_the_assessing_nation_and_time_and_leaves_the_estimate_alone():
    pos, vel = _state()
    est = estimate_orbit("KR-S1", T0, pos, vel, COV)
    rec = orbit_record(est, T0 + 7.0, "kr")
    assert (rec.t, rec.nations, rec.epoch_unix_s) == (T0 + 7.0, ["kr"], T0)
    assert (est.elements.t, est.elements.nations) == (T0, [])
    rec.sigma["sma_km"] = -1.0
    assert est.elements.sigma["sma_km"] > 0.0  # the record's sigma is its own copy
    assert rec.tle == est.elements.tle and rec.incl_deg == est.elements.incl_deg


# case -> (changes to the good report, what the detail must name)
ORBIT_CASES = {
    "perigee_inside_the_earth": ({"sma_m": 6_000e3}, "perigee radius"),
    "apogee_beyond_geostationary": ({"sma_m": 40_000e3, "ecc": 0.5}, "apogee radius"),
    "perigee_height_disagrees": ({"perigee_alt_m": 900e3}, "perigee_alt_m"),
    "sma_sigma_1e9": ({"sma_sigma_m": 1e9}, "sma_sigma_m"),
    "angle_sigma_1000_deg": ({"raan_sigma_deg": 1000.0}, "raan_sigma_deg"),
    "epoch_a_year_ahead": ({"epoch_unix_s": T0 + 365.25 * 86400.0}, "epoch_unix_s"),
    "tle_checksum": ({"tle_line1": None}, "tle_line1: checksum"),
    "tle_inclination_contradicts": ({"incl_deg": 51.6}, "tle_line2 inclination"),
}


@pytest.mark.parametrize("case", list(ORBIT_CASES))
def test_an_absurd_orbit_is_out_of_bounds_names_its_field_and_the_next_good_one_is_accepted(case, good_fields,
                                                                                            keys):
    changes, named = ORBIT_CASES[case]
    if "tle_line1" in changes:  # one digit changed, the checksum left as it was
        line = good_fields["tle_line1"]
        k = line.index("2", 20)
        changes = {"tle_line1": line[:k] + "3" + line[k + 1:]}
    adm = Admission("jp", SPEC, signing.TrustStore({n: k.verify_key for n, k in keys.items()}))
    kr = _sender(keys)
    bad = kr.seal(OrbitReport, T0 + 1, to=("jp",), **{**good_fields, **changes})
    verdict = adm.admit(bad.data, "tw.kr.jp.orbit", T0 + 1)
    assert verdict.reason == "out_of_bounds" and named in verdict.detail, verdict.detail
    assert verdict.msg is None
    good = kr.seal(OrbitReport, T0 + 2, to=("jp",), **good_fields)
    assert adm.admit(good.data, "tw.kr.jp.orbit", T0 + 2).accepted
    assert bounds.content_problem(good.msg, T0 + 2, future_skew_s=2.0, max_age_s=30.0) is None


def _partner_track(keys, t: float, pos, vel) -> TrackReport:
    st = TrackState(track_id="KR-T1", t_unix_s=t, pos_ecef_m=[float(x) for x in pos],
                    vel_ecef_mps=[float(x) for x in vel], cov_ecef=COV[np.triu_indices(6)].tolist(),
                    mode="ballistic", quality=0.9, nations=["kr"])
    return _sender(keys, "kr").seal(TrackReport, t, to=("jp",), tracks=[st]).msg


def test_a_node_publishes_its_orbits_and_holds_a_partners_unless_it_contradicts_the_fused_track(keys, good_fields):
    from triwarn.share.sender import Sender

    node = NationalNode(NodeSettings("jp", exercise=None, run_id="torbit"), {},
                        sender=Sender("jp", keys["jp"], SPEC))
    pos, vel = _state()
    kr = _sender(keys, "kr")
    agreeing = kr.seal(OrbitReport, T0, to=("jp",), **good_fields).msg
    pos_far, vel_far = _state(raan_shift_deg=5.0)  # ~600 km west of the tracked object
    other = report_fields(orbit_record(estimate_orbit("KR-S9", T0, pos_far, vel_far, COV), T0, "kr"))
    contradicting = kr.seal(OrbitReport, T0, to=("jp",), **other).msg
    node.ingest_message(_partner_track(keys, T0, pos, vel))
    node.ingest_message(agreeing)
    node.ingest_message(contradicting)
    res = node.step(T0 + 1.0)
    assert [(r.sender, r.track_id) for r in res.partner_orbits] == [("kr", "KR-S1")]
    assert node.partner_orbits.disputed == {"kr": 1}
    assert orbit_disagreement_m(contradicting, res.system_tracks) > 300e3
    assert orbit_disagreement_m(agreeing, res.system_tracks) < 5e3
    # Its own estimate of the fused orbital track goes out to both partners, like an impact report.
    assert [o.track for o in res.orbits] == res.system_tracks.track_id.tolist()
    sent = [o for o in res.outgoing if isinstance(o.msg, OrbitReport)]
    assert len(sent) == 1 and set(sent[0].recipients) == {"us", "kr"}
    assert sent[0].msg.incl_deg == pytest.approx(97.4, abs=0.1)
    # CoT: its ground track ahead as a line.
    assert any(b'uid="triwarn-jp.orbit.' in x for x in res.cot_xml)
    # Keep-latest: an older epoch of the same partner track does not replace the held one.
    older = kr.seal(OrbitReport, T0 + 2, to=("jp",), **{**good_fields, "epoch_unix_s": T0 - 20.0}).msg
    node.ingest_message(_partner_track(keys, T0 + 2, *_propagated(T0 + 2)))
    node.ingest_message(older)
    res = node.step(T0 + 2.5)
    assert [r.epoch_unix_s for r in res.partner_orbits] == [T0]


def test_a_node_draws_its_declared_hazard_zones_in_cot():
    from triwarn.sensors.scenario import bundled_dir, load_scenario

    notice = load_scenario(bundled_dir() / "2023-11-21-slv-orbit.yaml").hazard_notice
    node = NationalNode(NodeSettings("jp", exercise="SLV-1", run_id="tzones", share=False, hazard_notice=notice), {})
    res = node.step(T0)
    zones = [x for x in res.cot_xml if b".zone." in x]
    assert len(zones) == len(notice.zones) and all(b'opex="e-SLV-1"' in x for x in zones)


def test_an_orbit_no_fused_track_can_judge_is_held(keys, good_fields):
    node = NationalNode(NodeSettings("jp", exercise=None, run_id="torbit2", share=False), {})
    node.ingest_message(_sender(keys).seal(OrbitReport, T0, to=("jp",), **good_fields).msg)
    res = node.step(T0 + 1.0)
    assert len(res.system_tracks) == 0 and len(res.partner_orbits) == 1 and not node.partner_orbits.disputed


def _propagated(t: float):
    pos, vel = _state()
    est = estimate_orbit("X", T0, pos, vel, COV)
    p = est.position_ecef_m(np.array([t - 0.5, t, t + 0.5]))
    return p[1], (p[2] - p[0])
