"""The trajectory JSONL file written by `triwarn trajectory --out`: the one module that writes it.

One sample per line, in time order:
    {"t": s after launch, "ecef_m": [x, y, z], "vel_ecef_mps": [vx, vy, vz],
     "lat_deg": geodetic, "lon_deg": geodetic, "alt_m": height above the WGS84 ellipsoid,
     "phase": "boost" | "ballistic"}
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from triwarn.errors import InputError
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.physics.launch import ObjectTrajectory


def trajectory_lines(traj: ObjectTrajectory) -> list[str]:
    """The JSONL lines (without newlines) of one object's samples."""
    lat, lon, alt = ecef_to_geodetic(traj.pos_ecef_m)
    lat_deg, lon_deg = np.degrees(lat), np.degrees(lon)
    return [
        json.dumps(
            {
                "t": round(float(traj.t_s[i]), 6),
                "ecef_m": [round(float(v), 3) for v in traj.pos_ecef_m[i]],
                "vel_ecef_mps": [round(float(v), 4) for v in traj.vel_ecef_mps[i]],
                "lat_deg": round(float(lat_deg[i]), 7),
                "lon_deg": round(float(lon_deg[i]), 7),
                "alt_m": round(float(alt[i]), 3),
                "phase": str(traj.phase[i]),
            }
        )
        for i in range(len(traj.t_s))
    ]


def write_trajectory_jsonl(traj: ObjectTrajectory, path: Path, field: str = "--out") -> None:
    """Write traj to path as JSONL; InputError naming the field if the file cannot be written."""
    try:
        Path(path).write_text("\n".join(trajectory_lines(traj)) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}", field=field) from None
