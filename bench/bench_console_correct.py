"""An operator's correction against an operator's Cancel: the wall time from the API request to the CAP
documents (at the node runner's next step), and the warning machine's step with suppressed areas.

    .venv/bin/python bench/bench_console_correct.py [--runs 30]

- cancel / correct: POST /api/cancel or /api/correct (remove JP-03, add JP-05) in process (httpx's ASGI
  transport), then NodeRunner.step: median and p95 over fresh runners (one Alert each, JP-02 and JP-03).
  A live node steps every second, which comes on top (the goal is 10 s);
- step: WarningMachine.step on the same assessment cycle, with no correction and after the correction
  (JP-03 suppressed, JP-05 pinned): median per step, i.e. what the suppression check costs each step.
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

T0 = 1_700_000_000.0
PASSWORD = "correct horse battery"
ORIGIN = {"origin": "http://127.0.0.1"}
EX = "BENCH"


def _cycle(t: float) -> list[dict]:
    return [{"type": "area_risk", "t": t, "track": "W1", "area": a, "kind": "impact", "probability": p,
             "enter_time_unix_s": T0 + 300, "exercise": EX} for a, p in (("JP-02", 0.9), ("JP-03", 0.6))]


def _runner() -> NodeRunner:
    node = NationalNode(NodeSettings("jp", exercise=EX, run_id="bench"), {})
    launch = {"type": "launch", "t": T0 - 10, "lat_deg": 40.6, "lon_deg": 126.4, "time_unix_s": T0 - 30,
              "uncertainty_m": 2000.0, "exercise": EX}
    node.warner.step(read_events([launch, *_cycle(T0)], node.warner.issuer), T0)
    return NodeRunner(node, None, lambda: T0 + 1)


def _q(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


async def _action(security, path: str, body: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        runner = _runner()
        app = create_app(PictureHub(("jp",)), security=security, operators={"jp": runner})
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
            r = await c.post("/api/login", json={"user": "aiko", "password": PASSWORD}, headers=ORIGIN)
            assert r.status_code == 200
            t = time.perf_counter()
            r = await c.post(path, json=body, headers=ORIGIN)
            assert r.status_code == 202, r.text
            result, _ = runner.step(T0 + 1)
            times.append(time.perf_counter() - t)
            assert result.cap_xml
    return times


def _steps(correct: bool, n: int = 200) -> float:
    runner = _runner()
    warner = runner.node.warner
    if correct:
        warner.correct("bench-1", T0 + 1, remove=["JP-03"], add=["JP-05"], exercise=EX)
    ts = []
    for k in range(n):
        t = T0 + 2 + k
        records = read_events(_cycle(t), warner.issuer)
        t0 = time.perf_counter()
        assert warner.step(records, t) == [] or k == 0
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


async def main(runs: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    add_user(tmp / "users.json", "aiko", "jp", "operator", PASSWORD)
    security = ConsoleSecurity.for_bind("127.0.0.1", ("jp",), users=load_users(tmp / "users.json"),
                                        audit=AuditLog(tmp / "audit.jsonl"))
    security.throttle.fails_max = 10**9
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    base = {"nation": "jp", "incident": "bench-1", "reason": "operator_error"}
    for name, path, body in (("cancel", "/api/cancel", base),
                             ("correct", "/api/correct", {**base, "remove": ["JP-03"], "add": ["JP-05"]})):
        ts = await _action(security, path, body, runs)
        print(f"{name}: request to CAP documents median {statistics.median(ts) * 1e3:.1f} ms, "
              f"p95 {_q(ts, 0.95) * 1e3:.1f} ms ({runs} runs; plus up to one step period on a node)")
    plain, corrected = _steps(False), _steps(True)
    print(f"WarningMachine.step: {plain * 1e6:.0f} µs without a correction, {corrected * 1e6:.0f} µs with one "
          "area suppressed and one pinned (median of 200)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    asyncio.run(main(ap.parse_args().runs))
