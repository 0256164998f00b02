"""The trade of the probabilistic boost-phase warning, measured over a Monte-Carlo family of launches
(issue 13): per threshold, the lead for truly threatened areas, the share of flights with a false
shelter alert, and the time from thrust end to the correction.

Run: .venv/bin/python bench/bench_mc.py [--flights 300] [--jobs 2] [--seed 1] [--json FILE] [--plot PNG]

The family (seeded): SRBM, MRBM, IRBM and lofted ICBM shots from the public launch areas, azimuths from
the Sea of Japan to over Japan, a fifth of them with early thrust termination (the motor stops at a
random 40-90 % of its burn: flown as the same class with that burn and the range it then reaches,
about the square of the fraction), on the 2022-10-04 scenario's sensor laydown with and without the
Japanese destroyer. Each flight runs the whole chain with sharing, every node in this process
(triwarn.exercise.replay.run_in_process: same sealing, signatures and admission as over NATS), from
launch to thrust end + 150 s; the Korean and US nodes track and share (their fusion, assessment and
warnings are not scored and are skipped to save time). Measured on Japan's node:
- floor: the first shelter alert per area of the warning machine as it stands (cut-off path and
  ballistic prediction, no probability layer);
- probabilistic: per threshold p, the alert the boost_risk layer gives when a trusted area risk
  (quality >= 0.5) flagged boost_risk reaches p; it is corrected (Cancel or all-clear) at the first step
  where the area's probability has fallen below p/2, or, once the track is ballistic (a trusted
  ballistic impact prediction after its last boost_risk step), at once unless the floor keeps the area
  under shelter; with no ballistic prediction, when the object is lost (lost_after_s after Japan's node
  last saw it). This emulates the warning stage's rule for the layer (it lives in warn/, not here).
- the warning machine itself (MACHINE_RUNS): Japan's node's warning inputs, recorded per step, replayed
  through a fresh WarningMachine with the node's settings at boost_alert_probability 0.9 and floor only,
  with and without the decisive let-go (WarnPolicy.decisive_letgo, triwarn.warn.letgo): lead, false
  alerts, each false area's correction (the first message naming it clear or error, a Cancel included)
  after the evidence (thrust end, or the loss of the track if sooner), and flaps. --inputs DIR keeps the
  inputs, --replay DIR reruns the machine on them alone (seconds, for changing the machine's rules).
Truth: an area is truly threatened when the warhead's true path is over its land or territorial sea
(triwarn.exercise.metrics.truth_area_passages). A flight has a false shelter alert when an area that
is not threatened is alerted. Lead = true entry - first alert (probabilistic or floor).

Speed (the family must run in minutes): each worker process reads the scenario, the network and the
areas once (triwarn.geo.area_cells.CellAreaIndex: AreaIndex's answers, most points answered by their
grid cell); the IRBM case's seeds and the flights share one pool, longest first, one task at a time.
The last lines give the CPU seconds of the flights and what they come to on otherwise idle cores
(CPU / jobs), which a loaded machine does not change much, beside the wall time.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from triwarn.assess.boost_risk import DEFAULT_ALERT_PROBABILITY
from triwarn.exercise.metrics import truth_area_passages, truth_ground_tracks
from triwarn.exercise.replay import run_in_process, step_times
from triwarn.geo.area_cells import CellAreaIndex
from triwarn.physics.launch import LaunchSpec
from triwarn.physics.missiles import CLASSES
from triwarn.records.events import TRUSTED_QUALITY, AreaRisk, ImpactPrediction
from triwarn.records.tracks import SystemTracks
from triwarn.sensors.scenario import SITES, Scenario, ScheduledLaunch, load_scenario
from triwarn.sensors.simulate import simulate
from triwarn.share.policy import NetworkSpec, load_network
from triwarn.warn.machine import WarningMachine
from triwarn.warn.policy import WarnPolicy

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "src/triwarn/scenarios/2022-10-04-irbm-aomori.yaml"
JP_SHIP = "jp-ddg-sea-of-japan"
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
T_LAUNCH = 1_700_000_000.0
AFTER_BURNOUT_S = 150.0
BOOST_FLAG = "boost_risk"
DEFAULT_THRESHOLD = DEFAULT_ALERT_PROBABILITY
LOST_AFTER_S = WarnPolicy().lost_after_s
IRBM_SEEDS = (1, 2, 3)
FLAP_S = 120.0  # an area let go and sheltered again within this is a flap
# The warning machine itself, replayed on Japan's recorded inputs: (boost_alert_probability, decisive_letgo).
MACHINE_RUNS = {"0.9": (0.9, True), "0.9 before": (0.9, False), "floor": (None, True),
                "floor before": (None, False)}


def family(n: int, seed: int) -> list[dict]:
    """n flights: kind, site, azimuth, range, apogee, burn, early termination, Japanese ship."""
    rng = np.random.default_rng(seed)
    sites = ["sunan", "mupyong-ni", "sinpo", "wonsan", "pyongsong"]
    out = []
    for k in range(n):
        kind = rng.choice(["srbm", "mrbm", "irbm", "icbm_lofted"], p=[0.25, 0.25, 0.3, 0.2])
        if kind == "srbm":
            rng_km, apo = rng.uniform(300, 900), None
            az = rng.uniform(40, 110)
        elif kind == "mrbm":
            rng_km, apo = rng.uniform(1000, 1500), None
            az = rng.uniform(70, 120)
        elif kind == "irbm":
            rng_km, apo = rng.uniform(3000, 4600), None
            az = rng.uniform(60, 100)
        else:
            rng_km, apo = rng.uniform(800, 1100), rng.uniform(4000, 6200)
            az = rng.uniform(70, 110)
        lofted = kind == "icbm_lofted" or (kind != "irbm" and rng.random() < 0.2)
        if apo is None:
            apo = rng_km * (rng.uniform(0.6, 1.0) if lofted else rng.uniform(0.2, 0.32))
        cls = "icbm" if kind == "icbm_lofted" else str(kind)
        burn = CLASSES[cls].burn_s
        ett = rng.random() < 0.2
        frac = rng.uniform(0.4, 0.9) if ett else 1.0
        out.append({"k": k, "kind": str(kind), "class": cls, "site": str(rng.choice(sites)), "az_deg": float(az),
                    "range_km": float(rng_km * frac**2), "apogee_km": float(apo * frac**2),
                    "burn_s": float(burn * frac), "ett": bool(ett), "ett_fraction": float(frac),
                    "lofted": bool(lofted), "ship": bool(rng.random() < 0.5)})
    return out


def _scenario(f: dict, sensors) -> Scenario:
    lat, lon = SITES[f["site"]]
    spec = LaunchSpec(lat, lon, max(f["apogee_km"], 40.0), max(f["range_km"], 60.0), azimuth_deg=f["az_deg"],
                      burn_s=f["burn_s"], missile_class=f["class"])
    own = {k: s for k, s in sensors.items() if f["ship"] or k != JP_SHIP}
    return Scenario(name=f"mc{f['k']}", launches=[ScheduledLaunch("L1", T_LAUNCH, spec)], sensors=own)


@functools.cache
def _base() -> Scenario:
    """The base scenario, read once per process (its sensors are frozen: flights share them)."""
    return load_scenario(BASE)


@functools.cache
def _network() -> NetworkSpec:
    """The bundled network (release policy), read once per process."""
    return load_network(None)


def _expected_cost(f: dict) -> float:
    """A flight's rough cost (its steps run from launch to thrust end + AFTER_BURNOUT_S; longer-range
    classes track and assess more), for ordering the work."""
    return f["burn_s"] + AFTER_BURNOUT_S + 0.02 * f["range_km"]


def run_flight(f: dict) -> dict:
    """One flight through the chain; what Japan's node did, against the truth."""
    areas = CellAreaIndex.load()  # built once per process; classifies as AreaIndex does, faster
    base = _base()
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        sim = simulate(_scenario(f, base.sensors), seed=f["k"])
    except Exception as exc:  # a figure the solver cannot fly: counted, not scored
        return {**f, "error": f"{type(exc).__name__}: {exc}"}
    paths = sim.paths
    war = [i for i, kd in enumerate(paths.kind) if kd in ("warhead", "payload")]
    o = war[0]
    a, b = paths.start[o], paths.start[o + 1]
    boost = paths.boost[a:b]
    t_burnout = float(paths.t_unix_s[a:b][boost].max()) if boost.any() else float(paths.t_unix_s[a])
    ground = [g for g in truth_ground_tracks(paths, dt_s=2.0) if g["id"] == paths.object_ids[o]]
    passages = truth_area_passages(ground, areas)
    threat = {}
    for p in passages:
        if p.get("zone") != "eez" and p["area"].startswith("JP-"):
            threat[p["area"]] = min(threat.get(p["area"], np.inf), p["enter_unix_s"])
    times = step_times(sim.measurements, 1.0)
    times = times[times <= t_burnout + AFTER_BURNOUT_S]
    floor, rec = jp_run(sim, times, areas, share=True)
    t_end = float(times[-1])
    t_lost = max(rec["seen"]) + LOST_AFTER_S if rec["seen"] else np.inf
    evidence = min(t_burnout, t_lost if t_lost <= t_end else np.inf)
    machine = machine_records(rec["warn"], rec["machine"], threat, evidence)
    if f.get("inputs"):  # kept for --replay: the machine's rules again without the chain
        made = {k: v for k, v in rec["machine"].items() if k != "geometry"}
        Path(f["inputs"], f"flight-{f['k']:04d}.pickle").write_bytes(pickle.dumps(
            {"flight": f, "steps": rec["warn"], "made": made, "threat": threat, "evidence": evidence}))
    return {**f, "t_burnout": t_burnout, "threat": threat, "floor": floor, "boost": rec["boost"],
            "ballistic": rec["ballistic"], "seen": rec["seen"], "t_end": t_end, "evidence": evidence,
            "machine": machine,
            "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0, "steps": len(times)}


def machine_records(steps: list, made: dict, threat: dict, evidence: float) -> dict:
    """machine_record for every MACHINE_RUNS entry."""
    return {name: machine_record(steps, made, threshold, letgo, threat, evidence)
            for name, (threshold, letgo) in MACHINE_RUNS.items()}


def replay_inputs(folder: Path) -> list[dict]:
    """The flights kept by --inputs, through the warning machine again (its rules as they stand now)."""
    areas = CellAreaIndex.load()
    out = []
    for path in sorted(folder.glob("flight-*.pickle")):
        kept = pickle.loads(path.read_bytes())
        now = WarnPolicy()  # the let-go's settings as they stand now, not as pickled
        policy = replace(kept["made"]["policy"], letgo_path_margin_m=now.letgo_path_margin_m)
        made = {**kept["made"], "policy": policy,
                "geometry": lambda code: areas.geometry(code, "territorial_sea", nested=True)}
        out.append({**kept["flight"], "threat": kept["threat"], "evidence": kept["evidence"],
                    "machine": machine_records(kept["steps"], made, kept["threat"], kept["evidence"])})
    return out


def machine_record(steps: list, made: dict, threshold: float | None, letgo: bool, threat: dict,
                   evidence: float) -> dict:
    """Japan's warning inputs of a flight (steps: [(t, records)]) through a fresh warning machine with the
    node's settings (made: issuer, run id, policy, area geometry) at boost_alert_probability threshold
    (None: floor only) and with or without the decisive let-go: the first shelter alert per area, each
    false area's alert and correction (the first message that names it clear or error, a Cancel included)
    against the evidence (thrust end, or the loss of the track if sooner: `evidence`, or the alert itself if
    later), and the flaps (an area let go and sheltered again within FLAP_S)."""
    policy = replace(made["policy"], boost_alert_probability=threshold, decisive_letgo=letgo)
    wm = WarningMachine(made["issuer"], made["run_id"], policy=policy, area_geometry=made["geometry"])
    first: dict[str, float] = {}
    seq: dict[str, list[tuple[float, str]]] = {}
    for t, records in steps:
        for m in wm.step(records, t):
            for ar in m.areas:
                if ar.code.startswith("JP-") and (not seq.get(ar.code) or seq[ar.code][-1][1] != ar.state):
                    seq.setdefault(ar.code, []).append((t, ar.state))
                if ar.state == "shelter":
                    first.setdefault(ar.code, t)
    false = []
    for code, t_on in first.items():
        if code in threat:
            continue
        t_off = next((t for t, st in seq[code] if t > t_on and st in ("clear", "error")), None)
        t_ev = max(t_on, evidence)
        false.append({"area": code, "on": t_on, "evidence": t_ev, "off": t_off,
                      "after_s": None if t_off is None else t_off - t_ev})
    flaps = sum(1 for s in seq.values() for (t0, s0), (t1, s1) in itertools.pairwise(s)
                if s0 in ("clear", "error") and s1 == "shelter" and t1 - t0 <= FLAP_S)
    return {"first": first, "false": false, "flaps": flaps}


def jp_run(sim, times, areas, *, share: bool) -> tuple[dict, dict]:
    """Japan's node through the chain: its floor first shelter alerts per area and its boost_risk record
    (per step: trusted probabilities per area) and trusted ballistic prediction times."""
    rec: dict = {"boost": [], "ballistic": [], "seen": [], "warn": [], "machine": {}}

    def hook(nodes):
        for n, node in nodes.items():
            if n != "jp":
                # The partners only track and share here: what they publish of the picture is their own
                # national tracks, so their fusion, assessment and warnings (not scored) are skipped, and
                # the partner data they admit (admission stays on) goes into no picture.
                node.fuser.update = lambda t, tables: SystemTracks.empty()
                node.ingest_message = lambda msg: None
        jp = nodes["jp"]
        step = jp.step
        warner = jp.warner
        rec["machine"] = {"issuer": warner.issuer, "run_id": warner.run_id, "policy": warner.policy,
                          "geometry": warner._area_geometry}
        warn_step = warner.step

        def keeping(events, now):  # the warning machine's inputs, replayed per threshold (machine_record)
            events = list(events)
            rec["warn"].append((now, events))
            return warn_step(events, now)

        warner.step = keeping

        def recording(t, radar=None, ir=None):
            res = step(t, radar, ir)
            p: dict[str, float] = {}
            any_boost = False
            for e in res.events:
                if isinstance(e, AreaRisk) and BOOST_FLAG in e.flags:
                    any_boost = True
                    if e.quality >= TRUSTED_QUALITY and e.area.startswith("JP-"):
                        p[e.area] = max(p.get(e.area, 0.0), e.probability)
                elif isinstance(e, ImpactPrediction) and not e.powered and e.quality >= TRUSTED_QUALITY:
                    rec["ballistic"].append(t)
            if any_boost:
                rec["boost"].append((t, p))
            if (~res.system_tracks.coasting).any():
                rec["seen"].append(t)
            return res

        jp.step = recording

    issued = run_in_process(sim.sensors, sim.measurements, share=share, areas=areas, node_hook=hook, times=times,
                            exercise="MC", spec=_network())
    floor: dict[str, float] = {}
    for m in issued.get("jp", []):
        for ar in m.areas:
            if ar.state == "shelter" and ar.code not in floor:
                floor[ar.code] = m.sent_unix_s
    rec["ballistic"] = sorted(set(rec["ballistic"]))
    return floor, rec


def irbm_case(threshold: float, seeds=(1, 2, 3)) -> list[dict]:
    """The 2022-10-04 IRBM over Aomori without the Japanese destroyer: Japan's first shelter alert per
    area with sharing and alone, floor only and with the boost_risk layer at `threshold`."""
    return [irbm_seed(seed, threshold) for seed in seeds]


def irbm_seed(seed: int, threshold: float) -> dict:
    """One seed of irbm_case (a task of its own: the seeds run beside the family's flights)."""
    c0 = time.process_time()
    areas = CellAreaIndex.load()
    base = _base()
    sc = Scenario(name="irbm-no-ship", launches=base.launches,
                  sensors={k: s for k, s in base.sensors.items() if k != JP_SHIP})
    sim = simulate(sc, seed=seed)
    t0 = float(sim.paths.t_first_s.min())
    times = step_times(sim.measurements, 1.0)
    times = times[times <= t0 + 400.0]  # past the cut-off path's alerts (about T+130 s)
    row: dict = {"seed": seed}
    for share in (True, False):
        floor, rec = jp_run(sim, times, areas, share=share)
        prob = probabilistic_alerts({"boost": rec["boost"], "ballistic": rec["ballistic"], "floor": floor},
                                    threshold)
        first = {a: min(floor.get(a, np.inf), prob.get(a, (np.inf, None))[0]) for a in set(floor) | set(prob)}
        key = "shared" if share else "alone"
        row[f"floor_{key}"] = {a: v - t0 for a, v in floor.items()}
        row[f"first_{key}"] = {a: v - t0 for a, v in first.items()}
        row[f"first_boost_step_{key}"] = rec["boost"][0][0] - t0 if rec["boost"] else None
    row["cpu_s"] = time.process_time() - c0
    return row


def probabilistic_alerts(r: dict, p_on: float) -> dict[str, tuple[float, float | None]]:
    """Per area: (alert time, correction time or None) of the emulated rule at threshold p_on."""
    out: dict[str, tuple[float, float | None]] = {}
    last_boost = r["boost"][-1][0] if r["boost"] else None
    for t, probs in r["boost"]:
        for area, p in probs.items():
            if p >= p_on and area not in out:
                out[area] = (t, None)
    for area, (t_on, _c) in list(out.items()):
        corr = None
        for t, probs in r["boost"]:
            if t > t_on and probs.get(area, 0.0) < 0.5 * p_on:
                corr = t
                break
        if corr is None and last_boost is not None and area not in r["floor"]:
            later = [t for t in r["ballistic"] if t > last_boost]
            if later:
                corr = later[0]
            elif r.get("seen"):
                # No ballistic prediction: the object was lost (over the sea); the warning stage calls it
                # lost lost_after_s after it was last seen, and lets the area go then.
                last_seen = max(r["seen"])
                if last_seen + LOST_AFTER_S <= r.get("t_end", np.inf):
                    corr = max(last_seen + LOST_AFTER_S, t_on)
        out[area] = (t_on, corr)
    return out


def summarise(results: list[dict]) -> list[dict]:
    rows = []
    for p_on in (*THRESHOLDS, None):
        leads, false_flights, corrections, uncorrected, sea_false = [], 0, [], 0, 0
        layer_false, layer_sea_false = 0, 0
        for r in results:
            prob = probabilistic_alerts(r, p_on) if p_on is not None else {}
            first = dict(r["floor"])
            for area, (t_on, _c) in prob.items():
                first[area] = min(first.get(area, np.inf), t_on)
            for area, enter in r["threat"].items():
                if area in first:
                    leads.append(enter - first[area])
            false = [a for a in first if a not in r["threat"]]
            by_layer = [a for a in false if a not in r["floor"]]  # false alerts the floor did not raise
            layer_false += bool(by_layer)
            layer_sea_false += bool(by_layer) and not r["threat"]
            if false:
                false_flights += 1
                if not r["threat"]:
                    sea_false += 1
            for a in by_layer:
                if a in prob:
                    c = prob[a][1]
                    if c is None:
                        uncorrected += 1
                    else:
                        corrections.append(c - r["t_burnout"])
        sea = sum(1 for r in results if not r["threat"])
        lead = np.array(leads) if leads else np.array([np.nan])
        rows.append({"threshold": p_on, "median_lead_s": float(np.median(lead)),
                     "p10_lead_s": float(np.percentile(lead, 10)), "areas": len(leads),
                     "false_flight_fraction": false_flights / max(len(results), 1),
                     "false_sea_flights": sea_false, "sea_flights": sea,
                     "layer_false_flights": layer_false, "layer_false_sea_flights": layer_sea_false,
                     "correction_p50_s": float(np.median(corrections)) if corrections else None,
                     "correction_max_s": float(np.max(corrections)) if corrections else None,
                     "uncorrected": uncorrected})
    return rows


def machine_rows(results: list[dict]) -> list[dict]:
    """Per MACHINE_RUNS entry, what the warning machine sent: lead over truly threatened areas, flights at
    sea with a false shelter alert, the correction of every false area after its evidence (all of them,
    and those the floor without the let-go did not raise, i.e. the layer's), the uncorrected ones by the
    end of the run, and the flaps."""
    rows = []
    for name in MACHINE_RUNS:
        leads, after, after_layer, after_sea, uncorrected, sea_false, flaps = [], [], [], [], 0, 0, 0
        for r in results:
            mr = r["machine"][name]
            floor = r["machine"]["floor before"]["first"]
            leads += [enter - mr["first"][a] for a, enter in r["threat"].items() if a in mr["first"]]
            sea_false += bool(mr["false"]) and not r["threat"]
            flaps += mr["flaps"]
            for fa in mr["false"]:
                if fa["after_s"] is None:
                    uncorrected += 1
                    continue
                after.append(fa["after_s"])
                if not r["threat"]:
                    after_sea.append(fa["after_s"])
                if fa["area"] not in floor:
                    after_layer.append(fa["after_s"])
        lead = np.array(leads) if leads else np.array([np.nan])
        rows.append({"run": name, "median_lead_s": float(np.median(lead)), "p10_lead_s": float(np.percentile(lead, 10)),
                     "areas": len(leads), "false_sea_flights": sea_false,
                     "sea_flights": sum(1 for r in results if not r["threat"]),
                     "false_areas": len(after) + uncorrected, "uncorrected": uncorrected,
                     "correction_p50_s": float(np.median(after)) if after else None,
                     "correction_max_s": float(np.max(after)) if after else None,
                     "layer_correction_p50_s": float(np.median(after_layer)) if after_layer else None,
                     "layer_correction_max_s": float(np.max(after_layer)) if after_layer else None,
                     "layer_false_areas": len(after_layer), "flaps": flaps,
                     "sea_false_areas": len(after_sea),
                     "sea_correction_p50_s": float(np.median(after_sea)) if after_sea else None,
                     "sea_correction_max_s": float(np.max(after_sea)) if after_sea else None})
    return rows


def print_machine_rows(rows: list[dict]) -> None:
    print("the warning machine on Japan's recorded inputs (before: without the decisive let-go); corr: the "
          "evidence (thrust end, or the track's loss if sooner, or the alert if later) to the message that "
          "clears or cancels each false area (s); layer: false areas the floor did not raise; flaps: let go "
          f"and sheltered again within {FLAP_S:.0f} s; sea: false areas of flights that end at sea (corrected ones)")
    print(f"{'run':>12} {'median lead':>11} {'p10 lead':>9} {'areas':>5} {'false at sea':>12} {'false areas':>11} "
          f"{'corr p50':>8} {'corr max':>8} {'sea':>4} {'sea p50':>7} {'sea max':>7} {'layer':>5} {'layer p50':>9} "
          f"{'layer max':>9} {'uncorr':>6} {'flaps':>5}")
    for row in rows:
        def f(x):
            return "-" if x is None else f"{x:.0f}"

        print(f"{row['run']:>12} {row['median_lead_s']:>11.0f} {row['p10_lead_s']:>9.0f} {row['areas']:>5} "
              f"{row['false_sea_flights']:>5}/{row['sea_flights']:<6} {row['false_areas']:>11} "
              f"{f(row['correction_p50_s']):>8} {f(row['correction_max_s']):>8} {row['sea_false_areas']:>4} "
              f"{f(row['sea_correction_p50_s']):>7} {f(row['sea_correction_max_s']):>7} {row['layer_false_areas']:>5} "
              f"{f(row['layer_correction_p50_s']):>9} {f(row['layer_correction_max_s']):>9} "
              f"{row['uncorrected']:>6} {row['flaps']:>5}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flights", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--plot", type=Path, help="lead against false-alert rate (needs the bench extra: matplotlib)")
    ap.add_argument("--default", type=float, default=DEFAULT_THRESHOLD, help="threshold of the IRBM case")
    ap.add_argument("--skip-irbm-case", action="store_true")
    ap.add_argument("--summarise", type=Path, help="print the table (and --plot) from a --json file and stop")
    ap.add_argument("--inputs", type=Path, help="keep each flight's warning-machine inputs in this folder")
    ap.add_argument("--replay", type=Path, help="the warning machine's table from an --inputs folder, and stop")
    args = ap.parse_args()
    if args.replay:
        print_machine_rows(machine_rows(replay_inputs(args.replay)))
        return
    if args.summarise:
        saved = [r for r in json.loads(args.summarise.read_text())["flights"] if "error" not in r]
        rows = summarise(saved)
        print_rows(rows)
        print_machine_rows(machine_rows(saved))
        if args.plot:
            plot(rows, args.plot)
        return
    flights = family(args.flights, args.seed)
    if args.inputs:
        args.inputs.mkdir(parents=True, exist_ok=True)
        flights = [{**f, "inputs": str(args.inputs)} for f in flights]
    w0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        # The IRBM case's seeds first (the longest runs), then the flights, longest first and one at a
        # time: no worker is left with a chunk of long ones at the end.
        irbm = [] if args.skip_irbm_case else [pool.submit(irbm_seed, seed, args.default) for seed in IRBM_SEEDS]
        todo = sorted(flights, key=lambda f: -_expected_cost(f))
        running = pool.map(run_flight, todo, chunksize=1)
        irbm_rows = [f.result() for f in irbm]
        if irbm_rows:
            print_irbm_case(irbm_rows, args.default)
        done = {r["k"]: r for r in running}
    if not flights:
        return
    results = [done[f["k"]] for f in flights]
    wall = time.perf_counter() - w0
    bad = [r for r in results if "error" in r]
    good = [r for r in results if "error" not in r]
    cpu = sum(r["cpu_s"] for r in good)
    cpu_all = cpu + sum(r["cpu_s"] for r in irbm_rows)
    irbm_note = "" if args.skip_irbm_case else f" (and the IRBM case's {len(IRBM_SEEDS)} seeds beside them)"
    print(f"{len(results)} flights ({len(bad)} not flyable){irbm_note} in {wall:.0f} s wall with {args.jobs} jobs;"
          f" per flight {np.median([r['wall_s'] for r in good]):.1f} s median, {max(r['wall_s'] for r in good):.1f} s"
          f" max; {sum(1 for r in good if r['threat'])} flights threaten Japanese land, "
          f"{sum(1 for r in good if not r['threat'])} end at sea")
    print(f"CPU {cpu:.0f} s in the flights ({cpu / max(len(good), 1):.2f} s per flight, median "
          f"{np.median([r['cpu_s'] for r in good]):.2f} s); with the IRBM case {cpu_all:.0f} s: "
          f"{cpu_all / max(args.jobs, 1):.0f} s wall on {args.jobs} otherwise idle cores")
    rows = summarise(good)
    print_rows(rows)
    mrows = machine_rows(good)
    print_machine_rows(mrows)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "machine_rows": mrows, "flights": results}, default=float))
    if args.plot:
        plot(rows, args.plot)


def print_irbm_case(rows: list[dict], threshold: float) -> None:
    print(f"IRBM over Aomori without the Japanese destroyer, Japan's first shelter alert (s after launch),"
          f" threshold {threshold:g}:")
    for row in rows:
        for a in sorted(set(row["first_shared"]) | set(row["first_alone"])):
            fs, fa = row["first_shared"].get(a), row["first_alone"].get(a)
            gs, ga = row["floor_shared"].get(a), row["floor_alone"].get(a)
            gain = "-" if fs is None or fa is None else f"{fa - fs:+.0f}"
            print(f"  seed {row['seed']} {a}: with layer shared {_s(fs)} alone {_s(fa)} gain {gain};"
                  f" floor only shared {_s(gs)} alone {_s(ga)}")
        print(f"  seed {row['seed']}: first boost_risk assessment shared {_s(row['first_boost_step_shared'])}"
              f" alone {_s(row['first_boost_step_alone'])}", flush=True)


def print_rows(rows: list[dict]) -> None:
    print("lead: true entry - first shelter alert over truly threatened areas (s); false: flights with a shelter "
          "alert for an area the warhead never crossed (all / at sea / by the layer where the floor had none);"
          " corr: the emulated layer rule's correction after thrust end (s; the warning machine's own below)")
    print(f"{'threshold':>9} {'median lead':>11} {'p10 lead':>9} {'areas':>5} {'false flights':>13} "
          f"{'false at sea':>12} {'layer false':>11} {'layer at sea':>12} {'corr p50':>8} {'corr max':>8}"
          f" {'uncorr':>6}")
    for row in rows:
        th = "floor" if row["threshold"] is None else f"{row['threshold']:.2f}"
        c50 = "-" if row["correction_p50_s"] is None else f"{row['correction_p50_s']:.0f}"
        cmax = "-" if row["correction_max_s"] is None else f"{row['correction_max_s']:.0f}"
        print(f"{th:>9} {row['median_lead_s']:>11.0f} {row['p10_lead_s']:>9.0f} {row['areas']:>5} "
              f"{row['false_flight_fraction']:>13.3f} {row['false_sea_flights']:>5}/{row['sea_flights']:<6} "
              f"{row['layer_false_flights']:>11} {row['layer_false_sea_flights']:>12} "
              f"{c50:>8} {cmax:>8} {row['uncorrected']:>6}")


def _s(x) -> str:
    return "-" if x is None or not np.isfinite(x) else f"T+{x:.0f}"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    prob = [r for r in rows if r["threshold"] is not None]
    floor = next(r for r in rows if r["threshold"] is None)
    def sea(r):
        return 100.0 * r["false_sea_flights"] / max(r["sea_flights"], 1)

    ax.plot([sea(r) for r in prob], [r["median_lead_s"] for r in prob], "o-", label="median lead")
    ax.plot([sea(r) for r in prob], [r["p10_lead_s"] for r in prob], "s--", label="10th percentile lead")
    for r in prob:
        ax.annotate(f"p={r['threshold']:g}", (sea(r), r["p10_lead_s"]), textcoords="offset points",
                    xytext=(4, -10), fontsize=8)
    ax.plot([sea(floor)], [floor["median_lead_s"]], "k^", label="floor only (cut-off path + ballistic)")
    ax.plot([sea(floor)], [floor["p10_lead_s"]], "kv")
    ax.set_xlabel("flights ending at sea with a false shelter alert (%)")
    ax.set_ylabel("lead before the warhead is over the area (s)")
    ax.set_title("Probabilistic boost-phase warning: lead against false alerts")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
