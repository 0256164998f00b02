"""Issue 15's goals on a demo-like run: simulate bundled scenarios, replay them (every node issuing CAP
for its own channels), and check every CAP file the nodes wrote.

Run: .venv/bin/python bench/bench_alert_profiles.py [--only aomori|guam|eez] [--seed N] [--keep DIR]

Per scenario and nation it prints: CAP files, files with CAP 1.2 problems (validate_cap), files with
profile problems for the nation's own channels (profiles.check_profile; goal 0), mixed-state messages
(goal 0), the longest Korean phone text (CMAMtext of ko-KR; goal <= 90), sea notices and how many are
aimed at sea (goal: all), signatures that verify against the run's key, and the time spent writing CAP
(to_cap, signed) per message.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from lxml import etree

from triwarn.errors import InputError
from triwarn.exercise.replay import replay
from triwarn.sensors.commands import run_simulate
from triwarn.warn import profiles, xmlsig
from triwarn.warn.cap import CAP_NS, validate_cap

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "aomori": ROOT / "src/triwarn/scenarios/2022-10-04-irbm-aomori.yaml",
    "guam": ROOT / "src/triwarn/scenarios/irbm-toward-guam.yaml",
    "eez": ROOT / "src/triwarn/scenarios/2022-11-18-icbm-hwasong17.yaml",
}
NS = {"c": CAP_NS}


def check_file(path: Path) -> dict:
    data = path.read_bytes()
    doc = etree.fromstring(data)
    sender = doc.findtext("c:sender", namespaces=NS) or ""
    nation = profiles.nation_of_sender(sender.split("@")[0]) or "?"
    profile = profiles.profiles().get(nation, profiles.GENERIC)
    infos = doc.findall("c:info", NS)
    decisions = {tuple(r.text for r in i.iterfind("c:responseType", NS)) for i in infos}
    phones = [p.findtext("c:value", namespaces=NS) or "" for p in
              doc.iterfind("c:info[c:language='ko-KR']/c:parameter", NS)
              if p.findtext("c:valueName", namespaces=NS) == "CMAMtext"]
    notice = [i for i in infos if [r.text for r in i.iterfind("c:responseType", NS)] == ["Monitor"]]
    try:
        xmlsig.verify_cap(data, xmlsig.run_key(nation).cert_pem)
        signed = True
    except InputError:  # counted; the profile check says why
        signed = False
    return {
        "nation": nation,
        "cap_problems": validate_cap(data),
        "profile_problems": profiles.check_profile(data, profile),
        "mixed": len(decisions) > 1,
        "ko_phone_max": max((len(p) for p in phones), default=0),
        "sea_notices": len(notice),
        "sea_aimed": sum(profiles.is_sea_info(i) for i in notice),
        "signed": signed,
    }


def run_one(name: str, scenario: Path, seed: int, work: Path) -> None:
    sim, out = work / f"{name}-sim", work / f"{name}-out"
    run_simulate(scenario, sim, seed=seed)
    t0 = time.perf_counter()
    replay(sim / "sensors.yaml", sim / "measurements.jsonl", out, share=False, step_s=1.0, progress=False)
    wall = time.perf_counter() - t0
    rows = [check_file(p) for p in sorted((out / "cap").glob("*.xml"))]
    print(f"{name}: {scenario.name}, replay {wall:.1f} s, {len(rows)} CAP files")
    for nation in sorted({r["nation"] for r in rows}):
        mine = [r for r in rows if r["nation"] == nation]
        problems = Counter(p.split(":")[0] for r in mine for p in r["profile_problems"])
        print(f"  {nation}: files {len(mine)}  CAP 1.2 problems {sum(bool(r['cap_problems']) for r in mine)}"
              f"  profile problems {sum(bool(r['profile_problems']) for r in mine)}"
              f"  mixed-state {sum(r['mixed'] for r in mine)}"
              f"  longest ko phone text {max(r['ko_phone_max'] for r in mine)}"
              f"  sea notices {sum(r['sea_notices'] > 0 for r in mine)}"
              f" (aimed at sea {sum(r['sea_notices'] > 0 and r['sea_aimed'] == r['sea_notices'] for r in mine)})"
              f"  signed+verified {sum(r['signed'] for r in mine)}")
        for what, n in problems.most_common(5):
            print(f"      {n} x {what}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(SCENARIOS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-profiles-") as tmp:
        work = args.keep or Path(tmp)
        for name, scenario in SCENARIOS.items():
            if args.only in (None, name):
                run_one(name, scenario, args.seed, work)


if __name__ == "__main__":
    main()
