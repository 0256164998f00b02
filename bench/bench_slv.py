"""Satellite launches (issue #14): the orbit and the falling pieces, as the real pipeline sees them.

Run: .venv/bin/python bench/bench_slv.py [--seed N] [--only NAME]

For each bundled SLV scenario: `triwarn simulate` -> `triwarn track` -> Fuser -> Assessor (no areas: this
bench measures the orbit and the falls, not the alerts). At each report time each system track is matched
to the true object nearest to it (within 30 km): a track may follow another piece after staging, so every
prediction counts for the object its track followed when it was made. Figures printed:

- orbit: when the payload's track was first found orbital, seconds after insertion, and the distance
  between its first estimate's SGP4 position 10 minutes later and the truth (goals: <= 60 s, <= 20 km);
  the number of impact predictions made for orbital objects after insertion (should be 0);
- each falling piece: the error of its track's last impact prediction made by the time the piece is 60 s
  from the sea (goal: <= 20 km), or "no track" / "no prediction";
- declared zones: each true fall inside or outside the zone declared for it (geo.hazard_zones).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.assess.reader import read_tracks
from triwarn.fusion.fuser import Fuser
from triwarn.geo.geodesic import inverse
from triwarn.geo.hazard_zones import score_falls
from triwarn.physics.slv import fly_slv
from triwarn.records.events import ImpactPrediction
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.scenario import bundled_dir, load_scenario
from triwarn.tracking.commands import run_track

SLV_SCENARIOS = ["2023-05-31-slv-second-stage-failure", "2023-08-24-slv-third-stage-failure",
                 "2023-11-21-slv-orbit", "2024-05-27-slv-first-stage-explosion"]
MATCH_M = 30e3


class Truth:
    """The flight's objects (ids "<launch>/<object>"), positions interpolated at unix times."""

    def __init__(self, launch_id: str, t0_unix_s: float, objects) -> None:
        self.objs = {f"{launch_id}/{o.object_id}": (t0_unix_s + o.t_s, o.pos_ecef_m) for o in objects}

    def position(self, obj: str, t: float) -> np.ndarray:
        ts, pos = self.objs[obj]
        return np.array([np.interp(t, ts, pos[:, k]) for k in range(3)])

    def nearest(self, t: float, pos: np.ndarray, max_m: float) -> str | None:
        best, best_d = None, max_m
        for obj, (ts, _) in self.objs.items():
            if ts[0] <= t <= ts[-1]:
                d = float(np.linalg.norm(self.position(obj, t) - pos))
                if d < best_d:
                    best, best_d = obj, d
        return best


def run(name: str, seed: int) -> None:
    path = bundled_dir() / f"{name}.yaml"
    sc = load_scenario(path)
    ev = sc.launches[0]
    flight = fly_slv(ev.spec, sc.flight_dt_s)
    t0 = ev.t_unix_s
    truth = Truth(ev.id, t0, flight.objects)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        with contextlib.redirect_stderr(io.StringIO()):
            run_simulate(scenario=path, out=out, seed=seed, quiet=True)
            run_track(out / "sensors.yaml", out / "measurements.jsonl", out / "tracks.jsonl", quiet=True)
        tables = read_tracks(out / "tracks.jsonl", "own")
    fuser, assessor = Fuser(), Assessor(None, AssessConfig(seed=seed))
    preds: dict[str, list[ImpactPrediction]] = defaultdict(list)  # true object -> predictions for it
    match: dict[tuple[str, float], str] = {}  # (system track, t) -> true object
    with contextlib.redirect_stderr(io.StringIO()):
        for t in sorted(tables):
            system = fuser.update(t, tables[t])
            for k, tid in enumerate(system.track_id.tolist()):
                obj = truth.nearest(t, system.pos_ecef_m[k], MATCH_M)
                if obj is not None:
                    match[(tid, t)] = obj
            for e in assessor.step(t, system):
                if isinstance(e, ImpactPrediction) and not e.powered and (e.track, t) in match:
                    preds[match[(e.track, t)]].append(e)
    followed = set(match.values())
    print(f"\n{name} (seed {seed}): outcome {flight.extra['outcome']}, "
          f"{len(flight.objects)} objects, {len(followed)} of them tracked")
    payload = f"{ev.id}/payload"
    if flight.extra["outcome"] == "orbit":
        t_ins = t0 + flight.burnout_t_s
        found = [(tid, t) for tid, t in assessor.orbits.first_unix_s.items() if match.get((tid, t)) == payload]
        if not found:
            print("  orbit: NOT recognised")
        else:
            tid, t_first = min(found, key=lambda x: x[1])
            first = assessor.orbits.first[tid]
            t_check = first.elements.epoch_unix_s + 600.0
            err = float(np.linalg.norm(first.position_ecef_m(t_check)[0] - truth.position(payload, t_check)))
            print(f"  orbit: recognised {t_first - t_ins:+.0f} s after insertion; 10-min-ahead error "
                  f"{err / 1e3:.2f} km; {first.elements.perigee_km:.0f} x {first.elements.apogee_km:.0f} km, "
                  f"{first.elements.incl_deg:.2f} deg (sigma sma {first.elements.sigma['sma_km']:.2f} km)")
        wrong = sum(1 for p in preds[payload] if p.t > t_ins)
        print(f"  impact predictions for the orbiting payload after insertion: {wrong}")
    for piece in flight.extra["pieces"]:
        if not piece["fell"]:
            continue
        obj = f"{ev.id}/{piece['object_id']}"
        t_fall = t0 + piece["t_s"]
        cands = [p for p in preds.get(obj, []) if p.t <= t_fall - 60.0]
        if obj not in followed:
            print(f"  {piece['object_id']:9s} fell T+{piece['t_s']:.0f} s: no track")
        elif not cands:
            print(f"  {piece['object_id']:9s} fell T+{piece['t_s']:.0f} s: no prediction by 60 s before")
        else:
            last = max(cands, key=lambda p: p.t)
            d, _ = inverse(last.lat_deg, last.lon_deg, piece["lat_deg"], piece["lon_deg"])
            print(f"  {piece['object_id']:9s} fell T+{piece['t_s']:.0f} s: prediction at T{last.t - t_fall:+.0f} s "
                  f"off by {float(d) / 1e3:.1f} km")
    if sc.hazard_notice is not None:
        falls = [(p["object_id"], p["lat_deg"], p["lon_deg"]) for p in flight.extra["pieces"] if p["fell"]]
        for s in score_falls(sc.hazard_notice, falls):
            where = "inside" if s.inside else f"outside ({s.distance_km:.0f} km)"
            print(f"  zone {s.zone}{'' if s.declared_for_piece else ' (nearest)'}: {s.object_id} {where}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    for name in SLV_SCENARIOS:
        if args.only and args.only not in name:
            continue
        run(name, args.seed)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
