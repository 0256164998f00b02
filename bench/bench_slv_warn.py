"""Satellite launches (issue #14): the warnings the nodes issue, scored against the true flight.

Run: .venv/bin/python bench/bench_slv_warn.py [--seed N] [--only NAME]   (about 3 min per scenario)

For each bundled SLV scenario: `triwarn simulate`, then `triwarn replay` (three nodes, sharing, lockstep on
the simulated clock; no baseline). From the CAP messages written (first language block) and the truth:

- per alerted area: first shelter alert, the overflight (the first moment any flying object's ground
  track is within 20 km of the area's land), the lead (goal for Okinawa, JP-47: >= 180 s), and the
  number of messages naming the area after the overflight (goal: <= 3);
- shelter alerts for areas whose land is more than 100 km from every object's true ground track (goal: 0);
- on 2023-05-31, the all-clear for Okinawa after the evidence (the failed stack's predicted fall) —
  printed as the time of each message naming JP-47;
- per node, the launches its assessment declared (launch events in events.jsonl), with each one's estimated
  launch time (goal: one per node; a stage or piece is no launch of its own).
--keep DIR copies each replay's outputs (cap/, events.jsonl, tracks.jsonl) to DIR/NAME-sSEED.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import json
import shutil
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
from lxml import etree
from shapely.geometry import LineString, Point

from triwarn.exercise.replay import replay
from triwarn.geo.areas import AreaIndex
from triwarn.geo.frames import ecef_to_geodetic
from triwarn.physics.slv import fly_slv
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.scenario import bundled_dir, load_scenario

SLV_SCENARIOS = ["2023-05-31-slv-second-stage-failure", "2023-08-24-slv-third-stage-failure",
                 "2023-11-21-slv-orbit", "2024-05-27-slv-first-stage-explosion"]
NS = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
KM_PER_DEG = 111.2


def cap_messages(folder: Path) -> list[tuple[float, str, str, list[str]]]:
    """(sent unix s, msgType, responseType, area codes) of every CAP file, in time order."""
    out = []
    for f in glob.glob(str(folder / "cap" / "*.xml")):
        x = etree.parse(f)
        sent = datetime.fromisoformat(x.findtext("c:sent", namespaces=NS)).timestamp()
        info = x.findall("c:info", namespaces=NS)[0]
        codes = [a.findtext("c:geocode/c:value", namespaces=NS) for a in info.findall("c:area", namespaces=NS)]
        out.append((sent, x.findtext("c:msgType", namespaces=NS), info.findtext("c:responseType", namespaces=NS),
                    [c for c in codes if c]))
    return sorted(out)


def launches_declared(folder: Path) -> dict[str, list[str]]:
    """Per node: the launch ids its assessment declared, with the launch time (in first-seen order)."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    with open(folder / "events.jsonl", encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            if e.get("type") == "launch":
                out[e.get("node", "?")].setdefault(e.get("launch_id") or "?", e["time_unix_s"])
    return {n: [f"{k}@{v:.0f}" for k, v in d.items()] for n, d in out.items()}


def ground_tracks(flight, t0: float) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(t unix s, lat deg, lon deg) of each object's ground track, above 1 km."""
    out = []
    for o in flight.objects:
        lat, lon, alt = ecef_to_geodetic(o.pos_ecef_m)
        up = alt > 1e3
        out.append((t0 + o.t_s[up], np.degrees(lat[up]), np.degrees(lon[up])))
    return out


def run(name: str, seed: int, keep: Path | None = None) -> None:
    path = bundled_dir() / f"{name}.yaml"
    sc = load_scenario(path)
    ev = sc.launches[0]
    flight = fly_slv(ev.spec, sc.flight_dt_s)
    tracks = ground_tracks(flight, ev.t_unix_s)
    index = AreaIndex.load()
    with tempfile.TemporaryDirectory() as tmp:
        rec, out = Path(tmp) / "rec", Path(tmp) / "out"
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            run_simulate(scenario=path, out=rec, seed=seed, quiet=True)
            replay(rec / "sensors.yaml", rec / "measurements.jsonl", out, baseline=False, progress=False)
        msgs = cap_messages(out)
        launches = launches_declared(out)
        if keep is not None:
            shutil.copytree(out, keep / f"{name}-s{seed}", dirs_exist_ok=True)
    print(f"\n{name} (seed {seed}): {len(msgs)} CAP messages, outcome {flight.extra['outcome']}")
    for node, ids in sorted(launches.items()):
        rel = " ".join(f"{i.split('@')[0]}@T+{float(i.split('@')[1]) - ev.t_unix_s:.0f}" for i in ids)
        print(f"  launches declared by {node}: {len(ids)} ({rel})")
    named: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for t, _mt, rt, codes in msgs:
        for c in codes:
            if "-" in c:
                named[c].append((t, rt))
    far = 0
    for code in sorted(named):
        land = index.geometry(code, "land")
        dist_km, over_t = np.inf, None
        for ts, la, lo in tracks:
            if len(ts) < 2:
                continue
            line = LineString(list(zip(lo, la, strict=True)))
            dist_km = min(dist_km, land.distance(line) * KM_PER_DEG)
            near = [t for t, a, b in zip(ts[::5], la[::5], lo[::5], strict=True)
                    if land.distance(Point(b, a)) * KM_PER_DEG < 20.0]
            if near and (over_t is None or near[0] < over_t):
                over_t = near[0]
        shelter = [t for t, rt in named[code] if rt == "Shelter"]
        seq = " ".join(f"{rt}@T+{t - ev.t_unix_s:.0f}" for t, rt in named[code])
        lead = f"lead {over_t - shelter[0]:.0f} s" if shelter and over_t else "no overflight"
        after = sum(1 for t, _ in named[code] if over_t is not None and t > over_t)
        if shelter and dist_km > 100.0:
            far += 1
        print(f"  {code}: {dist_km:.0f} km from the path; {lead}; {after} messages after overflight; {seq}")
    print(f"  shelter alerts > 100 km from the path: {far}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--only", default=None)
    ap.add_argument("--keep", type=Path, default=None, help="copy each replay's outputs into this folder")
    args = ap.parse_args()
    for name in SLV_SCENARIOS:
        if args.only and args.only not in name:
            continue
        run(name, args.seed, args.keep)


if __name__ == "__main__":
    main()
