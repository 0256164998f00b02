"""Fusion never stops on one bad estimate: singular or non-finite inputs are left out and counted."""

from __future__ import annotations

import numpy as np
import pytest

from triwarn.fusion import intersection
from triwarn.fusion.associate import distance_matrix, pair_distance2
from triwarn.fusion.intersection import covariance_intersection


def _good(n_obj: int = 1):
    x = np.tile(np.array([6.4e6, 0.0, 0.0, 0.0, 2000.0, 0.0]), (n_obj, 1))
    c = np.tile(np.diag([1e4, 1e4, 1e4, 25.0, 25.0, 25.0]), (n_obj, 1, 1))
    return x, c


@pytest.mark.parametrize("bad", ["zero_cov", "nan_mean", "inf_cov", "huge_mean"])
def test_a_bad_estimate_is_left_out_and_counted(bad):
    x, c = _good()
    bx, bc = x.copy(), c.copy()
    if bad == "zero_cov":
        bc[:] = 0.0
    elif bad == "nan_mean":
        bx[0, 0] = np.nan
    elif bad == "inf_cov":
        bc[0, 0, 0] = np.inf
    elif bad == "huge_mean":
        bx[0, 0] = 1e30  # finite: used, but it must not raise
    before = sum(intersection.SKIPPED.values())
    means = np.stack([x, bx], axis=1)  # (1, 2, 6)
    covs = np.stack([c, bc], axis=1)
    mean, cov, w = covariance_intersection(means, covs)
    assert mean.shape == (1, 6) and cov.shape == (1, 6, 6)
    if bad != "huge_mean":
        np.testing.assert_allclose(mean[0], x[0])
        np.testing.assert_allclose(cov[0], c[0], rtol=1e-9)
        assert w[0].tolist() == [1.0, 0.0]
        assert sum(intersection.SKIPPED.values()) == before + 1


def test_other_objects_are_fused_as_before():
    x, c = _good(2)
    means = np.stack([x, x + 10.0], axis=1)
    covs = np.stack([c, c], axis=1)
    ref = covariance_intersection(means, covs)
    covs_bad = covs.copy()
    covs_bad[1, 1] = 0.0  # object 1's second estimate is unusable
    got = covariance_intersection(means, covs_bad)
    np.testing.assert_allclose(got[0][0], ref[0][0])
    np.testing.assert_allclose(got[0][1], x[1])


def test_an_object_with_no_usable_estimate_gets_its_first_back():
    x, _c = _good()
    means = np.stack([x, x], axis=1)
    covs = np.zeros((1, 2, 6, 6))
    mean, cov, w = covariance_intersection(means, covs)
    np.testing.assert_allclose(mean[0], x[0])
    assert np.all(cov[0] == 0.0) and w[0].tolist() == [1.0, 0.0]


def test_association_gives_a_singular_or_non_finite_pair_an_infinite_distance():
    x, c = _good(3)
    c[1] = 0.0
    x[2, 0] = np.nan
    d2 = pair_distance2(x, c, x, c)
    assert d2[0] == 0.0 and np.isinf(d2[1]) and np.isinf(d2[2])
    assert np.isinf(distance_matrix(x[1:2], c[1:2], x[1:2], c[1:2])).all()
