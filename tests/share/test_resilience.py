"""Sequence and stream resilience (issue 16): whatever is in its outbox, a node restarts and continues
its sequence; whatever arrives in its inbox, every message is acknowledged, and one it cannot use is
counted and dead-lettered instead of being redelivered for ever."""

from __future__ import annotations

import asyncio
import time

import msgspec
import nats
import pytest

from triwarn.share.schema import Heartbeat, decode
from triwarn.share.sender import Sender
from triwarn.share.transport import DEAD_LETTER_BYTES, ShareTransport

from .conftest import kr_to_jp, transport, wait_for


async def _put_into_outbox(net, nation, items):
    """Store (subject, bytes) items in the nation's outbox with the node's own login (the issue's case)."""
    nc = await nats.connect(**net.node_credentials(nation))
    js = nc.jetstream()
    try:
        for subject, data in items:
            await js.publish(subject, data, stream=f"OUT_{nation.upper()}")
    finally:
        await nc.close()


async def _wait_all_acked(t: ShareTransport) -> bool:
    async def acked():
        for stream in t.inbox_streams:
            info = await t.js.consumer_info(stream, t.durable)
            if info.num_ack_pending or info.num_redelivered:
                return False
        return True
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        if await acked():
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.slow
async def test_junk_in_its_own_outbox_does_not_stop_a_node_restarting(net, spec, keys, trust):
    async with kr_to_jp(net, spec, keys, trust) as (kr, jp, got):
        for _ in range(3):
            await kr.publish(Heartbeat, node_state="ok")
        assert await wait_for(lambda: len(got) >= 3)
        await kr.close()
        # With KR's own password: junk, a message claiming to be KR's signed with another key (a seq far
        # ahead: continuing from it would cut KR off as seq_jump), and another nation's message.
        forged = Sender("kr", keys["us"], spec, next_seq=10**9).seal(Heartbeat, time.time(), node_state="ok")
        foreign = Sender("jp", keys["jp"], spec).seal(Heartbeat, time.time(), node_state="ok")
        await _put_into_outbox(net, "kr", [("tw.kr.jp.heartbeat", b"\x00junk{"),
                                           ("tw.kr.jp.heartbeat", forged.data),
                                           ("tw.kr.jp.heartbeat", foreign.data),
                                           ("tw.kr.jp.heartbeat", b"not json either")])
        # The condition of the issue: the newest message in the outbox does not decode.
        probe = await nats.connect(**net.node_credentials("kr"))
        try:
            js = probe.jetstream()
            last = (await js.stream_info("OUT_KR")).state.last_seq
            with pytest.raises(msgspec.DecodeError):
                decode((await js.get_msg("OUT_KR", seq=last)).data)
        finally:
            await probe.close()

        kr2 = transport(net, spec, keys, trust, "kr")
        await kr2.connect()  # raised DecodeError before issue 16
        try:
            assert kr2.sender.next_seq == 4
            assert dict(kr2.outbox_skipped) == {"undecodable": 2, "not_signed_by_us": 1, "foreign": 1}
            assert kr2.counters["outbox_skipped"] == 4
            out = await kr2.publish(Heartbeat, node_state="ok")
            assert out.msg.seq == 4
            assert await wait_for(lambda: any(m.msg_id == out.msg.msg_id for m in got))
        finally:
            await kr2.close()
        assert [m.seq for m in got if m.sender == "kr"] == [1, 2, 3, 4]
        # The poison that reached Japan on the way was acknowledged, counted and dead-lettered.
        assert await wait_for(lambda: jp.counters["dead_lettered"] >= 4)
        assert sorted(d.reason for d in jp.dead_letters) == ["bad_signature", "malformed", "malformed",
                                                            "subject_mismatch"]
        assert all(d.subject == "tw.kr.jp.heartbeat" for d in jp.dead_letters)
        assert b"\x00junk{" in [d.head for d in jp.dead_letters]
        assert await _wait_all_acked(jp)


@pytest.mark.slow
async def test_an_outbox_of_nothing_but_junk_continues_above_the_stream_sequence(net, spec, keys, trust):
    async with kr_to_jp(net, spec, keys, trust) as (kr, _jp, got):
        for _ in range(2):
            await kr.publish(Heartbeat, node_state="ok")
        await kr.close()
        await _put_into_outbox(net, "kr", [("tw.kr.jp.heartbeat", b"junk %d" % i) for i in range(3)])
        kr2 = transport(net, spec, keys, trust, "kr", outbox_search=2)  # the search ends before KR's own
        await kr2.connect()
        try:
            last_stream_seq = (await kr2.js.stream_info("OUT_KR")).state.last_seq
            assert kr2.outbox_skipped == {"undecodable": 2}
            # Every seq KR sealed was stored at least once: above the stream's sequence none was used.
            assert kr2.sender.next_seq == last_stream_seq + 1 > 3
            out = await kr2.publish(Heartbeat, node_state="ok")
            assert await wait_for(lambda: any(m.msg_id == out.msg.msg_id for m in got))  # the gap is accepted
        finally:
            await kr2.close()
        assert [m.seq for m in got if m.sender == "kr"] == [1, 2, last_stream_seq + 1]


# -- the receiving handler, without a network -------------------------------------------------------------
class FakeRaw:
    def __init__(self, data: bytes, subject: str) -> None:
        self.data, self.subject, self.acked = data, subject, 0

    async def ack(self) -> None:
        self.acked += 1


class BrokenAck(FakeRaw):
    async def ack(self) -> None:
        raise nats.errors.ConnectionClosedError


def _receiver(spec, keys, trust, **kw) -> ShareTransport:
    return ShareTransport("jp", spec, keys["jp"], trust, servers=["nats://127.0.0.1:1"], **kw)


async def test_every_message_is_acked_and_poison_is_counted_and_dead_lettered(spec, keys, trust):
    jp = _receiver(spec, keys, trust, dead_letter_limit=3)
    got = []
    jp._on_message = got.append
    kr = Sender("kr", keys["kr"], spec)
    good = kr.seal(Heartbeat, time.time(), to=("jp",), node_state="ok")
    forged = Sender("kr", keys["us"], spec, next_seq=50).seal(Heartbeat, time.time(), to=("jp",),
                                                               node_state="ok")
    raws = [FakeRaw(good.data, "tw.kr.jp.heartbeat"),
            FakeRaw(b"x" * 1000, "tw.kr.jp.heartbeat"),
            FakeRaw(forged.data, "tw.kr.jp.heartbeat"),
            FakeRaw(good.data, "tw.kr.jp.heartbeat"),          # a redelivery: duplicate, not poison
            FakeRaw(good.data, "tw.us.jp.heartbeat")]
    for raw in raws:
        await jp._handle(raw)
    assert [r.acked for r in raws] == [1] * len(raws)
    assert [m.msg_id for m in got] == [good.msg.msg_id]
    assert jp.counters["recv_duplicate"] == 1 and jp.counters["dead_lettered"] == 3
    assert [d.reason for d in jp.dead_letters] == ["malformed", "bad_signature", "subject_mismatch"]
    assert jp.dead_letters[0].head == b"x" * DEAD_LETTER_BYTES
    # Bounded: the newest are kept, the count goes on.
    await jp._handle(FakeRaw(b"{}", "tw.kr.jp.heartbeat"))
    assert len(jp.dead_letters) == 3 and jp.dead_letters[-1].head == b"{}"
    assert jp.counters["dead_lettered"] == 4


async def test_a_failing_callback_or_handler_still_acks(spec, keys, trust, monkeypatch):
    jp = _receiver(spec, keys, trust)
    kr = Sender("kr", keys["kr"], spec)

    async def broken(msg):
        raise ValueError("the picture broke")

    jp._on_message = broken
    first = FakeRaw(kr.seal(Heartbeat, time.time(), to=("jp",), node_state="ok").data, "tw.kr.jp.heartbeat")
    await jp._handle(first)
    assert first.acked == 1 and jp.counters["callback_errors"] == 1
    assert jp.dead_letters[-1].reason == "callback_error" and "the picture broke" in jp.dead_letters[-1].detail

    def admit_raises(data, subject):
        raise RuntimeError("boom")

    monkeypatch.setattr(jp, "admit", admit_raises)
    second = FakeRaw(b"{}", "tw.kr.jp.heartbeat")
    await jp._handle(second)
    assert second.acked == 1 and jp.dead_letters[-1].reason == "handler_error"
    # A lost connection at the ack neither raises into the client nor loses the message (the server
    # redelivers what was not acknowledged).
    monkeypatch.undo()
    await jp._handle(BrokenAck(b"{}", "tw.kr.jp.heartbeat"))
    assert jp.counters["dead_lettered"] == 3
