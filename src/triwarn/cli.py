"""The `triwarn` command. Each command parses its options here and hands over to the package that owns
the work; an InputError anywhere becomes a one-line message on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from triwarn.errors import exit_2_on_input_error
from triwarn.share.commands import keys_app, network_app

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.add_typer(keys_app, name="keys")
app.add_typer(network_app, name="network")




@app.command()
@exit_2_on_input_error
def trajectory(
    launch: Annotated[str, typer.Option(help="Launch point LAT,LON in degrees.")],
    apogee_km: Annotated[float, typer.Option("--apogee-km", help="Reported apogee (km).")],
    range_km: Annotated[float, typer.Option("--range-km", help="Reported ground range (km).")],
    aim: Annotated[str | None, typer.Option(help="Aim point LAT,LON (alternative to --azimuth).")] = None,
    azimuth: Annotated[float | None, typer.Option(help="Launch azimuth, degrees clockwise from north.")] = None,
    burn_s: Annotated[float | None, typer.Option("--burn-s", help="Total burn time (s).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write the trajectory as JSONL to this file.")] = None,
) -> None:
    """Solve a launch from reported figures and print flight time, burnout, apogee, range and impact."""
    from triwarn.physics.commands import run_trajectory

    run_trajectory(launch=launch, aim=aim, azimuth=azimuth, apogee_km=apogee_km, range_km=range_km,
                   burn_s=burn_s, as_json=as_json, out=out)


@app.command()
@exit_2_on_input_error
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (launches and sensors).")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    seed: Annotated[int, typer.Option(help="Random seed for noise, detection and clutter.")] = 0,
) -> None:
    """Fly a scenario's launches and write DIR/sensors.yaml, DIR/measurements.jsonl, DIR/truth.jsonl."""
    from triwarn.sensors.commands import run_simulate

    run_simulate(scenario=scenario, out=out, seed=seed)


@app.command()
@exit_2_on_input_error
def track(
    sensors: Annotated[Path, typer.Option(help="sensors.yaml")],
    measurements: Annotated[Path, typer.Option(help="measurements.jsonl")],
    out: Annotated[Path, typer.Option(help="Output tracks.jsonl")],
    report_interval: Annotated[float, typer.Option("--report-interval", help="Seconds between reports.")] = 1.0,
) -> None:
    """Track ballistic objects from recorded detections; write confirmed tracks at each report tick."""
    from triwarn.tracking.commands import run_track

    run_track(sensors=sensors, measurements=measurements, out=out, report_interval_s=report_interval)


@app.command()
@exit_2_on_input_error
def assess(
    tracks: Annotated[list[Path], typer.Option(help="tracks.jsonl; repeat for several nations' files.")],
    out: Annotated[Path, typer.Option(help="Output events.jsonl")],
    areas: Annotated[Path | None, typer.Option(help="Areas GeoJSON (code, zone); default: packaged.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed for the Monte-Carlo draws.")] = 0,
) -> None:
    """Fuse tracks, then predict launch, impact (95% ellipse or powered corridor) and areas at risk."""
    from triwarn.assess.commands import run_assess

    run_assess(tracks=tracks, out=out, areas=areas, seed=seed)


@app.command()
@exit_2_on_input_error
def replay(
    sensors: Annotated[Path, typer.Option(help="sensors.yaml")],
    measurements: Annotated[Path, typer.Option(help="measurements.jsonl")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    no_share: Annotated[bool, typer.Option("--no-share", help="Each nation alone, no partner data.")] = False,
    step_s: Annotated[float, typer.Option("--step-s", help="Simulated-clock step (s).")] = 1.0,
    network: Annotated[Path | None, typer.Option(help="network.yaml (default: the embedded one).")] = None,
) -> None:
    """Run the whole chain on recorded data on a simulated clock, one node per nation, over local NATS."""
    from triwarn.exercise.commands import run_replay

    run_replay(sensors=sensors, measurements=measurements, out=out, share=not no_share, step_s=step_s,
               network=network)


exercise_app = typer.Typer(add_completion=False, no_args_is_help=True,
                           help="Exercises: scenarios with faults over three nodes, and an after-action report.")
app.add_typer(exercise_app, name="exercise")


@exercise_app.command("run")
@exit_2_on_input_error
def exercise_run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (launches, sensors, network, injects).")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    speed: Annotated[float | None, typer.Option(help="Sim seconds per wall second (default: as fast as it can).")]
    = None,
    fast: Annotated[bool, typer.Option("--fast", help="As fast as possible (the default).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed for the sensors.")] = 0,
    step_s: Annotated[float | None, typer.Option("--step-s", help="Simulated-clock step (s).")] = None,
    no_baseline: Annotated[bool, typer.Option("--no-baseline", help="Skip the no-sharing baseline run.")] = False,
    end_after_s: Annotated[float | None, typer.Option("--end-after-s", help="Stop T+this many seconds.")] = None,
) -> None:
    """Run a scenario over three nodes on NATS with its faults; write replay outputs, metrics and report."""
    from triwarn.exercise.commands import run_exercise_command

    run_exercise_command(scenario=scenario, out=out, speed=speed, fast=fast, seed=seed, step_s=step_s,
                         baseline=not no_baseline, end_after_s=end_after_s)


@app.command()
@exit_2_on_input_error
def demo(
    headless: Annotated[bool, typer.Option("--headless", help="Run without serving the operator UI.")] = False,
    speed: Annotated[float, typer.Option(help="Sim seconds per wall second.")] = 10.0,
    port: Annotated[int, typer.Option(help="UI port on 127.0.0.1 (0: a free one).")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("out/demo-exercise"),
    seed: Annotated[int, typer.Option(help="Random seed for the sensors.")] = 1,
    hold_s: Annotated[float, typer.Option("--hold-s", help="Keep the UI up this long after the run (s).")] = 0.0,
) -> None:
    """The October 2022 overflight on three nodes at about 10x real time, with the operator UI."""
    from triwarn.exercise.commands import run_demo

    run_demo(headless=headless, speed=speed, port=port, out=out, seed=seed, hold_s=hold_s)


@app.command()
@exit_2_on_input_error
def node(
    nation: Annotated[str, typer.Option(help="This node's nation code, e.g. kr.")],
    keys: Annotated[Path, typer.Option(help="Key folder: NATION.key (own, private) and the partners' .pub.")],
    servers: Annotated[str, typer.Option(help="The nation's own NATS server URL(s), comma-separated.")],
    network: Annotated[Path | None, typer.Option(help="network.yaml (default: the embedded one).")] = None,
    sensors: Annotated[Path | None, typer.Option(help="sensors.yaml with this nation's own sensors only.")] = None,
    measurements: Annotated[Path | None, typer.Option(help="measurements.jsonl to replay on the clock.")] = None,
    user: Annotated[str | None, typer.Option(help="NATS user (default: NATION_node).")] = None,
    password: Annotated[str | None, typer.Option(help="NATS password.")] = None,
    creds: Annotated[Path | None, typer.Option(help="credentials.json from `triwarn network config/up`.")] = None,
    exercise: Annotated[str | None, typer.Option(help="Run as this exercise: every warning is Exercise.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Run live: warnings are CAP status Actual.")] = False,
    epoch: Annotated[float | None, typer.Option(help="Unix time the recording's start is replayed at "
                                                "(default: now; give all nodes the same).")] = None,
    step_s: Annotated[float, typer.Option("--step-s", help="Step period on the clock (s).")] = 1.0,
    port: Annotated[int, typer.Option(help="HTTP port on 127.0.0.1 for health/metrics (0: a free one).")] = 0,
    out: Annotated[Path | None, typer.Option(help="Output folder for CAP files (default out/node-NATION).")]
    = None,
) -> None:
    """Run one nation's live node: own sensors, tracking and warning, sharing over NATS, health and metrics."""
    from triwarn.cli_node import run_node

    run_node(nation=nation, network=network, sensors=sensors, measurements=measurements, keys=keys,
             servers=servers, user=user, password=password, creds=creds, exercise=exercise, live=live,
             epoch=epoch, step_s=step_s, port=port, out=out)


if __name__ == "__main__":  # pragma: no cover
    app()
