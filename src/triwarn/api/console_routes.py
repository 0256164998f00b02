"""The console's own routes: login and logout, who am I, and the operator's Cancel and correction.

    add_console_routes(app, security, operators)     # create_app does this when given a ConsoleSecurity

GET  /login                 the login page; /login?token=T redeems a one-time link (the demo's) and goes to /
POST /api/login             user and password (form or JSON): a session cookie; 401, 403 (another nation's
                            user), 429 (too many failures) otherwise
POST /api/logout            ends the session
GET  /api/me                the session: user, role, nations, the cancel reasons, whether Actual needs two
GET  /api/cancellable       ?nation=: the incidents an operator may cancel, and may correct (each with its
                            areas' states and suppressed areas), the areas that may be added, actions
                            awaiting a second operator, and what became of the latest actions
POST /api/cancel            {nation, incident, reason, note?}: operator or admin of that nation; queued for
                            the node's next step (202), or, for an Actual alert when two operators are
                            required, held until another operator confirms (202, state awaiting_confirmation)
POST /api/correct           {nation, incident, reason, remove: [area], add: [area], note?}: the same rules
POST /api/cancel/{id}/confirm   a second operator (not the first) confirms a held cancel or correction
                            (/api/correct/{id}/confirm says the same)

Every login, failed login, logout and operator action goes to the audit log: requested, confirmed, refused,
lapsed, and its outcome at the node's step (`cancel_issued` with the CAP identifiers, `cancel_failed` with
why; `correct_*` likewise). `operators` maps a nation to its node's runner (NodeRunner or LiveNode:
cancellable(), correctable(), request_cancel(), request_correct(), live, node, desk.outcomes); it is read
at each request, so a run that starts its nodes later (the demo) can fill it as they start.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from triwarn.api.auth import PASSWORD_MAX_CHARS, hash_password, verify_password
from triwarn.api.guard import ConsoleSecurity, client_of, session_of
from triwarn.errors import InputError
from triwarn.geo.areas_names import AREA_NAMES
from triwarn.node.operator_actions import AREAS_MAX, ActionOutcome, OperatorAction, OperatorCancel, OperatorCorrect
from triwarn.records.warnings import ERROR_REASONS

LOGIN_BODY_MAX_BYTES = 8192
PENDING_TTL_S = 600.0  # a cancel awaiting a second operator lapses after this long
PENDING_MAX = 100
REASON_WORDS = {
    "operator_error": "Operator error",
    "false_detection": "False detection",
    "separated_piece": "Separated piece, not a threat",
}
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))  # so that an unknown user costs a login the same time

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>triwarn: log in</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css">
</head><body class="login-page"><main class="login">
<h1>triwarn operator console</h1>{message}
<form method="post" action="/api/login">
<label>User <input name="user" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form></main></body></html>"""


@dataclass
class _Held:
    """An action (cancel or correction) awaiting a second operator."""

    id: str
    nation: str
    action: OperatorAction
    at_unix_s: float


def _json(obj: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(obj, status_code=status)


async def _body(request: Request) -> dict:
    """The request's fields, JSON or form, at most LOGIN_BODY_MAX_BYTES; ValueError when it is neither."""
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > LOGIN_BODY_MAX_BYTES:
            raise ValueError(f"body over {LOGIN_BODY_MAX_BYTES} bytes")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        doc = json.loads(raw or b"{}")
        if not isinstance(doc, dict):
            raise ValueError("expected a JSON object")
        return doc
    if kind == "application/x-www-form-urlencoded":
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    raise ValueError("send JSON or a form")


def add_console_routes(app: FastAPI, security: ConsoleSecurity, operators: Mapping[str, Any] | None) -> None:
    """The routes of the module docstring on app."""
    _add_session_routes(app, security)
    _add_cancel_routes(app, security, operators if operators is not None else {})


def _add_session_routes(app: FastAPI, security: ConsoleSecurity) -> None:
    """/login, /api/login, /api/logout, /api/me."""
    audit = security.audit

    def login_page(message: str = "", status: int = 200) -> HTMLResponse:
        text = f'<p class="login-error" role="alert">{html.escape(message)}</p>' if message else ""
        return HTMLResponse(_LOGIN_PAGE.format(message=text), status_code=status,
                            headers={"Cache-Control": "no-store"})

    def start_session(response: Response, user: str, nations: tuple[str, ...], role: str) -> None:
        s = security.sessions.create(user, nations, role)
        response.headers.append("set-cookie", security.cookie(s.token, security.sessions.ttl_s))

    @app.get("/login", include_in_schema=False)
    async def login_get(request: Request, token: str | None = None) -> Response:
        if token is None:
            return login_page()
        s = security.sessions.redeem(token)
        client = client_of(request.scope)
        if s is None:
            audit.write("login_failed", user=None, client=client, how="link", why="unknown or used link")
            return login_page("This login link is unknown, used or expired.", 401)
        audit.write("login", user=s.user, nations=list(s.nations), role=s.role, client=client, how="link")
        response = RedirectResponse("/", status_code=303)
        response.headers.append("set-cookie", security.cookie(s.token, security.sessions.ttl_s))
        return response

    @app.post("/api/login", tags=["console"], summary="Log in: a session cookie")
    async def login(request: Request) -> Response:
        client = client_of(request.scope)
        form = "form" in request.headers.get("content-type", "")
        wait = security.throttle.blocked_for_s(client)
        if wait > 0:
            audit.write("login_failed", user=None, client=client, why="throttled")
            return _json({"detail": f"too many failed logins; try again in {wait:.0f} s"}, 429)
        try:
            fields = await _body(request)
        except (ValueError, UnicodeDecodeError) as exc:
            return _json({"detail": f"login: {exc}"}, 400)
        name, password = fields.get("user"), fields.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or len(password) > PASSWORD_MAX_CHARS:
            return _json({"detail": "give user and password"}, 400)
        user = security.users.get(name)
        # scrypt takes tens of ms: in a thread, so that the node's loop (its steps) never waits for a login
        ok = await asyncio.to_thread(verify_password, password,
                                     user.password_hash if user is not None else _DUMMY_HASH) and user is not None
        if not ok:
            security.throttle.failed(client)
            audit.write("login_failed", user=name, client=client, why="wrong user or password")
            return login_page("Wrong user or password.", 401) if form else _json({"detail": "wrong user or password"},
                                                                                 401)
        if user.nation not in security.nations:
            audit.write("login_failed", user=name, client=client, why=f"a {user.nation} user on this node")
            detail = f"{name} is a {user.nation} user; this console serves {', '.join(security.nations)}"
            return login_page(detail, 403) if form else _json({"detail": detail}, 403)
        security.throttle.succeeded(client)
        audit.write("login", user=name, nations=[user.nation], role=user.role, client=client, how="password")
        response: Response = RedirectResponse("/", status_code=303) if form else _json(
            {"user": name, "role": user.role, "nations": [user.nation]})
        start_session(response, name, (user.nation,), user.role)
        return response

    @app.post("/api/logout", tags=["console"], summary="End the session")
    async def logout(request: Request) -> Response:
        s = security.sessions.drop(request.cookies.get(security.cookie_name))
        if s is not None:
            audit.write("logout", user=s.user, client=client_of(request.scope))
        response = _json({"ok": True})
        response.headers.append("set-cookie", security.clear_cookie())
        return response

    @app.get("/api/me", tags=["console"], summary="The session: user, role, nations, cancel reasons")
    async def me(request: Request) -> Response:
        s = session_of(request.scope)
        return _json({"user": s.user, "role": s.role, "nations": list(s.nations),
                      "can_cancel": s.at_least("operator"),
                      "reasons": [{"code": r, "words": REASON_WORDS.get(r, r)} for r in ERROR_REASONS],
                      "two_person_live": security.two_person_live})



def _area_list(value: Any, name: str) -> tuple[str, ...]:
    """A JSON list of area codes (at most AREAS_MAX); ValueError naming the field otherwise."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > AREAS_MAX or not all(
            isinstance(c, str) and 0 < len(c) <= 16 for c in value):
        raise ValueError(f"{name}: a list of at most {AREAS_MAX} area codes")
    return tuple(value)


def _outcome_doc(o: ActionOutcome) -> dict:
    a = o.action
    return {"kind": a.kind, "incident": a.incident, "reason": a.reason, "user": a.user,
            "confirmed_by": a.confirmed_by, "remove": list(getattr(a, "remove", ())),
            "add": list(getattr(a, "add", ())), "state": o.state, "t_unix_s": o.t_unix_s,
            "cap_identifier": o.cap_identifier, "cap_identifiers": list(o.cap_identifiers), "error": o.error}


def _listing(runner, security: ConsoleSecurity, held: list[_Held]) -> dict:
    """/api/cancellable's answer for one nation's runner and the actions held for it."""
    codes = getattr(runner.node.warner, "area_codes", ())
    return {"incidents": runner.cancellable(), "correctable": runner.correctable(),
            "addable": [{"code": c, "name": AREA_NAMES.get(c, (c,))[0]} for c in codes],
            "live": runner.live, "needs_second": security.two_person_live and runner.live,
            "awaiting": [{"id": h.id, "kind": h.action.kind, "incident": h.action.incident,
                          "reason": h.action.reason, "user": h.action.user, "at_unix_s": h.at_unix_s,
                          "remove": list(getattr(h.action, "remove", ())), "add": list(getattr(h.action, "add", ()))}
                         for h in held],
            "outcomes": [_outcome_doc(o) for o in list(runner.desk.outcomes)[-20:]]}


def _add_cancel_routes(app: FastAPI, security: ConsoleSecurity, runners: Mapping[str, Any]) -> None:
    """/api/cancellable, /api/cancel, /api/correct, and the second operator's confirm."""
    held: OrderedDict[str, _Held] = OrderedDict()
    audit = security.audit

    def expire_held() -> None:
        now = security.clock()
        for key in [k for k, h in held.items() if now - h.at_unix_s > PENDING_TTL_S]:
            h = held.pop(key)
            audit.write(f"{h.action.kind}_lapsed", user=h.action.user, nation=h.nation, incident=h.action.incident)

    def on_done(nation: str):
        """The audit line of an action's outcome, written when the node's step has issued it or it failed."""
        def write(o: ActionOutcome) -> None:
            a = o.action
            audit.write(f"{a.kind}_{o.state}", user=a.user, confirmed_by=a.confirmed_by, nation=nation,
                        incident=a.incident, reason=a.reason, step_unix_s=o.t_unix_s,
                        cap_identifiers=list(o.cap_identifiers), error=o.error)
        return write

    @app.get("/api/cancellable", tags=["console"], summary="What an operator may cancel or correct in a view")
    async def cancellable(request: Request, nation: str) -> Response:
        runner = runners.get(nation)
        if runner is None:
            return _json({"detail": f"no node of {nation!r} runs here (yet)"}, 404)
        expire_held()
        return _json(_listing(runner, security, [h for h in held.values() if h.nation == nation]))

    def refuse(s, kind: str, why: str, status: int, **fields) -> Response:
        audit.write(f"{kind}_refused", user=s.user if s else None, why=why, **fields)
        return _json({"detail": why}, status)

    def submit(runner, nation: str, action: OperatorAction) -> None:
        """Queue the action on the node's runner (InputError: it cannot be taken)."""
        request = runner.request_correct if isinstance(action, OperatorCorrect) else runner.request_cancel
        request(action, on_done(nation))

    async def take(request: Request, kind: str) -> Response:
        s = session_of(request.scope)
        try:
            fields = await _body(request)
            remove = _area_list(fields.get("remove"), "remove") if kind == "correct" else ()
            add = _area_list(fields.get("add"), "add") if kind == "correct" else ()
        except (ValueError, UnicodeDecodeError) as exc:
            return _json({"detail": f"{kind}: {exc}"}, 400)
        nation, incident, reason, note = (fields.get(k) for k in ("nation", "incident", "reason", "note"))
        ctx: dict[str, Any] = {"nation": nation, "incident": incident, "reason": reason,
                               "client": client_of(request.scope)}
        if kind == "correct":
            ctx.update(remove=list(remove), add=list(add))
        if not s.at_least("operator"):
            return refuse(s, kind, f"{s.user} is a {s.role}; to {kind} needs an operator", 403, **ctx)
        if not isinstance(nation, str) or nation not in s.nations:
            return refuse(s, kind, f"{s.user} may not act for {nation!r}", 403, **ctx)
        runner = runners.get(nation)
        if runner is None:
            return refuse(s, kind, f"no node of {nation!r} runs here (yet)", 404, **ctx)
        if not isinstance(incident, str) or not isinstance(reason, str) or not (note is None or isinstance(note, str)):
            return refuse(s, kind, "give incident and reason (text) and optionally a note", 400, **ctx)
        action: OperatorAction = (
            OperatorCorrect(incident=incident, reason=reason, user=s.user, remove=remove, add=add, note=note)
            if kind == "correct" else OperatorCancel(incident=incident, reason=reason, user=s.user, note=note))
        if security.two_person_live and runner.live:
            try:
                action = runner.desk.check(action)  # say now what cannot be done, not after the second click
            except InputError as exc:
                return refuse(s, kind, exc.reason, 409, **ctx)
            expire_held()
            while len(held) >= PENDING_MAX:
                held.popitem(last=False)
            h = _Held(secrets.token_urlsafe(12), nation, action, security.clock())
            held[h.id] = h
            audit.write(f"{kind}_requested", user=s.user, note=note, awaiting_second=True, id=h.id, **ctx)
            return _json({"state": "awaiting_confirmation", "id": h.id}, 202)
        try:
            submit(runner, nation, action)
        except InputError as exc:
            return refuse(s, kind, exc.reason, 409, **ctx)
        audit.write(f"{kind}_requested", user=s.user, note=note, awaiting_second=False, **ctx)
        return _json({"state": "queued"}, 202)

    @app.post("/api/cancel", tags=["console"], summary="Cancel an issued alert (operator)")
    async def cancel(request: Request) -> Response:
        return await take(request, "cancel")

    @app.post("/api/correct", tags=["console"], summary="Correct an issued alert: remove or add areas (operator)")
    async def correct(request: Request) -> Response:
        return await take(request, "correct")

    @app.post("/api/cancel/{held_id}/confirm", tags=["console"], summary="Confirm another operator's action")
    @app.post("/api/correct/{held_id}/confirm", tags=["console"], summary="Confirm another operator's action")
    async def confirm(request: Request, held_id: str) -> Response:
        s = session_of(request.scope)
        expire_held()
        h = held.get(held_id)
        ctx = {"id": held_id, "client": client_of(request.scope)}
        if h is None:
            return refuse(s, "confirm", "no such action awaiting confirmation", 404, **ctx)
        kind = h.action.kind
        ctx.update(nation=h.nation, incident=h.action.incident, reason=h.action.reason)
        if not s.at_least("operator") or h.nation not in s.nations:
            return refuse(s, kind, f"{s.user} may not confirm a {kind} for {h.nation!r}", 403, **ctx)
        if s.user == h.action.user:
            return refuse(s, kind, "the second operator must be someone else", 403, **ctx)
        runner = runners.get(h.nation)
        try:
            submit(runner, h.nation, replace(h.action, confirmed_by=s.user))
        except InputError as exc:
            held.pop(held_id, None)
            return refuse(s, kind, exc.reason, 409, **ctx)
        held.pop(held_id, None)
        audit.write(f"{kind}_confirmed", user=s.user, requested_by=h.action.user, **ctx)
        return _json({"state": "queued"}, 202)
