"""Never later: every nation's first shelter alert per area with sharing against the same nation alone,
on every bundled scenario and several seeds (issue 13's first goal).

Run: .venv/bin/python bench/bench_sharing_gain.py [--seeds 1 2 3] [--only NAME-PART ...] [--json FILE]

Each case is simulated once and run twice on the same detections with all nodes in this process
(triwarn.exercise.replay.run_in_process: the same sealing, signatures and admission as over NATS, no
servers): shared and alone. Per (node, area) it prints the first shelter alert of both runs (seconds
after the data's start) and the gain (alone - shared; negative: sharing made it later), and at the end
every negative gain and every area alerted alone but not shared, with whether the true object crossed
it. Goal: no negative gain, and no area on the true path alerted alone but not shared (one off the
path alerted alone only is a needless alert that sharing avoided).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from triwarn.exercise.metrics import truth_area_passages, truth_ground_tracks
from triwarn.exercise.replay import first_alerts, gain_rows, run_in_process
from triwarn.geo.areas import AreaIndex
from triwarn.sensors.scenario import load_scenario
from triwarn.sensors.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "src/triwarn/scenarios").glob("*.yaml"))


def run_case(path: Path, seed: int, areas) -> dict:
    sim = simulate(load_scenario(path), seed=seed)
    crossed = sorted({p["area"] for p in truth_area_passages(truth_ground_tracks(sim.paths), areas)
                      if p.get("zone") != "eez"})
    t0, c0 = time.perf_counter(), time.process_time()
    shared = first_alerts(run_in_process(sim.sensors, sim.measurements, share=True, areas=areas))
    t1, c1 = time.perf_counter(), time.process_time()
    alone = first_alerts(run_in_process(sim.sensors, sim.measurements, share=False, areas=areas))
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
    later, one_sided, results = [], [], {}
    for path in paths:
        for seed in args.seeds:
            r = run_case(path, seed, areas)
            results[f"{path.stem}/{seed}"] = r
            print(f"\n== {path.stem} seed {seed}: shared {r['wall_shared_s']:.1f} s wall"
                  f" ({r['cpu_shared_s']:.1f} s CPU, all three nodes), alone {r['wall_alone_s']:.1f} s wall")
            for g in r["rows"]:
                a, b = g["first_shelter_shared_unix_s"], g["first_shelter_alone_unix_s"]
                if a is None and b is None:
                    continue
                gain = "-" if g["gain_s"] is None else f"{g['gain_s']:+.0f} s"
                print(f"  {g['node']} {g['area']:6s} shared {'-' if a is None else f'{a:.0f}'}"
                      f"  alone {'-' if b is None else f'{b:.0f}'}  gain {gain}")
                if g["gain_s"] is not None and g["gain_s"] < 0:
                    later.append((path.stem, seed, g["node"], g["area"], g["gain_s"]))
                if a is None and b is not None:
                    on_path = g["area"] in r["crossed"]
                    one_sided.append((path.stem, seed, g["node"], g["area"],
                                      "ON THE TRUE PATH" if on_path else "off the true path (needless alone)"))
    print(f"\nsharing later than alone: {len(later)}")
    for x in later:
        print("  ", *x)
    print(f"alerted alone but not shared: {len(one_sided)}")
    for x in one_sided:
        print("  ", *x)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
