"""Sequence epochs (issue 16): a sender whose outbox was lost restarts its sequence at 1 in a newer epoch
and its partners follow it, while no message of an earlier epoch (or of this one) can be replayed."""

from __future__ import annotations

import json

import nats
import pytest

from triwarn.share.admission import Admission
from triwarn.share.schema import SCHEMA_VERSION, Heartbeat, TrackReport, decode
from triwarn.share.sender import Sender

from .conftest import kr_to_jp, transport, wait_for

T0 = 1_700_000_000.0
SUBJECT = "tw.kr.jp.heartbeat"


def _beats(sender: Sender, n: int, t0: float) -> list:
    return [sender.seal(Heartbeat, t0 + i, to=("jp",), node_state="ok") for i in range(n)]


def test_a_sender_stamps_its_epoch_at_the_first_seal_and_keeps_it(spec, keys):
    kr = Sender("kr", keys["kr"], spec)
    first, second = _beats(kr, 2, T0)
    assert first.msg.epoch == second.msg.epoch == int(T0 * 1000)
    assert (first.msg.seq, second.msg.seq) == (1, 2)
    assert decode(first.data).epoch == first.msg.epoch and first.msg.schema == SCHEMA_VERSION == 3


def test_a_newer_epoch_resets_the_senders_window_and_old_epochs_stay_refused(spec, keys, trust):
    jp = Admission("jp", spec, trust, remember_ids=1)  # the refusals below cannot rest on remembered ids
    old = _beats(Sender("kr", keys["kr"], spec), 6, T0)
    for out in old[:5]:
        assert jp.admit(out.data, SUBJECT, T0 + 10).accepted
    # KR lost its outbox: a new sender, a new epoch, seq 1 again.
    new_sender = Sender("kr", keys["kr"], spec)
    new = _beats(new_sender, 2, T0 + 20)
    assert new[0].msg.seq == 1 and new[0].msg.epoch > old[0].msg.epoch
    assert jp.admit(new[0].data, SUBJECT, T0 + 21).accepted
    assert jp.epoch_changes == 1 and jp.last_epoch["kr"] == new[0].msg.epoch and jp.last_seq["kr"] == 1
    assert jp.admit(new[1].data, SUBJECT, T0 + 22).accepted
    assert jp.epoch_changes == 1  # the same epoch again is no change
    # Every message of the old epoch, seen or never delivered (old[5]), is refused as replayed.
    for out in old:
        verdict = jp.admit(out.data, SUBJECT, T0 + 23)
        assert verdict.reason == "replayed" and "older than its epoch" in verdict.detail
    # And within the new epoch, the exact replay of its first message too.
    assert jp.admit(new[0].data, SUBJECT, T0 + 23).reason == "replayed"
    assert jp.counters["accepted"] == 7 and jp.counters["replayed"] == 7


def test_a_forged_higher_epoch_is_refused_and_changes_nothing(spec, keys, trust):
    jp = Admission("jp", spec, trust)
    kr = Sender("kr", keys["kr"], spec)
    first, later = _beats(kr, 2, T0)
    assert jp.admit(first.data, SUBJECT, T0 + 1).accepted
    # An attacker (or a relay) raises the epoch of an authentic message and restarts its seq at 1.
    doc = json.loads(later.data)
    doc["epoch"], doc["seq"] = doc["epoch"] + 10_000, 1
    assert jp.admit(json.dumps(doc).encode(), SUBJECT, T0 + 2).reason == "bad_signature"
    # A message claiming to be KR's in a new epoch, signed with another nation's key.
    forged = Sender("kr", keys["us"], spec).seal(Heartbeat, T0 + 5, to=("jp",), node_state="ok")
    assert forged.msg.epoch > first.msg.epoch
    assert jp.admit(forged.data, SUBJECT, T0 + 6).reason == "bad_signature"
    assert (jp.last_epoch["kr"], jp.last_seq["kr"], jp.epoch_changes) == (first.msg.epoch, 1, 0)
    assert jp.admit(later.data, SUBJECT, T0 + 7).accepted  # KR's real sequence goes on


def test_an_epoch_after_the_messages_own_time_is_refused(spec, keys, trust):
    """No sequence begins in the future: otherwise one message could lock its sender's later epochs out."""
    jp = Admission("jp", spec, trust)
    ahead = Sender("kr", keys["kr"], spec, epoch=int((T0 + 3600) * 1000))
    verdict = jp.admit(ahead.seal(Heartbeat, T0, to=("jp",), node_state="ok").data, SUBJECT, T0)
    assert verdict.reason == "bad_epoch" and "after the message's sent time" in verdict.detail
    assert "kr" not in jp.last_epoch
    # Within the clock tolerance (a node whose clock went back 2 s since its sequence began) it is taken.
    behind = Sender("kr", keys["kr"], spec, epoch=int((T0 + 2) * 1000))
    assert jp.admit(behind.seal(Heartbeat, T0, to=("jp",), node_state="ok").data, SUBJECT, T0).accepted


def test_a_new_epoch_may_start_low_after_a_high_sequence(spec, keys, trust):
    """seq_jump applies within an epoch; a new epoch is judged as a first contact."""
    jp = Admission("jp", spec, trust)
    old = Sender("kr", keys["kr"], spec, next_seq=900_000)
    assert jp.admit(old.seal(Heartbeat, T0, to=("jp",), node_state="ok").data, SUBJECT, T0).accepted
    jump = old.seal(Heartbeat, T0 + 1, to=("jp",), node_state="ok")
    jump_doc = Sender("kr", keys["kr"], spec, next_seq=9_000_000, epoch=old.epoch)
    assert jp.admit(jump_doc.seal(Heartbeat, T0 + 1, to=("jp",), node_state="ok").data, SUBJECT,
                    T0 + 1).reason == "seq_jump"
    assert jp.admit(jump.data, SUBJECT, T0 + 1).accepted
    assert jp.admit(_beats(Sender("kr", keys["kr"], spec), 1, T0 + 2)[0].data, SUBJECT, T0 + 2).accepted


def test_restore_relearns_the_epoch(spec, keys, trust):
    old = _beats(Sender("kr", keys["kr"], spec), 1, T0)[0]
    new = _beats(Sender("kr", keys["kr"], spec), 1, T0 + 10)[0]
    jp = Admission("jp", spec, trust)
    assert jp.restore(old.data, SUBJECT) and jp.restore(new.data, SUBJECT)
    assert jp.epoch_changes == 0 and jp.counters["accepted"] == 0  # restoring counts nothing
    unseen_old = Sender("kr", keys["kr"], spec, next_seq=2, epoch=old.msg.epoch)
    assert jp.admit(unseen_old.seal(Heartbeat, T0 + 11, to=("jp",), node_state="ok").data, SUBJECT,
                    T0 + 11).reason == "replayed"


def test_a_version_2_message_is_refused_by_name(spec, keys, trust, make_track):
    doc = json.loads(Sender("kr", keys["kr"], spec).seal(TrackReport, T0, to=("jp",), tracks=[make_track()]).data)
    del doc["epoch"]
    doc["schema"] = 2
    jp = Admission("jp", spec, trust)
    verdict = jp.admit(json.dumps(doc).encode(), "tw.kr.jp.track", T0)
    assert verdict.reason == "unsupported_schema"
    assert "schema version 2" in verdict.detail and "version 3" in verdict.detail
    assert jp.counters["unsupported_schema"] == 1 and jp.counters["malformed"] == 0
    assert jp.admit(b'{"schema": 3, "kind": "heartbeat"}', SUBJECT, T0).reason == "malformed"
    assert jp.admit(b"[1, 2]", SUBJECT, T0).reason == "malformed"


@pytest.mark.slow
async def test_a_wiped_outbox_restarts_at_seq_1_in_a_new_epoch_and_partners_follow(net, spec, keys, trust):
    async with kr_to_jp(net, spec, keys, trust) as (kr, jp, got):
        old = [await kr.publish(Heartbeat, node_state="ok") for _ in range(5)]
        first_epoch = kr.sender.epoch
        assert await wait_for(lambda: len(got) == 5)
        await kr.close()
        kr = transport(net, spec, keys, trust, "kr")  # an ordinary restart keeps the epoch
        await kr.connect()
        assert (kr.sender.epoch, kr.sender.next_seq) == (first_epoch, 6)
        await kr.close()
        # The server's disk is lost: OUT_KR is deleted and created again, its stream sequence back at 0.
        config = next(item.config for item in net.gen.plan if item.config["name"] == "OUT_KR")
        admin = await nats.connect(**net.credentials("kr", "admin"))
        try:
            assert json.loads((await admin.request("$JS.API.STREAM.DELETE.OUT_KR", b"")).data)["success"]
            created = json.loads((await admin.request("$JS.API.STREAM.CREATE.OUT_KR",
                                                      json.dumps(config).encode())).data)
            assert "error" not in created
        finally:
            await admin.close()
        kr = transport(net, spec, keys, trust, "kr")
        await kr.connect()
        assert kr.sender.next_seq == 1 and kr.sender.epoch is None  # a new epoch, stamped at the first seal
        new = [await kr.publish(Heartbeat, node_state="ok") for _ in range(2)]  # fewer than before the loss
        assert kr.sender.epoch > first_epoch
        assert await wait_for(lambda: len(got) == 7, timeout_s=30.0)
        assert [(m.epoch == first_epoch, m.seq) for m in got] == [(True, 1), (True, 2), (True, 3), (True, 4),
                                                                  (True, 5), (False, 1), (False, 2)]
        assert [m.msg_id for m in got[5:]] == [o.msg.msg_id for o in new]
        assert jp.counters["recv_epoch_changes"] == 1 and jp.counters["recv_replayed"] == 0
        # The old epoch's messages, stored again in the new outbox, are refused at Japan.
        admin = await nats.connect(**net.credentials("kr", "admin"))
        try:
            js = admin.jetstream()
            for out in old:
                await js.publish(SUBJECT, out.data, stream="OUT_KR")
        finally:
            await admin.close()
        # (Japan still remembers their ids: duplicates; the epoch rule alone is tested above.)
        assert await wait_for(lambda: jp.counters["recv_duplicate"] == 5, timeout_s=30.0)
        assert len(got) == 7 and jp.counters["recv_accepted"] == 7
        await kr.close()  # the last of KR's transports

