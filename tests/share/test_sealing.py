"""End-to-end encryption (issue 16): a message released to one partner is sealed to that partner's key; the
hub relays ciphertext; the addressed partner opens it, no third nation can, and tampering is refused."""

from __future__ import annotations

import json
import os
import stat
import time

import msgspec
import nats
import pytest

from triwarn.errors import InputError
from triwarn.share import sealing, signing
from triwarn.share.admission import Admission
from triwarn.share.schema import Heartbeat, TrackReport
from triwarn.share.sealing import SealedFrame, Sealer, decode_wire
from triwarn.share.sender import Sender

from .conftest import transport, wait_for

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def box_keys(spec):
    return {n: signing.BoxKey.generate() for n in spec.nations}


@pytest.fixture(scope="module")
def full_trust(keys, box_keys):
    """Signature and encryption public keys of every nation."""
    return signing.TrustStore({n: k.verify_key for n, k in keys.items()},
                              {n: k.public_key for n, k in box_keys.items()})


def _sender(nation, spec, keys, box_keys, full_trust, **kw) -> Sender:
    return Sender(nation, keys[nation], spec, sealer=Sealer(nation, box_keys[nation], full_trust), **kw)


def _admission(nation, spec, box_keys, full_trust) -> Admission:
    return Admission(nation, spec, full_trust, sealer=Sealer(nation, box_keys[nation], full_trust))


def _resign(frame_bytes: bytes, key: signing.SigningKey, **changes) -> bytes:
    frame = msgspec.structs.replace(decode_wire(frame_bytes), sig="", **changes)
    return signing.seal(frame, key)[1]


def test_each_recipient_gets_its_own_frame_and_only_it_can_open_it(spec, keys, box_keys, full_trust, make_track):
    kr = _sender("kr", spec, keys, box_keys, full_trust)
    out = kr.seal(TrackReport, T0, tracks=[make_track(7, T0)])
    assert out.recipients == ("us", "jp") and len(set(out.sealed)) == 2
    for recipient in out.recipients:
        wire = out.data_for(recipient)
        frame = decode_wire(wire)
        assert isinstance(frame, SealedFrame) and (frame.sender, frame.to) == ("kr", recipient)
        # Nothing of the content travels in clear: no field name, track id or number of the state.
        for clear in (b"pos_ecef_m", b"kr-7", b"ballistic", b"1200.0", b'"seq"', b"track"):
            assert clear not in wire
        verdict = _admission(recipient, spec, box_keys, full_trust).admit(wire, f"tw.kr.{recipient}.track", T0)
        assert verdict.accepted, verdict
        assert verdict.msg.tracks == [make_track(7, T0)] and verdict.msg.msg_id == out.msg.msg_id
    jp_wire = out.data_for("jp")
    # The US node cannot take Japan's frame (it is addressed to Japan) ...
    us = _admission("us", spec, box_keys, full_trust)
    assert us.admit(jp_wire, "tw.kr.us.track", T0).reason == "subject_mismatch"
    # ... and cannot open its ciphertext even when the frame is re-addressed to it with KR's own key.
    verdict = us.admit(_resign(jp_wire, keys["kr"], to="us"), "tw.kr.us.track", T0)
    assert verdict.reason == "undecryptable" and us.counters["undecryptable"] == 1


def test_tampered_frames_are_refused(spec, keys, box_keys, full_trust, make_track):
    kr = _sender("kr", spec, keys, box_keys, full_trust)
    wire = kr.seal(TrackReport, T0, to=("jp",), tracks=[make_track(0, T0)]).data_for("jp")
    jp = _admission("jp", spec, box_keys, full_trust)
    doc = json.loads(wire)
    box = bytearray(doc["box"].encode())
    box[10] = ord("A") if box[10] != ord("A") else ord("B")
    doc["box"] = box.decode()
    altered = json.dumps(doc).encode()
    assert jp.admit(altered, "tw.kr.jp.track", T0).reason == "bad_signature"  # the frame is signed
    # Altered and re-signed by someone holding KR's signing key only: the AEAD tag fails.
    assert jp.admit(_resign(altered, keys["kr"]), "tw.kr.jp.track", T0).reason == "undecryptable"
    # The US claims KR's frame as its own (sender us, signed by us): it was not sealed with the US-JP key.
    verdict = jp.admit(_resign(wire, keys["us"], sender="us"), "tw.us.jp.track", T0)
    assert verdict.reason == "undecryptable"
    assert jp.admit(wire, "tw.kr.jp.track", T0).accepted  # the original still goes in: nothing was lost


def test_a_sealing_node_refuses_plaintext_and_a_plain_node_cannot_open(spec, keys, trust, box_keys, full_trust):
    plain = Sender("kr", keys["kr"], spec).seal(Heartbeat, T0, to=("jp",), node_state="ok")
    jp = _admission("jp", spec, box_keys, full_trust)
    assert jp.admit(plain.data, "tw.kr.jp.heartbeat", T0).reason == "unsealed"
    sealed = _sender("kr", spec, keys, box_keys, full_trust).seal(Heartbeat, T0, to=("jp",), node_state="ok")
    assert Admission("jp", spec, trust).admit(sealed.data_for("jp"), "tw.kr.jp.heartbeat", T0).reason == \
        "undecryptable"


def test_replays_of_sealed_frames_are_refused(spec, keys, box_keys, full_trust):
    kr = _sender("kr", spec, keys, box_keys, full_trust)
    first, second = (kr.seal(Heartbeat, T0 + i, to=("jp",), node_state="ok").data_for("jp") for i in range(2))
    jp = _admission("jp", spec, box_keys, full_trust)
    assert jp.admit(first, "tw.kr.jp.heartbeat", T0 + 2).accepted
    assert jp.admit(second, "tw.kr.jp.heartbeat", T0 + 2).accepted
    assert jp.admit(first, "tw.kr.jp.heartbeat", T0 + 2).reason == "duplicate"
    jp._seen.clear()  # even without the ids, the sequence inside the box refuses it
    assert jp.admit(first, "tw.kr.jp.heartbeat", T0 + 2).reason == "replayed"


def test_a_sealing_sender_needs_every_recipients_key(spec, keys, box_keys):
    partial = signing.TrustStore(box_keys={"us": box_keys["us"].public_key})
    with pytest.raises(ValueError, match=r"no encryption key .*jp"):
        Sender("kr", keys["kr"], spec, sealer=Sealer("kr", box_keys["kr"], partial))


def test_encryption_key_files_sit_beside_the_signing_keys(tmp_path):
    key_path, pub_path = signing.write_key_pair("kr", tmp_path)
    xkey, xpub = tmp_path / "kr.xkey", tmp_path / "kr.xpub"
    assert stat.S_IMODE(os.stat(xkey).st_mode) == 0o600 and xpub.exists()
    box = signing.load_box_key(xkey)
    store = signing.TrustStore.load_dir(tmp_path)
    assert sorted(store.keys) == ["kr"] and bytes(store.box("kr")) == bytes(box.public_key)
    with pytest.raises(InputError, match="already exists"):
        signing.write_box_key_pair("kr", tmp_path)
    with pytest.raises(InputError, match="not an X25519 key"):
        signing.load_box_key(key_path)
    (tmp_path / "jp.xpub").write_text("c2hvcnQ=\n")
    with pytest.raises(InputError, match="32 bytes"):
        signing.TrustStore.load_dir(tmp_path)
    assert pub_path.read_text().strip() != xpub.read_text().strip()


def test_a_node_turns_encryption_on_with_its_xkey(tmp_path, spec):
    for nation in spec.nations:
        signing.write_key_pair(nation, tmp_path)
    trust = signing.TrustStore.load_dir(tmp_path)
    key = sealing.node_box_key(tmp_path, "kr", trust, spec)
    assert bytes(key.public_key) == bytes(trust.box("kr"))
    (tmp_path / "jp.xpub").unlink()
    with pytest.raises(InputError, match=r"no encryption key for jp\.xpub"):
        sealing.node_box_key(tmp_path, "kr", signing.TrustStore.load_dir(tmp_path), spec)
    (tmp_path / "kr.xkey").unlink()
    assert sealing.node_box_key(tmp_path, "kr", trust, spec) is None  # no key: encryption off


@pytest.mark.slow
async def test_the_hub_relays_only_ciphertext_and_the_partner_reads_it(net, spec, keys, box_keys, full_trust,
                                                                      make_track):
    kr = transport(net, spec, keys, full_trust, "kr", box_key=box_keys["kr"])
    jp = transport(net, spec, keys, full_trust, "jp", box_key=box_keys["jp"])
    await kr.connect()
    await jp.connect()
    got = []
    await jp.start_receiving(got.append)
    try:
        sent = [await kr.publish(TrackReport, tracks=[make_track(i, time.time())]) for i in range(3)]
        assert await wait_for(lambda: len(got) == 3)
        assert [m.tracks for m in got] == [o.msg.tracks for o in sent]
        # What the hub stores for Japan (read as the hub's operator of Korea's link account).
        hub = await nats.connect(**net.credentials("kr", "linkadmin"))
        try:
            js = hub.jetstream()
            stored = [(await js.get_msg("KR2JP", seq=s)).data for s in range(1, 4)]
        finally:
            await hub.close()
        for data in stored:
            frame = decode_wire(data)
            assert isinstance(frame, SealedFrame) and frame.to == "jp"
            assert b"pos_ecef_m" not in data and b"kr-" not in data
        # A restarted KR finds its sequence inside its own sealed frames.
        await kr.close()
        kr = transport(net, spec, keys, full_trust, "kr", box_key=box_keys["kr"])
        await kr.connect()
        assert (kr.sender.epoch, kr.sender.next_seq) == (sent[0].msg.epoch, 4)
        assert not kr.outbox_skipped
        # A restarted JP re-learns KR's sequence from the sealed frames in its inbox.
        await jp.close()
        jp = transport(net, spec, keys, full_trust, "jp", box_key=box_keys["jp"])
        await jp.connect()
        await jp.start_receiving(got.append)
        assert jp.restored == 3 and jp.admission.last_seq["kr"] == 3
        assert jp.admit(stored[0], "tw.kr.jp.track").reason == "duplicate"
    finally:
        await kr.close()
        await jp.close()
