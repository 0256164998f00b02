"""Command bodies of `triwarn replay` (and, later, `triwarn exercise` and `triwarn demo`)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from triwarn.wording import console as make_console
from triwarn.wording import plural


def run_replay(*, sensors: Path, measurements: Path, out: Path, share: bool, step_s: float,
               network: Path | None, quiet: bool = False) -> None:
    from triwarn.exercise.replay import replay
    from triwarn.tracking.kernel_cache import compile_kernels

    console = make_console(stderr=True)
    wall0 = time.perf_counter()
    compile_kernels(quiet=quiet)
    summary = replay(sensors, measurements, out, share=share, step_s=step_s, network=network,
                     progress=False if quiet else None)
    wall = time.perf_counter() - wall0
    span = summary["t_end_unix_s"] - summary["t_start_unix_s"]
    steps = round(span / step_s) + 1  # both ends included: the progress count
    console.print(f"replayed {span:.0f} s of data ({plural(steps, 'step')} of {step_s:g} s) in {wall:.1f} s "
                  f"({span / max(wall, 1e-9):.0f}x real time); {plural(summary['cap_messages'], 'CAP message')}; "
                  f"outputs in {out}")
    t0 = summary["t_start_unix_s"]

    def rel(t):
        return "-" if t is None else f"+{t - t0:.0f} s"

    if summary.get("sharing_gain"):
        console.print("  first alert per area, after the data's start (shared / alone, gain by sharing):")
    for row in summary.get("sharing_gain", []):
        for kind, gain in (("shelter", "gain_s"), ("notice", "notice_gain_s")):
            a, b = row.get(f"first_{kind}_shared_unix_s"), row.get(f"first_{kind}_alone_unix_s")
            if a is None and b is None:
                continue
            g = "-" if row.get(gain) is None else f"{row[gain]:+.0f} s"
            console.print(f"  {row['node']} {row['area']} {kind}: {rel(a)} / {rel(b)}, gain {g}")


def run_exercise_command(*, scenario: Path, out: Path, speed: float | None, fast: bool, seed: int,
                         step_s: float | None, baseline: bool, end_after_s: float | None,
                         quiet: bool = False) -> dict:
    """`triwarn exercise run`: run the scenario and print where the outputs and the report are."""
    from triwarn.errors import InputError
    from triwarn.exercise.engine import ExerciseOptions, run_exercise
    from triwarn.exercise.plan import load_plan
    from triwarn.tracking.kernel_cache import compile_kernels

    if fast and speed is not None:
        raise InputError("give --speed X or --fast, not both", field="--speed")
    if speed is not None and not speed > 0:
        raise InputError(f"--speed must be positive, got {speed}", field="--speed")
    console = make_console(stderr=True)
    plan = load_plan(scenario)
    compile_kernels(quiet=quiet)
    metrics = run_exercise(plan, out, ExerciseOptions(speed=None if fast else speed, seed=seed, step_s=step_s,
                                                      baseline=baseline, end_after_s=end_after_s,
                                                      progress=False if quiet else None))
    _print_outcome(console, metrics, out)
    return metrics


def _print_outcome(console: Console, metrics: dict, out: Path) -> None:
    info, wall = metrics["exercise"], metrics["wall_s"]
    t0 = info["t0_unix_s"]
    span = info["t_end_unix_s"] - info["t_start_unix_s"]
    step_s = info.get("step_s") or 1.0
    steps = round(span / step_s) + 1  # both ends included: the progress count
    baseline = bool(wall.get("baseline_run"))  # 0.0: no baseline run (--no-baseline)
    console.print(f"exercise {info['name']}: {span:.0f} s simulated ({plural(steps, 'step')} of {step_s:g} s) "
                  f"in {wall['shared_run']:.1f} s"
                  + (f" (+ baseline {wall['baseline_run']:.1f} s)" if baseline else "")
                  + f"; {plural(info['cap_messages'], 'CAP message')} (Exercise)")
    for r in metrics["first_alerts"]:
        if r["first_shelter_shared_unix_s"] is None and r["first_shelter_alone_unix_s"] is None:
            continue
        rel = lambda t: "-" if t is None else f"T+{t - t0:.0f}s"  # noqa: E731
        alone = f"alone {rel(r['first_shelter_alone_unix_s'])}, " if baseline else ""
        console.print(f"  {r['node']} {r['area']}: shelter shared {rel(r['first_shelter_shared_unix_s'])}, "
                      f"{alone}true entry {rel(r['truth_enter_unix_s'])}")
    ended = info.get("ended")
    if ended:
        console.print(f"  ended at T+{ended['t_unix_s'] - t0:.0f} s: {ended['reason']}")
    print(f"metrics: {Path(out) / 'metrics.json'}")
    print(f"report: {Path(out) / 'report.html'}", flush=True)


DEMO_SCENARIO = "2022-10-04-irbm-aomori.yaml"
# The demo ends once no node has held a track or an active warning for this many sim seconds (the flight is
# over), instead of running on to the scenario's end (which left the map empty for a minute of wall time).
DEMO_OVER_S = 60.0


def run_demo(*, headless: bool, speed: float, port: int, out: Path, seed: int = 1, hold_s: float = 0.0,
             end_after_s: float | None = None, quiet: bool = False) -> dict:
    """`triwarn demo`: the October 2022 overflight on three nodes at `speed` x real time over the embedded
    NATS network, with the operator UI fed from the nodes (unless headless); prints the UI's URL, then the
    report's path. Returns the metrics (with wall_s.first_alert: wall seconds from start to the first alert).
    The run ends once the flight is over (DEMO_OVER_S: no track and no active warning left), or at the
    scenario's end, or end_after_s after T0; the last lines say which.
    """
    import asyncio
    import importlib.resources

    from triwarn.errors import InputError
    from triwarn.exercise.engine import ExerciseOptions, exercise_async
    from triwarn.exercise.plan import load_plan
    from triwarn.tracking.kernel_cache import compile_kernels

    if not speed > 0:
        raise InputError(f"--speed must be positive, got {speed}", field="--speed")
    wall0 = time.perf_counter()
    console = make_console(stderr=True)
    compile_kernels(quiet=quiet)  # before the UI's URL: a cold cache is a notice and a bar, not a silent map
    scenario = importlib.resources.files("triwarn") / "scenarios" / DEMO_SCENARIO
    plan = load_plan(Path(str(scenario)))

    async def main() -> dict:
        from triwarn.node.lockstep import RunLog

        run_log = RunLog()
        runners: dict = {}  # the nodes' runners: the UI's link states are theirs
        opts = ExerciseOptions(speed=speed, seed=seed, end_after_s=end_after_s, run_log=run_log, wall_start=wall0,
                               runners=runners, end_when_over_s=DEMO_OVER_S, progress=False if quiet else None)
        running = hub = None
        if not headless:
            from triwarn.api.app import create_app
            from triwarn.api.picture import NATIONS, PictureHub
            from triwarn.api.picture_feed import PictureFeed
            from triwarn.api.serve import start_server

            hub = PictureHub(NATIONS)
            hub.t0_unix_s = plan.t0_unix_s
            feed = PictureFeed(hub, plan.name, plan.links, run_log, runners=runners,
                               hazard_notice=plan.scenario.hazard_notice)
            feed.attach(opts)
            from triwarn.api.guard import one_time_console  # the console's login and Cancel (docs/console.md)

            security, token = one_time_console(NATIONS, out / "audit.jsonl", "demo-operator")
            running = await start_server(create_app(hub, title="triwarn demo", security=security, operators=runners),
                                         port=port)
            print(f"triwarn operator UI: {running.url}/login?token={token}", flush=True)
        try:
            metrics = await exercise_async(plan, out, opts)
            if hub is not None:  # the pages show "exercise ended" and stop listening
                hub.end()
                await asyncio.sleep(2 * hub.min_interval_s + 0.3)
            if running is not None and hold_s > 0:
                console.print(f"run finished; the UI stays up for {hold_s:.0f} s")
                await asyncio.sleep(hold_s)
        finally:
            if running is not None:
                await running.stop()
        return metrics

    metrics = asyncio.run(main())
    first = metrics["wall_s"].get("first_alert")
    console.print(f"demo wall time {time.perf_counter() - wall0:.0f} s; first alert "
                  f"{'-' if first is None else f'{first:.1f} s'} after the demo started")
    _print_outcome(console, metrics, out)
    return metrics
