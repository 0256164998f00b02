"""Command bodies of `triwarn replay` (and, later, `triwarn exercise` and `triwarn demo`)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console


def run_replay(*, sensors: Path, measurements: Path, out: Path, share: bool, step_s: float,
               network: Path | None) -> None:
    from triwarn.exercise.replay import replay

    console = Console(stderr=True)
    wall0 = time.perf_counter()
    summary = replay(sensors, measurements, out, share=share, step_s=step_s, network=network)
    wall = time.perf_counter() - wall0
    span = summary["t_end_unix_s"] - summary["t_start_unix_s"]
    console.print(f"replayed {span:.0f} s of data in {wall:.1f} s ({span / max(wall, 1e-9):.0f}x real time); "
                  f"{summary['cap_messages']} CAP messages; outputs in {out}")
    for row in summary.get("sharing_gain", []):
        console.print(f"  {row['node']} {row['area']}: first shelter alert shared={row['first_shelter_shared_unix_s']} "
                      f"alone={row['first_shelter_alone_unix_s']} gain_s={row['gain_s']}")
