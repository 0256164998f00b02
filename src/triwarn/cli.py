"""The `triwarn` command. Each command parses its options here and hands over to the package that owns
the work; an InputError anywhere becomes a one-line message on stderr and exit code 2.

Help texts are written for users: the app's help is HELP below (not this docstring), each command's
docstring says what it does with an example, and every option has a metavar (FILE, DIR, N, X, ...).
Help is printed plain (rich_markup_mode=None): no boxes, no `<bool>` types.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from triwarn.cli_users import users_app
from triwarn.errors import exit_2_on_input_error
from triwarn.share.commands import keys_app, network_app
from triwarn.tabletop.cli import tabletop_app

HELP = """Missile-warning data sharing between three allied nations (US, Japan, Republic of Korea):
simulate or replay sensor data, track, fuse, assess and warn, run exercises and live national nodes.

\b
First steps:
  triwarn demo                               # the October 2022 overflight, with the operator UI
  triwarn scenarios list                     # the bundled scenarios, usable by name
  triwarn simulate 2022-10-04-irbm-aomori --out rec
  triwarn track --sensors rec/sensors.yaml --measurements rec/measurements.jsonl --out rec/tracks.jsonl
  triwarn exercise run hub-down-midflight --out out/hub-down

`triwarn COMMAND --help` explains a command. Bad input exits with code 2 and a one-line message.
"""

app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP, rich_markup_mode=None)


def _within(lo: float, hi: float, what: str, unit: str = "") -> Any:
    """An option callback refusing (exit 2, usage error) a number outside [lo, hi], NaN or infinity: a step of
    1e-6 s would run for ever, one of 0 divides by zero (issue 16). The message names `what` in words."""

    def check(value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and lo <= value <= hi):
            raise typer.BadParameter(f"{what} {value!r}{unit} is outside [{lo:g}, {hi:g}]{unit}")
        return value

    return check


REPORT_INTERVAL_BOUNDS = _within(0.1, 3600.0, "report interval", " s")
END_AFTER_BOUNDS = _within(0.0, 86400.0, "end after", " s")
STEP_S_BOUNDS = _within(0.05, 60.0, "step", " s")
PORT_BOUNDS = _within(0, 65535, "port")  # simulated-clock step of replays and exercises (s)
# Progress lines show on a terminal only (triwarn.progress); --quiet turns them and the compile notice off.
Quiet = Annotated[bool, typer.Option("--quiet", "-q",
                                     help="No progress line (nor the one-time compile notice) on stderr.")]
app.add_typer(keys_app, name="keys")
app.add_typer(network_app, name="network")
app.add_typer(tabletop_app, name="tabletop")  # tabletop exercises with people (triwarn.tabletop)
app.add_typer(users_app, name="users")


@app.command(short_help='Solve a launch from reported apogee and range.')
@exit_2_on_input_error
def trajectory(
    launch: Annotated[str, typer.Option(metavar="LAT,LON", help="Launch point, degrees.")],
    apogee_km: Annotated[float, typer.Option("--apogee-km", metavar="KM", help="Reported apogee (km).")],
    range_km: Annotated[float, typer.Option("--range-km", metavar="KM", help="Reported ground range (km).")],
    aim: Annotated[str | None, typer.Option(metavar="LAT,LON", help="Aim point (or give --azimuth).")] = None,
    azimuth: Annotated[float | None, typer.Option(metavar="DEG",
                                                  help="Launch azimuth, degrees clockwise from north.")] = None,
    burn_s: Annotated[float | None, typer.Option("--burn-s", metavar="S",
                                                 help="Total burn time (s); default: by missile class.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    out: Annotated[Path | None, typer.Option(metavar="FILE",
                                             help="Also write the warhead's path as JSON lines.")] = None,
) -> None:
    """Solve a launch from reported figures; print flight time, burnout, apogee, range and impact.

    \b
    Example (the October 2022 IRBM):
      triwarn trajectory --launch 40.6,126.4 --aim 40.82,140.74 --apogee-km 970 --range-km 4600
    """
    from triwarn.physics.commands import run_trajectory

    run_trajectory(launch=launch, aim=aim, azimuth=azimuth, apogee_km=apogee_km, range_km=range_km,
                   burn_s=burn_s, as_json=as_json, out=out)


SCENARIO_HELP = "A scenario file, or the name of a bundled one (`triwarn scenarios list`)."


@app.command(short_help='Fly a scenario; write sensor data and truth.')
@exit_2_on_input_error
def simulate(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help=SCENARIO_HELP)],
    out: Annotated[Path, typer.Option(metavar="DIR", help="Output folder (created if missing).")],
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed for noise, detection and clutter.")] = 0,
    quiet: Quiet = False,
) -> None:
    """Fly a scenario's launches and write DIR/sensors.yaml, DIR/measurements.jsonl and DIR/truth.jsonl.

    \b
    Example:
      triwarn simulate 2022-10-04-irbm-aomori --out rec --seed 3
    """
    from triwarn.sensors.commands import run_simulate
    from triwarn.sensors.scenario import resolve_scenario

    run_simulate(scenario=resolve_scenario(scenario), out=out, seed=seed, quiet=quiet)


@app.command(short_help='Track ballistic objects from recorded detections.')
@exit_2_on_input_error
def track(
    sensors: Annotated[Path, typer.Option(metavar="FILE", help="sensors.yaml")],
    measurements: Annotated[Path, typer.Option(metavar="FILE", help="measurements.jsonl")],
    out: Annotated[Path, typer.Option(metavar="FILE", help="Output tracks.jsonl")],
    report_interval: Annotated[float, typer.Option("--report-interval", metavar="S", callback=REPORT_INTERVAL_BOUNDS,
                                                   help="Seconds between reports (0.1 to 3600).")] = 1.0,
    quiet: Quiet = False,
) -> None:
    """Track ballistic objects from recorded detections; write confirmed tracks at each report time.

    \b
    Example:
      triwarn track --sensors rec/sensors.yaml --measurements rec/measurements.jsonl --out tracks.jsonl
    """
    from triwarn.tracking.commands import run_track

    run_track(sensors=sensors, measurements=measurements, out=out, report_interval_s=report_interval, quiet=quiet)


@app.command(short_help='Fuse tracks; predict launch, impact, areas at risk.')
@exit_2_on_input_error
def assess(
    tracks: Annotated[list[Path], typer.Option(metavar="FILE",
                                               help="tracks.jsonl; repeat for several nations' files.")],
    out: Annotated[Path, typer.Option(metavar="FILE", help="Output events.jsonl")],
    areas: Annotated[Path | None, typer.Option(metavar="FILE",
                                               help="Areas GeoJSON (code, zone); default: packaged.")] = None,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed for the Monte-Carlo draws.")] = 0,
) -> None:
    """Fuse tracks, then predict launch, impact (95% ellipse or powered corridor) and areas at risk.

    \b
    Example:
      triwarn assess --tracks tracks.jsonl --out events.jsonl
    """
    from triwarn.assess.commands import run_assess

    run_assess(tracks=tracks, out=out, areas=areas, seed=seed)


@app.command(short_help='The whole chain on recorded data, node per nation.')
@exit_2_on_input_error
def replay(
    sensors: Annotated[Path, typer.Option(metavar="FILE", help="sensors.yaml")],
    measurements: Annotated[Path, typer.Option(metavar="FILE", help="measurements.jsonl")],
    out: Annotated[Path, typer.Option(metavar="DIR", help="Output folder.")],
    no_share: Annotated[bool, typer.Option("--no-share", help="Each nation alone, no partner data.")] = False,
    step_s: Annotated[float, typer.Option("--step-s", metavar="S", callback=STEP_S_BOUNDS,
                                          help="Simulated-clock step (s), 0.05 to 60.")] = 1.0,
    network: Annotated[Path | None, typer.Option(metavar="FILE",
                                                 help="network.yaml (default: the embedded one).")] = None,
    quiet: Quiet = False,
) -> None:
    """Run the whole chain on recorded data on a simulated clock, one node per nation, over local NATS.

    \b
    Example:
      triwarn replay --sensors rec/sensors.yaml --measurements rec/measurements.jsonl --out out/replay
    """
    from triwarn.exercise.commands import run_replay

    run_replay(sensors=sensors, measurements=measurements, out=out, share=not no_share, step_s=step_s,
               network=network, quiet=quiet)


exercise_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                           short_help='Exercises with faults over three nodes.',
                           help="Exercises: scenarios with faults over three nodes, and an after-action report.")
app.add_typer(exercise_app, name="exercise")


@exercise_app.command("run", short_help='Run a scenario with faults; write a report.')
@exit_2_on_input_error
def exercise_run(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help=SCENARIO_HELP)],
    out: Annotated[Path, typer.Option(metavar="DIR", help="Output folder.")],
    speed: Annotated[float | None, typer.Option(
        metavar="X", callback=_within(0.01, 1e6, "speed", "x"),
        help="Simulated seconds per wall second (default: as fast as it can).")] = None,
    fast: Annotated[bool, typer.Option("--fast", help="As fast as possible (the default).")] = False,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed for the sensors.")] = 0,
    step_s: Annotated[float | None, typer.Option("--step-s", metavar="S", callback=STEP_S_BOUNDS,
                                                 help="Simulated-clock step (s), 0.05 to 60.")] = None,
    no_baseline: Annotated[bool, typer.Option("--no-baseline", help="Skip the no-sharing baseline run.")] = False,
    end_after_s: Annotated[float | None, typer.Option("--end-after-s", metavar="S", callback=END_AFTER_BOUNDS,
                                                      help="Stop at T+S seconds.")] = None,
    quiet: Quiet = False,
) -> None:
    """Run a scenario over three nodes on NATS with its faults; write replay outputs, metrics and a report.

    \b
    Example:
      triwarn exercise run hub-down-midflight --out out/hub-down
    """
    from triwarn.exercise.commands import run_exercise_command
    from triwarn.sensors.scenario import resolve_scenario

    run_exercise_command(scenario=resolve_scenario(scenario), out=out, speed=speed, fast=fast, seed=seed,
                         step_s=step_s, baseline=not no_baseline, end_after_s=end_after_s, quiet=quiet)


scenarios_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                            help="The scenarios shipped with triwarn, usable by name.")
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.command("list", short_help='List the bundled scenarios.')
@exit_2_on_input_error
def scenarios_list() -> None:
    """List the bundled scenarios: name, launches, sensors per nation and what each is about.

    A name works wherever a scenario file does, with or without .yaml:

    \b
      triwarn simulate 2022-10-04-irbm-aomori --out rec
    """
    from triwarn.sensors.commands import run_scenarios_list

    run_scenarios_list()


sensors_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                          help="Sensor files: split a recording into one file per nation.")
app.add_typer(sensors_app, name="sensors")


@sensors_app.command("split", short_help='One sensors (and measurements) file per nation.')
@exit_2_on_input_error
def sensors_split(
    sensors: Annotated[Path, typer.Option(metavar="FILE", help="sensors.yaml with several nations' sensors.")],
    out: Annotated[Path, typer.Option(metavar="DIR", help="Output folder (created if missing).")],
    measurements: Annotated[Path | None, typer.Option(
        metavar="FILE", help="measurements.jsonl to split too (one file per nation).")] = None,
) -> None:
    """Write one sensors file per nation (DIR/sensors-NATION.yaml), and with --measurements one
    measurements file per nation (DIR/measurements-NATION.jsonl), e.g. for `triwarn node`.

    \b
    Example:
      triwarn sensors split --sensors rec/sensors.yaml --measurements rec/measurements.jsonl --out rec
    """
    from triwarn.sensors.commands import run_sensors_split

    run_sensors_split(sensors=sensors, measurements=measurements, out=out)


@app.command("hazard-zones", short_help="Read a navigational warning's launch window and hazard zones.")
@exit_2_on_input_error
def hazard_zones(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The warning's text (NAVAREA form).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Check a navigational warning and print its launch window and zones (docs/space-launches.md).

    \b
    Example (the warning's text in a file; the SLV scenarios carry theirs as hazard_zones):
      triwarn hazard-zones navarea.txt
    """
    from triwarn.geo.hazard_zones import describe, read_notice

    print(describe(read_notice(file), as_json=as_json))


@app.command(short_help='The October 2022 overflight, with the operator UI.')
@exit_2_on_input_error
def demo(
    headless: Annotated[bool, typer.Option("--headless", help="Run without serving the operator UI.")] = False,
    speed: Annotated[float, typer.Option(metavar="X", help="Simulated seconds per wall second.")] = 10.0,
    port: Annotated[int, typer.Option(metavar="N", help="UI port on 127.0.0.1 (0: a free one).")] = 0,
    out: Annotated[Path, typer.Option(metavar="DIR", help="Output folder.")] = Path("out/demo-exercise"),
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed for the sensors.")] = 1,
    hold_s: Annotated[float, typer.Option("--hold-s", metavar="S",
                                          help="Keep the UI up this long after the run (s).")] = 0.0,
    quiet: Quiet = False,
) -> None:
    """The October 2022 overflight on three nodes at about 10x real time, with the operator UI.

    Prints the UI's URL (open it in a browser), then the report's path.
    """
    from triwarn.exercise.commands import run_demo

    run_demo(headless=headless, speed=speed, port=port, out=out, seed=seed, hold_s=hold_s, quiet=quiet)


@app.command(short_help="One nation's live node (sharing over NATS).")
@exit_2_on_input_error
def node(
    nation: Annotated[str, typer.Option(metavar="CODE", help="This node's nation: us, jp or kr.")],
    keys: Annotated[Path, typer.Option(metavar="DIR",
                                       help="Key folder: NATION.key (own, private) and the partners' .pub.")],
    servers: Annotated[str, typer.Option(metavar="URL[,URL]",
                                         help="The nation's own NATS server URL(s), comma-separated.")],
    network: Annotated[Path | None, typer.Option(metavar="FILE",
                                                 help="network.yaml (default: the embedded one).")] = None,
    sensors: Annotated[Path | None, typer.Option(
        metavar="FILE", help="sensors.yaml with this nation's own sensors only (`triwarn sensors split`).")] = None,
    measurements: Annotated[Path | None, typer.Option(metavar="FILE",
                                                      help="measurements.jsonl to replay on the clock.")] = None,
    user: Annotated[str | None, typer.Option(metavar="NAME", help="NATS user (default: NATION_node).")] = None,
    password: Annotated[str | None, typer.Option(metavar="TEXT", help="NATS password, for a server configured "
                                                 "by hand with password users (generated networks: --creds).")] = None,
    creds: Annotated[Path | None, typer.Option(
        metavar="FILE", help="credentials-NATION.json from `triwarn network config` or `network up`.")] = None,
    exercise: Annotated[str | None, typer.Option(metavar="NAME",
                                                 help="Run as this exercise: every warning is Exercise.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Run live: warnings are CAP status Actual.")] = False,
    epoch: Annotated[float | None, typer.Option(metavar="UNIX", help="Unix time (s) the recording's start is "
                                                "replayed at (default: now; give all nodes the same).")] = None,
    step_s: Annotated[float, typer.Option("--step-s", metavar="S", callback=STEP_S_BOUNDS,
                                          help="Step period on the clock (s, 0.05 to 60).")] = 1.0,
    port: Annotated[int, typer.Option(metavar="N", callback=PORT_BOUNDS,
                                      help="HTTP port of the console, health and metrics (0: a free one).")] = 0,
    out: Annotated[Path | None, typer.Option(metavar="DIR",
                                             help="Output folder for CAP files (default out/node-NATION).")]
    = None,
    host: Annotated[str, typer.Option(metavar="ADDR", help="Address the console listens on (beyond "
                                      "loopback: TLS needed).")] = "127.0.0.1",
    users: Annotated[Path | None, typer.Option(metavar="FILE", help="Console users (`triwarn users add`); "
                                               "default: a one-time operator login link.")] = None,
    audit: Annotated[Path | None, typer.Option(metavar="FILE", help="Console audit log, JSON lines "
                                               "(default OUT/audit.jsonl).")] = None,
    tls_cert: Annotated[Path | None, typer.Option(metavar="FILE", help="TLS certificate (PEM).")] = None,
    tls_key: Annotated[Path | None, typer.Option(metavar="FILE", help="TLS private key (PEM).")] = None,
    insecure_no_tls: Annotated[bool, typer.Option("--insecure-no-tls", help="Serve beyond loopback "
                                                  "without TLS (a network that encrypts below).")] = False,
    allowed_host: Annotated[list[str] | None, typer.Option(metavar="NAME", help="A host name clients "
                                                           "reach the console by (repeatable).")] = None,
    two_person_cancel: Annotated[bool, typer.Option("--two-person-cancel", help="A live alert's cancel "
                                                    "waits for a second operator.")] = False,
    cap_key: Annotated[Path | None, typer.Option("--cap-key", metavar="FILE", help="CAP signing key (PEM; "
                                                 "a live US node needs one: IPAWS takes signed CAP only).")] = None,
    cap_cert: Annotated[Path | None, typer.Option("--cap-cert", metavar="FILE",
                                                  help="Its certificate (PEM).")] = None,
) -> None:
    """Run one nation's live node: own sensors, tracking and warning, sharing over NATS, health and metrics.

    \b
    Example (see docs/node.md):
      triwarn node --nation kr --exercise DEMO --keys keys --servers nats://127.0.0.1:4222 \\
          --creds net/config/credentials-kr.json --sensors rec/sensors-kr.yaml \\
          --measurements rec/measurements.jsonl
    """
    from triwarn.cli_node import run_node

    run_node(nation=nation, network=network, sensors=sensors, measurements=measurements, keys=keys,
             servers=servers, user=user, password=password, creds=creds, exercise=exercise, live=live,
             epoch=epoch, step_s=step_s, port=port, out=out, host=host, users=users, audit=audit,
             tls_cert=tls_cert, tls_key=tls_key, insecure_no_tls=insecure_no_tls, allowed_hosts=allowed_host,
             two_person_cancel=two_person_cancel, cap_key=cap_key, cap_cert=cap_cert)


if __name__ == "__main__":  # pragma: no cover
    app()
