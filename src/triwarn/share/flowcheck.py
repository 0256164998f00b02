"""Observe which flows the brokers actually let through, to compare with the release policy.

Every (sender, recipient, class) subject is published once by the sender's exchange *admin* (which the
release permissions do not restrict, so only the broker configuration stands between a message and a
nation that must not get it); then every nation's inbox is read. A flow is reported as
(sender, addressed_to, class, received_by): a message that reaches a nation it was not addressed to
shows up with received_by != addressed_to.
"""

from __future__ import annotations

import asyncio
import time

import nats

from triwarn.share import netconfig
from triwarn.share.policy import NetworkSpec
from triwarn.share.schema import MESSAGE_CLASSES, subject_for

Flow = tuple[str, str, str, str]


def allowed_flows(spec: NetworkSpec) -> set[Flow]:
    """The flows the policy allows: each released (sender, recipient, class), received by the recipient."""
    return {(s, r, c, r) for s in spec.nations for r in spec.nations if r != s for c in spec.released(s, r)}


async def observe_flows(net, *, timeout_s: float = 10.0, grace_s: float = 1.0,
                        expected: set[Flow] | None = None) -> set[Flow]:
    """Publish every subject once and return the flows seen in the inboxes.

    Waits until `expected` (default: the flows net's own spec allows) have all arrived or timeout_s has
    passed, then `grace_s` more so that anything extra (a leak) has time to arrive too.
    net: a running LocalNetwork.
    """
    spec: NetworkSpec = net.spec
    expected = allowed_flows(spec) if expected is None else expected
    for s in spec.nations:
        nc = await nats.connect(**net.credentials(s, "admin"))
        js = nc.jetstream()
        for r in spec.nations:
            if r == s:
                continue
            for c in MESSAGE_CLASSES:
                await js.publish(subject_for(s, r, c), f"flow-check {s}->{r} {c}".encode(),
                                 stream=netconfig.stream_out(s))
        await nc.close()
    deadline = time.monotonic() + timeout_s
    seen: set[Flow] = set()
    while True:
        seen = await _inbox_flows(net)
        if expected <= seen or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(grace_s)
    return await _inbox_flows(net)


async def _inbox_flows(net) -> set[Flow]:
    flows: set[Flow] = set()
    for n in net.spec.nations:
        nc = await nats.connect(**net.credentials(n, "admin"))
        js = nc.jetstream()
        try:
            for stream in netconfig.inbox_streams(net.spec, n):
                info = await js.stream_info(stream)
                if info.state.messages == 0:
                    continue
                for seq in range(info.state.first_seq, info.state.last_seq + 1):
                    msg = await js.get_msg(stream, seq=seq)
                    if not msg.data.startswith(b"flow-check"):
                        continue
                    _, s, r, c = msg.subject.split(".")
                    flows.add((s, r, c, n))
        finally:
            await nc.close()
    return flows
