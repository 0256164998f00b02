"""The fused picture: national tracks in, system tracks with stable ids out.

Each call of Fuser.update(t, tables) (national track tables: own and partners', triwarn.records.tracks)
does, for all tracks at once:
1. predicts every national track and every live system track to t with the flight model (cubature
   points through J2 free flight, plus process noise that is large while an object is boosting);
2. keeps each national track on the system track it fed before while it stays inside a wider gate (so ids
   survive hand-overs: a system track lives on as long as any nation still reports it);
3. assigns the remaining national tracks, nation by nation, to system tracks that have no track of that
   nation yet (statistical distance with a model-mismatch allowance per mode, chi-square gate, 2-D
   assignment); one left over starts a new system track, which later nations in the same call may join;
4. merges system tracks of this call that hold disjoint nations' tracks of one object (inside the gate),
   keeping the older id, so a split made while the gate could not join them does not last;
5. fuses each system track's contributions by covariance intersection; a track seen by one nation alone
   is passed through as it is; decides the fused mode (powered or ballistic) by the mode rule
   (fusion/mode.py: the contributors' labels weighted by how well and how recently each sees the object,
   the fused track's own thrust estimate, and hysteresis);
6. coasts system tracks nobody reported (prediction only, `coasting` set) for up to max_coast_s, so a
   track that reappears after a gap, from the same nation or another, gets its old id back.

The class holds no clock and does no I/O: the caller gives the time and the tracks. It returns the
system tracks as one table (SystemTracks), sorted by id, which is also the state it predicts from next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from triwarn.fusion.associate import (
    GATE_D2,
    KEEP_GATE_D2,
    assign,
    distance_matrix,
    mismatch_cov,
    pair_distance2,
)
from triwarn.fusion.intersection import covariance_intersection
from triwarn.fusion.mode import AnyBoostRule, ModeMemory, ModeRule, Votes
from triwarn.fusion.predictor import Q_BALLISTIC_M2_S3, Q_BOOST_M2_S3, predict_states
from triwarn.records.tracks import MODE_BOOST, NationalTracks, SystemTracks


@dataclass
class _Contribution:
    nation: str
    track_id: str
    row: int  # in the call's national table
    state: np.ndarray  # predicted to the fusion time, (6,)
    cov: np.ndarray  # (6, 6)
    gate_cov: np.ndarray  # cov plus the mode's model-mismatch covariance, for gating only, (6, 6)


@dataclass
class Fuser:
    """Track-to-track fusion over nations. Times are unix seconds; states ECEF (m, m/s).

    gate_d2: chi-square gate on the 6-D statistical distance (track covariances plus the modes' mismatch
    allowance, see associate.py) for a new pair or a merge; keep_gate_d2: the wider gate an existing
    binding must leave before it is dropped; max_coast_s: how long a system track nobody
    reports is kept for re-association; id_prefix starts every system track id; mode_rule decides each
    system track's mode (ModeRule; AnyBoostRule is the former "boost while any nation says boost").
    """

    gate_d2: float = GATE_D2
    keep_gate_d2: float = KEEP_GATE_D2
    max_coast_s: float = 60.0
    id_prefix: str = "S"
    mode_rule: ModeRule | AnyBoostRule = field(default_factory=ModeRule)
    # The node's own nation: its contribution to each shared system track is kept (own_contributions), so
    # the assessment can hold the fused track's warnings to no later than the node's own data gives.
    own_nation: str | None = None
    _own: dict[str, tuple[np.ndarray, np.ndarray, bool]] = field(default_factory=dict, repr=False)
    _own_modes: dict[str, ModeMemory] = field(default_factory=dict, repr=False)
    _modes: dict[str, ModeMemory] = field(default_factory=dict, repr=False)
    _first_heard: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)
    _table: SystemTracks = field(default_factory=SystemTracks.empty, repr=False)
    _rows: dict[str, int] = field(default_factory=dict, repr=False)  # live system track id -> row of _table
    _bindings: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _next_id: int = field(default=1, repr=False)

    def update(self, t_unix_s: float, tables: NationalTracks | Sequence[NationalTracks]) -> SystemTracks:
        """Fuse the nations' latest tracks (one table or several: own and partners', each row naming its
        nation) at t_unix_s; return every live system track, sorted by id."""
        t = float(t_unix_s)
        nat = tables if isinstance(tables, NationalTracks) else NationalTracks.concat(tables)
        contribs = self._predict_national(t, nat)
        prior_ids, prior_state, prior_cov = self._predict_system(t)
        prior_gate_cov = prior_cov + mismatch_cov(self._table.boost)
        prior_index = {sid: i for i, sid in enumerate(prior_ids)}

        members: dict[str, list[_Contribution]] = {}
        free: list[_Contribution] = []
        # 2. Keep existing bindings that are still statistically consistent (with hysteresis).
        bound = [(c, self._bindings.get((c.nation, c.track_id))) for c in contribs]
        keep_idx = [i for i, (_c, sid) in enumerate(bound) if sid in prior_index]
        if keep_idx:
            rows = np.array([prior_index[bound[i][1]] for i in keep_idx])
            nat_state = np.stack([bound[i][0].state for i in keep_idx])
            nat_cov = np.stack([bound[i][0].gate_cov for i in keep_idx])
            d2 = pair_distance2(nat_state, nat_cov, prior_state[rows], prior_gate_cov[rows])
            stays = self._id_stays_with_majority(bound, keep_idx, d2 <= self.keep_gate_d2)
            for j, i in enumerate(keep_idx):
                c, sid = bound[i]
                if stays[j]:
                    members.setdefault(sid, []).append(c)
                else:
                    del self._bindings[(c.nation, c.track_id)]
                    free.append(c)
        kept = set(keep_idx)
        free.extend(c for i, (c, _sid) in enumerate(bound) if i not in kept)

        # 3. Assign the rest nation by nation; leftovers start system tracks.
        for nation in sorted({c.nation for c in free}):
            mine = [c for c in free if c.nation == nation]
            cand_ids = [sid for sid in (*prior_ids, *[s for s in members if s not in prior_index])
                        if not any(m.nation == nation for m in members.get(sid, ()))]
            matched: set[int] = set()
            if cand_ids:
                # A system track is gated on its prediction, or, if it was born in this call, on the
                # track that started it.
                gating = [(prior_state[prior_index[s]], prior_gate_cov[prior_index[s]]) if s in prior_index
                          else (members[s][0].state, members[s][0].gate_cov) for s in cand_ids]
                cand_state = np.stack([g[0] for g in gating])
                cand_cov = np.stack([g[1] for g in gating])
                cost = distance_matrix(np.stack([c.state for c in mine]), np.stack([c.gate_cov for c in mine]),
                                       cand_state, cand_cov, self.gate_d2)
                rows, cols = assign(cost)
                for r, k in zip(rows, cols, strict=True):
                    members.setdefault(cand_ids[k], []).append(mine[r])
                    self._bindings[(nation, mine[r].track_id)] = cand_ids[k]
                    matched.add(int(r))
            for r, c in enumerate(mine):
                if r not in matched:
                    sid = f"{self.id_prefix}{self._next_id}"
                    self._next_id += 1
                    members[sid] = [c]
                    self._bindings[(nation, c.track_id)] = sid

        # 4. Merge system tracks that hold one object under different nations' tracks.
        self._merge(members)
        fused = self._fuse(t, nat, members)
        coasted = self._coast(t, prior_ids, prior_state, prior_cov, members)
        table = SystemTracks.concat([fused, coasted])
        ids = table.track_id.tolist()
        order = sorted(range(len(ids)), key=lambda i: _id_order(ids[i]))
        if order != list(range(len(ids))):
            table = table.take(np.array(order, np.intp))
        self._table = table
        self._rows = table.index()
        live = set(self._rows)
        self._bindings = {key: sid for key, sid in self._bindings.items() if sid in live}
        self._first_heard = {key: t0 for key, t0 in self._first_heard.items() if key in self._bindings}
        return table

    def own_contributions(self) -> dict[str, tuple[np.ndarray, np.ndarray, bool]]:
        """Per system track fused from the own nation's track and at least one partner's, as of the last
        update: the own track's state (6,) and covariance (6, 6) predicted to the fusion time, and
        whether it is powered by the mode rule applied to the own track alone (what the node alone
        would decide). Empty without own_nation. What the node alone would have had for that object:
        the assessment uses it as a floor under the fused track's cut-off path (sharing never later)."""
        return self._own

    @property
    def tracks(self) -> SystemTracks:
        """The live system tracks as of the last update."""
        return self._table

    # -- steps -------------------------------------------------------------------------------------------

    def _predict_national(self, t: float, nat: NationalTracks) -> list[_Contribution]:
        if not len(nat):
            return []
        # Nation by nation (sorted), each nation's rows in their order.
        order = np.argsort(nat.nation.astype(str), kind="stable")
        dt = t - nat.t_unix_s[order]
        boost = nat.boost[order]
        q = np.where(boost, Q_BOOST_M2_S3, Q_BALLISTIC_M2_S3)
        pos, vel, cov = predict_states(nat.pos_ecef_m[order], nat.vel_ecef_mps[order], nat.cov_ecef_m2[order],
                                       dt, q)
        state = np.concatenate([pos, vel], axis=-1)
        gate_cov = cov + mismatch_cov(boost)
        nations, ids = nat.nation[order].tolist(), nat.track_id[order].tolist()
        return [_Contribution(nations[i], ids[i], int(r), state[i], cov[i], gate_cov[i])
                for i, r in enumerate(order.tolist())]

    def _id_stays_with_majority(self, bound, keep_idx: list[int], inside: np.ndarray) -> np.ndarray:
        """Which kept bindings stay on their system track (bool per keep_idx): those inside the keep gate,
        except where a system track's contributions fall apart into two groups and the larger one is
        outside the gate while agreeing among itself (pairwise inside the keep gate): then that group keeps
        the id and the smaller one leaves. Covariance intersection weights the most precise contribution
        most, so after a break-up (an exploding stage's pieces) the prior follows one nation's track even
        when two nations' tracks follow another piece; without this, those two would move to a younger
        system track and the object the node has followed all along would get a new id (whose warnings
        then start over: a piece's sea notice waited for its new track to be seen long enough, 26 s
        later than the node alone, 2023-08-24)."""
        stays = inside.copy()
        by_sid: dict[str, list[int]] = {}
        for j, i in enumerate(keep_idx):
            by_sid.setdefault(bound[i][1], []).append(j)
        for js in by_sid.values():
            out = [j for j in js if not inside[j]]
            if not 0 < len(js) - len(out) < len(out):
                continue  # no split (all in, or all out: the track's prior itself left), or not outnumbered
            group = [bound[keep_idx[j]][0] for j in out]
            a, b = np.triu_indices(len(group), 1)
            st, gc = np.stack([c.state for c in group]), np.stack([c.gate_cov for c in group])
            if np.all(pair_distance2(st[a], gc[a], st[b], gc[b]) <= self.keep_gate_d2):
                for j in js:
                    stays[j] = not inside[j]
        return stays

    def _merge(self, members: dict[str, list[_Contribution]]) -> None:
        """Join system tracks of this call whose nations do not overlap and whose estimates pass the gate.

        A split arises when one nation's track of an object starts (or leaves its binding) while the
        partners' system track is out of the gate, e.g. during boost; without this step the two system
        tracks would each keep their own binding for ever. Each system track is represented by its
        contribution with the smallest position covariance; candidate pairs are joined best-first, the
        older id surviving, and only while the joined nations stay disjoint (a nation that reports two
        tracks sees two objects). Bindings of the absorbed id move to the survivor.
        """
        sids = [s for s in members if members[s]]
        if len(sids) < 2:
            return
        reps = [min(members[s], key=lambda c: np.trace(c.cov[:3, :3])) for s in sids]
        state = np.stack([c.state for c in reps])
        gate_cov = np.stack([c.gate_cov for c in reps])
        d2 = distance_matrix(state, gate_cov, state, gate_cov, self.gate_d2)
        d2[np.tril_indices(len(sids))] = np.inf
        ia, ib = np.nonzero(np.isfinite(d2))
        if ia.size == 0:
            return
        root = {s: s for s in sids}

        def find(s: str) -> str:
            while root[s] != s:
                s = root[s]
            return s

        for k in np.argsort(d2[ia, ib], kind="stable"):
            a, b = find(sids[ia[k]]), find(sids[ib[k]])
            if a == b or {c.nation for c in members[a]} & {c.nation for c in members[b]}:
                continue
            keep, gone = sorted((a, b), key=_id_order)
            members[keep].extend(members.pop(gone))
            root[gone] = keep
            self._rows.pop(gone, None)
            self._modes.pop(gone, None)
            for key, sid in self._bindings.items():
                if sid == gone:
                    self._bindings[key] = keep

    def _predict_system(self, t: float):
        ids = self._table.track_id.tolist()
        if not ids:
            return ids, np.empty((0, 6)), np.empty((0, 6, 6))
        tab = self._table
        q = np.where(tab.boost, Q_BOOST_M2_S3, Q_BALLISTIC_M2_S3)
        pos, vel, cov = predict_states(tab.pos_ecef_m, tab.vel_ecef_mps, tab.cov_ecef_m2, t - tab.t_unix_s, q)
        return ids, np.concatenate([pos, vel], axis=-1), cov

    def _fuse(self, t: float, nat: NationalTracks, members: dict[str, list[_Contribution]]) -> SystemTracks:
        if not members:
            return SystemTracks.empty()
        sids = list(members)
        n, k = len(sids), max(len(v) for v in members.values())
        means = np.zeros((n, k, 6))
        covs = np.broadcast_to(np.eye(6), (n, k, 6, 6)).copy()
        present = np.zeros((n, k), bool)
        rows = np.zeros((n, k), np.intp)
        seen = np.zeros((n, k))
        for i, sid in enumerate(sids):
            for j, c in enumerate(members[sid]):
                means[i, j], covs[i, j], present[i, j], rows[i, j] = c.state, c.cov, True, c.row
                seen[i, j] = t - self._first_heard.setdefault((c.nation, c.track_id), t)
        mean, cov, _w = covariance_intersection(means, covs, present)
        label_boost = nat.boost[rows] & present
        p_boost = np.where(present, nat.boost_probability[rows], np.nan)
        age = np.where(present, t - nat.t_unix_s[rows], 0.0)
        nat_quality = nat.quality[rows]
        quality = np.where(present & np.isfinite(nat_quality), nat_quality, 1.0)
        memories, p_vote, thrust = self.mode_rule.decide(
            t, [self._modes.get(sid) for sid in sids], Votes(present, label_boost, p_boost, covs, age, quality, seen),
            mean[:, :3], mean[:, 3:], cov)
        given = present & np.isfinite(nat_quality)
        best_quality = np.where(given.any(axis=1), np.max(np.where(given, nat_quality, -np.inf), axis=1), np.nan)
        first_seen = np.minimum(t, np.min(np.where(present, nat.t_unix_s[rows], np.inf), axis=1))
        n_updates = np.ones(n, np.int64)
        old = self._table
        self._own = self._own_view(t, nat, sids, members, seen) if self.own_nation is not None else {}
        for i, sid in enumerate(sids):
            self._modes[sid] = memories[i]
            r = self._rows.get(sid)
            if r is not None:
                first_seen[i] = old.first_seen_unix_s[r]
                n_updates[i] = old.n_updates[r] + 1
        return SystemTracks(
            track_id=np.array(sids, dtype=object), t_unix_s=np.full(n, t), pos_ecef_m=mean[:, :3].copy(),
            vel_ecef_mps=mean[:, 3:].copy(), cov_ecef_m2=cov,
            boost=np.array([m.mode == MODE_BOOST for m in memories], bool),
            nations=[tuple(sorted({c.nation for c in members[sid]})) for sid in sids],
            sources=[tuple(sorted(f"{c.nation}:{c.track_id}" for c in members[sid])) for sid in sids],
            first_seen_unix_s=first_seen, last_update_unix_s=np.full(n, t), n_updates=n_updates,
            coasting=np.zeros(n, bool), quality=best_quality,
            boost_probability=np.asarray(p_vote, float), thrust_mps2=np.asarray(thrust, float),
        )

    def _own_view(self, t: float, nat: NationalTracks, sids: list[str], members, seen) -> dict:
        """The own contribution of each shared system track, with the mode the rule gives it on its own
        (a shadow of what the node alone would decide, memory kept per system track): the fused vote
        with the partners' say can keep a track powered (veto) while the node alone would already
        predict its impact, and that must not delay the node's alert."""
        rows = []
        for i, sid in enumerate(sids):
            mine = [j for j, c in enumerate(members[sid]) if c.nation == self.own_nation]
            if mine and len(members[sid]) > 1:
                rows.append((i, sid, members[sid][mine[0]], seen[i, mine[0]]))
        self._own_modes = {sid: m for sid, m in self._own_modes.items() if sid in set(sids)}
        if not rows:
            return {}
        r = np.array([c.row for _i, _s, c, _seen in rows])
        ok = np.ones((len(rows), 1), bool)
        q = np.where(np.isfinite(nat.quality[r]), nat.quality[r], 1.0)[:, None]
        cov = np.stack([c.cov for _i, _s, c, _seen in rows])
        votes = Votes(ok, nat.boost[r][:, None], nat.boost_probability[r][:, None], cov[:, None],
                      (t - nat.t_unix_s[r])[:, None], q, np.array([x for *_a, x in rows])[:, None])
        state = np.stack([c.state for _i, _s, c, _seen in rows])
        memories, _p, _a = self.mode_rule.decide(t, [self._own_modes.get(sid) for _i, sid, _c, _x in rows], votes,
                                                 state[:, :3], state[:, 3:], cov)
        out = {}
        for (_i, sid, c, _x), mem in zip(rows, memories, strict=True):
            self._own_modes[sid] = mem
            out[sid] = (c.state, c.cov, mem.mode == MODE_BOOST)
        return out

    def _coast(self, t, prior_ids, prior_state, prior_cov, members) -> SystemTracks:
        """The prior system tracks nobody reported now, predicted to t, while within max_coast_s."""
        keep = []
        old = self._table
        for i, sid in enumerate(prior_ids):
            if sid in members or sid not in self._rows:  # fused now, or merged into another track
                continue
            if t - old.last_update_unix_s[i] > self.max_coast_s:
                self._modes.pop(sid, None)
                continue
            keep.append(i)
        if not keep:
            return SystemTracks.empty()
        idx = np.array(keep, np.intp)
        out = old.take(idx)
        out.t_unix_s = np.full(len(idx), t)
        out.pos_ecef_m = prior_state[idx, :3].copy()
        out.vel_ecef_mps = prior_state[idx, 3:].copy()
        out.cov_ecef_m2 = prior_cov[idx]
        out.nations = _no_names(len(idx))
        out.sources = _no_names(len(idx))
        out.coasting = np.ones(len(idx), bool)
        return out


def _no_names(n: int) -> np.ndarray:
    out = np.empty(n, object)
    out.fill(())
    return out


def _id_order(sid: str) -> tuple[int, str]:
    digits = "".join(ch for ch in sid if ch.isdigit())
    return (int(digits) if digits else 0, sid)
