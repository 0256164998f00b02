"""Partners' launch and impact reports against the fused picture, with honest partners: how many are used,
how many agree, how many match nothing, how many are called contradictions (by reason), and how far apart
the two sides' estimates are in sigma units (issue 13, "bad input").

Run: .venv/bin/python bench/bench_partner_reports.py [--seeds 1 2] [--only NAME-PART ...] [--json FILE]

Each case is simulated and run with sharing, every node in this process
(triwarn.exercise.replay.run_in_process). Every node's Assessor.partner_impacts and partner_launches
are wrapped to see each check's inputs; the counts are the books' own (per check: one report at one
step). Gaps, per check, in sigmas beyond the margin as the gate sees them (partner_gate.excess_sigma; the gate
passes at <= GATE_SIGMA):
  impact: a partner track's report against the own prediction of the own track it is bound to (after
          the check; one object seen by both), point and time (partner_impact.gaps_sigma);
  launch: a report against the node's own launch estimate of the track it was checked for, point and
          time (partner_launch.gaps_sigma), and the time since the reported launch for a boosting track.
Goal: no contradiction from an honest partner; the gaps set the gates (docs in the two modules).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from triwarn.assess import partner_impact, partner_launch
from triwarn.exercise.replay import run_in_process
from triwarn.geo import geodesic
from triwarn.sensors.scenario import load_scenario
from triwarn.sensors.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "src/triwarn/scenarios").glob("*.yaml"))
DEFAULT = ["2017-08-29", "2022-10-04", "2022-11-18", "2023-04-13", "2023-08-24", "salvo-srbm-example"]
PCTS = (50, 90, 99, 99.9, 100)


def _impact_gaps(rec: list, node: str, r, own_by_track: dict, bound: str | None, now: float) -> None:
    o = own_by_track.get(bound) if bound is not None else None
    if o is None or abs(o.time_unix_s - r.impact_t_unix_s) > partner_impact.NEAR_S:
        return  # about another fall (the book calls it unrelated)
    g_place, g_time = partner_impact.gaps_sigma(r, o, now)
    rec.append({"node": node, "sender": r.sender, "track": r.track_id, "own": o.track, "place_sig": g_place,
                "time_sig": g_time, "dist_m": float(geodesic.inverse(r.lat_deg, r.lon_deg, o.lat_deg, o.lon_deg)[0]),
                "dt_s": r.impact_t_unix_s - o.time_unix_s, "age_s": now - r.sent_unix_s,
                "tgo_s": o.time_unix_s - now, "smaj_r": r.semi_major_m, "smaj_o": o.semi_major_m,
                "ts_r": r.impact_t_sigma_s, "ts_o": o.time_sigma_s})


def wrap(nodes: dict, gaps: dict) -> None:
    """Wrap every node's partner books to keep each check's gaps (gaps[kind] lists)."""
    for nation, node in nodes.items():
        imp, lau = node.assessor.partner_impacts, node.assessor.partner_launches
        orig_support, orig_launch = imp.support, lau.launch_time_for

        def support(reports, own, now, _orig=orig_support, _book=imp, _n=nation):
            out = _orig(reports, own, now)
            by_track = {o.track: o for o in own}
            for r in reports:
                if r.sent_unix_s < now - partner_impact.REPORT_MAX_AGE_S:
                    continue
                bound = _book._bound.get((r.sender, r.track_id))
                _impact_gaps(gaps["impact"], _n, r, by_track, bound, now)
            return out

        def launch_time_for(reports, t_track, lat, lon, own, _orig=orig_launch, _n=nation):
            for r in reports:
                elapsed = t_track - r.time_unix_s
                if abs(elapsed) > partner_launch.NEAR_S:
                    continue
                row = {"node": _n, "sender": r.sender, "event": r.event_id, "elapsed_s": elapsed,
                       "t_launch": r.time_unix_s,
                       "ts_r": r.time_sigma_s, "hs_r": r.horiz_sigma_m}
                if own is not None:
                    g_place, g_time = partner_launch.gaps_sigma(r, own)
                    row.update(place_sig=g_place, time_sig=g_time, dt_s=r.time_unix_s - own[2], own_ts=own[3])
                gaps["launch"].append(row)
            return _orig(reports, t_track, lat, lon, own)

        imp.support = support
        lau.launch_time_for = launch_time_for


def run_case(path: Path, seed: int) -> dict:
    scenario = load_scenario(path)
    sim = simulate(scenario, seed=seed)
    held: dict = {}
    gaps: dict = {"impact": [], "launch": []}

    def hook(nodes):
        held.update(nodes)
        wrap(nodes, gaps)

    t0 = time.perf_counter()
    run_in_process(sim.sensors, sim.measurements, share=True, node_hook=hook)
    out = {"wall_s": time.perf_counter() - t0, "nodes": {}, "gaps": gaps,
           "true_launch_unix_s": [float(x.t_unix_s) for x in scenario.launches]}
    for n, node in held.items():
        imp, lau = node.assessor.partner_impacts, node.assessor.partner_launches
        out["nodes"][n] = {
            "impact": {"supported": dict(imp.supported), "unmatched": dict(imp.unmatched),
                       "conflicts": {f"{s}:{why}": k for (s, why), k in imp.conflicts.items()},
                       "bound": len(imp._bound)},
            "launch": {"used": dict(lau.used),
                       "conflicts": {f"{s}:{why}": k for (s, why), k in lau.conflicts.items()}}}
    return out


def _pct(xs) -> str:
    if not len(xs):
        return "-"
    return " ".join(f"p{p:g} {np.percentile(xs, p):.2f}" for p in PCTS)


def print_case(name: str, r: dict) -> None:
    print(f"\n== {name}: {r['wall_s']:.0f} s wall (loaded)")
    for n, c in r["nodes"].items():
        i, la = c["impact"], c["launch"]
        print(f"  {n} impact: supported {sum(i['supported'].values())} unmatched {sum(i['unmatched'].values())}"
              f" bound {i['bound']} conflicts {i['conflicts'] or 0}")
        print(f"  {n} launch: used {sum(la['used'].values())} conflicts {la['conflicts'] or 0}")
    imp = r["gaps"]["impact"]
    print(f"  impact gaps (bound pairs, {len(imp)} checks): point σ {_pct([g['place_sig'] for g in imp])}")
    print(f"    time σ {_pct([g['time_sig'] for g in imp])}")
    print(f"    |dt| s {_pct([abs(g['dt_s']) for g in imp])}; point km {_pct([g['dist_m'] / 1e3 for g in imp])}")
    lau = r["gaps"]["launch"]
    own = [g for g in lau if "place_sig" in g]
    print(f"  launch checks {len(lau)}: elapsed s {_pct([g['elapsed_s'] for g in lau])}")
    truth = np.array(r["true_launch_unix_s"])
    events: dict = {}
    for g in lau:
        events.setdefault((g["sender"], g["event"]), []).append(g)
    for (sender, event), rows in sorted(events.items()):
        off = [g["t_launch"] - truth[np.argmin(np.abs(truth - g["t_launch"]))] for g in rows]
        print(f"    {sender} {event}: reported launch - true {min(off):+.1f}..{max(off):+.1f} s"
              f" (sigma {rows[-1]['ts_r']:.1f} s), time since it at the checks {min(g['elapsed_s'] for g in rows):.0f}"
              f"..{max(g['elapsed_s'] for g in rows):.0f} s")
    if own:
        print(f"    vs own estimate ({len(own)}): point σ {_pct([g['place_sig'] for g in own])}")
        print(f"    time σ {_pct([g['time_sig'] for g in own])}; dt s {_pct([g['dt_s'] for g in own])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="+", default=DEFAULT, help="scenarios whose file name contains one of these")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    paths = [p for p in SCENARIOS if any(o in p.name for o in args.only)]
    results, total = {}, Counter()
    for path in paths:
        for seed in args.seeds:
            r = run_case(path, seed)
            results[f"{path.stem}/{seed}"] = r
            print_case(f"{path.stem} seed {seed}", r)
            for c in r["nodes"].values():
                for kind in ("impact", "launch"):
                    for k, v in c[kind]["conflicts"].items():
                        total[f"{kind} {k.split(':')[1]}"] += v
    imp = [g for r in results.values() for g in r["gaps"]["impact"]]
    own = [g for r in results.values() for g in r["gaps"]["launch"] if "place_sig" in g]
    print(f"\nall cases: impact point σ {_pct([g['place_sig'] for g in imp])}")
    print(f"  impact time σ {_pct([g['time_sig'] for g in imp])}")
    print(f"  launch point σ {_pct([g['place_sig'] for g in own])}")
    print(f"  launch time σ {_pct([g['time_sig'] for g in own])}")
    print(f"contradictions (checks): {dict(total) or 0}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
