"""The hub holds a partner's link that takes in far more than a link carries (share/linkpolice.py): the
flood stays at the partner's own server; the link is given back after the hold, tried again when the
server does not take it, and set from the plan whatever another writer did."""

from __future__ import annotations

import asyncio
import json
import time

import nats
import pytest

from triwarn.share.inbox import HELD_KEY
from triwarn.share.linkpolice import LinkPolicer
from triwarn.share.netconfig import MIB, LinkBudget
from triwarn.share.schema import Heartbeat
from triwarn.share.servers import LocalNetwork

from .conftest import StreamApi, transport, wait_for

PLANNED = [{"name": "OUT_KR", "external": {"api": "$JS.kr.API", "deliver": ""}}]


class _HubStream(StreamApi):
    """STREAM.INFO and STREAM.UPDATE of one link stream, like the hub answers them; `fail` UPDATEs time out."""

    def __init__(self) -> None:
        super().__init__({"name": "KR2JP", "max_bytes": 1000 * 1000, "sources": list(PLANNED), "metadata": {}},
                         {"last_seq": 0, "bytes": 0, "messages": 0})

    def take_in(self, n: int, size: int) -> None:
        if self.config["sources"]:
            self.state = {"last_seq": self.state["last_seq"] + n, "bytes": n * size, "messages": n}


async def test_a_link_over_its_rate_is_held_given_back_and_held_again():
    hub = _HubStream()
    now = [0.0]
    police = LinkPolicer(hub, {"KR2JP": PLANNED}, rate_bytes_per_s=10_000.0, monotonic=lambda: now[0])
    await police.check_once()
    assert hub.config["sources"] == PLANNED
    hub.take_in(50, 10_000)  # 500 kB: inside the 1 MB burst (the stream's max_bytes)
    now[0] = 0.5
    await police.check_once()
    assert hub.config["sources"] == PLANNED
    hub.take_in(100, 10_000)  # 1.5 MB in a second: over
    now[0] = 1.0
    await police.check_once()
    assert hub.config["sources"] == [] and HELD_KEY in hub.config["metadata"]
    assert police.links["KR2JP"].holds == [10.0]
    hub.take_in(100, 10_000)  # held: the hub takes in nothing
    assert hub.state["last_seq"] == 150
    hub.fail = 2  # the give-back times out twice: tried again a second later each time
    for t in (11.0, 11.5, 12.0):
        now[0] = t
        await police.check_once()
        assert hub.config["sources"] == []
    now[0] = 13.0
    await police.check_once()
    assert hub.config["sources"] == PLANNED and HELD_KEY not in hub.config["metadata"]
    assert police.failures == 2
    hub.take_in(3, 10_000)  # on probation: the next flood holds it again at once, twice as long
    now[0] = 13.5
    await police.check_once()
    assert hub.config["sources"] == [] and police.links["KR2JP"].holds == [10.0, 20.0]
    # Another writer (the source watchdog's re-sync) puts the source back: the next check holds it again.
    hub.config = {**hub.config, "sources": list(PLANNED)}
    now[0] = 19.0
    await police.check_once()
    assert hub.config["sources"] == []
    await police.stop()  # stopping gives every held link back
    assert hub.config["sources"] == PLANNED and HELD_KEY not in hub.config["metadata"]
    with pytest.raises(ValueError):
        LinkPolicer(hub, {}, rate_bytes_per_s=0.0)


async def _state(nc, stream: str) -> dict:
    return json.loads((await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=2.0)).data)


@pytest.mark.slow
async def test_the_hub_holds_a_partner_flooding_its_link_and_gives_it_back(spec, keys, trust, tmp_path):
    """KR's node login floods 10 MiB into its 2 MiB link to JP: the hub holds KR2JP once it took in
    more than its store, so most of the flood stays in KR's outbox; the US keeps reaching JP; after the
    hold KR's link is back and its next signed message reaches JP."""
    budget = LinkBudget(link_cap_bytes=2 * MIB, max_msg_bytes=64 * 1024, spare_stream_bytes=MIB)
    with LocalNetwork.start(spec, tmp_path / "net", budget=budget) as net:
        flood = await nats.connect(**net.credentials("kr", "node"))
        hub_kr = await nats.connect(**net.credentials("kr", "linkadmin"))
        kr, us, jp = (transport(net, spec, keys, trust, n) for n in ("kr", "us", "jp"))
        for police in net._watch.policers:  # shorter holds, for the test's sake
            for link in police.links.values():
                link.hold.first_s = link.hold.longest_s = 3.0
        try:
            for t in (kr, us, jp):
                await t.connect()
            got: list[str] = []
            await jp.start_receiving(lambda m: got.append(m.sender))
            junk = bytes(16 * 1024)
            for i in range(640):
                await flood.publish("tw.kr.jp.track", junk)
                if i % 64 == 63:
                    await flood.flush()
            await flood.flush()
            deadline = time.monotonic() + 10.0
            while (await _state(hub_kr, "KR2JP"))["config"].get("sources"):
                assert time.monotonic() < deadline, "the hub never held KR's link"
                await asyncio.sleep(0.1)
            held_at = time.monotonic()
            info = await _state(hub_kr, "KR2JP")
            assert HELD_KEY in info["config"]["metadata"] and info["state"]["last_seq"] < 640, info["state"]
            for _ in range(5):
                await us.publish(Heartbeat, to=("jp",), node_state="ok")
            assert await wait_for(lambda: got.count("us") == 5, 10.0), got
            await kr.publish(Heartbeat, to=("jp",), node_state="ok")
            # Given back after the hold (3 s here); KR's junk left in its outbox then crosses again and holds
            # it again (each hold 3 s here): its heartbeat comes behind the rest of its own junk.
            while not (await _state(hub_kr, "KR2JP"))["config"].get("sources"):
                assert time.monotonic() - held_at < 10.0, "KR's link was never given back"
                await asyncio.sleep(0.1)
            assert time.monotonic() - held_at >= 2.5
            assert await wait_for(lambda: "kr" in got, 30.0), got
        finally:
            for t in (kr, us, jp):
                await t.close()
            await flood.close()
            await hub_kr.close()
