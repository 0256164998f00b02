"""A partner floods its link at full rate: does another partner's delivery keep flowing?

    .venv/bin/python bench/bench_flood.py                 # before/after, 20 s of flood each (~1.5 min)
    .venv/bin/python bench/bench_flood.py --seconds 10 --rate 50
    .venv/bin/python bench/bench_flood.py --target jp --only after   # KR floods JP, the US's recipient

KR's node login publishes 64 KiB junk on tw.kr.us.track as fast as its server takes it (a separate
process), the issue-16 attack: it is stored in OUT_KR, then at the hub in KR2US and IN_KR2US. With
--target jp it floods tw.kr.jp.track instead: KR2JP and FOR_KR2JP at the hub, IN_KR2JP at JP, the
streams beside the US's own to JP (FOR_US2JP, IN_US2JP), and JP's node refuses each junk message. Meanwhile
the US node sends signed track reports to JP (--rate per second) and JP's node times each one from the
publish call to its callback. Three runs on fresh networks with the same disks (every server's
JetStream store = the largest the limited configs reserve; stores kept small so the flood fills them
within seconds: LinkBudget(link_cap_bytes=16 MiB)):

- baseline: limits on, no flood;
- before:   the same configs with every account and stream limit removed (the configs before issue 16);
- after:    limits on (netconfig.LinkBudget; docs/sharing.md, "Broker limits").

Goal (issue 16): US->JP delivery latency p99 < 50 ms while KR floods. Prints delivered/attempted,
p50/p99/max and how full the hub's store and KR's hub streams got.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

import nats

from bench_share import pct, track  # bench/ is on the path when a bench runs as a script
from triwarn.share import signing
from triwarn.share.netconfig import MIB, LinkBudget
from triwarn.share.policy import load_network
from triwarn.share.schema import TrackReport
from triwarn.share.servers import LocalNetwork, generate
from triwarn.share.transport import PublishError, ShareTransport

BUDGET = LinkBudget(link_cap_bytes=16 * MIB, spare_stream_bytes=8 * MIB)


def strip_limits(gen) -> None:
    """The configs as they were before issue 16: JetStream 'enabled' without limits, streams without
    byte, message or size limits, default max_payload; the servers' stores stay as they are."""
    for cfg in gen.configs.values():
        cfg.pop("max_payload", None)
        for acc in cfg["accounts"].values():
            acc["jetstream"] = "enabled"
    for item in gen.plan:
        for key in ("max_bytes", "max_msgs", "max_msg_size"):
            item.config.pop(key, None)


def same_disks(gen) -> None:
    """Every server gets the same JetStream store: the largest any limited config reserves (the hub's)."""
    biggest = max(cfg["jetstream"]["max_file_store"] for cfg in gen.configs.values())
    for cfg in gen.configs.values():
        cfg["jetstream"]["max_file_store"] = biggest


def flood_worker(login: dict, seconds: float, counter, niceness: int, link_bytes_per_s: float | None,
                 subject: str = "tw.kr.us.track") -> None:
    """In its own process: publish 64 KiB messages on `subject` with KR's node login for `seconds`,
    as fast as the server takes them or paced to link_bytes_per_s (a national link's bandwidth)."""
    os.nice(niceness)

    async def run() -> None:
        async def quiet(_exc: Exception) -> None:
            return None

        nc = await nats.connect(**login, error_cb=quiet)
        junk = bytes(64 * 1024)
        start = time.monotonic()
        end = start + seconds
        sent = 0
        while time.monotonic() < end:
            if link_bytes_per_s:
                await asyncio.sleep(max(0.0, start + sent * len(junk) / link_bytes_per_s - time.monotonic()))
            for _ in range(16):
                await nc.publish(subject, junk)
            sent += 16
            try:
                await nc.flush(timeout=2)
            except nats.errors.Error:
                pass
        counter.value = sent
        await nc.close()

    asyncio.run(run())


async def _info(nc, subject: str) -> dict:
    try:
        return json.loads((await nc.request(subject, b"", timeout=2.0)).data)
    except nats.errors.Error:
        return {}


async def measure(net, spec, keys, trust, *, rate_hz: float, seconds: float, flood: bool,
                  kr_apart: bool, link_mbit: float | None, flood_to: str = "us") -> dict:
    us = ShareTransport("us", spec, keys["us"], trust, **net.node_credentials("us"), publish_timeout_s=1.0,
                        ack_timeout_s=0.5)
    jp = ShareTransport("jp", spec, keys["jp"], trust, **net.node_credentials("jp"), durable="flood")
    await us.connect()
    await jp.connect()
    started: dict[str, float] = {}
    lat_ms: list[float] = []

    def on_msg(m) -> None:
        t = started.pop(m.msg_id, None)
        if t is not None:
            lat_ms.append((time.perf_counter() - t) * 1e3)

    await jp.start_receiving(on_msg)
    ctx = multiprocessing.get_context("spawn")
    proc, counter = None, ctx.Value("q", 0)
    if flood:
        login = {k: v for k, v in net.node_credentials("kr").items() if k != "tls"}
        niceness = 19 if kr_apart else 0
        link = None if link_mbit is None else link_mbit * 1e6 / 8
        proc = ctx.Process(target=flood_worker, args=(login, seconds + 2, counter, niceness, link,
                                                      f"tw.kr.{flood_to}.track"))
        proc.start()
        if kr_apart:  # KR's server and its flooder are KR's machine: give the rest of this box priority
            os.setpriority(os.PRIO_PROCESS, net.procs["kr"].pid, 19)
        await asyncio.sleep(2.0)  # the flood is at full rate before measuring
    attempted = failed = 0
    period = 1.0 / rate_hz
    t_start = time.perf_counter()
    while time.perf_counter() - t_start < seconds:
        target = t_start + attempted * period
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        out = us.seal(TrackReport, to=("jp",), tracks=[track(attempted, time.time(), "us")])
        started[out.msg.msg_id] = time.perf_counter()
        attempted += 1
        try:
            await us.send(out)
        except PublishError:
            failed += 1
    deadline = time.monotonic() + 5
    while started and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    hub_admin = await nats.connect(**net.credentials("us", "admin"))
    hub_kr = await nats.connect(**net.credentials("kr", "linkadmin"))
    usage = {"US_X": (await _info(hub_admin, "$JS.API.INFO")).get("storage", 0),
             "KR_LINK": (await _info(hub_kr, "$JS.API.INFO")).get("storage", 0),
             "KR2X": (await _info(hub_kr, f"$JS.API.STREAM.INFO.KR2{flood_to.upper()}")).get("state", {})
             .get("bytes", 0)}
    await hub_admin.close()
    await hub_kr.close()
    if proc is not None:
        proc.join(30)
    await us.close()
    await jp.close()
    return {"attempted": attempted, "publish_failed": failed, "delivered": len(lat_ms),
            "p50": statistics.median(lat_ms) if lat_ms else float("nan"), "p99": pct(lat_ms, 0.99),
            "max": max(lat_ms, default=float("nan")), "flood_msgs": counter.value, **usage}


def run(label: str, spec, keys, trust, root: Path, args, *, limits: bool, flood: bool) -> None:
    gen = generate(spec, root / "jetstream", budget=BUDGET)
    same_disks(gen)
    if not limits:
        strip_limits(gen)
    with LocalNetwork.start(spec, root, gen=gen) as net:
        r = asyncio.run(measure(net, spec, keys, trust, rate_hz=args.rate, seconds=args.seconds, flood=flood,
                                kr_apart=args.kr_apart, link_mbit=args.link_mbit, flood_to=args.target))
    store = gen.configs["us"]["jetstream"]["max_file_store"]
    print(f"  {label:8s} US->JP delivered {r['delivered']}/{r['attempted']} (publish failures "
          f"{r['publish_failed']}): p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, max {r['max']:.0f} ms | "
          f"KR flood {r['flood_msgs'] * 64 / 1024:.0f} MiB sent; hub: US_X {r['US_X'] / MIB:.0f} MiB, "
          f"KR_LINK {r['KR_LINK'] / MIB:.0f} MiB (KR2{args.target.upper()} {r['KR2X'] / MIB:.0f} MiB) of a "
          f"{store / MIB:.0f} MiB "
          f"store", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds of flood per run")
    parser.add_argument("--rate", type=float, default=50.0, help="US->JP track reports per second")
    parser.add_argument("--only", choices=["baseline", "before", "after"], action="append")
    parser.add_argument("--kr-apart", action="store_true",
                        help="run KR's server and the flooder at nice 19, as if on KR's own machine")
    parser.add_argument("--target", choices=["us", "jp"], default="us",
                        help="whose link KR floods: the US's (default) or JP's, the US's own recipient")
    parser.add_argument("--link-mbit", type=float, default=None,
                        help="pace the flood to this link bandwidth (default: as fast as it goes)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()})
    pace = "full rate" if args.link_mbit is None else f"a {args.link_mbit:g} Mbit/s link full"
    side = " from its own (niced) side" if args.kr_apart else ""
    print(f"== KR floods tw.kr.{args.target}.track (64 KiB messages, {pace}){side} while the US sends {args.rate:.0f} "
          f"track reports/s to JP, {args.seconds:.0f} s measured")
    runs = {"baseline": (True, False), "before": (False, True), "after": (True, True)}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (limits, flood) in runs.items():
            if args.only and label not in args.only:
                continue
            run(label, spec, keys, trust, Path(tmp) / label, args, limits=limits, flood=flood)


if __name__ == "__main__":
    main()
