"""The live national node: a NodeRunner on the node's wall clock, sharing over NATS.

    transport = NodeTransport("kr", spec, key, trust, servers=[url], user=..., password=...)
    live = LiveNode(settings, sensors, transport, source, areas=AreaIndex.load(), out_dir=Path("out/kr"))
    await live.start()                      # connect; resume the durable inbox consumer
    app = node_app(live)                    # triwarn.api.node_app: /api/health, /metrics, CAP feed, UI
    await live.run()                        # step every step_s of the clock until live.stop()
    await live.close()                      # the durable consumer stays on the server for the next start

This is the wall-clock driver of triwarn.node.runner.NodeRunner, which holds every rule of running a
node (partner messages into the picture, heartbeat, link status, messages, outputs, metrics; see there).
Each step at t (a whole multiple of step_s on the node's clock, unix seconds): the node's own
detections up to t come from the source, the runner steps (NationalNode.step in a worker thread, so
receiving and the HTTP server keep going), and the step's messages are queued for the publisher task,
which stores them in the outbox in step order and retries while the nation's own server is down
(stepping and warning never wait for it). A node that falls behind its clock steps at the newest due
time and counts the steps it skipped. Partner messages are handed to the runner as the transport
admits them (heard at the node clock's now).

Clocks: `clock()` returns the node's UTC seconds (time.time live; ScaledClock for tests and
demonstrations faster than real time); clock_rate is how many clock seconds pass per wall second, used
only to size sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from pathlib import Path

import nats.errors
import nats.js.errors

from triwarn.node.core import NationalNode, NodeSettings, StepResult
from triwarn.node.operator_actions import ActionOutcome, OnDone, OperatorCancel, OperatorCorrect
from triwarn.node.outputs import OutputSink
from triwarn.node.runner import HEARTBEAT_S, LINK_REPORT_S, LINK_TIMEOUT_S, NodeRunner, NodeTransport, PartnerLink
from triwarn.node.sources import DetectionSource
from triwarn.share.admission import REJECT_REASONS
from triwarn.share.schema import Message, message_class
from triwarn.share.sender import Outgoing
from triwarn.share.transport import PublishError, ShareTransport

__all__ = ["LiveNode", "NodeTransport", "PartnerLink", "ScaledClock"]

log = logging.getLogger(__name__)

HISTORY = 100_000  # message ids kept of what was ingested and published
PUBLISHER_STOP_WAIT_S = 5.0  # wall seconds close() gives the cancelled publisher task to end


class ScaledClock:
    """A clock running `speed` times faster than the wall clock from `origin_unix_s`, plus `offset_s`
    (a host clock that is off). Returns UTC seconds; `rate` is clock seconds per wall second.

    `shifted(offset_s)` gives a clock tied to this one (same start) but offset; `restart()` sets this
    clock, and every clock shifted from it, back to its origin now."""

    def __init__(self, origin_unix_s: float, speed: float = 1.0, offset_s: float = 0.0,
                 wall: Callable[[], float] = time.monotonic, parent: ScaledClock | None = None) -> None:
        self.origin_unix_s = float(origin_unix_s)
        self.rate = float(speed)
        self.offset_s = float(offset_s)
        self._wall = wall
        self._parent = parent
        self._wall0 = wall()

    def shifted(self, offset_s: float) -> ScaledClock:
        return ScaledClock(self.origin_unix_s, self.rate, self.offset_s + offset_s, self._wall, parent=self)

    def restart(self) -> None:
        self._wall0 = self._wall()

    def __call__(self) -> float:
        wall0 = self._parent._wall0 if self._parent is not None else self._wall0
        return self.origin_unix_s + self.rate * (self._wall() - wall0) + self.offset_s


class LiveNode:
    """One nation's live node (see the module docstring).

    settings: NodeSettings (exercise None: a live node, CAP status Actual). sensors: the nation's own
    sensors by id. transport: not yet connected; its sender and admission become the node's and take
    the node's mode (settings.exercise: only messages of that mode and exercise are sealed or admitted). source:
    the own detections (None: a node without sensors, which fuses partners' tracks only). out_dir: CAP
    files go to out_dir/cap (None: none written; the feed still holds them).
    on_step(nation, result) is called after every step (e.g. the operator picture adapter).
    """

    def __init__(self, settings: NodeSettings, sensors: Mapping[str, object], transport: ShareTransport,
                 source: DetectionSource | None, *, areas=None, step_s: float = 1.0,
                 clock: Callable[[], float] = time.time, clock_rate: float | None = None,
                 heartbeat_s: float = HEARTBEAT_S, link_timeout_s: float = LINK_TIMEOUT_S,
                 link_report_s: float = LINK_REPORT_S, out_dir: Path | None = None,
                 on_step: Callable[[str, StepResult], None] | None = None) -> None:
        if step_s <= 0:
            raise ValueError(f"step_s must be positive, got {step_s}")
        self.settings = settings
        self.nation = settings.nation
        self.transport = transport
        transport.clock = clock
        transport.set_exercise(settings.exercise)  # live and exercise never meet: the node's mode
        node = NationalNode(settings, sensors, sender=transport.sender, admission=transport.admission, areas=areas)
        self.sink = OutputSink(out_dir)  # CAP files only, never overwritten; the feed's documents
        self.runner = NodeRunner(node, transport, clock, heartbeat_s=heartbeat_s, link_timeout_s=link_timeout_s,
                                 link_report_s=link_report_s, sink=self.sink, on_step=on_step)
        self.source = source
        self.step_s = float(step_s)
        self.clock = clock
        self.clock_rate = float(clock_rate if clock_rate is not None else getattr(clock, "rate", 1.0))
        self.out_dir = out_dir
        self.publish_failures = 0
        self.published: Counter[str] = Counter()
        # (id, recipients, sent_unix_s) of what was stored, for diagnostics and tests (bounded).
        self.published_ids: deque[tuple[str, tuple[str, ...], float]] = deque(maxlen=HISTORY)
        self._outq: asyncio.Queue[list[Outgoing]] = asyncio.Queue()
        self._publisher: asyncio.Task | None = None
        self._closing = False  # the publisher's stop flag (see close)
        self._stop = asyncio.Event()

    # The runner's state, under the names the node has always had.
    node = property(lambda self: self.runner.node)
    metrics = property(lambda self: self.runner.metrics)
    partners = property(lambda self: self.runner.partners)
    ingested = property(lambda self: self.runner.ingested)
    steps = property(lambda self: self.runner.steps)
    steps_skipped = property(lambda self: self.runner.steps_skipped)
    detections_in = property(lambda self: self.runner.detections_in)
    last_result = property(lambda self: self.runner.last_result)
    last_step_unix_s = property(lambda self: self.runner.last_step_unix_s)
    last_step_wall_s = property(lambda self: self.runner.last_step_wall_s)
    step_lag_s = property(lambda self: self.runner.step_lag_s)
    cap_issued = property(lambda self: self.runner.cap_issued)
    cap_docs = property(lambda self: self.sink.cap_docs)
    live = property(lambda self: self.runner.live)
    desk = property(lambda self: self.runner.desk)

    def cancellable(self) -> list[str]:
        """Incidents an operator may cancel now (NodeRunner.cancellable)."""
        return self.runner.cancellable()

    def request_cancel(self, action: OperatorCancel, on_done: OnDone | None = None) -> ActionOutcome:
        """Queue an operator's Cancel for the next step (NodeRunner.request_cancel); the node steps every
        step_s, so it goes out (CAP files, feed, partners, UI) within a step."""
        return self.runner.request_cancel(action, on_done)

    def correctable(self) -> list[dict]:
        """Incidents an operator may correct now (NodeRunner.correctable)."""
        return self.runner.correctable()

    def request_correct(self, action: OperatorCorrect, on_done: OnDone | None = None) -> ActionOutcome:
        """Queue an operator's correction for the next step (NodeRunner.request_correct)."""
        return self.runner.request_correct(action, on_done)

    @property
    def on_step(self) -> Callable[[str, StepResult], None] | None:
        return self.runner.on_step

    @on_step.setter
    def on_step(self, fn: Callable[[str, StepResult], None] | None) -> None:
        self.runner.on_step = fn

    @property
    def mode(self) -> str:
        return "live" if self.settings.exercise is None else "exercise"

    def link_state(self, partner: str, now_unix_s: float | None = None) -> tuple[str, str]:
        """(state, why) of the link to a partner at the node clock's now (NodeRunner.link_state)."""
        return self.runner.link_state(partner, now_unix_s)

    # ------------------------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Connect (continuing the outbox sequence) and resume the durable inbox consumer."""
        await self.transport.connect()
        await self.transport.start_receiving(self._on_message)
        self._publisher = asyncio.create_task(self._publish_loop(), name=f"{self.nation}-publisher")

    def stop(self) -> None:
        """Ask run() to return after the step in progress (safe from a signal handler)."""
        self._stop.set()

    async def close(self, flush_timeout_s: float = 10.0) -> None:
        """Publish what is queued (up to flush_timeout_s), stop receiving cleanly and disconnect; the
        durable consumer stays for the next start.

        Messages already pushed to this client but not yet handled are handled (and acknowledged) first:
        otherwise the server would only redeliver them after the consumer's ack wait.
        """
        if self._publisher is not None:
            # What the steps sealed goes out first (bounded: a server that stays down keeps the rest).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outq.join(), timeout=flush_timeout_s)
            # A flag, and a bounded wait rather than `await task`: nats-py turns a cancellation that meets
            # a full publish window into its own TooManyStalledMsgsError, which the retry loop would take
            # for a server error and retry for ever (a close that never returns).
            self._closing = True
            self._publisher.cancel()
            await asyncio.wait({self._publisher}, timeout=PUBLISHER_STOP_WAIT_S)
            self._publisher = None
        nc = self.transport.nc
        sub = getattr(self.transport, "_sub", None)
        if nc is not None and sub is not None and not nc.is_closed:
            with contextlib.suppress(nats.errors.Error, nats.js.errors.Error, TimeoutError):
                await asyncio.wait_for(sub.drain(), timeout=5.0)
                await nc.flush(timeout=2)
        await self.transport.close()
        self.sink.close()

    # --------------------------------------------------------------------------------------- receiving
    def _on_message(self, msg: Message) -> None:
        self.runner.receive(msg)  # heard now; into the picture at the next step, never during one

    # ---------------------------------------------------------------------------------------- stepping
    async def run(self, until_unix_s: float | None = None) -> None:
        """Step on every due multiple of step_s of the clock until stop() (or the clock passes until_unix_s)."""
        step = self.step_s
        first_due = math.ceil(self.clock() / step - 1e-9) * step
        while not self._stop.is_set():
            now = self.clock()
            last = self.last_step_unix_s
            due = (math.floor(last / step + 1e-9) + 1) * step if last is not None else first_due
            if until_unix_s is not None and due > until_unix_s:
                break
            if now < due:
                wait_s = max(0.001, min((due - now) / self.clock_rate, 0.5))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=wait_s)
                continue
            t = math.floor(now / step + 1e-9) * step  # the newest due time: skip what we are behind on
            if until_unix_s is not None:
                t = min(t, math.floor(until_unix_s / step + 1e-9) * step)
            self.runner.skipped(max(0, round((t - due) / step)))
            await self.step_once(t, lag_s=now - t)

    async def step_once(self, t_unix_s: float, *, lag_s: float = 0.0) -> StepResult:
        """One step at t_unix_s (node clock): the runner's step, NationalNode.step in a worker thread, and
        the step's messages queued for the publisher."""
        t = float(t_unix_s)
        radar = ir = None
        if self.source is not None:
            radar, ir = self.source.take_until(t)
        self.runner.begin(radar, ir)
        w0 = time.perf_counter()
        result = await asyncio.to_thread(self.runner.node.step, t, radar, ir)
        outs = self.runner.finish(t, result, time.perf_counter() - w0, lag_s)
        if outs:
            self._outq.put_nowait(outs)  # never waits for the server: the node warns on its own data regardless
        return self.runner.last_result  # with the operator's actions of this step

    async def _publish_loop(self) -> None:
        """Store each step's messages in the outbox, in step order. While the nation's own server cannot
        store them, the batch is retried (the JetStream ids make a repeat harmless) and later steps
        queue behind it: nothing sealed is dropped, and stepping never waits for the server."""
        while not self._closing:
            outs = await self._outq.get()
            try:
                while True:
                    try:
                        await self.transport.publish_batch(outs)
                        break
                    except (PublishError, nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
                        if self._closing:  # possibly our own cancellation in the library's clothes
                            return
                        self.publish_failures += 1
                        self.metrics.publish_failures.inc()
                        log.error("%s: outbox did not store a step's messages (retrying): %s", self.nation, exc)
                        await asyncio.sleep(0.5)
                for o in outs:
                    kind = message_class(o.msg)
                    self.published[kind] += 1
                    self.published_ids.append((o.msg.msg_id, o.recipients, o.msg.sent_unix_s))
                    self.metrics.published.labels(self.nation, kind).inc()
            finally:
                self._outq.task_done()

    # ------------------------------------------------------------------------------------------ health
    def health(self) -> dict:
        """The health document served at /api/health (see docs/node.md for the fields)."""
        now = self.clock()
        res = self.last_result
        by_nation: Counter[str] = Counter()
        if res is not None:
            for nations in res.system_tracks.nations.tolist():
                by_nation.update(set(nations))
        partners = {}
        for p, link in sorted(self.partners.items()):
            state, why = self.link_state(p, now)
            partners[p] = {
                "link": state, "why": why, "last_heard_unix_s": link.last_heard_unix_s,
                "silent_s": None if link.last_heard_unix_s is None else now - link.last_heard_unix_s,
                "received": dict(link.received),
                "rejected": dict(getattr(self.transport, "rejected_from", {}).get(p, {})),
                "their_links": dict(link.their_view),
            }
        counters = self.transport.admission.counters
        return {
            "nation": self.nation, "mode": self.mode, "exercise": self.settings.exercise,
            "clock_unix_s": now, "step_s": self.step_s, "last_step_unix_s": self.last_step_unix_s,
            "step_lag_s": self.step_lag_s, "last_step_wall_s": self.last_step_wall_s, "steps": self.steps,
            "steps_skipped": self.steps_skipped, "detections_in": self.detections_in,
            "source_exhausted": self.source.exhausted() if self.source is not None else None,
            "tracks_held": len(res.system_tracks) if res is not None else 0,
            "own_tracks": len(res.own_tracks) if res is not None and res.own_tracks is not None else 0,
            "tracks_by_nation": dict(by_nation),
            "partners": partners,
            "accepted": counters.get("accepted", 0),
            "rejected": {r: counters.get(r, 0) for r in REJECT_REASONS},
            "published": dict(self.published), "publish_failures": self.publish_failures,
            "publish_queue": self._outq.qsize(),
            "cap_messages": self.cap_issued,
            "cap_dir": str(self.out_dir / "cap") if self.out_dir is not None else None,
            "outputs": self.runner.outputs_status(),
            "partner_budgets": self.node.partner_budget_counts(),
            "recv_epoch_changes": self.runner.epoch_changes(),
            # A flooding sender held back at this node (share/inbox.py), and failed writes of the operator
            # corrections' journal (node/journal.py; the node keeps warning, the write is retried).
            "inbox_holds": int(self.transport.counters.get("inbox_holds", 0)),
            "inbox_throttled_ms": int(self.transport.counters.get("inbox_throttled_ms", 0)),
            "journal_errors": self.desk.journal_errors,
        }
