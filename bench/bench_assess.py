"""Fusion and assessment benchmark: impact-prediction accuracy and honesty, time to a usable prediction,
and throughput.

Run: .venv/bin/python bench/bench_assess.py [--runs N] [--quick] [--gain-seeds N] [--only-gain]

A. Real pipeline (default 3 seeds per scenario): `triwarn simulate` (2022-10-04 IRBM scenario, and the
   same sensors watching a lofted ICBM in the style of 2017-11-29) -> `triwarn track` -> Fuser ->
   Assessor. For the track that follows the warhead: impact-point error and whether the 95% ellipse holds
   the true impact, 60 s after burnout; time from burnout to the first prediction whose 95% ellipse is
   under 100 km (major axis, i.e. semi-major < 50 km) and holds the truth.
B. Monte Carlo with a stated covariance (fast, many runs): the true warhead state 60 s after burnout plus
   noise drawn from a covariance, predicted with that covariance. Tells whether the ellipse is honest
   (90-98% coverage wanted) independently of the tracker.
C. Throughput: Assessor.step on 1,000 system tracks (IRBM / ICBM / SRBM states, ballistic and boosting)
   with areas, and Fuser.update on 3 nations x 1,000 tracks, one core.
D. Sharing gain for Japan (`--gain-seeds N`, default 5; `--only-gain` runs D alone): on the 2022-10-04 IRBM
   and on mrbm-toward-japan-ascent-unseen, each nation tracks its own sensors; Japan alone against
   JP+KR+US fused, with the fused mode rule and with the former any-boost rule; first usable prediction
   (defined in usable_after_launch), gain in seconds (median, min, max) and premature trusted point
   predictions. See docs/fusion.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from triwarn.assess.areas import PolygonAreas
from triwarn.assess.assessor import AssessConfig, Assessor
from triwarn.assess.impact import predict_impacts
from triwarn.assess.reader import read_tracks
from triwarn.errors import InputError
from triwarn.fusion.fuser import Fuser
from triwarn.geo import geodesic
from triwarn.geo.frames import ecef_to_enu, ecef_to_geodetic, geodetic_to_ecef
from triwarn.physics.dynamics import propagate
from triwarn.physics.flight import fly
from triwarn.physics.launch import LaunchSpec
from triwarn.records.events import ImpactPrediction
from triwarn.records.tracks import MODE_BOOST, NationalTracks, SystemTracks
from triwarn_eval.covariance import random_cov

ROOT = Path(__file__).resolve().parent.parent
IRBM_SCENARIO = ROOT / "src" / "triwarn" / "scenarios" / "2022-10-04-irbm-aomori.yaml"
LOFTED = {"id": "L1", "time_utc": "2017-11-29T03:18:00+09:00", "site": "pyongsong", "aim_lat_deg": 40.9,
          "aim_lon_deg": 137.0, "apogee_km": 4475, "range_km": 950, "missile_class": "icbm"}


def inside(lat, lon, ev) -> bool:
    """Whether (lat, lon) is inside an event's 95% ellipse (tangent plane at its centre)."""
    p = geodetic_to_ecef(np.radians(lat), np.radians(lon), 0.0)
    e, n, _ = ecef_to_enu(p, np.radians(ev.lat_deg), np.radians(ev.lon_deg), 0.0)
    th = np.radians(ev.orientation_deg)
    a = e * np.sin(th) + n * np.cos(th)
    c = e * np.cos(th) - n * np.sin(th)
    return bool((a / ev.semi_major_m) ** 2 + (c / max(ev.semi_minor_m, 1e-9)) ** 2 <= 1.0)


def truth_of(truth_path: Path):
    """Warhead samples {t: ecef}, burnout time, impact (lat, lon) from truth.jsonl."""
    rows = [json.loads(line) for line in truth_path.read_text().splitlines() if line.strip()]
    war = [r for r in rows if r["kind"] == "warhead"]
    burnout = min(r["t"] for r in war if r["phase"] == "ballistic")
    lat, lon, _ = ecef_to_geodetic(np.array(war[-1]["ecef_m"]))
    impact = (float(np.degrees(lat)), float(np.degrees(lon)))
    return {r["t"]: np.array(r["ecef_m"]) for r in war}, burnout, impact


def first_usable(track_files: dict[str, Path], truth_path: Path, seed: int) -> dict:
    """Fuse the nations' track files, assess, and score the warhead's predictions against truth."""
    war, burnout, (ilat, ilon) = truth_of(truth_path)
    by_time: dict[float, list[NationalTracks]] = {}
    for nation, path in track_files.items():
        for t, table in read_tracks(path, nation).items():
            by_time.setdefault(t, []).append(table)
    fuser, assessor = Fuser(), Assessor(None, AssessConfig(seed=seed))
    t1 = time.perf_counter()
    preds: list[tuple[ImpactPrediction, float]] = []  # (event, distance of its track to the warhead)
    for t in sorted(by_time):
        system = fuser.update(t, by_time[t])
        pos = dict(zip(system.track_id.tolist(), system.pos_ecef_m, strict=True))
        for ev in assessor.step(t, system):
            if isinstance(ev, ImpactPrediction) and t in war:
                preds.append((ev, float(np.linalg.norm(pos[ev.track] - war[t]))))
    t_assess = time.perf_counter() - t1
    # The warhead's track: within 5 km of the true warhead (a spent stage may fly alongside).
    on_warhead = [ev for ev, d in preds if d < 5e3 and not ev.powered]
    at60 = [ev for ev in on_warhead if abs(ev.t - (burnout + 60.0)) < 0.5]
    first_small = [ev for ev in on_warhead if ev.t >= burnout and ev.semi_major_m < 50e3]
    usable = [ev for ev in first_small if inside(ilat, ilon, ev)]
    return {
        "err60_m": float(geodesic.inverse(at60[0].lat_deg, at60[0].lon_deg, ilat, ilon)[0]) if at60
        else float("nan"),
        "in60": inside(ilat, ilon, at60[0]) if at60 else None,
        "semi60_m": at60[0].semi_major_m if at60 else float("nan"),
        "first_small_s": (min(ev.t for ev in first_small) - burnout) if first_small else float("nan"),
        "first_usable_s": (min(ev.t for ev in usable) - burnout) if usable else float("nan"),
        "first_usable_after_launch_s": (min(ev.t for ev in usable) - min(war)) if usable else float("nan"),
        "t_assess_s": t_assess, "ticks": len(by_time),
    }


def run_pipeline(scenario: Path, seed: int, work: Path) -> dict:
    from triwarn.sensors.commands import run_simulate
    from triwarn.tracking.commands import run_track

    out = work / f"{scenario.stem}-{seed}"
    t0 = time.perf_counter()
    run_simulate(scenario=scenario, out=out, seed=seed)
    run_track(sensors=out / "sensors.yaml", measurements=out / "measurements.jsonl", out=out / "tracks.jsonl")
    t_track = time.perf_counter() - t0
    return {**first_usable({"own": out / "tracks.jsonl"}, out / "truth.jsonl", seed), "t_track_s": t_track}


def split_by_nation(scenario: Path, seed: int, work: Path) -> tuple[dict[str, Path], Path, float]:
    """Simulate a scenario and run one tracker per nation on that nation's sensors only.

    Returns {nation: tracks file}, the truth file and the CPU seconds taken (this process)."""
    from triwarn.sensors.commands import run_simulate
    from triwarn.tracking.commands import run_track

    c0 = time.process_time()
    out = work / f"sharing-{scenario.stem}-{seed}"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        run_simulate(scenario=scenario, out=out, seed=seed)
    doc = yaml.safe_load((out / "sensors.yaml").read_text())
    lines = [ln for ln in (out / "measurements.jsonl").read_text().splitlines() if ln.strip()]
    files = {}
    for nation in ("jp", "kr", "us"):
        mine = [sen for sen in doc["sensors"] if sen.get("nation") == nation]
        ids = {sen["id"] for sen in mine}
        (out / f"sensors-{nation}.yaml").write_text(yaml.safe_dump({**doc, "sensors": mine}))
        (out / f"meas-{nation}.jsonl").write_text(
            "\n".join(ln for ln in lines if json.loads(ln)["sensor"] in ids) + "\n")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            run_track(sensors=out / f"sensors-{nation}.yaml", measurements=out / f"meas-{nation}.jsonl",
                      out=out / f"tracks-{nation}.jsonl")
        files[nation.upper()] = out / f"tracks-{nation}.jsonl"
    return files, out / "truth.jsonl", time.process_time() - c0


def usable_after_launch(track_files: dict[str, Path], truth_path: Path, seed: int, rule, span_s: float) -> dict:
    """Fuse and assess the nations' tracks for span_s after burnout; score the warhead's predictions.

    A prediction is USABLE when it is (1) on a system track following the warhead (within 5 km of the
    true warhead and nearer to it than to any piece that has moved more than 1 km away from it: truth picks
    which track is scored, nothing else), (2) a point prediction (not powered),
    (3) trusted as the warning stage is told to trust (quality >= 0.5, no short_track or implausible_state
    flag, not a separated piece), (4) a 95% ellipse under 100 km (semi-major < 50 km) that (5) holds the
    true impact point. No truth time (burnout) is used, so a premature point prediction from a track
    mislabelled ballistic during boost counts if, and only if, it meets (3)-(5).
    PREMATURE: trusted point predictions on the warhead's track before the true burnout (would reach
    the warning stage although the object is still powered).
    """
    war, burnout, (ilat, ilon) = truth_of(truth_path)
    launch = min(war)
    pieces: dict[float, list[np.ndarray]] = {}  # other objects of the flight, by time
    for line in truth_path.read_text().splitlines():
        if line.strip() and '"warhead"' not in line:
            r = json.loads(line)
            pieces.setdefault(r["t"], []).append(np.array(r["ecef_m"]))
    by_time: dict[float, list[NationalTracks]] = {}
    for nation, path in track_files.items():
        for t, table in read_tracks(path, nation).items():
            if t <= burnout + span_s:
                by_time.setdefault(t, []).append(table)
    fuser, assessor = Fuser(mode_rule=rule), Assessor(None, AssessConfig(seed=seed))
    usable, premature, first_point = [], 0, None
    for t in sorted(by_time):
        system = fuser.update(t, by_time[t])
        if t not in war:
            continue
        apart = [p for p in pieces.get(t, ()) if np.linalg.norm(p - war[t]) > 1e3]
        near = set()
        for sid, s_pos in zip(system.track_id.tolist(), system.pos_ecef_m, strict=True):
            d = np.linalg.norm(s_pos - war[t])
            if d < 5e3 and all(d < np.linalg.norm(s_pos - p) for p in apart):
                near.add(sid)
        for ev in assessor.step(t, system):
            if not isinstance(ev, ImpactPrediction) or ev.track not in near or ev.powered:
                continue
            if first_point is None:
                first_point = ev.t
            trusted = (ev.quality >= 0.5 and "short_track" not in ev.flags and "implausible_state" not in ev.flags
                       and ev.object != "separated")
            if trusted and ev.t < burnout:
                premature += 1
            if trusted and ev.semi_major_m < 50e3 and inside(ilat, ilon, ev):
                usable.append(ev.t)
    return {"usable_s": (min(usable) - launch) if usable else float("nan"), "premature": premature,
            "first_point_s": (first_point - launch) if first_point is not None else float("nan"),
            "burnout_s": burnout - launch}


GAIN_SCENARIOS = (IRBM_SCENARIO, ROOT / "src" / "triwarn" / "scenarios" / "mrbm-toward-japan-ascent-unseen.yaml")


def part_d(seeds: int, span_s: float = 200.0) -> None:
    """Sharing gain for Japan: own sensors only against own plus partners' tracks, per mode rule."""
    from triwarn.fusion.mode import AnyBoostRule, ModeRule

    print(f"D. sharing gain for Japan ({seeds} seeds per scenario; each nation tracks its own sensors; "
          "JP alone vs JP+KR+US fused)")
    print("   usable = trusted point prediction (quality >= 0.5, no short_track/implausible flag), 95% ellipse "
          "< 100 km, holding the true impact; times after launch")
    rules = (("mode rule", ModeRule()), ("any-boost (old)", AnyBoostRule()))
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in GAIN_SCENARIOS:
            res: dict[str, list[dict]] = {f"{name}/{who}": [] for name, _r in rules for who in ("alone", "fused")}
            cpu_sim = cpu_fuse = 0.0
            for seed in range(1, seeds + 1):
                files, truth, c = split_by_nation(scenario, seed, Path(tmp))
                cpu_sim += c
                c0 = time.process_time()
                for name, rule in rules:
                    res[f"{name}/alone"].append(usable_after_launch({"JP": files["JP"]}, truth, seed, rule, span_s))
                    res[f"{name}/fused"].append(usable_after_launch(files, truth, seed, rule, span_s))
                cpu_fuse += time.process_time() - c0
            bo = res["mode rule/alone"][0]["burnout_s"]
            print(f"  {scenario.stem} (burnout T+{bo:.0f} s); CPU: simulate+track {cpu_sim:.0f} s, "
                  f"fuse+assess {cpu_fuse:.0f} s")
            for name, _rule in rules:
                alone, fused = res[f"{name}/alone"], res[f"{name}/fused"]
                gains = [a["usable_s"] - f["usable_s"] for a, f in zip(alone, fused, strict=True)]
                ok = [g for g in gains if np.isfinite(g)]
                summary = (f"median {statistics.median(ok):.0f} s, min {min(ok):.0f} s, max {max(ok):.0f} s"
                           if ok else "n/a")
                print(f"    {name:<16} first usable: JP alone {fmt_runs(alone, 'usable_s')}; fused "
                      f"{fmt_runs(fused, 'usable_s')} -> gain {summary}"
                      + (f" ({len(gains) - len(ok)} runs without a usable prediction)" if len(ok) < len(gains)
                         else ""))
                print(f"    {'':<16} first point prediction: alone {fmt_runs(alone, 'first_point_s')}; fused "
                      f"{fmt_runs(fused, 'first_point_s')}; premature trusted point predictions (before burnout): "
                      f"alone {fmt_runs(alone, 'premature', '')}, fused {fmt_runs(fused, 'premature', '')}")


def fmt_runs(rows: list[dict], key: str, unit: str = " s") -> str:
    return "/".join(f"{r[key]:.0f}" for r in rows) + unit


def part_a(runs: int) -> None:
    print("A. simulate -> track -> fuse -> assess (real tracker output)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        doc = yaml.safe_load(IRBM_SCENARIO.read_text())
        doc["name"] = "lofted ICBM, 2017-11-29 style, seen by the 2022-10-04 sensors"
        doc["launches"] = [LOFTED]
        lofted = work / "lofted-icbm.yaml"
        lofted.write_text(yaml.safe_dump(doc))
        for name, scen in (("IRBM 2022-10-04", IRBM_SCENARIO), ("lofted ICBM", lofted)):
            res = [run_pipeline(scen, seed, work) for seed in range(1, runs + 1)]
            errs = [r["err60_m"] for r in res if np.isfinite(r["err60_m"])]
            ins = [r["in60"] for r in res if r["in60"] is not None]
            print(f"  {name}: {runs} runs")
            runs_km = ", ".join(f"{e / 1e3:.2f}" for e in errs)
            semis_km = ", ".join(f"{r['semi60_m'] / 1e3:.1f}" for r in res)
            small = ", ".join(f"{r['first_small_s']:.0f}" for r in res)
            usable = ", ".join(f"{r['first_usable_s']:.0f}" for r in res)
            if errs:
                print(f"    60 s after burnout: impact error median {statistics.median(errs) / 1e3:.2f} km "
                      f"(runs {runs_km}), 95% semi-major {semis_km} km, holds truth in {sum(ins)}/{len(ins)}")
            else:
                print("    no warhead track at +60 s")
            print(f"    first 95% ellipse under 100 km after burnout: {small} s; first that also holds the "
                  f"truth: {usable} s")
            print(f"    time: simulate+track {statistics.mean(r['t_track_s'] for r in res):.1f} s, "
                  f"fuse+assess {statistics.mean(r['t_assess_s'] for r in res):.1f} s for "
                  f"{res[0]['ticks']} report ticks")


def part_b(n: int) -> None:
    print("B. Monte Carlo: truth 60 s after burnout + noise from a stated covariance "
          f"({n} draws per case; pos sigma per axis / vel sigma per axis, correlation 0.3, random axes)")
    rng = np.random.default_rng(11)
    cases = [
        ("IRBM 2022-10-04", LaunchSpec(40.6, 126.4, 970, 4600, aim_lat_deg=40.82, aim_lon_deg=140.74)),
        ("lofted ICBM 2017-11-29", LaunchSpec(39.25, 125.87, 4475, 950, aim_lat_deg=40.9, aim_lon_deg=137.0)),
        ("lofted ICBM 2022-11-18", LaunchSpec(39.2, 125.67, 6000, 1100, azimuth_deg=85.0)),
    ]
    for name, spec in cases:
        flight = fly(spec, 1.0)
        war = next(o for o in flight.objects if o.kind == "warhead")
        i = int(np.argmin(np.abs(war.t_s - (flight.burnout_t_s + 60.0))))
        state = np.concatenate([war.pos_ecef_m[i], war.vel_ecef_mps[i]])
        for pos_s, vel_s in ((50.0, 1.0), (150.0, 3.0), (300.0, 10.0)):
            cov = random_cov(rng, pos_s, vel_s)
            est = state + rng.multivariate_normal(np.zeros(6), cov, size=n)
            t0 = time.perf_counter()
            imp = predict_impacts(np.zeros(n), est[:, :3], est[:, 3:], np.broadcast_to(cov, (n, 6, 6)))
            dt = time.perf_counter() - t0
            err, _ = geodesic.inverse(imp.lat_deg, imp.lon_deg, flight.impact_lat_deg, flight.impact_lon_deg)
            p = geodetic_to_ecef(np.radians(flight.impact_lat_deg), np.radians(flight.impact_lon_deg), 0.0)
            en = ecef_to_enu(p, np.radians(imp.lat_deg), np.radians(imp.lon_deg), 0.0)[:, :2]
            d2 = np.einsum("ni,nij,nj->n", en, np.linalg.inv(imp.cov_en_m2), en)
            cover = float(np.mean(d2 <= 5.991464547107979))
            semi = np.median(imp.semi_major_m) / 1e3
            print(f"  {name:<24} {pos_s:>4.0f} m / {vel_s:>4.1f} m/s: median error "
                  f"{np.median(err) / 1e3:6.2f} km, median semi-major {semi:6.2f} km, "
                  f"coverage {100 * cover:5.1f}% ({n} predictions in {dt:.2f} s)")


def synthetic_tracks(n: int, rng) -> SystemTracks:
    specs = [LaunchSpec(40.6, 126.4, 970, 4600, azimuth_deg=88.0), LaunchSpec(39.25, 125.87, 4475, 950,
             azimuth_deg=95.0), LaunchSpec(39.2, 125.67, 100, 400, azimuth_deg=100.0)]
    objs = [next(o for o in fly(s, 1.0).objects if o.kind == "warhead") for s in specs]
    cov = np.diag([150.0**2] * 3 + [3.0**2] * 3)
    pos, vel, boost = [], [], []
    for k in range(n):
        o = objs[k % len(objs)]
        i = int(rng.integers(5, len(o.t_s) - 20))
        pos.append(o.pos_ecef_m[i] + rng.normal(0, 150, 3))
        vel.append(o.vel_ecef_mps[i])
        boost.append(str(o.phase[i]) == MODE_BOOST)
    return SystemTracks([f"S{k}" for k in range(n)], 0.0, pos, vel, cov, boost=boost, nations=[("JP",)] * n,
                        sources=[(f"JP:{k}",) for k in range(n)], first_seen_unix_s=-30.0, last_update_unix_s=0.0,
                        n_updates=30)


def region_areas() -> tuple[object, str]:
    try:
        from triwarn.geo.areas import AreaIndex

        return AreaIndex.load(), "packaged area index"
    except (ImportError, InputError):
        from shapely.geometry import box

        areas = {}
        corners = [(la, lo) for la in np.arange(30.0, 46.0, 2.0) for lo in np.arange(128.0, 146.0, 2.0)]
        for k, (lat, lon) in enumerate(corners):
            areas[f"XX-{k:02d}"] = {"land": box(lon, lat, lon + 1.0, lat + 1.0),
                                    "territorial_sea": box(lon - 0.2, lat - 0.2, lon + 1.2, lat + 1.2),
                                    "eez": box(lon - 0.5, lat - 0.5, lon + 1.5, lat + 1.5)}
        return PolygonAreas(areas), f"synthetic: {len(areas)} boxes over 30-46N 128-146E (no area index)"


def part_c(n_tracks: int, steady_ticks: int) -> None:
    print(f"C. throughput, one core: {n_tracks} system tracks at 1 Hz")
    # The first ticks also estimate max_launch_estimates new tracks' launches each; after that, the steady
    # state (steady_ticks of it).
    warm = -(-n_tracks // AssessConfig().max_launch_estimates)
    ticks = warm + steady_ticks
    rng = np.random.default_rng(5)
    tracks = synthetic_tracks(n_tracks, rng)
    n_boost = int(tracks.boost.sum())
    areas, what = region_areas()
    for label, model in (("no areas", None), (f"areas ({what})", areas)):
        assessor = Assessor(model)
        wall, cpu = [], []
        for k in range(ticks):
            moved = tracks.take(slice(None))
            moved.t_unix_s = np.full(len(moved), float(k))
            t0, c0 = time.perf_counter(), time.process_time()
            ev = assessor.step(float(k), moved)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(f"  assess, {label}: ticks with launch estimates: median {statistics.median(cpu[:warm]):.2f} s "
              f"CPU; steady state: median {statistics.median(cpu[warm:]):.2f} s CPU "
              f"({statistics.median(wall[warm:]):.2f} s wall) per tick ({n_boost} boosting, {len(ev)} ev.)")
    nat = []
    for nation, shift in (("JP", 0.0), ("KR", 0.3), ("US", 0.6)):
        # each nation's report is `shift` seconds old
        p_old, v_old = propagate(tracks.pos_ecef_m, tracks.vel_ecef_mps, -shift)
        nat.append(NationalTracks([f"{nation}{k}" for k in range(len(tracks))], -shift, p_old, v_old,
                                  tracks.cov_ecef_m2, boost=tracks.boost, nation=nation))
    fuser = Fuser()
    times = []
    for k in range(5):
        c0 = time.process_time()
        out = fuser.update(float(k), nat)
        times.append(time.process_time() - c0)
    print(f"  fuse 3 x {n_tracks} national tracks (reports 0-0.6 s old): first {times[0]:.2f} s, then median "
          f"{statistics.median(times[1:]):.2f} s CPU per tick -> {len(out)} system tracks")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="simulate+track runs per scenario (part A)")
    ap.add_argument("--quick", action="store_true", help="skip parts A and D (the tracker runs)")
    ap.add_argument("--gain-seeds", type=int, default=5, help="seeds per scenario for the sharing gain (part D)")
    ap.add_argument("--only-gain", action="store_true", help="run part D only")
    args = ap.parse_args()
    if args.only_gain:
        part_d(args.gain_seeds)
        return 0
    if not args.quick:
        part_a(args.runs)
    part_b(1000)
    part_c(1000, 5)
    if not args.quick:
        part_d(args.gain_seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
