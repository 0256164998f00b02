"""Benchmark: triwarn's tracker against Stone Soup on the same `triwarn simulate` files.

    .venv/bin/python bench/bench_tracking.py [--sizes 1,10,50,200,1000] [--workdir DIR]
                                             [--stonesoup-max-detections 40000] [--q-jerk 0.01]

For each size (ballistic objects; SRBM-class launches each put up a warhead and a spent stage) it writes
a scenario, runs `triwarn simulate`, then runs each tracker in its own process (so peak memory is its
own) and prints: detections, measurements/s (CPU time of the tracking calls, reports excluded), mean
GOSPA (p = 1, c = 10 km, alpha = 2) and position RMSE of assigned pairs at each 1 s report tick,
mean false and missed counts per tick, and peak RSS. Stone Soup processes ~150-250 detections/s, so
it only runs where the file has at most --stonesoup-max-detections detections; skipped sizes are
marked. Set-up of both trackers: docs/tracking.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from tracking.runners import run_stonesoup, run_triwarn
from tracking.scenes import write_scenario
from tracking.scoring import score
from triwarn.sensors.truth_reader import read_truth

SIZES = {1: 2, 10: 2, 50: 2, 200: 4, 1000: 8}  # objects -> radars
CLUTTER_PER_SCAN = 1.0


def ensure_data(workdir: Path, n_objects: int, n_radars: int, seed: int) -> Path:
    """Simulate the scenario for this size once; later runs reuse the files."""
    folder = workdir / f"n{n_objects}-r{n_radars}-s{seed}"
    if (folder / "truth.jsonl").exists():
        return folder
    from triwarn.sensors.commands import run_simulate

    workdir.mkdir(parents=True, exist_ok=True)
    yaml_path = write_scenario(workdir / f"{folder.name}.yaml", max(1, n_objects // 2), n_radars,
                               CLUTTER_PER_SCAN)
    with redirect_stdout(StringIO()):
        run_simulate(yaml_path, folder, seed=seed)
    return folder


def one(which: str, folder: Path, q_jerk: float) -> dict:
    """Run one tracker on one folder (in this process) and return its figures."""
    if which == "triwarn":
        reports, stats = run_triwarn(folder)
    else:
        reports, stats = run_stonesoup(folder, q_jerk=q_jerk)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    sc = score(reports, read_truth(folder / "truth.jsonl"))
    return {"tracker": which, **stats, "meas_per_s": stats["detections"] / max(stats["cpu_s"], 1e-9),
            "peak_rss_mb": peak_mb, **sc.__dict__}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,10,50,200,1000")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/triwarn-bench"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stonesoup-max-detections", type=int, default=40_000)
    ap.add_argument("--q-jerk", type=float, default=0.01, help="Stone Soup CA jerk density (m^2/s^5)")
    ap.add_argument("--one", nargs=2, metavar=("TRACKER", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], Path(args.one[1]), args.q_jerk)))
        return
    head = (f"{'objects':>7} {'radars':>6} {'tracker':>9} {'detections':>10} {'meas/s':>9} {'GOSPA m':>8} "
            f"{'RMSE m':>7} {'false':>6} {'missed':>6} {'tracks':>6} {'RSS MB':>7}")
    print(head)
    for n in [int(s) for s in args.sizes.split(",")]:
        radars = SIZES.get(n, 8)
        folder = ensure_data(args.workdir, n, radars, args.seed)
        n_det = sum(1 for _ in open(folder / "measurements.jsonl", "rb"))
        for which in ("triwarn", "stonesoup"):
            if which == "stonesoup" and n_det > args.stonesoup_max_detections:
                print(f"{n:>7} {radars:>6} {'stonesoup':>9} {n_det:>10}  skipped: ~{n_det / 200 / 60:.0f} min "
                      f"at ~200 detections/s (raise --stonesoup-max-detections to run it)")
                continue
            # Stone Soup's figures do not depend on triwarn's code: reuse them when the file is unchanged.
            cache = args.workdir / f"{folder.name}.stonesoup-q{args.q_jerk:g}.json"
            if which == "stonesoup" and cache.exists():
                r = json.loads(cache.read_text())
            else:
                out = subprocess.run([sys.executable, __file__, "--one", which, str(folder), "--q-jerk",
                                      str(args.q_jerk)], capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if which == "stonesoup":
                    cache.write_text(json.dumps(r))
            print(f"{n:>7} {radars:>6} {which:>9} {r['detections']:>10} {r['meas_per_s']:>9.0f} "
                  f"{r['mean_gospa_m']:>8.0f} {r['rmse_m']:>7.1f} {r['mean_false']:>6.2f} {r['mean_missed']:>6.2f} "
                  f"{r['n_tracks']:>6} {r['peak_rss_mb']:>7.0f}", flush=True)
            if "jit_cpu_s" in r:
                print(f"{'':>7} {'':>6} {'':>9} loading the compiled kernels took {r['jit_cpu_s']:.1f} s CPU "
                      "(not in meas/s; ~25 s when numba compiles them after a fresh install)", flush=True)


if __name__ == "__main__":
    main()
