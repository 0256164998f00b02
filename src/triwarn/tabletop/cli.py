"""The `triwarn tabletop` command group (registered in triwarn.cli); the bodies are in commands.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from triwarn.errors import exit_2_on_input_error

SCENARIO_HELP = ("A tabletop scenario: its scenario.yaml, the folder holding it, or a bundled name "
                 "(guam-nuclear).")

tabletop_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                           short_help="Tabletop exercises with people: seats, injects, an AAR/IP.",
                           help="Tabletop exercises: a controller, one seat per nation, MSEL injects, decisions "
                                "through the warning path (status Exercise), and an HSEEP AAR/IP.")


@tabletop_app.command("serve", short_help="Serve a tabletop session: one browser page per seat.")
@exit_2_on_input_error
def tabletop_serve(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help=SCENARIO_HELP)],
    out: Annotated[Path, typer.Option(metavar="DIR", help="Where the AAR/IP and the system run go.")] = Path(
        "out/tabletop"),
    port: Annotated[int, typer.Option(metavar="N", min=1, max=65535, help="Port to listen on.")] = 8765,
    host: Annotated[str, typer.Option(metavar="HOST", help="Loopback address to listen on.")] = "127.0.0.1",
    speed: Annotated[float, typer.Option(metavar="X", min=0.1, max=120.0,
                                         help="Scenario seconds per wall second at start.")] = 1.0,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed for the sensors.")] = 0,
) -> None:
    """Run the base scenario through the exercise engine, then serve the session; prints one link per seat.

    \b
    Example:
      triwarn tabletop serve guam-nuclear --out out/ttx
    """
    from triwarn.tabletop.commands import run_tabletop_serve

    run_tabletop_serve(scenario=scenario, out=out, port=port, host=host, speed=speed, seed=seed)


@tabletop_app.command("run", short_help="Play scripted seats' decisions; write the AAR/IP.")
@exit_2_on_input_error
def tabletop_run(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO", help=SCENARIO_HELP)],
    decisions: Annotated[Path, typer.Option(metavar="FILE", help="The seats' decisions (YAML).")],
    out: Annotated[Path, typer.Option(metavar="DIR", help="Output folder.")],
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed for the sensors.")] = 0,
) -> None:
    """Play a tabletop exercise with scripted seats, deterministically; write aar.html, aar.pdf, aar.json,
    timeline.jsonl and the seats' CAP documents.

    \b
    Example:
      triwarn tabletop run guam-nuclear \\
        --decisions src/triwarn/scenarios/tabletop/guam-nuclear/decisions.yaml --out out/ttx
    """
    from triwarn.tabletop.commands import run_tabletop_run

    run_tabletop_run(scenario=scenario, decisions=decisions, out=out, seed=seed)
