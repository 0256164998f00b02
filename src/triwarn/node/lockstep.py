"""Drive national nodes on one simulated clock in lockstep: deliver, process, publish, next step.

Used by `triwarn replay` and exercises. Each step k at sim time t_k:
  1. deliver: every node waits until each partner it can reach has published its heartbeat of step
     k-1 (messages of one sender arrive in order, so everything that partner sent before is in), then
     takes the partner messages whose link is up and whose simulated latency has passed, sorted by
     (sender, sequence) so that the order never depends on the machine's timing;
  2. process: every node steps on its own detections with time in (t_{k-1}, t_k] (IR reports when
     they become available, t_available);
  3. publish: every node's sealed messages and a heartbeat go out through its own NATS server.
So a run is deterministic for a given input and seed however fast or loaded the machine is.

Link faults are simulated at the receiving edge on the sim clock: while a nation's link to the hub
(or the hub itself) is down, messages over it are held, exactly as the JetStream outbox holds them, and
delivered in order when it returns. Real server outages are exercised by the share tests.
With network=None the nodes run alone (no sharing at all): the `--no-share` baseline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from triwarn.node.core import NationalNode, StepResult
from triwarn.sensors.formats import IrDetections, MeasurementLog, RadarDetections
from triwarn.share.schema import Heartbeat, Message
from triwarn.share.transport import ShareTransport

HEARTBEAT_WAIT_S = 30.0  # wall seconds a node waits for a partner's heartbeat before calling it missing


@dataclass(frozen=True)
class LinkOutage:
    """A nation's link to the hub down (nation == hub: the hub itself down) over [start, end) sim s."""

    nation: str
    start_unix_s: float
    end_unix_s: float


@dataclass
class LinkModel:
    """Sim-time link behaviour: one-way latency per message and outages."""

    hub: str = "us"
    latency_s: float = 0.0
    outages: Sequence[LinkOutage] = ()

    def up(self, nation: str, t: float) -> bool:
        return not any(o.start_unix_s <= t < o.end_unix_s and o.nation in (nation, self.hub) for o in self.outages)

    def reachable(self, a: str, b: str, t: float) -> bool:
        """Can a message from a reach b at sim time t (both links and the hub up)?"""
        return self.up(a, t) and self.up(b, t)


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


@dataclass
class _Inbox:
    held: list[Message] = field(default_factory=list)
    heartbeat_t: dict[str, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


OnStep = Callable[[str, StepResult], None]


async def run_lockstep(
    nodes: Mapping[str, NationalNode],
    feeds: Mapping[str, NodeFeed],
    times_unix_s: Sequence[float],
    *,
    transports: Mapping[str, ShareTransport] | None = None,
    links: LinkModel | None = None,
    on_step: OnStep | None = None,
    clock_cell: list[float] | None = None,
) -> dict[str, int]:
    """Run every node over times_unix_s. transports (connected, one per node; None: no sharing).

    clock_cell: the one-element list the transports' clocks read; it is set to each step's sim time.
    Returns counters: missing heartbeats (waits that timed out) and messages delivered.
    """
    links = links or LinkModel()
    stats = {"delivered": 0, "missing_heartbeats": 0, "held_at_end": 0}
    inboxes = {n: _Inbox() for n in nodes}
    if transports:
        for n, tr in transports.items():
            box = inboxes[n]

            def on_message(msg: Message, box: _Inbox = box) -> None:
                if isinstance(msg, Heartbeat):
                    box.heartbeat_t[msg.sender] = max(box.heartbeat_t.get(msg.sender, -np.inf), msg.sent_unix_s)
                else:
                    box.held.append(msg)
                box.changed.set()

            await tr.start_receiving(on_message)

    prev_t = -np.inf
    for t in map(float, times_unix_s):
        if clock_cell is not None:
            clock_cell[0] = t
        if transports and np.isfinite(prev_t):
            for n in nodes:
                stats["missing_heartbeats"] += await _wait_heartbeats(n, inboxes[n], nodes, prev_t, links)
        for n, node in nodes.items():
            if transports:
                box = inboxes[n]
                ready = [m for m in box.held
                         if links.reachable(m.sender, n, t) and m.sent_unix_s + links.latency_s <= t]
                if ready:
                    ids = {id(m) for m in ready}
                    box.held = [m for m in box.held if id(m) not in ids]
                    for m in sorted(ready, key=lambda m: (m.sender, m.seq)):
                        node.ingest_message(m)
                    stats["delivered"] += len(ready)
            radar, ir = feeds[n].slice(prev_t, t) if n in feeds else (None, None)
            result = node.step(t, radar, ir)
            if transports:
                tr = transports[n]
                hb = tr.sender.seal(Heartbeat, t, node_state="exercise" if node.settings.exercise else "ok",
                                    tracks_held=len(result.system_tracks))
                outs = [o for o in [*result.outgoing, hb] if o.subjects]
                await tr.publish_batch(outs)
            if on_step is not None:
                on_step(n, result)
        prev_t = t
    stats["held_at_end"] = sum(len(b.held) for b in inboxes.values())
    return stats


async def _wait_heartbeats(nation: str, box: _Inbox, nodes, t_prev: float, links: LinkModel) -> int:
    """Wait (wall clock, bounded) for the step-t_prev heartbeat of every partner reachable then."""
    want = [p for p in nodes if p != nation and links.reachable(p, nation, t_prev)]
    deadline = time.monotonic() + HEARTBEAT_WAIT_S
    missing = 0
    for p in want:
        while box.heartbeat_t.get(p, -np.inf) < t_prev:
            left = deadline - time.monotonic()
            if left <= 0:
                missing += 1
                break
            box.changed.clear()
            try:
                await asyncio.wait_for(box.changed.wait(), timeout=min(left, 1.0))
            except TimeoutError:
                pass
    return missing
