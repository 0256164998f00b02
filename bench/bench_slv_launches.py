"""Launches declared, and far cut-off shelters, on the SLV and salvo scenarios (issue #14), without NATS.

Run: .venv/bin/python bench/bench_slv_launches.py [--seed N] [--only NAME]   (about 1 min per scenario)

For each scenario: `triwarn simulate`, `triwarn track`, then one fuser and assessor per node view (the
nations whose tracks a node fuses: kr sees kr+jp, jp and us see all three, as in `network.yaml`'s default
release policy), stepped on the tracker's report times. Prints per view:

- the launches declared (LaunchEvent launch ids) with the track that opened each, its altitude and mode
  when first seen, and the estimated launch time; the truth's number of launches beside it (a salvo's
  missiles are launches of their own; an SLV is one launch);
- on the SLV scenarios (with areas): trusted cut-off path area risks (quality >= 0.5, flag cutoff_path)
  for areas whose land is more than 100 km from every object's true ground track - the shelter alerts
  bench/bench_slv_warn.py counts come from these (goal: 0).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np
from shapely.geometry import LineString

from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.assess.reader import read_tracks
from triwarn.fusion.fuser import Fuser
from triwarn.geo.areas import AreaIndex
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.physics.slv import fly_slv
from triwarn.records.events import TRUSTED_QUALITY, AreaRisk, Flag, LaunchEvent
from triwarn.records.tracks import NationalTracks
from triwarn.sensors.commands import run_sensors_split, run_simulate
from triwarn.sensors.scenario import bundled_dir, load_scenario
from triwarn.tracking.commands import run_track

SLV = ["2023-05-31-slv-second-stage-failure", "2023-08-24-slv-third-stage-failure", "2023-11-21-slv-orbit",
       "2024-05-27-slv-first-stage-explosion"]
SALVO = ["salvo-srbm-example", "salvo-srbm-24"]
VIEWS = {"kr": ("kr", "jp"), "jp": ("jp", "kr", "us")}
KM_PER_DEG = 111.2


def truth_paths(sc) -> list[LineString]:
    """Every object's true ground track (lon, lat) above 1 km, for an SLV scenario."""
    out = []
    flight = fly_slv(sc.launches[0].spec, sc.flight_dt_s)
    for o in flight.objects:
        lat, lon, alt = ecef_to_geodetic(o.pos_ecef_m)
        up = alt > 1e3
        if up.sum() >= 2:
            out.append(LineString(list(zip(np.degrees(lon[up]), np.degrees(lat[up]), strict=True))))
    return out


def run(name: str, seed: int) -> None:
    path = bundled_dir() / f"{name}.yaml"
    sc = load_scenario(path)
    t0 = min(ev.t_unix_s for ev in sc.launches)
    slv = name in SLV
    areas = AreaIndex.load() if slv else None
    paths = truth_paths(sc) if slv else []
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(io.StringIO()):
        tmp = Path(tmp)
        run_simulate(scenario=path, out=tmp, seed=seed, quiet=True)
        with contextlib.redirect_stdout(io.StringIO()):
            nations = run_sensors_split(sensors=tmp / "sensors.yaml", measurements=tmp / "measurements.jsonl",
                                        out=tmp / "split")
        tables: dict[float, list[NationalTracks]] = {}
        for n in nations:  # each nation's own tracker, as on its node
            run_track(tmp / "split" / f"sensors-{n}.yaml", tmp / "split" / f"measurements-{n}.jsonl",
                      tmp / f"tracks-{n}.jsonl", quiet=True)
            for t, tab in read_tracks(tmp / f"tracks-{n}.jsonl", n).items():
                tables.setdefault(t, []).append(tab)
    print(f"\n{name} (seed {seed}): {len(sc.launches)} launches in the truth")
    far_km: dict[str, float] = {}
    for view, seen in VIEWS.items():
        fuser, assessor = Fuser(), Assessor(areas, AssessConfig(seed=seed, boost_risk=False))
        opened: dict[str, str] = {}
        far: dict[str, str] = {}
        with contextlib.redirect_stderr(io.StringIO()):
            for t in sorted(tables):
                tabs = [tab for tab in tables[t] if tab.nation[0] in seen]
                if not tabs:
                    continue
                system = fuser.update(t, tabs)
                row = {tid: k for k, tid in enumerate(system.track_id.tolist())}
                for e in assessor.step(t, system):
                    if isinstance(e, LaunchEvent) and e.launch_id not in opened:
                        k = row[e.track]
                        alt = float(ecef_to_geodetic(system.pos_ecef_m[k])[2]) / 1e3
                        mode = "boost" if system.boost[k] else "ballistic"
                        opened[e.launch_id] = (f"{e.launch_id} by {e.track} at T+{t - t0:.0f} ({mode}, {alt:.0f} km); "
                                               f"launch T+{e.time_unix_s - t0:.0f} at {e.lat_deg:.2f} {e.lon_deg:.2f}")
                    elif (slv and isinstance(e, AreaRisk) and Flag.CUTOFF_PATH in e.flags
                          and e.quality >= TRUSTED_QUALITY and e.probability > 0 and e.area not in far):
                        if e.area not in far_km:
                            land = areas.geometry(e.area, "land")
                            far_km[e.area] = min(land.distance(p) for p in paths) * KM_PER_DEG
                        if far_km[e.area] > 100.0:
                            far[e.area] = f"{e.area} ({far_km[e.area]:.0f} km) by {e.track} at T+{t - t0:.0f}"
        print(f"  {view} ({'+'.join(seen)}): {len(opened)} launches declared")
        for line in opened.values():
            print(f"    {line}")
        if slv:
            print(f"    trusted cut-off hits on areas > 100 km from the path: {len(far)}"
                  + "".join(f"\n      {v}" for v in far.values()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    for name in SLV + SALVO:
        if args.only and args.only not in name:
            continue
        run(name, args.seed)


if __name__ == "__main__":
    main()
