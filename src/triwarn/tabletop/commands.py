"""Command bodies of `triwarn tabletop serve` and `triwarn tabletop run`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from triwarn.wording import console as make_console


def run_tabletop_run(*, scenario: str | Path, decisions: Path, out: Path, seed: int) -> dict:
    from triwarn.tabletop.script import run_scripted

    console = make_console(stderr=True)
    wall0 = time.perf_counter()
    aar = run_scripted(scenario, decisions, out, seed=seed)
    ov = aar["overview"]
    console.print(f"tabletop {ov['exercise']}: {ov['duration_s']:.0f} s of scenario time in "
                  f"{time.perf_counter() - wall0:.1f} s; {ov['injects_delivered']} injects, {ov['decisions']} "
                  f"decisions, {ov['refused']} refused; {ov['cap_messages_by_seats']} CAP messages (Exercise)")
    for o in aar["objectives"]:
        console.print(f"  {o['id']}: {o['rating']} ({o['rating_words']}) - {o['why']}")
    print(f"AAR/IP: {out / 'aar.html'} and {out / 'aar.pdf'}", flush=True)
    return aar


def run_tabletop_serve(*, scenario: str | Path, out: Path, port: int, host: str, speed: float, seed: int) -> None:
    import uvicorn

    from triwarn.errors import InputError
    from triwarn.tabletop.app import Room, create_app, make_codes
    from triwarn.tabletop.clock import SessionClock
    from triwarn.tabletop.plan import load_tabletop
    from triwarn.tabletop.script import new_session
    from triwarn.tabletop.system import base_timeline

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise InputError("the tabletop server listens on loopback only (put a TLS proxy in front to share it)",
                         field="--host")
    plan = load_tabletop(scenario)
    console = make_console(stderr=True)
    out.mkdir(parents=True, exist_ok=True)
    if plan.base is not None:
        console.print(f"running the base scenario through the exercise engine ({plan.base.name})...")
    timeline = asyncio.run(base_timeline(plan, out / "system", seed=seed))
    clock = SessionClock(plan.duration_s)
    clock.set_speed(speed, time.monotonic())
    room = Room(new_session(plan, timeline), clock, make_codes(plan.seats), out)
    app = create_app(room)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    base = f"http://{host}:{port}/"
    print(f"tabletop {plan.exercise}: one page per seat (keep each link to its seat):", flush=True)
    for code, seat in room.codes.items():
        print(f"  {seat:<20} {base}?code={code}", flush=True)
    server.run()
