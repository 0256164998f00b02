"""`triwarn simulate`: the command's work, called from triwarn.cli."""

from __future__ import annotations

import time
from pathlib import Path

from triwarn.errors import InputError


def run_simulate(scenario: Path, out: Path, seed: int = 0) -> dict[str, float]:
    """Fly SCENARIO, run its sensors and write OUT/sensors.yaml, OUT/measurements.jsonl, OUT/truth.jsonl.

    Prints one summary line per file and returns the figures (counts and seconds) for benches.
    """
    from triwarn.sensors.scenario import load_scenario
    from triwarn.sensors.simulate import fly_scenario, simulate
    from triwarn.sensors.writers import write_measurements, write_sensors, write_truth

    t0 = time.perf_counter()
    sc = load_scenario(scenario)
    paths = fly_scenario(sc)
    t_fly = time.perf_counter()
    result = simulate(sc, seed=seed, paths=paths)
    t_sim = time.perf_counter()
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc}", source=str(out)) from None
    write_sensors(out / "sensors.yaml", result.sensors)
    n_meas = write_measurements(out / "measurements.jsonl", result.measurements)
    n_truth = write_truth(out / "truth.jsonl", result.truth)
    t_write = time.perf_counter()
    n_clutter = int((result.radar_object_idx < 0).sum())
    print(f"{scenario}: {len(sc.launches)} launches, {result.paths.n_objects} objects, "
          f"{len(result.sensors)} sensors, seed {seed}")
    print(f"  {out / 'measurements.jsonl'}: {n_meas} lines ({len(result.measurements.radar)} radar, "
          f"{n_clutter} of them clutter; {len(result.measurements.ir)} infrared)")
    print(f"  {out / 'truth.jsonl'}: {n_truth} lines")
    print(f"  {out / 'sensors.yaml'}: {len(result.sensors)} sensors")
    print(f"  fly {t_fly - t0:.2f} s, sensors {t_sim - t_fly:.2f} s, write {t_write - t_sim:.2f} s")
    return {"objects": result.paths.n_objects, "measurements": n_meas, "truth": n_truth,
            "fly_s": t_fly - t0, "sensors_s": t_sim - t_fly, "write_s": t_write - t_sim}
