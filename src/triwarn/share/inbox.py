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
message it stored: 0.16-0.32 s from the give-back to the message in the inbox, measured).

A hold must never leave a partner cut off. The sources a stream must have come from the generated
network config (netconfig.inbox_sources), not from what the stream or an earlier run says: at start
the puller sets them (whatever a node that died holding, or anything else, left: no sources, a stale
hold mark), and giving a source back writes the planned sources again (idempotent, whatever happened
in between: the source watchdog's re-sync, which briefly removes sources, races with a hold but can
only leave a source on, never off; the puller checks the stream against what it must be every 5 s
and sets it again when another writer undid a hold or a give-back). A hold or give-back the server
did not take is logged and tried again every second or so until it is; `stop` gives a held source
back, and the next start does if the node died first. The hold is marked in the stream's metadata
(HELD_KEY) for operators.

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


def _source_key(src: dict) -> tuple:
    """What makes two stream sources the same (the server echoes a source with defaults filled in)."""
    ext = src.get("external") or {}
    transforms = tuple((t.get("src"), t.get("dest")) for t in src.get("subject_transforms") or [])
    return (src.get("name"), ext.get("api") or None, ext.get("deliver") or None,
            src.get("filter_subject") or None, transforms)


async def set_sources(nc: nats.NATS, stream: str, sources: list[dict], *, held: bool = False) -> bool:
    """Make the stream source exactly `sources`, marked held (HELD_KEY in its metadata) or not; idempotent.
    True if the stream was changed. Raises (RuntimeError, a NATS error) if the server did not take it."""
    config = (await _api(nc, f"$JS.API.STREAM.INFO.{stream}"))["config"]
    metadata = dict(config.get("metadata") or {})
    current = config.get("sources") or []
    if held:
        if current:
            metadata[HELD_KEY] = json.dumps(current)
        metadata.setdefault(HELD_KEY, "[]")
    else:
        metadata.pop(HELD_KEY, None)
    if (sorted(map(_source_key, current)) == sorted(map(_source_key, sources))
            and metadata == (config.get("metadata") or {})):
        return False
    await _api(nc, f"$JS.API.STREAM.UPDATE.{stream}", {**config, "sources": sources, "metadata": metadata})
    return True


async def hold_sources(nc: nats.NATS, stream: str) -> bool:
    """Take the stream's sources away (marked held); True if the stream was changed."""
    return await set_sources(nc, stream, [], held=True)


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
    sources: what the stream must source (netconfig.inbox_sources; None: leave its sources alone, and
    then no hold either); hold: when to hold the sender at the server (None: never).
    """

    def __init__(self, nc: nats.NATS, js, stream: str, durable: str, handler: Handler, limits: IntakeLimits,
                 *, batch: int = 16, expires_s: float = 2.0, grace_s: float = 1.0,
                 ack_wait_s: float = 30.0, monotonic: Callable[[], float] = time.monotonic,
                 hold: SourceHold | None = None, sources: list[dict] | None = None,
                 retry_s: float = 1.0, verify_s: float = 5.0) -> None:
        if not 1 <= batch <= 1000:
            raise ValueError(f"batch must be 1..1000, not {batch}")
        self.nc, self.js, self.stream, self.durable = nc, js, stream, durable
        self.handler = handler
        self.budget = IntakeBudget(limits)
        self.batch, self.expires_s, self.grace_s, self.ack_wait_s = batch, expires_s, grace_s, ack_wait_s
        self.monotonic = monotonic
        self.requests = 0
        self.handled = 0
        self.sources = sources
        self.hold = hold if sources is not None else None  # None: never hold this sender at the server
        self.retry_s = retry_s  # a hold or give-back the server did not take is tried again after this
        self.held_at_server: bool | None = None  # what the stream was last set to (None: not known)
        self.source_failures = 0  # holds and give-backs the server did not take (each tried again)
        self._source_retry_at = 0.0
        self.verify_s = verify_s  # how often the stream's sources are checked against what they must be
        self._verify_at = 0.0
        self.restarts = 0  # consumer restarts to keep the order (after a lost request)
        self.last_dseq = 0  # the consumer's delivery sequence of the last message taken in order
        self.last_sseq = 0  # the stream sequence of the last message handled
        self._sub = None
        self._inbox = ""
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def start(self) -> None:
        # Whatever an earlier run left (a node that died holding this sender), the planned sources now.
        await self._apply_sources()
        await self._ensure_consumer()
        await self._subscribe()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"inbox {self.stream}")

    def _want_held(self) -> bool:
        return self.hold is not None and self.hold.held_until is not None

    async def _apply_sources(self) -> None:
        """Bring the stream's sources to what they must be now (the planned ones, or none while the
        sender is held); a failure is logged and tried again retry_s later (from `_run`)."""
        if self.sources is None:
            return
        want = self._want_held()
        try:
            changed = await set_sources(self.nc, self.stream, [] if want else self.sources, held=want)
        except Exception as exc:  # no answer, or refused: try again, never leave it half done
            self.source_failures += 1
            self._source_retry_at = self.monotonic() + self.retry_s
            log.warning("%s: %s its source failed (%r); trying again in %.0f s", self.stream,
                        "holding" if want else "giving back", exc, self.retry_s)
            return
        if changed:
            log.warning("%s: %s", self.stream, f"the sender's source is held for {self.hold.last_hold_s:.0f} s"
                        if want else "the sender's planned source is set (given back)")
        self.held_at_server = want
    async def _subscribe(self) -> None:
        self._inbox = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(f"{self._inbox}.*", pending_msgs_limit=20 * self.batch + 1000,
                                            pending_bytes_limit=64 * 1024 * 1024)

    def _config(self, **start) -> api.ConsumerConfig:
        return api.ConsumerConfig(durable_name=self.durable, ack_policy=api.AckPolicy.EXPLICIT,
                                  max_ack_pending=max(1000, 4 * self.batch), ack_wait=self.ack_wait_s,
                                  **(start or {"deliver_policy": api.DeliverPolicy.ALL}))

    async def _ensure_consumer(self) -> None:
        """Create the durable pull consumer if there is none; else start it afresh after the last message
        it had acknowledged (below)."""
        try:
            info = await self.js.consumer_info(self.stream, self.durable)
        except nats.js.errors.NotFoundError:
            await self.js.add_consumer(self.stream, config=self._config())
            self.last_dseq = 0
            return
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        # Always afresh, never resumed: a push consumer of an older release, or messages delivered but
        # never acknowledged (a node that crashed, or closed with a request open), would be redelivered
        # in no fixed order, after later ones, and the receiver would refuse them as replayed; and a
        # request of a node killed a moment ago can still be served (nats-server serves a request up to
        # 250 ms old without checking its interest when leafnodes are on), after this check, so its
        # message would come back only after the ack wait (30 s). A new consumer started at the first
        # unacknowledged message has none of the dead node's requests and delivers everything in order.
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
            if self.sources is not None:
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
        """Hold the sender at the server while it floods what the node refuses; give it back after; and
        retry whichever of the two the server did not take."""
        now = self.monotonic()
        if self.hold is not None:
            self.hold.should_hold(self.budget.refused.wait_s(now) > 0, now)
            if self.hold.should_release(now):
                # On probation: no refused burst, the first refused message holds it again (and longer).
                self.budget.refused.level = 0.0
        if now >= self._verify_at:  # another writer (the source watchdog's re-sync) may have raced with ours
            self._verify_at = now + self.verify_s
            self.held_at_server = None
        if self.held_at_server != self._want_held() and now >= self._source_retry_at:
            await self._apply_sources()

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
        # Only a sender held (or being held): one never held has its planned source (set at start), and
        # a server that is not there cannot answer (the next start gives it back in any case).
        if self.hold is not None and (self.hold.held_until is not None or self.held_at_server) \
                and self.nc.is_connected:
            self.hold.held_until = None
            for _ in range(3):
                await self._apply_sources()
                if self.held_at_server is False:
                    break
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
