"""The tabletop session's web face (its own FastAPI app): one page per seat, joined with the seat's code.

    app = create_app(room)              # room: Room(session, clock, codes, out)
    GET  /                              the join page (enter the seat's code), or /?code=... straight in
    GET  /api/me?code=                  who the code is: seat, nation, what it may do
    GET  /api/stream?code=              server-sent events: the clock, the timeline entries the seat may see,
                                        the nation's picture (from the recorded picture feed)
    POST /api/decide                    {code, action, ...}: a seat's decision (refused and logged if the
                                        seat acts for another nation, or the code is wrong)
    POST /api/control                   {code, action: start|pause|resume|speed|rewind|inject|adhoc|
                                        improvement|rate|end}: the controller only
    GET  /api/aar?code=                 (controller) writes the AAR/IP into the output folder

A background task advances the session to the clock's time every TICK_S, so an inject due at T+N reaches
its seats' pages within TICK_S plus one push.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from triwarn.tabletop.clock import SessionClock
from triwarn.tabletop.plan import CONTROLLER
from triwarn.tabletop.session import CONTROLLER_ACTIONS, SEAT_ACTIONS, Refused, TabletopSession, seat_nation

STATIC = Path(__file__).with_name("static")
TICK_S = 0.1
STATUS_EVERY_S = 1.0
MAX_BODY = 16_000


def make_codes(seats) -> dict[str, str]:
    """A fresh, unguessable join code per seat: code -> seat."""
    return {secrets.token_urlsafe(12): s for s in seats}


@dataclass
class Room:
    """A running session: the session core, the clock, the seats' codes, where the AAR goes."""

    session: TabletopSession
    clock: SessionClock
    codes: dict[str, str]
    out: Path
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    wall: object = time.monotonic

    def now(self) -> float:
        return self.clock.now(self.wall())

    def notify(self) -> None:
        ev, self.changed = self.changed, asyncio.Event()
        ev.set()

    def tick(self) -> None:
        t = self.now()
        if self.session.advance(t):
            self.notify()
        elif self.clock.running and t >= self.clock.duration_s:
            self.clock.pause(self.wall())
            self.session.control("end", t)
            self.notify()

    def status(self) -> dict:
        return {"t_s": round(self.now(), 2), "running": self.clock.running, "speed": self.clock.speed,
                "branch": self.session.branch, "duration_s": self.clock.duration_s}


def _seat_of(room: Room, code: str | None) -> str | None:
    return room.codes.get(code or "")


def create_app(room: Room) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async def loop():
            while True:
                room.tick()
                await asyncio.sleep(TICK_S)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()

    app = FastAPI(title="triwarn tabletop", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.room = room
    s = room.session

    @app.get("/")
    async def index():
        return FileResponse(STATIC / "seat.html", headers={"Cache-Control": "no-store"})

    @app.get("/favicon.ico")
    async def favicon():
        return Response(status_code=204)

    @app.get("/static/{name}")
    async def static(name: str):
        path = STATIC / name
        if "/" in name or not path.is_file():
            return JSONResponse({"error": "not found"}, 404)
        return FileResponse(path)

    def refuse(code: str | None, why: str, body: dict | None = None, status: int = 403):
        s.log_refused(room.now(), _seat_of(room, code), why, body)
        room.notify()
        return JSONResponse({"ok": False, "error": why}, status)

    @app.get("/api/me")
    async def me(code: str = ""):
        seat = _seat_of(room, code)
        if seat is None:
            return refuse(code, "unknown join code")
        nation = seat_nation(seat)
        plan = s.plan
        return {"seat": seat, "nation": nation, "exercise": plan.exercise, "name": plan.name,
                "nations": list(plan.nations), "seats": list(plan.seats),
                "actions": list(CONTROLLER_ACTIONS if seat == CONTROLLER else SEAT_ACTIONS if nation else []),
                "areas": sorted(c for c in s.area_codes if nation and c.lower().startswith(nation + "-")),
                "decision_points": plan.decision_points(),
                "msel": [vars(i) | {"to": list(i.to)} for i in plan.msel] if seat == CONTROLLER else [],
                "objectives": [o.id for o in plan.objectives], "status": room.status()}

    @app.get("/api/stream")
    async def stream(request: Request, code: str = "", after: int = -1):
        seat = _seat_of(room, code)
        if seat is None:
            return refuse(code, "unknown join code")
        return StreamingResponse(_events(room, request, seat, after), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.post("/api/decide")
    async def decide(request: Request):
        body = await body_of(request)
        if body is None:
            return refuse(None, "the request is not a JSON object of at most 16 kB", status=400)
        code = body.pop("code", None)
        seat = _seat_of(room, code)
        if seat is None:
            return refuse(code, "unknown join code", body)
        claimed = body.pop("seat", seat)
        if claimed != seat:
            return refuse(code, f"seat {seat} cannot act as seat {claimed!r}", body)
        entry = s.decide(seat, body, room.now())
        room.notify()
        ok = entry.kind != "refused"
        return JSONResponse({"ok": ok, "entry": entry.as_dict()}, 200 if ok else 409)

    @app.post("/api/control")
    async def control(request: Request):
        body = await body_of(request)
        if body is None:
            return refuse(None, "the request is not a JSON object of at most 16 kB", status=400)
        code = body.pop("code", None)
        seat = _seat_of(room, code)
        if seat != CONTROLLER:
            return refuse(code, "only the controller controls the exercise", body)
        try:
            entry = _control(room, body)
        except (Refused, ValueError, TypeError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, 409)
        room.notify()
        return {"ok": entry.kind != "refused", "entry": entry.as_dict(), "status": room.status()}

    @app.get("/api/aar")
    async def aar(code: str = ""):
        if _seat_of(room, code) != CONTROLLER:
            return refuse(code, "only the controller writes the AAR")
        from triwarn.tabletop.script import write_outputs

        room.out.mkdir(parents=True, exist_ok=True)
        report = await asyncio.to_thread(write_outputs, s, room.out)
        return {"ok": True, "html": str(room.out / "aar.html"), "pdf": str(room.out / "aar.pdf"),
                "timeline_entries": len(report["timeline"])}

    return app


async def body_of(request: Request) -> dict | None:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _events(room: Room, request: Request, seat: str, after: int):
    """The seat's server-sent events: new timeline entries, the clock, the nation's picture."""
    s, nation = room.session, seat_nation(seat)
    last, last_status, last_pic = after, 0.0, None
    while not await request.is_disconnected():
        waiter = room.changed
        new = s.visible(seat, last)
        if new:
            last = new[-1].seq
            yield f"event: entries\ndata: {json.dumps([e.as_dict() for e in new], default=str)}\n\n"
        now = time.monotonic()
        if now - last_status >= STATUS_EVERY_S or new:
            last_status = now
            yield f"event: status\ndata: {json.dumps(room.status())}\n\n"
            if nation:
                pic = s.timeline.picture_at(nation, room.now())
                if pic is not None and pic is not last_pic:
                    last_pic = pic
                    yield f"event: picture\ndata: {json.dumps(pic, default=str)}\n\n"
        try:
            await asyncio.wait_for(waiter.wait(), timeout=STATUS_EVERY_S)
        except TimeoutError:
            pass


def _control(room: Room, body: dict):
    s, clock, wall = room.session, room.clock, room.wall()
    action = body.get("action")
    if action in ("start", "resume"):
        clock.start(wall)
        return s.control(action, room.now())
    if action == "pause":
        clock.pause(wall)
        return s.control("pause", room.now())
    if action == "speed":
        clock.set_speed(float(body.get("speed")), wall)
        return s.control("speed", room.now(), speed=clock.speed)
    if action == "rewind":
        t = float(body.get("t_s"))
        entry = s.rewind(t)
        clock.jump(t, wall)
        clock.pause(wall)
        return entry
    if action == "inject":
        return s.inject_now(int(body.get("number")), room.now())
    if action == "adhoc":
        to = body.get("to") or []
        return s.inject_adhoc(str(body.get("type")), [str(x) for x in to] if isinstance(to, list) else [str(to)],
                              str(body.get("description") or ""), room.now())
    if action == "end":
        clock.pause(wall)
        return s.control("end", room.now())
    if action in CONTROLLER_ACTIONS:
        return s.decide(CONTROLLER, body, room.now())
    raise Refused(f"unknown control action {action!r}")
