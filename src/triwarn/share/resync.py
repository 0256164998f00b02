"""Restart stalled JetStream stream sources as soon as the far side is reachable again.

Why this exists: nats-server re-creates a stream source whose far side went away with a fixed back-off
(10 s, 20 s, 30 s ... up to 2 min; not configurable), and a source whose set-up request was sent while
the leafnode was down waits for that request to time out first. After a 60 s hub outage a partner's
backlog reached it 30-40 s after the link returned. Removing a stream's sources and adding them again
(two STREAM.UPDATE requests) makes the server resume each source at once from the last message it
stored from it, so nothing is lost and nothing is stored twice (measured: bench/bench_share.py).

`SourceWatchdog` checks a stream every `interval_s`: a source whose last contact (message or
heartbeat, about one a second while healthy) is older than `stall_s` is re-synced once the far side's
JetStream answers `<api>.INFO`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import nats
import nats.errors

log = logging.getLogger(__name__)


async def _api(nc: nats.NATS, subject: str, body: dict | None = None, timeout_s: float = 2.0) -> dict:
    reply = await nc.request(subject, b"" if body is None else json.dumps(body).encode(), timeout=timeout_s)
    return json.loads(reply.data)


async def reachable(nc: nats.NATS, api_prefix: str, timeout_s: float = 0.5) -> bool:
    """True when the JetStream behind api_prefix (e.g. "$JS.kr.API") answers."""
    try:
        await nc.request(f"{api_prefix}.INFO", b"", timeout=timeout_s)
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        return False
    return True


async def resync_sources(nc: nats.NATS, stream: str, timeout_s: float = 5.0) -> None:
    """Remove the stream's sources and add them back (its current config otherwise unchanged)."""
    info = await _api(nc, f"$JS.API.STREAM.INFO.{stream}", timeout_s=timeout_s)
    if "error" in info:
        raise RuntimeError(f"stream {stream}: {info['error'].get('description')}")
    config = info["config"]
    for cfg in ({**config, "sources": []}, config):
        body = await _api(nc, f"$JS.API.STREAM.UPDATE.{stream}", cfg, timeout_s=timeout_s)
        if "error" in body:
            raise RuntimeError(f"re-syncing {stream}: {body['error'].get('description')}")


async def stalled_far_sides(nc: nats.NATS, stream: str, stall_s: float) -> set[str]:
    """The external API prefixes of the stream's sources not heard from for stall_s."""
    info = await _api(nc, f"$JS.API.STREAM.INFO.{stream}")
    stalled = set()
    for src in info.get("sources") or []:
        active_ns = src.get("active", -1)
        if active_ns < 0 or active_ns > stall_s * 1e9:
            stalled.add((src.get("external") or {}).get("api", "$JS.API"))
    return stalled


class PeriodicCheck:
    """A background loop calling `check_once` every `interval_s` until stopped; the errors in `tolerated`
    (a server away, a timeout) end one check, not the loop. Subclasses set interval_s and define
    check_once."""

    interval_s: float
    tolerated: tuple[type[BaseException], ...] = (nats.errors.Error, RuntimeError, OSError, asyncio.TimeoutError)
    _task: asyncio.Task | None = None
    _stopping: bool = False

    async def check_once(self) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        # The flag, not only the cancellation, ends the loop: on Python 3.11 asyncio.wait_for (inside
        # nats-py's request) can swallow a cancellation that races with its timeout, and a loop that
        # relied on it alone would then run, and its stop() wait, for ever.
        while not self._stopping:
            with contextlib.suppress(*self.tolerated):
                await self.check_once()
            if not self._stopping:
                await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run())

    async def stop_loop(self) -> None:
        if self._task is not None:
            self._stopping = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class SourceWatchdog(PeriodicCheck):
    """Watch streams (names, reachable through nc) and re-sync stalled sources whose far side is back."""

    def __init__(self, nc: nats.NATS, streams: list[str], *, interval_s: float = 0.5, stall_s: float = 2.5,
                 min_gap_s: float = 3.0) -> None:
        self.nc = nc
        self.streams = streams
        self.interval_s = interval_s
        self.stall_s = stall_s
        self.min_gap_s = min_gap_s
        self.resyncs = 0
        self._last: dict[str, float] = {}

    async def check_once(self) -> None:
        for stream in self.streams:
            if time.monotonic() - self._last.get(stream, -1e9) < self.min_gap_s:
                continue
            stalled = await stalled_far_sides(self.nc, stream, self.stall_s)
            for api_prefix in stalled:
                if await reachable(self.nc, api_prefix):
                    log.info("re-syncing the sources of %s (%s is back)", stream, api_prefix)
                    await resync_sources(self.nc, stream)
                    self._last[stream] = time.monotonic()
                    self.resyncs += 1
                    break

    async def stop(self) -> None:
        await self.stop_loop()
