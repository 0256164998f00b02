"""GOSPA on hand-computed cases, GNN assignment on small hand-made conflicts, the small-matrix inverse."""

import numpy as np
import pytest

from triwarn.tracking.association import gnn_assign, spatial_candidates
from triwarn_eval.gospa import gospa


def test_gospa_perfect_and_empty():
    x = np.array([[0.0, 0, 0], [100.0, 0, 0]])
    assert gospa(x, x).distance_m == 0.0
    # Two missed objects, no estimates: (c^p / 2 * 2)^(1/p) = c for p = 1.
    g = gospa(x, np.empty((0, 3)), c_m=10.0, p=1.0)
    assert (g.distance_m, g.missed, g.false) == (10.0, 2, 0)


def test_gospa_hand_computed_mix():
    truth = np.array([[0.0, 0, 0], [1000.0, 0, 0], [5000.0, 0, 0]])
    est = np.array([[3.0, 4, 0], [1000.0, 6, 8], [9000.0, 0, 0], [-50.0, 0, 0]])
    # c = 20, p = 1: pairs (0, 0) d=5 and (1, 1) d=10 localise; truth 2 is missed (4000 m from est 2),
    # est 2 and 3 are false (est 3 is 50 m from truth 0, but truth 0 is better paired with est 0).
    g = gospa(truth, est, c_m=20.0, p=1.0)
    assert g.localisation_m == pytest.approx(15.0)
    assert (g.missed, g.false, g.assigned) == (1, 2, 2)
    assert g.distance_m == pytest.approx(15.0 + 10.0 * 3)
    assert g.assigned_rmse_m == pytest.approx(np.sqrt((25 + 100) / 2))
    # p = 2: sqrt(5^2 + 10^2 + 20^2 / 2 * 3)
    assert gospa(truth, est, c_m=20.0, p=2.0).distance_m == pytest.approx(np.sqrt(25 + 100 + 600))


def test_gnn_takes_the_global_minimum_not_the_greedy_one():
    # Greedy would give track 0 measurement 0 (cost 1) and leave track 1 with cost 10;
    # the optimum is 0->1 (2) + 1->0 (2) = 4 < 1 + 10.
    ti = np.array([0, 0, 1, 2])
    mj = np.array([0, 1, 0, 2])
    cost = np.array([1.0, 2.0, 2.0, 0.5])
    t, m = gnn_assign(ti, mj, cost, n_tracks=3, n_meas=3)
    assert dict(zip(t.tolist(), m.tolist(), strict=True)) == {0: 1, 1: 0, 2: 2}


def test_spatial_candidates_use_each_tracks_radius():
    tracks = np.array([[0.0, 0, 0], [1000.0, 0, 0]])
    meas = np.array([[50.0, 0, 0], [1300.0, 0, 0], [5000.0, 0, 0]])
    ti, mj = spatial_candidates(tracks, np.array([100.0, 400.0]), meas)
    assert sorted(zip(ti.tolist(), mj.tolist(), strict=True)) == [(0, 0), (1, 1)]


def test_gnn_star_clusters_and_big_clusters_together():
    # Cluster A: one track, three measurements (cheapest wins). Cluster B: three tracks, one measurement.
    # Cluster C: 2 x 2 solved by the assignment. Track 9 and measurement 9 are alone.
    ti = np.array([0, 0, 0, 1, 2, 3, 4, 4, 5, 5, 9])
    mj = np.array([0, 1, 2, 3, 3, 3, 4, 5, 4, 5, 9])
    cost = np.array([5.0, 1.0, 3.0, 2.0, 0.5, 4.0, 1.0, 2.0, 1.5, 9.0, 0.1])
    t, m = gnn_assign(ti, mj, cost, n_tracks=10, n_meas=10)
    assert dict(zip(t.tolist(), m.tolist(), strict=True)) == {0: 1, 2: 3, 4: 5, 5: 4, 9: 9}


def test_small_inverse_matches_numpy():
    from triwarn.tracking.updater import small_inverse

    rng = np.random.default_rng(0)
    for m in (2, 3):
        a = rng.normal(size=(50, m, m))
        s = a @ np.swapaxes(a, -1, -2) + np.eye(m)
        inv, det = small_inverse(s)
        assert np.allclose(inv, np.linalg.inv(s)) and np.allclose(det, np.linalg.det(s))


def test_duplicates_and_lost_tracks_are_deleted():
    from triwarn.tracking.deletion import DeletionSettings, delete_duplicates, delete_lost
    from triwarn.tracking.models import STATE_DIM

    settings = DeletionSettings()
    base = np.r_[6_500_000.0, 0, 0, 0, 3000.0, 0, 0, 0, 0]
    x = np.stack([base, base + np.r_[20.0, 0, 0, 1.0, 0, 0, 0, 0, 0], base + np.r_[0, 0, 5000.0, 0, 0, 0, 0, 0, 0]])
    p = np.broadcast_to(np.diag([100.0**2] * 3 + [10.0**2] * 3 + [1.0] * 3), (3, STATE_DIM, STATE_DIM)).copy()
    # Tracks 0 and 1 are one object (20 m, 1 m/s apart): the lower-ranked goes; track 2 is 5 km away.
    assert delete_duplicates(x, p, np.array([5.0, 9.0, 1.0]), settings).tolist() == [True, False, False]
    # Unseen for 21 s above 30 km: stale. Below the ellipsoid: fallen. Fresh and high: kept.
    high = base.copy()
    low = base.copy()
    low[0] = 6_378_137.0 - 500.0
    lost = delete_lost(100.0, np.array([79.0, 99.0, 99.0]), np.stack([high, low, high]), p, settings)
    assert lost.tolist() == [True, True, False]


def test_spatial_candidates_and_nearest_within_equal_a_kd_tree():
    from scipy.spatial import cKDTree

    from triwarn.tracking.initiation import nearest_within

    rng = np.random.default_rng(4)
    tracks = rng.uniform(-50e3, 50e3, (300, 3))
    meas = rng.uniform(-50e3, 50e3, (200, 3))
    radius = rng.uniform(1e3, 2e4, 300)
    ti, mj = spatial_candidates(tracks, radius, meas)
    want = {(i, j) for i, near in enumerate(cKDTree(meas).query_ball_point(tracks, radius)) for j in near}
    assert set(zip(ti.tolist(), mj.tolist(), strict=True)) == want and len(ti) == len(want) > 100

    new_i, old_i, dist = nearest_within(tracks, meas, 3, 6e3)
    d_ref, j_ref = cKDTree(meas).query(tracks, k=3, distance_upper_bound=6e3)
    keep = np.isfinite(d_ref)
    np.testing.assert_array_equal(new_i, np.nonzero(keep)[0])
    np.testing.assert_array_equal(old_i, j_ref[keep])
    np.testing.assert_allclose(dist, d_ref[keep], rtol=1e-12)


def test_one_solve_over_all_clusters_equals_solving_each_cluster(monkeypatch):
    from triwarn.tracking import association

    rng = np.random.default_rng(11)
    # 40 clusters of 2-4 tracks and 1-4 measurements, each sparsely connected, unbalanced on purpose
    ti, mj = [], []
    t0 = m0 = 0
    for _ in range(40):
        nt, nm = rng.integers(2, 5), rng.integers(1, 5)
        for a in range(nt):
            for b in range(nm):
                if rng.random() < 0.6 or a == b:
                    ti.append(t0 + a)
                    mj.append(m0 + min(b, nm - 1))
        t0, m0 = t0 + nt, m0 + nm
    pairs = np.unique(np.stack([ti, mj], 1), axis=0)
    ti, mj = pairs[:, 0], pairs[:, 1]
    cost = rng.uniform(-5.0, 20.0, ti.size)
    one_t, one_m = gnn_assign(ti, mj, cost, t0, m0)
    monkeypatch.setattr(association, "_ONE_SOLVE_MAX_CELLS", 0)
    each_t, each_m = gnn_assign(ti, mj, cost, t0, m0)
    lookup = {(a, b): c for a, b, c in zip(ti.tolist(), mj.tolist(), cost.tolist(), strict=True)}
    assert sorted(zip(one_t.tolist(), one_m.tolist(), strict=True)) == sorted(
        zip(each_t.tolist(), each_m.tolist(), strict=True))
    assert len(set(one_t.tolist())) == len(one_t) and len(set(one_m.tolist())) == len(one_m)
    assert len(one_t) > 60 and all((a, b) in lookup for a, b in zip(one_t.tolist(), one_m.tolist(), strict=True))
