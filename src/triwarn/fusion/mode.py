"""Powered or ballistic: the fused track's mode, from the nations' labels and the track's own motion.

Why not "boost while any nation says boost": the fused picture then waits for the slowest or stalest
nation, and a partner's report that is a few seconds old vetoes a fresh own "ballistic". Why not "the
most confident nation": every national tracker flips to ballistic for a second or more at staging (its
boost model expects the lower stage's thrust; the upper stage starts with less), and a point prediction
made then lies short of the true impact with a small, falsely reassuring ellipse.

The rule (ModeRule, vectorised over system tracks, one step per fusion call):

1. **Vote.** Each contribution k gives a boost probability p_k: the tracker's own (IMM) boost
   probability where the national track carries one, else `label_confidence` for a "boost" label and
   1 - label_confidence for "ballistic"; with `label_gates_probability` (off by default) a probability
   >= 0.5 under a "ballistic" label (the boost mode fitting re-entry drag: the tracker labels boost only
   when the specific force points forward) votes as the label. Its weight is how well and how recently
   that nation sees the object: w_k = I_k * exp(-age_k / recency_s) * quality_k * min(1, seen_k /
   maturity_s), where
   I_k = det(P_pos,k)^(-1/3) is the geometric mean of its position information, age_k the report's age
   at the fusion time and seen_k how long the fusion has been receiving that national track (at least
   1 s). The vote is P = sum w_k p_k / sum w_k.
   Position, not velocity, information: an IMM tracker's velocity covariance depends on its own mode
   hypothesis (the boost model's process noise is large), so velocity information would favour whoever
   says "ballistic" (2022-10-04 replay: the US track, first seen at T+64 s mid-boost and labelled
   ballistic from its prior, claimed up to 18 times Korea's velocity information and outvoted Korea's correct
   "boost" for 7 s). Maturity: a tracker's label in its first seconds is its prior, not evidence.
   Covariance-intersection weights are not used: they minimise the fused covariance and can give a
   contributor zero weight, although its mode evidence is still evidence.
2. **Thrust test.** From the fused track's own states (the newest and the latest one at least
   `window_s` older) the specific force along the velocity, a_T = u . ((v1 - v0)/dt - g_free), with
   g_free the mean free-flight acceleration (J2, Coriolis, centrifugal) at both ends, and its standard
   deviation from the two velocity covariances. Thrust is *confirmed* when a_T - k sigma > a_min, free
   flight is *confirmed* when a_T + k sigma < a_min (k = thrust_sigmas, a_min = thrust_floor_mps2).
3. **Veto.** A contributor that is fresh (age <= recency_s), mature (seen >= maturity_s), trusted
   (quality >= veto_quality) and says boost (p_k >= 0.5) vetoes the end of the boost. Without it, a
   system track that briefly joins a nation's track of the warhead with another nation's track of the
   just-separated stage (1-4 km apart, inside the boost gating allowance) took the stage's "ballistic"
   whenever that nation saw better (2022-10-04 replay, seed 3: Korea's track slid onto stage 1 at
   T+127 s while Japan's stayed on the boosting warhead, and the fused track gave six trusted point
   predictions 50 s before burnout). Only stale, young or failing tracks lose this say.
4. **Hysteresis** (asymmetric, erring towards "powered", which gives a corridor rather than a point):
   * boost -> ballistic only when the vote has said ballistic (P < 0.5), with no veto, for at least
     `dwell_s` without a break, or at once if the thrust test confirms free flight (and no veto);
     never while it confirms thrust;
   * ballistic -> boost as soon as the vote says boost (P >= 0.5), unless the thrust test confirms
     free flight (a lone tracker's boost blip on an object visibly coasting);
   * a new system track starts with its vote.

Times are unix seconds; states ECEF metres and m/s; accelerations m/s^2.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from triwarn.physics.dynamics import ballistic_accel_ecef
from triwarn.records.tracks import MODE_BALLISTIC, MODE_BOOST


@dataclass(frozen=True)
class ModeRule:
    """Parameters of the fused mode decision (see the module docstring).

    dwell_s: how long the vote must say ballistic before a boosting track is declared ballistic (covers
    the 1-4 s staging flips of the national trackers); recency_s: e-folding age of a report's vote
    weight; maturity_s: how long a national track must have been received before its label counts in
    full; label_confidence: boost probability of a bare "boost" label; window_s: span of the thrust
    estimate; thrust_floor_mps2 / thrust_sigmas: the thrust test's threshold and confidence;
    veto_quality: the least tracker quality that lets a fresh, mature "boost" veto the end of the boost;
    label_gates_probability: an IMM boost probability >= 0.5 under a "ballistic" label (re-entry drag)
    votes as the label.
    """

    dwell_s: float = 4.0
    recency_s: float = 4.0
    maturity_s: float = 10.0
    label_confidence: float = 0.9
    window_s: float = 4.0
    thrust_floor_mps2: float = 5.0
    thrust_sigmas: float = 3.0
    veto_quality: float = 0.5
    # Off by default (2026-12-08): on, it ends the re-entry "boost" held by an IMM probability under a
    # "ballistic" label (docs/fusion.md, "Re-entry drag and the boost vote"), but made Japan's sea notice
    # for a falling piece of the 2023-11-21 SLV (seed 1) 9 s later with sharing than alone (67 s later
    # than with it off).
    label_gates_probability: bool = False

    def decide(self, t_unix_s, memories, votes, pos_ecef_m, vel_ecef_mps, cov_ecef_m2):
        """See the module function decide."""
        return decide(self, t_unix_s, memories, votes, pos_ecef_m, vel_ecef_mps, cov_ecef_m2)


@dataclass(frozen=True)
class AnyBoostRule:
    """The former rule, kept for comparison in benchmarks: boost while any contributor's label says boost."""

    def decide(self, t_unix_s, memories, votes, pos_ecef_m, vel_ecef_mps, cov_ecef_m2):
        """Same signature and returns as ModeRule.decide; the vote is the share of boost labels."""
        boost = np.any(votes.label_boost & votes.present, axis=1)
        share = (votes.label_boost & votes.present).sum(axis=1) / np.maximum(votes.present.sum(axis=1), 1)
        out = []
        for mem, b in zip(memories, boost.tolist(), strict=True):
            mem = mem if mem is not None else ModeMemory(MODE_BALLISTIC)
            mem.mode = MODE_BOOST if b else MODE_BALLISTIC
            out.append(mem)
        return out, share, np.full(len(out), np.nan)


@dataclass
class ModeMemory:
    """What the rule remembers of one system track: its mode, since when the vote has said ballistic
    while it was boosting, and its recent fused states (t_unix_s, pos_ecef_m, vel_ecef_mps, vel cov)."""

    mode: str
    ballistic_vote_since_s: float | None = None
    states: deque = field(default_factory=deque)


def contribution_weights(
    cov_ecef_m2: ArrayLike, age_s: ArrayLike, quality: ArrayLike, seen_s: ArrayLike, rule: ModeRule
) -> NDArray[np.float64]:
    """Vote weights (...,) of contributions with covariances (..., 6, 6), report ages (s), qualities and
    times received (s): det(P_pos)^(-1/3) (1/m^2) * exp(-max(age, 0) / recency_s) * quality *
    min(1, max(seen, 1) / maturity_s). A singular position covariance gets weight 0.
    """
    pp = np.asarray(cov_ecef_m2, float)[..., :3, :3]
    sign, logdet = np.linalg.slogdet(pp)
    info = np.where(sign > 0, np.exp(-logdet / 3.0), 0.0)
    age = np.clip(np.asarray(age_s, float), 0.0, None)
    mature = np.clip(np.asarray(seen_s, float), 1.0, None) / rule.maturity_s
    return info * np.exp(-age / rule.recency_s) * np.asarray(quality, float) * np.clip(mature, 0.0, 1.0)


def vote(p_boost: ArrayLike, weights: ArrayLike, present: ArrayLike) -> NDArray[np.float64]:
    """Weighted boost probability (N,) from per-contribution probabilities and weights (N, K).

    Slots not present are ignored; a row whose weights are all zero gets the plain mean of its present
    probabilities.
    """
    p = np.asarray(p_boost, float)
    m = np.asarray(present, bool)
    w = np.where(m, np.asarray(weights, float), 0.0)
    total = w.sum(axis=1)
    plain = np.where(m, p, 0.0).sum(axis=1) / np.maximum(m.sum(axis=1), 1)
    weighted = np.where(m, w * p, 0.0).sum(axis=1) / np.where(total > 0, total, 1.0)
    return np.where(total > 0, weighted, plain)


def thrust_along_velocity(
    dt_s: ArrayLike,
    pos0_ecef_m: ArrayLike,
    vel0_ecef_mps: ArrayLike,
    vel0_cov: ArrayLike,
    pos1_ecef_m: ArrayLike,
    vel1_ecef_mps: ArrayLike,
    vel1_cov: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Specific force along the velocity (N,) in m/s^2 and its standard deviation, between two states.

    dt_s (N,) > 0 separates state 0 (pos (N, 3), vel (N, 3), vel covariance (N, 3, 3)) from state 1.
    The velocity change less the mean free-flight acceleration at both ends (no drag: above the air, or
    drag shows as a negative value, which is not thrust). The two covariances are treated as independent,
    which overstates the spread of a filter's consecutive estimates and so makes the test cautious.
    """
    dt = np.asarray(dt_s, float)
    p0, v0 = np.asarray(pos0_ecef_m, float), np.asarray(vel0_ecef_mps, float)
    p1, v1 = np.asarray(pos1_ecef_m, float), np.asarray(vel1_ecef_mps, float)
    free = 0.5 * (ballistic_accel_ecef(p0, v0) + ballistic_accel_ecef(p1, v1))
    u = v0 + v1
    u = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-6)
    accel = np.einsum("ni,ni->n", u, (v1 - v0) / dt[:, None] - free)
    var = np.einsum("ni,nij,nj->n", u, np.asarray(vel0_cov, float) + np.asarray(vel1_cov, float), u)
    return accel, np.sqrt(np.clip(var, 0.0, None)) / dt


@dataclass
class Votes:
    """The contributions of N system tracks, padded to K slots: present (N, K) marks real ones.

    label_boost (N, K): the national label says boost; p_boost (N, K): the national boost probability
    (NaN where the track carries none); cov (N, K, 6, 6); age_s (N, K): report age at the fusion time;
    quality (N, K): the tracker's quality (1 where none); seen_s (N, K): how long the fusion has been
    receiving that national track.
    """

    present: NDArray[np.bool_]
    label_boost: NDArray[np.bool_]
    p_boost: NDArray[np.float64]
    cov: NDArray[np.float64]
    age_s: NDArray[np.float64]
    quality: NDArray[np.float64]
    seen_s: NDArray[np.float64]


def decide(
    rule: ModeRule,
    t_unix_s: float,
    memories: list[ModeMemory | None],
    votes: Votes,
    pos_ecef_m: ArrayLike,
    vel_ecef_mps: ArrayLike,
    cov_ecef_m2: ArrayLike,
) -> tuple[list[ModeMemory], NDArray[np.float64], NDArray[np.float64]]:
    """One step of the rule for N fused tracks at t_unix_s.

    memories: each track's memory (None for a new track); votes: its contributions; pos/vel (N, 3) and
    cov (N, 6, 6) the fused states now. Returns the updated memories (mode in .mode), the vote (N,) and
    the thrust estimate (N,) in m/s^2 (NaN where the track has no state window_s old yet).
    """
    t = float(t_unix_s)
    p_label = np.where(votes.label_boost, rule.label_confidence, 1.0 - rule.label_confidence)
    # With label_gates_probability: a boost mode whose specific force points against the velocity is drag
    # (re-entry) and its tracker says ballistic (tracking.tracker.tracks_at); that label then votes, not
    # the probability (2017-08-29 seed 1: the US node's re-entering tracks, p 0.74-0.97 under a
    # "ballistic" label, held powered T+589-671 s).
    drag = (np.isfinite(votes.p_boost) & ~votes.label_boost & (votes.p_boost >= 0.5)
            & rule.label_gates_probability)
    p_each = np.where(np.isfinite(votes.p_boost) & ~drag, votes.p_boost, p_label)
    weights = contribution_weights(votes.cov, votes.age_s, votes.quality, votes.seen_s, rule)
    p_vote = vote(p_each, weights, votes.present)
    veto = np.any(votes.present & (p_each >= 0.5) & (votes.age_s <= rule.recency_s)
                  & (votes.seen_s >= rule.maturity_s) & (votes.quality >= rule.veto_quality), axis=1).tolist()
    pos, vel = np.asarray(pos_ecef_m, float), np.asarray(vel_ecef_mps, float)
    pvv = np.asarray(cov_ecef_m2, float)[:, 3:, 3:]
    n = len(memories)
    ref = [None] * n
    for i, mem in enumerate(memories):
        if mem is None:
            continue
        # Keep one state older than the window (the reference) and everything newer.
        while len(mem.states) >= 2 and t - mem.states[1][0] >= rule.window_s:
            mem.states.popleft()
        # After a gap (the track coasted) the mean of the end accelerations no longer stands for the
        # free flight in between: no estimate until a fresh window has filled.
        if mem.states and rule.window_s <= t - mem.states[0][0] <= 3.0 * rule.window_s:
            ref[i] = mem.states[0]
    accel = np.full(n, np.nan)
    sigma = np.full(n, np.nan)
    have = [i for i in range(n) if ref[i] is not None]
    if have:
        idx = np.array(have)
        a, s = thrust_along_velocity(
            np.array([t - ref[i][0] for i in have]), np.stack([ref[i][1] for i in have]),
            np.stack([ref[i][2] for i in have]), np.stack([ref[i][3] for i in have]),
            pos[idx], vel[idx], pvv[idx])
        accel[idx], sigma[idx] = a, s
    k, floor = rule.thrust_sigmas, rule.thrust_floor_mps2
    with np.errstate(invalid="ignore"):
        thrust = (accel - k * sigma > floor).tolist()
        coasting = (accel + k * sigma < floor).tolist()
    says_boost = (p_vote >= 0.5).tolist()
    out = []
    for i, mem in enumerate(memories):
        if mem is None:
            mem = ModeMemory(MODE_BOOST if says_boost[i] else MODE_BALLISTIC)
        elif mem.mode == MODE_BOOST:
            if says_boost[i] or thrust[i] or veto[i]:
                mem.ballistic_vote_since_s = None
            else:
                if mem.ballistic_vote_since_s is None:
                    mem.ballistic_vote_since_s = t
                if coasting[i] or t - mem.ballistic_vote_since_s >= rule.dwell_s:
                    mem.mode, mem.ballistic_vote_since_s = MODE_BALLISTIC, None
        elif says_boost[i] and not coasting[i]:
            mem.mode = MODE_BOOST
        mem.states.append((t, pos[i].copy(), vel[i].copy(), pvv[i].copy()))
        out.append(mem)
    return out, p_vote, accel
