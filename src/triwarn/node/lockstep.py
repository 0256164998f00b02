"""Drive national nodes on one simulated clock in lockstep: deliver, process, publish, settle, next step.

The lockstep clock driver of triwarn.node.runner.NodeRunner (the live node, service.LiveNode, is the
wall-clock one): every node runs in a NodeRunner, which holds the rules of running a node (partner
messages into the picture, heartbeat, link status and LinkReports, messages, outputs to the sink,
metrics); this module decides only when. Used by `triwarn replay`, exercises and the demo. Each step k
at sim time t_k:
  1. deliver: every node takes the partner messages whose link is up and whose simulated latency has
     passed since they were published, sorted by (sender, sequence) so that the order never depends on
     the machine's timing (heartbeats and link reports too: they are what keeps a partner heard);
  2. process: every node steps on its own detections with time in (t_{k-1}, t_k] (IR reports when
     they become available, t_available);
  3. publish: every node's messages (its sealed reports, a heartbeat every heartbeat_s of sim time,
     link reports) are handed to its own NATS server as one batch right after its step, without waiting:
     the servers store and forward them while the next node steps; after the last node, one wait for
     all acknowledgements;
  4. settle: the run waits (wall clock, bounded) until every receiving transport has decided on
     (admitted or rejected) every message published to it so far, so admission always happens at the
     receiver's clock of the step the message was published in. A step in which no node publishes
     anything costs no wait at all.
So a run is deterministic for a given input and seed however fast or loaded the machine is.

Link faults are simulated at the receiving edge on the sim clock: while a nation's link to the hub
(or the hub itself) is down, messages over it are held, exactly as the JetStream outbox holds them, and
delivered in order when it returns (a held message older than the receiver's admission window when it
would be delivered is dropped and counted, as the receiver would reject it as stale). Real server
outages are exercised by the share tests.

Clock offsets: a node's host clock may be off by LinkModel.clock_offsets_s[nation] seconds. Its
message envelopes (sent_unix_s) and its admission window use that clock; sensor and track times come
from the (GPS-timed) sensors and are not offset. The receiver's admission decides what a skew does
(`from_future` beyond its future_skew_s).

With transports=None the nodes run alone (no sharing at all): the `--no-share` baseline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from triwarn.node.core import NationalNode, StepResult
from triwarn.node.outputs import OutputSink
from triwarn.node.runner import HEARTBEAT_S, LINK_REPORT_S, LINK_TIMEOUT_S, NodeRunner
from triwarn.records.detections import IrDetections, MeasurementLog, RadarDetections
from triwarn.share.schema import Heartbeat, LinkReport, Message
from triwarn.share.sender import Outgoing, Sender
from triwarn.share.transport import ShareTransport

SETTLE_WAIT_S = 30.0  # wall seconds a step waits for published messages to reach their receivers
SETTLE_POLL_S = 0.02  # re-check period while waiting (rejected messages wake no one)
PUBLISH_WAIT_S = 60.0  # wall seconds a node's own server gets to store a step's messages
HOUSEKEEPING = (Heartbeat, LinkReport)  # delivered (the partner is heard) but not logged as deliveries


class LockstepError(RuntimeError):
    """The run cannot go on: a node's own NATS server stopped storing its messages."""


@dataclass(frozen=True)
class LinkOutage:
    """A nation's link to the hub down (nation == hub: the hub itself down) over [start, end) sim s."""

    nation: str
    start_unix_s: float
    end_unix_s: float


@dataclass
class LinkModel:
    """Sim-time link behaviour: one-way latency per message, outages and per-node clock offsets (s)."""

    hub: str = "us"
    latency_s: float = 0.0
    outages: Sequence[LinkOutage] = ()
    clock_offsets_s: Mapping[str, float] = field(default_factory=dict)

    def up(self, nation: str, t: float) -> bool:
        return not any(o.start_unix_s <= t < o.end_unix_s and o.nation in (nation, self.hub) for o in self.outages)

    def reachable(self, a: str, b: str, t: float) -> bool:
        """Can a message from a reach b at sim time t (both links and the hub up)?"""
        return self.up(a, t) and self.up(b, t)

    def offset(self, nation: str) -> float:
        return float(self.clock_offsets_s.get(nation, 0.0))


@dataclass
class NodeFeed:
    """A node's own detections, cut into steps by time (radar t, IR t_available)."""

    radar: RadarDetections
    ir: IrDetections

    @classmethod
    def for_nation(cls, log: MeasurementLog, sensors: Mapping[str, object], nation: str) -> NodeFeed:
        """The part of a measurement log made by the nation's own sensors, re-indexed to them."""
        own = [i for i, sid in enumerate(log.sensor_ids) if getattr(sensors[sid], "nation", None) == nation]
        remap = np.full(len(log.sensor_ids), -1, np.int32)
        remap[own] = np.arange(len(own), dtype=np.int32)
        r = log.radar.take(np.isin(log.radar.sensor_idx, own))
        r.sensor_idx = remap[r.sensor_idx]
        ir = log.ir.take(np.isin(log.ir.sensor_idx, own))
        ir.sensor_idx = remap[ir.sensor_idx]
        order = np.argsort(ir.t_available_unix_s, kind="stable")
        return cls(radar=r, ir=ir.take(order))

    def slice(self, t0: float, t1: float) -> tuple[RadarDetections, IrDetections]:
        """Detections with t0 < time <= t1."""
        a, b = np.searchsorted(self.radar.t_unix_s, [t0, t1], side="right")
        c, d = np.searchsorted(self.ir.t_available_unix_s, [t0, t1], side="right")
        return self.radar.take(slice(a, b)), self.ir.take(slice(c, d))


class OffsetSender:
    """A Sender whose clock runs offset_s ahead of the sim clock (negative: behind); all else delegated."""

    def __init__(self, inner: Sender, offset_s: float) -> None:
        self._inner = inner
        self.offset_s = float(offset_s)

    def seal(self, cls, now_unix_s: float, **kwargs) -> Outgoing:
        return self._inner.seal(cls, now_unix_s + self.offset_s, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


@dataclass
class StepTiming:
    """One node's step: sim time, wall seconds spent in NationalNode.step, messages delivered to it."""

    nation: str
    t_unix_s: float
    wall_s: float
    delivered: int


@dataclass
class Delivery:
    """One partner message handed to a node: who sent it, its class, and the sim/wall transit times."""

    receiver: str
    sender: str
    kind: str
    published_unix_s: float  # true sim time of publication (not the sender's possibly offset clock)
    delivered_unix_s: float
    # wall time from the end of the step's compute (all nodes stepped, the run free to read the network)
    # to the receiving transport's decision
    wall_transit_s: float | None


@dataclass
class RunLog:
    """What a lockstep run measured, for metrics and reports (filled as the run goes)."""

    timings: list[StepTiming] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    held_max: dict[str, int] = field(default_factory=dict)  # most messages held at once per receiver
    expired_in_hold: int = 0


@dataclass
class _Inbox:
    held: list[Message] = field(default_factory=list)
    recv_wall: dict[str, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


OnStep = Callable[[str, StepResult], None]
OnTick = Callable[[int, float], None]  # (step index, sim time) after every node has stepped


async def run_lockstep(
    nodes: Mapping[str, NationalNode],
    feeds: Mapping[str, NodeFeed],
    times_unix_s: Sequence[float],
    *,
    transports: Mapping[str, ShareTransport] | None = None,
    links: LinkModel | None = None,
    on_step: OnStep | None = None,
    on_tick: OnTick | None = None,
    speed: float | None = None,
    run_log: RunLog | None = None,
    clock_cell: list[float] | None = None,
    heartbeat_s: float = HEARTBEAT_S,
    link_timeout_s: float = LINK_TIMEOUT_S,
    link_report_s: float = LINK_REPORT_S,
    sink: OutputSink | None = None,
    runners: dict[str, NodeRunner] | None = None,
    until: Callable[[float], bool] | None = None,
) -> dict[str, int]:
    """Run every node over times_unix_s. transports (connected, one per node; None: no sharing).

    The run sets each transport's clock to the sim clock plus the node's offset (links.clock_offsets_s)
    and wraps the node's sender likewise. speed: pace steps at that many sim seconds per wall second
    (None: as fast as possible). on_step(nation, result) after each node's step; on_tick(k, t) after
    each whole step. run_log collects step timings and deliveries (of everything but heartbeats and
    link reports). clock_cell, if given, is also set to each step's sim time. heartbeat_s,
    link_timeout_s, link_report_s: the runners' rules, in sim seconds. sink: the outputs of every
    node (OutputSink.on_step, before on_step). runners: if a dict is given, it is filled with each
    node's NodeRunner (link states, metrics). until(t), if given, is asked after each whole step (after
    on_tick): true ends the run there, before times_unix_s runs out. Returns counters: delivered,
    missing (messages of any class that did not reach their receiver within SETTLE_WAIT_S),
    held_at_end (held back by a link still down at the end), in_flight_at_end (published too late to
    arrive), expired_in_hold; all but missing leave heartbeats and link reports out.
    """
    links = links or LinkModel()
    log = run_log if run_log is not None else RunLog()
    stats = {"delivered": 0, "missing": 0, "missing_heartbeats": 0, "held_at_end": 0, "in_flight_at_end": 0,
             "expired_in_hold": 0}
    inboxes = {n: _Inbox() for n in nodes}
    sim_now = [float(times_unix_s[0]) if len(times_unix_s) else 0.0]
    published_at: dict[str, tuple[float, float | None]] = {}  # msg id -> (sim t, wall t) of publication
    expected: dict[str, int] = dict.fromkeys(nodes, 0)  # messages published to each receiver so far

    def node_clock(offset: float) -> Callable[[], float]:
        return lambda: sim_now[0] + offset

    made = {n: NodeRunner(node, (transports or {}).get(n), node_clock(links.offset(n)),
                          heartbeat_s=heartbeat_s, link_timeout_s=link_timeout_s, link_report_s=link_report_s,
                          sink=sink)
            for n, node in nodes.items()}
    if runners is not None:
        runners.update(made)
    if transports:
        for n, tr in transports.items():
            box = inboxes[n]
            offset = links.offset(n)
            tr.clock = lambda offset=offset: sim_now[0] + offset
            if offset and not isinstance(nodes[n].sender, OffsetSender):
                nodes[n].sender = OffsetSender(nodes[n].sender, offset)

            def on_message(msg: Message, box: _Inbox = box) -> None:
                box.recv_wall[msg.msg_id] = time.perf_counter()
                box.held.append(msg)
                box.changed.set()

            await tr.start_receiving(on_message)

    wall0 = time.perf_counter()
    t_first = float(times_unix_s[0]) if len(times_unix_s) else 0.0
    prev_t = -np.inf
    for k, t in enumerate(map(float, times_unix_s)):
        sim_now[0] = t
        if clock_cell is not None:
            clock_cell[0] = t
        if speed:
            ahead = wall0 + (t - t_first) / speed - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
        batches: list[tuple[str, list[Outgoing], list[asyncio.Future]]] = []
        for n, runner in made.items():
            delivered = 0
            if transports:
                delivered = _deliver(n, runner, inboxes[n], t, links, published_at, log, stats)
            radar, ir = feeds[n].slice(prev_t, t) if n in feeds else (None, None)
            result, outs = runner.step(t, radar, ir)
            log.timings.append(StepTiming(n, t, runner.last_step_wall_s, delivered))
            if transports:
                if outs:
                    for o in outs:
                        published_at[o.msg.msg_id] = (t, None)  # wall time set once every node has stepped
                        for r in o.recipients:
                            if r in expected:
                                expected[r] += 1
                    # Handed to the client now, acknowledged below: the servers store and forward this
                    # node's messages while the next node steps.
                    batches.append((n, outs, await transports[n].begin_batch(outs)))
            if on_step is not None:
                on_step(n, result)
        if batches:
            # Wall transit counts from here: before, the receivers could not read (the loop was stepping).
            wall = time.perf_counter()
            for _n, outs, _f in batches:
                for o in outs:
                    published_at[o.msg.msg_id] = (t, wall)
            await _finish_batches(transports, batches, t)
            stats["missing"] += await _settle(transports, inboxes, expected)
        if on_tick is not None:
            on_tick(k, t)
        prev_t = t
        if until is not None and until(t):
            break
    t_last = prev_t
    held = [published_at.get(m.msg_id, (m.sent_unix_s, None))[0] for b in inboxes.values() for m in b.held
            if not isinstance(m, HOUSEKEEPING)]
    # Messages of the last step (or still within their latency) are in flight, not held back by a fault.
    stats["in_flight_at_end"] = sum(1 for tp in held if tp + links.latency_s > t_last or tp >= t_last)
    stats["held_at_end"] = len(held) - stats["in_flight_at_end"]
    stats["expired_in_hold"] = log.expired_in_hold
    stats["missing_heartbeats"] = stats["missing"]  # the name older callers read
    return stats


async def _finish_batches(transports: Mapping[str, ShareTransport],
                          batches: list[tuple[str, list[Outgoing], list[asyncio.Future]]], t: float) -> None:
    """Wait until every node's own server has stored the step's messages (all nodes at once)."""
    async def finish(n: str, outs: list[Outgoing], futures: list[asyncio.Future]) -> None:
        try:  # a dead server would leave the acknowledgements pending for ever
            await asyncio.wait_for(transports[n].finish_batch(outs, futures), timeout=PUBLISH_WAIT_S)
        except TimeoutError:
            raise LockstepError(f"{n}: its NATS server stored no message for {PUBLISH_WAIT_S:.0f} s "
                                f"at sim time {t:.0f}: is the server down?") from None

    await asyncio.gather(*(finish(*b) for b in batches))


def _deliver(n: str, runner: NodeRunner, box: _Inbox, t: float, links: LinkModel,
             published_at: dict[str, tuple[float, float | None]], log: RunLog, stats: dict[str, int]) -> int:
    """Hand node n's runner the held messages that have reached it by sim time t (received at the node's
    clock then); returns how many, heartbeats and link reports left out of the count and the log."""
    if not box.held:
        return 0
    ready, keep = [], []
    for m in box.held:
        t_pub = published_at.get(m.msg_id, (m.sent_unix_s, None))[0]
        # Never within the step it was published in: whether it had arrived would depend on timing.
        if t_pub < t and t_pub + links.latency_s <= t and links.reachable(m.sender, n, t):
            ready.append(m)
        else:
            keep.append(m)
    log.held_max[n] = max(log.held_max.get(n, 0), sum(not isinstance(m, HOUSEKEEPING) for m in box.held))
    box.held = keep
    if not ready:
        return 0
    admission = runner.node.admission
    max_age = admission.max_age_s if admission is not None else np.inf
    now_receiver = t + links.offset(n)
    count = 0
    for m in sorted(ready, key=lambda m: (m.sender, m.seq)):
        t_pub, wall_pub = published_at.get(m.msg_id, (m.sent_unix_s, None))
        housekeeping = isinstance(m, HOUSEKEEPING)
        wall_recv = box.recv_wall.pop(m.msg_id, None)
        if now_receiver - m.sent_unix_s > max_age:
            if not housekeeping:
                log.expired_in_hold += 1  # the receiver would have rejected it as stale on arrival
            continue
        runner.receive(m, now_receiver)  # heard now; picture messages go in at this step
        if housekeeping:
            continue
        count += 1
        log.deliveries.append(Delivery(n, m.sender, type(m).__name__, t_pub, t,
                                       None if wall_pub is None or wall_recv is None
                                       else max(0.0, wall_recv - wall_pub)))
    stats["delivered"] += count
    return count


def _decided(tr: ShareTransport) -> int:
    """Messages the transport's admission has decided on (accepted or rejected for any reason)."""
    return sum(tr.admission.counters.values())


async def _settle(transports: Mapping[str, ShareTransport], inboxes: Mapping[str, _Inbox],
                  expected: dict[str, int]) -> int:
    """Wait (wall clock, bounded) until each transport has decided on every message sent to it.

    Messages still missing at the deadline are written off (counted and no longer waited for), so one
    lost message costs one wait, not one per remaining step."""
    deadline = time.monotonic() + SETTLE_WAIT_S
    missing = 0
    for n, tr in transports.items():
        box = inboxes[n]
        while _decided(tr) < expected.get(n, 0):
            left = deadline - time.monotonic()
            if left <= 0:
                lost = expected[n] - _decided(tr)
                missing += lost
                expected[n] -= lost
                break
            box.changed.clear()
            try:
                await asyncio.wait_for(box.changed.wait(), timeout=min(left, SETTLE_POLL_S))
            except TimeoutError:
                pass
    return missing
