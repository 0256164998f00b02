"""`triwarn exercise run`: a scenario played through the three national nodes over real NATS, with faults.

    plan = load_plan("scenario.yaml")            # launches, sensors, network faults, injects
    metrics = run_exercise(plan, Path("out"))    # or: await exercise_async(plan, out, hub=...)

Steps: fly the launches and run the sensors (triwarn.sensors.simulate, in memory; written to OUT as
sensors.yaml, measurements.jsonl and truth.jsonl, the measurements without what the injects removed),
remove the injects' detections, run one node per nation over a local NATS network on the simulated
clock (triwarn.node.lockstep: link latency, link and hub outages, clock offsets) at `speed` times real
time or as fast as possible, while the same detections run with each nation alone (the no-sharing
baseline) in a second process beside it, and write the replay outputs (tracks.jsonl, events.jsonl,
cap/, cot/, summary.json), metrics.json and report.html. Every node is configured with the exercise name, so every
CAP message is status Exercise.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from triwarn.errors import InputError
from triwarn.exercise.metrics import Recorder, exercise_metrics, truth_area_passages, truth_ground_tracks
from triwarn.exercise.plan import ExercisePlan, apply_injects
from triwarn.exercise.replay import (
    BaselineProcess,
    first_alerts,
    nations_with_sensors,
    run_outputs,
    run_shared,
    step_times,
)
from triwarn.geo.areas import AreaIndex
from triwarn.node.core import StepResult
from triwarn.node.lockstep import NodeFeed, RunLog
from triwarn.sensors.simulate import simulate
from triwarn.sensors.writers import write_measurements, write_sensors, write_truth
from triwarn.share.policy import load_network
from triwarn.warn.policy import new_run_id

OnStep = Callable[[str, StepResult], None]


@dataclass
class ExerciseOptions:
    """How to run: speed (sim s per wall s; None: as fast as possible), seed of the sensor noise, the
    sim step (None: the plan's), baseline (also run each nation alone), end_after_s (stop the run that
    many seconds after T0: shortened runs), network (network.yaml; None: the embedded one), progress
    (a progress bar on stderr), on_step (extra per-node callbacks, e.g. the demo's picture feed)."""

    speed: float | None = None
    seed: int = 0
    step_s: float | None = None
    baseline: bool = True
    end_after_s: float | None = None
    network: Path | None = None
    progress: bool = True
    on_step: list[OnStep] = field(default_factory=list)
    on_tick: list[Callable[[int, float], None]] = field(default_factory=list)
    run_log: RunLog | None = None  # where the lockstep records deliveries and timings (e.g. for a live view)
    wall_start: float | None = None  # perf_counter origin of wall_s.first_alert (default: the call)


def _progress(total: int, t0: float, enabled: bool):
    """A rich progress bar on stderr (or a no-op) and its tick callback."""
    if not enabled:
        return None, lambda k, t: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]exercise[/bold] {task.fields[tplus]}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=Console(stderr=True), transient=False)
    task = bar.add_task("run", total=total, tplus="T+0 s")

    def tick(k: int, t: float) -> None:
        bar.update(task, completed=k + 1, tplus=f"T+{t - t0:.0f} s")

    return bar, tick


async def exercise_async(plan: ExercisePlan, out: Path, opts: ExerciseOptions | None = None) -> dict:
    """Run the exercise (see the module docstring); returns the metrics (also in out/metrics.json)."""
    from triwarn.exercise.report import write_report

    opts = opts or ExerciseOptions()
    wall0 = time.perf_counter()
    sc = plan.scenario
    if opts.end_after_s is not None:  # a shortened run: the sensors stop then too (the plan is not changed)
        sc = dataclasses.replace(sc, end_unix_s=plan.t0_unix_s + float(opts.end_after_s))
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc}", source=str(out)) from None
    sim = await asyncio.to_thread(simulate, sc, opts.seed)
    log, effects = apply_injects(sim, plan)
    write_sensors(out / "sensors.yaml", sim.sensors)
    write_measurements(out / "measurements.jsonl", log)
    write_truth(out / "truth.jsonl", sim.truth)
    wall_sim = time.perf_counter() - wall0

    nations = nations_with_sensors(sim.sensors)
    if not nations or len(log) == 0:
        raise InputError("the scenario's sensors detected nothing: nothing to exercise", source=plan.source)
    step_s = opts.step_s or plan.step_s
    times = step_times(log, step_s)
    if opts.end_after_s is not None:
        times = times[times <= plan.t0_unix_s + opts.end_after_s]
    areas = AreaIndex.load()
    run_tag = new_run_id(float(times[0]), os.urandom(8))
    feeds = {n: NodeFeed.for_nation(log, sim.sensors, n) for n in nations}
    spec = load_network(opts.network)
    links = plan.links
    outputs = run_outputs(out)  # the nodes' output sink (triwarn.node.outputs), written by their runners
    recorder = Recorder(sim.paths)
    run_log = opts.run_log if opts.run_log is not None else RunLog()
    first_alert_wall: list[float] = []

    def on_step(n: str, res: StepResult) -> None:
        recorder.on_step(n, res)
        if res.warnings and not first_alert_wall:
            first_alert_wall.append(time.perf_counter() - (opts.wall_start or wall0))
        for extra in opts.on_step:
            extra(n, res)

    bar, tick = _progress(len(times), plan.t0_unix_s, opts.progress)

    def on_tick(k: int, t: float) -> None:
        tick(k, t)
        for extra in opts.on_tick:
            extra(k, t)

    # The no-sharing baseline needs nothing from the shared run: it runs beside it in another process
    # (the machine's other core), so it costs little wall time, paced or not.
    base = BaselineProcess(sim.sensors, log, nations, times, exercise=plan.name, run_tag=run_tag + "b") \
        if opts.baseline else None
    wall_run0 = time.perf_counter()
    try:
        if bar is not None:
            bar.start()
        with tempfile.TemporaryDirectory(prefix="triwarn-exercise-") as tmp:
            issued, stats = await run_shared(
                sim.sensors, log, nations, times, exercise=plan.name, areas=areas, spec=spec,
                workdir=Path(tmp), on_step=on_step, links=links, run_tag=run_tag,
                future_skew_s=plan.future_skew_s, feeds=feeds, on_tick=on_tick, speed=opts.speed,
                run_log=run_log, sink=outputs)
    except BaseException:
        if base is not None:
            base.cancel()
        raise
    finally:
        if bar is not None:
            bar.stop()
        outputs.close()
    wall_run = time.perf_counter() - wall_run0

    alerts = first_alerts(issued)
    alone = None
    wall_base = 0.0
    if base is not None:
        alone, wall_base = await base.wait()

    ground = truth_ground_tracks(sim.paths)
    passages = truth_area_passages(ground, areas)
    plan_info = {"name": plan.name, "scenario": sc.name, "source": plan.source, "t0_unix_s": plan.t0_unix_s,
                 "t_start_unix_s": float(times[0]), "t_end_unix_s": float(times[-1]), "step_s": step_s,
                 "nations": nations, "seed": opts.seed, "speed": opts.speed, "hub": links.hub,
                 "latency_s": links.latency_s, "future_skew_s": plan.future_skew_s,
                 "clock_offsets_s": dict(links.clock_offsets_s), "faults": plan.fault_events(),
                 "launches": [{"id": ev.id, "t_unix_s": ev.t_unix_s, "lat_deg": ev.spec.launch_lat_deg,
                               "lon_deg": ev.spec.launch_lon_deg} for ev in sc.launches],
                 "objects": sim.paths.n_objects, "measurements": len(log),
                 "sensors": len(sim.sensors), "cap_messages": outputs.cap_count, "cot_events": outputs.cot_count}
    wall = {"simulate": wall_sim, "shared_run": wall_run, "baseline_run": wall_base,
            "first_alert": first_alert_wall[0] if first_alert_wall else None}
    metrics = exercise_metrics(plan_info=plan_info, recorder=recorder, run_log=run_log, stats=stats,
                               alerts_shared=alerts, alerts_alone=alone, passages=passages,
                               inject_effects=effects, wall_s=wall)
    summary = {"share": True, "exercise": plan.name, "nations": nations, "step_s": step_s,
               "t_start_unix_s": float(times[0]), "t_end_unix_s": float(times[-1]), "measurements": len(log),
               "skipped": 0, "cap_messages": outputs.cap_count, "cot_events": outputs.cot_count,
               "transport": stats, "alerts": alerts}
    if alone is not None:
        summary["no_share_alerts"] = alone
        summary["sharing_gain"] = [
            {k: r[k] for k in ("node", "area", "first_shelter_shared_unix_s", "first_shelter_alone_unix_s", "gain_s",
                               "first_notice_shared_unix_s", "first_notice_alone_unix_s", "notice_gain_s")}
            for r in metrics["first_alerts"]]
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
    metrics["wall_s"]["total"] = time.perf_counter() - wall0
    write_report(out / "report.html", metrics, ground, recorder)
    metrics["wall_s"]["total"] = time.perf_counter() - wall0
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
    return metrics


def run_exercise(plan: ExercisePlan, out: Path, opts: ExerciseOptions | None = None) -> dict:
    """exercise_async in a fresh event loop."""
    return asyncio.run(exercise_async(plan, out, opts))
