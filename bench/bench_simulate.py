"""Benchmark of `triwarn simulate`: 100 objects x 8 radars x 1 hour at a 1 s revisit.

Goal (issue 2): under 60 s and under 1 GB peak RSS. Runs the real command in a child process on a
generated scenario (a salvo of lofted ICBM-class launches, each putting a warhead and its spent stages in
the air, fanned in azimuth so every trajectory is solved; 8 all-round radars with clutter; a GEO IR
satellite) and prints wall time, peak RSS and the counts.

    .venv/bin/python bench/bench_simulate.py [--launches 34] [--radars 8] [--hours 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

RADAR_SITES = [  # (lat, lon): along the Korean peninsula, the Sea of Japan coast and at sea
    (36.6, 127.45), (35.7, 128.9), (37.9, 129.6), (38.07, 138.25), (41.27, 141.13), (37.4, 136.9),
    (39.5, 135.0), (40.89, 140.34), (35.93, 128.18), (34.0, 131.0), (43.0, 141.3), (33.5, 126.5),
]


def scenario(launches: int, radars: int, hours: float) -> dict:
    sensors = [
        {"id": f"radar-{i + 1}", "nation": "kr" if i % 3 == 0 else "jp" if i % 3 == 1 else "us",
         "kind": "radar", "lat_deg": lat, "lon_deg": lon, "alt_m": 100.0, "sigma_range_m": 20.0,
         "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "revisit_s": 1.0, "max_range_m": 4.0e6,
         "min_el_deg": 0.5, "p_detect": 0.9, "clutter_rate": 1.0, "scan_phase_s": 0.1 * i}
        for i, (lat, lon) in enumerate((RADAR_SITES * 4)[:radars])
    ]
    sensors.append({"id": "ir-geo", "nation": "us", "kind": "ir", "platform": "geo", "sub_lon_deg": 105.0,
                    "sigma_los_urad": 60.0, "frame_s": 2.0, "latency_s": 4.0, "p_detect": 0.95})
    return {
        "name": "bench: lofted salvo",
        "start_utc": "2023-07-12T00:00:00Z",
        "end_utc": _plus_hours("2023-07-12T00:00:00", hours),
        "launches": [{
            "id": "B", "time_utc": "2023-07-12T00:00:00Z", "site": "sunan", "azimuth_deg": 80.0,
            "apogee_km": 6000, "range_km": 1000, "missile_class": "icbm",
            "salvo": {"count": launches, "spacing_s": 20, "spread_az_deg": 20, "spread_range_km": 200},
        }],
        "sensors": sensors,
    }


def _plus_hours(start: str, hours: float) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.fromisoformat(start).replace(tzinfo=UTC) + timedelta(hours=hours)).isoformat()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--launches", type=int, default=34, help="launches (3 objects each for this class)")
    ap.add_argument("--radars", type=int, default=8)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, default=None, help="write the outputs here and keep them")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        scen = folder / "bench-scenario.yaml"
        scen.write_text(yaml.safe_dump(scenario(args.launches, args.radars, args.hours), sort_keys=False))
        triwarn = Path(sys.executable).with_name("triwarn")
        cmd = [str(triwarn), "simulate", str(scen), "--out", str(folder / "out"), "--seed", str(args.seed)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = usage.ru_maxrss / 1024.0
        cpu_s = usage.ru_utime + usage.ru_stime  # the figure that does not depend on other load
        if proc.returncode != 0:
            sys.exit(f"triwarn simulate failed ({proc.returncode}):\n{proc.stderr}")
        print(proc.stdout.rstrip())
        n_meas = sum(1 for _ in (folder / "out" / "measurements.jsonl").open("rb"))
        size_mb = (folder / "out" / "measurements.jsonl").stat().st_size / 1e6
        figures = {"launches": args.launches, "radars": args.radars, "hours": args.hours,
                   "wall_s": round(wall, 2), "cpu_s": round(cpu_s, 2),
                   "peak_rss_mb": round(peak_mb, 1), "measurement_lines": n_meas,
                   "measurements_mb": round(size_mb, 1)}
        print(json.dumps(figures))
        ok = wall < 60.0 and peak_mb < 1024.0
        print(f"goal (< 60 s, < 1 GB): {'met' if ok else 'NOT met'}: {wall:.1f} s, {peak_mb:.0f} MB peak RSS")


if __name__ == "__main__":
    main()
