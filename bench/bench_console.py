"""The operator console's costs: a login (scrypt), the gate's cost per API request, and an operator's
Cancel from the request to its CAP document (at the node runner's next step).

    .venv/bin/python bench/bench_console.py [--requests 2000] [--logins 20]

- login: POST /api/login with the right password, median and p95 (scrypt N=2^14, run in a thread);
- request: GET /api/picture on the same app open (no security, the state before issue 16) and behind
  the gate with a session (Host check, session lookup, nation check): median per request, in process
  (httpx's ASGI transport, no sockets), so the figure is the gate's own cost;
- cancel: POST /api/cancel, then NodeRunner.step: the wall time from the request to the Cancel's CAP
  document (the node's step period comes on top: 1 s on a live node, whence the 10 s goal's margin).
Figures depend on the machine's load; the script prints the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from triwarn.api.app import create_app
from triwarn.api.audit import AuditLog
from triwarn.api.auth import add_user, load_users
from triwarn.api.guard import ConsoleSecurity
from triwarn.api.picture import PictureHub
from triwarn.node.core import NationalNode, NodeSettings
from triwarn.node.runner import NodeRunner
from triwarn.warn.reader import read_events
from triwarn_eval.synthetic import fly_overflight, picture_at

PASSWORD = "correct horse battery"
ORIGIN = {"origin": "http://127.0.0.1"}
T0 = 1_700_000_000.0


def _runner() -> NodeRunner:
    node = NationalNode(NodeSettings("jp", exercise="BENCH", run_id="bench"), {})
    events = [{"type": "launch", "t": T0 - 10, "lat_deg": 40.6, "lon_deg": 126.4, "time_unix_s": T0 - 30,
               "uncertainty_m": 2000.0, "exercise": "BENCH"},
              {"type": "area_risk", "t": T0, "track": "W1", "area": "JP-02", "kind": "impact", "probability": 0.9,
               "enter_time_unix_s": T0 + 300, "exercise": "BENCH"}]
    node.warner.step(read_events(events, node.warner.issuer), T0)
    return NodeRunner(node, None, lambda: T0 + 1)


def _q(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


async def main(requests: int, logins: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    add_user(tmp / "users.json", "aiko", "jp", "operator", PASSWORD)
    hub = PictureHub(("jp",))
    flight = fly_overflight()
    await hub.publish(picture_at(flight, "jp", flight.launch_unix_s + 400.0))
    runner = _runner()
    security = ConsoleSecurity.for_bind("127.0.0.1", ("jp",), users=load_users(tmp / "users.json"),
                                        audit=AuditLog(tmp / "audit.jsonl"))
    security.throttle.fails_max = 10**9
    guarded = create_app(hub, security=security, operators={"jp": runner})
    open_app = create_app(hub)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://127.0.0.1") as c:
        times = []
        for _ in range(logins):
            t = time.perf_counter()
            r = await c.post("/api/login", json={"user": "aiko", "password": PASSWORD}, headers=ORIGIN)
            times.append(time.perf_counter() - t)
            assert r.status_code == 200
        print(f"login: median {statistics.median(times) * 1e3:.1f} ms, p95 {_q(times, 0.95) * 1e3:.1f} ms "
              f"({logins} logins)")
        per = {}
        for name, client in (("open", None), ("gated", c)):
            if client is None:
                client = httpx.AsyncClient(transport=httpx.ASGITransport(app=open_app), base_url="http://127.0.0.1")
            ts = []
            for _ in range(requests):
                t = time.perf_counter()
                r = await client.get("/api/picture", params={"nation": "jp"})
                ts.append(time.perf_counter() - t)
                assert r.status_code == 200
            per[name] = statistics.median(ts)
            if name == "open":
                await client.aclose()
        print(f"GET /api/picture: open {per['open'] * 1e6:.0f} µs, behind the gate {per['gated'] * 1e6:.0f} µs "
              f"(median of {requests}; +{(per['gated'] - per['open']) * 1e6:.0f} µs)")
        t = time.perf_counter()
        r = await c.post("/api/cancel", json={"nation": "jp", "incident": "bench-1", "reason": "operator_error"},
                         headers=ORIGIN)
        assert r.status_code == 202, r.text
        result, _ = runner.step(T0 + 1)
        took = time.perf_counter() - t
        assert [m.msg_type for m, _ in result.cap_xml] == ["Cancel"]
        print(f"cancel: request to CAP document {took * 1e3:.1f} ms (plus up to one step period on a node)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--logins", type=int, default=20)
    args = ap.parse_args()
    asyncio.run(main(args.requests, args.logins))
