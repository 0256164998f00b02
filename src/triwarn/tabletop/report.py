"""The After-Action Report / Improvement Plan (HSEEP AAR/IP) of a tabletop session, as data, HTML and PDF.

    aar = build_aar(session)          # pure: a dict
    write_html(aar, out / "aar.html")
    write_pdf(aar, out / "aar.pdf")   # Typst (the `typst` wheel: no system packages)

Sections: the exercise overview; the objectives and their ratings (HSEEP's P/S/M/U: computed from the
injects' answers against each objective's target latency, unless the controller rated it); the timeline
of system events against human decisions; decision latency per seat (inject -> the seat's first decision
naming it); what sharing changed; strengths and areas for improvement; the improvement-plan table.
"""

from __future__ import annotations

import html
import json
import statistics
import tempfile
import time
from pathlib import Path

from triwarn.tabletop.plan import RATINGS
from triwarn.tabletop.session import TabletopSession, seat_nation

WALL_KEYS = ("wall_s", "picture_feed_s", "folder")  # figures of the machine, not of the exercise


def _latencies(session: TabletopSession) -> list[dict]:
    """Per inject and nation seat it went to: when it arrived, the first decision naming it, the latency."""
    rows = []
    entries = session.entries
    for inj in (e for e in entries if e.kind == "inject"):
        for seat in inj.audience:
            if seat_nation(seat) is None:
                continue
            answer = next((d for d in entries if d.kind == "decision" and d.seat == seat and d.seq > inj.seq
                           and d.data.get("inject") == inj.data.get("number")), None)
            rows.append({"inject": inj.data.get("number"), "type": inj.data.get("type"), "seat": seat,
                         "objective": inj.data.get("objective"), "sent_s": inj.t_s, "branch": inj.branch,
                         "decision_s": None if answer is None else answer.t_s,
                         "latency_s": None if answer is None else round(answer.t_s - inj.t_s, 1),
                         "action": None if answer is None else answer.data.get("action")})
    return rows


def _rating(rows: list[dict], target_s: float) -> tuple[str | None, str]:
    if not rows:
        return None, "no inject of the MSEL exercised it"
    answered = [r for r in rows if r["latency_s"] is not None]
    on_time = [r for r in answered if r["latency_s"] <= target_s]
    why = f"{len(answered)}/{len(rows)} inject deliveries answered, {len(on_time)} within {target_s:g} s"
    if len(on_time) == len(rows):
        return "P", why
    if len(answered) == len(rows):
        return "S", why
    return ("M" if answered else "U"), why


def _per_seat(lat: list[dict]) -> list[dict]:
    out = []
    for seat in sorted({r["seat"] for r in lat}):
        mine = [r for r in lat if r["seat"] == seat]
        vals = [r["latency_s"] for r in mine if r["latency_s"] is not None]
        out.append({"seat": seat, "injects": len(mine), "answered": len(vals),
                    "median_s": round(statistics.median(vals), 1) if vals else None,
                    "max_s": max(vals) if vals else None})
    return out


def build_aar(session: TabletopSession) -> dict:
    """The AAR/IP as a dict (also written as aar.json)."""
    plan, tl = session.plan, session.timeline
    lat = _latencies(session)
    objectives = []
    for o in plan.objectives:
        rows = [r for r in lat if r["objective"] == o.id]
        rating, why = _rating(rows, o.target_latency_s)
        given = session.ratings.get(o.id)
        if given:
            rating, why = given["rating"], f"rated by the controller: {given['note'] or RATINGS[given['rating']]}"
        objectives.append({"id": o.id, "title": o.title, "capability": o.capability, "criteria": list(o.criteria),
                           "rating": rating or "-", "rating_words": RATINGS.get(rating or "", "not rated"),
                           "why": why})
    timeline = []
    for e in session.entries:
        if e.kind == "control" and e.data.get("action") in ("improvement", "rate"):
            continue
        col = {"system": "system", "inject": "inject", "decision": "decision", "refused": "decision",
               "control": "control"}.get(e.kind, e.kind)
        timeline.append({"seq": e.seq, "t_s": round(e.t_s, 1), "branch": e.branch, "column": col,
                         "kind": e.kind, "seat": e.seat or "", "text": e.text})
    sharing_decisions = [{"t_s": round(e.t_s, 1), "seat": e.seat, "text": e.text} for e in session.entries
                         if e.kind == "decision" and e.data.get("action") in ("release_data", "withhold_data",
                                                                               "ask_partner")]
    refused = [e for e in session.entries if e.kind == "refused"]
    strengths = [f"{o['id']} ({o['title']}): {o['rating_words'].lower()}" for o in objectives if o["rating"] == "P"]
    improve = [f"{o['id']} ({o['title']}): {o['rating_words'].lower()} - {o['why']}" for o in objectives
               if o["rating"] in ("S", "M", "U")]
    unanswered = [r for r in lat if r["latency_s"] is None]
    if unanswered:
        improve.append(f"{len(unanswered)} inject deliveries got no decision naming them: "
                       + ", ".join(f"#{r['inject']} to {r['seat']}" for r in unanswered[:12]))
    if refused:
        improve.append(f"{len(refused)} decisions were refused (acting for another nation, outside the release "
                       "policy, or malformed): see the timeline")
    gains = [r for r in tl.sharing if r.get("gain_s") is not None and r["gain_s"] > 0]
    if gains:
        strengths.append("sharing warned earlier: " + ", ".join(f"{r['node']} {r['area']} by {r['gain_s']:.0f} s"
                                                                 for r in gains[:8]))
    det = next((e.data for e in session.entries if e.data.get("event") == "detonation"), None)
    return {
        "overview": {"name": plan.name, "exercise": plan.exercise, "scenario": plan.source,
                     "msel": plan.sources.get("msel"), "objectives": plan.sources.get("objectives"),
                     "t0_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(plan.t0_unix_s)),
                     "duration_s": plan.duration_s, "seats": list(plan.seats),
                     "base": str(plan.base) if plan.base else None, "branches": session.branch + 1,
                     "injects_delivered": sum(1 for e in session.entries if e.kind == "inject"),
                     "decisions": sum(1 for e in session.entries if e.kind == "decision"),
                     "refused": len(refused), "cap_messages_by_seats": len(session.caps),
                     "system": {k: v for k, v in tl.info.items() if k not in WALL_KEYS}, "status": "Exercise"},
        "wall": {k: v for k, v in tl.info.items() if k in WALL_KEYS},  # not in aar.json: it varies run to run
        "objectives": objectives,
        "timeline": timeline,
        "latency": lat,
        "latency_by_seat": _per_seat(lat),
        "sharing": {"first_alerts": tl.sharing, "decisions": sharing_decisions},
        "detonation": det,
        "strengths": strengths or ["(none recorded)"],
        "improvements_needed": improve or ["(none recorded)"],
        "improvement_plan": list(session.improvements),
    }


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _t(t_s) -> str:
    if t_s is None:
        return "-"
    t = round(float(t_s))
    return f"T+{t // 60:02d}:{t % 60:02d}"


def render_html(aar: dict) -> str:
    ov = aar["overview"]
    parts = [f"<h1>After-Action Report / Improvement Plan: {html.escape(ov['name'])}</h1>",
             "<p class=ex>EXERCISE - status Exercise. Every alert in this exercise was marked as one.</p>",
             "<h2>1. Exercise overview</h2>",
             _table(["item", "value"], [[k, json.dumps(v) if isinstance(v, dict | list) else v]
                                        for k, v in ov.items()])]
    if aar.get("detonation"):
        d = aar["detonation"]
        parts.append("<h3>Consequence-planning zones (nuclear-emergency scenario, exercise only)</h3>")
        parts.append(_table(["zone", "value"], [
            ["yield (kt)", d["yield_kt"]], ["severe damage radius (km)", f"{d['severe_m'] / 1000:.3f}"],
            ["moderate damage radius (km)", f"{d['moderate_m'] / 1000:.3f}"],
            ["light damage radius (km)", f"{d['light_m'] / 1000:.3f}"],
            ["fallout footprint length (km)", f"{d['fallout_length_m'] / 1000:.1f}"],
            ["wind toward (deg)", d["wind_to_deg"]], ["shelter areas", ", ".join(d["affected"]["shelter"])],
            ["do-not-travel areas", ", ".join(d["affected"]["caution"])]]))
    parts += ["<h2>2. Objectives and ratings</h2>",
              _table(["objective", "title", "capability", "evaluation criteria", "rating", "why"],
                     [[o["id"], o["title"], o["capability"], "; ".join(o["criteria"]),
                       f"{o['rating']} ({o['rating_words']})", o["why"]] for o in aar["objectives"]]),
              "<h2>3. Timeline: system events against human decisions</h2>",
              _table(["time", "branch", "system", "inject", "decision", "control"],
                     [[_t(r["t_s"]), r["branch"]] + [r["text"] if r["column"] == c else ""
                                                     for c in ("system", "inject", "decision", "control")]
                      for r in aar["timeline"]]),
              "<h2>4. Decision latency per seat (inject to decision)</h2>",
              _table(["seat", "injects", "answered", "median (s)", "max (s)"],
                     [[r["seat"], r["injects"], r["answered"], r["median_s"], r["max_s"]]
                      for r in aar["latency_by_seat"]]),
              _table(["inject", "type", "seat", "sent", "decision", "latency (s)", "action"],
                     [[r["inject"], r["type"], r["seat"], _t(r["sent_s"]), _t(r["decision_s"]), r["latency_s"],
                       r["action"]] for r in aar["latency"]]),
              "<h2>5. What sharing changed</h2>",
              _table(["node", "area", "shelter shared", "shelter alone", "gain (s)"],
                     [[r["node"], r["area"], _t(r["shelter_shared_s"]), _t(r["shelter_alone_s"]), r["gain_s"]]
                      for r in aar["sharing"]["first_alerts"]]),
              _table(["time", "seat", "sharing decision"],
                     [[_t(r["t_s"]), r["seat"], r["text"]] for r in aar["sharing"]["decisions"]]),
              "<h2>6. Strengths</h2><ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in aar["strengths"])
              + "</ul>",
              "<h2>7. Areas for improvement</h2><ul>"
              + "".join(f"<li>{html.escape(s)}</li>" for s in aar["improvements_needed"]) + "</ul>",
              "<h2>8. Improvement plan</h2>",
              _table(["issue", "corrective action", "capability", "responsible nation", "due"],
                     [[r["issue"], r["corrective_action"], r["capability"], r["responsible"], r["due"]]
                      for r in aar["improvement_plan"]])]
    style = ("body{font-family:sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #999;padding:2px 6px;font-size:90%;vertical-align:top}"
             ".ex{color:#a00;font-weight:bold}")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>AAR/IP {html.escape(ov['name'])}"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_html(aar: dict, path: Path) -> Path:
    path.write_text(render_html(aar), encoding="utf-8")
    return path


_TYP = Path(__file__).with_name("aar.typ")


def write_pdf(aar: dict, path: Path) -> Path:
    """The AAR/IP as PDF: the Typst template aar.typ (beside this module) laid out over aar.json."""
    import shutil

    import typst

    with tempfile.TemporaryDirectory(prefix="triwarn-aar-") as tmp:
        work = Path(tmp)
        shutil.copy(_TYP, work / "aar.typ")
        (work / "aar.json").write_text(json.dumps(aar, default=str), encoding="utf-8")
        pdf = typst.compile(str(work / "aar.typ"))
    path.write_bytes(pdf)
    return path
