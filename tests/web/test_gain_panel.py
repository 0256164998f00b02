"""The sharing gain in the operator UI (issue 13): per nation and area, the first alert with sharing and
alone, the gain in seconds and why when it is zero or none.

Fast: the picture feed fills each view's sharing_gain from the view's own first alerts during the run
(alone pending), then from summary.json's rows when the exercise reports (ExerciseOptions.on_end), and
the deltas carry it. Slow: a real exercise with its no-sharing baseline (the October 2022 overflight,
shortened) in headless Chromium; the panel's rows match summary.json's sharing_gain. Screenshot:
artifacts/ui/gain-*.png.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from triwarn.api.app import create_app
from triwarn.api.picture import NATIONS, PictureHub, apply_delta, picture_delta
from triwarn.api.picture_feed import GAIN_NO_BASELINE, GAIN_PENDING, PictureFeed
from triwarn.api.serve import start_server
from triwarn.exercise.engine import ExerciseOptions, exercise_async
from triwarn.exercise.plan import load_plan
from triwarn.node.lockstep import RunLog
from triwarn.records.warnings import AreaWarning, WarningMessage
from triwarn.web.browser import chromium_missing, chromium_page

T = 1_700_000_000.0
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
SCENARIO = Path(str(importlib.resources.files("triwarn") / "scenarios" / "2022-10-04-irbm-aomori.yaml"))


def step(t: float, warnings=()) -> SimpleNamespace:
    st = SimpleNamespace(track_id=np.array([], dtype=object), lat_deg=np.zeros(0), lon_deg=np.zeros(0),
                         alt_m=np.zeros(0), vel_ecef_mps=np.zeros((0, 3)), boost=np.zeros(0, bool), nations=[],
                         sources=np.array([], dtype=object))
    return SimpleNamespace(t_unix_s=t, events=[], system_tracks=st, warnings=list(warnings))


def message(t: float, ident: str, states: dict[str, str], msg_type: str = "Alert") -> WarningMessage:
    areas = tuple(AreaWarning(code=c, state=s, kind="overflight", probability=0.9, enter_time_unix_s=t + 60)
                  for c, s in states.items())
    return WarningMessage(sender="jp", identifier=ident, incident="I1", sent_unix_s=t, msg_type=msg_type,
                          references=(), areas=areas, expires_unix_s=t + 3600, exercise="GAIN")


def test_the_feed_shows_shared_first_alerts_then_the_reported_gain():
    hub = PictureHub(["jp", "kr"])
    feed = PictureFeed(hub, "GAIN")
    opts = ExerciseOptions()
    feed.attach(opts)
    assert feed.on_step in opts.on_step and feed.on_exercise_end in opts.on_end and feed.gain_expected
    feed.on_step("jp", step(T, [message(T, "jp.1", {"JP-02": "notice"})]))
    feed.on_step("jp", step(T + 10, [message(T + 10, "jp.2", {"JP-02": "shelter", "JP-03": "shelter"})]))
    feed.on_step("jp", step(T + 20, [message(T + 20, "jp.3", {"JP-02": "shelter"})]))  # not a first
    feed.on_step("kr", step(T + 20))
    before = hub.latest("jp")
    rows = {r.area: r for r in before.sharing_gain}
    assert (rows["JP-02"].first_notice_shared_unix_s, rows["JP-02"].first_shelter_shared_unix_s) == (T, T + 10)
    assert rows["JP-03"].first_shelter_alone_unix_s is None and rows["JP-03"].gain_reason is None
    assert not before.sharing_gain_final and before.sharing_gain_note == GAIN_PENDING
    assert hub.latest("kr").sharing_gain == []

    summary = {"sharing_gain": [
        {"node": "jp", "area": "JP-02", "first_shelter_shared_unix_s": T + 10, "first_shelter_alone_unix_s": T + 40,
         "gain_s": 30.0, "first_notice_shared_unix_s": T, "first_notice_alone_unix_s": T, "notice_gain_s": 0.0,
         "gain_reason": "earlier with sharing: ...", "notice_gain_reason": "0 s: both runs ..."},
        {"node": "kr", "area": "KR-01", "first_shelter_shared_unix_s": T + 5, "first_shelter_alone_unix_s": T + 5,
         "gain_s": 0.0, "first_notice_shared_unix_s": None, "first_notice_alone_unix_s": None,
         "notice_gain_s": None, "gain_reason": "0 s: same step", "notice_gain_reason": "no notice in either run"}]}
    feed.on_exercise_end(summary)
    after = hub.latest("jp")
    assert after.sharing_gain_final and after.sharing_gain_note == ""
    assert [(r.area, r.gain_s, r.first_shelter_alone_unix_s) for r in after.sharing_gain] == [("JP-02", 30.0, T + 40)]
    assert [r.gain_reason for r in hub.latest("kr").sharing_gain] == ["0 s: same step"]
    delta = picture_delta(before, after)
    assert delta.sharing_gain == after.sharing_gain and delta.sharing_gain_final
    assert apply_delta(before, delta).sharing_gain == after.sharing_gain
    assert picture_delta(after, after).sharing_gain is None  # unchanged: not resent
    feed.on_step("jp", step(T + 30))  # later pictures keep the reported rows
    assert hub.latest("jp").sharing_gain == after.sharing_gain


def test_no_baseline_says_so_and_a_live_feed_shows_none():
    hub = PictureHub(["jp"])
    feed = PictureFeed(hub, "GAIN")
    feed.attach(ExerciseOptions(baseline=False))
    feed.on_step("jp", step(T, [message(T, "jp.1", {"JP-02": "shelter"})]))
    assert hub.latest("jp").sharing_gain == [] and hub.latest("jp").sharing_gain_note == ""  # nothing to wait for
    feed.on_exercise_end({"alerts": {}})
    pic = hub.latest("jp")
    assert pic.sharing_gain == [] and pic.sharing_gain_final and pic.sharing_gain_note == GAIN_NO_BASELINE
    live = PictureFeed(PictureHub(["jp"]), "", live=True)
    live.on_exercise_end({"sharing_gain": []})
    assert live._sharing_gain("jp") == {}


async def panel_lines(page) -> list[dict]:
    return await page.eval_on_selector_all(
        "#gain-table tbody tr[data-kind]:not(.gain-why)",
        """(trs) => trs.map((tr) => ({area: tr.dataset.area, kind: tr.dataset.kind, shared: tr.dataset.shared,
            alone: tr.dataset.alone, gain: tr.dataset.gain, text: tr.innerText,
            why: (tr.nextElementSibling && tr.nextElementSibling.classList.contains('gain-why'))
                 ? tr.nextElementSibling.innerText : null}))""")


def num(v) -> str:
    """A number as the page writes it into a data- attribute (JavaScript's String), "" for null."""
    return "" if v is None else (str(int(v)) if float(v).is_integer() else repr(float(v)))


def expected_lines(summary: dict, nation: str) -> list[dict]:
    """summary.json's sharing_gain rows of a nation as the panel lists them: one line per (area, kind)
    alerted in either run (an area only crossed: its shelter line)."""
    out = []
    kinds = (("shelter", "first_shelter_shared_unix_s", "first_shelter_alone_unix_s", "gain_s", "gain_reason"),
             ("notice", "first_notice_shared_unix_s", "first_notice_alone_unix_s", "notice_gain_s",
              "notice_gain_reason"))
    for r in summary["sharing_gain"]:
        if r["node"] != nation:
            continue
        used = [k for k in kinds if r[k[1]] is not None or r[k[2]] is not None] or [kinds[0]]
        for kind, s, a, g, why in used:
            out.append({"area": r["area"], "kind": kind, "shared": num(r[s]), "alone": num(r[a]), "gain": num(r[g]),
                        "why": None if (r[g] or 0) > 0 else r[why]})
    return out


@pytest.mark.slow
async def test_the_panel_shows_summary_sharing_gain_when_the_exercise_ends(tmp_path):
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    plan = load_plan(SCENARIO)
    hub = PictureHub(NATIONS)
    hub.t0_unix_s = plan.t0_unix_s
    run_log, runners = RunLog(), {}
    feed = PictureFeed(hub, plan.name, plan.links, run_log, runners=runners)
    opts = ExerciseOptions(speed=6.0, seed=1, step_s=2.0, end_after_s=240.0, progress=False, run_log=run_log,
                           runners=runners)
    feed.attach(opts)
    server = await start_server(create_app(hub, title="triwarn gain panel test"))
    exercise = asyncio.create_task(exercise_async(plan, tmp_path / "run", opts))
    try:
        async with chromium_page(f"{server.url}/?nation=jp") as (page, errors):
            await page.wait_for_selector("html[data-ready='1']", timeout=15_000)
            # During the run: Aomori's first shelter alert with sharing, the baseline's still pending.
            row = page.locator("#gain-table tr[data-area='JP-02'][data-kind='shelter']")
            await row.wait_for(timeout=60_000)
            assert not exercise.done(), "the exercise had ended before the panel showed a row"
            cells = await row.locator("td").all_inner_texts()
            assert cells[1].startswith("T+") and cells[2] == "pending" and cells[3] == "—", cells
            assert "baseline" in await page.locator(".gain-note").inner_text()
            await exercise
            summary = json.loads((tmp_path / "run" / "summary.json").read_text())
            hub.end()
            await page.wait_for_selector("html[data-ended='1']", timeout=5_000)
            await page.wait_for_selector("#gain[data-nation='jp'][data-final='1']", timeout=5_000)
            want = expected_lines(summary, "jp")
            assert want, summary["sharing_gain"]
            got = await panel_lines(page)
            assert [{k: g[k] for k in want[0]} for g in got] == want
            for g in got:  # the gain in seconds, and why when sharing gained nothing
                assert g["text"].rstrip().endswith(" s" if g["gain"] else "—"), g
            assert any(g["why"] for g in got)
            await page.screenshot(path=str(ARTIFACTS / "gain-jp.png"))
            for nation in ("kr", "us"):  # every view lists its own nation's rows, or says there are none
                await page.locator(f"#views button[data-nation='{nation}']").click()
                await page.wait_for_selector(f"#gain[data-nation='{nation}'][data-final='1']", state="attached",
                                             timeout=5_000)
                want = expected_lines(summary, nation)
                got = await panel_lines(page)
                assert [{k: g[k] for k in want[0]} for g in got] == want if want else got == []
                if not want:
                    assert await page.locator("#gain-empty").is_visible()
            assert errors == []
    finally:
        if not exercise.done():
            exercise.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await exercise
        await server.stop()
