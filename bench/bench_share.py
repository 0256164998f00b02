"""Sharing benchmarks: sign/verify rates, KR->JP latency through the hub, recovery after outages.

    .venv/bin/python bench/bench_share.py                 # everything, 60 s outages (about 3 minutes)
    .venv/bin/python bench/bench_share.py --outage-s 5    # shorter outages
    .venv/bin/python bench/bench_share.py --skip-outage

Goals (issue 4): >= 20,000 track messages/s signed+published and verified+ingested per node; KR->JP
through the hub p50 <= 2 ms, p99 <= 10 ms at 1,000 track updates/s; JP down 60 s then the hub down
60 s while KR publishes 10 msg/s: JP ends with every message, in order, no duplicates, within 5 s of
its link returning. Real nats-servers on free loopback ports; the machine's other load shows in the
figures, so each run prints its own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

from triwarn.share import signing
from triwarn.share.admission import Admission
from triwarn.share.policy import load_network
from triwarn.share.schema import Heartbeat, TrackReport, TrackState
from triwarn.share.sender import Sender
from triwarn.share.servers import LocalNetwork
from triwarn.share.transport import ShareTransport

# A plausible 6x6 state covariance (100 m, 5 m/s, position-velocity correlated): receivers refuse ones
# that are not positive definite (triwarn.share.bounds).
COV_UPPER = [1e4, 0.0, 0.0, 100.0, 0.0, 0.0, 1e4, 0.0, 0.0, 100.0, 0.0, 1e4, 0.0, 0.0, 100.0,
             25.0, 0.0, 0.0, 25.0, 0.0, 25.0]


def track(i: int, t_unix_s: float, nation: str = "kr") -> TrackState:
    """A plausible ballistic track state of `nation` (bench_flood uses it too)."""
    return TrackState(track_id=f"{nation}-{i}", t_unix_s=t_unix_s, pos_ecef_m=[-3.1e6 + i, 4.1e6, 3.9e6],
                      vel_ecef_mps=[1200.0, -300.0, 2000.0], cov_ecef=list(COV_UPPER),
                      mode="ballistic", quality=0.9, nations=[nation])


def pct(values: list[float], q: float) -> float:
    """The q-quantile of values (nearest rank below); NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def bench_core(spec, keys, trust, n_msgs: int) -> None:
    """Pure seal (stamp+policy+sign+encode) and admit (decode+policy+verify+replay) rates."""
    print("== core (no network): one process, one core")
    for per_msg in (1, 10, 50):
        sender = Sender("kr", keys["kr"], spec)
        adm = Admission("jp", spec, trust)
        now = time.time()
        tracks = [track(i, now) for i in range(per_msg)]
        t0 = time.perf_counter()
        outs = [sender.seal(TrackReport, now, to=("jp",), tracks=tracks) for _ in range(n_msgs)]
        t_seal = time.perf_counter() - t0
        t0 = time.perf_counter()
        ok = sum(adm.admit(o.data, "tw.kr.jp.track", now).accepted for o in outs)
        t_admit = time.perf_counter() - t0
        assert ok == n_msgs
        print(f"  {per_msg:3d} tracks/msg: seal {n_msgs / t_seal:9.0f} msg/s = "
              f"{n_msgs * per_msg / t_seal:9.0f} tracks/s | admit {n_msgs / t_admit:8.0f} msg/s = "
              f"{n_msgs * per_msg / t_admit:9.0f} tracks/s "
              f"({len(outs[0].data)} B/msg)")


async def bench_throughput(net, spec, keys, trust, n_msgs: int, per_msg: int) -> None:
    """sign+publish into OUT_KR (acknowledged) and verify+ingest from IN_JP through the hub."""
    kr = ShareTransport("kr", spec, keys["kr"], trust, **net.node_credentials("kr"))
    jp = ShareTransport("jp", spec, keys["jp"], trust, **net.node_credentials("jp"), durable=f"tp{per_msg}")
    await kr.connect()
    await jp.connect()
    now = time.time()
    tracks = [track(i, now) for i in range(per_msg)]
    t0 = time.perf_counter()
    batch = []
    for _ in range(n_msgs):
        batch.append(kr.seal(TrackReport, to=("jp",), tracks=tracks))
        if len(batch) == 500:
            await kr.publish_batch(batch)
            batch = []
    if batch:
        await kr.publish_batch(batch)
    t_pub = time.perf_counter() - t0
    # Wait until it is all in JP's inbox, then time JP's ingest alone.
    while (await jp.js.stream_info("IN_KR2JP")).state.messages < n_msgs:  # JP's inbox for KR
        await asyncio.sleep(0.05)
    done = asyncio.Event()
    count = 0

    def on_msg(_m) -> None:
        nonlocal count
        count += 1
        if count == n_msgs:
            done.set()

    t0 = time.perf_counter()
    await jp.start_receiving(on_msg)
    await done.wait()
    t_ing = time.perf_counter() - t0
    print(f"  {per_msg:3d} tracks/msg: sign+publish {n_msgs / t_pub:8.0f} msg/s = "
          f"{n_msgs * per_msg / t_pub:8.0f} tracks/s | verify+ingest {n_msgs / t_ing:7.0f} msg/s = "
          f"{n_msgs * per_msg / t_ing:8.0f} tracks/s")
    await kr.close()
    await jp.close()


async def bench_latency(net, spec, keys, trust, rate_hz: float, seconds: float) -> None:
    """KR node publish call -> JP node callback, through KR's outbox, the hub and JP's inbox."""
    kr = ShareTransport("kr", spec, keys["kr"], trust, **net.node_credentials("kr"))
    jp = ShareTransport("jp", spec, keys["jp"], trust, **net.node_credentials("jp"), durable="lat")
    await kr.connect()
    await jp.connect()
    started: dict[str, float] = {}
    lat_ms: list[float] = []

    def on_msg(m) -> None:
        t = started.pop(m.msg_id, None)
        if t is not None:
            lat_ms.append((time.perf_counter() - t) * 1e3)

    await jp.start_receiving(on_msg)
    period = 1.0 / rate_hz
    n = int(rate_hz * seconds)
    t_start = time.perf_counter()
    for i in range(n):
        target = t_start + i * period
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        t = time.perf_counter()
        out = kr.seal(TrackReport, to=("jp",), tracks=[track(i, time.time())])
        started[out.msg.msg_id] = t
        await kr.send(out)
    achieved = n / (time.perf_counter() - t_start)
    deadline = time.monotonic() + 10
    while len(lat_ms) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    warm = lat_ms[int(0.05 * len(lat_ms)):]  # drop the first 5 % (connection warm-up)
    print(f"  {len(lat_ms)}/{n} delivered at {achieved:.0f} updates/s: p50 {statistics.median(warm):.2f} ms, "
          f"p90 {pct(warm, 0.90):.2f} ms, p99 {pct(warm, 0.99):.2f} ms, max {max(warm):.2f} ms")
    await kr.close()
    await jp.close()


async def bench_outage(net, spec, keys, trust, outage_s: float) -> None:
    """JP down outage_s, then the hub down outage_s, while KR publishes 10 msg/s."""
    kr = ShareTransport("kr", spec, keys["kr"], trust, **net.node_credentials("kr"))
    jp = ShareTransport("jp", spec, keys["jp"], trust, **net.node_credentials("jp"), durable="outage")
    await kr.connect()
    await jp.connect()
    arrivals: list[tuple[float, int]] = []
    await jp.start_receiving(
        lambda m: arrivals.append((time.monotonic(), m.seq)) if m.sender == "kr" else None)
    sent_at: list[float] = []
    stop = asyncio.Event()

    async def publish() -> None:
        while not stop.is_set():
            out = await kr.publish(Heartbeat, to=("jp",), node_state="ok")
            sent_at.append(time.monotonic())
            assert out.msg.seq == len(sent_at)
            await asyncio.sleep(0.1)

    async def caught_up(since: float) -> float:
        """Seconds from `since` until JP holds every message published before `since` + 0.2 s."""
        target = len(sent_at)
        while sum(1 for _ in arrivals) < target:
            await asyncio.sleep(0.01)
        return next(t for t, s in arrivals if s == target) - since

    async def outage(server: str, who: str) -> float:
        """After 2 s more of traffic, `server` down for outage_s; seconds from its return until JP caught up."""
        await asyncio.sleep(2)
        await net.astop_server(server)
        print(f"  {who} down for {outage_s:.0f} s ...")
        await asyncio.sleep(outage_s)
        await net.astart_server(server)
        return await caught_up(time.monotonic())

    task = asyncio.create_task(publish())
    jp_catchup = await outage("jp", "JP")
    print(f"  JP back: its {outage_s * 10:.0f}-message backlog complete {jp_catchup:.2f} s after its "
          "server returned")
    hub_catchup = await outage("us", "hub")
    print(f"  hub back: backlog complete {hub_catchup:.2f} s after the hub returned")
    await asyncio.sleep(2)
    stop.set()
    await task
    deadline = time.monotonic() + 30
    while len(arrivals) < len(sent_at) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    seqs = [s for _, s in arrivals]
    print(f"  published {len(sent_at)}, JP accepted {len(seqs)}; in order and complete: "
          f"{seqs == list(range(1, len(sent_at) + 1))}; duplicates: {len(seqs) - len(set(seqs))}; "
          f"inbox re-syncs by JP's watchdog: {jp.counters['inbox_resyncs']}")
    await kr.close()
    await jp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-s", type=float, default=60.0)
    parser.add_argument("--skip-outage", action="store_true")
    parser.add_argument("--n", type=int, default=20_000, help="messages for the rate benchmarks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()})
    bench_core(spec, keys, trust, args.n // 4)
    with tempfile.TemporaryDirectory() as tmp:
        # A fresh network for each measurement, so that one's backlog does not weigh on the next.
        print("== through real servers: KR node -> OUT_KR -> hub -> IN_JP -> JP node")
        for per_msg in (1, 10):
            with LocalNetwork.start(spec, Path(tmp) / f"tp{per_msg}") as net:
                asyncio.run(bench_throughput(net, spec, keys, trust, args.n // (2 if per_msg > 1 else 1),
                                             per_msg))
        print("== latency KR -> JP via the hub at 1,000 track updates/s (one track per message)")
        with LocalNetwork.start(spec, Path(tmp) / "lat") as net:
            asyncio.run(bench_latency(net, spec, keys, trust, 1000.0, 10.0))
        if not args.skip_outage:
            with LocalNetwork.start(spec, Path(tmp) / "outage") as net:
                print(f"== outages while KR publishes 10 msg/s to JP (outage {args.outage_s:.0f} s each)")
                asyncio.run(bench_outage(net, spec, keys, trust, args.outage_s))


if __name__ == "__main__":
    main()
