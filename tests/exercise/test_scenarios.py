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

import numpy as np
import pytest
from lxml import etree

from triwarn.exercise.engine import ExerciseOptions, run_exercise
from triwarn.exercise.metrics import Recorder, exercise_metrics, impact_error_series
from triwarn.exercise.plan import load_plan
from triwarn.exercise.report import _impact_chart_series
from triwarn.geo.frames import geodetic_to_ecef
from triwarn.node.core import StepResult
from triwarn.node.lockstep import RunLog
from triwarn.records.events import ImpactPrediction
from triwarn.records.tracks import SystemTracks
from triwarn.sensors.paths import ObjectPaths
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
@pytest.mark.slow
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
    # Each issuing node's Atom feed (feeds/<nation>.xml) carries the same CAP documents as cap/.
    cap_ids = {f.read_bytes().split(b"<identifier>")[1].split(b"</identifier>")[0] for f in (out / "cap").glob("*.xml")}
    feed_ids = set()
    for feed in sorted((out / "feeds").glob("*.xml")) if cap_ids else ():
        doc = etree.fromstring(feed.read_bytes())
        assert doc.tag == "{http://www.w3.org/2005/Atom}feed", feed.name
        feed_ids |= {i.text.encode() for i in doc.iter("{urn:oasis:names:tc:emergency:cap:1.2}identifier")}
    assert feed_ids == cap_ids


@pytest.mark.slow
def test_every_report_opens_in_chromium_without_errors(runs):
    async def check() -> dict[str, list[str]]:
        found = {}
        async with chromium_page() as (page, errors):
            for name, out in runs.items():
                errors.clear()
                await page.goto((out / "report.html").resolve().as_uri())
                # attached, not visible: a flight due south (the SLVs) draws a zero-width polyline first
                await page.wait_for_selector("#map #dyn circle", state="attached", timeout=10_000)
                slider = page.locator("#tslider")
                await slider.fill("60")  # the map redraws at another time without errors
                drawn = await page.locator("#dyn > *").count()
                assert drawn > 0, name
                found[name] = list(errors)
        return found

    errors = asyncio.run(check())
    assert not any(errors.values()), {k: v for k, v in errors.items() if v}


# --- the impact-error chart: one object per series (fast unit tests, no run) ---------------------------


def _pair_paths(stage_apart_m: float):
    """A warhead and a spent stage 12 km apart at impact; until then the stage flies stage_apart_m beside
    the warhead (alternately nearer and farther than it along the track's offset, by 2 m)."""
    t = np.arange(0.0, 61.0)
    lat = np.radians(np.full(t.size, 40.0))
    lon_w = np.radians(np.linspace(138.0, 141.0, t.size))
    alt = np.linspace(300e3, 0.0, t.size)
    warhead = geodetic_to_ecef(lat, lon_w, alt)
    east = np.array([-np.sin(lon_w[0]), np.cos(lon_w[0]), 0.0])
    jitter = np.where(np.arange(t.size) % 2 == 0, 2.0, -2.0)
    stage = warhead + (stage_apart_m + jitter)[:, None] * east
    stage[-1] = geodetic_to_ecef(lat[-1], lon_w[-1] - np.radians(12e3 / (6.371e6 * np.cos(lat[-1]))), 0.0)
    vel = np.gradient(warhead, t, axis=0)
    return ObjectPaths(["L1/warhead", "L1/stage2"], ["warhead", "stage"], ["L1", "L1"], np.concatenate([t, t]),
                       np.concatenate([warhead, stage]), np.concatenate([vel, vel]), np.zeros(2 * t.size, bool),
                       np.array([0, t.size, 2 * t.size])), warhead, east


def _feed(recorder, warhead, east, *, offset_m: float, t_unix_s, track="JP-S1"):

    for k in t_unix_s:
        pos = warhead[int(k)] + offset_m * east
        st = SystemTracks(track_id=[track], t_unix_s=[float(k)], pos_ecef_m=[pos], vel_ecef_mps=np.zeros((1, 3)),
                          cov_ecef_m2=np.eye(6)[None] * 100.0**2, boost=[False], nations=[("jp",)], sources=[()],
                          first_seen_unix_s=[0.0], last_update_unix_s=[float(k)], n_updates=[int(k) + 1])
        ev = ImpactPrediction(t=float(k), track=track, launch_id="L1", lat_deg=40.0, lon_deg=141.001,
                              time_unix_s=60.0, time_sigma_s=1.0, semi_major_m=1e3, semi_minor_m=1e3,
                              orientation_deg=0.0, powered=False, object="unresolved", quality=1.0)
        recorder.on_step("jp", StepResult(float(k), [], st, None, [ev], [], [], []))


def test_a_track_on_a_warhead_and_its_stage_is_scored_against_the_warhead_only():

    paths, warhead, east = _pair_paths(stage_apart_m=150.0)  # within the track's error: one blob to it
    rec = Recorder(paths)
    _feed(rec, warhead, east, offset_m=75.0, t_unix_s=range(10, 50))  # the stage is alternately nearer
    objects = {o for *_, o, _ in rec.impact_error}
    errors = np.array([e for *_, e in rec.impact_error])
    assert objects == {"L1/warhead"}
    assert errors.max() < 1e3  # the prediction is 85 m from the warhead's impact, 12 km from the stage's
    assert np.ptp(errors) < 1.0  # one object: no alternation between 0.1 and 12 km
    err = {"impact_m": {"jp": [[t, tr, o, e] for _, t, tr, o, e in rec.impact_error]},
           "impact_by_object_m": {"jp": {"L1/warhead": [[t, e] for _, t, _, _, e in rec.impact_error]}},
           "object_kinds": {"L1/warhead": "warhead"}, "track_m": {}}
    series, _, _, _ = _impact_chart_series(err, 0.0)
    assert list(series) == ["jp L1/warhead"]


def test_a_track_on_a_stage_well_apart_is_the_stage_and_left_out_of_the_warhead_chart():

    paths, warhead, east = _pair_paths(stage_apart_m=5000.0)
    rec = Recorder(paths)
    _feed(rec, warhead, east, offset_m=100.0, t_unix_s=range(10, 30), track="JP-S1")
    _feed(rec, warhead, east, offset_m=5050.0, t_unix_s=range(10, 30), track="JP-S2")
    assert {(tr, o) for _, _, tr, o, _ in rec.impact_error} == {("JP-S1", "L1/warhead"), ("JP-S2", "L1/stage2")}
    m = exercise_metrics(plan_info={}, recorder=rec, run_log=RunLog(), stats={}, alerts_shared={},
                         alerts_alone=None, passages=[], inject_effects=[], wall_s={})
    err = m["prediction_error"]
    assert set(err["impact_by_object_m"]["jp"]) == {"L1/warhead", "L1/stage2"}
    assert err["object_kinds"] == {"L1/warhead": "warhead", "L1/stage2": "stage"}
    series, _, _, note = _impact_chart_series(err, 0.0)
    assert list(series) == ["jp L1/warhead"] and max(e for _, e in series["jp L1/warhead"]) < 1e3
    assert "Left out of the chart: 20 predictions" in note


def test_two_tracks_of_one_object_give_one_steady_line():

    # Two tracks of one warhead predict 11 and 14 km off, at alternate steps (their own cadences).
    rows = [[float(t), "A" if t % 2 else "B", "L1/warhead", 11e3 if t % 2 else 14e3] for t in range(1, 41)]
    line = impact_error_series(rows, hold_s=5.0)["L1/warhead"]
    assert [e for _, e in line[1:]] == [12.5e3] * 39
