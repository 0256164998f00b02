"""Timings of the trajectory solver and of fly(): every launch of the public record (the flight-time table).

Run: .venv/bin/python bench/bench_trajectory.py
Prints, per row: the solve time (cold cache), fly() at dt 1 s with the solve cached, fly() cold, the
solver's iterations and trajectory evaluations, and the flight time against the report.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import time
from pathlib import Path

from triwarn.physics.flight import fly
from triwarn.physics.solver import solve_launch

TABLE = Path(__file__).resolve().parent.parent / "tests" / "physics" / "test_flight_times.py"


def load_rows():
    spec = importlib.util.spec_from_file_location("flight_time_table", TABLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ROWS, module.spec_of


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> int:
    rows, spec_of = load_rows()
    print(f"{'launch':<11} {'class':<5} {'solve s':>8} {'fly s':>7} {'cold s':>7} {'it':>3} {'evals':>5} "
          f"{'samples':>8} {'flight s':>9} {'report s':>9} {'err %':>6}")
    solves, flies = [], []
    for row in rows:
        spec = spec_of(row)

        def solve(spec=spec):
            solve_launch.cache_clear()
            return solve_launch(spec)

        def cold(spec=spec):
            solve_launch.cache_clear()
            return fly(spec, dt_s=1.0)

        t_solve, sol = timed(solve)
        t_fly, flight = timed(lambda spec=spec: fly(spec, dt_s=1.0))
        t_cold, _ = timed(cold, repeat=1)
        solves.append(t_solve)
        flies.append(t_fly)
        n = sum(len(o.t_s) for o in flight.objects)
        err = 100.0 * (flight.flight_time_s / row[5] - 1.0)
        print(f"{row[0]:<11} {sol.missile_class.name:<5} {t_solve:8.3f} {t_fly:7.3f} {t_cold:7.3f} "
              f"{sol.iterations:3d} {sol.evaluations:5d} {n:8d} {flight.flight_time_s:9.1f} {row[5]:9d} "
              f"{err:+6.1f}")
    print(f"solve: median {statistics.median(solves):.3f} s, max {max(solves):.3f} s (requirement: < 2 s)")
    print(f"fly at dt 1 s (solve cached): median {statistics.median(flies):.3f} s, max {max(flies):.3f} s")
    return 0 if max(solves) < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
