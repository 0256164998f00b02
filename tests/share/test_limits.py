"""Broker limits: every stream and account is bounded, sized from LinkBudget; with real servers a
partner flooding its link fills only its own streams while US->JP keeps flowing, also into JP's inbox
while JP is down (each sender has its own inbox stream at the recipient, and its own gathering stream
at the hub); oversized messages and unbounded streams are refused."""

from __future__ import annotations

import asyncio
import json

import nats
import nats.errors
import pytest

from triwarn.share import netconfig
from triwarn.share.netconfig import MIB, LinkBudget, account_limits, stream_plan
from triwarn.share.schema import Heartbeat
from triwarn.share.servers import LocalNetwork, generate

from .conftest import transport, wait_for

# Small enough that a test floods it in a second or two.
SMALL = LinkBudget(link_cap_bytes=2 * MIB, max_msg_bytes=64 * 1024, spare_stream_bytes=MIB)


def test_link_budget_arithmetic():
    b = LinkBudget()
    assert b.bytes_per_s() == pytest.approx(100 * 300 + 1 * 1024 + 1.1 * 400)
    # Seven days of 31.5 kB/s is ~19 GB: the 256 MiB cap applies, and holds > 2 h (the receiver takes 900 s).
    assert b.link_bytes() == 256 * MIB and b.link_bytes() / b.bytes_per_s() > 2 * 3600
    assert b.link_msgs() == 256 * MIB // 256  # the byte cap over the smallest message binds first
    quiet = LinkBudget(track_updates_per_s=0.0, events_per_s=0.0, heartbeats_per_s=0.01, reports_per_s=0.0)
    assert quiet.link_bytes() == int(0.01 * 400 * netconfig.RETENTION_S)  # under the cap: 7 days kept


def test_every_stream_and_account_is_bounded_and_the_store_holds_them_all(spec, tmp_path):
    plan = stream_plan(spec, budget=SMALL)
    for item in plan:
        cfg = item.config
        links = 1 if "2" in cfg["name"] else None  # every stream but the outboxes
        assert cfg["discard"] == "old" and cfg["max_msg_size"] == 64 * 1024
        assert cfg["max_bytes"] % SMALL.link_bytes() == 0 and cfg["max_msgs"] % SMALL.link_msgs() == 0
        if links:
            assert cfg["max_bytes"] == SMALL.link_bytes()
    # Past the sender's outbox every stream is one link's, one sender's: the US's inboxes, one per partner,
    # and JP's (with the hub's gathering stream for each in JP's link account).
    names = {p.config["name"]: p for p in plan}
    assert {"IN_JP2US", "IN_KR2US", "IN_US2JP", "IN_KR2JP", "FOR_US2JP", "FOR_KR2JP"} <= set(names)
    assert "IN_US" not in names and "FOR_JP" not in names
    for name in ("IN_JP2US", "IN_KR2JP", "FOR_KR2JP"):
        assert names[name].config["max_bytes"] == SMALL.link_bytes()
    assert names["FOR_KR2JP"].account == "JP_LINK" and names["IN_KR2JP"].account == "JP_X"
    assert [src["name"] for src in names["IN_KR2JP"].config["sources"]] == ["FOR_KR2JP"]
    limits = account_limits(plan, SMALL)
    kr_link = [p.config["max_bytes"] for p in plan if p.account == "KR_LINK"]
    assert limits["KR_LINK"]["max_file"] == sum(kr_link) + 2 * MIB
    assert limits["KR_LINK"]["max_streams"] == len(kr_link) + 2 and limits["KR_LINK"]["max_bytes_required"]
    gen = generate(spec, tmp_path / "js", budget=SMALL)
    hub = gen.configs["us"]
    assert hub["max_payload"] == 128 * 1024
    assert hub["jetstream"]["max_file_store"] == sum(a["jetstream"]["max_file"] for a in hub["accounts"].values())
    assert all(isinstance(a["jetstream"], dict) for c in gen.configs.values() for a in c["accounts"].values())


async def _stream_state(nc, stream: str) -> dict:
    reply = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=2.0)
    return json.loads(reply.data)["state"]


@pytest.mark.slow
async def test_a_partner_flooding_its_link_fills_only_its_own_streams(spec, tmp_path):
    with LocalNetwork.start(spec, tmp_path / "net", budget=SMALL) as net:
        kr = await nats.connect(**net.credentials("kr", "node"))
        kr_admin = await nats.connect(**net.credentials("kr", "admin"))
        hub_kr = await nats.connect(**net.credentials("kr", "linkadmin"))
        us = await nats.connect(**net.credentials("us", "admin"))
        jp = await nats.connect(**net.credentials("jp", "admin"))
        try:
            junk = bytes(16 * 1024)
            for i in range(640):  # 10 MiB at full rate: five times KR2US's 2 MiB
                await kr.publish("tw.kr.us.track", junk)
                if i % 64 == 63:
                    await kr.flush()
                    await us.jetstream().publish("tw.us.jp.heartbeat", f"us {i}".encode(), stream="OUT_US")
            await kr.flush()
            # KR's own outbox (two links' worth) already drops its oldest; the hub takes in what it kept.
            for _ in range(100):
                out_kr = await _stream_state(kr_admin, "OUT_KR")
                if out_kr["last_seq"] >= 640:
                    break
                await asyncio.sleep(0.05)
            assert out_kr["last_seq"] == 640 and out_kr["bytes"] <= 2 * SMALL.link_bytes()
            previous = None
            for _ in range(100):  # until the hub's copy stops growing
                kr2us = await _stream_state(hub_kr, "KR2US")
                if kr2us == previous:
                    break
                previous = kr2us
                await asyncio.sleep(0.2)
            assert kr2us["bytes"] <= SMALL.link_bytes() and kr2us["first_seq"] > 1, kr2us  # full: oldest dropped
            in_us = await _stream_state(us, "IN_KR2US")
            assert in_us["bytes"] <= SMALL.link_bytes()
            # The US still publishes, and every US->JP message reached JP during and after the flood.
            await us.jetstream().publish("tw.us.jp.heartbeat", b"us after", stream="OUT_US")
            for _ in range(100):
                in_jp = await _stream_state(jp, "IN_US2JP")
                if in_jp["messages"] >= 11:
                    break
                await asyncio.sleep(0.05)
            assert in_jp["messages"] == 11
        finally:
            for nc in (kr, kr_admin, hub_kr, us, jp):
                await nc.close()


@pytest.mark.slow
async def test_oversized_messages_and_unbounded_streams_are_refused(spec, tmp_path):
    with LocalNetwork.start(spec, tmp_path / "net", budget=SMALL) as net:
        admin = await nats.connect(**net.credentials("kr", "admin"))
        try:
            js = admin.jetstream()
            # max_msg_size counts subject and headers too
            await js.publish("tw.kr.us.track", bytes(63 * 1024), stream="OUT_KR")
            with pytest.raises(nats.js.errors.BadRequestError, match="exceeds maximum"):
                await js.publish("tw.kr.us.track", bytes(64 * 1024 + 1), stream="OUT_KR")
            with pytest.raises(nats.errors.MaxPayloadError):
                await admin.publish("tw.kr.us.track", bytes(200 * 1024))

            async def create(api: str, cfg: dict) -> dict:
                reply = await admin.request(f"{api}.STREAM.CREATE.{cfg['name']}", json.dumps(cfg).encode(), 2.0)
                return json.loads(reply.data)

            # KR's admin reaches its link account's JetStream at the hub through the leafnode, and its own
            # server's: neither takes a stream without a byte limit, nor one beyond the account's spare.
            for api in ("$JS.us.API", "$JS.API"):
                body = await create(api, {"name": "HOARD", "subjects": ["hoard.>"], "storage": "file"})
                assert "max bytes" in body["error"]["description"], (api, body)
                body = await create(api, {"name": "HOARD", "subjects": ["hoard.>"], "storage": "file",
                                          "max_bytes": 100 * MIB})
                assert "error" in body, (api, body)
                body = await create(api, {"name": "SMALL", "subjects": ["small.>"], "storage": "file",
                                          "max_bytes": MIB})
                assert "error" not in body, (api, body)
        finally:
            await admin.close()


@pytest.mark.slow
async def test_a_flood_from_kr_while_jp_is_down_leaves_every_us_to_jp_message(spec, keys, trust, tmp_path):
    """JP's server is down; KR floods its link to JP with five times the link's storage while the US
    sends 20 signed messages to JP. KR's flood may only displace KR's own messages: once JP is back,
    JP's node receives all 20 US messages, in order, once each."""
    with LocalNetwork.start(spec, tmp_path / "net", budget=SMALL) as net:
        us = transport(net, spec, keys, trust, "us")
        await us.connect()
        kr = await nats.connect(**net.credentials("kr", "node"))
        hub_kr = await nats.connect(**net.credentials("kr", "linkadmin"))
        jp = None
        try:
            await net.astop_server("jp")
            junk = bytes(16 * 1024)
            for i in range(640):  # 10 MiB, from KR's node login, paced so that the hub keeps up with it
                await kr.publish("tw.kr.jp.track", junk)
                if i % 32 == 31:
                    await kr.flush()
                    await us.publish(Heartbeat, to=("jp",), node_state="ok")
                    await asyncio.sleep(0.05)
            await kr.flush()
            previous = None
            for _ in range(100):  # until the hub's copy of the flood stops growing
                kr2jp = await _stream_state(hub_kr, "KR2JP")
                if kr2jp == previous and kr2jp["last_seq"] > 0:
                    break
                previous = kr2jp
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # and the hub's gathering for JP has taken it in
            await net.astart_server("jp")
            jp = transport(net, spec, keys, trust, "jp")
            await jp.connect()
            got: list[tuple[str, int]] = []
            await jp.start_receiving(lambda m: got.append((m.sender, m.seq)))
            assert await wait_for(lambda: len([g for g in got if g[0] == "us"]) >= 20, 20.0), got
            await asyncio.sleep(0.5)
            assert [seq for sender, seq in got if sender == "us"] == list(range(1, 21))
            assert jp.dead_lettered > 0  # what is left of KR's flood reached JP, was refused and counted
            # Each of KR's streams on the way held at most its one link's share; the two at the hub took
            # in more than their store while JP was down and dropped KR's oldest (a shared one would have
            # dropped the US's), until the hub held KR's link (share/linkpolice.py: the rest of the flood
            # stayed in KR's outbox).
            assert any(link.holds for police in net._watch.policers for link in police.links.values())
            jp_admin = await nats.connect(**net.credentials("jp", "admin"))
            hub_jp = await nats.connect(**net.credentials("jp", "linkadmin"))
            try:
                for nc, name in ((hub_kr, "KR2JP"), (hub_jp, "FOR_KR2JP"), (jp_admin, "IN_KR2JP")):
                    state = await _stream_state(nc, name)
                    assert state["bytes"] <= SMALL.link_bytes(), (name, state)
                    assert name == "IN_KR2JP" or state["first_seq"] > 1, state
                assert (await _stream_state(jp_admin, "IN_US2JP"))["messages"] == 20
            finally:
                await jp_admin.close()
                await hub_jp.close()
        finally:
            for nc in (kr, hub_kr):
                await nc.close()
            await us.close()
            if jp is not None:
                await jp.close()
