"""The partner-link panel of a live node's UI against the node's own /api/health (issue 18).

Two live nodes (Japan and Korea, no sensors: heartbeats and link reports only) run on the wall clock
over the embedded NATS network; the United States' node never starts. Japan serves its HTTP face
(api/node_app.py: /api/health and the operator UI). The page's link panel must say what /api/health
says: Korea UP and heard (not "UP" beside "never heard"), the United States DOWN and never heard, and,
once Korea's node stops, Korea DOWN. Screenshot: artifacts/ui/live-node-links.png.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from triwarn.api.node_app import node_app
from triwarn.api.serve import start_server
from triwarn.node.core import NodeSettings
from triwarn.node.service import LiveNode, NodeTransport
from triwarn.share import signing
from triwarn.share.policy import load_network
from triwarn.share.servers import LocalNetwork
from triwarn.web.browser import chromium_missing, chromium_page

pytestmark = pytest.mark.slow  # NATS servers and Chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
STEP_S = 1.0
HEARTBEAT_S = 2.0
LINK_TIMEOUT_S = 4.0

PANEL_JS = """() => [...document.querySelectorAll('#links li[data-peer]')].map((li) => ({
    peer: li.dataset.peer, state: li.dataset.state, text: li.textContent,
    heard: li.querySelector('[data-heard]') ? li.querySelector('[data-heard]').dataset.heard : null}))"""


def agree(panel: list[dict], health: dict) -> list[str]:
    """Where the panel and /api/health disagree (empty: they agree). Last-heard times may differ by what
    a heartbeat period brings between the picture's step and the health request."""
    problems = []
    rows = {r["peer"]: r for r in panel}
    for peer, h in health["partners"].items():
        row = rows.get(peer)
        if row is None:
            problems.append(f"{peer}: not in the panel")
            continue
        if row["state"] != h["link"]:
            problems.append(f"{peer}: panel {row['state']}, health {h['link']}")
        if h["last_heard_unix_s"] is None:
            if row["heard"] or "never heard" not in row["text"]:
                problems.append(f"{peer}: health never heard, panel {row['text']!r}")
        elif not row["heard"] or abs(float(row["heard"]) - h["last_heard_unix_s"]) > HEARTBEAT_S + STEP_S + 0.5:
            problems.append(f"{peer}: heard {row['heard']} in the panel, {h['last_heard_unix_s']} in health")
    return problems


async def wait_until_agreed(page, client, check, timeout_s: float = 20.0) -> tuple[list[dict], dict]:
    deadline = time.monotonic() + timeout_s
    problems: list[str] = ["not checked"]
    while time.monotonic() < deadline:
        health = (await client.get("/api/health")).json()
        panel = await page.evaluate(PANEL_JS)
        problems = agree(panel, health)
        if not problems and check(panel, health):
            return panel, health
        await asyncio.sleep(0.3)
    raise AssertionError(f"link panel and /api/health never agreed: {problems}; panel {panel}; "
                         f"health {health['partners']}")


async def test_link_panel_says_what_health_says(tmp_path):
    missing = chromium_missing()
    if missing:
        pytest.fail(missing)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()})
    net = await asyncio.to_thread(LocalNetwork.start, spec, tmp_path)
    nodes: dict[str, LiveNode] = {}
    runs = []
    server = None
    try:
        for n in ("jp", "kr"):
            tr = NodeTransport(n, spec, keys[n], trust, **net.node_credentials(n), durable="node")
            nodes[n] = LiveNode(NodeSettings(n, exercise="LINK-TEST", run_id=f"tl{n}"), {}, tr, None,
                                step_s=STEP_S, heartbeat_s=HEARTBEAT_S, link_timeout_s=LINK_TIMEOUT_S)
            await nodes[n].start()
        server = await start_server(node_app(nodes["jp"]), port=0)
        runs = [asyncio.create_task(live.run()) for live in nodes.values()]
        async with chromium_page(f"{server.url}/") as (page, errors), httpx.AsyncClient(base_url=server.url) as client:
            await page.wait_for_selector("html[data-ready='1']", timeout=15_000)

            def kr_up(panel, health):
                return health["partners"]["kr"]["link"] == "up"

            panel, health = await wait_until_agreed(page, client, kr_up)
            rows = {r["peer"]: r for r in panel}
            assert "KR UP" in rows["kr"]["text"] and "heard" in rows["kr"]["text"]
            assert "never heard" not in rows["kr"]["text"]
            assert "US DOWN" in rows["us"]["text"] and "never heard" in rows["us"]["text"]
            assert health["partners"]["us"]["why"] == "never heard"
            # Never "UP" beside "never heard" (what a new user saw).
            assert not [r for r in panel if r["state"] == "up" and "never heard" in r["text"]]
            await page.screenshot(path=str(ARTIFACTS / "live-node-links.png"))

            # Korea's node stops: after the link timeout both say Korea is down, silent since it was heard.
            nodes["kr"].stop()
            await runs[1]
            await nodes.pop("kr").close()

            def kr_down(panel, health):
                return health["partners"]["kr"]["link"] == "down"

            panel, health = await wait_until_agreed(page, client, kr_down)
            kr = next(r for r in panel if r["peer"] == "kr")
            assert "KR DOWN" in kr["text"] and "silent for" in kr["text"], kr
            assert errors == []
    finally:
        for live in nodes.values():
            live.stop()
        for task in runs:
            if not task.done():
                await task
        for live in nodes.values():
            await live.close()
        if server is not None:
            await server.stop()
        await asyncio.to_thread(net.close)
