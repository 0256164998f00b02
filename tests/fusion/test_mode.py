"""The fused mode rule (fusion/mode.py): weighted vote, thrust test, hysteresis."""

import numpy as np

from triwarn.fusion.fuser import Fuser
from triwarn.fusion.mode import AnyBoostRule, ModeRule, contribution_weights, thrust_along_velocity, vote
from triwarn.physics.dynamics import ballistic_accel_ecef, propagate

from .test_fusion import T0, Object, _ballistic_state, _cov, national, tables


def _labelled(obj, track_id, t, mode, cov, t_report=None):
    """obj's noisy report made at t_report (default t) with the given label."""
    tr = obj.report(track_id, t if t_report is None else t_report, cov)
    tr.boost[:] = mode == "boost"
    return tr


def test_vote_weighs_by_position_information_recency_and_maturity():
    rule = ModeRule()
    good, poor = _cov(100.0, 50.0), _cov(1000.0, 50.0)  # position sigma 100 m against 1 km
    w = contribution_weights(np.stack([good, poor]), [0.0, 0.0], [1.0, 1.0], [30.0, 30.0], rule)
    assert np.isclose(w[0] / w[1], 100.0)  # det^(-1/3) of the position block: 1/sigma^2
    # Same sensor quality: a report 8 s old counts exp(-2) as much; a track heard for 2 s counts 2/10.
    w = contribution_weights(np.stack([good, good, good]), [0.0, 8.0, 0.0], [1.0, 1.0, 1.0], [30.0, 30.0, 2.0],
                             rule)
    assert np.allclose(w / w[0], [1.0, np.exp(-2.0), 0.2])
    p = vote([[0.9, 0.1, np.nan]], [[1.0, 3.0, 0.0]], [[True, True, False]])
    assert np.isclose(p[0], (0.9 + 0.3) / 4.0)
    assert np.isclose(vote([[0.9, 0.1]], [[0.0, 0.0]], [[True, True]])[0], 0.5)  # no weight: plain mean


def test_thrust_estimate_is_zero_in_free_flight_and_finds_added_thrust():
    p0, v0 = _ballistic_state(speed=3000.0, climb_deg=30.0)
    p1, v1 = propagate(p0[None], v0[None], 4.0, max_step_s=0.5)
    cov = np.eye(3)[None] * 4.0  # 2 m/s per axis at both ends
    a, s = thrust_along_velocity([4.0], p0[None], v0[None], cov, p1, v1, cov)
    assert abs(a[0]) < 0.05 and np.isclose(s[0], np.sqrt(8.0) / 4.0)
    # 20 m/s^2 along the velocity, integrated in small steps.
    p, v = p0.copy(), v0.copy()
    for _ in range(400):
        acc = ballistic_accel_ecef(p, v) + 20.0 * v / np.linalg.norm(v)
        p, v = p + v * 0.01 + 0.5 * acc * 1e-4, v + acc * 0.01
    a, _ = thrust_along_velocity([4.0], p0[None], v0[None], cov, p[None], v[None], cov)
    assert abs(a[0] - 20.0) < 0.5


def _run(rule, labels, cov, obj=None, stale_kr=None, kr_cov=None):
    """Feed one nation's reports of a free-flying object, one a second, with the given labels; return the
    fused modes. stale_kr: also a Korean report this many seconds old, labelled boost (covariance kr_cov)."""
    obj = obj or Object(*_ballistic_state(), seed=11)
    fuser = Fuser(mode_rule=rule)
    modes = []
    for k, label in enumerate(labels):
        t = T0 + k
        reports = {"JP": [_labelled(obj, "j1", t, label, cov)]}
        if stale_kr is not None:
            reports["KR"] = [_labelled(obj, "k1", t, "boost", kr_cov, t_report=t - stale_kr)]
        out = fuser.update(t, tables(reports))
        assert len(out) == 1
        modes.append(out.mode[0])
    return modes


def test_a_staging_flip_shorter_than_the_dwell_does_not_end_the_boost():
    """A tracker says ballistic for 3 s in mid-boost (as at staging): the fused track stays powered. The
    velocity covariance is wide, as in boost, so the thrust test decides nothing here."""
    labels = ["boost"] * 6 + ["ballistic"] * 3 + ["boost"] * 4
    wide = _cov(300.0, 60.0)
    assert _run(ModeRule(), labels, wide) == ["boost"] * len(labels)
    # The former rule passed the flip straight through.
    assert _run(AnyBoostRule(), labels, wide)[6:9] == ["ballistic"] * 3


def test_a_lasting_ballistic_vote_ends_the_boost_after_the_dwell():
    labels = ["boost"] * 6 + ["ballistic"] * 8
    modes = _run(ModeRule(dwell_s=4.0), labels, _cov(300.0, 60.0))
    assert modes[:10] == ["boost"] * 10  # ballistic votes at 6, 7, 8, 9: not yet 4 s
    assert modes[10:] == ["ballistic"] * 4


def test_free_flight_seen_in_the_fused_track_ends_the_boost_without_waiting():
    """With accurate velocities the fused track's own motion shows free flight: the first ballistic vote
    is enough."""
    labels = ["boost"] * 6 + ["ballistic"] * 3
    modes = _run(ModeRule(dwell_s=30.0), labels, _cov(50.0, 1.0))
    assert modes == ["boost"] * 6 + ["ballistic"] * 3


def test_a_stale_partner_boost_label_does_not_keep_a_coasting_object_powered():
    """Korea's report is 5 s old and still says boost; Japan's fresh one says ballistic. Korea's is the
    more accurate (150 m and 5 m/s against 300 m), so only its age should outweigh it: without the
    recency factor it wins the vote (about twice Japan's position information after prediction)."""
    labels = ["ballistic"] * 12
    jp, kr = _cov(300.0, 60.0), _cov(150.0, 5.0)
    assert _run(AnyBoostRule(), labels, jp, stale_kr=5.0, kr_cov=kr) == ["boost"] * 12
    assert _run(ModeRule(), labels, jp, stale_kr=5.0, kr_cov=kr) == ["ballistic"] * 12
    no_recency = _run(ModeRule(recency_s=1e9), labels, jp, stale_kr=5.0, kr_cov=kr)
    assert no_recency == ["boost"] * 12


def test_thrust_seen_in_the_fused_track_vetoes_ballistic_votes():
    """A boosting object (25 m/s^2 along its velocity) whose tracker says ballistic after 6 s: the fused
    track's own velocity change shows the thrust, so it stays powered however long the vote lasts."""
    p, v = _ballistic_state(alt_m=100e3, speed=2500.0, climb_deg=35.0)
    rng = np.random.default_rng(3)
    cov = _cov(30.0, 2.0)
    fuser = Fuser(mode_rule=ModeRule(dwell_s=2.0))
    modes = []
    for k in range(14):
        t = T0 + k
        e = rng.multivariate_normal(np.zeros(6), cov)
        tr = national("j1", t, p + e[:3], v + e[3:], cov, mode="boost" if k < 6 else "ballistic")
        out = fuser.update(t, tables({"JP": [tr]}))
        modes.append(out.mode[0])
        for _ in range(100):
            acc = ballistic_accel_ecef(p, v) + 25.0 * v / np.linalg.norm(v)
            p, v = p + v * 0.01 + 0.5 * acc * 1e-4, v + acc * 0.01
    assert modes == ["boost"] * 14
    assert abs(out.thrust_mps2[0] - 25.0) < 5.0


def test_a_ballistic_track_turns_powered_at_once_when_the_vote_says_boost():
    labels = ["ballistic"] * 3 + ["boost"] * 2
    assert _run(ModeRule(), labels, _cov(300.0, 60.0)) == ["ballistic"] * 3 + ["boost"] * 2


def test_a_fresh_mature_boost_label_vetoes_the_end_of_the_boost():
    """Korea's (more accurate) track says ballistic for 8 s while Japan's, heard for 12 s, says boost (as
    when Korea's track slides onto the separating stage): the fused track stays powered. Without the veto
    the vote, led by Korea's position information, ends the boost after the dwell."""
    obj = Object(*_ballistic_state(), seed=12)
    jp_cov, kr_cov = _cov(300.0, 60.0), _cov(150.0, 60.0)

    def modes(rule):
        fuser = Fuser(mode_rule=rule)
        out = []
        for k in range(20):
            t = T0 + k
            kr_label = "boost" if k < 12 else "ballistic"
            res = fuser.update(t, tables({"JP": [_labelled(obj, "j1", t, "boost", jp_cov)],
                                          "KR": [_labelled(obj, "k1", t, kr_label, kr_cov)]}))
            out.append((res.mode[0], res.boost_probability[0]))
        return out

    with_veto = modes(ModeRule())
    assert [m for m, _p in with_veto] == ["boost"] * 20
    assert all(p < 0.5 for _m, p in with_veto[12:])  # the vote alone says ballistic
    without = [m for m, _p in modes(ModeRule(veto_quality=2.0))]
    assert without[:16] == ["boost"] * 16 and without[16:] == ["ballistic"] * 4
