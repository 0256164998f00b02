"""`triwarn trajectory`: solve a reported launch and print its flight; optionally write the warhead's path."""

from __future__ import annotations

import json
import math
from pathlib import Path

from triwarn.errors import InputError
from triwarn.physics.flight import fly
from triwarn.physics.launch import Flight, LaunchSpec
from triwarn.physics.trajectory_file import write_trajectory_jsonl

# Spec fields as the command line spells them, so that errors name what the user typed.
CLI_FIELD = {
    "launch_lat_deg": "--launch",
    "launch_lon_deg": "--launch",
    "aim_lat_deg": "--aim",
    "aim_lon_deg": "--aim",
    "azimuth_deg": "--azimuth",
    "apogee_km": "--apogee-km",
    "range_km": "--range-km",
    "burn_s": "--burn-s",
}


def parse_lat_lon(text: str, field: str) -> tuple[float, float]:
    """'LAT,LON' in degrees to two floats; InputError naming field if malformed (range checked later)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2:
        raise InputError(f"expected LAT,LON in degrees, got {text!r}", field=field)
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(f"expected LAT,LON in degrees, got {text!r}", field=field) from None
    return lat, lon


def flight_summary(flight: Flight) -> dict:
    """The figures the command prints: flight, burnout, apogee, range and impact (JSON-ready)."""
    x = flight.extra
    return {
        "flight_time_s": float(flight.flight_time_s),
        "burnout_t_s": float(flight.burnout_t_s),
        "burnout_alt_km": float(x["burnout_alt_km"]),
        "burnout_speed_mps": float(x["burnout_speed_mps"]),
        "burnout_fpa_deg": float(x["burnout_fpa_deg"]),
        "burnout_lat_deg": float(x["burnout_lat_deg"]),
        "burnout_lon_deg": float(x["burnout_lon_deg"]),
        "apogee_km": float(flight.apogee_km),
        "apogee_t_s": float(x["apogee_t_s"]),
        "range_km": float(flight.range_km),
        "impact_lat_deg": float(flight.impact_lat_deg),
        "impact_lon_deg": float(flight.impact_lon_deg),
        "launch_lat_deg": float(flight.spec.launch_lat_deg),
        "launch_lon_deg": float(flight.spec.launch_lon_deg),
        "azimuth_deg": float(x["target_az_deg"]),
        "heading_az_deg": float(x["heading_az_deg"]),
        "missile_class": x["missile_class"],
        "burn_s": float(x["burn_s"]),
        "objects": [
            {k: (float(v) if isinstance(v, float) else v) for k, v in imp.items()} for imp in x["impacts"]
        ],
    }


def _print_table(summary: dict) -> None:
    from rich.table import Table

    from triwarn.wording import console

    s = summary
    table = Table(title="Trajectory (solved from reported apogee and range)", show_header=True)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    rows = [
        ("missile class (assumed)", f"{s['missile_class']} ({s['burn_s']:.0f} s burn)"),
        ("flight time", f"{s['flight_time_s']:.1f} s ({s['flight_time_s'] / 60:.1f} min)"),
        ("burnout time", f"{s['burnout_t_s']:.1f} s"),
        ("burnout altitude", f"{s['burnout_alt_km']:.1f} km"),
        ("burnout speed (Earth-fixed)", f"{s['burnout_speed_mps']:.0f} m/s"),
        ("burnout flight-path angle", f"{s['burnout_fpa_deg']:.2f} deg"),
        ("burnout point", f"{s['burnout_lat_deg']:.4f}, {s['burnout_lon_deg']:.4f}"),
        ("apogee", f"{s['apogee_km']:.1f} km at {s['apogee_t_s']:.0f} s"),
        ("ground range", f"{s['range_km']:.1f} km"),
        ("impact point", f"{s['impact_lat_deg']:.4f}, {s['impact_lon_deg']:.4f}"),
        ("impact bearing / launch heading", f"{s['azimuth_deg']:.2f} / {s['heading_az_deg']:.2f} deg"),
    ]
    for obj in s["objects"]:
        if obj["object_id"] != "warhead":
            rows.append(
                (
                    f"{obj['object_id']} impact",
                    f"{obj['lat_deg']:.3f}, {obj['lon_deg']:.3f} at {obj['t_s']:.0f} s",
                )
            )
    for name, value in rows:
        table.add_row(name, value)
    console().print(table)


def run_trajectory(
    *,
    launch: str,
    aim: str | None,
    azimuth: float | None,
    apogee_km: float,
    range_km: float,
    burn_s: float | None,
    as_json: bool,
    out: Path | None,
    dt_s: float = 1.0,
) -> Flight:
    """Body of `triwarn trajectory`. InputError (exit code 2) names the option that was wrong."""
    if (aim is None) == (azimuth is None):
        why = "both were given" if aim is not None else "neither was given"
        raise InputError(f"give exactly one of --aim and --azimuth ({why})", field="--aim/--azimuth")
    lat, lon = parse_lat_lon(launch, "--launch")
    aim_lat = aim_lon = None
    if aim is not None:
        aim_lat, aim_lon = parse_lat_lon(aim, "--aim")
    spec = LaunchSpec(
        launch_lat_deg=lat,
        launch_lon_deg=lon,
        apogee_km=apogee_km,
        range_km=range_km,
        azimuth_deg=azimuth,
        aim_lat_deg=aim_lat,
        aim_lon_deg=aim_lon,
        burn_s=burn_s,
    )
    try:
        flight = fly(spec, dt_s=dt_s)
    except InputError as exc:
        if exc.field in CLI_FIELD:
            raise InputError(exc.reason, field=CLI_FIELD[exc.field]) from None
        raise
    summary = flight_summary(flight)
    if out is not None:
        write_trajectory_jsonl(flight.objects[0], out)
    if as_json:
        print(json.dumps(summary, allow_nan=False))
    else:
        _print_table(summary)
        if out is not None:
            print(f"warhead trajectory: {len(flight.objects[0].t_s)} samples written to {out}")
    assert math.isfinite(summary["flight_time_s"])
    return flight
