"""Scoring tracker output against truth.jsonl at each report tick: GOSPA, position RMSE, false/missed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from triwarn.sensors.truth_reader import TruthLog
from triwarn_eval.gospa import gospa

C_M = 10_000.0
P = 1.0


@dataclass
class Score:
    """Figures over all ticks. rmse_m: RMS distance of GOSPA-assigned pairs; false/missed: mean per tick,
    and track ids never assigned to any object / objects never assigned any track (while visible)."""

    ticks: int
    mean_gospa_m: float
    rmse_m: float
    mean_false: float
    mean_missed: float
    false_track_ids: int
    missed_objects: int
    n_tracks: int


def truth_at_ticks(truth: TruthLog, ticks: np.ndarray) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Truth positions (n, 3) and object indices per tick (samples on the tick, 1 ms tolerance)."""
    out = {}
    key = np.round(truth.t_unix_s, 3)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    for t in ticks.tolist():
        lo, hi = np.searchsorted(ks, round(t, 3), "left"), np.searchsorted(ks, round(t, 3), "right")
        rows = order[lo:hi]
        out[t] = (truth.pos_ecef_m[rows], truth.object_idx[rows])
    return out


def score(tracks: dict[float, tuple[list[str], np.ndarray]], truth: TruthLog, visible: dict[float, np.ndarray]
          | None = None) -> Score:
    """tracks: tick -> (track ids, positions (k, 3)). visible: tick -> bool mask over that tick's truth
    rows, the objects some sensor could see (others are left out of the score for both trackers)."""
    ticks = np.array(sorted(tracks))
    tru = truth_at_ticks(truth, ticks)
    g_sum, sq_sum, n_pairs = 0.0, 0.0, 0
    f_sum = m_sum = 0
    assigned_ids: set[str] = set()
    all_ids: set[str] = set()
    seen_obj: set[int] = set()
    hit_obj: set[int] = set()
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    for t in ticks.tolist():
        ids, est = tracks[t]
        x, obj = tru[t]
        if visible is not None:
            m = visible.get(t, np.zeros(len(x), bool))
            x, obj = x[m], obj[m]
        g = gospa(x, est, C_M, P)
        g_sum += g.distance_m
        f_sum += g.false
        m_sum += g.missed
        all_ids.update(ids)
        seen_obj.update(obj.tolist())
        if len(x) and len(est):
            d = cdist(x, est)
            r, c = linear_sum_assignment(np.minimum(d, C_M))
            ok = d[r, c] < C_M
            sq_sum += float(np.sum(d[r[ok], c[ok]] ** 2))
            n_pairs += int(ok.sum())
            assigned_ids.update(ids[j] for j in c[ok].tolist())
            hit_obj.update(obj[r[ok]].tolist())
    n = max(len(ticks), 1)
    return Score(len(ticks), g_sum / n, float(np.sqrt(sq_sum / n_pairs)) if n_pairs else float("nan"),
                 f_sum / n, m_sum / n, len(all_ids - assigned_ids), len(seen_obj - hit_obj), len(all_ids))


def read_tracks_jsonl(path) -> dict[float, tuple[list[str], np.ndarray]]:
    """tracks.jsonl -> tick -> (ids, positions)."""
    import msgspec

    acc: dict[float, list] = defaultdict(list)
    for line in open(path, "rb"):
        if line.strip():
            rec = msgspec.json.decode(line)
            acc[rec["t"]].append((rec["track"], rec["ecef_m"]))
    return {t: ([a for a, _ in v], np.array([b for _, b in v], float).reshape(-1, 3)) for t, v in acc.items()}
