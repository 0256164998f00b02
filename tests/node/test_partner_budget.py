"""Per-partner budgets (issue 16): one partner flooding its link cannot stall a node's step or delay the
other partners' messages; its own excess waits in order, and what grows stale while waiting is dropped
and counted."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from triwarn.node.core import NationalNode, NodeSettings
from triwarn.node.partner_budget import Budget, PartnerBudgets
from triwarn.share import signing
from triwarn.share.policy import load_network
from triwarn.share.schema import Heartbeat, ImpactReport, TrackReport, TrackState
from triwarn.share.sender import Sender

T0 = 1_700_000_000.0
COV = [1e4, 0.0, 0.0, 0.0, 0.0, 0.0, 1e4, 0.0, 0.0, 0.0, 0.0, 1e4, 0.0, 0.0, 0.0, 25.0, 0.0, 0.0, 25.0, 0.0, 25.0]
# Korea's tracks over the Sea of Japan, the flooding partner's far away over the Pacific (never fused).
KR_POS = [-3.1e6, 4.1e6, 3.9e6]
US_POS = [-5.5e6, -2.2e6, 2.3e6]


def _states(nation: str, ids, t: float, pos) -> list[TrackState]:
    return [TrackState(track_id=f"{nation}-{i}", t_unix_s=t, pos_ecef_m=[pos[0] + 1000.0 * i, *pos[1:]],
                       vel_ecef_mps=[1200.0, -300.0, 2000.0], cov_ecef=list(COV), mode="ballistic",
                       quality=0.9, nations=[nation]) for i in ids]


@pytest.fixture(scope="module")
def senders():
    spec = load_network()
    return {n: Sender(n, signing.new_key(), spec) for n in ("kr", "us")}


def _node(**budget) -> NationalNode:
    settings = replace(NodeSettings("jp", exercise=None, run_id="tbudget", share=False), **budget)
    return NationalNode(settings, {})


def _held_t(node: NationalNode, nation: str) -> dict[str, float]:
    parts = node._partners
    return {parts.track_id[k]: float(parts.t[k]) for k in np.flatnonzero(parts.used) if parts.nation[k] == nation}


def test_a_partner_at_100_times_its_rate_leaves_the_others_untouched(senders):
    """US sends 100 track reports per step instead of 1; Korea's single report per step still goes into the
    picture at once, every step, and US's go in at its budget, oldest first, none skipped."""
    node = _node(partner_msgs_per_step=8, partner_backlog_msgs=10_000)
    us_sent: list[float] = []
    for step in range(5):
        t = T0 + step
        for k in range(100):
            sent = t + k / 1000.0
            us_sent.append(sent)
            node.ingest_message(senders["us"].seal(TrackReport, sent, tracks=_states("us", range(3), sent,
                                                                                      US_POS)).msg)
            if k == 50:  # Korea's report arrives in the middle of the flood
                node.ingest_message(senders["kr"].seal(TrackReport, t, tracks=_states("kr", range(4), t,
                                                                                       KR_POS)).msg)
        node.step(t + 0.5)
        assert _held_t(node, "kr") == {f"kr-{i}": t for i in range(4)}  # Korea's newest, this very step
        applied_us = node.partner_budget_counts()["us"]["applied"]
        # 8 before the first step, then 8 a step: each step's window takes the oldest waiting first.
        assert applied_us == 8 * (step + 2)
        # US's picture moved on in order: its newest held state is the last one applied, none skipped.
        assert set(_held_t(node, "us").values()) == {us_sent[applied_us - 1]}
    counts = node.partner_budget_counts()
    assert counts["kr"] == {"applied": 5, "deferred": 0, "dropped_stale": 0, "dropped_overflow": 0,
                            "waiting": 0}
    assert counts["us"]["deferred"] == 500 - 8 and counts["us"]["waiting"] == 500 - 48
    assert counts["us"]["dropped_stale"] == counts["us"]["dropped_overflow"] == 0


def test_waiting_reports_that_grow_stale_are_dropped_and_counted(senders):
    node = _node(partner_msgs_per_step=4)
    max_age = node.settings.partner_max_age_s
    for k in range(40):
        node.ingest_message(senders["us"].seal(TrackReport, T0 + k / 100.0,
                                               tracks=_states("us", [0], T0 + k / 100.0, US_POS)).msg)
    node.step(T0 + 1.0)
    assert node.budgets.waiting() == {"us": 32}
    node.step(T0 + max_age + 1.0)  # everything waiting is now older than the picture keeps
    counts = node.partner_budget_counts()["us"]
    assert (counts["applied"], counts["dropped_stale"], counts["waiting"]) == (8, 32, 0)


def test_a_backlog_past_its_limit_drops_its_oldest(senders):
    node = _node(partner_msgs_per_step=2, partner_backlog_msgs=5)
    reports = [senders["us"].seal(TrackReport, T0 + k, tracks=_states("us", [0], T0 + k, US_POS)).msg
               for k in range(10)]
    for msg in reports:
        node.ingest_message(msg)
    counts = node.partner_budget_counts()["us"]
    assert (counts["applied"], counts["deferred"], counts["dropped_overflow"], counts["waiting"]) == (2, 8, 3, 5)
    node.step(T0 + 10)
    assert _held_t(node, "us") == {"us-0": T0 + 6}  # reports 2-4 dropped; 5 and 6 applied in this step


def test_a_partner_cannot_hold_more_than_its_track_limit(senders):
    node = _node(partner_max_tracks=50)
    node.ingest_message(senders["kr"].seal(TrackReport, T0, tracks=_states("kr", range(3), T0, KR_POS)).msg)
    node.ingest_message(senders["us"].seal(TrackReport, T0, tracks=_states("us", range(1000), T0, US_POS)).msg)
    res = node.step(T0 + 0.5)
    assert len(_held_t(node, "us")) == 50 and len(_held_t(node, "kr")) == 3
    assert node.partner_budget_counts()["us"]["tracks_refused"] == 950
    assert len(res.system_tracks) == 53
    # Once the held tracks age out, new ones are taken again.
    t = T0 + node.settings.partner_max_age_s + 2.0
    node.step(t)
    node.ingest_message(senders["us"].seal(TrackReport, t, tracks=_states("us", range(900, 910), t, US_POS)).msg)
    node.step(t + 0.5)
    assert len(_held_t(node, "us")) == 10


def test_event_reports_count_against_the_budget_and_heartbeats_do_not(senders):
    node = _node(partner_msgs_per_step=2)
    for _ in range(5):
        node.ingest_message(senders["us"].seal(Heartbeat, T0, node_state="ok").msg)
    impacts = [senders["us"].seal(ImpactReport, T0, track_id=f"us-{k}", lat_deg=40.0, lon_deg=135.0,
                                  semi_major_m=1e4, semi_minor_m=5e3, bearing_deg=0.0, impact_t_unix_s=T0 + 300,
                                  impact_t_sigma_s=5.0, confidence=0.9).msg for k in range(3)]
    for msg in impacts:
        node.ingest_message(msg)
    assert len(node.partner_impacts()) == 2 and node.budgets.waiting() == {"us": 1}
    assert len(node.step(T0 + 1).partner_impacts) == 3


def test_one_message_larger_than_the_track_budget_still_goes_in():
    applied = []
    budgets = PartnerBudgets(Budget(msgs=4, tracks=10, backlog=4), applied.append)
    spec = load_network()
    big = Sender("kr", signing.new_key(), spec).seal(TrackReport, T0, tracks=_states("kr", range(30), T0,
                                                                                      KR_POS)).msg
    assert budgets.offer(big) and applied == [big]
    with pytest.raises(ValueError):
        Budget(msgs=0, tracks=1, backlog=1)
