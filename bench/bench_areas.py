"""Speed of the alert-area lookups: load, classify 100,000 points, areas_along, areas_near, CAP.

    .venv/bin/python bench/bench_areas.py
"""

from __future__ import annotations

import time

import numpy as np

from triwarn.geo.areas import AreaIndex


def main() -> None:
    t0 = time.perf_counter()
    index = AreaIndex.load()
    print(f"load: {time.perf_counter() - t0:.2f} s")
    rng = np.random.default_rng(1)
    n = 100_000
    # uniform over the western Pacific box holding Japan, Korea and the Marianas
    lat = rng.uniform(10.0, 50.0, n)
    lon = rng.uniform(120.0, 160.0, n)
    cases = {"box 10-50N 120-160E": (lat, lon),
             "Japan 30-46N 128-146E": (rng.uniform(30, 46, n), rng.uniform(128, 146, n))}
    for label, (la, lo) in cases.items():
        index.classify(la[:100], lo[:100])
        t0 = time.perf_counter()
        _codes, zones = index.classify(la, lo)
        dt = time.perf_counter() - t0
        shares = {z or "outside": f"{np.mean(zones == z):.1%}"
                  for z in ("land", "territorial_sea", "eez", "")}
        print(f"classify {n:,} points, {label}: {dt:.3f} s ({n / dt:,.0f} points/s) {shares}")
    track_lat = np.linspace(39.0, 41.0, 2000)
    track_lon = np.linspace(125.0, 145.0, 2000)
    t0 = time.perf_counter()
    runs = index.areas_along(track_lat, track_lon)
    print(f"areas_along 2,000 samples: {(time.perf_counter() - t0) * 1e3:.1f} ms, {len(runs)} runs")
    t0 = time.perf_counter()
    for _ in range(100):
        index.areas_near(38.0, 136.0, 300e3)
    print(f"areas_near 300 km: {(time.perf_counter() - t0) * 10:.1f} ms each")
    t0 = time.perf_counter()
    for code in index.codes:
        index.cap_polygon(code, max_points=100)
    print(f"cap_polygon for all {len(index.codes)} areas: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
