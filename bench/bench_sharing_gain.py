"""Never later: every nation's first shelter alert per area with sharing against the same nation alone,
on every bundled scenario and several seeds (issue 13's first goal).

Run: .venv/bin/python bench/bench_sharing_gain.py [--seeds 1 2 3] [--only NAME-PART ...] [--json FILE]

Each case is simulated once and run twice on the same detections with all nodes in this process
(triwarn.exercise.replay.run_in_process: the same sealing, signatures and admission as over NATS, no
servers): shared and alone, with the scenario's declared hazard zones in every node's policy (as in an
exercise: falls at sea told per falling piece, warn.fall_notice). Per (node, area) it prints the first
shelter alert and the first notice (an EEZ impact, or a piece's fall at sea: area "JP-47/sea") of both
runs (unix s) and the gains (alone - shared; negative: sharing made it later), and at the end every
negative gain of either kind and every area alerted alone but not shared, with whether the true object
crossed it. Goal: no negative gain, and no area on the true path alerted alone but not shared (one off
the path alerted alone only is a needless alert that sharing avoided).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from triwarn.exercise.metrics import truth_area_passages, truth_ground_tracks
from triwarn.exercise.replay import first_alerts, gain_rows, run_in_process
from triwarn.geo.areas import AreaIndex
from triwarn.sensors.scenario import load_scenario
from triwarn.sensors.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "src/triwarn/scenarios").glob("*.yaml"))


def with_zones(notice):
    """A node_hook giving every node's warning policy the scenario's declared zones (NodeSettings.hazard_notice
    does the same in exercises; run_in_process takes no zones)."""
    def hook(nodes) -> None:
        if notice is None:
            return
        for node in nodes.values():
            node.warner.policy = replace(node.warner.policy, hazard_notice=notice)
            node.warner.book.policy = node.warner.policy
    return hook


def run_case(path: Path, seed: int, areas) -> dict:
    sc = load_scenario(path)
    sim = simulate(sc, seed=seed)
    crossed = sorted({p["area"] for p in truth_area_passages(truth_ground_tracks(sim.paths), areas)
                      if p.get("zone") != "eez"})
    hook = with_zones(sc.hazard_notice)
    t0, c0 = time.perf_counter(), time.process_time()
    shared = first_alerts(run_in_process(sim.sensors, sim.measurements, share=True, areas=areas, node_hook=hook))
    t1, c1 = time.perf_counter(), time.process_time()
    alone = first_alerts(run_in_process(sim.sensors, sim.measurements, share=False, areas=areas, node_hook=hook))
    t2 = time.perf_counter()
    return {"rows": gain_rows(shared, alone), "wall_shared_s": t1 - t0, "wall_alone_s": t2 - t1,
            "cpu_shared_s": c1 - c0, "crossed": crossed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="+", help="scenarios whose file name contains one of these")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    areas = AreaIndex.load()
    paths = [p for p in SCENARIOS if not args.only or any(o in p.name for o in args.only)]
    later, later_notice, one_sided, one_sided_notice, results = [], [], [], [], {}
    for path in paths:
        for seed in args.seeds:
            r = run_case(path, seed, areas)
            results[f"{path.stem}/{seed}"] = r
            print(f"\n== {path.stem} seed {seed}: shared {r['wall_shared_s']:.1f} s wall"
                  f" ({r['cpu_shared_s']:.1f} s CPU, all three nodes), alone {r['wall_alone_s']:.1f} s wall")
            for g in r["rows"]:
                a, b = g["first_shelter_shared_unix_s"], g["first_shelter_alone_unix_s"]
                na, nb = g["first_notice_shared_unix_s"], g["first_notice_alone_unix_s"]
                if a is None and b is None and na is None and nb is None:
                    continue
                print(f"  {g['node']} {g['area']:10s} shelter {_when(a, b, g['gain_s'])}"
                      f"   notice {_when(na, nb, g['notice_gain_s'])}")
                if g["gain_s"] is not None and g["gain_s"] < 0:
                    later.append((path.stem, seed, g["node"], g["area"], g["gain_s"]))
                if g["notice_gain_s"] is not None and g["notice_gain_s"] < 0:
                    later_notice.append((path.stem, seed, g["node"], g["area"], g["notice_gain_s"]))
                if a is None and b is not None:
                    on_path = g["area"] in r["crossed"]
                    one_sided.append((path.stem, seed, g["node"], g["area"],
                                      "ON THE TRUE PATH" if on_path else "off the true path (needless alone)"))
                if na is None and nb is not None:
                    one_sided_notice.append((path.stem, seed, g["node"], g["area"]))
    print(f"\nsharing later than alone (shelter alerts): {len(later)}")
    for x in later:
        print("  ", *x)
    print(f"sharing later than alone (notices): {len(later_notice)}")
    for x in later_notice:
        print("  ", *x)
    print(f"alerted alone but not shared: {len(one_sided)}")
    for x in one_sided:
        print("  ", *x)
    print(f"noticed alone but not shared: {len(one_sided_notice)}")
    for x in one_sided_notice:
        print("  ", *x)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))


def _when(shared: float | None, alone: float | None, gain: float | None) -> str:
    """'shared S  alone A  gain G' (unix s; '-' where none)."""
    a, b = ("-" if x is None else f"{x:.0f}" for x in (shared, alone))
    return f"shared {a:>10s}  alone {b:>10s}  gain {'-' if gain is None else f'{gain:+.0f} s':>7s}"


if __name__ == "__main__":
    main()
