"""The live national node: NationalNode on a clock, sharing over NATS, with health and metrics.

    transport = NodeTransport("kr", spec, key, trust, servers=[url], user=..., password=...)
    live = LiveNode(settings, sensors, transport, source, areas=AreaIndex.load(), out_dir=Path("out/kr"))
    await live.start()                      # connect; resume the durable inbox consumer
    app = node_app(live)                    # /api/health, /metrics, /api/cap/feed.atom, the operator UI
    await live.run()                        # step every step_s of the clock until live.stop()
    await live.close()                      # the durable consumer stays on the server for the next start

Each step at t (a whole multiple of step_s on the node's clock, unix seconds): the partner messages
received since the last step go into the picture, the node's own detections up to t come from the
source, NationalNode.step runs (in a worker thread, so receiving and the HTTP server keep going), and
the step's sealed messages, with a heartbeat every heartbeat_s and a LinkStatus per partner every
link_report_s, are queued for the publisher task, which stores them in the outbox in step order and
retries while the nation's own server is down (stepping and warning never wait for it). A node that
falls behind its clock steps at the newest due time and counts the steps it skipped.

Link state per partner, from what was last heard from it (any accepted message; heartbeats keep a
quiet partner heard): "up" if heard within link_timeout_s on the node's clock, "degraded" if its
messages arrive but are refused (the reason is kept: e.g. `from_future` when its clock runs ahead of
ours by more than the admission's tolerance), "down" otherwise.

Clocks: `clock()` returns the node's UTC seconds (time.time live; ScaledClock for tests and
demonstrations faster than real time); clock_rate is how many clock seconds pass per wall second, used
only to size sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nats.errors
import nats.js.errors
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from triwarn.errors import InputError
from triwarn.node.core import NationalNode, NodeSettings, StepResult
from triwarn.node.metrics import NodeMetrics
from triwarn.node.sources import DetectionSource
from triwarn.share.admission import REJECT_REASONS, Verdict
from triwarn.share.schema import Heartbeat, LinkStatus, Message, message_class
from triwarn.share.sender import Outgoing
from triwarn.share.transport import PublishError, ShareTransport
from triwarn.warn import cap
from triwarn.warn.feed import FeedEntry, atom_feed

log = logging.getLogger(__name__)

CAP_FEED_ENTRIES = 200  # newest CAP documents kept for the Atom feed
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
    their_view: dict[str, str] = field(default_factory=dict)  # partner's LinkStatus: peer -> state


class LiveNode:
    """One nation's live node (see the module docstring).

    settings: NodeSettings (exercise None: a live node, CAP status Actual). sensors: the nation's own
    sensors by id. transport: not yet connected; its sender and admission become the node's. source:
    the own detections (None: a node without sensors, which fuses partners' tracks only).
    on_step(nation, result) is called after every step (e.g. the operator picture adapter).
    """

    def __init__(self, settings: NodeSettings, sensors: Mapping[str, object], transport: ShareTransport,
                 source: DetectionSource | None, *, areas=None, step_s: float = 1.0,
                 clock: Callable[[], float] = time.time, clock_rate: float | None = None,
                 heartbeat_s: float = 2.0, link_timeout_s: float = 6.0, link_report_s: float = 5.0,
                 out_dir: Path | None = None,
                 on_step: Callable[[str, StepResult], None] | None = None) -> None:
        if step_s <= 0:
            raise ValueError(f"step_s must be positive, got {step_s}")
        self.settings = settings
        self.nation = settings.nation
        self.transport = transport
        transport.clock = clock
        self.node = NationalNode(settings, sensors, sender=transport.sender, admission=transport.admission,
                                 areas=areas)
        self.source = source
        self.step_s = float(step_s)
        self.clock = clock
        self.clock_rate = float(clock_rate if clock_rate is not None else getattr(clock, "rate", 1.0))
        self.heartbeat_s = heartbeat_s
        self.link_timeout_s = link_timeout_s
        self.link_report_s = link_report_s
        self.out_dir = out_dir
        self.on_step = on_step
        self.partners = {p: PartnerLink(p) for p in transport.spec.nations if p != self.nation}
        self.metrics = NodeMetrics(self.nation, self._reject_counts)
        self.cap_docs: deque[bytes] = deque(maxlen=CAP_FEED_ENTRIES)
        self.cap_issued = 0
        self.last_result: StepResult | None = None
        self.last_step_unix_s: float | None = None
        self.last_step_wall_s: float | None = None
        self.step_lag_s = 0.0
        self.steps = 0
        self.steps_skipped = 0
        self.detections_in = 0
        self.publish_failures = 0
        self.published: Counter[str] = Counter()
        # Recent history for diagnostics and tests (bounded: a node runs for months).
        # (sender, id) of accepted partner messages in arrival order; (id, recipients, sent_unix_s) stored.
        self.ingested: deque[tuple[str, str]] = deque(maxlen=HISTORY)
        self.published_ids: deque[tuple[str, tuple[str, ...], float]] = deque(maxlen=HISTORY)
        self._inbox: list[Message] = []
        self._outq: asyncio.Queue[list[Outgoing]] = asyncio.Queue()
        self._publisher: asyncio.Task | None = None
        self._closing = False  # the publisher's stop flag (see close)
        self._stop = asyncio.Event()
        self._last_hb = -math.inf
        self._last_link_report = -math.inf
        self._reported_state: dict[str, str] = {}
        if out_dir is not None:
            (out_dir / "cap").mkdir(parents=True, exist_ok=True)

    @property
    def mode(self) -> str:
        return "live" if self.settings.exercise is None else "exercise"

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

    # --------------------------------------------------------------------------------------- receiving
    def _on_message(self, msg: Message) -> None:
        link = self.partners.get(msg.sender)
        if link is None:
            return
        link.last_heard_unix_s = self.clock()
        kind = message_class(msg)
        link.received[kind] += 1
        self.metrics.received.labels(self.nation, msg.sender, kind).inc()
        self.ingested.append((msg.sender, msg.msg_id))
        if isinstance(msg, Heartbeat):
            return
        if isinstance(msg, LinkStatus):
            link.their_view[msg.partner] = msg.state
            return
        self._inbox.append(msg)  # into the picture at the next step, never during one

    def _reject_counts(self) -> dict[str, int]:
        counters = self.transport.admission.counters
        return {r: counters.get(r, 0) for r in REJECT_REASONS}

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
            skipped = max(0, round((t - due) / step))
            if skipped:
                self.steps_skipped += skipped
                self.metrics.steps_skipped.inc(skipped)
            await self.step_once(t, lag_s=now - t)

    async def step_once(self, t_unix_s: float, *, lag_s: float = 0.0) -> StepResult:
        """One step at t_unix_s (node clock): ingest, detections, NationalNode.step, publish, outputs."""
        t = float(t_unix_s)
        inbox, self._inbox = self._inbox, []
        for msg in inbox:
            self.node.ingest_message(msg)
        radar = ir = None
        if self.source is not None:
            radar, ir = self.source.take_until(t)
            if len(radar):
                self.metrics.detections.labels(self.nation, "radar").inc(len(radar))
            if len(ir):
                self.metrics.detections.labels(self.nation, "ir").inc(len(ir))
            self.detections_in += len(radar) + len(ir)
        w0 = time.perf_counter()
        result = await asyncio.to_thread(self.node.step, t, radar, ir)
        wall = time.perf_counter() - w0
        outs = [o for o in result.outgoing if o.subjects]
        outs.extend(self._housekeeping(t, result))
        if outs:
            self._outq.put_nowait(outs)  # never waits for the server: the node warns on its own data regardless
        self._outputs(result)
        self.last_result = result
        self.last_step_unix_s = t
        self.last_step_wall_s = wall
        self.step_lag_s = lag_s
        self.steps += 1
        m = self.metrics
        m.steps.inc()
        m.step_duration.observe(wall)
        m.step_lag.set(lag_s)
        m.tracks_held.set(len(result.system_tracks))
        m.own_tracks.set(len(result.own_tracks) if result.own_tracks is not None else 0)
        for p in self.partners:
            m.link_up.labels(self.nation, p).set(1.0 if self.link_state(p)[0] == "up" else 0.0)
        if self.on_step is not None:
            self.on_step(self.nation, result)
        return result

    def _housekeeping(self, t: float, result: StepResult) -> list[Outgoing]:
        """A heartbeat when due; a LinkStatus per partner when due or when its state changed."""
        sender = self.transport.sender
        outs: list[Outgoing] = []
        if t - self._last_hb >= self.heartbeat_s - 1e-9:
            self._last_hb = t
            state = "exercise" if self.settings.exercise else (
                "ok" if all(self.link_state(p)[0] == "up" for p in self.partners) else "degraded")
            outs.append(sender.seal(Heartbeat, t, node_state=state, tracks_held=len(result.system_tracks)))
        states = {p: self.link_state(p)[0] for p in self.partners}
        if t - self._last_link_report >= self.link_report_s - 1e-9 or states != self._reported_state:
            self._last_link_report = t
            self._reported_state = states
            for p, state in states.items():
                outs.append(sender.seal(LinkStatus, t, partner=p, state=state,
                                        last_heard_unix_s=self.partners[p].last_heard_unix_s))
        return [o for o in outs if o.subjects]

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

    def _outputs(self, result: StepResult) -> None:
        status = "Exercise" if self.settings.exercise else "Actual"
        for msg, xml in result.cap_xml:
            self.cap_docs.append(xml)
            self.cap_issued += 1
            self.metrics.cap_messages.labels(self.nation, status).inc()
            if self.out_dir is not None:
                (self.out_dir / "cap" / cap.cap_filename(msg)).write_bytes(xml)

    # ------------------------------------------------------------------------------------------ health
    def health(self) -> dict:
        """The health document served at /api/health (see docs/node.md for the fields)."""
        now = self.clock()
        res = self.last_result
        by_nation: Counter[str] = Counter()
        if res is not None:
            for s in res.system_tracks:
                by_nation.update(set(s.nations))
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
        }


class _LinkView:
    """The LinkModel face the picture adapter asks (is peer reachable from nation now?), answered
    from the live node's link states."""

    def __init__(self, live: LiveNode) -> None:
        self.live = live

    def reachable(self, a: str, b: str, _t: float) -> bool:
        peer = a if a != self.live.nation else b
        return peer in self.live.partners and self.live.link_state(peer)[0] == "up"


def node_app(live: LiveNode, *, with_ui: bool | None = None) -> FastAPI:
    """The node's HTTP face: GET /api/health (JSON), /metrics (Prometheus text), /api/cap/feed.atom.

    with_ui (default True): also the operator UI and picture API (triwarn.api), fed by the picture
    adapter (triwarn.exercise.pictures.PictureFeed): "live" pictures with CAP status Actual for a node
    configured live, "exercise" pictures for an exercise node (the adapter refuses to mix the two).
    """
    from triwarn.api.app import create_app
    from triwarn.api.picture import PictureHub

    ui = True if with_ui is None else with_ui
    hub = PictureHub((live.nation,))
    if ui:
        from triwarn.exercise.pictures import PictureFeed

        feed = PictureFeed(hub, live.settings.exercise or "", _LinkView(live), live=live.settings.exercise is None)
        previous = live.on_step

        def on_step(nation: str, res: StepResult) -> None:
            feed.on_step(nation, res)
            if previous is not None:
                previous(nation, res)

        live.on_step = on_step

    app = FastAPI(title=f"triwarn node {live.nation}", version="1")
    app.state.hub = hub  # so that RunningServer.stop() can end the UI's event streams

    @app.get("/api/health")
    async def health() -> JSONResponse:
        return JSONResponse(live.health())

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(live.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    if ui:
        # Routes above win over the mounted app's own /api/health.
        app.mount("/", create_app(hub, cap_feed=lambda: list(live.cap_docs), areas=live.node.areas,
                                  title=f"triwarn {live.nation}"))
    else:
        @app.get("/api/cap/feed.atom")
        async def cap_feed(request: Request) -> Response:
            body = atom_feed([FeedEntry(cap_xml=x) for x in list(live.cap_docs)],
                             feed_id=f"tag:triwarn.org,2026:feed:{live.nation}",
                             title=f"triwarn {live.nation} CAP alerts", self_url=str(request.url),
                             now_unix_s=live.clock())
            return Response(body, media_type="application/atom+xml")
    return app


# ------------------------------------------------------------------------------------- `triwarn node`

def check_own_sensors(path: Path, nation: str) -> dict[str, object]:
    """The sensors of sensors.yaml, all of which must belong to `nation`; InputError naming the others
    (id, nation and line) otherwise: a node never runs, or even holds, another nation's sensors."""
    from triwarn.sensors.formats import load_sensors, read_yaml, sequence_lines

    sensors = load_sensors(path)
    foreign = [(i, sid, getattr(s, "nation", None)) for i, (sid, s) in enumerate(sensors.items())
               if getattr(s, "nation", None) != nation]
    if foreign:
        _, text = read_yaml(path, "sensors")
        item_lines, _ = sequence_lines(text, "sensors")
        first = foreign[0][0]
        names = ", ".join(f"{sid} ({owner}, line {item_lines[i] if i < len(item_lines) else '?'})"
                          for i, sid, owner in foreign)
        raise InputError(f"sensors of another nation in a {nation} node's file: {names}; a node takes its own "
                         "sensors only", source=str(path),
                         line=item_lines[first] if first < len(item_lines) else None, field="nation")
    return sensors


def _password(nation: str, password: str | None, creds: Path | None) -> str:
    if password is not None:
        return password
    if creds is None:
        raise InputError("no password: give --password or --creds (the credentials.json that "
                         "`triwarn network config` or `network up` wrote)", field="--password")
    try:
        doc = json.loads(creds.read_text())
    except FileNotFoundError:
        raise InputError("credentials file not found", source=str(creds)) from None
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", source=str(creds)) from None
    user = f"{nation}_node"
    found = doc.get("passwords", {}).get(user) if isinstance(doc, dict) else None
    if not isinstance(found, str):
        raise InputError(f"no password for {user}", source=str(creds), field=f"passwords.{user}")
    return found


def run_node(*, nation: str, network: Path | None, sensors: Path | None, measurements: Path | None, keys: Path,
             servers: str, user: str | None = None, password: str | None = None, creds: Path | None = None,
             exercise: str | None = None, live: bool = False, epoch: float | None = None, step_s: float = 1.0,
             port: int = 0, out: Path | None = None) -> None:
    """`triwarn node`: check everything first (InputError on anything wrong), then run until Ctrl-C."""
    from triwarn.share import signing
    from triwarn.share.policy import load_network

    nation = nation.lower()
    if live and exercise:
        raise InputError("--live and --exercise exclude each other: a node is one or the other", field="--live")
    if not live and not exercise:
        raise InputError("say what this node is: --live (CAP status Actual) or --exercise NAME (everything "
                         "marked Exercise); there is no default", field="--live/--exercise")
    if step_s <= 0:
        raise InputError(f"must be positive, got {step_s}", field="--step-s")
    spec = load_network(network)
    if nation not in spec.nations:
        raise InputError(f"{nation!r} is not a nation of the network ({', '.join(spec.nations)})", field="--nation")
    if (sensors is None) != (measurements is None):
        raise InputError("--sensors and --measurements go together", field="--sensors" if sensors is None
                         else "--measurements")
    own = check_own_sensors(sensors, nation) if sensors is not None else {}
    key = signing.load_private_key(keys / f"{nation}.key")
    trust = signing.TrustStore.load_dir(keys)
    missing = [p for p in spec.nations if p != nation and trust.get(p) is None]
    if missing:
        raise InputError(f"no public key for partner(s) {', '.join(missing)} "
                         f"(expected {', '.join(f'{p}.pub' for p in missing)})", source=str(keys))
    pw = _password(nation, password, creds)
    urls = [u.strip() for u in servers.split(",") if u.strip()]
    if not urls:
        raise InputError("no server URL", field="--servers")
    epoch_s = time.time() if epoch is None else float(epoch)
    out_dir = out if out is not None else Path(f"out/node-{nation}")
    source = None
    if own:
        from triwarn.node.sources import ReplaySource

        source = ReplaySource.from_files(own, measurements, nation=nation, epoch_unix_s=epoch_s)
        skips = source.log.skips
        others = skips.counts.get("unknown_sensor", 0)
        print(f"{measurements}: {len(source.log)} detections of {nation}'s sensors to replay"
              + (f"; {others} lines of other sensors left out" if others else ""), file=sys.stderr)
        if skips.total > others:  # bad lines, beyond the other nations' ones: say which and why
            print(source.log.summary(), file=sys.stderr)
    asyncio.run(_serve_node(nation=nation, spec=spec, key=key, trust=trust, urls=urls, user=user or f"{nation}_node",
                            password=pw, own=own, source=source, exercise=exercise, step_s=step_s, port=port,
                            out_dir=out_dir))


async def _serve_node(*, nation, spec, key, trust, urls, user, password, own, source, exercise, step_s, port,
                      out_dir) -> None:
    from triwarn.api.serve import start_server
    from triwarn.geo.areas import AreaIndex
    from triwarn.warn.state import new_run_id

    transport = NodeTransport(nation, spec, key, trust, servers=urls, user=user, password=password)
    settings = NodeSettings(nation=nation, exercise=exercise, run_id=new_run_id(time.time(), os.urandom(4)) + nation)
    live = LiveNode(settings, own, transport, source, areas=AreaIndex.load(), step_s=step_s, out_dir=out_dir)
    try:
        await live.start()
    except ConnectionError as exc:
        raise InputError(str(exc), field="--servers") from None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, live.stop)
    server = await start_server(node_app(live), port=port)
    mode = f"EXERCISE {exercise}" if exercise else "LIVE (CAP status Actual)"
    print(f"triwarn node {nation}: {mode}; {len(own)} own sensor(s); servers {', '.join(urls)}")
    print(f"  health:  {server.url}/api/health")
    print(f"  metrics: {server.url}/metrics")
    print(f"  CAP:     {out_dir / 'cap'} and {server.url}/api/cap/feed.atom")
    print(f"  UI:      {server.url}/")
    print("running; Ctrl-C stops (the durable consumer is kept)", flush=True)
    try:
        await live.run()
    finally:
        print("stopping", flush=True)
        await server.stop()
        await live.close()
