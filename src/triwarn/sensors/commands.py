"""`triwarn simulate`: the command's work, called from triwarn.cli."""

from __future__ import annotations

import time
from pathlib import Path

from triwarn.errors import InputError
from triwarn.progress import ProgressLine


def run_simulate(scenario: Path, out: Path, seed: int = 0, quiet: bool = False) -> dict[str, float]:
    """Fly SCENARIO, run its sensors and write OUT/sensors.yaml, OUT/measurements.jsonl, OUT/truth.jsonl.

    Prints one summary line per file and returns the figures (counts and seconds) for benches. A progress
    line on stderr shows the stage (on a terminal only, never with quiet: triwarn.progress).
    """
    from triwarn.sensors.scenario import load_scenario
    from triwarn.sensors.simulate import fly_scenario, simulate
    from triwarn.sensors.writers import write_measurements, write_sensors, write_truth

    t0 = time.perf_counter()
    sc = load_scenario(scenario)
    bar = ProgressLine("simulate", total=3, enabled=False if quiet else None, status="flying the launches").start()
    try:
        paths = fly_scenario(sc)
        t_fly = time.perf_counter()
        bar.update(1, "running the sensors")
        result = simulate(sc, seed=seed, paths=paths)
        t_sim = time.perf_counter()
        bar.update(2, "writing the files")
        out = Path(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the output folder: {exc}", source=str(out)) from None
        write_sensors(out / "sensors.yaml", result.sensors)
        n_meas = write_measurements(out / "measurements.jsonl", result.measurements)
        n_truth = write_truth(out / "truth.jsonl", result.truth)
        bar.update(3, "done")
    finally:
        bar.stop()
    t_write = time.perf_counter()
    n_clutter = int((result.radar_object_idx < 0).sum())
    from triwarn.wording import plural

    print(f"{scenario}: {plural(len(sc.launches), 'launch')}, {plural(result.paths.n_objects, 'object')}, "
          f"{plural(len(result.sensors), 'sensor')}, seed {seed}")
    print(f"  {out / 'measurements.jsonl'}: {plural(n_meas, 'line')} ({len(result.measurements.radar)} radar, "
          f"{n_clutter} of them clutter; {len(result.measurements.ir)} infrared)")
    print(f"  {out / 'truth.jsonl'}: {plural(n_truth, 'line')}")
    print(f"  {out / 'sensors.yaml'}: {plural(len(result.sensors), 'sensor')}")
    print(f"  fly {t_fly - t0:.2f} s, sensors {t_sim - t_fly:.2f} s, write {t_write - t_sim:.2f} s")
    return {"objects": result.paths.n_objects, "measurements": n_meas, "truth": n_truth,
            "fly_s": t_fly - t0, "sensors_s": t_sim - t_fly, "write_s": t_write - t_sim}


def run_scenarios_list() -> list:
    """`triwarn scenarios list`: one block per bundled scenario (name; launches and sensors per nation;
    what it is about). Returns the ScenarioInfo records."""
    from triwarn.sensors.scenario import bundled_scenarios
    from triwarn.wording import plural

    infos = bundled_scenarios()
    width = max(len(i.name) for i in infos)
    for info in infos:
        sensors = ", ".join(f"{n} {nation}" for nation, n in info.sensors_by_nation.items())
        kind = "; exercise (faults, injects)" if info.exercise else ""
        print(f"{info.name:<{width}}  {plural(info.launches, 'launch')}; sensors: {sensors}{kind}")
        print(f"{'':<{width}}  {info.description}")
    print(f"\n{plural(len(infos), 'scenario')}; use a name wherever a scenario file goes, e.g. "
          f"`triwarn simulate {infos[0].name} --out rec`")
    return infos


def run_sensors_split(*, sensors: Path, measurements: Path | None, out: Path) -> dict[str, dict[str, int]]:
    """`triwarn sensors split`: OUT/sensors-NATION.yaml for each nation of the sensors file, and with
    measurements OUT/measurements-NATION.jsonl holding the lines of that nation's sensors, copied as they
    are. Lines of no sensor in the file (or unreadable ones) are left out and counted.

    Returns {nation: {"sensors": n, "lines": n}}.
    """
    import msgspec

    from triwarn.sensors.definitions import load_sensors
    from triwarn.sensors.writers import write_sensors
    from triwarn.wording import plural

    sensor_map = load_sensors(sensors)
    by_nation: dict[str, dict] = {}
    for sid, s in sensor_map.items():
        by_nation.setdefault(getattr(s, "nation", "?"), {})[sid] = s
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc}", source=str(out)) from None
    counts = {nation: {"sensors": len(own), "lines": 0} for nation, own in sorted(by_nation.items())}
    for nation, own in sorted(by_nation.items()):
        write_sensors(out / f"sensors-{nation}.yaml", own)
    if measurements is None:
        for nation, c in counts.items():
            print(f"{out / f'sensors-{nation}.yaml'}: {plural(c['sensors'], 'sensor')}")
        return counts
    nation_of = {sid: getattr(s, "nation", "?") for sid, s in sensor_map.items()}
    first_t: dict[str, float] = {}
    origin = None
    left_out = 0

    class _Head(msgspec.Struct):
        t: float | None = None
        sensor: str | int | None = None

    decoder = msgspec.json.Decoder(_Head)
    files = {nation: (out / f"measurements-{nation}.jsonl").open("wb") for nation in counts}
    try:
        try:
            src = Path(measurements).open("rb")
        except OSError as exc:
            raise InputError(f"cannot read measurements: {exc.strerror or exc}", source=str(measurements)) from None
        with src:
            for raw in src:
                if not raw.strip():
                    continue
                try:
                    head = decoder.decode(raw)
                except (msgspec.ValidationError, msgspec.DecodeError):
                    left_out += 1
                    continue
                nation = nation_of.get(str(head.sensor)) if head.sensor is not None else None
                if head.t is not None and (origin is None or head.t < origin):
                    origin = head.t
                if nation is None:
                    left_out += 1
                    continue
                files[nation].write(raw if raw.endswith(b"\n") else raw + b"\n")
                counts[nation]["lines"] += 1
                if head.t is not None and head.t < first_t.get(nation, float("inf")):
                    first_t[nation] = head.t
    finally:
        for fh in files.values():
            fh.close()
    for nation, c in counts.items():
        start = ""
        if nation in first_t and origin is not None and first_t[nation] > origin:
            start = f"; starts {first_t[nation] - origin:.0f} s after the whole recording"
        print(f"{out / f'sensors-{nation}.yaml'}: {plural(c['sensors'], 'sensor')}; "
              f"{out / f'measurements-{nation}.jsonl'}: {plural(c['lines'], 'line')}{start}")
    if left_out:
        print(f"{plural(left_out, 'line')} of {measurements} left out (no sensor of {sensors}, or unreadable)")
    return counts
