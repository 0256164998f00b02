"""`triwarn tabletop run`: scripted seats, deterministic; every decision in the AAR/IP; the PDF opens."""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from triwarn.cli import app
from triwarn.tabletop.script import run_scripted

from .conftest import SCENARIO, write_tabletop


def _run(tabletop, out):
    res = CliRunner().invoke(app, ["tabletop", "run", str(tabletop), "--decisions",
                                   str(tabletop.parent / "decisions.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.slow  # two whole scripted runs with their PDFs
def test_scripted_run_is_deterministic_and_reports_every_decision(tabletop, tmp_path):
    out1 = _run(tabletop, tmp_path / "a")
    _run(tabletop, tmp_path / "b")
    assert "AAR/IP:" in out1 and "2 refused" in out1
    t1 = (tmp_path / "a" / "timeline.jsonl").read_text()
    assert t1 == (tmp_path / "b" / "timeline.jsonl").read_text()
    assert (tmp_path / "a" / "aar.json").read_text() == (tmp_path / "b" / "aar.json").read_text()
    entries = [json.loads(line) for line in t1.splitlines()]
    aar = json.loads((tmp_path / "a" / "aar.json").read_text())
    in_aar = {r["seq"] for r in aar["timeline"]}
    human = [e for e in entries if e["kind"] in ("decision", "refused")]
    assert len(human) == 8  # 8 seat decisions in the file (2 refused); the controller's rows go to the IP table
    assert all(e["seq"] in in_aar for e in human)
    assert aar["improvement_plan"][0]["corrective_action"] == "Shared media watch"
    assert {o["id"]: o["rating"] for o in aar["objectives"]}["OBJ-2"] == "S"  # the controller's rating
    html = (tmp_path / "a" / "aar.html").read_text()
    for e in human:
        assert e["text"].split(":")[0].replace("'", "&#x27;") in html
    pdf = PdfReader(tmp_path / "a" / "aar.pdf")
    assert len(pdf.pages) >= 2
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "After-Action Report" in text and "Improvement plan" in text and "Shared media watch" in text
    assert "refused" in text and "TEST-TTX" in text
    caps = sorted(p.name for p in (tmp_path / "a" / "cap").iterdir())
    assert len(caps) == 3  # Japan's alert and its cancel, the US detonation alert


@pytest.mark.slow  # the exercise engine over NATS for the base scenario's first 3 minutes
def test_base_scenario_runs_through_the_exercise_engine(tmp_path):
    scenario = SCENARIO.replace('t0_utc: "2024-01-15T01:00:00Z"\n', "base: irbm-toward-guam\n").replace(
        'duration: "30:00"', 'duration: "03:00"').replace('at: "10:00"', 'at: "02:30"')
    msel = """\
msel:
  - {number: 1, time: "01:00", type: information, to: [us, jp, kr], description: Launch reported.,
     objective: OBJ-1}
"""
    path = write_tabletop(tmp_path / "t", scenario=scenario, msel=msel, decisions="""\
decisions:
  - {at: "02:00", seat: kr, action: issue_alert, areas: [KR-47], inject: 1, note: "On the shared track"}
""")
    aar = run_scripted(path, path.parent / "decisions.yaml", tmp_path / "out")
    tl = [json.loads(x) for x in (tmp_path / "out" / "timeline.jsonl").read_text().splitlines()]
    system = [e for e in tl if e["kind"] == "system"]
    assert any("launch detected" in e["text"] for e in system)
    assert any(e["data"].get("event") == "warning" and e["seat"] == "kr" for e in system)
    assert aar["overview"]["system"]["cap_messages"] > 0
    assert (tmp_path / "out" / "system" / "metrics.json").is_file()
    assert PdfReader(tmp_path / "out" / "aar.pdf").pages
