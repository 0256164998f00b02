"""Per-partner budgets: a JP node's step time while one partner floods at 100x its normal rate.

    .venv/bin/python bench/bench_budget.py               # 60 steps per case (about a minute)
    .venv/bin/python bench/bench_budget.py --steps 20

Each step a node (no sensors of its own) is handed what arrived since the last one, as NodeRunner.begin
does, and steps: Korea sends one track report of 10 tracks per step; the US normally the same. In the
flood the US sends 100 reports per step, either refreshing its same 10 tracks or (worse) naming 10 new
tracks in each report. Timed: ingest + step per step (wall s), with the budgets off (limits of 10^9) and
on (NodeSettings defaults), and whether Korea's newest states were in the picture at every step. Goal
(issue 16): with the budgets on, the step time under a flood stays that of the quiet case.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import numpy as np

from triwarn.node.core import NationalNode, NodeSettings
from triwarn.share import signing
from triwarn.share.policy import load_network
from triwarn.share.schema import TrackReport, TrackState
from triwarn.share.sender import Sender

T0 = 1_700_000_000.0
COV = [1e4, 0.0, 0.0, 100.0, 0.0, 0.0, 1e4, 0.0, 0.0, 100.0, 0.0, 1e4, 0.0, 0.0, 100.0,
       25.0, 0.0, 0.0, 25.0, 0.0, 25.0]
POS = {"kr": (-3.1e6, 4.1e6, 3.9e6), "us": (-5.5e6, -2.2e6, 2.3e6)}
OFF = {"partner_msgs_per_step": 10**9, "partner_tracks_per_step": 10**9, "partner_backlog_msgs": 10**9,
       "partner_max_tracks": 10**9}


def _report(sender: Sender, t: float, ids) -> TrackReport:
    x, y, z = POS[sender.nation]
    states = [TrackState(track_id=f"{sender.nation}-{i}", t_unix_s=t, pos_ecef_m=[x + 2000.0 * (i % 500), y,
                                                                                  z + 2000.0 * (i // 500)],
                         vel_ecef_mps=[1200.0, -300.0, 2000.0], cov_ecef=list(COV), mode="ballistic",
                         quality=0.9, nations=[sender.nation]) for i in ids]
    return sender.seal(TrackReport, t, tracks=states).msg


def run(case: str, budgets: bool, steps: int, senders, max_s: float = 120.0) -> tuple[list[float], bool, int]:
    """Step times (s), whether Korea's newest states were held at every step, US tracks held at the end.
    Stops early once the case has taken max_s."""
    settings = NodeSettings("jp", exercise=None, run_id="bench", share=False)
    node = NationalNode(settings if budgets else replace(settings, **OFF), {})
    times, kr_current = [], True
    next_id = 10
    for s in range(steps):
        t = T0 + s
        arrived = [_report(senders["kr"], t, range(10))]
        if case == "quiet":
            arrived.append(_report(senders["us"], t, range(10)))
        else:
            for k in range(100):
                if case == "flood_same_ids":
                    ids = range(10)
                else:
                    ids, next_id = range(next_id, next_id + 10), next_id + 10
                arrived.append(_report(senders["us"], t + k / 1000.0, ids))
            arrived.insert(50, arrived.pop(0))  # Korea's report in the middle of the flood
        start = time.perf_counter()
        for msg in arrived:
            node.ingest_message(msg)
        node.step(t + 0.5)
        times.append(time.perf_counter() - start)
        parts = node._partners
        held = parts.t[np.flatnonzero(parts.used & (parts.nation == "kr"))]
        kr_current &= len(held) == 10 and bool(np.all(held == t))
        if sum(times) > max_s:
            break
    return times, kr_current, int(node._partners.held["us"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--max-s", type=float, default=120.0, help="stop a case after this much step time")
    args = parser.parse_args()
    spec = load_network()
    senders = {n: Sender(n, signing.new_key(), spec) for n in ("kr", "us")}
    print(f"{'case':16s} {'budgets':8s} {'steps':>5s} {'median ms':>10s} {'p90 ms':>8s} {'max ms':>8s} "
          f"{'US tracks':>9s}  KR current every step")
    for case in ("quiet", "flood_same_ids", "flood_new_ids"):
        for budgets in (False, True):
            times, kr_current, us_held = run(case, budgets, args.steps, senders, args.max_s)
            ms = sorted(1e3 * x for x in times[min(5, len(times) - 1):])  # the first steps fill the picture
            p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
            print(f"{case:16s} {'on' if budgets else 'off':8s} {len(times):5d} {statistics.median(ms):10.2f} "
                  f"{p90:8.2f} {ms[-1]:8.2f} {us_held:9d}  {kr_current}", flush=True)


if __name__ == "__main__":
    main()
