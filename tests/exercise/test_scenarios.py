"""Every packaged scenario runs as an exercise over real NATS and its report opens in headless Chromium
without console errors; every CAP message it issues is status Exercise and valid.

Shortened on purpose (CI budget: the whole suite must stay well under 15 minutes on 2 cores): each run
stops SHORT_S after T0 (launch, ascent, first predictions and the first alerts all fall in it), steps
the clock by STEP_S, and skips the no-sharing baseline. bench/bench_exercise.py runs full flights.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from triwarn.exercise.engine import ExerciseOptions, run_exercise
from triwarn.exercise.plan import load_plan
from triwarn.warn.cap import validate_cap

from .conftest import SCENARIOS, chromium_page

SHORT_S = 130.0
STEP_S = 5.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for path in SCENARIOS:
        folder = tmp_path_factory.mktemp(path.stem)
        run_exercise(load_plan(path), folder, ExerciseOptions(seed=1, step_s=STEP_S, baseline=False,
                                                              end_after_s=SHORT_S, progress=False))
        out[path.stem] = folder
    return out


def test_scenarios_exist_for_each_case_the_issue_names():
    names = {p.stem for p in SCENARIOS}
    public = {"2017-08-29-irbm-over-hokkaido", "2017-11-29-icbm-lofted-hwasong15", "2022-03-24-icbm-lofted",
              "2022-10-04-irbm-aomori", "2022-11-18-icbm-hwasong17", "2023-02-18-icbm-lofted",
              "2023-07-12-icbm-hwasong18", "2023-12-18-icbm-hwasong18"}
    cases = {"salvo-srbm-24", "irbm-toward-guam", "2022-11-03-track-lost-over-sea", "2023-04-13-separating-piece",
             "hub-down-midflight"}
    assert public | cases <= names
    salvo = load_plan(next(p for p in SCENARIOS if p.stem == "salvo-srbm-24"))
    assert len(salvo.scenario.launches) >= 20


@pytest.mark.parametrize("name", [p.stem for p in SCENARIOS])
def test_scenario_runs_clean_and_speaks_exercise(runs, name):
    out = runs[name]
    metrics = json.loads((out / "metrics.json").read_text())
    tr = metrics["transport"]
    t_end = metrics["exercise"]["t_end_unix_s"]
    link_down_at_end = any(f["kind"] in ("hub_down", "link_down") and f["start_unix_s"] <= t_end < f["end_unix_s"]
                           for f in metrics["faults"])
    assert tr["missing"] == 0 and tr["expired_in_hold"] == 0, tr
    assert (tr["held_at_end"] > 0) == link_down_at_end, tr  # held back only by a link still down
    assert tr["delivered"] > 0, "partners shared nothing"
    assert any(metrics["prediction_error"]["track_m"].values()), "no node held a track"
    for key in ("tracks.jsonl", "events.jsonl", "summary.json", "report.html", "truth.jsonl"):
        assert (out / key).stat().st_size > 0, key
    for cap_file in sorted((out / "cap").glob("*.xml")):
        xml = cap_file.read_bytes()
        assert b"<status>Exercise</status>" in xml and b"<status>Actual</status>" not in xml
        assert validate_cap(xml) == [], cap_file.name


def test_every_report_opens_in_chromium_without_errors(runs):
    async def check() -> dict[str, list[str]]:
        found = {}
        async with chromium_page() as (page, errors):
            for name, out in runs.items():
                errors.clear()
                await page.goto((out / "report.html").resolve().as_uri())
                await page.wait_for_selector("#map #dyn circle, #map #dyn polyline", timeout=10_000)
                slider = page.locator("#tslider")
                await slider.fill("60")  # the map redraws at another time without errors
                drawn = await page.locator("#dyn > *").count()
                assert drawn > 0, name
                found[name] = list(errors)
        return found

    errors = asyncio.run(check())
    assert not any(errors.values()), {k: v for k, v in errors.items() if v}
