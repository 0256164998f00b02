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
p50/p99/max and how full the hub's store and KR's hub streams got; then where a US->JP message spent
its time (p50/p99 of each leg: publish -> stored in OUT_US, US2JP, FOR_US2JP at the hub, IN_US2JP at
JP -> JP's callback, from the streams' own store times), how many of KR's messages each hop stored,
how many JP's node refused (it reads KR under its intake budget and holds KR at its server:
share/inbox.py), and the CPU each process used while measured. --hold off: JP's node does not hold KR
at its server; --hub-police off: the hub does not hold KR's flooding link (share/linkpolice.py).
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


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc); NaN when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _info(nc, subject: str) -> dict:
    try:
        return json.loads((await nc.request(subject, b"", timeout=2.0)).data)
    except nats.errors.Error:
        return {}


# Where a US->JP message is stored on its way: (login nation, role, stream); the first three at the hub.
HOPS = (("us", "admin", "OUT_US"), ("us", "admin", "US2JP"), ("jp", "linkadmin", "FOR_US2JP"),
        ("jp", "admin", "IN_US2JP"))


async def hop_times(net) -> dict[str, dict[str, float]]:
    """Per hop stream: message id -> the time (UTC s) that stream stored it."""
    out: dict[str, dict[str, float]] = {}
    for nation, role, stream in HOPS:
        nc = await nats.connect(**net.credentials(nation, role))
        js = nc.jetstream(timeout=5.0)
        times: dict[str, float] = {}
        try:
            info = await js.stream_info(stream)
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                raw = await js.get_msg(stream, seq=seq)
                msg_id = (raw.headers or {}).get("Nats-Msg-Id")
                if msg_id and raw.time is not None:
                    times[msg_id] = raw.time.timestamp()
        except nats.errors.Error as exc:
            print(f"  (hop {stream} not read: {exc!r})")
        out[stream] = times
        await nc.close()
    return out


async def measure(net, spec, keys, trust, *, rate_hz: float, seconds: float, flood: bool,
                  kr_apart: bool, link_mbit: float | None, flood_to: str = "us", hold: bool = True) -> dict:
    us = ShareTransport("us", spec, keys["us"], trust, **net.node_credentials("us"), publish_timeout_s=1.0,
                        ack_timeout_s=0.5)
    jp = ShareTransport("jp", spec, keys["jp"], trust, **net.node_credentials("jp"), durable="flood",
                        hold_floods=hold)
    await us.connect()
    await jp.connect()
    started: dict[str, float] = {}  # message id -> perf_counter at publish
    lat_ms: list[float] = []
    wall: dict[str, tuple[float, float]] = {}  # Nats-Msg-Id -> (publish, callback) wall clock, for the hops

    def on_msg(m) -> None:
        t = started.pop(m.msg_id, None)
        if t is not None:
            lat_ms.append((time.perf_counter() - t) * 1e3)
            key = f"{m.msg_id}.jp"
            wall[key] = (wall[key][0], time.time())

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
    pids = {**{n: p.pid for n, p in net.procs.items()}, "bench(US+JP nodes)": os.getpid(),
            **({"flooder": proc.pid} if proc is not None else {})}
    cpu0 = {k: cpu_s(pid) for k, pid in pids.items()}
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
        wall[out.dedupe_id("jp")] = (time.time(), float("nan"))
        attempted += 1
        try:
            await us.send(out)
        except PublishError:
            failed += 1
    cpu = {k: (cpu_s(pid) - cpu0[k]) / (time.perf_counter() - t_start) for k, pid in pids.items()}
    deadline = time.monotonic() + 5
    while started and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    hub_admin = await nats.connect(**net.credentials("us", "admin"))
    hub_kr = await nats.connect(**net.credentials("kr", "linkadmin"))
    usage = {"US_X": (await _info(hub_admin, "$JS.API.INFO")).get("storage", 0),
             "KR_LINK": (await _info(hub_kr, "$JS.API.INFO")).get("storage", 0),
             "KR2X": (await _info(hub_kr, f"$JS.API.STREAM.INFO.KR2{flood_to.upper()}")).get("state", {})
             .get("bytes", 0)}
    # How much of the flood each hop stored (a message count: the streams drop their oldest when full).
    junk = {"KR2X": (await _info(hub_kr, f"$JS.API.STREAM.INFO.KR2{flood_to.upper()}")),
            "FOR": {}, "IN": {}}
    if flood_to != spec.hub:
        hub_link = await nats.connect(**net.credentials(flood_to, "linkadmin"))
        junk["FOR"] = await _info(hub_link, f"$JS.API.STREAM.INFO.FOR_KR2{flood_to.upper()}")
        await hub_link.close()
    far = await nats.connect(**net.credentials(flood_to, "admin"))
    junk["IN"] = await _info(far, f"$JS.API.STREAM.INFO.IN_KR2{flood_to.upper()}")
    await far.close()
    usage["junk_stored"] = " -> ".join(f"{k} {v.get('state', {}).get('last_seq', 0)}" for k, v in junk.items() if v)
    await hub_admin.close()
    await hub_kr.close()
    if proc is not None:
        proc.join(30)
    hops = hop_breakdown(wall, await hop_times(net))
    refused = sum(v for k, v in jp.counters.items() if k.startswith("recv_") and k != "recv_accepted"
                  and k not in ("recv_epoch_changes",))
    await us.close()
    await jp.close()
    return {"jp_refused": refused, "attempted": attempted, "publish_failed": failed, "delivered": len(lat_ms),
            "p50": statistics.median(lat_ms) if lat_ms else float("nan"), "p99": pct(lat_ms, 0.99),
            "max": max(lat_ms, default=float("nan")), "hops": hops, "cpu": cpu, "flood_msgs": counter.value, **usage}


def hop_breakdown(wall: dict[str, tuple[float, float]], times: dict[str, dict[str, float]]) -> str:
    """p50/p99 of each leg (publish -> each stream on the way -> JP's callback), over the delivered."""
    names = ["publish", *times, "JP node"]
    legs: list[list[float]] = [[] for _ in names[1:]]
    for msg_id, (pub, cb) in wall.items():
        stamps = [pub, *(times[h].get(msg_id, float("nan")) for h in times), cb]
        if any(x != x for x in stamps):  # NaN: not delivered, or a hop not read
            continue
        for i in range(len(legs)):
            legs[i].append((stamps[i + 1] - stamps[i]) * 1e3)
    return ", ".join(f"->{names[i + 1]} {statistics.median(v):.1f}/{pct(v, 0.99):.1f}"
                     for i, v in enumerate(legs) if v)


def run(label: str, spec, keys, trust, root: Path, args, *, limits: bool, flood: bool) -> None:
    gen = generate(spec, root / "jetstream", budget=BUDGET)
    same_disks(gen)
    if not limits:
        strip_limits(gen)
    with LocalNetwork.start(spec, root, gen=gen, police_links=args.hub_police == "on") as net:
        r = asyncio.run(measure(net, spec, keys, trust, rate_hz=args.rate, seconds=args.seconds, flood=flood,
                                kr_apart=args.kr_apart, link_mbit=args.link_mbit, flood_to=args.target,
                                hold=args.hold == "on"))
    store = gen.configs["us"]["jetstream"]["max_file_store"]
    print(f"  {label:8s} US->JP delivered {r['delivered']}/{r['attempted']} (publish failures "
          f"{r['publish_failed']}): p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, max {r['max']:.0f} ms | "
          f"KR flood {r['flood_msgs'] * 64 / 1024:.0f} MiB sent; hub: US_X {r['US_X'] / MIB:.0f} MiB, "
          f"KR_LINK {r['KR_LINK'] / MIB:.0f} MiB (KR2{args.target.upper()} {r['KR2X'] / MIB:.0f} MiB) of a "
          f"{store / MIB:.0f} MiB "
          f"store\n           legs p50/p99 ms (wall clocks of one machine): {r['hops']}"
          f"\n           KR messages stored on the way: {r['junk_stored']}; JP node refused {r['jp_refused']}"
          f"; CPU (cores) while measured: "
          f"{', '.join(f'{k} {v:.2f}' for k, v in r['cpu'].items())}; load average {os.getloadavg()[0]:.1f}",
          flush=True)


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
    parser.add_argument("--hold", choices=["on", "off"], default="on",
                        help="JP's node holds a flooding sender at its server (ShareTransport hold_floods)")
    parser.add_argument("--hub-police", choices=["on", "off"], default="on",
                        help="the hub holds a partner's link that floods it (share/linkpolice.py)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    spec = load_network()
    keys = {n: signing.new_key() for n in spec.nations}
    trust = signing.TrustStore({n: k.verify_key for n, k in keys.items()})
    pace = "full rate" if args.link_mbit is None else f"a {args.link_mbit:g} Mbit/s link full"
    side = " from its own (niced) side" if args.kr_apart else ""
    print(f"== KR floods tw.kr.{args.target}.track (64 KiB messages, {pace}){side} while the US sends {args.rate:.0f} "
          f"track reports/s to JP, {args.seconds:.0f} s measured; JP's hold of a flood {args.hold}, the hub's "
          f"{args.hub_police}")
    runs = {"baseline": (True, False), "before": (False, True), "after": (True, True)}
    with tempfile.TemporaryDirectory() as tmp:
        for label, (limits, flood) in runs.items():
            if args.only and label not in args.only:
                continue
            run(label, spec, keys, trust, Path(tmp) / label, args, limits=limits, flood=flood)


if __name__ == "__main__":
    main()
