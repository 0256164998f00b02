"""Gating and global-nearest-neighbour (GNN) assignment, vectorised over tracks and measurements.

Two gates: a coarse spatial one (ECEF distance within one radius per track, found through the
measurements sorted on x) that keeps the pair count near linear, then the Mahalanobis gate on the
exact innovation. GNN then solves a 2-D assignment: pairs whose track and measurement meet no other
candidate are taken as they are (the common case); star-shaped clusters take their cheapest edge; each
remaining connected cluster (found by union-find) is solved by `scipy.optimize.linear_sum_assignment`.
The per-frame loops are compiled with numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

_NO_PAIR_COST = 1e12
_ONE_SOLVE_MAX_CELLS = 250_000  # beyond this a dense matrix over all clusters costs more than a loop


@njit(cache=True, nogil=True)
def _pairs_within(track_pos: NDArray, radius: NDArray, meas_pos: NDArray) -> tuple[NDArray, NDArray]:
    # Measurements sorted on ECEF x: each track scans only those within its radius in x, then tests the
    # full distance. Per frame this is microseconds where building two k-d trees cost most of a millisecond.
    order = np.argsort(meas_pos[:, 0])
    xs = meas_pos[order, 0]
    n_t = track_pos.shape[0]
    lo = np.searchsorted(xs, track_pos[:, 0] - radius, side="left")
    hi = np.searchsorted(xs, track_pos[:, 0] + radius, side="right")
    total = 0
    for i in range(n_t):
        total += hi[i] - lo[i]
    ti = np.empty(total, np.intp)
    mj = np.empty(total, np.intp)
    k = 0
    for i in range(n_t):
        r2 = radius[i] * radius[i]
        for q in range(lo[i], hi[i]):
            m = order[q]
            dx = meas_pos[m, 0] - track_pos[i, 0]
            dy = meas_pos[m, 1] - track_pos[i, 1]
            dz = meas_pos[m, 2] - track_pos[i, 2]
            if dx * dx + dy * dy + dz * dz <= r2:
                ti[k] = i
                mj[k] = m
                k += 1
    return ti[:k], mj[:k]


def spatial_candidates(track_pos_ecef_m: NDArray, radius_m: NDArray, meas_pos_ecef_m: NDArray):
    """Candidate (track index, measurement index) pairs whose ECEF distance is within the track's radius.

    track_pos_ecef_m (N, 3), radius_m (N,), meas_pos_ecef_m (M, 3); returns two int arrays (K,).
    """
    empty = np.empty(0, np.intp)
    if len(track_pos_ecef_m) == 0 or len(meas_pos_ecef_m) == 0:
        return empty, empty
    return _pairs_within(np.ascontiguousarray(track_pos_ecef_m, float), np.ascontiguousarray(radius_m, float),
                         np.ascontiguousarray(meas_pos_ecef_m, float))


@njit(cache=True, nogil=True)
def _clusters(rt: NDArray, rm: NDArray, n_tracks: int, n_meas: int) -> tuple[NDArray, NDArray, NDArray]:
    """Connected clusters of a bipartite pair list by union-find (a few microseconds, where building a
    sparse graph for scipy costs a millisecond per call).

    Returns each pair's cluster (0..C-1) and each cluster's numbers of distinct tracks and measurements.
    """
    parent = np.arange(n_tracks + n_meas)
    for k in range(rt.size):
        a, b = rt[k], n_tracks + rm[k]
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        while parent[b] != b:
            parent[b] = parent[parent[b]]
            b = parent[b]
        if a != b:
            parent[max(a, b)] = min(a, b)
    label = np.full(n_tracks + n_meas, -1)
    n_comp = 0
    comp = np.empty(rt.size, np.int64)
    for k in range(rt.size):
        a = rt[k]
        while parent[a] != a:
            a = parent[a]
        if label[a] < 0:
            label[a] = n_comp
            n_comp += 1
        comp[k] = label[a]
    comp_t = np.zeros(n_comp, np.int64)
    comp_m = np.zeros(n_comp, np.int64)
    seen = np.zeros(n_tracks + n_meas, np.bool_)
    for k in range(rt.size):
        if not seen[rt[k]]:
            seen[rt[k]] = True
            comp_t[comp[k]] += 1
        if not seen[n_tracks + rm[k]]:
            seen[n_tracks + rm[k]] = True
            comp_m[comp[k]] += 1
    return comp, comp_t, comp_m


def _per_cluster(rt: NDArray, rm: NDArray, rc: NDArray, comp: NDArray) -> tuple[NDArray, NDArray]:
    """linear_sum_assignment on each cluster of pairs (track, measurement, cost, cluster) on its own."""
    order = np.argsort(comp, kind="stable")
    rt, rm, rc, comp = rt[order], rm[order], rc[order], comp[order]
    bounds = np.flatnonzero(np.diff(comp)) + 1
    out_t, out_m = [np.empty(0, np.intp)], [np.empty(0, np.intp)]
    for s, e in zip(np.r_[0, bounds], np.r_[bounds, comp.size], strict=True):
        ut, it = np.unique(rt[s:e], return_inverse=True)
        um, im = np.unique(rm[s:e], return_inverse=True)
        dense = np.full((ut.size, um.size), _NO_PAIR_COST)
        dense[it, im] = rc[s:e]
        rows, cols = linear_sum_assignment(dense)
        ok = dense[rows, cols] < _NO_PAIR_COST
        out_t.append(ut[rows[ok]])
        out_m.append(um[cols[ok]])
    return np.concatenate(out_t), np.concatenate(out_m)


def gnn_assign(ti: NDArray, mj: NDArray, cost: NDArray, n_tracks: int, n_meas: int) -> tuple[NDArray, NDArray]:
    """Minimum-cost one-to-one assignment over gated pairs (ti, mj, cost); unpaired items stay unpaired.

    Returns the chosen (track indices, measurement indices).
    """
    if ti.size == 0:
        return ti, mj
    deg_t = np.bincount(ti, minlength=n_tracks)
    deg_m = np.bincount(mj, minlength=n_meas)
    lone = (deg_t[ti] == 1) & (deg_m[mj] == 1)
    out_t = [ti[lone]]
    out_m = [mj[lone]]
    rest = ~lone
    if np.any(rest):
        rt, rm, rc = ti[rest], mj[rest], cost[rest]
        comp, comp_t, comp_m = _clusters(rt.astype(np.int64), rm.astype(np.int64), n_tracks, n_meas)
        # A cluster with one track or one measurement (a star) is solved by its cheapest edge, all such
        # clusters at once; clusters with several of each go to linear_sum_assignment.
        star = (comp_t[comp] == 1) | (comp_m[comp] == 1)
        if np.any(star):
            st, sm, sc, scomp = rt[star], rm[star], rc[star], comp[star]
            order = np.lexsort((sc, scomp))
            first = order[np.r_[True, np.diff(scomp[order]) != 0]]
            out_t.append(st[first])
            out_m.append(sm[first])
        rt, rm, rc, comp = rt[~star], rm[~star], rc[~star], comp[~star]
        if rt.size:
            ut, it = np.unique(rt, return_inverse=True)
            um, im = np.unique(rm, return_inverse=True)
            if ut.size * um.size <= _ONE_SOLVE_MAX_CELLS:
                # All remaining clusters in one solve: pairs across clusters are forbidden, so the optimum is
                # each cluster's own optimum (the cost of a forbidden pair outweighs any sum of real costs,
                # so the most real pairs are kept first, then the cheapest). One call instead of one per cluster.
                big = 1e3 + 2.0 * (ut.size + 1) * (float(np.max(np.abs(rc))) + 1.0)
                dense = np.full((ut.size, um.size), big)
                dense[it, im] = rc
                allowed = np.zeros(dense.shape, bool)
                allowed[it, im] = True
                rows, cols = linear_sum_assignment(dense)
                ok = allowed[rows, cols]
                out_t.append(ut[rows[ok]])
                out_m.append(um[cols[ok]])
            else:
                t_sel, m_sel = _per_cluster(rt, rm, rc, comp)
                out_t.append(t_sel)
                out_m.append(m_sel)
    return np.concatenate(out_t), np.concatenate(out_m)
