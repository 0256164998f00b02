"""The node runner's rules without a network: heartbeat and link reports on the node's clock, partner
messages into the picture at the next step, the partners' launch and impact reports kept (latest,
bounded) and shown in the picture under their nation, and the output sink that never overwrites a CAP
file."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from triwarn.api.picture import PictureHub
from triwarn.api.picture_feed import PictureFeed
from triwarn.node import core
from triwarn.node.core import NationalNode, NodeSettings, StepResult
from triwarn.node.lockstep import LinkModel
from triwarn.node.outputs import OutputSink
from triwarn.node.runner import NodeRunner
from triwarn.records.tracks import SystemTracks
from triwarn.records.warnings import AreaWarning, WarningMessage
from triwarn.share import signing
from triwarn.share.policy import load_network
from triwarn.share.schema import Heartbeat, ImpactReport, LaunchReport, message_class
from triwarn.share.sender import Sender

T0 = 1_700_000_000.0


def _runner(exercise: str | None = "DRILL", areas=None) -> tuple[NodeRunner, list[float], dict[str, Sender]]:
    spec = load_network()
    senders = {n: Sender(n, signing.new_key(), spec) for n in spec.nations}
    now = [T0]
    node = NationalNode(NodeSettings("jp", exercise=exercise, run_id="trun"), {}, sender=senders["jp"], areas=areas)
    transport = SimpleNamespace(spec=spec, admission=SimpleNamespace(counters={}), last_reject={})
    return NodeRunner(node, transport, lambda: now[0]), now, senders


def _kinds(outs) -> list[str]:
    return [message_class(o.msg) for o in outs]


def _impact(sender: Sender, t: float, track: str = "KR-T1", lat: float = 40.0):
    return sender.seal(ImpactReport, t, track_id=track, lat_deg=lat, lon_deg=139.0, semi_major_m=9000.0,
                       semi_minor_m=4000.0, bearing_deg=80.0, impact_t_unix_s=t + 300.0, impact_t_sigma_s=4.0,
                       confidence=0.95).msg


def test_heartbeat_every_heartbeat_s_and_link_reports_when_due_or_changed():
    runner, now, senders = _runner()
    _res, outs = runner.step(T0)
    assert _kinds(outs) == ["heartbeat", "link", "link"]  # first step: both due
    assert outs[0].msg.node_state == "exercise"
    assert {o.msg.state for o in outs[1:]} == {"down"}
    now[0] = T0 + 1.0
    assert runner.step(T0 + 1.0)[1] == []  # nothing due, nothing changed
    now[0] = T0 + 1.5
    runner.receive(senders["kr"].seal(Heartbeat, T0 + 1.5, node_state="ok").msg)
    now[0] = T0 + 2.0
    _res, outs = runner.step(T0 + 2.0)
    assert _kinds(outs) == ["heartbeat", "link", "link"]  # heartbeat due; kr's link changed to up
    assert {o.msg.partner: o.msg.state for o in outs[1:]} == {"kr": "up", "us": "down"}
    assert runner.partners["kr"].received == {"heartbeat": 1}
    assert runner.link_state("kr", T0 + 9.0)[0] == "down"  # silent for more than the link timeout


def test_a_live_nodes_heartbeat_says_degraded_until_every_link_is_up():
    runner, now, senders = _runner(exercise=None)
    assert runner.step(T0)[1][0].msg.node_state == "degraded"
    for p in ("kr", "us"):
        runner.receive(senders[p].seal(Heartbeat, T0 + 1.0, node_state="ok").msg, T0 + 1.0)
    now[0] = T0 + 2.0
    assert runner.step(T0 + 2.0)[1][0].msg.node_state == "ok"


def test_no_transport_no_messages():
    node = NationalNode(NodeSettings("jp", exercise="DRILL", run_id="t", share=False), {})
    runner = NodeRunner(node, None, lambda: T0)
    assert runner.step(T0)[1] == [] and runner.partners == {} and runner.steps == 1


def test_partner_reports_enter_at_the_next_step_and_the_latest_is_kept():
    runner, _now, senders = _runner()
    kr = senders["kr"]
    older, newer = _impact(kr, T0, lat=40.0), _impact(kr, T0 + 5.0, lat=41.0)
    runner.receive(newer, T0 + 5.0)
    assert runner.node.partner_impacts() == []  # not during a step: at the next one
    runner.receive(older, T0 + 5.5)  # arrives late, older: the newer stays
    launch = kr.seal(LaunchReport, T0 + 5.0, event_id="kr-L1", launch_t_unix_s=T0 - 60.0, launch_t_sigma_s=1.0,
                     lat_deg=39.0, lon_deg=125.0, alt_m=0.0, horiz_sigma_m=500.0, track_ids=["KR-T1"]).msg
    runner.receive(launch, T0 + 5.5)
    res, _outs = runner.step(T0 + 6.0)
    assert [r.lat_deg for r in res.partner_impacts] == [41.0]
    assert [r.event_id for r in res.partner_launches] == ["kr-L1"]


def test_partner_reports_are_bounded(monkeypatch):
    monkeypatch.setattr(core, "PARTNER_EVENTS_KEPT", 3)
    runner, _now, senders = _runner()
    for k in range(5):
        runner.receive(_impact(senders["kr"], T0 + k, track=f"KR-T{k}"), T0 + k)
    res, _ = runner.step(T0 + 6.0)
    assert [r.track_id for r in res.partner_impacts] == ["KR-T2", "KR-T3", "KR-T4"]


def _warning(identifier: str) -> WarningMessage:
    return WarningMessage(sender="jp", identifier=identifier, incident="I1", sent_unix_s=T0, msg_type="Alert",
                          references=(), areas=(AreaWarning("JP-01", "shelter", "overflight", 0.9, T0 + 200.0),),
                          expires_unix_s=T0 + 3600.0, exercise="DRILL")


def _result(**kw) -> StepResult:
    base = dict(t_unix_s=T0, outgoing=[], system_tracks=SystemTracks.empty(), own_tracks=None, events=[],
                warnings=[], cap_xml=[], cot_xml=[])
    return StepResult(**{**base, **kw})


def test_the_sink_never_overwrites_an_issued_cap_file(tmp_path):
    msg = _warning("JP-1")
    with OutputSink(tmp_path) as sink:
        sink.on_step("jp", _result(cap_xml=[(msg, b"<alert>first</alert>")]))
        with pytest.raises(FileExistsError, match="never overwritten") as err:
            sink.on_step("jp", _result(cap_xml=[(msg, b"<alert>second</alert>")]))
    (path,) = (tmp_path / "cap").glob("*.xml")
    assert str(path) in str(err.value)
    assert path.read_bytes() == b"<alert>first</alert>"
    assert sink.cap_count == 1 and list(sink.cap_docs) == [b"<alert>first</alert>"]


def test_the_picture_shows_partner_impacts_under_their_nation():
    spec = load_network()
    kr = Sender("kr", signing.new_key(), spec)
    fresh, stale = _impact(kr, T0 - 2.0, track="KR-T1"), _impact(kr, T0 - 100.0, track="KR-T9")
    feed = PictureFeed(PictureHub(("jp",)), "DRILL", LinkModel())
    pic = feed.picture("jp", _result(partner_impacts=[stale, fresh]))
    assert [(i.track, i.lat_deg, i.powered) for i in pic.impacts] == [("kr:KR-T1", 40.0, False)]


def test_a_partners_launch_report_gives_the_launch_point_of_the_track_holding_its_track():
    spec = load_network()
    kr = Sender("kr", signing.new_key(), spec)
    launch = kr.seal(LaunchReport, T0 - 1.0, event_id="kr-L1", launch_t_unix_s=T0 - 90.0, launch_t_sigma_s=1.0,
                     lat_deg=39.0, lon_deg=125.5, alt_m=0.0, horiz_sigma_m=500.0, track_ids=["KR-T1"]).msg
    pos = np.array([[-3.0e6, 4.0e6, 3.9e6], [-3.1e6, 4.0e6, 3.8e6]])
    system = SystemTracks(track_id=["JP-S1", "JP-S2"], t_unix_s=[T0, T0], pos_ecef_m=pos,
                          vel_ecef_mps=np.zeros((2, 3)), cov_ecef_m2=np.stack([np.eye(6)] * 2),
                          nations=[("jp", "kr"), ("jp",)], sources=[("jp:JP-T1", "kr:KR-T1"), ("jp:JP-T2",)])
    feed = PictureFeed(PictureHub(("jp",)), "DRILL", LinkModel())
    pic = feed.picture("jp", _result(system_tracks=system, partner_launches=[launch]))
    launches = {trk.id: trk.launch for trk in pic.tracks}
    assert launches["JP-S2"] is None
    assert (launches["JP-S1"].lat_deg, launches["JP-S1"].time_unix_s) == (39.0, T0 - 90.0)


def _alerted(runner: NodeRunner, t: float) -> str:
    """The runner's warning machine issues an Alert for JP-02 (launch and area risk records, as the
    assessor gives them); returns the incident."""
    from triwarn.warn.reader import read_events

    ex = runner.settings.exercise
    events = [{"type": "launch", "t": t - 10, "lat_deg": 40.6, "lon_deg": 126.4, "time_unix_s": t - 30,
               "uncertainty_m": 2000.0},
              {"type": "area_risk", "t": t, "track": "W1", "area": "JP-02", "kind": "impact", "probability": 0.9,
               "enter_time_unix_s": t + 300}]
    warner = runner.node.warner
    (alert,) = warner.step(read_events([{**e, "exercise": ex} if ex else e for e in events], warner.issuer), t)
    return alert.incident


def test_an_operator_cancel_waits_for_the_next_step_and_goes_out_with_it(tmp_path):
    from triwarn.errors import InputError
    from triwarn.node.operator_actions import OperatorCancel
    from triwarn.warn.cap import validate_cap

    runner, now, _senders = _runner()
    runner.sink = OutputSink(tmp_path)
    incident = _alerted(runner, T0)
    assert runner.cancellable() == [incident]
    with pytest.raises(InputError, match="unknown reason"):
        runner.request_cancel(OperatorCancel(incident, "changed my mind", "aiko"))
    with pytest.raises(InputError, match="no open incident"):
        runner.request_cancel(OperatorCancel("nope", "operator_error", "aiko"))
    with pytest.raises(InputError, match="at most 500"):
        runner.request_cancel(OperatorCancel(incident, "operator_error", "aiko", note="x" * 501))
    outcome = runner.request_cancel(OperatorCancel(incident, "operator_error", "aiko", note="wrong\x00 drill\n tape"))
    assert outcome.state == "queued" and outcome.action.note == "wrong drill tape"
    assert not runner.node.issued  # nothing between steps
    now[0] = T0 + 1.0
    result, outs = runner.step(T0 + 1.0)
    (cancel,) = result.warnings
    assert cancel.msg_type == "Cancel" and cancel.cancel_reason == "operator_error" and cancel.sent_unix_s == T0 + 1.0
    assert [m.msg_type for m, _ in result.cap_xml] == ["Cancel"] and validate_cap(result.cap_xml[0][1]) == []
    assert runner.last_result is result and runner.cap_issued == 1
    assert [f.name for f in (tmp_path / "cap").glob("*.xml")] == [f"{cancel.identifier}.xml"]
    sealed = [o.msg for o in outs if message_class(o.msg) == "warning"]
    assert [(w.status, w.cap_identifier, w.areas) for w in sealed] == [("cancelled", cancel.identifier, ["JP-02"])]
    assert outcome.state == "issued" and outcome.cap_identifier == cancel.identifier
    assert runner.cancellable() == []
    now[0] = T0 + 2.0
    assert runner.step(T0 + 2.0)[0].warnings == []  # once


def test_a_cancel_the_machine_overtook_fails_with_a_reason():
    from triwarn.node.operator_actions import OperatorCancel

    runner, _now, _senders = _runner()
    incident = _alerted(runner, T0)
    outcome = runner.request_cancel(OperatorCancel(incident, "false_detection", "aiko"))
    runner.node.warner.cancel(incident, "separated_piece", T0 + 0.5, exercise="DRILL")  # closed before the step
    result, _ = runner.step(T0 + 1.0)
    assert result.warnings == [] and outcome.state == "failed" and outcome.error


def test_an_operator_correction_goes_out_at_the_next_step_one_message_per_state_and_reports_its_outcome(tmp_path):
    from triwarn.errors import InputError
    from triwarn.geo.areas import AreaIndex
    from triwarn.node.operator_actions import OperatorCorrect
    from triwarn.warn.cap import validate_cap

    runner, now, _senders = _runner(areas=AreaIndex.load())
    runner.sink = OutputSink(tmp_path)
    incident = _alerted(runner, T0)
    assert runner.correctable()[0] == {"incident": incident, "areas": {"JP-02": "shelter"}, "suppressed": [],
                                       "lifted": []}
    with pytest.raises(InputError, match="not warned"):
        runner.request_correct(OperatorCorrect(incident, "operator_error", "aiko", remove=("JP-03",)))
    done = []
    outcome = runner.request_correct(OperatorCorrect(incident, "false_detection", "aiko", remove=("JP-02",),
                                                     add=("JP-03",), note="wrong prefecture"), done.append)
    with pytest.raises(InputError, match=r"correct of .* already queued"):
        runner.request_correct(OperatorCorrect(incident, "operator_error", "ben", add=("JP-05",)))
    assert done == [] and not runner.node.issued  # nothing between steps
    now[0] = T0 + 1.0
    result, outs = runner.step(T0 + 1.0)
    assert [(m.msg_type, {a.code: a.state for a in m.areas}) for m in result.warnings] == [
        ("Update", {"JP-02": "error"}), ("Update", {"JP-03": "shelter"})]
    assert all(validate_cap(x) == [] for _m, x in result.cap_xml) and len(result.cap_xml) == 2
    # The area shapes change in CoT clients too: JP-02 grey (error), JP-03 red (shelter).
    assert any(b".area.trun-1.JP-02" in x for x in result.cot_xml) and any(b".area.trun-1.JP-03" in x
                                                                            for x in result.cot_xml)
    assert len(list((tmp_path / "cap").glob("*.xml"))) == 2
    sealed = [o.msg for o in outs if message_class(o.msg) == "warning"]
    assert [(w.status, w.areas) for w in sealed] == [("cancelled", ["JP-02"]), ("updated", ["JP-03"])]
    assert done == [outcome] and outcome.state == "issued"
    assert outcome.cap_identifiers == tuple(m.identifier for m in result.warnings)
    assert runner.correctable()[0]["suppressed"] == ["JP-02"]


def test_a_failed_action_reports_its_outcome_too():
    from triwarn.node.operator_actions import OperatorCorrect

    runner, _now, _senders = _runner()
    incident = _alerted(runner, T0)
    done = []
    runner.request_correct(OperatorCorrect(incident, "operator_error", "aiko", add=("JP-03",)), done.append)
    runner.node.warner.cancel(incident, "separated_piece", T0 + 0.5, exercise="DRILL")  # closed before the step
    assert runner.step(T0 + 1.0)[0].warnings == []
    assert [(o.state, "no open incident" in o.error) for o in done] == [("failed", True)]


def test_partner_budgets_and_epoch_changes_are_in_the_metrics_and_the_health():
    """A real (unconnected) node transport admits KR's messages: a restarted KR sender (new epoch) and more
    impact reports in one step than KR's budget lets in."""
    from triwarn.node.service import LiveNode, NodeTransport

    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()})
    now = [T0]
    tr = NodeTransport("jp", spec, keys["jp"], trust, servers=["nats://127.0.0.1:1"])
    live = LiveNode(NodeSettings("jp", exercise="DRILL", run_id="tmet", partner_msgs_per_step=1), {}, tr, None,
                    clock=lambda: now[0])

    def deliver(sender: Sender, t: float, track: str) -> None:
        out = sender.seal(ImpactReport, t, to=("jp",), track_id=track, lat_deg=40.0, lon_deg=139.0,
                          semi_major_m=9000.0, semi_minor_m=4000.0, bearing_deg=80.0, impact_t_unix_s=t + 300.0,
                          impact_t_sigma_s=4.0, confidence=0.95)
        verdict = tr.admit(out.data, out.subjects[0])
        assert verdict.accepted, verdict
        live.runner.receive(verdict.msg, t)

    first = Sender("kr", keys["kr"], spec, exercise="DRILL")
    deliver(first, T0, "KR-T1")
    now[0] = T0 + 1.0
    live.runner.step(T0 + 1.0)
    restarted = Sender("kr", keys["kr"], spec, exercise="DRILL")  # lost its disk: seq 1 in a new epoch
    for k in range(3):
        deliver(restarted, T0 + 2.0, f"KR-T{k + 2}")
    now[0] = T0 + 3.0
    live.runner.step(T0 + 3.0)
    health = live.health()
    assert health["recv_epoch_changes"] == 1
    assert health["partner_budgets"]["kr"] == {"applied": 3, "deferred": 2, "dropped_stale": 0,
                                               "dropped_overflow": 0, "waiting": 1}
    text = live.metrics.render().decode()
    assert 'triwarn_node_recv_epoch_changes_total{nation="jp"} 1.0' in text
    assert 'triwarn_node_partner_messages_total{nation="jp",outcome="deferred",partner="kr"} 2.0' in text
    assert 'triwarn_node_partner_messages_total{nation="jp",outcome="applied",partner="kr"} 3.0' in text
    assert 'triwarn_node_partner_waiting{nation="jp",partner="kr"} 1.0' in text
