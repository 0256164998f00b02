"""A three-seat session in headless Chromium: the controller, Japan's seat and Korea's seat, each on its own
page with its own code. The controller's inject reaches the right seat within 1 s (and not the other), a
seat's decision goes through, a seat acting for another nation is refused and logged, and every decision
is in the AAR/IP the controller writes."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import uvicorn

from triwarn.tabletop.app import Room, create_app, make_codes
from triwarn.tabletop.clock import SessionClock
from triwarn.tabletop.plan import load_tabletop
from triwarn.tabletop.script import new_session
from triwarn.tabletop.system import SystemTimeline
from triwarn.web.browser import chromium, chromium_missing, open_page

pytestmark = pytest.mark.slow  # Chromium

PICTURE = {"t_s": 0.0, "tracks": [], "alerts": [{"area": "JP-47", "state": "shelter"}],
           "links": [{"partner": "us", "state": "up"}]}


async def _serve(room: Room):
    config = uvicorn.Config(create_app(room), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def test_three_seats_in_browsers(tabletop, tmp_path):
    assert chromium_missing() is None, chromium_missing()
    plan = load_tabletop(tabletop)
    session = new_session(plan, SystemTimeline(pictures={"jp": [(0.0, PICTURE)]}))
    room = Room(session, SessionClock(plan.duration_s), make_codes(plan.seats), tmp_path / "aar")
    code = {seat: c for c, seat in room.codes.items()}
    server, task, url = await _serve(room)
    try:
        async with chromium() as browser:
            async with open_page(browser, f"{url}/?code={code['controller']}") as (ctl, ctl_err), \
                    open_page(browser, f"{url}/?code={code['jp']}") as (jp, jp_err), \
                    open_page(browser, f"{url}/?code={code['kr']}") as (kr, kr_err):
                for page in (ctl, jp, kr):
                    await page.wait_for_selector("#main:not([hidden])", timeout=10_000)
                await jp.wait_for_function("document.querySelector('#picture').textContent.includes('JP-47')",
                                           timeout=5_000)
                assert await jp.locator("#controller-panel").is_hidden()
                # The controller sends inject 2 (a false report, to Korea only) now.
                t0 = time.monotonic()
                await ctl.click('button[data-inject="2"]')
                await kr.wait_for_selector('li.inject[data-inject="2"]', timeout=1_000)
                latency = time.monotonic() - t0
                assert latency < 1.0
                await asyncio.sleep(0.3)
                assert await jp.locator('li.inject[data-inject="2"]').count() == 0
                # On the clock: at 60x, inject 1 (T+60 s, to every nation) falls due about 1 s after the start.
                await ctl.fill("#speed", "60")
                await ctl.click('button[data-act="speed"]')
                await ctl.click('button[data-act="start"]')
                while not any(e.kind == "inject" and e.data["number"] == 1 for e in session.entries):
                    await asyncio.sleep(0.01)
                due = time.monotonic()
                for page in (jp, kr):
                    await page.wait_for_selector('li.inject[data-inject="1"]', timeout=1_000)
                assert time.monotonic() - due < 1.0
                await ctl.click('button[data-act="pause"]')
                # Korea answers the false report from its form.
                await kr.select_option("#action", "ask_partner")
                await kr.select_option("#partner", "jp")
                await kr.select_option("#inject", "2")
                await kr.fill("#note", "Do you see a second missile?")
                await kr.click("#decide-btn")
                await kr.wait_for_function("document.querySelector('#decide-result').textContent === 'accepted'")
                await jp.wait_for_selector("li.decision:has-text('kr asked jp')", timeout=2_000)
                # Japan issues an alert for one of its own areas.
                await jp.select_option("#action", "issue_alert")
                await jp.select_option("#areas", ["JP-47"])
                await jp.fill("#note", "Okinawa at risk")
                await jp.click("#decide-btn")
                await jp.wait_for_function("document.querySelector('#decide-result').textContent === 'accepted'")
                # Korea tries to act for Japan, and to pass as Japan's seat: refused and logged.
                status = await kr.evaluate("""async (code) => (await fetch('/api/decide', {method: 'POST',
                    body: JSON.stringify({code, action: 'issue_alert', nation: 'jp', areas: ['JP-47']})})).status""",
                                           code["kr"])
                assert status == 409
                status = await kr.evaluate("""async (code) => (await fetch('/api/decide', {method: 'POST',
                    body: JSON.stringify({code, seat: 'jp', action: 'note', note: 'x'})})).status""", code["kr"])
                assert status == 403
                await ctl.wait_for_selector("li.refused:has-text(\"seat kr cannot act for 'jp'\")", timeout=2_000)
                await ctl.wait_for_selector("li.refused:has-text('cannot act as seat')", timeout=2_000)
                # The controller writes the AAR/IP.
                await ctl.click("#aar-btn")
                await ctl.wait_for_function(
                    "document.querySelector('#control-result').textContent.startsWith('AAR/IP written')",
                    timeout=20_000)
                assert ctl_err == [] and jp_err == []
                # Korea's page logs only the two refusals it provoked on purpose.
                assert len(kr_err) == 2 and all("409" in e or "403" in e for e in kr_err), kr_err
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
    aar = json.loads((tmp_path / "aar" / "aar.json").read_text())
    in_aar = {r["seq"] for r in aar["timeline"]}
    human = [e for e in session.entries if e.kind in ("decision", "refused")]
    assert len([e for e in human if e.kind == "decision"]) == 2 and len(human) == 4
    assert all(e.seq in in_aar for e in human)
    assert (tmp_path / "aar" / "aar.pdf").stat().st_size > 1000
