"""Reading a node's inbox streams so that one sender's flood cannot hold up another sender's messages.

Each inbox stream (IN_<S>2<N>, one per sender) is read by its own `InboxPuller`: a durable *pull*
consumer asked for at most `batch` messages at a time, each batch handled in stream order before the
next is asked for, under that sender's own `IntakeBudget`. What this bounds (bench/bench_flood.py
--target jp: KR floods its link to JP while the US sends to JP):

- bytes in flight: the node's server sends a sender at most `batch` messages ahead of what the node
  handled, so another sender's message waits behind at most one batch on the shared socket (a push
  consumer sent up to max_ack_pending messages, 20,000 x 64 KiB of junk, ahead of it);
- the node's work for one sender: once a sender is over its budget, the node asks its server for that
  sender's next batch only when the budget has refilled. Refused messages (junk, forgeries) draw
  on a budget 16 times smaller than accepted ones: a flood is read slowly while a partner's legitimate
  backlog after an outage (accepted messages) is read at full speed. What the node does not read
  waits in that sender's own stream (its bytes bounded, the oldest dropped first: share/netconfig.py),
  never in another sender's.

A sender that keeps sending what the node refuses (its refused budget in debt) is also held at the
node's server (`SourceHold`): the node takes its inbox stream's source away for a while (10 s at
first, twice as long each time it goes on, at most 5 min), so that the flood stops crossing the hub's
link to this node, where it would queue in front of the other senders' messages (bench_flood.py,
KR flooding its link to JP with junk at 400 Mbit/s, machine loaded: US->JP p99 266-452 ms with KR's
source on at JP's server, 12 ms with it off). A sender given back its source starts with no refused
burst: its first refused message holds it again. What the sender sends meanwhile waits at the hub, in
its own bounded stream, and comes when the source is given back (the server resumes it after the last
message it stored). The source taken away
is kept in the stream's own metadata, so a node that dies while holding a sender gives the source back
when it starts again.

The senders are read concurrently (one asyncio task each), so a sender waiting for its budget never
delays another. Every message handled is acknowledged by the handler (transport.ShareTransport._handle).
Order per sender: messages delivered to a request that was lost with its connection (a reconnect, a
node that stopped or died with a request open) would be redelivered by the server in no fixed order,
after later ones, and the receiver would refuse them as replayed. The puller therefore checks the
consumer's delivery sequence: at a gap it starts the consumer afresh after the last message it handled
(and a node starting with unacknowledged deliveries does the same), so every sender's messages are
handled in stream order, none lost; at worst a message whose acknowledgement was lost comes again and
is refused as a duplicate.

`IntakeBudget` and `TokenBucket` are pure (they take the time as a parameter).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats
import nats.errors
import nats.js.errors
from nats.js import api

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often a waiting reader looks whether it was stopped

# What the handler says of a message: True accepted, False refused (junk, forged, duplicate, ...).
Handler = Callable[[object], Awaitable[bool]]


@dataclass
class TokenBucket:
    """`rate` tokens a second, at most `burst` held; `take` may drive the level below zero (a debt the
    refill pays back before `wait_s` is 0 again)."""

    rate: float
    burst: float
    level: float = field(default=-1.0)  # -1: full at the first use
    _t: float | None = None

    def __post_init__(self) -> None:
        if not (self.rate > 0 and self.burst > 0):
            raise ValueError(f"a token bucket needs a positive rate and burst, not {self.rate}, {self.burst}")
        if self.level < 0:
            self.level = self.burst

    def _refill(self, now: float) -> None:
        if self._t is not None and now > self._t:
            self.level = min(self.burst, self.level + (now - self._t) * self.rate)
        self._t = now if self._t is None else max(self._t, now)

    def take(self, amount: float, now: float) -> None:
        self._refill(now)
        self.level -= amount

    def wait_s(self, now: float) -> float:
        """Seconds until the level is back above zero (0 when it is)."""
        self._refill(now)
        return 0.0 if self.level > 0 else -self.level / self.rate


@dataclass(frozen=True)
class IntakeLimits:
    """How much one sender may make a node read, per second and in a burst. Every message costs its
    bytes plus `per_msg_bytes` (so that a flood of tiny messages is bounded too); all messages draw on
    the `total` budget, refused ones also on the much smaller `refused` one.

    The defaults: a link's sustained traffic is about 32 KB/s (netconfig.LinkBudget), so 8 MiB/s with a
    64 MiB burst reads half an hour's backlog at once and a full 256 MiB link store in under 30 s;
    refused messages are never useful, 512 KiB/s of them is already far more than any honest sender's
    (a version skew, a clock off) and bounds what a flood of junk costs the node and its server."""

    total_bytes_per_s: float = 8 * 1024 * 1024
    total_burst_bytes: float = 64 * 1024 * 1024
    refused_bytes_per_s: float = 512 * 1024
    refused_burst_bytes: float = 4 * 1024 * 1024
    per_msg_bytes: int = 1024


class IntakeBudget:
    """One sender's budget (IntakeLimits): `charge` each handled message, `wait_s` before asking for more."""

    def __init__(self, limits: IntakeLimits) -> None:
        self.limits = limits
        self.total = TokenBucket(limits.total_bytes_per_s, limits.total_burst_bytes)
        self.refused = TokenBucket(limits.refused_bytes_per_s, limits.refused_burst_bytes)
        self.waited_s = 0.0  # time spent waiting for this budget (a metric: > 0 means the sender was throttled)

    def charge(self, nbytes: int, accepted: bool, now: float) -> None:
        cost = nbytes + self.limits.per_msg_bytes
        self.total.take(cost, now)
        if not accepted:
            self.refused.take(cost, now)

    def wait_s(self, now: float) -> float:
        return max(self.total.wait_s(now), self.refused.wait_s(now))


HELD_KEY = "triwarn_held_sources"  # the stream metadata key holding the sources taken away (JSON)


async def _api(nc: nats.NATS, subject: str, body: dict | None = None, timeout_s: float = 2.0) -> dict:
    reply = await nc.request(subject, b"" if body is None else json.dumps(body).encode(), timeout=timeout_s)
    out = json.loads(reply.data)
    if "error" in out:
        raise RuntimeError(f"{subject}: {out['error'].get('description')}")
    return out


async def hold_sources(nc: nats.NATS, stream: str) -> bool:
    """Take the stream's sources away, keeping them in its metadata; False if it has none."""
    config = (await _api(nc, f"$JS.API.STREAM.INFO.{stream}"))["config"]
    if not config.get("sources"):
        return False
    metadata = {**(config.get("metadata") or {}), HELD_KEY: json.dumps(config["sources"])}
    await _api(nc, f"$JS.API.STREAM.UPDATE.{stream}", {**config, "sources": [], "metadata": metadata})
    return True


async def release_sources(nc: nats.NATS, stream: str) -> bool:
    """Give the stream back the sources `hold_sources` took; False if none were held."""
    config = (await _api(nc, f"$JS.API.STREAM.INFO.{stream}"))["config"]
    metadata = dict(config.get("metadata") or {})
    held = metadata.pop(HELD_KEY, None)
    if held is None:
        return False
    sources = json.loads(held)
    if not isinstance(sources, list) or len(sources) > 16:
        raise ValueError(f"{stream}: unreadable held sources in its metadata")
    names = {src.get("name") for src in config.get("sources") or []}
    merged = [*(config.get("sources") or []), *(src for src in sources if src.get("name") not in names)]
    await _api(nc, f"$JS.API.STREAM.UPDATE.{stream}", {**config, "sources": merged, "metadata": metadata})
    return True


@dataclass
class SourceHold:
    """When to hold a sender at the server (pure: the caller acts on `should_hold` / `should_release`).
    The first hold lasts `first_s`; a sender held again within `forgive_s` of its last release is held
    twice as long as the last time, up to `longest_s`."""

    first_s: float = 10.0
    longest_s: float = 300.0
    forgive_s: float = 600.0
    held_until: float | None = None
    last_hold_s: float = 0.0
    released_at: float | None = None
    holds: int = 0

    def should_hold(self, over_budget: bool, now: float) -> float | None:
        """The hold's length if the sender is to be held now, else None."""
        if not over_budget or self.held_until is not None:
            return None
        repeat = self.released_at is not None and now - self.released_at < self.forgive_s
        length = min(self.longest_s, 2 * self.last_hold_s) if repeat and self.last_hold_s else self.first_s
        self.held_until, self.last_hold_s = now + length, length
        self.holds += 1
        return length

    def should_release(self, now: float) -> bool:
        if self.held_until is None or now < self.held_until:
            return False
        self.held_until, self.released_at = None, now
        return True


def _is_status(msg) -> bool:
    """A pull request's status (100 heartbeat, 404, 408 expired, 409 ...), not a stream message: stream
    messages come with a JetStream acknowledgement subject as reply. (A header named Status in a
    stored message cannot pass for one.)"""
    return not (msg.reply or "").startswith("$JS.ACK.")


class InboxPuller:
    """Reads one inbox stream through the node's durable pull consumer `durable` (see the module).

    batch: messages asked for at a time; expires_s: how long one request waits on the server for
    messages (an idle stream costs one request per expires_s; a request lost with a broken connection is
    replaced after expires_s + grace_s). Creating the consumer replaces a push consumer of the same
    name left by an older release, from the first message it had not acknowledged.
    """

    def __init__(self, nc: nats.NATS, js, stream: str, durable: str, handler: Handler, limits: IntakeLimits,
                 *, batch: int = 16, expires_s: float = 2.0, grace_s: float = 1.0,
                 ack_wait_s: float = 30.0, monotonic: Callable[[], float] = time.monotonic,
                 hold: SourceHold | None = None) -> None:
        if not 1 <= batch <= 1000:
            raise ValueError(f"batch must be 1..1000, not {batch}")
        self.nc, self.js, self.stream, self.durable = nc, js, stream, durable
        self.handler = handler
        self.budget = IntakeBudget(limits)
        self.batch, self.expires_s, self.grace_s, self.ack_wait_s = batch, expires_s, grace_s, ack_wait_s
        self.monotonic = monotonic
        self.requests = 0
        self.handled = 0
        self.hold = hold  # None: never hold this sender at the server
        self.restarts = 0  # consumer restarts to keep the order (after a lost request)
        self.last_dseq = 0  # the consumer's delivery sequence of the last message taken in order
        self.last_sseq = 0  # the stream sequence of the last message handled
        self._sub = None
        self._inbox = ""
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def start(self) -> None:
        if self.hold is not None:  # a hold left by a node that died while holding this sender ends now
            with contextlib.suppress(Exception):
                if await release_sources(self.nc, self.stream):
                    log.warning("%s: gave back the sources held by an earlier run", self.stream)
        await self._ensure_consumer()
        await self._subscribe()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"inbox {self.stream}")

    async def _subscribe(self) -> None:
        self._inbox = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(f"{self._inbox}.*", pending_msgs_limit=20 * self.batch + 1000,
                                            pending_bytes_limit=64 * 1024 * 1024)

    def _config(self, **start) -> api.ConsumerConfig:
        return api.ConsumerConfig(durable_name=self.durable, ack_policy=api.AckPolicy.EXPLICIT,
                                  max_ack_pending=max(1000, 4 * self.batch), ack_wait=self.ack_wait_s,
                                  **(start or {"deliver_policy": api.DeliverPolicy.ALL}))

    async def _ensure_consumer(self) -> None:
        """Resume the durable pull consumer; create it if there is none; start it afresh after the first
        message it had not acknowledged when that is the only way to keep the stream's order (below)."""
        try:
            info = await self.js.consumer_info(self.stream, self.durable)
        except nats.js.errors.NotFoundError:
            await self.js.add_consumer(self.stream, config=self._config())
            self.last_dseq = 0
            return
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        if not info.config.deliver_subject and not info.num_ack_pending:
            self.last_dseq = info.delivered.consumer_seq if info.delivered else 0
            return
        # A push consumer of an older release, or messages delivered but never acknowledged (a node that
        # crashed, or closed with a request open): the server would redeliver those in no fixed order,
        # after later ones, and the receiver would refuse them as replayed. A consumer started at the
        # first unacknowledged message delivers everything in order instead.
        await self._restart_consumer(floor + 1)

    async def _restart_consumer(self, start_seq: int) -> None:
        log.info("%s: consumer %s starts afresh from stream seq %d", self.stream, self.durable, start_seq)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self.js.delete_consumer(self.stream, self.durable)
        await self.js.add_consumer(self.stream, config=self._config(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(1, start_seq)))
        self.last_dseq = 0
        self.restarts += 1

    async def _run(self) -> None:
        next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.durable}"
        while not self._stopping:
            if self.hold is not None:
                await self._police()
            wait = self.budget.wait_s(self.monotonic())
            if wait > 0:
                self.budget.waited_s += wait
                await asyncio.sleep(min(wait, POLL_S))
                continue
            self.requests += 1
            reply = f"{self._inbox}.{self.requests}"
            body = {"batch": self.batch, "expires": int(self.expires_s * 1e9)}
            try:
                await self.nc.publish(next_subject, json.dumps(body).encode(), reply=reply)
                if await self._take_batch(reply):
                    await self._resync()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken connection: nats-py reconnects, ask again shortly
                if self.nc.is_closed:
                    return
                log.info("%s: pull request failed: %r", self.stream, exc)
                await asyncio.sleep(0.2)

    async def _police(self) -> None:
        """Hold the sender at the server while it floods what the node refuses; give it back after."""
        now = self.monotonic()
        try:
            length = self.hold.should_hold(self.budget.refused.wait_s(now) > 0, now)
            if length is not None and await hold_sources(self.nc, self.stream):
                log.warning("%s: the sender is over its refused budget: its source is held for %.0f s",
                            self.stream, length)
            elif self.hold.should_release(now):
                # On probation: no refused burst, the first refused message holds it again (and longer).
                self.budget.refused.level = 0.0
                if await release_sources(self.nc, self.stream):
                    log.warning("%s: source given back", self.stream)
        except Exception as exc:  # the server did not answer: try again at the next turn
            log.info("%s: holding or releasing the source failed: %r", self.stream, exc)

    async def _take_batch(self, reply: str) -> bool:
        """Handle the messages of one request, in order, until it is complete, ends with a status or is
        presumed lost (nothing heard for expires_s + grace_s). True: a delivery was missed (sent to a
        request lost with a connection), so this consumer must start again after the last handled."""
        got = 0
        deadline = self.monotonic() + self.expires_s + self.grace_s
        while got < self.batch and not self._stopping:
            left = deadline - self.monotonic()
            if left <= 0:
                return False
            try:  # short waits, so that a stop is seen promptly
                msg = await self._sub.next_msg(timeout=min(left, POLL_S))
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            if _is_status(msg):
                if msg.subject != reply:
                    continue  # the end of an earlier request given up on
                status = (msg.headers or {}).get(api.Header.STATUS, "")
                if status == "100":  # a heartbeat: the request is alive
                    deadline = self.monotonic() + self.expires_s + self.grace_s
                    continue
                if status not in ("404", "408"):
                    log.info("%s: pull request ended: %s %s", self.stream, status,
                             (msg.headers or {}).get(api.Header.DESCRIPTION, ""))
                return False
            got += 1
            if not self._in_order(msg):
                return True
            await self._handle(msg)
        return False

    def _in_order(self, msg) -> bool:
        """True if the delivery may be handled now: the next one in the consumer's delivery sequence, or
        a redelivery of a message already handled (its acknowledgement was lost: admission refuses it as
        a duplicate and it is acknowledged again). False when deliveries were missed (sent to a request
        lost with a connection): the server would redeliver them after this one, and handling this one
        first would lose them (refused as replayed)."""
        seq = msg.metadata.sequence
        if seq.consumer == self.last_dseq + 1:
            self.last_dseq = seq.consumer
            return True
        if msg.metadata.num_delivered > 1 and seq.stream <= self.last_sseq:
            return True
        log.info("%s: delivery %d came after %d: restarting the consumer after stream seq %d", self.stream,
                 seq.consumer, self.last_dseq, self.last_sseq)
        return False

    async def _resync(self) -> None:
        """Start the consumer again after the last message handled (a fresh inbox: nothing of the old
        requests is taken)."""
        if self.last_sseq:
            start = self.last_sseq + 1
        else:
            info = await self.js.consumer_info(self.stream, self.durable)
            start = (info.ack_floor.stream_seq if info.ack_floor else 0) + 1
        with contextlib.suppress(nats.errors.Error):
            await self._sub.unsubscribe()
        await self._restart_consumer(start)
        await self._subscribe()

    async def _handle(self, msg) -> None:
        accepted = False
        try:
            accepted = bool(await self.handler(msg))
        finally:
            self.handled += 1
            self.last_sseq = max(self.last_sseq, msg.metadata.sequence.stream)
            self.budget.charge(len(msg.data or b""), accepted, self.monotonic())

    async def drain(self, linger_s: float = 0.05) -> None:
        """Ask for nothing more; handle (and so acknowledge) what has arrived, and what comes within
        linger_s, then stop."""
        self._stopping = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._sub is None:
            return
        while True:
            try:
                msg = await self._sub.next_msg(timeout=linger_s)
            except (TimeoutError, nats.errors.TimeoutError, nats.errors.Error):
                break
            if not _is_status(msg):
                if not self._in_order(msg):
                    break  # left unacknowledged: the next start begins after the last handled message
                await self._handle(msg)
        await self.stop()

    async def stop(self) -> None:
        """Stop at once (what was delivered but not handled is redelivered after the ack wait); a held
        sender's source is given back."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self.hold is not None and self.hold.held_until is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await release_sources(self.nc, self.stream)
            self.hold.held_until = None
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error, nats.js.errors.Error):
                await self._sub.unsubscribe()
            self._sub = None


class InboxReaders:
    """The node's pullers, one per inbox stream, drained or stopped together."""

    def __init__(self, pullers: list[InboxPuller]) -> None:
        self.pullers = pullers

    async def drain(self) -> None:
        """Stop asking, let what is in hand finish (and be acknowledged)."""
        await asyncio.gather(*(p.drain() for p in self.pullers))

    async def unsubscribe(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.pullers))
