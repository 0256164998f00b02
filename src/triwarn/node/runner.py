"""One node runner: a NationalNode with a transport (or none) and a clock, and every rule of running it.

    runner = NodeRunner(node, transport, clock, sink=OutputSink(out))    # transport None: no sharing
    runner.receive(msg)                         # a partner message the transport admitted
    result, outs = runner.step(t, radar, ir)    # outs: sealed messages to hand to the transport

Two clock drivers use it, and only they differ in *when* things happen:
- the live node (triwarn.node.service.LiveNode, `triwarn node`): the node's wall clock, partner
  messages taken in as they arrive, `outs` queued for a publisher task that never blocks stepping;
- the lockstep driver (triwarn.node.lockstep.run_lockstep: `triwarn replay`, exercises, the demo): one
  simulated clock, partner messages handed in at the steps after their publication, sorted by (sender,
  seq), `outs` published as one batch per node and step, then a settle wait.

What the runner decides, once for both:
- partner messages received since the last step go into the picture at the next step, never during
  one; every accepted message (heartbeats and link reports too) counts as the partner being heard;
- stepping (NationalNode.step on the own detections), and its metrics (NodeMetrics: steps, durations,
  lag, detections, tracks, received, link_up, CAP messages);
- the heartbeat rule: one every heartbeat_s of the node's clock (the first at the first step), with
  node_state "exercise" for an exercise node, else "ok" while every partner link is up and the outputs
  are written (OutputSink.ok), "degraded" otherwise;
- link status per partner, from what was last heard and refused: "up" if heard within link_timeout_s
  of the node's clock, "degraded" if its messages were refused within that time (the reason is kept:
  e.g. `from_future` when its clock runs ahead of ours beyond the admission's tolerance, `wrong_mode`
  when it runs an exercise and we are live or the other way round), "down"
  otherwise; a LinkReport per partner every link_report_s or as soon as a state changes;
- the step's messages: what NationalNode.step sealed plus the heartbeat and link reports, handed back
  to the driver for the transport (nothing when there is no transport);
- operator actions (triwarn.node.operator_actions: an operator's Cancel or correction of an issued
  alert), queued by request_cancel / request_correct and taken at the next step, never between steps, so
  lockstep runs stay deterministic: the messages join that step's result (CAP, the partners'
  WarningState, the sink, on_step);
- outputs: the step result goes to the sink (CAP files, CoT, tracks/events lines), then to on_step. A
  full or unwritable output folder never stops the node: the sink counts and queues (outputs_status(),
  the output metrics) and the warnings go on to the transport, the feed and on_step.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from triwarn.node.core import NationalNode, StepResult
from triwarn.node.metrics import NodeMetrics
from triwarn.node.operator_actions import ActionOutcome, OnDone, OperatorCancel, OperatorCorrect, OperatorDesk
from triwarn.node.outputs import OutputSink
from triwarn.records.detections import IrDetections, RadarDetections
from triwarn.share.admission import REJECT_REASONS, Verdict
from triwarn.share.schema import Heartbeat, LinkReport, Message, message_class
from triwarn.share.sender import Outgoing
from triwarn.share.transport import ShareTransport

HEARTBEAT_S = 2.0  # node-clock seconds between heartbeats
LINK_TIMEOUT_S = 6.0  # a partner not heard for this long is down
LINK_REPORT_S = 5.0  # a LinkReport per partner at least this often (and whenever a state changes)
HISTORY = 100_000  # message ids kept of what was ingested

OnStep = Callable[[str, StepResult], None]


@dataclass
class _Reject:
    at_unix_s: float
    reason: str
    detail: str


class NodeTransport(ShareTransport):
    """ShareTransport that also remembers, per claimed sender (the subject's sender token), the reject
    reasons of its messages and the last one (so the node can say why a partner's data is not used)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rejected_from: dict[str, Counter[str]] = {}
        self.last_reject: dict[str, _Reject] = {}

    def admit(self, data: bytes, subject: str | None) -> Verdict:
        verdict = super().admit(data, subject)
        if not verdict.accepted and verdict.reason != "duplicate":
            parts = (subject or "").split(".")
            sender = parts[1] if len(parts) == 4 else "?"
            self.rejected_from.setdefault(sender, Counter())[verdict.reason] += 1
            self.last_reject[sender] = _Reject(self.clock(), verdict.reason, verdict.detail)
        return verdict


@dataclass
class PartnerLink:
    """What the node knows of one partner link (node-clock unix seconds)."""

    partner: str
    last_heard_unix_s: float | None = None
    received: Counter[str] = field(default_factory=Counter)  # accepted messages by class
    their_view: dict[str, str] = field(default_factory=dict)  # partner's LinkReport: peer -> state


class NodeRunner:
    """Runs one NationalNode (see the module docstring). transport: the node's ShareTransport (its
    sender and admission are the node's; None: a node that shares nothing). clock(): the node's UTC
    seconds (link state, receipt times)."""

    def __init__(self, node: NationalNode, transport: ShareTransport | None, clock: Callable[[], float], *,
                 heartbeat_s: float = HEARTBEAT_S, link_timeout_s: float = LINK_TIMEOUT_S,
                 link_report_s: float = LINK_REPORT_S, sink: OutputSink | None = None,
                 on_step: OnStep | None = None) -> None:
        self.node = node
        self.nation = node.nation
        self.settings = node.settings
        self.transport = transport
        self.clock = clock
        self.heartbeat_s = float(heartbeat_s)
        self.link_timeout_s = float(link_timeout_s)
        self.link_report_s = float(link_report_s)
        self.sink = sink
        self.on_step = on_step
        nations = transport.spec.nations if transport is not None else ()
        self.partners = {p: PartnerLink(p) for p in nations if p != self.nation}
        self.metrics = NodeMetrics(self.nation, self._reject_counts, self.outputs_status,
                                   budgets=node.partner_budget_counts, epoch_changes=self.epoch_changes)
        self.last_result: StepResult | None = None
        self.last_step_unix_s: float | None = None
        self.last_step_wall_s: float | None = None
        self.step_lag_s = 0.0
        self.steps = 0
        self.steps_skipped = 0
        self.detections_in = 0
        self.cap_issued = 0
        # (sender, id) of accepted partner messages in arrival order (bounded: a node runs for months).
        self.ingested: deque[tuple[str, str]] = deque(maxlen=HISTORY)
        self._inbox: list[Message] = []
        self._last_hb = -math.inf
        self._last_link_report = -math.inf
        self._reported_state: dict[str, str] = {}
        self.desk = OperatorDesk(node)

    @property
    def sharing(self) -> bool:
        return self.transport is not None and self.node.sender is not None

    # --------------------------------------------------------------------------------------- receiving
    def receive(self, msg: Message, now_unix_s: float | None = None) -> None:
        """A partner message the transport admitted, received at now_unix_s (node clock; default: now).
        The partner is heard; picture messages wait for the next step."""
        link = self.partners.get(msg.sender)
        if link is None:
            return
        link.last_heard_unix_s = self.clock() if now_unix_s is None else now_unix_s
        kind = message_class(msg)
        link.received[kind] += 1
        self.metrics.received.labels(self.nation, msg.sender, kind).inc()
        self.ingested.append((msg.sender, msg.msg_id))
        if isinstance(msg, Heartbeat):
            return
        if isinstance(msg, LinkReport):
            link.their_view[msg.partner] = msg.state
            return
        self._inbox.append(msg)  # into the picture at the next step, never during one

    def _reject_counts(self) -> dict[str, int]:
        if self.transport is None:
            return {}
        counters = self.transport.admission.counters
        return {r: counters.get(r, 0) for r in REJECT_REASONS}

    def epoch_changes(self) -> int:
        """Accepted partner messages that started a sender's new epoch (the transport's admission)."""
        admission = getattr(self.transport, "admission", None)
        return int(getattr(admission, "epoch_changes", 0))

    def outputs_status(self) -> dict:
        """The output folder's state (OutputSink.status; "ok" with nothing counted when there is no sink)."""
        if self.sink is None:
            return {"state": "ok", "failing": [], "errors": {}, "cap_written": 0, "cap_queued": 0,
                    "cap_dropped": 0, "last_error": None}
        return self.sink.status()

    def link_state(self, partner: str, now_unix_s: float | None = None) -> tuple[str, str]:
        """(state, why) of the link to a partner at the node clock's now: up, degraded or down."""
        now = self.clock() if now_unix_s is None else now_unix_s
        link = self.partners[partner]
        rej = getattr(self.transport, "last_reject", {}).get(partner)
        recent_reject = rej is not None and now - rej.at_unix_s <= self.link_timeout_s
        heard = link.last_heard_unix_s is not None and now - link.last_heard_unix_s <= self.link_timeout_s
        if recent_reject:
            return "degraded", f"its messages are refused: {rej.reason} ({rej.detail})"
        if heard:
            return "up", ""
        if link.last_heard_unix_s is None:
            return "down", "never heard"
        return "down", f"silent for {now - link.last_heard_unix_s:.1f} s"

    # -------------------------------------------------------------------------------- operator actions
    @property
    def live(self) -> bool:
        """A live node (CAP status Actual), not an exercise."""
        return self.settings.exercise is None

    def cancellable(self) -> list[str]:
        """Incidents an operator may cancel now (issued something, still open)."""
        return self.desk.cancellable()

    def request_cancel(self, action: OperatorCancel, on_done: OnDone | None = None) -> ActionOutcome:
        """Queue an operator's Cancel for the next step; InputError saying why when it cannot be taken.
        on_done(outcome) is called when it is issued or has failed."""
        return self.desk.request(action, on_done)

    def correctable(self) -> list[dict]:
        """Incidents an operator may correct now, with their areas' states and suppressions."""
        return self.desk.correctable()

    def request_correct(self, action: OperatorCorrect, on_done: OnDone | None = None) -> ActionOutcome:
        """Queue an operator's correction for the next step; InputError saying why when it cannot be taken."""
        return self.desk.request(action, on_done)

    # ---------------------------------------------------------------------------------------- stepping
    def skipped(self, n: int) -> None:
        """The driver skipped n clock steps (it was behind)."""
        if n > 0:
            self.steps_skipped += n
            self.metrics.steps_skipped.inc(n)

    def begin(self, radar: RadarDetections | None, ir: IrDetections | None) -> None:
        """Before a step: what arrived since the last step goes into the picture; count the detections."""
        inbox, self._inbox = self._inbox, []
        for msg in inbox:
            self.node.ingest_message(msg)
        for kind, det in (("radar", radar), ("ir", ir)):
            if det is not None and len(det):
                self.metrics.detections.labels(self.nation, kind).inc(len(det))
                self.detections_in += len(det)

    def finish(self, t: float, result: StepResult, wall_s: float, lag_s: float = 0.0) -> list[Outgoing]:
        """After NationalNode.step at t: the operator's queued actions, the messages to hand to the transport,
        outputs, metrics."""
        result, _ = self.desk.apply(t, result, self.node.sender if self.sharing else None)
        outs = [o for o in result.outgoing if o.subjects] if self.sharing else []
        if self.sink is not None:
            self.sink.on_step(self.nation, result)  # first: the heartbeat says how the outputs fare
        if self.sharing:
            outs.extend(self._housekeeping(t, result))
        self.cap_issued += len(result.cap_xml)
        self.last_result = result
        self.last_step_unix_s = t
        self.last_step_wall_s = wall_s
        self.step_lag_s = lag_s
        self.steps += 1
        m = self.metrics
        m.steps.inc()
        m.step_duration.observe(wall_s)
        m.step_lag.set(lag_s)
        m.tracks_held.set(len(result.system_tracks))
        m.own_tracks.set(len(result.own_tracks) if result.own_tracks is not None else 0)
        if result.cap_xml:
            m.cap_messages.labels(self.nation, "Exercise" if self.settings.exercise else "Actual").inc(
                len(result.cap_xml))
        for p in self.partners:
            m.link_up.labels(self.nation, p).set(1.0 if self.link_state(p)[0] == "up" else 0.0)
        if self.on_step is not None:
            self.on_step(self.nation, result)
        return outs

    def step(self, t_unix_s: float, radar: RadarDetections | None = None, ir: IrDetections | None = None,
             *, lag_s: float = 0.0) -> tuple[StepResult, list[Outgoing]]:
        """One whole step at t_unix_s in this thread: begin, NationalNode.step, finish."""
        t = float(t_unix_s)
        self.begin(radar, ir)
        w0 = time.perf_counter()
        result = self.node.step(t, radar, ir)
        outs = self.finish(t, result, time.perf_counter() - w0, lag_s)
        return self.last_result, outs  # with the operator's actions of this step

    def _housekeeping(self, t: float, result: StepResult) -> list[Outgoing]:
        """A heartbeat when due; a LinkReport per partner when due or when its state changed."""
        sender = self.node.sender
        outs: list[Outgoing] = []
        states = {p: self.link_state(p)[0] for p in self.partners}
        if t - self._last_hb >= self.heartbeat_s - 1e-9:
            self._last_hb = t
            outputs_ok = self.sink is None or self.sink.ok
            state = "exercise" if self.settings.exercise else (
                "ok" if all(s == "up" for s in states.values()) and outputs_ok else "degraded")
            outs.append(sender.seal(Heartbeat, t, node_state=state, tracks_held=len(result.system_tracks)))
        if t - self._last_link_report >= self.link_report_s - 1e-9 or states != self._reported_state:
            self._last_link_report = t
            self._reported_state = states
            for p, state in states.items():
                outs.append(sender.seal(LinkReport, t, partner=p, state=state,
                                        last_heard_unix_s=self.partners[p].last_heard_unix_s))
        return [o for o in outs if o.subjects]
