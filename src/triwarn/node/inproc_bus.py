"""An in-process message bus for lockstep runs: the same sealed, signed messages and the same admission
as over NATS, handed from one node's transport to the recipients' inside the one process.

Why: a calibration family needs hundreds of whole-chain runs; three NATS servers and their
acknowledgements per run cost more than the flight itself. Everything a node sees is unchanged: the
sender seals and signs with the release policy, the receiver admits the bytes against its own clock
(signature, mode, exercise, sequence, age, bounds) exactly as ShareTransport does, and the lockstep
driver holds every message until the step after its publication (triwarn.node.lockstep), so a run on
this bus gives the same picture as one over NATS with zero latency. Like a replay over NATS
(exercise.replay.run_shared), every message is sealed end to end to each recipient by default
(share/sealing.py: an X25519 key per nation made for the run; each recipient gets its own signed frame
and admits only sealed ones); sealed=False keeps the signed plaintext of a network without encryption
keys. What it does not exercise - the servers, the outbox, redelivery, dead letters - stays with the
NATS path, the tested default.

    bus = InProcessBus(spec, exercise="BENCH")
    transports = {n: bus.transport(n) for n in ("kr", "us", "jp")}
    await run_lockstep(nodes, feeds, times, transports=transports)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from triwarn.share import signing
from triwarn.share.admission import Admission, Verdict
from triwarn.share.policy import NetworkSpec
from triwarn.share.schema import Message
from triwarn.share.sealing import Sealer
from triwarn.share.sender import Outgoing, Sender


class InProcessBus:
    """The transports of one run, by nation; signing keys (and with sealed, encryption keys) made for the
    run."""

    def __init__(self, spec: NetworkSpec, *, exercise: str | None, future_skew_s: float = 5.0,
                 max_age_s: float = 900.0, sealed: bool = True) -> None:
        self.spec = spec
        self.exercise = exercise
        self.keys = {n: signing.new_key() for n in spec.nations}
        self.box_keys = {n: signing.BoxKey.generate() for n in spec.nations} if sealed else {}
        self.trust = signing.TrustStore()
        for n, k in self.keys.items():
            self.trust.add(n, k, self.box_keys.get(n))
        self.future_skew_s = future_skew_s
        self.max_age_s = max_age_s
        self.members: dict[str, InProcessTransport] = {}

    def transport(self, nation: str) -> InProcessTransport:
        tr = InProcessTransport(self, nation)
        self.members[nation] = tr
        return tr


class InProcessTransport:
    """The part of ShareTransport the lockstep driver and NodeRunner use, over an InProcessBus."""

    def __init__(self, bus: InProcessBus, nation: str) -> None:
        self.bus = bus
        self.nation = nation
        self.spec = bus.spec
        self.exercise = bus.exercise
        self.clock: Callable[[], float] = lambda: 0.0
        box = bus.box_keys.get(nation)
        sealer = Sealer(nation, box, bus.trust) if box is not None else None
        self.sender = Sender(nation, bus.keys[nation], bus.spec, exercise=bus.exercise, sealer=sealer)
        self.admission = Admission(nation, bus.spec, bus.trust, future_skew_s=bus.future_skew_s,
                                   max_age_s=bus.max_age_s, exercise=bus.exercise, sealer=sealer)
        self.published = 0
        self.rejected_from: dict[str, Counter[str]] = {}
        self._on_message: Callable[[Message], object] | None = None

    def set_exercise(self, exercise: str | None) -> None:
        self.exercise = exercise
        self.sender.exercise = exercise
        self.admission.exercise = exercise

    @property
    def counters(self) -> dict[str, int]:
        return {"published": self.published, **{f"admission_{k}": v for k, v in self.admission.counters.items()}}

    async def start_receiving(self, on_message: Callable[[Message], object]) -> None:
        self._on_message = on_message

    def _receive(self, data: bytes, subject: str) -> None:
        verdict: Verdict = self.admission.admit(data, subject, self.clock())
        if not verdict.accepted:
            parts = subject.split(".")
            sender = parts[1] if len(parts) == 4 else "?"
            self.rejected_from.setdefault(sender, Counter())[verdict.reason] += 1
            return
        if self._on_message is not None:
            self._on_message(verdict.msg)

    async def begin_batch(self, outs: list[Outgoing]) -> list[asyncio.Future]:
        """Deliver at once to each recipient's admission (the lockstep driver holds them a step)."""
        for out in outs:
            for subject, recipient in zip(out.subjects, out.recipients, strict=True):
                peer = self.bus.members.get(recipient)
                if peer is not None:
                    peer._receive(out.data_for(recipient), subject)
        return []

    async def finish_batch(self, outs: list[Outgoing], futures: list[asyncio.Future]) -> None:
        self.published += len(outs)

    async def close(self) -> None:
        self._on_message = None
