"""Warnings against truth, end to end (issue 6's goals): simulate, replay with sharing and without,
score the warnings of both runs against truth.jsonl.

Run: .venv/bin/python bench/bench_warn.py [--seed N] [--only aomori|guam] [--keep DIR]

Per scenario it prints: replay wall and CPU time (shared run, no-share run), and for the
shared and the no-share run: per area on the true path the shelter-alert lead time before the warhead
reaches it (goal >= 180 s) and, in the shared run, after the node first saw the missile (an area crossed
under 180 s after launch cannot have a 180 s lead: that figure is what physics allows), the delay from
the first trusted prediction over the threshold to the alert (goal <= 60 s), false alerts (shelter for
an area > 100 km from the true ground track and impact: goal none), other alerts off the path (within
100 km), wrong "passed", all-clears before the object passed, all-clear lag after the evidence (goal
<= 10 s; the evidence counts every object of the launch the node tracked on its own, see
triwarn_eval.scoring; negative: the all-clear came before it), and the sharing gain per area.
Definitions: triwarn_eval.scoring. The no-share run is a replay of its own (DIR/<case>-alone), so that
its tracks and events are scored too.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from triwarn.exercise.replay import gain_rows, replay
from triwarn.geo.areas import AreaIndex
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.truth_reader import read_truth
from triwarn.warn.policy import WarnPolicy
from triwarn_eval.scoring import (
    first_sightings,
    launch_paths,
    score_warnings,
    tracked_objects,
    warhead_path,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "aomori": ROOT / "src/triwarn/scenarios/2022-10-04-irbm-aomori.yaml",
    "guam": ROOT / "src/triwarn/scenarios/irbm-toward-guam.yaml",
}


def _print_score(label: str, sc: dict) -> None:
    print(f"  [{label}] flight {sc['flight_s']:.0f} s; areas on the true path: {len(sc['areas_on_path'])}")
    for a in sc["areas_on_path"]:
        shelter = "-" if a["shelter_after_launch_s"] is None else f"+{a['shelter_after_launch_s']:.1f} s"
        lead = "MISSED" if a["lead_s"] is None else f"{a['lead_s']:.1f} s"
        seen = "" if a.get("after_first_seen_s") is None else (
            f"  ({a['after_first_seen_s']:.0f} s after {a['node']} first saw it"
            f" at +{a['first_seen_after_launch_s']:.0f} s)")
        print(f"    {a['area']:6s} reached +{a['reach_after_launch_s']:6.1f} s  shelter {shelter:>9s}"
              f"  lead {lead}{seen}")
    print(f"    lead goal (>= 180 s everywhere) met: {sc['lead_goal_met']}  (min lead {sc['min_lead_s']})")
    print(f"    max delay prediction -> alert: {sc['max_delay_s']} s over {len(sc['alert_delays'])} alerts")
    print(f"    false alerts (> 100 km): {len(sc['false_alerts'])} {sc['false_alerts']}")
    print(f"    alerts off the path within 100 km: {len(sc['off_path_alerts'])} {sc['off_path_alerts']}")
    print(f"    wrong 'passed': {len(sc['wrong_passed'])} {sc['wrong_passed']}")
    print(f"    all-clear before the object passed: {len(sc['early_clear'])} {sc['early_clear']}")
    lags = ", ".join(f"{c['area']} {c['lag_s']:+.0f} s ({c['evidence_object']})" for c in sc["clear_lag"])
    print(f"    all-clear lag after evidence: max {sc['max_clear_lag_s']} s; {lags}")


def _score_run(out: Path, alerts: dict, truth, path, areas, *, with_seen: bool) -> dict:
    """Score one replay's alerts with its events and tracks (out/events.jsonl, out/tracks.jsonl)."""
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    tracks = [json.loads(line) for line in (out / "tracks.jsonl").read_text().splitlines()]
    seen = first_sightings(path, tracks) if with_seen else None
    # The launch's other objects each node tracked on its own: they too must be past an area (scoring).
    others = launch_paths(truth, path)
    tracked = tracked_objects([path, *others], tracks)
    companions = {n: [o for o in others if o.object_id in ids] for n, ids in tracked.items()}
    return score_warnings(path, alerts, events, areas, on_probability=WarnPolicy().on_probability,
                          first_seen=seen, companions=companions)


def run_one(name: str, scenario: Path, seed: int, work: Path, areas) -> dict:
    sim = work / f"{name}-sim"
    run_simulate(scenario, sim, seed=seed)
    out = work / f"{name}-replay"
    t0, c0 = time.perf_counter(), time.process_time()
    summary = replay(sim / "sensors.yaml", sim / "measurements.jsonl", out, share=True, step_s=1.0,
                     baseline=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # The no-share run on its own (the replay's in-process baseline writes no tracks or events to score).
    out_alone = work / f"{name}-alone"
    t0, c0 = time.perf_counter(), time.process_time()
    alone_summary = replay(sim / "sensors.yaml", sim / "measurements.jsonl", out_alone, share=False, step_s=1.0)
    wall_alone, cpu_alone = time.perf_counter() - t0, time.process_time() - c0
    gain = gain_rows(summary["alerts"], alone_summary["alerts"])
    truth = read_truth(sim / "truth.jsonl")
    path = warhead_path(truth)
    shared = _score_run(out, summary["alerts"], truth, path, areas, with_seen=True)
    alone = _score_run(out_alone, alone_summary["alerts"], truth, path, areas, with_seen=False)
    print(f"\n== {name}: {scenario.name} (seed {seed})")
    print(f"  replay wall / CPU time of this process (s): shared {wall:.1f} / {cpu:.1f}, no-share {wall_alone:.1f}"
          f" / {cpu_alone:.1f} (the shared run's partner nodes are other processes); "
          f"{summary['cap_messages']} CAP messages")
    _print_score("shared", shared)
    _print_score("no-share", alone)
    print("  sharing gain (first shelter alert, alone minus shared, s):")
    for g in gain:
        print(f"    {g['node']} {g['area']:6s} gain {g['gain_s']}")
    return {"wall_s": wall, "wall_no_share_s": wall_alone, "shared": shared, "no_share": alone,
            "sharing_gain": gain}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", choices=sorted(SCENARIOS))
    ap.add_argument("--keep", type=Path, help="keep the simulated data and replay outputs here")
    ap.add_argument("--json", type=Path, help="write all figures here")
    args = ap.parse_args()
    areas = AreaIndex.load()
    names = [args.only] if args.only else list(SCENARIOS)
    with tempfile.TemporaryDirectory(prefix="bench-warn-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = {n: run_one(n, SCENARIOS[n], args.seed, work, areas) for n in names}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
