"""A partner flooding another partner's link: the receiver reads each sender's inbox under its own
budget (share/inbox.py), so the flood is read slowly while the other senders' messages pass it, in
order; a delivery lost with a connection never reorders a sender's messages; a push consumer of an
older release is taken over where it stopped."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from nats.aio.msg import Msg
from nats.js import api

from triwarn.share.inbox import InboxPuller, IntakeBudget, IntakeLimits, SourceHold, TokenBucket
from triwarn.share.netconfig import MIB, LinkBudget
from triwarn.share.schema import Heartbeat
from triwarn.share.servers import LocalNetwork

from .conftest import transport, wait_for

SMALL = LinkBudget(link_cap_bytes=4 * MIB, max_msg_bytes=64 * 1024, spare_stream_bytes=MIB)


def test_token_bucket_gives_a_burst_then_its_rate():
    b = TokenBucket(rate=100.0, burst=1000.0)
    assert b.wait_s(0.0) == 0.0
    b.take(1500.0, 0.0)  # over the burst: a debt of 500, paid back at 100 a second
    assert b.wait_s(0.0) == pytest.approx(5.0)
    assert b.wait_s(4.0) == pytest.approx(1.0)
    assert b.wait_s(6.0) == 0.0
    assert b.wait_s(1000.0) == 0.0 and b.level == 1000.0  # never more than the burst
    b.take(10.0, 999.0)  # a clock going back refills nothing and breaks nothing
    assert b.level == pytest.approx(990.0)
    with pytest.raises(ValueError):
        TokenBucket(rate=0.0, burst=1.0)


def test_refused_messages_draw_on_a_much_smaller_budget():
    limits = IntakeLimits(total_bytes_per_s=1000.0, total_burst_bytes=10_000.0, refused_bytes_per_s=100.0,
                          refused_burst_bytes=1000.0, per_msg_bytes=0)
    honest, flooder = IntakeBudget(limits), IntakeBudget(limits)
    for _ in range(9):  # 9,000 bytes of accepted messages: inside the burst
        honest.charge(1000, True, 0.0)
        flooder.charge(1000, False, 0.0)
    assert honest.wait_s(0.0) == 0.0
    assert flooder.wait_s(0.0) == pytest.approx(80.0)  # 8,000 over a 1,000 burst at 100 a second
    tiny = IntakeBudget(IntakeLimits(refused_bytes_per_s=100.0, refused_burst_bytes=1000.0, per_msg_bytes=100))
    for _ in range(20):  # empty messages still cost their overhead
        tiny.charge(0, False, 0.0)
    assert tiny.wait_s(0.0) == pytest.approx(10.0)


def test_a_sender_is_held_longer_each_time_it_goes_on_and_forgiven_later():
    hold = SourceHold(first_s=10.0, longest_s=40.0, forgive_s=100.0)
    assert hold.should_hold(False, 0.0) is None and not hold.should_release(0.0)
    assert hold.should_hold(True, 0.0) == 10.0
    assert hold.should_hold(True, 5.0) is None  # already held
    assert not hold.should_release(9.9) and hold.should_release(10.0)
    assert hold.should_hold(True, 11.0) == 20.0 and hold.should_release(31.0)
    assert hold.should_hold(True, 32.0) == 40.0 and hold.should_release(72.0)
    assert hold.should_hold(True, 73.0) == 40.0 and hold.should_release(113.0)  # at most longest_s
    assert hold.should_hold(True, 213.0) == 10.0  # quiet for forgive_s: a first hold again
    assert hold.holds == 5


def _delivery(stream_seq: int, consumer_seq: int, delivered: int = 1) -> Msg:
    reply = f"$JS.ACK.IN_KR2JP.node.{delivered}.{stream_seq}.{consumer_seq}.{time.time_ns()}.0"
    return Msg(_client=None, subject="tw.kr.jp.heartbeat", reply=reply, data=b"{}")


class _FakeSub:
    def __init__(self, msgs: list[Msg]) -> None:
        self.msgs = list(msgs)

    async def next_msg(self, timeout: float) -> Msg:
        if not self.msgs:
            raise TimeoutError
        return self.msgs.pop(0)


async def test_a_missed_delivery_stops_the_batch_before_a_later_message_is_handled():
    handled: list[int] = []

    async def handler(msg) -> bool:
        handled.append(msg.metadata.sequence.stream)
        return True

    puller = InboxPuller(None, None, "IN_KR2JP", "node", handler, IntakeLimits(), batch=10, expires_s=0.2,
                         grace_s=0.1)
    # Deliveries 1, 2, a redelivery of 2 (its ack was lost: handled again, refused as a duplicate
    # upstream), then 5: deliveries 3 and 4 went to a request lost with a connection and will come
    # back later, so 5 (stream seq 15) must wait: the consumer restarts after stream seq 12.
    puller._sub = _FakeSub([_delivery(11, 1), _delivery(12, 2), _delivery(12, 2, delivered=2),
                            _delivery(15, 5), _delivery(16, 6)])
    assert await puller._take_batch("reply") is True
    assert handled == [11, 12, 12] and puller.last_sseq == 12 and puller.last_dseq == 2
    # A status of an earlier request is passed over; the request's own end ends the batch.
    puller._sub = _FakeSub([Msg(_client=None, subject="old.1", headers={"Status": "408"}),
                            _delivery(13, 3), Msg(_client=None, subject="reply", headers={"Status": "408"}),
                            _delivery(14, 4)])
    assert await puller._take_batch("reply") is False
    assert handled == [11, 12, 12, 13]
    # A stored message that claims a status in its headers is still a message (it has an ack subject).
    forged = _delivery(14, 4)
    forged.headers = {"Status": "408"}
    puller._sub = _FakeSub([forged])
    await puller._take_batch("reply")
    assert handled[-1] == 14


@pytest.mark.slow
async def test_a_flood_into_jp_is_read_under_its_budget_while_us_messages_pass_it(spec, keys, trust, tmp_path):
    """KR's node login floods its link to JP with junk while the US sends 20 heartbeats to JP: JP's node
    takes all 20, in order, while KR's junk is still waiting unread in KR's own inbox stream (or at the
    hub), and it read no more of KR's junk than KR's refused budget allows."""
    with LocalNetwork.start(spec, tmp_path / "net", budget=SMALL) as net:
        us = transport(net, spec, keys, trust, "us")
        limits = IntakeLimits(refused_bytes_per_s=64 * 1024, refused_burst_bytes=256 * 1024)
        jp = transport(net, spec, keys, trust, "jp", intake=limits, fetch_batch=4, hold_floods=False)
        kr = await nats.connect(**net.credentials("kr", "node"))
        jp_admin = await nats.connect(**net.credentials("jp", "admin"))
        try:
            await us.connect()
            await jp.connect()
            got: list[tuple[str, int]] = []
            await jp.start_receiving(lambda m: got.append((m.sender, m.seq)))
            started = time.monotonic()
            junk = bytes(16 * 1024)
            for i in range(256):  # 4 MiB: KR's inbox stream at JP holds all of it
                await kr.publish("tw.kr.jp.track", junk)
                if i % 32 == 31:
                    await kr.flush()
            await kr.flush()
            js = jp_admin.jetstream()
            for _ in range(50):  # until KR's junk has reached JP's inbox stream, or KR is held
                if (await js.stream_info("IN_KR2JP")).state.messages >= 200 or jp.counters["inbox_holds"]:
                    break
                await asyncio.sleep(0.1)
            for _ in range(20):
                await us.publish(Heartbeat, to=("jp",), node_state="ok")
            assert await wait_for(lambda: len([g for g in got if g[0] == "us"]) >= 20, 15.0), got
            elapsed = time.monotonic() - started
            assert [seq for sender, seq in got if sender == "us"] == list(range(1, 21))
            pending = (await js.consumer_info("IN_KR2JP", jp.durable)).num_pending
            assert pending > 0, pending  # KR's junk waits in KR's stream, not in front of the US's
            refused = jp.counters["recv_malformed"]
            allowed = (limits.refused_burst_bytes + limits.refused_bytes_per_s * elapsed) / (16 * 1024 + 1024)
            assert 0 < refused <= allowed + 2 * jp.fetch_batch, (refused, allowed)
            assert jp.counters["inbox_throttled_ms"] > 0
        finally:
            await jp.close()
            await us.close()
            await kr.close()
            await jp_admin.close()


@pytest.mark.slow
async def test_a_push_consumer_of_an_older_release_is_taken_over_in_order(net, spec, keys, trust):
    kr = transport(net, spec, keys, trust, "kr")
    await kr.connect()
    for _ in range(10):
        await kr.publish(Heartbeat, to=("jp",), node_state="ok")
    nc = await nats.connect(**net.node_credentials("jp"))
    js = nc.jetstream()
    for _ in range(50):
        if (await js.stream_info("IN_KR2JP")).state.messages == 10:
            break
        await asyncio.sleep(0.1)
    # The older release's push consumer took the first 4 and acknowledged them.
    sub = await js.subscribe("tw.>", stream="IN_KR2JP", durable="node", manual_ack=True,
                             config=api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT))
    for _ in range(4):
        msg = await sub.next_msg(timeout=5)
        await msg.ack_sync()
    await sub.unsubscribe()
    await nc.close()
    jp = transport(net, spec, keys, trust, "jp", durable="node")
    await jp.connect()
    got: list[int] = []
    try:
        await jp.start_receiving(lambda m: got.append(m.seq))
        assert await wait_for(lambda: len(got) >= 6, 10.0), got
        await asyncio.sleep(0.3)
        assert got == list(range(5, 11)) and jp.restored == 4
        info = await jp.js.consumer_info("IN_KR2JP", "node")
        assert not info.config.deliver_subject  # a pull consumer now
    finally:
        await jp.close()
        await kr.close()
