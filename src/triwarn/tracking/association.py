"""Gating and global-nearest-neighbour (GNN) assignment, vectorised over tracks and measurements.

Two gates: a coarse spatial one (a k-d tree on ECEF positions, one radius per track) that keeps the
pair count near linear, then the Mahalanobis gate on the exact innovation. GNN then solves a 2-D
assignment: pairs whose track and measurement meet no other candidate are taken as they are (the
common case); each remaining connected cluster is solved by `scipy.optimize.linear_sum_assignment`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

_NO_PAIR_COST = 1e12


def spatial_candidates(track_pos_ecef_m: NDArray, radius_m: NDArray, meas_pos_ecef_m: NDArray):
    """Candidate (track index, measurement index) pairs whose ECEF distance is within the track's radius.

    track_pos_ecef_m (N, 3), radius_m (N,), meas_pos_ecef_m (M, 3); returns two int arrays (K,).
    """
    empty = np.empty(0, np.intp)
    if len(track_pos_ecef_m) == 0 or len(meas_pos_ecef_m) == 0:
        return empty, empty
    tree_m = cKDTree(meas_pos_ecef_m)
    tree_t = cKDTree(track_pos_ecef_m)
    pairs = tree_t.sparse_distance_matrix(tree_m, float(np.max(radius_m)), output_type="ndarray")
    ti = pairs["i"].astype(np.intp)
    mj = pairs["j"].astype(np.intp)
    keep = pairs["v"] <= radius_m[ti]
    return ti[keep], mj[keep]


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
        graph = coo_matrix((np.ones(rt.size), (rt, n_tracks + rm)), shape=(n_tracks + n_meas,) * 2)
        _, label = connected_components(graph, directed=False)
        comp = label[rt]
        # A cluster with one track or one measurement (a star) is solved by its cheapest edge, all such
        # clusters at once; only clusters with several of each go to linear_sum_assignment one by one.
        n_comp = int(label.max()) + 1
        comp_t = np.bincount(label[:n_tracks][deg_t > 0], minlength=n_comp)
        comp_m = np.bincount(label[n_tracks:][deg_m > 0], minlength=n_comp)
        star = (comp_t[comp] == 1) | (comp_m[comp] == 1)
        if np.any(star):
            st, sm, sc, scomp = rt[star], rm[star], rc[star], comp[star]
            order = np.lexsort((sc, scomp))
            first = order[np.r_[True, np.diff(scomp[order]) != 0]]
            out_t.append(st[first])
            out_m.append(sm[first])
        rt, rm, rc, comp = rt[~star], rm[~star], rc[~star], comp[~star]
        order = np.argsort(comp, kind="stable")
        rt, rm, rc, comp = rt[order], rm[order], rc[order], comp[order]
        bounds = np.flatnonzero(np.diff(comp)) + 1
        for s, e in zip(np.r_[0, bounds], np.r_[bounds, comp.size], strict=True):
            if e <= s:
                continue
            tt, mm, cc = rt[s:e], rm[s:e], rc[s:e]
            ut, it = np.unique(tt, return_inverse=True)
            um, im = np.unique(mm, return_inverse=True)
            dense = np.full((ut.size, um.size), _NO_PAIR_COST)
            dense[it, im] = cc
            rows, cols = linear_sum_assignment(dense)
            ok = dense[rows, cols] < _NO_PAIR_COST
            out_t.append(ut[rows[ok]])
            out_m.append(um[cols[ok]])
    return np.concatenate(out_t), np.concatenate(out_m)
