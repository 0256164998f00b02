"""Live and exercise never meet: every message carries its mode and exercise inside the signature, and
admission refuses the other mode and another exercise (reason `wrong_mode`). Pure, no network."""

from __future__ import annotations

import json

import msgspec
import pytest

from triwarn.share import signing
from triwarn.share.admission import REJECT_REASONS, Admission
from triwarn.share.schema import (
    SCHEMA_VERSION,
    Heartbeat,
    ImpactReport,
    LaunchReport,
    LinkReport,
    TrackReport,
    WarningState,
    decode,
    encode,
)
from triwarn.share.sender import Sender
from triwarn.share.transport import ShareTransport

T0 = 1_700_000_000.0

LIVE, EX_A, EX_B = None, "KR-DRILL-A", "KR-DRILL-B"


def _every_class(sender: Sender, make_track, t: float):
    """One sealed message of each class KR releases to Japan, with the subject it would come on."""
    fields = {
        TrackReport: {"tracks": [make_track(0, t)]},
        LaunchReport: {"event_id": "e1", "launch_t_unix_s": t - 60, "launch_t_sigma_s": 2.0, "lat_deg": 39.0,
                       "lon_deg": 125.0, "alt_m": 0.0, "horiz_sigma_m": 900.0},
        ImpactReport: {"track_id": "kr-0", "lat_deg": 40.0, "lon_deg": 140.0, "semi_major_m": 9e3,
                       "semi_minor_m": 4e3, "bearing_deg": 80.0, "impact_t_unix_s": t + 300,
                       "impact_t_sigma_s": 5.0, "confidence": 0.9},
        WarningState: {"cap_identifier": "kr-1", "status": "issued", "areas": ["kr-01"]},
        Heartbeat: {"node_state": "ok"},
        LinkReport: {"partner": "us", "state": "up"},
    }
    outs = []
    for cls, f in fields.items():
        out = sender.seal(cls, t, to=("jp",), **f)
        if out.subjects:
            outs.append((out, out.subjects[0]))
    return outs


@pytest.mark.parametrize(("theirs", "ours"), [(EX_A, LIVE), (LIVE, EX_A), (EX_B, EX_A)],
                         ids=["live_refuses_exercise", "exercise_refuses_live", "exercise_refuses_other_exercise"])
def test_admission_refuses_the_other_mode_and_another_exercise(theirs, ours, spec, keys, trust, make_track):
    kr = Sender("kr", keys["kr"], spec, exercise=theirs)
    adm = Admission("jp", spec, trust, exercise=ours)
    outs = _every_class(kr, make_track, T0)
    assert {type(o.msg) for o, _ in outs} >= {TrackReport, ImpactReport, Heartbeat}
    for out, subject in outs:
        verdict = adm.admit(out.data, subject, T0 + 0.5)
        assert not verdict.accepted and verdict.msg is None
        assert verdict.reason == "wrong_mode"
        mine = "live" if ours is None else f"exercise {ours!r}"
        his = "live" if theirs is None else f"exercise {theirs!r}"
        assert f"is {his}, this node is {mine}" in verdict.detail
    assert "wrong_mode" in REJECT_REASONS
    assert adm.counters["wrong_mode"] == len(outs)
    assert adm.counters["accepted"] == 0
    assert adm.last_seq == {}  # a refused message changes nothing but its counter


@pytest.mark.parametrize("mode", [LIVE, EX_A], ids=["live", "exercise"])
def test_admission_accepts_the_same_mode_and_exercise(mode, spec, keys, trust, make_track):
    kr = Sender("kr", keys["kr"], spec, exercise=mode)
    adm = Admission("jp", spec, trust, exercise=mode)
    outs = _every_class(kr, make_track, T0)
    for out, subject in outs:
        verdict = adm.admit(out.data, subject, T0 + 0.5)
        assert verdict.accepted, verdict.detail
        assert (verdict.msg.mode, verdict.msg.exercise) == ("live" if mode is None else "exercise", mode)
    assert adm.counters["accepted"] == len(outs) and adm.counters["wrong_mode"] == 0


def test_sender_stamps_every_message_inside_the_signature(spec, keys, make_track):
    kr = Sender("kr", keys["kr"], spec, exercise=EX_A)
    for out, _ in _every_class(kr, make_track, T0):
        doc = json.loads(out.data)
        assert (doc["mode"], doc["exercise"], doc["schema"]) == ("exercise", EX_A, SCHEMA_VERSION)
        assert signing.verify_wire(out.data, out.msg, keys["kr"].verify_key)
    live = Sender("kr", keys["kr"], spec).seal(Heartbeat, T0, node_state="ok")
    assert (json.loads(live.data)["mode"], json.loads(live.data)["exercise"]) == ("live", None)
    with pytest.raises(TypeError):  # the mark is the sender's, never the caller's
        kr.seal(Heartbeat, T0, node_state="ok", mode="live", exercise=None)
    with pytest.raises(ValueError, match="non-empty"):
        Sender("kr", keys["kr"], spec, exercise="")


def test_relabelling_exercise_data_as_live_breaks_the_signature(spec, keys, trust, make_track):
    """A relay cannot pass exercise tracks off as live: the mode is signed."""
    kr = Sender("kr", keys["kr"], spec, exercise=EX_A)
    out = kr.seal(TrackReport, T0, to=("jp",), tracks=[make_track()])
    doc = json.loads(out.data)
    doc["mode"], doc["exercise"] = "live", None
    verdict = Admission("jp", spec, trust).admit(json.dumps(doc).encode(), "tw.kr.jp.track", T0)
    assert verdict.reason == "bad_signature"


@pytest.mark.parametrize("change", [{"mode": "live", "exercise": EX_A}, {"mode": "exercise", "exercise": None},
                                    {"mode": "exercise", "exercise": ""}, {"mode": "drill"},
                                    {"schema": 1}, "drop_mode"])
def test_schema_refuses_an_inconsistent_or_missing_mark(change, spec, keys, trust):
    kr = Sender("kr", keys["kr"], spec, exercise=EX_A)
    doc = json.loads(kr.seal(Heartbeat, T0, to=("jp",), node_state="exercise").data)
    if change == "drop_mode":  # a version-1 message: no mode at all
        del doc["mode"], doc["exercise"]
    else:
        doc.update(change)
    data = json.dumps(doc).encode()
    with pytest.raises(msgspec.ValidationError):
        decode(data)
    adm = Admission("jp", spec, trust, exercise=EX_A)
    want = "unsupported_schema" if change == {"schema": 1} else "malformed"  # an older version is named
    assert adm.admit(data, "tw.kr.jp.heartbeat", T0).reason == want


def test_transport_takes_the_nodes_mode_for_sender_and_admission(spec, keys, trust):
    tr = ShareTransport("kr", spec, keys["kr"], trust, servers=["nats://127.0.0.1:1"], exercise=EX_A)
    assert (tr.sender.exercise, tr.admission.exercise, tr.sender.mode, tr.admission.mode) == (
        EX_A, EX_A, "exercise", "exercise")
    tr.set_exercise(None)
    assert (tr.exercise, tr.sender.mode, tr.admission.mode) == (None, "live", "live")
    assert encode(tr.seal(Heartbeat, to=("jp",), node_state="ok").msg)  # sealed live from now on
    assert tr.seal(Heartbeat, to=("jp",), node_state="ok").msg.mode == "live"
    assert "recv_wrong_mode" in tr.counters
    with pytest.raises(ValueError):
        tr.set_exercise("")
