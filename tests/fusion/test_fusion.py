import numpy as np
from scipy.stats import chi2

from triwarn.fusion.associate import GATE_D2, assign, distance_matrix, pair_distance2
from triwarn.fusion.fuser import Fuser
from triwarn.fusion.intersection import covariance_intersection, simplex_lattice
from triwarn.fusion.predictor import cubature_points, points_mean_cov, predict_states
from triwarn.geo.frames import enu_rotation, geodetic_to_ecef
from triwarn.physics.dynamics import propagate
from triwarn.records.tracks import MODE_BALLISTIC, MODE_BOOST, NationalTracks

T0 = 1_700_000_000.0


def _ballistic_state(lat_deg=40.0, lon_deg=133.0, alt_m=300e3, speed=4000.0, az_deg=90.0, climb_deg=10.0):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    az, el = np.radians(az_deg), np.radians(climb_deg)
    v_enu = speed * np.array([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])
    return geodetic_to_ecef(lat, lon, alt_m), enu_rotation(lat, lon).T @ v_enu


def _cov(pos_sigma=100.0, vel_sigma=5.0):
    return np.diag([pos_sigma**2] * 3 + [vel_sigma**2] * 3)


def national(track_id, t, pos, vel, cov, mode=MODE_BALLISTIC, quality=None, boost_probability=None):
    """A one-row national track table (the nation is set by `tables`)."""
    return NationalTracks([track_id], [t], [pos], [vel], [cov], boost=[mode == MODE_BOOST],
                          quality=quality, boost_probability=boost_probability)


def tables(by_nation):
    """{nation: [one-row tables]} -> the national tables Fuser.update takes, each row naming its nation."""
    out = []
    for nation, rows in by_nation.items():
        for r in rows:
            r.nation[:] = nation
            out.append(r)
    return out


class Object:
    """A free-flying truth object; report(t) gives a noisy national track at t."""

    def __init__(self, pos, vel, t0=T0, seed=0):
        self.pos, self.vel, self.t0 = pos, vel, t0
        self.rng = np.random.default_rng(seed)

    def state(self, t):
        p, v = propagate(self.pos[None], self.vel[None], [t - self.t0], max_step_s=2.0)
        return p[0], v[0]

    def report(self, track_id, t, cov=None):
        cov = _cov() if cov is None else cov
        p, v = self.state(t)
        e = self.rng.multivariate_normal(np.zeros(6), cov)
        return national(track_id, t, p + e[:3], v + e[3:], cov)


def test_cubature_points_keep_mean_and_covariance():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 6, 6))
    cov = a @ np.swapaxes(a, -1, -2)
    mean = rng.standard_normal((4, 6))
    m, c = points_mean_cov(cubature_points(mean, cov))
    assert np.allclose(m, mean) and np.allclose(c, cov)


def test_prediction_moves_states_along_the_flight_model():
    p, v = _ballistic_state()
    pp, vv, cc = predict_states(p[None], v[None], _cov()[None], [10.0])
    p_ref, v_ref = propagate(p[None], v[None], 10.0, max_step_s=1.0)
    assert np.linalg.norm(pp - p_ref) < 5.0 and np.linalg.norm(vv - v_ref) < 0.1
    assert np.trace(cc[0, :3, :3]) > np.trace(_cov()[:3, :3])  # velocity error spreads into position


def test_simplex_lattice_sums_to_one():
    g = simplex_lattice(3, 20)
    assert g.shape == (231, 3) and np.allclose(g.sum(axis=1), 1.0) and np.all(g >= 0)


def test_covariance_intersection_is_consistent_when_errors_are_correlated():
    """Two nations' errors share a common part (the same manoeuvre, shared data). Adding information as if
    independent is over-confident; CI stays consistent and is no worse than the better input."""
    rng = np.random.default_rng(3)
    n = 4000
    p1 = np.diag([200.0**2] * 3 + [4.0**2] * 3)
    p2 = np.diag([60.0 ** 2, 400.0 ** 2, 200.0 ** 2, 8.0 ** 2, 2.0 ** 2, 4.0 ** 2])
    common = 0.8  # share of each error that is common to both
    z = rng.standard_normal((n, 6))
    e1 = np.sqrt(common) * z @ np.linalg.cholesky(p1).T + np.sqrt(1 - common) * rng.standard_normal(
        (n, 6)) @ np.linalg.cholesky(p1).T
    e2 = np.sqrt(common) * z @ np.linalg.cholesky(p2).T + np.sqrt(1 - common) * rng.standard_normal(
        (n, 6)) @ np.linalg.cholesky(p2).T
    means = np.stack([e1, e2], axis=1)  # truth is zero
    covs = np.broadcast_to(np.stack([p1, p2]), (n, 2, 6, 6))
    fused, cov, w = covariance_intersection(means, covs)
    nees = np.einsum("ni,nij,nj->n", fused, np.linalg.inv(cov), fused).mean()
    assert nees <= chi2.ppf(0.99, 6 * n) / n  # not over-confident
    assert np.linalg.det(cov[0]) <= min(np.linalg.det(p1), np.linalg.det(p2))
    assert np.allclose(w.sum(axis=1), 1.0)
    # The naive independent fusion of the same data is over-confident.
    naive_cov = np.linalg.inv(np.linalg.inv(p1) + np.linalg.inv(p2))
    naive = np.einsum("ij,nj->ni", naive_cov, np.linalg.solve(p1, e1.T).T + np.linalg.solve(p2, e2.T).T)
    naive_nees = np.einsum("ni,ij,nj->n", naive, np.linalg.inv(naive_cov), naive).mean()
    assert naive_nees > chi2.ppf(0.999, 6 * n) / n


def test_single_estimate_passes_through_covariance_intersection():
    x = np.arange(6.0)[None, None]
    c = _cov()[None, None]
    m, cv, _ = covariance_intersection(np.concatenate([x, x], 1), np.concatenate([c, c], 1), [[True, False]])
    assert np.allclose(m[0], x[0, 0]) and np.allclose(cv[0], c[0, 0])


def test_assignment_respects_the_gate():
    xa = np.zeros((2, 6))
    xb = np.zeros((2, 6))
    xb[0, 0] = 50.0  # near a[0] and a[1]
    xb[1, 0] = 1e6  # far from both
    c = np.broadcast_to(_cov(), (2, 6, 6))
    d = distance_matrix(xa, c, xb, c)
    assert np.isfinite(d[:, 0]).all() and np.isinf(d[:, 1]).all()
    rows, cols = assign(d)
    assert len(rows) == 1 and cols[0] == 0


def test_two_nations_tracks_of_one_object_fuse_even_when_reported_at_different_times():
    obj = Object(*_ballistic_state(), seed=1)
    fuser = Fuser()
    for k in range(5):
        t = T0 + k
        # Korea's report is 0.7 s old: 2.8 km behind at 4 km/s, far outside a 100 m covariance unless
        # the fusion predicts it to the common time.
        out = fuser.update(t, tables({"JP": [obj.report("j1", t)], "KR": [obj.report("k9", t - 0.7)]}))
        assert len(out) == 1
        assert out.nations[0] == ("JP", "KR") and out.sources[0] == ("JP:j1", "KR:k9")
    p_true, _ = obj.state(T0 + 4)
    assert np.linalg.norm(out.pos_ecef_m[0] - p_true) < 500.0


def test_distinct_objects_stay_distinct_and_a_lone_nations_track_counts():
    a = Object(*_ballistic_state(), seed=2)
    b = Object(*_ballistic_state(lat_deg=40.5), seed=3)  # ~55 km north
    fuser = Fuser()
    out = fuser.update(T0, tables({"JP": [a.report("j1", T0), b.report("j2", T0)], "US": [b.report("u1", T0)]}))
    assert len(out) == 2
    by_src = {src: i for i, src in enumerate(out.sources.tolist())}
    assert ("JP:j1",) in by_src  # seen by Japan alone, still a system track
    assert ("JP:j2", "US:u1") in by_src


def test_system_track_id_is_stable_through_a_gap_and_a_hand_over():
    obj = Object(*_ballistic_state(), seed=4)
    fuser = Fuser(max_coast_s=60.0)
    ids = set()
    for k in range(10):
        out = fuser.update(T0 + k, tables({"KR": [obj.report("k1", T0 + k)]}))
        ids.add(out.track_id[0])
    # 20 s with no report: the track coasts.
    for k in range(10, 30):
        out = fuser.update(T0 + k, [])
        assert len(out) == 1 and out.coasting[0]
    # Japan picks the object up with its own track id: same system track.
    for k in range(30, 35):
        out = fuser.update(T0 + k, tables({"JP": [obj.report("j7", T0 + k)]}))
        assert len(out) == 1 and not out.coasting[0]
        ids.add(out.track_id[0])
    assert ids == {"S1"}
    assert out.nations[0] == ("JP",)
    # After more than max_coast_s of silence the track is dropped.
    assert len(fuser.update(T0 + 100, [])) == 0


def _lagging_report(obj, track_id, t, lag_m, lag_mps, pos_sigma, vel_sigma, mode=MODE_BOOST):
    """A tracker-like report of obj at t whose filter lags an unmodelled thrust: its position is lag_m and its
    velocity lag_mps behind the truth along the direction of flight, with a covariance that does not hold
    that bias (as a real filter's does not)."""
    p, v = obj.state(t)
    u = v / np.linalg.norm(v)
    return national(track_id, t, p - lag_m * u, v - lag_mps * u, _cov(pos_sigma, vel_sigma), mode=mode)


def test_two_nations_lagging_boost_tracks_of_one_object_become_one_system_track_and_stay_one():
    """Regression (issue 5): Korea's and Japan's tracks of one boosting warhead lag the thrust by different
    amounts, so the 6-D distance on their own covariances is far outside the gate while they are boosting.
    They must still be one system track, with Korea's (older) id, and stay one after burnout."""
    obj = Object(*_ballistic_state(speed=2500.0, climb_deg=40.0), seed=5)
    kr_lag, jp_lag = (900.0, 250.0), (-700.0, -220.0)  # (m, m/s): one behind, one ahead
    # Without the mismatch allowance this pair is far outside the gate: the test would pass vacuously
    # otherwise.
    kr0 = _lagging_report(obj, "k1", T0 + 2, *kr_lag, 300.0, 60.0)
    jp0 = _lagging_report(obj, "j1", T0 + 2, *jp_lag, 250.0, 50.0)
    d2_own = pair_distance2(np.r_[kr0.pos_ecef_m[0], kr0.vel_ecef_mps[0]], kr0.cov_ecef_m2[0],
                            np.r_[jp0.pos_ecef_m[0], jp0.vel_ecef_mps[0]], jp0.cov_ecef_m2[0])
    assert d2_own > 2 * GATE_D2
    fuser = Fuser()
    for k in range(20):
        t = T0 + k
        boosting = k < 8
        reports = {"KR": [_lagging_report(obj, "k1", t, *kr_lag, 300.0, 60.0) if boosting
                          else obj.report("k1", t)]}
        if k >= 2:  # Japan's radar picks the object up two seconds later
            reports["JP"] = [_lagging_report(obj, "j1", t, *jp_lag, 250.0, 50.0) if boosting
                             else obj.report("j1", t)]
        out = fuser.update(t, tables(reports))
        live = out.take(~out.coasting)
        assert live.track_id.tolist() == ["S1"], (k, list(zip(out.track_id, out.sources, strict=True)))
        if k >= 2:
            assert live.nations[0] == ("JP", "KR")


def test_split_system_tracks_of_one_object_are_merged_keeping_the_older_id():
    """Japan's first track of a boosting object lags it by more than any allowance (8 km, 900 m/s), so it
    starts a system track of its own; its filter then converges step by step, each step consistent with
    its own last state. Once the two system tracks agree they are merged; Korea's older id survives. A
    different object reported by Japan alone is not touched."""
    obj = Object(*_ballistic_state(speed=2500.0, climb_deg=40.0), seed=6)
    far = Object(*_ballistic_state(lat_deg=41.0, speed=2500.0, climb_deg=40.0), seed=7)  # ~110 km away
    jp_lags = [(8000.0, 900.0), (6500.0, 750.0), (5000.0, 600.0), (3500.0, 450.0), (2000.0, 300.0),
               (1000.0, 150.0), (0.0, 0.0), (0.0, 0.0)]
    fuser = Fuser()
    fuser.update(T0, tables({"KR": [_lagging_report(obj, "k1", T0, 0.0, 0.0, 300.0, 60.0)]}))
    for k, lag in enumerate(jp_lags, start=1):
        t = T0 + k
        out = fuser.update(t, tables({"KR": [_lagging_report(obj, "k1", t, 0.0, 0.0, 300.0, 60.0)],
                                      "JP": [_lagging_report(obj, "j1", t, *lag, 300.0, 60.0),
                                             _lagging_report(far, "j2", t, 0.0, 0.0, 300.0, 60.0)]}))
        if k == 1:
            assert len(out) == 3  # the split this test is about did happen
    live = out.take(~out.coasting)
    by_sources = dict(zip(live.sources.tolist(), live.track_id.tolist(), strict=True))
    assert by_sources == {("JP:j1", "KR:k1"): "S1", ("JP:j2",): "S3"}


def test_one_nations_two_close_tracks_are_never_merged():
    """Just after separation Korea resolves the warhead and the spent stage 1.5 km apart, both boosting,
    Japan sees only one of them: the mismatch allowance would gate all three together, but a nation that
    reports two tracks sees two objects, so they stay two system tracks."""
    warhead = Object(*_ballistic_state(speed=2500.0, climb_deg=40.0), seed=8)
    stage = Object(*_ballistic_state(lat_deg=40.0135, speed=2500.0, climb_deg=40.0), seed=9)
    fuser = Fuser()
    for k in range(6):
        t = T0 + k
        out = fuser.update(t, tables({
            "KR": [_lagging_report(warhead, "k1", t, 300.0, 80.0, 300.0, 60.0),
                   _lagging_report(stage, "k2", t, 300.0, 80.0, 300.0, 60.0)],
            "JP": [_lagging_report(warhead, "j1", t, -300.0, -80.0, 300.0, 60.0)],
        }))
        assert len(out) == 2
        assert all(sum(s.startswith("KR:") for s in sources) == 1 for sources in out.sources)


def test_own_contributions_hold_the_own_nations_state_of_shared_tracks_only():
    pos, vel = _ballistic_state()
    pos2, vel2 = _ballistic_state(lat_deg=38.0)
    for own_nation, expect in ((None, set()), ("jp", {"shared"})):
        fuser = Fuser(own_nation=own_nation)
        jp = national("J1", T0, pos, vel, _cov(), mode=MODE_BOOST)
        kr = national("K1", T0, pos + 50.0, vel + 1.0, _cov(200.0, 8.0))
        lone = national("J2", T0, pos2, vel2, _cov())
        out = fuser.update(T0, tables({"jp": [jp, lone], "kr": [kr]}))
        own = fuser.own_contributions()
        shared = [sid for sid, nations in zip(out.track_id, out.nations, strict=True) if len(nations) == 2]
        assert len(shared) == 1 and len(out) == 2
        assert {"shared" if sid in shared else sid for sid in own} == expect
        if own_nation:
            state, cov, boost = own[shared[0]]
            assert np.allclose(state, np.concatenate([pos, vel])) and boost  # jp's own, not the fused mean
            assert np.allclose(cov, _cov())


def test_the_own_view_keeps_the_own_tracks_mode_where_the_partners_veto_holds_the_fused_track_powered():
    pos, vel = _ballistic_state()
    fuser = Fuser(own_nation="jp")
    for k in range(15):  # both mature (maturity 10 s) before the own tracker turns ballistic
        t = T0 + k
        own_boost = k < 8
        jp = national("J1", t, pos + k * vel, vel, _cov(), mode=MODE_BOOST if own_boost else MODE_BALLISTIC,
                      boost_probability=[0.95 if own_boost else 0.02])
        kr = national("K1", t, pos + k * vel + 50.0, vel, _cov(), mode=MODE_BOOST, boost_probability=[0.95])
        out = fuser.update(t, tables({"jp": [jp], "kr": [kr]}))
    sid = out.track_id[0]
    assert bool(out.boost[0])  # Korea's fresh, mature "boost" vetoes the end of the boost
    assert fuser.own_contributions()[sid][2] is False  # alone, Japan's rule has let it go
