"""Issue 18 in a real browser: what a new user sees must tell the truth.

- map labels never overlap, even with every object of a launch at the launch point, and never leave the
  map (measured from the label elements' boxes in the page);
- the page opens on the view that alerted first (or turns to it when the first alert is issued) and
  says so;
- when the run ends the page says "exercise ended" and stops listening: no reconnect loop, no console
  error once the server has gone;
- track kinds and link states are shown as the picture gives them (warhead / stage / unknown with the
  reason; up / degraded / down with the reason).
Screenshots go to artifacts/ui/first-hour-*.png.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from triwarn.api.app import create_app
from triwarn.api.picture import (
    AlertLogEntry,
    AreaAlert,
    ImpactView,
    LaunchView,
    LinkView,
    Picture,
    PictureHub,
    TrackView,
)
from triwarn.api.serve import start_server
from triwarn.web.browser import chromium_missing, chromium_page

pytestmark = pytest.mark.slow  # Chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
T0 = 1_664_835_720.0  # 2022-10-03 22:22 UTC
LAUNCH = (40.63, 126.43)  # Mupyong-ni area

BOXES_JS = """() => {
    const m = document.getElementById('map').getBoundingClientRect();
    const boxes = [...document.querySelectorAll('#labels .maplabel')].map((e) => {
        const r = e.getBoundingClientRect();
        return {text: e.textContent, kind: e.dataset.kind, x: r.left, y: r.top, r: r.right, b: r.bottom};
    });
    const g = document.getElementById('legend').getBoundingClientRect();
    return {map: {x: m.left, y: m.top, r: m.right, b: m.bottom}, boxes,
            legend: {x: g.left, y: g.top, r: g.right, b: g.bottom}};
}"""


def overlaps(a: dict, b: dict) -> bool:
    return a["x"] < b["r"] and b["x"] < a["r"] and a["y"] < b["b"] and b["y"] < a["b"]


def check_labels(found: dict, want: int) -> None:
    boxes, m = found["boxes"], found["map"]
    assert len(boxes) == want, [b["text"] for b in boxes]
    for i, a in enumerate(boxes):
        assert m["x"] <= a["x"] and a["r"] <= m["r"] and m["y"] <= a["y"] and a["b"] <= m["b"], (a, m)
        assert not overlaps(a, found["legend"]), a["text"]
        for b in boxes[i + 1:]:
            assert not overlaps(a, b), (a["text"], b["text"])


def launch_picture(nation: str, t: float, *, alerts: bool = True, links: list[LinkView] | None = None,
                   ended: bool = False) -> Picture:
    """Every object of one launch still at the launch point (a warhead, two stages, an unknown piece)."""
    lat, lon = LAUNCH
    p = nation.upper()
    kinds = [("warhead", ""), ("stage", ""), ("stage", ""), ("unknown", "not assessed yet")]
    tracks = [TrackView(id=f"{p}-T{i + 1}", lat_deg=lat + 0.01 * i, lon_deg=lon + 0.01 * i, alt_m=20_000.0 + 500 * i,
                        speed_mps=1500.0, mode="boost", kind=k, kind_reason=why, nations=["jp", "kr", "us"],
                        trail=[(t - 10, lat, lon, 5_000.0), (t, lat + 0.01 * i, lon + 0.01 * i, 20_000.0)],
                        launch=LaunchView(lat, lon, t - 40))
              for i, (k, why) in enumerate(kinds)]
    impacts = [ImpactView(track=f"{p}-T1", lat_deg=40.9, lon_deg=150.0, time_unix_s=t + 900, semi_major_m=300e3,
                          semi_minor_m=80e3, orientation_deg=80.0, powered=True,
                          ground_track=[(lat, lon), (40.8, 140.7), (40.9, 150.0)])]
    area_alerts, log = [], []
    if alerts:
        area_alerts = [AreaAlert(area="JP-02", name_en="Aomori", name_ja="青森県", name_ko="아오모리현",
                                 state="shelter", since_unix_s=T0 + 112, cap_identifier="cap-1")]
        log = [AlertLogEntry(t_unix_s=T0 + 112, cap_identifier="cap-1", msg_type="Alert", status="Exercise",
                             areas=["JP-02"], headline_en="EXERCISE: missile warning: take shelter (JP-02)")]
    return Picture(nation=nation, t_unix_s=t, mode="exercise", exercise_name="FIRST-HOUR", tracks=tracks,
                   impacts=impacts, alerts=area_alerts, alert_log=log, links=links or [], ended=ended)


@contextlib.asynccontextmanager
async def serving(hub: PictureHub):
    server = await start_server(create_app(hub, title="triwarn first hour test"))
    try:
        yield server
    finally:
        await server.stop()


async def test_labels_neither_overlap_at_the_launch_point_nor_leave_the_map():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    hub = PictureHub(["jp"])
    hub.publish_nowait(launch_picture("jp", T0 + 130))
    async with serving(hub) as server, chromium_page(f"{server.url}/?nation=jp") as (page, errors):
        await page.wait_for_selector("html[data-ready='1']", timeout=15_000)
        await page.wait_for_function("window.__triwarnView().areaOutlines >= 68", timeout=15_000)
        # 4 tracks, 1 impact, Aomori's alert: every label placed, none hidden.
        await page.wait_for_function("document.querySelectorAll('#labels .maplabel').length >= 6", timeout=10_000)
        check_labels(await page.evaluate(BOXES_JS), 6)
        assert await page.evaluate("window.__triwarnView().labelsHidden") == 0
        texts = await page.eval_on_selector_all("#labels .maplabel[data-kind='track']",
                                                "(es) => es.map((e) => e.textContent)")
        assert sorted(t.split(" ")[1] for t in texts) == ["stage", "stage", "unknown", "warhead"], texts
        await page.screenshot(path=str(ARTIFACTS / "first-hour-launch-labels.png"))

        # Zoomed in on the launch point, then with the launch point at the map's right and top edges.
        size = await page.evaluate("() => { const m = document.getElementById('map').getBoundingClientRect();"
                                   " return [m.width, m.height]; }")
        x, y = await page.evaluate("window.__triwarnScreenOf('JP-T1')")
        await page.evaluate(f"window.__triwarnPan({size[0] / 2 - x}, {size[1] / 2 - y})")
        await page.focus("#map")
        for _ in range(3):
            await page.keyboard.press("+")
        await page.wait_for_timeout(400)
        found = await page.evaluate(BOXES_JS)
        launch_labels = [b for b in found["boxes"] if b["kind"] == "track"]
        assert len(launch_labels) == 4
        check_labels({**found, "boxes": launch_labels}, 4)
        check_labels(found, len(found["boxes"]))
        await page.keyboard.press("0")
        await page.wait_for_timeout(300)
        # The launch point a few pixels from the right edge, then also from the top edge: the labels stay
        # inside the map.
        x, y = await page.evaluate("window.__triwarnScreenOf('JP-T1')")
        for dx, dy in ((size[0] - 15 - x, 0), (0, 15 - y)):
            await page.evaluate(f"window.__triwarnPan({dx}, {dy})")
            await page.wait_for_timeout(300)
            found = await page.evaluate(BOXES_JS)
            check_labels(found, len(found["boxes"]))
            assert any(b["kind"] == "track" for b in found["boxes"])
        await page.screenshot(path=str(ARTIFACTS / "first-hour-edge-labels.png"))

        # Kinds in words: the unknown one says why.
        await page.locator("#track-list button[data-track='JP-T4']").click()
        await page.wait_for_function(  # the panel is redrawn at the next frame
            "document.getElementById('sel-body').textContent.includes('unknown (not assessed yet)')", timeout=5_000)
        assert await page.locator("#track-list button[data-kind='warhead']").count() == 1
        assert errors == []


async def test_opens_where_the_first_alert_is_and_says_so():
    hub = PictureHub()  # us, jp, kr
    hub.t0_unix_s = T0
    for n in hub.nations:
        hub.publish_nowait(launch_picture(n, T0 + 60, alerts=False))
    async with serving(hub) as server, chromium_page(f"{server.url}/") as (page, errors):
        await page.wait_for_selector("html[data-ready='1']", timeout=15_000)
        await page.locator("#views button[data-nation='us'][aria-pressed='true']").wait_for(timeout=5_000)
        assert "no alert yet" in await page.locator("#view-note").inner_text()
        # Japan issues the first alert: the page turns to Japan's view by itself and says why.
        hub.publish_nowait(launch_picture("jp", T0 + 120))
        await page.locator("#views button[data-nation='jp'][aria-pressed='true']").wait_for(timeout=8_000)
        await page.locator("#alerts li[data-area='JP-02'][data-state='shelter']").wait_for(timeout=5_000)
        note = await page.locator("#view-note").inner_text()
        assert note == "showing JP: first alert at 22:23:52 UTC (T+112 s)", note
        # The operator's choice wins: no switching back.
        await page.keyboard.press("3")
        await page.locator("#views button[data-nation='kr'][aria-pressed='true']").wait_for(timeout=5_000)
        await page.wait_for_function(  # the note is redrawn at the next frame
            "document.getElementById('view-note').textContent.startsWith('first alert: JP view')", timeout=5_000)
        assert errors == []

    # A page opened after the first alert opens on that view at once.
    async with serving(hub) as server, chromium_page(f"{server.url}/") as (page, errors):
        await page.locator("#views button[data-nation='jp'][aria-pressed='true']").wait_for(timeout=10_000)
        await page.wait_for_function(
            "document.getElementById('view-note').textContent.startsWith('showing JP: first alert')", timeout=5_000)
        assert errors == []


async def test_the_page_says_exercise_ended_and_stops_reconnecting():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    hub = PictureHub(["jp"])
    links = [LinkView(peer="kr", state="degraded", last_heard_unix_s=T0 + 128, latency_ms=None,
                      why="its messages are refused: from_future (10 s ahead)"),
             LinkView(peer="us", state="down", last_heard_unix_s=None, latency_ms=None, why="never heard")]
    hub.publish_nowait(launch_picture("jp", T0 + 130, links=links))
    server = await start_server(create_app(hub, title="triwarn ended test"))
    stopped = False
    try:
        async with chromium_page(f"{server.url}/") as (page, errors):
            await page.wait_for_selector("html[data-ready='1']", timeout=15_000)
            kr = page.locator("#links li[data-peer='kr'][data-state='degraded']")
            await kr.wait_for(timeout=5_000)
            assert "KR DEGRADED" in await kr.inner_text() and "from_future" in await kr.inner_text()
            us = await page.locator("#links li[data-peer='us']").inner_text()
            assert "US DOWN" in us and "never heard" in us, us
            hub.end()
            await page.wait_for_selector("html[data-ended='1']", timeout=5_000)
            assert await page.locator("#conn").inner_text() == "exercise ended"
            await page.wait_for_function("document.getElementById('mode').textContent.endsWith('ENDED')",
                                         timeout=5_000)
            assert await page.evaluate("window.__triwarnView().stream") == "closed"
            await server.stop()  # the demo's server goes away after the run
            stopped = True
            await asyncio.sleep(3.0)  # a reconnecting page would have logged errors by now
            assert await page.locator("#conn").inner_text() == "exercise ended"
            await page.screenshot(path=str(ARTIFACTS / "first-hour-ended.png"))
            assert errors == []
    finally:
        if not stopped:
            await server.stop()


@pytest.fixture(autouse=True)
def _chromium_present():
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)
