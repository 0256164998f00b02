"""Partner content is bounded before it is used (issue 16, items 2 and 7): a correctly signed message with
absurd content is rejected with its reason and counted, never raises, changes nothing, and the sender's
next good message is still accepted; a node fed through admission neither raises nor changes its picture."""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triwarn.node.core import NationalNode, NodeSettings
from triwarn.share import bounds, signing
from triwarn.share.admission import REJECT_REASONS, Admission
from triwarn.share.policy import load_network
from triwarn.share.schema import ImpactReport, LaunchReport, LinkReport, TrackReport, TrackState, encode
from triwarn.share.sender import Sender

from .conftest import GOOD_COV, track_state

T0 = 1_700_000_000.0
YEAR_S = 365.25 * 86400.0
SUBJECT = "tw.kr.jp.track"


def _cov(diag_pos: float = 1e4, diag_vel: float = 25.0, fill: float | None = None) -> list[float]:
    """Upper triangle of a diagonal covariance (or every entry `fill`)."""
    if fill is not None:
        return [fill] * 21
    full = np.diag([diag_pos] * 3 + [diag_vel] * 3)
    return full[np.triu_indices(6)].tolist()


# case -> (changes to one TrackState, the field the detail must name)
TRACK_CASES = {
    "position_1e30": ({"pos_ecef_m": [1e30, 0.0, 0.0]}, "pos_ecef_m"),
    "position_inside_the_earth": ({"pos_ecef_m": [1000.0, 0.0, 0.0]}, "pos_ecef_m"),
    "position_at_the_moon": ({"pos_ecef_m": [3.84e8, 0.0, 0.0]}, "pos_ecef_m"),
    "velocity_1e30": ({"vel_ecef_mps": [0.0, 1e30, 0.0]}, "vel_ecef_mps"),
    "velocity_20_km_s": ({"vel_ecef_mps": [20e3, 0.0, 0.0]}, "vel_ecef_mps"),
    "time_a_year_ahead": ({"t_unix_s": T0 + 1 + YEAR_S}, "t_unix_s"),
    "time_an_hour_ahead": ({"t_unix_s": T0 + 1 + 3600.0}, "t_unix_s"),
    "time_an_hour_old": ({"t_unix_s": T0 + 1 - 3600.0}, "t_unix_s"),
    "zero_covariance": ({"cov_ecef": _cov(fill=0.0)}, "cov_ecef"),
    "negative_covariance": ({"cov_ecef": _cov(fill=-1.0)}, "cov_ecef"),
    "negative_variance": ({"cov_ecef": _cov(diag_pos=-1e4)}, "cov_ecef"),
    "not_positive_definite": ({"cov_ecef": [1e4, 0, 0, 1000.0, 0, 0, 1e4, 0, 0, 0, 0, 1e4, 0, 0, 0,
                                            25.0, 0, 0, 25.0, 0, 25.0]}, "cov_ecef"),
    "position_sigma_1_mm": ({"cov_ecef": _cov(diag_pos=1e-6)}, "position sigma"),
    "position_sigma_10_000_km": ({"cov_ecef": _cov(diag_pos=1e14)}, "position sigma"),
    "velocity_sigma_100_km_s": ({"cov_ecef": _cov(diag_vel=1e10)}, "velocity sigma"),
}


@pytest.fixture
def kr(spec, keys):
    return Sender("kr", keys["kr"], spec)


@pytest.fixture
def adm(spec, trust):
    return Admission("jp", spec, trust)


def _first_and_next(kr, adm):
    """Admit KR's first good message at T0; return the next good one (sealed later, at T0 + 2)."""
    assert adm.admit(kr.seal(TrackReport, T0, to=("jp",), tracks=[track_state(0, T0)]).data, SUBJECT, T0).accepted
    return kr.seal(TrackReport, T0 + 2, to=("jp",), tracks=[track_state(0, T0 + 2)])


def _assert_rejected_then_recovers(adm, data, reason, now, next_good, subject=SUBJECT):
    before_seq, before_counts = dict(adm.last_seq), dict(adm.counters)
    verdict = adm.admit(data, subject, now)
    assert verdict.reason == reason, verdict.detail
    assert adm.counters[reason] == before_counts[reason] + 1
    assert adm.counters["accepted"] == before_counts["accepted"]
    assert adm.last_seq == before_seq  # the bad message changed nothing ...
    assert adm.admit(next_good.data, SUBJECT, T0 + 2).accepted  # ... and the next good one goes through
    return verdict


@pytest.mark.parametrize("case", list(TRACK_CASES))
def test_absurd_track_content_is_out_of_bounds_counted_and_changes_nothing(case, kr, adm):
    changes, named = TRACK_CASES[case]
    bad_state = msgspec.structs.replace(track_state(1, T0 + 1), **changes)
    next_good = _first_and_next(kr, adm)
    bad = kr.seal(TrackReport, T0 + 1, to=("jp",), tracks=[track_state(2, T0 + 1), bad_state])
    verdict = _assert_rejected_then_recovers(adm, bad.data, "out_of_bounds", T0 + 1, next_good)
    assert "tracks[1]" in verdict.detail and named in verdict.detail


@pytest.mark.parametrize("case", ["launch_a_year_ahead", "launch_altitude_1e30", "launch_sigma_1e30",
                                  "impact_a_year_ahead", "impact_ellipse_1e9", "impact_minor_above_major",
                                  "link_heard_in_the_future"])
def test_absurd_launch_impact_and_link_content_is_out_of_bounds(case, kr, adm):
    launch = dict(event_id="kr-L1", launch_t_unix_s=T0 - 60.0, launch_t_sigma_s=1.0, lat_deg=39.0, lon_deg=125.0,
                  alt_m=0.0, horiz_sigma_m=500.0)
    impact = dict(track_id="KR-T1", lat_deg=40.0, lon_deg=139.0, semi_major_m=9000.0, semi_minor_m=4000.0,
                  bearing_deg=80.0, impact_t_unix_s=T0 + 300.0, impact_t_sigma_s=4.0, confidence=0.95)
    cls, fields, named = {
        "launch_a_year_ahead": (LaunchReport, {**launch, "launch_t_unix_s": T0 + YEAR_S}, "launch_t_unix_s"),
        "launch_altitude_1e30": (LaunchReport, {**launch, "alt_m": 1e30}, "alt_m"),
        "launch_sigma_1e30": (LaunchReport, {**launch, "horiz_sigma_m": 1e30}, "horiz_sigma_m"),
        "impact_a_year_ahead": (ImpactReport, {**impact, "impact_t_unix_s": T0 + YEAR_S}, "impact_t_unix_s"),
        "impact_ellipse_1e9": (ImpactReport, {**impact, "semi_major_m": 1e9}, "semi_major_m"),
        "impact_minor_above_major": (ImpactReport, {**impact, "semi_minor_m": 2e4}, "semi_minor_m"),
        "link_heard_in_the_future": (LinkReport, {"partner": "us", "state": "up",
                                                  "last_heard_unix_s": T0 + YEAR_S}, "last_heard_unix_s"),
    }[case]
    next_good = _first_and_next(kr, adm)
    out = kr.seal(cls, T0 + 1, to=("jp",), **fields)
    subject = out.subjects[0]
    verdict = _assert_rejected_then_recovers(adm, out.data, "out_of_bounds", T0 + 1, next_good, subject)
    assert named in verdict.detail
    # The same report within bounds is accepted.
    good_fields = {"launch": launch, "impact": impact}.get(subject.rsplit(".", 1)[1],
                                                            {"partner": "us", "state": "up"})
    assert adm.admit(kr.seal(cls, T0 + 3, to=("jp",), **good_fields).data, subject, T0 + 3).accepted


def _resealed(msg, key, **changes) -> bytes:
    return encode(signing.sign(msgspec.structs.replace(msg, **changes), key))


def test_a_sequence_jump_to_2_62_is_refused_and_does_not_lock_the_sender_out(kr, adm, keys):
    next_good = _first_and_next(kr, adm)
    jump = _resealed(next_good.msg, keys["kr"], seq=2**62, msg_id="ab" * 16)
    verdict = _assert_rejected_then_recovers(adm, jump, "seq_jump", T0 + 2, next_good)
    assert str(2**62) in verdict.detail
    assert adm.last_seq["kr"] == next_good.msg.seq


def test_a_sequence_jump_at_first_contact_is_refused(kr, adm, keys):
    good = kr.seal(TrackReport, T0, to=("jp",), tracks=[track_state(0, T0)])
    jump = _resealed(good.msg, keys["kr"], seq=2**62, msg_id="ab" * 16)
    assert adm.admit(jump, SUBJECT, T0).reason == "seq_jump"
    assert adm.last_seq == {} and adm.admit(good.data, SUBJECT, T0).accepted


def test_a_sender_may_outrun_the_jump_limit_only_at_its_rate_over_the_time_between():
    lim = bounds.LIMITS
    assert bounds.seq_problem(10 + lim.max_seq_jump, 10, T0, T0) is None
    assert bounds.seq_problem(11 + lim.max_seq_jump, 10, T0, T0) is not None
    # A day offline (the receiver's window dropped the backlog as stale): the jump that follows is allowed.
    day = 86400.0
    assert bounds.seq_problem(10 + lim.max_seq_jump + int(lim.max_seq_rate_per_s * day), 10, T0, T0 + day) is None
    assert bounds.seq_problem(2**62, 10, T0, T0 + day) is not None


@pytest.mark.parametrize("ascii_json", [True, False], ids=["escaped", "utf8"])
def test_a_non_ascii_signature_is_a_counted_bad_signature_never_an_exception(ascii_json, kr, adm):
    next_good = _first_and_next(kr, adm)
    doc = json.loads(next_good.data)
    doc["sig"] = "é" * 88
    data = json.dumps(doc, ensure_ascii=ascii_json).encode()
    _assert_rejected_then_recovers(adm, data, "bad_signature", T0 + 2, next_good)


def test_verify_never_raises_on_a_non_ascii_signature(kr, keys):
    out = kr.seal(TrackReport, T0, to=("jp",), tracks=[track_state(0, T0)])
    bad = msgspec.structs.replace(out.msg, sig="ü" * 88)
    assert not signing.verify(bad, keys["kr"].verify_key)
    assert not signing.verify_wire(out.data.replace(out.msg.sig.encode(), "ü".encode() * 88), bad,
                                   keys["kr"].verify_key)


def test_admit_counts_an_unexpected_error_as_malformed(adm, monkeypatch, kr):
    next_good = _first_and_next(kr, adm)

    def boom(*_a, **_k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(bounds, "content_problem", boom)
    verdict = adm.admit(kr.seal(TrackReport, T0 + 1, to=("jp",), tracks=[track_state(0, T0 + 1)]).data, SUBJECT,
                        T0 + 1)
    assert verdict.reason == "malformed" and "RuntimeError" in verdict.detail
    assert adm.counters["malformed"] == 1
    monkeypatch.undo()
    assert adm.admit(next_good.data, SUBJECT, T0 + 2).accepted


def test_a_non_symmetric_covariance_is_refused():
    full = np.diag([1e4] * 3 + [25.0] * 3)
    assert bounds.covariance_problem(full) is None
    full[0, 3] = 100.0  # [3, 0] stays 0
    problem = bounds.covariance_problem(full)
    assert problem is not None and "not symmetric" in problem


def test_a_real_trackers_covariances_are_within_bounds():
    """Covariances as the tracker writes them (rounded, strongly correlated) pass: the check judges shape,
    not scale (values from `triwarn track` on tests/node/short_mrbm.yaml)."""
    cov = np.array([[23047.6361, -2380.5214, -28212.8404, 4397.9775, -179.5286, -5089.2082],
                    [-2380.5214, 58906.8709, -2457.4874, -209.9045, 10545.4583, -580.6586],
                    [-28212.8404, -2457.4874, 37840.1834, -5149.0679, -604.1755, 6835.7208],
                    [4397.9775, -209.9045, -5149.0679, 1384.7934, 75.0124, -1497.3213],
                    [-179.5286, 10545.4583, -604.1755, 75.0124, 3028.4113, -248.0072],
                    [-5089.2082, -580.6586, 6835.7208, -1497.3213, -248.0072, 1990.8519]])
    assert bounds.covariance_problem(cov) is None
    assert GOOD_COV == np.asarray(_full(GOOD_COV))[np.triu_indices(6)].tolist()


def _full(upper) -> np.ndarray:
    c = np.zeros((6, 6))
    c[np.triu_indices(6)] = upper
    return c + np.triu(c, 1).T


def test_restoring_state_skips_the_clock_but_not_the_content(kr, adm):
    old = kr.seal(TrackReport, T0, to=("jp",), tracks=[track_state(0, T0)])
    assert adm.restore(old.data, SUBJECT)  # a year later: restore has no clock window
    bad = kr.seal(TrackReport, T0, to=("jp",), tracks=[msgspec.structs.replace(track_state(1, T0),
                                                                               pos_ecef_m=[1e30, 0.0, 0.0])])
    assert not adm.restore(bad.data, SUBJECT)
    assert adm.counters["out_of_bounds"] == 0  # restoring never counts


# ------------------------------------------------------------------------------------------- the node


def _node() -> NationalNode:
    return NationalNode(NodeSettings("jp", exercise=None, run_id="tbounds", share=False), {})


def _picture(res) -> list[tuple]:
    tab = res.system_tracks
    return list(zip(tab.track_id.tolist(), np.round(tab.pos_ecef_m, 3).tolist(), strict=True))


@pytest.mark.parametrize("case", list(TRACK_CASES))
def test_a_node_fed_through_admission_keeps_its_picture(case, kr, adm):
    """The bad message goes to admission as a live node's would; whatever it decides is all the node sees:
    the node steps without raising and its system tracks equal those of a node that never saw it."""
    changes, _named = TRACK_CASES[case]
    node, control = _node(), _node()
    first = kr.seal(TrackReport, T0, to=("jp",), tracks=[track_state(0, T0)])
    bad = kr.seal(TrackReport, T0 + 1, to=("jp",),
                  tracks=[msgspec.structs.replace(track_state(0, T0 + 1), **changes)])
    verdict = adm.admit(first.data, SUBJECT, T0)
    for n in (node, control):
        n.ingest_message(verdict.msg)
        n.step(T0 + 0.5)
    verdict = adm.admit(bad.data, SUBJECT, T0 + 1)
    assert verdict.reason == "out_of_bounds" and verdict.msg is None  # nothing for the node to ingest
    for k in range(1, 4):
        assert _picture(node.step(T0 + k)) == _picture(control.step(T0 + k))


def test_a_future_stamped_partner_state_leaves_on_the_receivers_clock():
    """Defence in depth: a state stamped an hour ahead that got into the node anyway is expired by the age
    of its receipt (partner_max_age_s), not kept until its own time, and a truthful state follows."""
    spec_kr = Sender("kr", signing.new_key(), load_network())
    node = _node()
    ghost = spec_kr.seal(TrackReport, T0, tracks=[track_state(0, T0 + 3600.0)]).msg
    node.ingest_message(ghost)
    assert len(node.step(T0).system_tracks) == 1
    max_age = node.settings.partner_max_age_s
    res = node.step(T0 + max_age + 1.0)
    assert len(node._partners) == 0 and all(res.system_tracks.coasting)
    node.ingest_message(spec_kr.seal(TrackReport, T0 + max_age + 2.0,
                                     tracks=[track_state(0, T0 + max_age + 2.0)]).msg)
    assert len(node._partners) == 1


@pytest.mark.parametrize("changes", [{"pos_ecef_m": [1e30, 0.0, 0.0]}, {"vel_ecef_mps": [1e30, 0.0, 0.0]},
                                     {"cov_ecef": [0.0] * 21}, {"cov_ecef": [-1.0] * 21}],
                         ids=["position_1e30", "velocity_1e30", "zero_covariance", "negative_covariance"])
def test_a_node_given_absurd_tracks_directly_does_not_raise(changes):
    """Defence in depth: even past admission, fusion skips what it cannot use instead of stopping."""
    kr = Sender("kr", signing.new_key(), load_network())
    node = _node()
    node.ingest_message(kr.seal(TrackReport, T0, tracks=[track_state(0, T0)]).msg)
    node.step(T0)
    node.ingest_message(kr.seal(TrackReport, T0 + 1, tracks=[msgspec.structs.replace(track_state(1, T0 + 1),
                                                                                     **changes)]).msg)
    for k in range(1, 4):
        node.step(T0 + k)


# ----------------------------------------------------------------------------------- property: never raises

_any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
_big_float = st.one_of(_any_float, st.floats(min_value=-1e7, max_value=1e7))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=_big_float, pos=st.lists(_big_float, min_size=3, max_size=3), vel=st.lists(_big_float, min_size=3, max_size=3),
       cov=st.lists(_big_float, min_size=21, max_size=21), quality=_any_float, seq=st.integers(1, 2**63 - 1))
def test_admit_never_raises_on_random_track_content(spec, keys, trust, t, pos, vel, cov, quality, seq):
    adm = Admission("jp", spec, trust)
    state = TrackState(track_id="kr-1", t_unix_s=t, pos_ecef_m=pos, vel_ecef_mps=vel, cov_ecef=cov,
                       mode="ballistic", quality=quality, nations=["kr"])
    kr = Sender("kr", keys["kr"], spec, next_seq=seq)
    out = kr.seal(TrackReport, T0, to=("jp",), tracks=[state])
    verdict = adm.admit(out.data, SUBJECT, T0)
    assert verdict.accepted or verdict.reason in REJECT_REASONS
    assert sum(adm.counters.values()) == 1
    if verdict.accepted:
        assert bounds.content_problem(verdict.msg, T0, future_skew_s=5.0, max_age_s=900.0) is None


_KR = Sender("kr", signing.new_key(), load_network())
_var = st.sampled_from([-1.0, 0.0, 1e-8, 1e-2, 1.0, 25.0, 1e4, 1e8, 1e12, 1e13])


@settings(max_examples=300, deadline=None)
@given(t=st.floats(T0 - 1000.0, T0 + 1000.0), pos=st.lists(st.floats(-3e7, 3e7), min_size=3, max_size=3),
       vel=st.lists(st.floats(-9e3, 9e3), min_size=3, max_size=3), pos_var=_var, vel_var=_var,
       corr=st.floats(-1.5, 1.5))
def test_the_fast_check_and_the_described_check_agree(t, pos, vel, pos_var, vel_var, corr):
    """bounds checks every track in a few array operations and describes a failure separately: the two
    must judge alike, near every bound."""
    full = np.diag([pos_var] * 3 + [vel_var] * 3)
    full[0, 3] = full[3, 0] = corr * np.sqrt(abs(pos_var * vel_var))
    state = TrackState(track_id="kr-1", t_unix_s=t, pos_ecef_m=pos, vel_ecef_mps=vel,
                       cov_ecef=full[np.triu_indices(6)].tolist(), mode="ballistic", quality=0.5, nations=["kr"])
    msg = _KR.seal(TrackReport, T0, to=("jp",), tracks=[track_state(0, T0), state]).msg
    fast = bounds.content_problem(msg, T0, future_skew_s=5.0, max_age_s=900.0)
    described = bounds._track_detail(msg, T0, 5.0, 900.0, bounds.LIMITS)
    assert (fast is None) == (described is None), (fast, described)
