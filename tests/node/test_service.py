"""Three live nodes over real NATS servers on a fast clock, on a small recorded case (short_mrbm.yaml).

One run (about 80 s of flight time at several times real time) carries the claims:
- Japan's picture holds Korea's track before Japan's own radar sees anything;
- Japan is stopped mid-stream and restarted with the same durable consumer (and meanwhile Korea's own
  server is down for a while; Korea keeps stepping): every message Korea published for Japan,
  including those sealed while Japan was down, is ingested exactly once (a new durable name instead
  makes this fail: the old messages come again);
- Japan's clock runs 2 s ahead of Korea's: both still accept and fuse each other's tracks;
- the US clock runs 10 s ahead: Korea and Japan refuse its messages as `from_future` and say so in
  their health (link degraded, with the reason); the US, with a 5 s admission window, refuses Korea's
  as `stale`;
- health and /metrics answer over HTTP with those counters.
The command line's refusals (no --live/--exercise, another nation's sensors) are checked without servers,
and `triwarn node` itself runs against real servers, answers on HTTP and stops cleanly on SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from triwarn.api.node_app import node_app
from triwarn.api.serve import start_server
from triwarn.cli import app
from triwarn.geo.areas import AreaIndex
from triwarn.node.core import NodeSettings
from triwarn.node.service import LiveNode, NodeTransport, ScaledClock
from triwarn.node.sources import ReplaySource, recording_origin_unix_s
from triwarn.sensors.commands import run_simulate
from triwarn.sensors.definitions import load_sensors
from triwarn.sensors.writers import write_sensors
from triwarn.share import signing
from triwarn.share.policy import load_network
from triwarn.share.servers import LocalNetwork

HERE = Path(__file__).parent
SPEED = 8.0  # clock seconds per wall second
STEP_S = 2.0
START_S = 40.0  # the run starts this long after the recording's origin (earlier detections: first step)
JP_DOWN_S = (58.0, 72.0)  # Japan stopped and restarted at these times after the origin (true time)
END_S = 120.0
OFFSET_S = {"kr": 0.0, "jp": 2.0, "us": 10.0}
KR_SERVER_DOWN_WALL_S = 2.5  # while Japan is down, Korea's own server is down this long (wall s)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    run_simulate(HERE / "short_mrbm.yaml", out, seed=3)
    sensors = load_sensors(out / "sensors.yaml")
    for nation in ("kr", "jp"):
        write_sensors(out / f"sensors-{nation}.yaml", {k: s for k, s in sensors.items() if s.nation == nation})
    return out


def test_replay_source_shifts_to_the_epoch_and_hands_out_each_detection_once(recorded):
    sensors = load_sensors(recorded / "sensors-kr.yaml")
    origin = recording_origin_unix_s(recorded / "measurements.jsonl")
    epoch = 2_000_000_000.0
    src = ReplaySource.from_files(sensors, recorded / "measurements.jsonl", nation="kr", epoch_unix_s=epoch)
    assert src.log.skips.counts["unknown_sensor"] > 0  # Japan's lines: not this node's
    first = float(src.feed.radar.t_unix_s[0])
    r1, _ = src.take_until(epoch + (first - origin))
    assert len(r1) == 1 and r1.t_unix_s[0] == pytest.approx(epoch + first - origin)
    r2, _ = src.take_until(epoch + 30.0)
    r3, _ = src.take_until(epoch + 30.0)
    assert len(r3) == 0 and len(r2) == (src.feed.radar.t_unix_s - origin <= 30.0).sum() - 1
    late = ReplaySource.from_files(sensors, recorded / "measurements.jsonl", nation="kr", epoch_unix_s=epoch,
                                   start_unix_s=epoch + 30.0)
    r4, _ = late.take_until(epoch + 40.0)
    assert len(r4) and r4.t_unix_s.min() > epoch + 30.0


def _fused(results, a: str, b: str) -> bool:
    return any({a, b} <= set(nations) for res in results for nations in res.system_tracks.nations)


async def _three_nodes(recorded: Path, workdir: Path) -> dict:
    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()})
    measurements = recorded / "measurements.jsonl"
    epoch = float(round(time.time()))
    base = ScaledClock(epoch + START_S, speed=SPEED)
    clocks = {n: base.shifted(OFFSET_S[n]) for n in spec.nations}
    sensors = {n: load_sensors(recorded / f"sensors-{n}.yaml") for n in ("kr", "jp")}
    areas = AreaIndex.load()
    results: dict[str, list] = {"kr": [], "jp1": [], "jp2": [], "us": []}
    wall0 = time.monotonic()
    net = await asyncio.to_thread(LocalNetwork.start, spec, workdir)

    def make(nation: str, tag: str, start: float | None = None, max_age_s: float = 900.0) -> LiveNode:
        tr = NodeTransport(nation, spec, keys[nation], trust, **net.node_credentials(nation), durable="node",
                           max_age_s=max_age_s)
        own = sensors.get(nation, {})
        src = ReplaySource.from_files(own, measurements, nation=nation, epoch_unix_s=epoch,
                                      start_unix_s=start) if own else None
        settings = NodeSettings(nation=nation, exercise="NODE-TEST", run_id=f"t{tag}")
        # A link timeout of 12 clock s (1.5 wall s here) so that a busy machine does not make links look down.
        return LiveNode(settings, own, tr, src, areas=areas, step_s=STEP_S, clock=clocks[nation], link_timeout_s=12.0,
                        out_dir=workdir / f"out-{tag}", on_step=lambda _n, res: results[tag].append(res))

    try:
        kr, jp1, us = make("kr", "kr"), make("jp", "jp1"), make("us", "us", max_age_s=5.0)
        for live in (kr, jp1, us):
            await live.start()
        t_setup = time.monotonic() - wall0
        base.restart()  # the flight starts now, with everything connected
        runs = [asyncio.create_task(kr.run(until_unix_s=epoch + END_S)),
                asyncio.create_task(us.run(until_unix_s=epoch + END_S + OFFSET_S["us"]))]
        await jp1.run(until_unix_s=epoch + JP_DOWN_S[0] + OFFSET_S["jp"])
        await jp1.close()
        jp_down_from = clocks["kr"]()
        # Korea's own server goes down too for a while: Korea keeps stepping, its messages wait in its queue.
        await net.astop_server("kr")
        kr_steps_before = kr.steps
        await asyncio.sleep(KR_SERVER_DOWN_WALL_S)
        kr_steps_while_server_down = kr.steps - kr_steps_before
        await net.astart_server("kr")
        while base() < epoch + JP_DOWN_S[1]:
            await asyncio.sleep(0.05)
        jp2 = make("jp", "jp2", start=clocks["jp"]())
        await jp2.start()
        jp_down_to = clocks["kr"]()
        server = await start_server(node_app(jp2), port=0)
        await jp2.run(until_unix_s=epoch + END_S + OFFSET_S["jp"])
        await asyncio.gather(*runs)
        # Health as the run ends (links are judged on the clocks, which run on).
        async with httpx.AsyncClient(base_url=server.url) as client:
            health = (await client.get("/api/health")).json()
            metrics = (await client.get("/metrics")).text
            feed = await client.get("/api/cap/feed.atom")
        kr_health = kr.health()
        # Let the last messages Korea published reach Japan (bounded).
        kr_to_jp = [i for i, to, _t in kr.published_ids if "jp" in to]
        kr_while_down = {i for i, to, t in kr.published_ids if "jp" in to and jp_down_from < t < jp_down_to}
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            got = {i for s, i in [*jp1.ingested, *jp2.ingested] if s == "kr"}
            if set(kr_to_jp) <= got:
                break
            await asyncio.sleep(0.05)
        await server.stop()
        out = {
            "results": results, "kr_to_jp": kr_to_jp, "kr_while_down": kr_while_down,
            "jp_from_kr": [i for s, i in [*jp1.ingested, *jp2.ingested] if s == "kr"],
            "jp2_from_kr": {i for s, i in jp2.ingested if s == "kr"},
            "jp2_restored": jp2.transport.restored, "health": health, "metrics": metrics,
            "feed_status": feed.status_code, "feed_type": feed.headers.get("content-type", ""),
            "kr_health": kr_health, "kr_counters": dict(kr.transport.admission.counters),
            "us_counters": dict(us.transport.admission.counters),
            "jp_rejects": {**jp1.transport.admission.counters},
            "jp2_counters": dict(jp2.transport.admission.counters),
            "kr_steps_while_server_down": kr_steps_while_server_down,
            "cap_files": {tag: sorted((workdir / f"out-{tag}" / "cap").glob("*.xml")) for tag in ("kr", "jp1", "jp2")},
            "cap_issued": {"kr": kr.cap_issued, "jp1": jp1.cap_issued, "jp2": jp2.cap_issued},
            "feed_body": feed.content,
            "kr_publish_failures": kr.publish_failures,
            "t_setup": t_setup, "t_total": time.monotonic() - wall0,
            "steps": {"kr": kr.steps, "jp1": jp1.steps, "jp2": jp2.steps, "us": us.steps},
            "skipped": {"kr": kr.steps_skipped, "jp1": jp1.steps_skipped, "jp2": jp2.steps_skipped},
        }
        print("timing", {k: out[k] for k in ("t_setup", "t_total", "steps", "skipped", "kr_publish_failures",
                                             "kr_steps_while_server_down")},
              "cap", out["cap_issued"], "while_down", len(kr_while_down), "kr_to_jp", len(kr_to_jp),
              "restored", jp2.transport.restored,
              "kr", out["kr_counters"], "us", out["us_counters"])
        for live in (kr, jp2, us):
            await live.close()
        return out
    finally:
        await asyncio.to_thread(net.close)


@pytest.fixture(scope="module")
def three(recorded, tmp_path_factory) -> dict:
    return asyncio.run(_three_nodes(recorded, tmp_path_factory.mktemp("live")))


@pytest.mark.slow
def test_japan_holds_koreas_track_before_its_own_radar_sees(three):
    early = [res for res in three["results"]["jp1"]]
    assert any("kr" in nations for res in early for nations in res.system_tracks.nations), "no Korean track at Japan"
    assert not any("jp" in nations for res in early for nations in res.system_tracks.nations)  # Japan's radar: not yet


@pytest.mark.slow
def test_restarted_node_resumes_without_loss_or_repeat(three):
    assert three["kr_while_down"], "Korea published nothing while Japan was down"
    assert three["kr_while_down"] <= three["jp2_from_kr"]
    assert set(three["kr_to_jp"]) <= set(three["jp_from_kr"])
    assert len(three["jp_from_kr"]) == len(set(three["jp_from_kr"])), "a message was ingested twice"
    assert three["jp2_restored"] > 0  # admission state re-learnt from what the first run acknowledged


@pytest.mark.slow
def test_node_keeps_stepping_while_its_server_is_down_and_loses_nothing(three):
    assert three["kr_steps_while_server_down"] >= 5
    # Everything Korea sealed meanwhile reached Japan once its server was back (checked in full above).
    assert set(three["kr_to_jp"]) <= set(three["jp_from_kr"])


@pytest.mark.slow
def test_clocks_2s_apart_still_accept_and_fuse(three):
    assert _fused(three["results"]["jp2"], "jp", "kr"), "Japan never fused its track with Korea's"
    assert _fused(three["results"]["kr"], "kr", "jp"), "Korea never fused its track with Japan's"
    for counters in (three["kr_counters"], three["jp2_counters"]):
        assert counters["accepted"] > 0
        assert counters["bad_signature"] == counters["malformed"] == 0


@pytest.mark.slow
def test_clock_10s_ahead_is_refused_and_said(three):
    assert three["kr_counters"]["from_future"] > 0
    assert three["jp2_counters"]["from_future"] > 0
    us_link = three["kr_health"]["partners"]["us"]
    assert us_link["link"] == "degraded" and "from_future" in us_link["why"]
    assert us_link["rejected"].get("from_future", 0) > 0
    assert three["us_counters"]["stale"] > 0  # the US's 5 s window: Korea's messages are 10 s old there


@pytest.mark.slow
def test_health_and_metrics_answer_with_the_counters(three):
    h = three["health"]
    assert h["nation"] == "jp" and h["mode"] == "exercise" and h["exercise"] == "NODE-TEST"
    assert h["steps"] > 5 and h["detections_in"] > 0
    assert h["partners"]["kr"]["link"] == "up"
    assert 0 < h["rejected"]["from_future"] <= three["jp2_counters"]["from_future"]
    m = three["metrics"]
    assert 'triwarn_node_messages_rejected_total{nation="jp",reason="from_future"}' in m
    assert "triwarn_node_step_duration_seconds_bucket" in m
    assert 'triwarn_node_link_up{nation="jp",partner="kr"} 1.0' in m
    received = [line for line in m.splitlines()
                if line.startswith('triwarn_node_messages_received_total{kind="track",nation="jp",sender="kr"}')]
    assert received and float(received[0].split()[-1]) > 0
    assert three["feed_status"] == 200 and "atom" in three["feed_type"]


# ------------------------------------------------------------------------------------------- the CLI

def _cli(*args: str):
    result = CliRunner().invoke(app, ["node", *args])
    return result.exit_code, result.output + (result.stderr or "")


def test_cli_refuses_a_node_that_is_neither_live_nor_exercise(recorded, tmp_path):
    code, text = _cli("--nation", "kr", "--keys", str(tmp_path), "--servers", "nats://127.0.0.1:1",
                      "--sensors", str(recorded / "sensors-kr.yaml"),
                      "--measurements", str(recorded / "measurements.jsonl"))
    assert code == 2 and "--live" in text and "--exercise" in text
    code, text = _cli("--nation", "kr", "--keys", str(tmp_path), "--servers", "nats://127.0.0.1:1",
                      "--live", "--exercise", "X")
    assert code == 2 and "exclude" in text


def test_cli_refuses_another_nations_sensors(recorded, tmp_path):
    code, text = _cli("--nation", "kr", "--keys", str(tmp_path), "--servers", "nats://127.0.0.1:1",
                      "--exercise", "X", "--sensors", str(recorded / "sensors.yaml"),
                      "--measurements", str(recorded / "measurements.jsonl"))
    assert code == 2
    assert "jp-r1" in text and "kr-r1" not in text.split("another nation")[-1]


def test_cli_refuses_another_nations_credentials_file(recorded, tmp_path):
    from triwarn.share.servers import generate, write_generated

    keys = tmp_path / "keys"
    for nation in ("us", "jp", "kr"):
        signing.write_key_pair(nation, keys)
    write_generated(generate(load_network(), tmp_path / "js"), tmp_path / "cfg")
    wrong = tmp_path / "cfg" / "credentials-jp.json"
    code, text = _cli("--nation", "kr", "--keys", str(keys), "--servers", "nats://127.0.0.1:1", "--exercise", "X",
                      "--creds", str(wrong))
    assert code == 2 and str(wrong) in text and "the credentials of jp, not of kr" in text
    assert "credentials-kr.json" in text
    assert "Traceback" not in text
    code, text = _cli("--nation", "kr", "--keys", str(keys), "--servers", "nats://127.0.0.1:1", "--exercise", "X")
    assert code == 2 and "--creds" in text


@pytest.mark.slow
def test_cli_node_runs_reports_health_and_stops_cleanly_on_ctrl_c(recorded, tmp_path):
    spec = load_network()
    keys = tmp_path / "keys"
    for nation in spec.nations:
        signing.write_key_pair(nation, keys)
    with LocalNetwork.start(spec, tmp_path / "net") as net:
        creds = tmp_path / "net" / "config" / "credentials-kr.json"  # KR's own logins only (nkeys)
        cmd = [sys.executable, "-m", "triwarn.cli", "node", "--nation", "kr", "--keys", str(keys),
               "--servers", net.url("kr"), "--creds", str(creds),
               "--exercise", "CLI-TEST", "--sensors", str(recorded / "sensors-kr.yaml"),
               "--measurements", str(recorded / "measurements.jsonl"), "--epoch", str(time.time() - 60.0),
               "--step-s", "0.5", "--out", str(tmp_path / "out")]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("running"):
                    break
            health_url = next(ln.split()[-1] for ln in lines if ln.strip().startswith("health:"))
            assert health_url.startswith("http://127.0.0.1:")
            deadline = time.monotonic() + 20.0
            health = {}
            while time.monotonic() < deadline:
                health = httpx.get(health_url).json()
                if health["steps"] >= 2 and health["tracks_held"] >= 1:
                    break
                time.sleep(0.2)
            assert health["nation"] == "kr" and health["mode"] == "exercise"
            assert health["detections_in"] > 0 and health["tracks_held"] >= 1, health
            picture_url = health_url.replace("/api/health", "/api/picture")
            assert httpx.get(picture_url, params={"nation": "kr"}).status_code == 401  # no session
            # Without --users the node prints a one-time operator link (docs/console.md).
            link = next(ln.split()[1] for ln in lines if ln.strip().startswith("UI:"))
            assert "/login?token=" in link
            console = httpx.Client()
            assert console.get(link).status_code == 303
            assert console.get(link).status_code == 401  # one use only
            picture = console.get(picture_url, params={"nation": "kr"})
            assert picture.status_code == 200 and picture.json()["mode"] == "exercise"
            assert picture.json()["tracks"], "the operator picture shows no track"
            proc.send_signal(signal.SIGINT)
            rest, err = proc.communicate(timeout=20)
            assert proc.returncode == 0, err
            assert "stopping" in rest
            assert asyncio.run(_consumer_exists(net, "kr", "node")), "the durable consumer was not kept"
            audit = (tmp_path / "out" / "audit.jsonl").read_text().splitlines()
            assert [json.loads(x)["event"] for x in audit] == ["login", "login_failed"]
            # keys/kr.xkey exists (`keys new` writes it), so the node sealed every message: the hub
            # relays ciphertext only, on both of KR's links.
            frames = asyncio.run(_hub_frames(net, "kr"))
            assert frames["KR2JP"] and frames["KR2US"], frames
            assert all(kinds == {"sealed"} for kinds in frames.values()), frames
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


async def _hub_frames(net: LocalNetwork, sender: str) -> dict[str, set[str]]:
    """The `kind` of every frame in the sender's per-recipient outboxes at the hub, by stream."""
    import nats

    from triwarn.share import netconfig

    nc = await nats.connect(**net.credentials(sender, "linkadmin"))
    js = nc.jetstream()
    out: dict[str, set[str]] = {}
    try:
        for r in net.spec.nations:
            if r == sender or not net.spec.released(sender, r):
                continue
            name = netconfig.stream_s2r(sender, r)
            state = (await js.stream_info(name)).state
            seqs = range(state.first_seq, state.last_seq + 1) if state.messages else range(0)
            out[name] = {json.loads((await js.get_msg(name, seq=s)).data)["kind"] for s in seqs}
        return out
    finally:
        await nc.close()


async def _consumer_exists(net: LocalNetwork, nation: str, durable: str) -> bool:
    import nats
    import nats.js.errors

    from triwarn.share import netconfig

    nc = await nats.connect(**net.credentials(nation, "admin"))
    try:
        for stream in netconfig.inbox_streams(net.spec, nation):
            await nc.jetstream().consumer_info(stream, durable)
        return True
    except nats.js.errors.NotFoundError:
        return False
    finally:
        await nc.close()


@pytest.mark.slow
def test_cap_files_and_feed_hold_what_the_node_issued(three):
    from triwarn.warn.cap import validate_cap

    for tag, n in three["cap_issued"].items():
        assert len(three["cap_files"][tag]) == n, tag
    for path in three["cap_files"]["jp2"]:
        xml = path.read_bytes()
        assert b"<status>Exercise</status>" in xml and validate_cap(xml) == [], path.name
        identifier = xml.split(b"<identifier>")[1].split(b"</identifier>")[0]
        assert identifier in three["feed_body"], "issued CAP message missing from the Atom feed"


async def _close_with_a_stalled_publisher(workdir: Path) -> dict:
    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()})
    net = await asyncio.to_thread(LocalNetwork.start, spec, workdir)
    try:
        tr = NodeTransport("kr", spec, keys["kr"], trust, **net.node_credentials("kr"), durable="node")
        clock = ScaledClock(time.time(), speed=1.0)
        live = LiveNode(NodeSettings("kr", exercise="CLOSE-TEST", run_id="tclose"), {}, tr, None, clock=clock)
        await live.start()
        # A publish window of one message, and the server gone: the second message of a step's batch waits
        # for a window that never opens (nats-py turns a cancellation there into TooManyStalledMsgsError).
        tr.js = tr.nc.jetstream(timeout=tr.ack_timeout_s, publish_async_max_pending=1)
        await net.astop_server("kr")
        await live.step_once(clock())  # a heartbeat and a link status per partner: three messages
        await asyncio.sleep(0.5)
        stored_before_close = dict(live.health()["published"])
        t0 = time.monotonic()
        done, _ = await asyncio.wait({asyncio.ensure_future(live.close(flush_timeout_s=0.5))}, timeout=20.0)
        return {"closed": bool(done), "close_s": time.monotonic() - t0, "stored_before_close": stored_before_close}
    finally:
        await asyncio.to_thread(net.close)


@pytest.mark.slow
def test_close_returns_while_a_publish_waits_on_a_dead_server(tmp_path):
    # A cancelled publisher that the library makes look like a publish error must not be retried for ever.
    out = asyncio.run(_close_with_a_stalled_publisher(tmp_path))
    assert out["stored_before_close"] == {}, out  # the step's batch was still in the publisher's hands
    assert out["closed"], out
    assert out["close_s"] < 10.0, out
