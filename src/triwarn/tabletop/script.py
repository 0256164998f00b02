"""`triwarn tabletop run`: a tabletop exercise with scripted seats, deterministic for a given seed.

The base scenario runs through the exercise engine first (triwarn.tabletop.system); then the session plays
on the scenario clock with no wall time in it: at each decision's time the clock advances (injects and
system events fall due), the decision is applied, and at the end the AAR/IP is written.

OUT gets: aar.html, aar.pdf, aar.json, timeline.jsonl (every entry), cap/ (the seats' CAP documents),
system/ (the base run's outputs, when there is a base scenario).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from triwarn.errors import InputError
from triwarn.tabletop.decisions import load_decisions
from triwarn.tabletop.plan import TabletopPlan, load_tabletop
from triwarn.tabletop.report import build_aar, write_html, write_pdf
from triwarn.tabletop.session import TabletopSession
from triwarn.tabletop.system import SystemTimeline, base_timeline


def new_session(plan: TabletopPlan, timeline: SystemTimeline) -> TabletopSession:
    from triwarn.geo.areas import AreaIndex
    from triwarn.geo.areas_names import AREA_NAMES
    from triwarn.share.policy import load_network

    areas = AreaIndex.load()
    return TabletopSession(plan, timeline, area_codes=AREA_NAMES, network=load_network(),
                           cap_polygons=areas.cap_polygons)


def write_outputs(session: TabletopSession, out: Path) -> dict:
    """Write the AAR/IP (HTML, PDF, JSON), the timeline and the seats' CAP documents; return the AAR."""
    aar = build_aar(session)
    kept = {k: v for k, v in aar.items() if k != "wall"}  # the same files give the same aar.json
    (out / "aar.json").write_text(json.dumps(kept, indent=1, default=str), encoding="utf-8")
    with open(out / "timeline.jsonl", "w", encoding="utf-8") as fh:
        for e in session.entries:
            fh.write(json.dumps(e.as_dict(), default=str, ensure_ascii=False) + "\n")
    cap_dir = out / "cap"
    cap_dir.mkdir(exist_ok=True)
    for ident, xml in session.caps:
        (cap_dir / (ident.replace("/", "_") + ".xml")).write_bytes(xml)
    write_html(aar, out / "aar.html")
    write_pdf(aar, out / "aar.pdf")
    return aar


def run_scripted(scenario: str | Path, decisions: Path, out: Path, *, seed: int = 0) -> dict:
    """Load, check, run and report; returns the AAR."""
    plan = load_tabletop(scenario)
    script = load_decisions(decisions, plan)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc}", source=str(out)) from None
    timeline = asyncio.run(base_timeline(plan, out / "system", seed=seed))
    session = new_session(plan, timeline)
    session.control("start", 0.0)
    session.advance(0.0)
    for d in script:
        session.advance(d.t_s)
        session.decide(d.seat, dict(d.payload), d.t_s)
    session.advance(plan.duration_s)
    session.control("end", plan.duration_s)
    return write_outputs(session, out)
