"""The demo: real node output feeds the operator UI's pictures, and `triwarn demo` serves the UI, paces the
run, alerts within 30 s of start and ends by printing the report's path. Shortened runs (CI budget)."""

from __future__ import annotations

import asyncio
import importlib.resources
from pathlib import Path

import httpx
import msgspec
import pytest

from triwarn.api.picture import NATIONS, Picture, PictureHub
from triwarn.api.picture_feed import PictureFeed
from triwarn.exercise.commands import DEMO_SCENARIO, run_demo
from triwarn.exercise.engine import ExerciseOptions, exercise_async
from triwarn.exercise.plan import load_plan

pytestmark = pytest.mark.slow  # the demo exercise over NATS, with the UI served


def test_pictures_come_from_the_nodes(tmp_path):
    plan = load_plan(Path(str(importlib.resources.files("triwarn") / "scenarios" / DEMO_SCENARIO)))
    hub = PictureHub(NATIONS)
    feed = PictureFeed(hub, plan.name, plan.links)
    seen_kr_in_jp = []

    def watch(nation, _res):
        if nation == "jp":
            pic = hub.latest("jp")
            seen_kr_in_jp.extend(t.id for t in pic.tracks if "kr" in t.nations)

    opts = ExerciseOptions(seed=1, step_s=2.0, baseline=False, end_after_s=130.0, progress=False,
                           on_step=[feed.on_step, watch])
    asyncio.run(exercise_async(plan, tmp_path, opts))
    jp = hub.latest("jp")
    assert jp.mode == "exercise" and jp.exercise_name == plan.name
    assert seen_kr_in_jp, "Japan's picture never held a track Korea contributed to"
    assert jp.alert_log and all(e.status == "Exercise" for e in jp.alert_log)
    assert {a.area for a in jp.alerts} & {"JP-01", "JP-02"}, [a.area for a in jp.alerts]
    assert {ln.peer for ln in jp.links} == {"us", "kr"}
    assert any(jp_t.trail for jp_t in hub.latest("kr").tracks) or hub.latest("kr").tracks == []
    # What the API serves must round-trip through the wire format.
    assert msgspec.json.decode(msgspec.json.encode(jp), type=Picture) == jp


def test_demo_serves_the_ui_and_alerts_early(tmp_path, capsys, monkeypatch):
    seen = {}
    from triwarn.api import serve

    real_start = serve.start_server

    async def start_and_probe(app, **kw):  # the real server; probe it once it listens
        running = await real_start(app, **kw)
        async with httpx.AsyncClient() as client:
            seen["index"] = (await client.get(running.url + "/")).status_code
        return running

    monkeypatch.setattr(serve, "start_server", start_and_probe)
    # 150 s of flight: the first trusted alert is Aomori's, from the cut-off path once it reaches Japan
    # (about T+110 s); nothing earlier is a trustworthy reason to alert.
    metrics = run_demo(headless=False, speed=25.0, port=0, out=tmp_path / "demo", end_after_s=150.0)
    out = capsys.readouterr().out
    assert "triwarn operator UI: http://127.0.0.1:" in out
    assert f"report: {tmp_path / 'demo' / 'report.html'}" in out.splitlines()[-1]
    assert seen["index"] == 200
    assert metrics["wall_s"]["first_alert"] is not None and metrics["wall_s"]["first_alert"] < 30.0
    assert (tmp_path / "demo" / "report.html").exists()
