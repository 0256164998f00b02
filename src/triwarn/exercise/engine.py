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
from triwarn.exercise.falls import fall_table, falls_summary
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
from triwarn.progress import ProgressLine, clock_progress
from triwarn.records.warnings import ACTIVE_STATES
from triwarn.sensors.simulate import simulate
from triwarn.sensors.writers import write_measurements, write_sensors, write_truth
from triwarn.share.policy import load_network
from triwarn.warn.policy import new_run_id
from triwarn.wording import plural

OnStep = Callable[[str, StepResult], None]


@dataclass
class ExerciseOptions:
    """How to run: speed (sim s per wall s; None: as fast as possible), seed of the sensor noise, the
    sim step (None: the plan's), baseline (also run each nation alone), end_after_s (stop the run that
    many seconds after T0: shortened runs), end_when_over_s (end the run once the flight is over: no
    node has held a track or an active warning for that many sim seconds, after one had; None: run to
    the plan's end), network (network.yaml; None: the embedded one), progress (a progress line on
    stderr; None: when stderr is a terminal, triwarn.progress.wanted), on_step (extra per-node
    callbacks, e.g. the demo's picture feed), on_end (callbacks given summary.json's content once it is
    written: the sharing gain per area, the falls; api.picture_feed.PictureFeed.attach adds both)."""

    speed: float | None = None
    seed: int = 0
    step_s: float | None = None
    baseline: bool = True
    end_after_s: float | None = None
    end_when_over_s: float | None = None
    network: Path | None = None
    progress: bool | None = None
    on_step: list[OnStep] = field(default_factory=list)
    on_tick: list[Callable[[int, float], None]] = field(default_factory=list)
    on_end: list[Callable[[dict], None]] = field(default_factory=list)  # told summary.json's content once written
    run_log: RunLog | None = None  # where the lockstep records deliveries and timings (e.g. for a live view)
    wall_start: float | None = None  # perf_counter origin of wall_s.first_alert (default: the call)
    runners: dict | None = None  # filled with each nation's NodeRunner (link states: the UI's picture feed)


class FlightOver:
    """When a run may end before its plan's end: the flight is over once, after some node held a track
    or an active warning (shelter, notice, passed), no node has held either for quiet_s sim seconds,
    and the last launch (not_before_unix_s) is at least quiet_s past (a false track before a launch
    does not end the run).

        over = FlightOver(60.0, t_last_launch)   # on_step=over.on_step; run_lockstep(..., until=over.done)
        over.reason                              # why it ended (None: it did not end early)
    """

    def __init__(self, quiet_s: float | None, not_before_unix_s: float = -float("inf")) -> None:
        self.quiet_s = quiet_s  # None: never ends a run (it still counts the tracks held)
        self.not_before_unix_s = not_before_unix_s
        self.busy_until: float | None = None  # sim time some node last held a track or an active warning
        self.reason: str | None = None
        self.tracks = 0  # system tracks held by all nodes at their latest step
        self._tracks: dict[str, int] = {}
        self._active: dict[tuple[str, str], bool] = {}  # (node, incident) -> its warning is active

    def on_step(self, nation: str, res: StepResult) -> None:
        self._tracks[nation] = len(res.system_tracks)
        for m in res.warnings:
            self._active[(nation, m.incident)] = m.msg_type != "Cancel" and any(
                a.state in ACTIVE_STATES for a in m.areas)
        self.tracks = sum(self._tracks.values())
        if self.tracks or any(self._active.values()):
            self.busy_until = res.t_unix_s

    def done(self, t: float) -> bool:
        if self.quiet_s is None or self.busy_until is None or t - self.busy_until < self.quiet_s:
            return False
        if t - self.not_before_unix_s < self.quiet_s:
            return False
        self.reason = (f"the flight is over: no track and no active warning at any node for {self.quiet_s:.0f} s "
                       "of sim time")
        return True

    def ended(self, t_unix_s: float, shortened: bool = False) -> dict:
        """When and why the run ended (metrics.json's exercise.ended)."""
        reason = self.reason or ("the shortened run's end (end_after_s)" if shortened
                                 else "the end of the scenario's time span")
        return {"t_unix_s": t_unix_s, "early": self.reason is not None, "reason": reason}


async def _simulate_inputs(plan: ExercisePlan, sc, out: Path, opts: ExerciseOptions):
    """Fly the launches and run the sensors, apply the injects, write OUT's inputs: (sim, log, effects)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc}", source=str(out)) from None
    with ProgressLine("exercise", enabled=opts.progress, status="flying the launches, running the sensors",
                      transient=True):
        sim = await asyncio.to_thread(simulate, sc, opts.seed)
    log, effects = apply_injects(sim, plan)
    write_sensors(out / "sensors.yaml", sim.sensors)
    write_measurements(out / "measurements.jsonl", log)
    write_truth(out / "truth.jsonl", sim.truth)
    return sim, log, effects


async def exercise_async(plan: ExercisePlan, out: Path, opts: ExerciseOptions | None = None) -> dict:
    """Run the exercise (see the module docstring); returns the metrics (also in out/metrics.json)."""
    from triwarn.exercise.report import write_report

    opts = opts or ExerciseOptions()
    wall0 = time.perf_counter()
    sc = plan.scenario
    if opts.end_after_s is not None:  # a shortened run: the sensors stop then too (the plan is not changed)
        sc = dataclasses.replace(sc, end_unix_s=plan.t0_unix_s + float(opts.end_after_s))
    out = Path(out)
    sim, log, effects = await _simulate_inputs(plan, sc, out, opts)
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

    # the tracks and warnings held now; the flight's end
    watch = FlightOver(opts.end_when_over_s, max((ev.t_unix_s for ev in sc.launches), default=-float("inf")))
    n_alerts = [0]
    last_t = [float(times[0])]

    def on_step(n: str, res: StepResult) -> None:
        recorder.on_step(n, res)
        n_alerts[0] += len(res.warnings)
        watch.on_step(n, res)
        if res.warnings and not first_alert_wall:
            first_alert_wall.append(time.perf_counter() - (opts.wall_start or wall0))
        for extra in opts.on_step:
            extra(n, res)

    bar, tick = clock_progress("exercise", len(times), plan.t0_unix_s, enabled=opts.progress,
                               extra=lambda: f"{plural(watch.tracks, 'track')}, {plural(n_alerts[0], 'alert')}")

    def on_tick(k: int, t: float) -> None:
        last_t[0] = t
        tick(k, t)
        for extra in opts.on_tick:
            extra(k, t)

    # The no-sharing baseline needs nothing from the shared run: it runs beside it in another process
    # (the machine's other core), so it costs little wall time, paced or not.
    base = BaselineProcess(sim.sensors, log, nations, times, exercise=plan.name, run_tag=run_tag + "b",
                           hazard_notice=plan.scenario.hazard_notice) if opts.baseline else None
    wall_run0 = time.perf_counter()
    try:
        bar.start()
        with tempfile.TemporaryDirectory(prefix="triwarn-exercise-") as tmp:
            issued, stats = await run_shared(
                sim.sensors, log, nations, times, exercise=plan.name, areas=areas, spec=spec,
                workdir=Path(tmp), on_step=on_step, links=links, run_tag=run_tag,
                future_skew_s=plan.future_skew_s, feeds=feeds, hazard_notice=plan.scenario.hazard_notice,
                on_tick=on_tick, speed=opts.speed,
                run_log=run_log, sink=outputs, runners=opts.runners, until=watch.done)
    except BaseException:
        if base is not None:
            base.cancel()
        raise
    finally:
        if watch.reason:
            bar.finish(f"T+{last_t[0] - plan.t0_unix_s:.0f} s, the flight is over")
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
                 "t_start_unix_s": float(times[0]), "t_end_unix_s": last_t[0], "step_s": step_s,
                 "ended": watch.ended(last_t[0], shortened=opts.end_after_s is not None),
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
    if sc.hazard_notice is not None:  # each falling piece against its declared zone (issue 14)
        metrics["falls"] = falls_summary(sc.hazard_notice, fall_table(sim.paths, sc.hazard_notice, recorder, nations))
    summary = {"share": True, "exercise": plan.name, "nations": nations, "step_s": step_s,
               "t_start_unix_s": float(times[0]), "t_end_unix_s": last_t[0], "measurements": len(log),
               "skipped": 0, "cap_messages": outputs.cap_count, "cot_events": outputs.cot_count,
               "transport": stats, "alerts": alerts, **_summary_extras(metrics, alone)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    for told in opts.on_end:  # e.g. the UI's picture feed: the sharing gain per area
        told(summary)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
    metrics["wall_s"]["total"] = time.perf_counter() - wall0
    write_report(out / "report.html", metrics, ground, recorder)
    metrics["wall_s"]["total"] = time.perf_counter() - wall0
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1, default=float))
    return metrics


def _summary_extras(metrics: dict, alone: dict | None) -> dict:
    """summary.json's parts beside the replay's: the falls (with declared zones) and, with a baseline, its
    alerts and the sharing gain per node and area (metrics' first-alert rows, with why)."""
    out = {"falls": metrics["falls"]} if "falls" in metrics else {}
    if alone is not None:
        out["no_share_alerts"] = alone
        out["sharing_gain"] = [
            {k: r[k] for k in ("node", "area", "first_shelter_shared_unix_s", "first_shelter_alone_unix_s", "gain_s",
                               "first_notice_shared_unix_s", "first_notice_alone_unix_s", "notice_gain_s",
                               "gain_reason", "notice_gain_reason")}
            for r in metrics["first_alerts"]]
    return out


def run_exercise(plan: ExercisePlan, out: Path, opts: ExerciseOptions | None = None) -> dict:
    """exercise_async in a fresh event loop."""
    return asyncio.run(exercise_async(plan, out, opts))
