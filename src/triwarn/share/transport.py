"""ShareTransport: the asyncio edge a national node uses to share over NATS JetStream.

    t = ShareTransport(nation="kr", spec=spec, key=key, trust=trust, **net.node_credentials("kr"))
    await t.connect()
    await t.publish(TrackReport, tracks=[...])            # policy check, sign, store in OUT_KR
    await t.start_receiving(on_message=handle)              # verify, dedupe, in order per sender
    ...
    await t.close()

Publishing stores the message in the nation's own outbox stream (OUT_<N>) and waits for JetStream's
acknowledgement, so once `publish` returns the message survives any link or hub outage. Receiving reads
the nation's inbox streams (IN_<S>2<N>, one per sender, so that no sender can crowd out another's
messages) through one durable pull consumer each, side by side, each sender under its own intake
budget (share/inbox.py: a partner flooding its link is read slowly and never ahead of another's
messages): a restarted node resumes after the last message it acknowledged. Each message is
acknowledged after it was admitted (or rejected) and handed to the callback, so a clean restart
neither loses nor repeats anything; after a crash, the at most one message in the callback's hands is
delivered again and the node's idempotent picture absorbs it.
A message the node cannot use is acknowledged too (never redelivered for ever), counted and kept in a
bounded dead-letter list; and whatever is in the outbox, `connect` finds the node's own last message.

The decisions are made by pure code (`Sender`, `Admission`) over data and the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import nats
import nats.errors
import nats.js.errors
from nats.js import api

from triwarn.share import netconfig, signing
from triwarn.share.admission import Admission, Verdict
from triwarn.share.inbox import InboxPuller, InboxReaders, IntakeLimits, SourceHold
from triwarn.share.policy import NetworkSpec
from triwarn.share.resync import SourceWatchdog
from triwarn.share.schema import Message
from triwarn.share.sealing import SealedFrame, Sealer, decode_wire
from triwarn.share.sender import Outgoing, Sender

log = logging.getLogger(__name__)

OnMessage = Callable[[Message], Awaitable[None] | None]


class PublishError(RuntimeError):
    """The nation's own server did not store a message in time (it is not shared)."""


@dataclass(frozen=True)
class DeadLetter:
    """A received message the node acknowledged without using (so it is never redelivered): when
    (receiver's clock, UTC s), the subject it came on, why (an admission reason, `callback_error` or
    `handler_error`), the detail and its first bytes (at most DEAD_LETTER_BYTES)."""

    t_unix_s: float
    subject: str
    reason: str
    detail: str
    head: bytes


DEAD_LETTER_BYTES = 256


class ShareTransport:
    """Publish and receive signed messages for one nation.

    servers/nkeys_seed_str/tls: the nation's exchange-account node login (LocalNetwork.node_credentials,
    or NationCredentials.node_login from its credentials file); user/password for a server configured
    with password users instead (a generated network has none).
    clock: returns UTC seconds; the envelope time of published messages and the receiver's time window
    both use it (pass a simulated clock in exercises).
    durable: the inbox consumer's name; reuse it across restarts to resume.
    intake: what one sender may make the node read (share/inbox.py: a flooding partner is read slowly,
    the others as before); fetch_batch: messages asked for at a time from one inbox stream; hold_floods:
    take a sender over its refused budget off the node's server for a while (inbox.SourceHold). Either
    way, every inbox stream's sources are set to the planned ones at start (netconfig.inbox_sources),
    whatever an earlier run left, and a give-back the server did not take is tried again until it is.
    box_key: the nation's X25519 key (signing.load_box_key of <nation>.xkey; the partners' .xpub in trust):
    every message is then sealed to each recipient, only sealed messages are admitted (share/sealing.py).
    exercise: the node's exercise name (NodeSettings.exercise; None: live). Every message published is
    stamped with it (Sender) and only messages of the same mode and exercise are admitted (Admission).
    """

    def __init__(self, nation: str, spec: NetworkSpec, key: signing.SigningKey, trust: signing.TrustStore,
                 *, servers: list[str], user: str | None = None, password: str | None = None,
                 nkeys_seed_str: str | None = None, tls: ssl.SSLContext | None = None,
                 clock: Callable[[], float] = time.time, durable: str = "node",
                 future_skew_s: float = 5.0, max_age_s: float = 900.0,
                 ack_timeout_s: float = 2.0, publish_timeout_s: float = 30.0,
                 restore_window: int = 5000, exercise: str | None = None, outbox_search: int = 1000,
                 dead_letter_limit: int = 100, box_key: signing.BoxKey | None = None,
                 intake: IntakeLimits | None = None, fetch_batch: int = 16, hold_floods: bool = True) -> None:
        self.nation = nation
        self.spec = spec
        self.clock = clock
        self.durable = durable
        self.exercise = exercise
        # With an encryption key every message is sealed to each recipient and only sealed ones are taken.
        sealer = Sealer(nation, box_key, trust) if box_key is not None else None
        self.sender = Sender(nation, key, spec, exercise=exercise, sealer=sealer)
        self.admission = Admission(nation, spec, trust, future_skew_s=future_skew_s, max_age_s=max_age_s,
                                   exercise=exercise, sealer=sealer)
        self._connect_opts = {"servers": servers, "tls": tls, **{
            k: v for k, v in (("user", user), ("password", password), ("nkeys_seed_str", nkeys_seed_str))
            if v is not None}}
        self.ack_timeout_s = ack_timeout_s
        self.publish_timeout_s = publish_timeout_s
        self.published = 0
        self.publish_retries = 0
        self.nc: nats.NATS | None = None
        self.js = None
        self.intake = intake if intake is not None else IntakeLimits()
        self.fetch_batch = fetch_batch
        self.hold_floods = hold_floods
        self._sub: InboxReaders | None = None
        self._queue: asyncio.Queue[Message] | None = None
        self._on_message: OnMessage | None = None
        self.watchdog: SourceWatchdog | None = None
        self.callback_errors = 0
        self.restore_window = restore_window
        self.restored = 0
        self.outbox_search = outbox_search
        self.outbox_skipped: Counter[str] = Counter()  # why, at connect, outbox messages were passed over
        self.dead_letters: deque[DeadLetter] = deque(maxlen=dead_letter_limit)
        self.dead_lettered = 0

    def set_exercise(self, exercise: str | None) -> None:
        """Take the node's mode (its exercise name; None: live) for everything sealed and admitted from
        now on: a node's transport follows the node's settings (LiveNode and the exercise runs call it
        before the first message)."""
        if exercise is not None and not exercise:
            raise ValueError("an exercise needs a non-empty name (None: live)")
        self.exercise = exercise
        self.sender.exercise = exercise
        self.admission.exercise = exercise

    @property
    def counters(self) -> dict[str, int]:
        """Receive counters (accepted and every reject reason) and publish counters, for metrics."""
        out = {f"recv_{k}": v for k, v in self.admission.counters.items()}
        out["published"] = self.published
        out["publish_retries"] = self.publish_retries
        out["callback_errors"] = self.callback_errors
        out["dead_lettered"] = self.dead_lettered
        out["recv_epoch_changes"] = self.admission.epoch_changes
        out["outbox_skipped"] = sum(self.outbox_skipped.values())
        out["inbox_resyncs"] = self.watchdog.resyncs if self.watchdog is not None else 0
        # How long the node held back a sender over its intake budget (share/inbox.py), all senders.
        pullers = self._sub.pullers if self._sub is not None else []
        out["inbox_throttled_ms"] = int(1000 * sum(p.budget.waited_s for p in pullers))
        out["inbox_holds"] = sum(p.hold.holds for p in pullers if p.hold is not None)
        for msg_class, n in self.sender.release.refused.items():
            out[f"refused_{msg_class}"] = n
        return out

    async def connect(self, timeout_s: float = 30.0) -> None:
        """Connect (retrying for up to timeout_s while the nation's server is not up yet; reconnecting
        for ever afterwards) and continue the sequence from the last message in the outbox."""
        async def on_error(exc: Exception) -> None:
            log.info("%s: NATS connection: %s", self.nation, exc)

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                # With unlimited reconnects nats-py also retries the first connection for ever: bound it.
                self.nc = await asyncio.wait_for(
                    nats.connect(**self._connect_opts, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                                 connect_timeout=2.0, allow_reconnect=True, error_cb=on_error),
                    timeout=max(0.5, deadline - time.monotonic()))
                break
            except (TimeoutError, OSError, nats.errors.NoServersError) as exc:
                if time.monotonic() > deadline:
                    raise ConnectionError(f"{self.nation}: no server at {self._connect_opts['servers']}: "
                                          f"{exc!r}") from exc
                await asyncio.sleep(0.2)
        self.js = self.nc.jetstream(timeout=self.ack_timeout_s)
        epoch, seq = await self._last_published_seq()
        # None: a new epoch, stamped by the Sender at its first message (with the clock that stamps it).
        self.sender.epoch = epoch
        self.sender.next_seq = seq + 1
        if epoch is None:
            # An empty outbox is every first start (info); one that held messages but none of this node's own
            # (a lost or foreign stream) is worth a warning.
            log.log(logging.WARNING if seq else logging.INFO,
                    "%s: no message of its own in %s: a new sequence epoch from seq %d", self.nation,
                    netconfig.stream_out(self.nation), self.sender.next_seq)
        if self.nation != self.spec.hub:
            self.watchdog = SourceWatchdog(self.nc, self.inbox_streams)
            self.watchdog.start()

    async def _last_published_seq(self) -> tuple[int | None, int]:
        """(epoch, seq) of the newest message in the outbox that is this node's own (decodes, names this
        nation as sender and carries its signature), searching back at most `outbox_search` messages;
        (None, the outbox's stream sequence) when there is none: the caller starts a new epoch.

        Anything else found on the way (junk or a foreign message stored with the node's login) is
        passed over and counted in `outbox_skipped` by reason: one bad message must not keep a node from
        starting for the stream's retention. If none of them is the node's own, the sequence continues
        from the outbox's last stream sequence (also when every message has expired): every seq the
        node sealed was stored at least once, so no seq a partner has accepted is reused (partners
        accept the gap: admission's seq_jump bound). Without a message of its own the node does not know
        its epoch, so it starts a new one, which partners accept in place of the old (a lost outbox: the
        stream sequence back at 0, the node's seq back at 1; docs/sharing.md, "Sequence epochs").
        """
        stream = netconfig.stream_out(self.nation)
        info = await self.js.stream_info(stream)
        if info.state.messages == 0:  # new, or everything expired: the stream's sequence still counts
            return None, info.state.last_seq
        own_key = self.sender.key.verify_key
        first = max(info.state.first_seq, info.state.last_seq - self.outbox_search + 1)
        skipped: Counter[str] = Counter()
        found = None
        for stream_seq in range(info.state.last_seq, first - 1, -1):
            try:
                raw = await self.js.get_msg(stream, seq=stream_seq)
            except nats.js.errors.NotFoundError:  # deleted on its own: nothing to judge
                continue
            found, reason = _own_seq(raw.data, self.nation, own_key, self.sender.sealer)
            if found is not None:
                break
            skipped[reason] += 1
        self.outbox_skipped.update(skipped)
        if skipped:
            log.warning("%s: passed over %d message(s) in %s that are not this node's own (%s)%s",
                        self.nation, sum(skipped.values()), stream,
                        ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())),
                        "" if found is not None else
                        f"; none of the last {self.outbox_search} is: continuing from the stream's "
                        f"sequence {info.state.last_seq}")
        return found if found is not None else (None, info.state.last_seq)

    # -- publishing -----------------------------------------------------------------------------------
    def seal(self, cls: type[Message], *, to: tuple[str, ...] | None = None, **fields) -> Outgoing:
        """Stamp, policy-check and sign without sending (what `publish` sends)."""
        return self.sender.seal(cls, self.clock(), to=to, **fields)

    async def publish(self, cls: type[Message], *, to: tuple[str, ...] | None = None, **fields) -> Outgoing:
        """Seal a message and store it in the outbox for every released recipient; returns when stored.

        A recipient the release policy refuses is counted and never sent. Raises PublishError if the
        nation's own server has not stored it within publish_timeout_s (retries reuse the JetStream
        message id, so a retry never stores a message twice).
        """
        out = self.seal(cls, to=to, **fields)
        await self.send(out)
        return out

    async def send(self, out: Outgoing) -> None:
        """Store an already sealed message (see `publish`)."""
        pending = list(zip(out.subjects, out.recipients, strict=True))
        deadline = time.monotonic() + self.publish_timeout_s
        while pending:
            futures = [await self.js.publish_async(subject, out.data_for(recipient),
                                                   headers={"Nats-Msg-Id": out.dedupe_id(recipient)})
                       for subject, recipient in pending]
            done, _ = await asyncio.wait(futures, timeout=self.ack_timeout_s)
            failed = []
            for (subject, recipient), fut in zip(pending, futures, strict=True):
                if fut not in done or fut.exception() is not None:
                    failed.append((subject, recipient))
                    if not fut.done():
                        fut.cancel()
            pending = failed
            if not pending:
                break
            if time.monotonic() > deadline:
                raise PublishError(f"{self.nation}: outbox did not store {out.msg.msg_id} for "
                                   f"{[r for _, r in pending]} within {self.publish_timeout_s} s")
            self.publish_retries += 1
            await asyncio.sleep(0.05)
        self.published += 1

    async def publish_batch(self, outs: list[Outgoing]) -> None:
        """Store many sealed messages with all acknowledgements in flight at once (throughput path)."""
        await self.finish_batch(outs, await self.begin_batch(outs))

    async def begin_batch(self, outs: list[Outgoing]) -> list[asyncio.Future]:
        """Hand many sealed messages to the client without waiting for their acknowledgements; returns
        the acknowledgement futures for `finish_batch`. Lets a caller do other work (another node's
        step) while the server stores them."""
        futures = []
        for out in outs:
            for subject, recipient in zip(out.subjects, out.recipients, strict=True):
                futures.append(await self.js.publish_async(
                    subject, out.data_for(recipient), headers={"Nats-Msg-Id": out.dedupe_id(recipient)}))
        return futures

    async def finish_batch(self, outs: list[Outgoing], futures: list[asyncio.Future]) -> None:
        """Wait for the acknowledgements of a `begin_batch`; messages not acknowledged in ack_timeout_s
        are stored again through the retrying path (bounded by publish_timeout_s; raises PublishError)."""
        # An acknowledgement can be lost with a dying server and its future then never completes:
        # wait a bounded time, then fall back to the retrying path for all (the message ids make the
        # repeats harmless).
        done, pending = await asyncio.wait(futures, timeout=self.ack_timeout_s) if futures else (set(), set())
        for fut in pending:
            fut.cancel()
        if pending or any(f.exception() is not None for f in done):
            for out in outs:
                await self.send(out)
            return
        self.published += len(outs)

    # -- receiving ------------------------------------------------------------------------------------
    @property
    def inbox_streams(self) -> list[str]:
        """The nation's inbox streams, one per sender that releases anything to it."""
        return netconfig.inbox_streams(self.spec, self.nation)

    async def start_receiving(self, on_message: OnMessage | None = None) -> None:
        """Read every inbox stream through its durable pull consumer (each sender's messages in order,
        the senders side by side, each under its own intake budget: share/inbox.py).
        Accepted messages go to on_message (sync or async), or, without one, to the `messages()`
        iterator. Rejections are counted and logged."""
        self._on_message = on_message
        if on_message is None:
            self._queue = asyncio.Queue()
        self.restored = 0
        for stream in self.inbox_streams:
            self.restored += await self._restore_admission_state(stream)
        planned = netconfig.inbox_sources(self.spec, self.nation)
        pullers = [InboxPuller(self.nc, self.js, stream, self.durable, self._handle, self.intake,
                               batch=self.fetch_batch, hold=SourceHold() if self.hold_floods else None,
                               sources=planned[stream])
                   for stream in self.inbox_streams]
        self._sub = InboxReaders(pullers)
        for puller in pullers:
            await puller.start()

    async def _restore_admission_state(self, stream: str) -> int:
        """After a restart, re-learn sequence numbers and ids from the last `restore_window` messages the
        durable consumer had acknowledged, so that a replay of one of them is still refused. Returns
        how many messages were read."""
        try:
            info = await self.js.consumer_info(stream, self.durable)
        except nats.js.errors.NotFoundError:
            return 0
        floor = info.ack_floor.stream_seq if info.ack_floor else 0
        if not floor:
            return 0
        first = max(1, floor - self.restore_window + 1)
        sub = await self.js.subscribe(
            "tw.>", stream=stream, ordered_consumer=True,
            config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=first))
        read = 0
        try:
            while True:
                try:
                    raw = await sub.next_msg(timeout=2.0)
                except nats.errors.TimeoutError:
                    break
                if raw.metadata.sequence.stream > floor:
                    break
                self.admission.restore(raw.data, raw.subject)
                read += 1
                if raw.metadata.sequence.stream == floor:
                    break
        finally:
            with contextlib.suppress(nats.errors.Error, nats.js.errors.Error):
                await sub.unsubscribe()
        return read

    async def _handle(self, raw) -> bool:
        """Admit, hand over, acknowledge; True if the message was accepted. Every message is acknowledged,
        whatever happens to it: one that cannot be used is counted and dead-lettered, never redelivered
        for ever."""
        verdict = None
        try:
            verdict = self.admit(raw.data, raw.subject)
            if not verdict.accepted:
                if verdict.reason != "duplicate":  # a duplicate is normal after redelivery
                    self._dead_letter(raw, verdict.reason, verdict.detail)
            elif self._on_message is not None:
                try:
                    result = self._on_message(verdict.msg)
                    if asyncio.iscoroutine(result):
                        await result
                except Exception as exc:
                    # Redelivery would not help (the id is now known: it would come back as a duplicate),
                    # so the failure is the node's to handle; log it loudly and carry on.
                    self.callback_errors += 1
                    log.exception("%s: on_message failed for %s", self.nation, verdict.msg.msg_id)
                    self._dead_letter(raw, "callback_error", f"{type(exc).__name__}: {exc}")
            else:
                self._queue.put_nowait(verdict.msg)
        except Exception as exc:  # admit never raises; anything else here must still not stall the inbox
            log.exception("%s: handling a message on %s failed", self.nation, raw.subject)
            self._dead_letter(raw, "handler_error", f"{type(exc).__name__}: {exc}")
        finally:
            with contextlib.suppress(nats.errors.Error, nats.js.errors.Error):
                await raw.ack()  # if the connection is gone, the server redelivers it: no loss
        return verdict is not None and verdict.accepted

    def _dead_letter(self, raw, reason: str, detail: str) -> None:
        self.dead_lettered += 1
        self.dead_letters.append(DeadLetter(t_unix_s=self.clock(), subject=str(raw.subject), reason=reason,
                                            detail=detail[:500], head=bytes(raw.data[:DEAD_LETTER_BYTES])))

    def admit(self, data: bytes, subject: str | None) -> Verdict:
        """The pure admission decision against the transport's clock."""
        return self.admission.admit(data, subject, self.clock())

    async def messages(self) -> AsyncIterator[Message]:
        """Accepted messages, in order per sender (when start_receiving had no callback)."""
        if self._queue is None:
            raise RuntimeError("start_receiving() without a callback first")
        while True:
            yield await self._queue.get()

    async def stop_receiving(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def close(self) -> None:
        """Stop receiving (the durable consumer stays on the server for the next start) and disconnect."""
        await self.stop_receiving()
        if self.watchdog is not None:
            await self.watchdog.stop()
            self.watchdog = None
        if self.nc is not None:
            with contextlib.suppress(nats.errors.Error):
                await self.nc.drain()
            self.nc = None


def _own_seq(data: bytes, nation: str, key: signing.VerifyKey,
             sealer: Sealer | None = None) -> tuple[tuple[int, int] | None, str]:
    """((epoch, seq), "") if `data` is a message this nation sealed (it decodes, names the nation as sender and
    carries its signature; a sealed frame must also open with the nation's key); else (None, why not):
    `undecodable`, `foreign` (another sender), `not_signed_by_us` or `unopenable`. Never raises."""
    try:
        msg = decode_wire(data)
    except Exception:  # whatever is in the outbox, the node must start
        return None, "undecodable"
    if msg.sender != nation:
        return None, "foreign"
    if not signing.verify_wire(data, msg, key):
        return None, "not_signed_by_us"
    if isinstance(msg, SealedFrame):
        if sealer is None:
            return None, "unopenable"
        try:
            msg = sealer.open_own(msg)
        except Exception:  # a frame of ours that no longer opens (a changed key): not a sequence to go on
            return None, "unopenable"
    return (msg.epoch, msg.seq), ""
