"""The pure core: schema, canonical encoding and signatures, release policy, admission (no network)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import msgspec
import pytest

from triwarn.errors import InputError
from triwarn.share import signing
from triwarn.share.admission import REJECT_REASONS, Admission
from triwarn.share.policy import load_network, parse_network
from triwarn.share.schema import (
    Heartbeat,
    ImpactReport,
    TrackReport,
    decode,
    encode,
    json_schema_files,
)
from triwarn.share.sender import Sender

T0 = 1_700_000_000.0
DOCS_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schema"


@pytest.fixture
def kr_sender(spec, keys):
    return Sender("kr", keys["kr"], spec)


@pytest.fixture
def jp_admission(spec, trust):
    return Admission("jp", spec, trust)


def test_round_trip_keeps_every_field(kr_sender, make_track):
    out = kr_sender.seal(TrackReport, T0, tracks=[make_track(0), make_track(1)])
    back = decode(out.data)
    assert back == out.msg
    assert back.tracks[1].pos_ecef_m == [-3.1e6 + 1, 4.1e6, 3.9e6]
    assert out.subjects == ("tw.kr.us.track", "tw.kr.jp.track")


def test_wire_json_never_names_sensors(kr_sender, make_track):
    doc = json.loads(kr_sender.seal(TrackReport, T0, tracks=[make_track()]).data)
    keys = set(doc) | set(doc["tracks"][0])
    assert not any("sensor" in k or "site" in k for k in keys)


def test_canonical_bytes_ignore_key_order_and_spacing(kr_sender, make_track):
    out = kr_sender.seal(TrackReport, T0, tracks=[make_track()])
    doc = json.loads(out.data)
    shuffled = json.dumps(dict(reversed(list(doc.items()))), indent=3).encode()
    again = decode(shuffled)
    assert signing.canonical_bytes(again) == signing.canonical_bytes(out.msg)
    assert signing.verify(again, kr_sender.key.verify_key)


def test_wire_bytes_are_the_canonical_encoding_with_the_signature_in(kr_sender, make_track):
    out = kr_sender.seal(TrackReport, T0, tracks=[make_track()])
    blanked = out.data.replace(f'"sig":"{out.msg.sig}"'.encode(), b'"sig":""')
    assert signing.DOMAIN_PREFIX + blanked == signing.canonical_bytes(out.msg)
    assert signing.verify_wire(out.data, out.msg, kr_sender.key.verify_key)


def test_sequence_is_per_sender_and_increasing(kr_sender):
    seqs = [kr_sender.seal(Heartbeat, T0 + i, node_state="ok").msg.seq for i in range(3)]
    assert seqs == [1, 2, 3]


def test_accepts_a_good_message_and_counts_it(kr_sender, jp_admission, make_track):
    out = kr_sender.seal(TrackReport, T0, tracks=[make_track()])
    verdict = jp_admission.admit(out.data, "tw.kr.jp.track", T0 + 0.5)
    assert verdict.accepted and verdict.msg == out.msg
    assert jp_admission.counters["accepted"] == 1


def _resign(msg, key):
    return encode(signing.sign(msg, key))


@pytest.mark.parametrize("case", ["forged", "altered", "unsigned", "malformed_json", "wrong_type",
                                  "unknown_field", "unknown_sender", "wrong_subject", "out_of_policy",
                                  "from_future", "stale", "replayed", "duplicate"])
def test_each_bad_message_is_rejected_with_its_reason_and_loses_nothing(case, spec, keys, trust, make_track):
    kr = Sender("kr", keys["kr"], spec)
    us = Sender("us", keys["us"], spec)
    adm = Admission("jp", spec, trust)
    first = kr.seal(TrackReport, T0, tracks=[make_track(0)])
    assert adm.admit(first.data, "tw.kr.jp.track", T0).accepted
    good = kr.seal(TrackReport, T0 + 1, tracks=[make_track(1)])
    doc = json.loads(good.data)
    subject, now, data = "tw.kr.jp.track", T0 + 1, good.data
    expected = {"forged": "bad_signature", "altered": "bad_signature"}
    if case == "forged":  # signed by the US key but claims to be from Korea
        data = _resign(good.msg, keys["us"])
    elif case == "altered":  # one coordinate changed after signing
        doc["tracks"][0]["pos_ecef_m"][0] += 1.0
        data = json.dumps(doc).encode()
    elif case == "unsigned":
        doc["sig"] = ""
        data = json.dumps(doc).encode()
    elif case == "malformed_json":
        data = data[:-7]
    elif case == "wrong_type":
        doc["tracks"][0]["quality"] = "high"
        data = json.dumps(doc).encode()
    elif case == "unknown_field":
        doc["tracks"][0]["sensor_site"] = "somewhere"
        data = json.dumps(doc).encode()
    elif case == "unknown_sender":  # a receiver that has no key for Korea in its trust store
        adm = Admission("jp", spec, signing.TrustStore({n: trust.get(n) for n in ("us", "jp")}))
    elif case == "wrong_subject":
        subject = "tw.kr.us.track"
    elif case == "out_of_policy":  # US track reports are released to Japan only; KR must refuse one
        adm = Admission("kr", spec, trust)
        data = us.seal(TrackReport, T0, to=("jp",), tracks=[make_track()]).data
        subject = "tw.us.kr.track"
    elif case == "from_future":
        now = T0 + 1 - 10.0  # receiver's clock 10 s behind the sender's, tolerance 5 s
    elif case == "stale":
        now = T0 + 1 + 3600.0
    elif case == "replayed":  # an older, never-seen message re-signed with a stale sequence number
        data = _resign(msgspec.structs.replace(good.msg, seq=1, msg_id="ab" * 16), keys["kr"])
    elif case == "duplicate":
        data = first.data
    expected |= {"malformed_json": "malformed", "wrong_type": "malformed", "unknown_field": "malformed",
                 "wrong_subject": "subject_mismatch"}
    reason = expected.get(case, case)
    assert reason in REJECT_REASONS
    before = dict(adm.last_seq)
    verdict = adm.admit(data, subject, now)
    assert verdict.reason == reason, verdict.detail
    assert adm.counters[reason] == 1
    assert adm.last_seq == before  # nothing changed by the bad message ...
    if case not in ("out_of_policy", "unknown_sender"):  # ... and the good one still goes through afterwards
        assert adm.admit(good.data, "tw.kr.jp.track", T0 + 1).accepted


def test_clocks_two_seconds_apart_accept_each_other(spec, keys, trust):
    kr_clock, jp_clock = T0 + 2.0, T0  # KR's clock runs 2 s ahead of JP's
    kr, jp = Sender("kr", keys["kr"], spec), Sender("jp", keys["jp"], spec)
    adm_kr, adm_jp = Admission("kr", spec, trust), Admission("jp", spec, trust)
    assert adm_jp.admit(kr.seal(Heartbeat, kr_clock, node_state="ok").data, "tw.kr.jp.heartbeat",
                        jp_clock).accepted
    assert adm_kr.admit(jp.seal(Heartbeat, jp_clock, node_state="ok").data, "tw.jp.kr.heartbeat",
                        kr_clock).accepted
    late = adm_jp.admit(kr.seal(Heartbeat, T0 + 8.0, node_state="ok").data, "tw.kr.jp.heartbeat", jp_clock)
    assert late.reason == "from_future" and "8.000 s ahead" in late.detail


def test_sender_refuses_and_counts_a_class_not_released(spec, keys):
    us = Sender("us", keys["us"], spec)
    out = us.seal(TrackReport, T0, to=("jp", "kr"), tracks=[])
    assert out.recipients == ("jp",)
    assert us.release.refused == {"track": 1}
    only_kr = us.seal(TrackReport, T0, to=("kr",), tracks=[])
    assert only_kr.subjects == () and only_kr.data == b""
    assert us.next_seq == 2  # the refused message used no sequence number


def test_impact_prediction_validates_ranges(kr_sender):
    out = kr_sender.seal(ImpactReport, T0, track_id="kr-1", lat_deg=40.9, lon_deg=138.0,
                         semi_major_m=30e3, semi_minor_m=8e3, bearing_deg=75.0, impact_t_unix_s=T0 + 600,
                         impact_t_sigma_s=5.0, confidence=0.95, areas_overflown=["jp-01"])
    bad = json.loads(out.data)
    bad["lat_deg"] = 95.0
    with pytest.raises(msgspec.ValidationError, match="lat_deg"):
        decode(json.dumps(bad).encode())


def test_exported_json_schema_is_current():
    for name, text in json_schema_files().items():
        path = DOCS_SCHEMA / name
        assert path.exists() and path.read_text() == text, f"stale {name}: run triwarn network schema"


def test_key_files_are_private_and_round_trip(tmp_path):
    key_path, pub_path = signing.write_key_pair("kr", tmp_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key = signing.load_private_key(key_path)
    assert signing.public_key_text(key) == pub_path.read_text().strip()
    with pytest.raises(InputError, match="already exists"):
        signing.write_key_pair("kr", tmp_path)
    store = signing.TrustStore.load_dir(tmp_path)
    assert bytes(store.get("kr")) == bytes(key.verify_key)


def test_network_yaml_errors_name_the_field(tmp_path):
    assert load_network().hub == "us"
    bad = {"hub": "us", "nations": ["us", "jp", "kr"], "release": {"kr": {"jp": ["track", "sensor_list"]}}}
    with pytest.raises(InputError, match=r"release\.kr\.jp.*sensor_list"):
        parse_network(bad, source="n.yaml")
    with pytest.raises(InputError, match="hub"):
        parse_network({"hub": "cn", "nations": ["us", "jp"]})
    path = tmp_path / "n.yaml"
    path.write_text("hub: us\nnations: [us, jp\n")
    with pytest.raises(InputError, match=r"n\.yaml:\d+"):
        load_network(path)
