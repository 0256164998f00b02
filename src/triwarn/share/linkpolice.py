"""At the hub: hold a partner's link whose intake runs far above what a link carries.

Why: nats-server has no per-account or per-leafnode rate limit, so a partner's node login flooding its
link (64 KiB junk at loopback rate, ~100 MB/s) makes the hub take in and store every byte of it
(`<P>2<R>`, then `FOR_<P>2<R>`), and the hub's work delays every other partner's messages through the
same server (bench/bench_flood.py --target jp: with JP's node holding KR at JP's server, US->JP p99
67-116 ms at full rate, the wait on the US's own publish into the hub). The receiving node's hold
(share/inbox.py) cannot help there: the hub has already paid.

`LinkPolicer` runs in the hub operator's watch (servers.LocalNetwork, `network up`). Every `interval_s`
it reads each partner link stream's state (`<P>2<R>` at the hub, sourcing `OUT_<P>` from P's server)
and charges what it took in since (new messages times their mean size) to a `TokenBucket`: `burst`
is the stream's own max_bytes (a partner's whole backlog after an outage crosses at once), `rate` 32
times the link's planned traffic (netconfig.LinkBudget: ~1 MB/s). A stream in debt is held
(inbox.SourceHold: its source taken away for 10 s, doubling while it goes on, at most 5 min): the
flood then stays in P's own outbox at P's server, which drops P's oldest when full. When given back,
the source resumes after the last message it stored; a link given back starts with an empty bucket,
so the next flood holds it again at once. The sources are always set from the generated plan and
checked every `verify_s` (another writer, the source watchdog's re-sync, may race with a hold), and
a hold or give-back the server did not take is tried again: a partner is never left cut off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import nats
import nats.errors

from triwarn.share.inbox import SourceHold, TokenBucket, _api, set_sources
from triwarn.share.netconfig import DEFAULT_BUDGET
from triwarn.share.resync import PeriodicCheck

log = logging.getLogger(__name__)

# A link may take in this many times its planned traffic (bytes/s) for ever (netconfig.LinkBudget).
RATE_FACTOR = 32.0


@dataclass
class _Link:
    sources: list[dict]
    hold: SourceHold
    bucket: TokenBucket | None = None
    last_seq: int | None = None
    held_at_server: bool | None = None
    retry_at: float = 0.0
    verify_at: float = 0.0
    holds: list[float] = field(default_factory=list)


class LinkPolicer(PeriodicCheck):
    """Holds link streams (name -> planned sources, on the server behind nc) that take in more than
    `rate_bytes_per_s` beyond a burst of their max_bytes (see the module)."""

    tolerated = (*PeriodicCheck.tolerated, KeyError, ValueError)  # a stream's info not yet as planned

    def __init__(self, nc: nats.NATS, sources: dict[str, list[dict]], *,
                 rate_bytes_per_s: float = RATE_FACTOR * DEFAULT_BUDGET.bytes_per_s(), interval_s: float = 0.5,
                 retry_s: float = 1.0, verify_s: float = 5.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not rate_bytes_per_s > 0:
            raise ValueError(f"a link's rate must be positive, not {rate_bytes_per_s}")
        self.nc = nc
        self.rate_bytes_per_s = rate_bytes_per_s
        self.interval_s, self.retry_s, self.verify_s = interval_s, retry_s, verify_s
        self.monotonic = monotonic
        self.links = {stream: _Link(list(src), SourceHold()) for stream, src in sources.items()}
        self.failures = 0

    async def check_once(self) -> None:
        for stream, link in self.links.items():
            info = await _api(self.nc, f"$JS.API.STREAM.INFO.{stream}")
            now = self.monotonic()
            state = info.get("state") or {}
            last_seq = int(state.get("last_seq", 0))
            if link.bucket is None:  # the stream's own store is the burst: a whole backlog crosses at once
                burst = float(info["config"].get("max_bytes") or 0) or 64.0 * 1024 * 1024
                link.bucket = TokenBucket(self.rate_bytes_per_s, burst)
            if link.last_seq is not None and last_seq > link.last_seq:
                mean = state.get("bytes", 0) / max(1, state.get("messages", 0))
                link.bucket.take((last_seq - link.last_seq) * mean, now)
            link.last_seq = last_seq
            length = link.hold.should_hold(link.bucket.wait_s(now) > 0, now)
            if length is not None:
                link.holds.append(length)
            if link.hold.should_release(now):
                link.bucket.level = 0.0  # on probation: the next flood holds it again at once
            if now >= link.verify_at:
                link.verify_at, link.held_at_server = now + self.verify_s, None
            want = link.hold.held_until is not None
            if link.held_at_server != want and now >= link.retry_at:
                await self._apply(stream, link, want)

    async def _apply(self, stream: str, link: _Link, want: bool) -> None:
        try:
            changed = await set_sources(self.nc, stream, [] if want else link.sources, held=want)
        except Exception as exc:  # no answer or refused: tried again, never left half done
            self.failures += 1
            link.retry_at = self.monotonic() + self.retry_s
            log.warning("%s: %s the link's source failed (%r); trying again", stream,
                        "holding" if want else "giving back", exc)
            return
        link.held_at_server = want
        if changed:
            log.warning("%s: %s", stream, f"the link takes in more than {self.rate_bytes_per_s / 1e6:.1f} MB/s: "
                        f"its source is held for {link.hold.last_hold_s:.0f} s" if want else "source given back")

    async def stop(self) -> None:
        """Stop policing; every held link is given back (tried three times; the next start sets the
        planned sources in any case)."""
        await self.stop_loop()
        for stream, link in self.links.items():
            if link.hold.held_until is None and not link.held_at_server:
                continue  # never held (its planned source was set at the first check)
            link.hold.held_until = None
            for _ in range(3):
                if link.held_at_server is False or not self.nc.is_connected:
                    break
                await self._apply(stream, link, False)
