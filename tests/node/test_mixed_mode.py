"""Live and exercise never meet (issue 16): a live Japanese node and a Korean node running an exercise on
one network (real NATS servers, the US hub between them), Korea fed a launch (short_mrbm.yaml).

Korea's exercise tracks, launch and impact reports and heartbeats reach Japan's inbox signed and in
policy, and Japan's admission refuses every one as `wrong_mode`: no Korean track in Japan's picture, no
CAP `Actual` from Japan, and Japan's health shows the Korean link degraded with that reason (and Korea's
shows the same of Japan's live messages).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from triwarn.geo.areas import AreaIndex
from triwarn.node.core import NodeSettings
from triwarn.node.service import LiveNode, NodeTransport, ScaledClock
from triwarn.node.sources import ReplaySource
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.writers import write_sensors
from triwarn.share import signing
from triwarn.share.policy import load_network
from triwarn.share.servers import LocalNetwork

HERE = Path(__file__).parent
SPEED = 8.0  # clock seconds per wall second
STEP_S = 2.0
START_S = 40.0  # after the recording's origin: Korea's radar sees the ascent from here
END_S = 120.0
KR_EXERCISE = "KR-DRILL-16"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    run_simulate(HERE / "short_mrbm.yaml", out, seed=3)
    sensors = load_sensors(out / "sensors.yaml")
    write_sensors(out / "sensors-kr.yaml", {k: s for k, s in sensors.items() if s.nation == "kr"})
    return out


async def _mixed(recorded: Path, workdir: Path) -> dict:
    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()})
    epoch = float(round(time.time()))
    clock = ScaledClock(epoch + START_S, speed=SPEED)
    areas = AreaIndex.load()
    results: dict[str, list] = {"kr": [], "jp": []}
    net = await asyncio.to_thread(LocalNetwork.start, spec, workdir)
    try:
        kr_sensors = load_sensors(recorded / "sensors-kr.yaml")
        kr_src = ReplaySource.from_files(kr_sensors, recorded / "measurements.jsonl", nation="kr",
                                         epoch_unix_s=epoch)
        kr = LiveNode(NodeSettings("kr", exercise=KR_EXERCISE, run_id="tmkr"), kr_sensors,
                      NodeTransport("kr", spec, keys["kr"], trust, **net.node_credentials("kr"),
                                    exercise=KR_EXERCISE),
                      kr_src, areas=areas, step_s=STEP_S, clock=clock, link_timeout_s=12.0,
                      out_dir=workdir / "out-kr", on_step=lambda _n, res: results["kr"].append(res))
        # Japan: live (CAP status Actual), no sensors of its own, so anything it warned on would be Korea's.
        jp = LiveNode(NodeSettings("jp", exercise=None, run_id="tmjp"), {},
                      NodeTransport("jp", spec, keys["jp"], trust, **net.node_credentials("jp"), exercise=None),
                      None, areas=areas, step_s=STEP_S, clock=clock, link_timeout_s=12.0,
                      out_dir=workdir / "out-jp", on_step=lambda _n, res: results["jp"].append(res))
        for live in (kr, jp):
            await live.start()
        clock.restart()
        await asyncio.gather(kr.run(until_unix_s=epoch + END_S), jp.run(until_unix_s=epoch + END_S))
        jp_health, kr_health = jp.health(), kr.health()
        out = {
            "results": results, "jp_health": jp_health, "kr_health": kr_health,
            "jp_counters": dict(jp.transport.admission.counters),
            "jp_rejected_from_kr": dict(jp.transport.rejected_from.get("kr", {})),
            "jp_ingested_from_kr": [i for s, i in jp.ingested if s == "kr"],
            "kr_published": dict(kr.published),
            "kr_to_jp": [i for i, to, _t in kr.published_ids if "jp" in to],
            "cap_issued": {"kr": kr.cap_issued, "jp": jp.cap_issued},
            "jp_cap_files": sorted((workdir / "out-jp" / "cap").glob("*.xml")),
            "jp_metrics_cap": [line for line in _metrics_text(jp).splitlines()
                               if line.startswith("triwarn_node_cap_messages_total{")],
        }
        for live in (kr, jp):
            await live.close()
        return out
    finally:
        await asyncio.to_thread(net.close)


def _metrics_text(live: LiveNode) -> str:
    from prometheus_client import generate_latest

    return generate_latest(live.metrics.registry).decode()


@pytest.fixture(scope="module")
def mixed(recorded, tmp_path_factory) -> dict:
    return asyncio.run(_mixed(recorded, tmp_path_factory.mktemp("mixed")))


@pytest.mark.slow
def test_koreas_exercise_data_really_went_to_japan(mixed):
    """The control: Korea tracked the launch and published its exercise data for Japan."""
    assert any("kr" in nations for res in mixed["results"]["kr"] for nations in res.system_tracks.nations)
    assert mixed["kr_published"].get("track", 0) > 0 and mixed["kr_to_jp"]


@pytest.mark.slow
def test_live_node_issues_no_actual_alert_from_exercise_data(mixed):
    assert mixed["cap_issued"]["jp"] == 0
    assert mixed["jp_cap_files"] == []
    assert not any('status="Actual"' in line and not line.rstrip().endswith(" 0.0")
                   for line in mixed["jp_metrics_cap"]), mixed["jp_metrics_cap"]
    assert not any(res.cap_xml or res.warnings for res in mixed["results"]["jp"])


@pytest.mark.slow
def test_live_picture_holds_nothing_of_the_exercise(mixed):
    jp = mixed["results"]["jp"]
    assert jp, "Japan never stepped"
    assert not any("kr" in nations for res in jp for nations in res.system_tracks.nations)
    assert not any(res.partner_launches or res.partner_impacts for res in jp)
    assert mixed["jp_ingested_from_kr"] == []  # not even a heartbeat was taken in
    assert mixed["jp_health"]["tracks_by_nation"].get("kr", 0) == 0


@pytest.mark.slow
def test_live_node_refuses_the_exercise_as_wrong_mode_and_says_so(mixed):
    c = mixed["jp_counters"]
    assert c["wrong_mode"] > 0
    assert c["accepted"] == 0 and c["bad_signature"] == c["malformed"] == 0
    assert mixed["jp_rejected_from_kr"].get("wrong_mode", 0) == c["wrong_mode"]
    h = mixed["jp_health"]
    assert h["mode"] == "live" and h["exercise"] is None
    assert h["rejected"]["wrong_mode"] == c["wrong_mode"]
    kr_link = h["partners"]["kr"]
    assert kr_link["link"] == "degraded", kr_link
    assert "wrong_mode" in kr_link["why"] and KR_EXERCISE in kr_link["why"] and "live" in kr_link["why"]
    assert kr_link["received"] == {}


@pytest.mark.slow
def test_exercise_node_refuses_the_live_node_likewise(mixed):
    h = mixed["kr_health"]
    assert h["mode"] == "exercise" and h["rejected"]["wrong_mode"] > 0
    jp_link = h["partners"]["jp"]
    assert jp_link["link"] == "degraded" and "wrong_mode" in jp_link["why"], jp_link
