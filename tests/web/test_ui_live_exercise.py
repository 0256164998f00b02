"""The operator UI in a real browser while a real exercise runs (issue 8's browser test).

The October 2022 overflight (packaged scenario 2022-10-04-irbm-aomori.yaml) runs shortened on three
national nodes over the embedded NATS network, paced at SPEED x real time; `PictureFeed` turns the nodes'
step results into the pictures the API streams, exactly as `triwarn demo` wires it. Headless Debian
chromium (Playwright) opens the page while the run goes on and checks what an operator would see: a
track with the nations that contributed to it, Aomori's shelter alert in words, the partner links, and
the view switching from Japan to Korea to the United States. What the page shows is checked against
what the nodes produced, and each check records that the exercise was still running when it passed.
Screenshots go to artifacts/ui/live-*.png.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
import time
from pathlib import Path

import pytest
from playwright.async_api import Page

from triwarn.api.app import create_app
from triwarn.api.picture import NATIONS, PictureHub
from triwarn.api.picture_feed import PictureFeed
from triwarn.api.serve import start_server
from triwarn.exercise.engine import ExerciseOptions, exercise_async
from triwarn.exercise.plan import load_plan
from triwarn.node.core import StepResult
from triwarn.node.lockstep import RunLog
from triwarn.web.browser import chromium_missing, chromium_page

pytestmark = pytest.mark.slow  # Chromium on a whole exercise

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
SCENARIO = Path(str(importlib.resources.files("triwarn") / "scenarios" / "2022-10-04-irbm-aomori.yaml"))
# Sim seconds per wall second. At 8x the 300 s run lasts ~40 s of wall time: the first track comes at
# ~T+55 s (7 s wall), Aomori's shelter alert at ~T+126 s (16 s wall), so the page is open and usable
# before either, and the view switches still happen during the run.
SPEED = 8.0
END_AFTER_S = 300.0
STEP_S = 2.0
BADGES = {"US", "JP", "KR"}
# The words the page puts beside each alert state's colour.
STATE_WORDS = {
    "shelter": "SHELTER",
    "notice": "NOTICE",
    "passed": "PASSED",
    "all_clear": "ALL CLEAR",
    "cancelled": "CANCELLED",
}


class NodeOutput:
    """What the nodes put into each nation's picture (track id -> contributing-nation sets, CAP ids),
    recorded from the same step results the feed turns into pictures, to check the page against."""

    def __init__(self, hub: PictureHub) -> None:
        self.hub = hub
        self.track_nations: dict[str, set[tuple[str, ...]]] = {}
        self.cap_ids: dict[str, set[str]] = {n: set() for n in hub.nations}

    def on_step(self, nation: str, _res: StepResult) -> None:
        pic = self.hub.latest(nation)
        if pic is None or pic.nation != nation:
            return
        for t in pic.tracks:
            self.track_nations.setdefault(t.id, set()).add(tuple(sorted(n.upper() for n in t.nations)))
        self.cap_ids[nation].update(e.cap_identifier for e in pic.alert_log)


async def shared_track(page: Page, prefix: str) -> tuple[str, list[str]]:
    """Wait until the track list shows a track of this view that two or more nations contributed to;
    return its id and its nation badges."""
    handle = await page.wait_for_function(
        """(prefix) => {
            for (const b of document.querySelectorAll(`#track-list button[data-track^="${prefix}"]`)) {
                const badges = [...b.querySelectorAll('.badge')].map((s) => s.textContent);
                if (badges.length >= 2) return [b.dataset.track, badges];
            }
            return null;
        }""",
        arg=prefix,
        timeout=30_000,
    )
    track_id, badges = await handle.json_value()
    return track_id, badges


async def alert_rows(page: Page) -> list[tuple[str, str, str]]:
    """The areas listed under alert in the current view: (area code, state, the state's words shown)."""
    return await page.eval_on_selector_all(
        "#alerts li[data-area]",
        "(lis) => lis.map((li) => [li.dataset.area, li.dataset.state, li.querySelector('.state').textContent])",
    )


LABEL_BOXES_JS = """() => {
    const m = document.getElementById('map').getBoundingClientRect();
    return [m.left, m.top, m.right, m.bottom, [...document.querySelectorAll('#labels .maplabel')].map((e) => {
        const r = e.getBoundingClientRect();
        return [e.textContent, r.left, r.top, r.right, r.bottom];
    })];
}"""


def assert_labels_apart(found: list) -> None:
    """Map labels lie inside the map and none overlaps another."""
    x0, y0, x1, y1, boxes = found
    for i, (text, left, top, right, bottom) in enumerate(boxes):
        assert x0 <= left and right <= x1 and y0 <= top and bottom <= y1, text
        for other, l2, t2, r2, b2 in boxes[i + 1:]:
            assert not (left < r2 and l2 < right and top < b2 and t2 < bottom), (text, other)


def assert_own_alerts_in_words(rows: list[tuple[str, str, str]], nation: str) -> None:
    """Each nation warns only its own areas, and every state is shown in words beside its colour."""
    for area, state, words in rows:
        assert area.startswith(f"{nation.upper()}-"), (nation, area)
        assert words == STATE_WORDS[state], (area, state, words)


async def test_operator_watches_a_running_exercise(tmp_path):
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    plan = load_plan(SCENARIO)
    hub = PictureHub(NATIONS)
    run_log = RunLog()
    runners: dict = {}  # the nodes' runners: the picture's link states are theirs, as in `triwarn demo`
    feed = PictureFeed(hub, plan.name, plan.links, run_log, runners=runners)
    nodes = NodeOutput(hub)
    opts = ExerciseOptions(
        speed=SPEED,
        seed=1,
        step_s=STEP_S,
        baseline=False,
        end_after_s=END_AFTER_S,
        progress=False,
        run_log=run_log,
        on_step=[feed.on_step, nodes.on_step],
        runners=runners,
    )
    server = await start_server(create_app(hub, title="triwarn live exercise test"))
    wall0 = time.perf_counter()
    exercise = asyncio.create_task(exercise_async(plan, tmp_path / "run", opts))
    timeline: list[str] = []

    def running(what: str) -> None:
        """Record when a check passed (wall s, sim T+) and that the exercise had not finished by then."""
        pic = hub.latest("jp")
        t_plus = "-" if pic is None else f"T+{pic.t_unix_s - plan.t0_unix_s:.0f} s"
        timeline.append(f"{what}: {time.perf_counter() - wall0:.1f} s wall, {t_plus}")
        if exercise.done():
            exercise.result()  # an exercise that failed says why
            pytest.fail(f"the exercise had already finished when: {what}")

    try:
        async with chromium_page(f"{server.url}/?nation=jp") as (page, errors):
            await page.wait_for_selector("html[data-ready='1']", timeout=15_000)
            running("page usable")
            assert plan.name in await page.locator("#mode").inner_text()
            assert "EXERCISE" in await page.locator("#mode").inner_text()

            # Japan's view: a track that several nations' sensors contributed to, as the nodes fused it.
            track_id, badges = await shared_track(page, "JP-")
            running(f"shared track {track_id} {badges}")
            assert set(badges) <= BADGES and len(set(badges)) == len(badges)
            assert tuple(sorted(badges)) in nodes.track_nations.get(track_id, set()), (
                track_id,
                badges,
                nodes.track_nations.get(track_id),
            )

            # Aomori (the flight passed over it) under a shelter alert, with the state in words.
            aomori = page.locator("#alerts li[data-area='JP-02'][data-state='shelter']")
            await aomori.wait_for(timeout=40_000)
            running("Aomori shelter alert")
            text = await aomori.inner_text()
            assert "SHELTER" in text and "Aomori" in text and "青森県" in text, text
            assert_own_alerts_in_words(await alert_rows(page), "jp")
            row = page.locator("#log tbody tr").first
            await row.wait_for(timeout=5_000)
            cells = await row.locator("td").all_inner_texts()
            assert cells[3] == "Exercise" and cells[5].startswith("EXERCISE"), cells
            assert cells[6] in nodes.cap_ids["jp"], (cells[6], nodes.cap_ids["jp"])  # a CAP id a node issued
            # Partner links, in words; "heard" means a message came over NATS from that partner.
            for peer in ("us", "kr"):
                link = page.locator(f"#links li[data-peer='{peer}'][data-state='up']")
                await link.wait_for(timeout=5_000)
                link_text = await link.inner_text()
                assert f"{peer.upper()} UP" in link_text and "heard" in link_text, link_text
            assert "JST" in await page.locator("#clocks").inner_text()
            # Kinds from the assessment: the fused picture holds a warhead, not only "unknown" objects.
            await page.locator("#track-list button[data-track^='JP-'][data-kind='warhead']").first.wait_for(
                timeout=10_000)
            running("warhead in the JP view")
            assert_labels_apart(await page.evaluate(LABEL_BOXES_JS))
            await page.screenshot(path=str(ARTIFACTS / "live-jp.png"))

            # Korea's view (by mouse): Korea's own track numbers; Japan's alert is not Korea's.
            await page.locator("#views button[data-nation='kr']").click()
            await page.locator("#views button[data-nation='kr'][aria-pressed='true']").wait_for(timeout=5_000)
            await page.locator("#track-list button[data-track^='KR-']").first.wait_for(timeout=15_000)
            running("KR view")
            assert await page.evaluate("window.__triwarnView().nation") == "kr"
            assert await page.locator("#track-list button[data-track^='JP-']").count() == 0
            assert_own_alerts_in_words(await alert_rows(page), "kr")
            assert "KR" in await page.locator("#conn").inner_text()
            assert "KST" in await page.locator("#clocks").inner_text()
            kr_track, kr_badges = await shared_track(page, "KR-")
            assert tuple(sorted(kr_badges)) in nodes.track_nations.get(kr_track, set())
            await page.screenshot(path=str(ARTIFACTS / "live-kr.png"))

            # The United States' view (by keyboard: key 1 is the first nation, the US).
            assert await page.locator("#views button").first.get_attribute("data-nation") == "us"
            await page.keyboard.press("1")
            await page.locator("#views button[data-nation='us'][aria-pressed='true']").wait_for(timeout=5_000)
            us_track, us_badges = await shared_track(page, "US-")
            running(f"US view, shared track {us_track} {us_badges}")
            assert await page.locator("#track-list button[data-track^='KR-']").count() == 0
            assert tuple(sorted(us_badges)) in nodes.track_nations.get(us_track, set())
            assert "US" in await page.locator("#conn").inner_text()
            # This flight threatens no US area, so the US view lists no alert of another nation's areas
            # (any alert it shows is its own, in words).
            assert_own_alerts_in_words(await alert_rows(page), "us")
            await page.screenshot(path=str(ARTIFACTS / "live-us.png"))
            assert errors == []

            metrics = await asyncio.wait_for(exercise, timeout=120.0)
            timeline.append(f"exercise finished: {time.perf_counter() - wall0:.1f} s wall")
            # The links the page showed were the runners' own (the same source as a node's /api/health).
            pic = hub.latest("us")
            for link in pic.links:
                assert link.state == runners["us"].link_state(link.peer)[0], link
                assert link.last_heard_unix_s == runners["us"].partners[link.peer].last_heard_unix_s, link
            # The run is over: the page says so and stops listening (as `triwarn demo` ends its run).
            hub.end()
            await page.wait_for_selector("html[data-ended='1']", timeout=5_000)
            assert await page.locator("#conn").inner_text() == "exercise ended"
            assert await page.evaluate("window.__triwarnView().stream") == "closed"
            assert errors == []
    finally:
        if not exercise.done():
            exercise.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await exercise
        await server.stop()
    print("\nlive exercise in the browser:\n  " + "\n  ".join(timeline))
    print(f"  pictures published {feed.published}; CAP messages {metrics['exercise']['cap_messages']}")
    assert metrics["exercise"]["cap_messages"] > 0 and feed.published > 0
