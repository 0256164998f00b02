"""Benchmark scenarios: N ballistic objects from salvos of SRBM/MRBM launches, 2 to 8 radars, clutter.

Written as scenario YAML for `triwarn simulate`, so that both trackers read the very same files.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

# Plausible public-knowledge placements and round figures (as in the shipped scenarios), not real ones.
RADARS = [
    {"id": "kr-ddg-east-sea", "nation": "kr", "lat_deg": 37.90, "lon_deg": 129.60, "alt_m": 25,
     "sigma_range_m": 20, "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "revisit_s": 1.0,
     "max_range_m": 1_000_000, "min_el_deg": 1.0, "p_detect": 0.9, "scan_phase_s": 0.6},
    {"id": "jp-ddg-sea-of-japan", "nation": "jp", "lat_deg": 39.50, "lon_deg": 135.00, "alt_m": 25,
     "sigma_range_m": 20, "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "revisit_s": 1.0,
     "max_range_m": 1_000_000, "min_el_deg": 1.0, "p_detect": 0.9, "scan_phase_s": 0.4},
    {"id": "kr-gp-central", "nation": "kr", "lat_deg": 36.60, "lon_deg": 127.45, "alt_m": 300,
     "sigma_range_m": 30, "sigma_az_deg": 0.08, "sigma_el_deg": 0.08, "revisit_s": 2.0,
     "max_range_m": 900_000, "min_el_deg": 0.5, "p_detect": 0.9, "scan_phase_s": 0.3,
     "boresight_az_deg": 355, "half_width_az_deg": 60},
    {"id": "us-tpy2-seongju", "nation": "us", "lat_deg": 35.93, "lon_deg": 128.18, "alt_m": 680,
     "sigma_range_m": 10, "sigma_az_deg": 0.03, "sigma_el_deg": 0.03, "revisit_s": 1.0,
     "max_range_m": 900_000, "min_el_deg": 0.5, "p_detect": 0.95, "scan_phase_s": 0.8,
     "boresight_az_deg": 345, "half_width_az_deg": 60},
    {"id": "jp-fps5-sado", "nation": "jp", "lat_deg": 38.07, "lon_deg": 138.25, "alt_m": 300,
     "sigma_range_m": 25, "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "revisit_s": 2.0,
     "max_range_m": 1_500_000, "min_el_deg": 1.0, "p_detect": 0.95, "scan_phase_s": 0.2},
    {"id": "kr-gp-south", "nation": "kr", "lat_deg": 35.70, "lon_deg": 128.90, "alt_m": 400,
     "sigma_range_m": 30, "sigma_az_deg": 0.08, "sigma_el_deg": 0.08, "revisit_s": 2.0,
     "max_range_m": 900_000, "min_el_deg": 0.5, "p_detect": 0.9, "scan_phase_s": 1.1,
     "boresight_az_deg": 350, "half_width_az_deg": 60},
    {"id": "us-tpy2-shariki", "nation": "us", "lat_deg": 40.89, "lon_deg": 140.34, "alt_m": 50,
     "sigma_range_m": 10, "sigma_az_deg": 0.03, "sigma_el_deg": 0.03, "revisit_s": 1.0,
     "max_range_m": 1_500_000, "min_el_deg": 0.5, "p_detect": 0.95, "scan_phase_s": 0.5,
     "boresight_az_deg": 265, "half_width_az_deg": 60},
    {"id": "jp-fps5-ominato", "nation": "jp", "lat_deg": 41.27, "lon_deg": 141.13, "alt_m": 400,
     "sigma_range_m": 25, "sigma_az_deg": 0.05, "sigma_el_deg": 0.05, "revisit_s": 2.0,
     "max_range_m": 1_500_000, "min_el_deg": 1.0, "p_detect": 0.95, "scan_phase_s": 1.4},
]
SITES = ["wonsan", "sinpo", "sunan", "pyongsong", "mupyong-ni"]


def scenario(n_launches: int, n_radars: int, clutter_rate: float, spacing_s: float = 4.0) -> dict:
    """A scenario dict: n_launches SRBM-class launches (each puts up a warhead and a spent stage),
    in salvos from up to five sites aimed east into the Sea of Japan, seen by the first n_radars."""
    per_site = math.ceil(n_launches / len(SITES))
    launches = []
    left = n_launches
    for i, site in enumerate(SITES):
        count = min(per_site, left)
        if count <= 0:
            break
        left -= count
        launch = {"id": f"L{i}", "time_utc": f"2024-01-14T05:{i:02d}:00Z", "site": site,
                  "azimuth_deg": 85 + 5 * (i % 3), "apogee_km": 120 + 20 * i, "range_km": 450 + 60 * i,
                  "missile_class": "srbm"}
        if count > 1:
            launch["salvo"] = {"count": count, "spacing_s": spacing_s, "spread_az_deg": 20.0,
                               "spread_range_km": 150.0}
        launches.append(launch)
    radars = [dict(r, kind="radar", clutter_rate=clutter_rate) for r in RADARS[:n_radars]]
    return {"name": f"bench {n_launches} launches {n_radars} radars", "truth_dt_s": 1.0, "flight_dt_s": 1.0,
            "launches": launches, "sensors": radars}


def write_scenario(path: Path, n_launches: int, n_radars: int, clutter_rate: float) -> Path:
    """Write the scenario YAML and return its path."""
    path.write_text(yaml.safe_dump(scenario(n_launches, n_radars, clutter_rate), sort_keys=False))
    return path
