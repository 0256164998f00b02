"""Why Japan's node raises false shelter alerts on flights of the bench_mc family that end at sea (issue 13).

Run: .venv/bin/python bench/bench_mc_false.py [--flights 300] [--only K,K,...] [--jobs 2] [--json FILE]

Each flight runs the whole chain as bench/bench_mc.py does (floor only: cut-off path and ballistic
prediction, the boost_risk layer not acted on), recording on Japan's node every area risk for a Japanese
area, every ballistic impact prediction and the state of every track at each step. For each false shelter
alert (an area alerted that the warhead never crossed) it prints what triggered it: the area risk (cut-off
path, ballistic impact or overflight, from the own-view floor or the shared track), its probability, the
track's age and 1-sigma position/velocity, the predicted ellipse, the true impact's Mahalanobis distance
from the predicted one and its distance to the area's coast (land or territorial sea), and a class:
  (b) physical limit: the true impact is within 2 sigma (the prediction's major axis) of the coast;
  (a) calibration: otherwise (the prediction's spread or mean does not fit the truth).
It also prints the calibration of all trusted ballistic predictions: the share of true impacts inside the
predicted 95 % ellipse (should be ~0.95), by track age.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import shapely
from scipy.stats import chi2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mc import AFTER_BURNOUT_S, BASE, _scenario, family
from triwarn.exercise.metrics import truth_area_passages, truth_ground_tracks
from triwarn.exercise.replay import run_in_process, step_times
from triwarn.geo import geodesic
from triwarn.geo.areas import AreaIndex
from triwarn.records.events import TRUSTED_QUALITY, AreaRisk, Flag, ImpactPrediction
from triwarn.records.tracks import SystemTracks
from triwarn.sensors.scenario import load_scenario
from triwarn.sensors.simulate import simulate

K95 = float(chi2.ppf(0.95, 2))


def run_flight(f: dict) -> dict:
    areas = AreaIndex.load()
    base = load_scenario(BASE)
    w0 = time.perf_counter()
    try:
        sim = simulate(_scenario(f, base.sensors), seed=f["k"])
    except Exception as exc:
        return {**f, "error": f"{type(exc).__name__}: {exc}"}
    paths = sim.paths
    o = next(i for i, kd in enumerate(paths.kind) if kd in ("warhead", "payload"))
    a, b = paths.start[o], paths.start[o + 1]
    boost = paths.boost[a:b]
    t_burnout = float(paths.t_unix_s[a:b][boost].max()) if boost.any() else float(paths.t_unix_s[a])
    ground = [g for g in truth_ground_tracks(paths, dt_s=2.0) if g["id"] == paths.object_ids[o]]
    threat = {}
    for p in truth_area_passages(ground, areas):
        if p.get("zone") != "eez" and p["area"].startswith("JP-"):
            threat[p["area"]] = min(threat.get(p["area"], np.inf), p["enter_unix_s"])
    g = ground[0]
    true_impact = (float(g["lat"][-1]), float(g["lon"][-1]), float(g["t"][-1]), float(g["alt_km"][-1]))
    times = step_times(sim.measurements, 1.0)
    times = times[times <= t_burnout + AFTER_BURNOUT_S]
    rec: dict = {"risks": [], "impacts": [], "tracks": {}}

    def hook(nodes):
        for n, node in nodes.items():
            if n != "jp":
                node.fuser.update = lambda t, tables: SystemTracks.empty()
        ass = nodes["jp"].assessor
        if f.get("settle") is not None:
            for node in nodes.values():
                node.assessor.config.ballistic_settle_s = f["settle"]
        step, own_floor = ass.step, ass._own_mode_floor
        tagged: set[int] = set()

        def own_floor_tagged(*args, **kw):
            out = own_floor(*args, **kw)
            tagged.update(id(e) for e in out)
            return out

        def recording(t, system):
            events = step(t, system)
            live = ~system.coasting
            for j in np.flatnonzero(live):
                tid = str(system.track_id[j])
                c = system.cov_ecef_m2[j]
                rec["tracks"].setdefault(tid, {})[round(float(t), 3)] = (
                    float(t - system.first_seen_unix_s[j]), float(np.sqrt(np.trace(c[:3, :3]))),
                    float(np.sqrt(np.trace(c[3:, 3:]))), bool(system.boost[j]), list(system.nations[j]))
            for e in events:
                if isinstance(e, AreaRisk) and e.area.startswith("JP-") and Flag.BOOST_RISK not in e.flags:
                    rec["risks"].append({"t": float(t), "track": e.track, "area": e.area, "kind": e.kind,
                                         "p": e.probability, "p_eez": e.probability_eez, "q": e.quality,
                                         "powered": e.powered, "flags": list(e.flags),
                                         "own_floor": id(e) in tagged})
                elif isinstance(e, ImpactPrediction) and not e.powered:
                    rec["impacts"].append({"t": float(t), "track": e.track, "lat": e.lat_deg, "lon": e.lon_deg,
                                           "time": e.time_unix_s, "smaj": e.semi_major_m, "smin": e.semi_minor_m,
                                           "orient": e.orientation_deg, "q": e.quality, "flags": list(e.flags),
                                           "own_floor": id(e) in tagged})
            return events

        ass.step = recording
        ass._own_mode_floor = own_floor_tagged

    issued = run_in_process(sim.sensors, sim.measurements, share=True, areas=areas, node_hook=hook, times=times,
                            exercise="MC")
    floor: dict[str, float] = {}
    for m in issued.get("jp", []):
        for ar in m.areas:
            if ar.state == "shelter" and ar.code not in floor:
                floor[ar.code] = m.sent_unix_s
    return {**f, "t_burnout": t_burnout, "threat": threat, "floor": floor, "true_impact": true_impact,
            "wall_s": time.perf_counter() - w0, **rec}


def _mahalanobis(imp: dict, lat: float, lon: float) -> float:
    d, az = geodesic.inverse(imp["lat"], imp["lon"], lat, lon)
    e, n = float(d) * np.sin(np.radians(float(az))), float(d) * np.cos(np.radians(float(az)))
    th = np.radians(imp["orient"])
    major = np.array([np.sin(th), np.cos(th)])
    minor = np.array([np.cos(th), -np.sin(th)])
    s1 = max(imp["smaj"], 1.0) / np.sqrt(K95)
    s2 = max(imp["smin"], 1.0) / np.sqrt(K95)
    v = np.array([e, n])
    return float(np.hypot(v @ major / s1, v @ minor / s2))


def coast_distance_m(areas: AreaIndex, code: str, lat: float, lon: float) -> float:
    geom = areas.geometry(code, "territorial_sea", nested=True)
    p = shapely.Point(lon, lat)
    if geom.contains(p):
        return 0.0
    q = shapely.ops.nearest_points(geom, p)[0]
    d, _ = geodesic.inverse(lat, lon, q.y, q.x)
    return float(d)


def diagnose(r: dict, areas: AreaIndex) -> list[dict]:
    """One row per false alert of flight r: its trigger and class."""
    out = []
    lat_t, lon_t, _t_t, _alt = r["true_impact"]
    for area, t_alert in r["floor"].items():
        if area in r["threat"]:
            continue
        trig = [x for x in r["risks"] if x["area"] == area and x["t"] <= t_alert + 1e-6 and x["q"] >= TRUSTED_QUALITY
                and x["p"] >= 0.05 and (not x["powered"] or "cutoff_path" in x["flags"])]
        x = trig[-1] if trig else None
        row = {"k": r["k"], "kind": r["kind"], "ett": r["ett"], "lofted": r["lofted"], "ship": r["ship"],
               "area": area, "t_alert": t_alert - r["t_burnout"],
               "coast_m": coast_distance_m(areas, area, lat_t, lon_t)}
        if x is None:
            row["trigger"] = "?"
            out.append(row)
            continue
        src = "cutoff" if "cutoff_path" in x["flags"] else x["kind"]
        row.update(trigger=src + ("/own" if x["own_floor"] else ""), p=x["p"], track=x["track"],
                   t_rel_burnout=x["t"] - r["t_burnout"])
        st = r["tracks"].get(x["track"], {}).get(round(x["t"], 3))
        if st:
            row.update(age_s=st[0], pos_sigma_m=st[1], vel_sigma_mps=st[2], nations=st[4])
        imp = [m for m in r["impacts"] if m["track"] == x["track"] and abs(m["t"] - x["t"]) < 1e-6
               and m["own_floor"] == x["own_floor"]]
        if imp:
            m = imp[-1]
            d_true, _ = geodesic.inverse(m["lat"], m["lon"], lat_t, lon_t)
            sig = m["smaj"] / np.sqrt(K95)
            row.update(sigma_major_m=sig, miss_m=float(d_true), mahal=_mahalanobis(m, lat_t, lon_t),
                       pred_coast_m=coast_distance_m(areas, area, m["lat"], m["lon"]))
            row["class"] = "b" if row["coast_m"] <= 2.0 * sig else "a"
        else:
            row["class"] = "a?" if src == "cutoff" else "?"
        out.append(row)
    return out


def calibration(results: list[dict]) -> list[tuple[str, int, float, float]]:
    """(age bin, n, share of true impacts in the 95 % ellipse, median Mahalanobis) of trusted ballistic
    predictions of the warhead's track (the one whose prediction is closest to the truth at the end)."""
    bins = [(0, 30), (30, 60), (60, 120), (120, 1e9)]
    acc = {b: [] for b in bins}
    for r in results:
        lat_t, lon_t, _t, _a = r["true_impact"]
        for m in r["impacts"]:
            if m["q"] < TRUSTED_QUALITY or m["own_floor"]:
                continue
            st = r["tracks"].get(m["track"], {}).get(round(m["t"], 3))
            if not st:
                continue
            d, _ = geodesic.inverse(m["lat"], m["lon"], lat_t, lon_t)
            if d > 300e3:  # another object (a stage)
                continue
            for b in bins:
                if b[0] <= st[0] < b[1]:
                    acc[b].append(_mahalanobis(m, lat_t, lon_t))
    out = []
    for b, v in acc.items():
        v = np.array(v)
        if v.size:
            out.append((f"{b[0]:.0f}-{b[1]:.0f}s", int(v.size), float(np.mean(v <= np.sqrt(K95))), float(np.median(v))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flights", type=int, default=300)
    ap.add_argument("--only", type=str, default="", help="comma-separated flight indices of the family")
    ap.add_argument("--sea-only", action="store_true", help="only flights whose planned path ends at sea "
                    "(decided after the flight: the others are still run but not diagnosed)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--settle", type=float, help="the assessment's ballistic_settle_s (default: its own)")
    ap.add_argument("--load", type=Path, help="diagnose a --json file of an earlier run")
    args = ap.parse_args()
    areas = AreaIndex.load()
    if args.load:
        results = json.loads(args.load.read_text())
    else:
        flights = family(args.flights, args.seed)
        if args.only:
            keep = {int(x) for x in args.only.split(",")}
            flights = [f for f in flights if f["k"] in keep]
        flights = [{**f, "settle": args.settle} for f in flights]
        w0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = [r for r in pool.map(run_flight, flights, chunksize=2) if "error" not in r]
        print(f"{len(results)} flights in {time.perf_counter() - w0:.0f} s wall, {args.jobs} jobs")
        if args.json:
            args.json.write_text(json.dumps(results, default=float))
    sea = [r for r in results if not r["threat"]]
    false_sea = [r for r in sea if r["floor"]]
    false_any = [r for r in results if any(a not in r["threat"] for a in r["floor"])]
    print(f"sea-ending flights {len(sea)}, with a false shelter alert {len(false_sea)}; "
          f"all flights with a false alert {len(false_any)} of {len(results)}")
    print(f"{'k':>4} {'kind':>11} {'ett':>3} {'ship':>4} {'area':>6} {'trigger':>18} {'p':>5} {'t-bo':>6} {'age':>5}"
          f" {'pos_sig':>7} {'vel_sig':>7} {'sig_maj':>7} {'miss':>6} {'mahal':>5} {'coast':>6} {'pcoast':>6} cls")
    for r in false_any:
        for d in diagnose(r, areas):
            def g(key, scale=1.0, fmt="{:.0f}", d=d):
                v = d.get(key)
                return "-" if v is None else fmt.format(v / scale)
            print(f"{d['k']:>4} {d['kind']:>11} {int(d['ett']):>3} {int(d['ship']):>4} {d['area']:>6} "
                  f"{d.get('trigger', '?'):>18} {g('p', fmt='{:.2f}'):>5} {g('t_rel_burnout'):>6} {g('age_s'):>5} "
                  f"{g('pos_sigma_m', 1e3, '{:.1f}'):>7} {g('vel_sigma_mps'):>7} {g('sigma_major_m', 1e3, '{:.1f}'):>7}"
                  f" {g('miss_m', 1e3, '{:.1f}'):>6} {g('mahal', fmt='{:.1f}'):>5} {g('coast_m', 1e3, '{:.1f}'):>6}"
                  f" {g('pred_coast_m', 1e3, '{:.1f}'):>6} {d.get('class', '?')}  {'sea' if not r['threat'] else ''}")
    leads = [r["threat"][a] - r["floor"][a] for r in results for a in r["threat"] if a in r["floor"]]
    missed = sum(1 for r in results for a in r["threat"] if a not in r["floor"])
    if leads:
        print(f"lead over truly threatened areas: median {np.median(leads):.0f} s,"
              f" p10 {np.percentile(leads, 10):.0f} s, min {min(leads):.0f} s over {len(leads)} areas"
              f" ({missed} threatened areas never alerted)")
    print("calibration of trusted ballistic predictions against the true impact (km units; age of track):")
    print(f"{'age':>10} {'n':>6} {'in 95%':>7} {'median mahal':>12}")
    for b, n, frac, med in calibration(results):
        print(f"{b:>10} {n:>6} {frac:>7.2f} {med:>12.2f}")


if __name__ == "__main__":
    main()
