"""The console's gate: every HTTP request of the operator UI and API passes it before any route.

    security = ConsoleSecurity.for_bind("127.0.0.1", ("jp",), users=load_users(path), audit=AuditLog(p))
    app.add_middleware(ConsoleGuard, security=security)        # create_app and node_app do this

In order, a request is refused when:
1. its Host is not one of the names the server is bound to (DNS rebinding: a hostile page whose name
   resolves to this address still sends its own name): 421;
2. it changes state (any method but GET, HEAD, OPTIONS) and its Origin is missing or is not this very
   origin (a cross-site form or script): 403;
3. the client already has `max_requests_per_client` requests in progress, or opens a picture stream
   beyond `max_streams_per_client` (or beyond `max_streams` for everyone): 429;
4. it needs a session (everything under /api/ but login, health and metrics) and has none: 401;
5. it names a nation (`?nation=`) its session may not see: 403.
The page shell (/, /login, /static/) carries no data and is served without a session; the page sends
the operator to /login when the API says 401. /api/health and /metrics stay open to monitoring (counts
and link states, no picture and no alert) behind the same Host check and limits.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from starlette.requests import cookie_parser

from triwarn.api.audit import AuditLog
from triwarn.api.auth import LoginThrottle, Session, SessionStore, User

log = logging.getLogger(__name__)

SESSION_COOKIE = "triwarn_session"  # + a suffix per console: cookies ignore ports, and two nodes on one host
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({"/", "/login", "/api/login", "/api/health", "/metrics", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
STREAM_PATH = "/api/stream"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MAX_REQUESTS_PER_CLIENT = 32
MAX_STREAMS_PER_CLIENT = 4
MAX_STREAMS = 64


def is_loopback(host: str) -> bool:
    """Whether a bind address or name stays on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str | None:
    """The name part of a Host header or an origin's netloc (lower case, IPv6 without brackets), None
    when it is not one."""
    value = value.strip().lower()
    if not value or len(value) > 300:
        return None
    try:
        parts = urlsplit(f"//{value}")
        name = parts.hostname
        _ = parts.port  # ValueError on a port that is no number
    except ValueError:
        return None
    return name or None


@dataclass
class ConsoleSecurity:
    """What the gate and the console routes need: the users (by name), the nations served here, the
    sessions, the audit log, the host names the server answers to, whether it serves TLS (cookies are
    then Secure), the limits, and whether an Actual alert's cancel needs a second operator."""

    users: Mapping[str, User]
    nations: tuple[str, ...]
    hosts: frozenset[str]
    audit: AuditLog
    sessions: SessionStore = field(default_factory=SessionStore)
    tls: bool = False
    two_person_live: bool = False
    max_requests_per_client: int = MAX_REQUESTS_PER_CLIENT
    max_streams_per_client: int = MAX_STREAMS_PER_CLIENT
    max_streams: int = MAX_STREAMS
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    clock: Callable[[], float] = time.time
    refused: Counter[str] = field(default_factory=Counter)  # host, origin, busy, streams, session, nation
    cookie_name: str = field(default_factory=lambda: f"{SESSION_COOKIE}_{secrets.token_hex(4)}")

    @classmethod
    def for_bind(cls, bind_host: str, nations: Iterable[str], *, users: Mapping[str, User] | None = None,
                 audit: AuditLog | None = None, extra_hosts: Iterable[str] = (), tls: bool = False,
                 two_person_live: bool = False, clock: Callable[[], float] = time.time) -> ConsoleSecurity:
        """The security of a server bound to bind_host: it answers to that address, to the loopback names
        when bound to loopback (or to every address), and to extra_hosts (the names clients use)."""
        hosts = {h.lower().strip("[]") for h in extra_hosts}
        if bind_host not in ("0.0.0.0", "::", ""):
            hosts.add(bind_host.lower().strip("[]"))
        if is_loopback(bind_host) or bind_host in ("0.0.0.0", "::", ""):
            hosts.update(LOOPBACK_NAMES)
        return cls(users=dict(users or {}), nations=tuple(nations), hosts=frozenset(hosts),
                   audit=audit if audit is not None else AuditLog(None, clock=clock),
                   sessions=SessionStore(clock), tls=tls, two_person_live=two_person_live,
                   throttle=LoginThrottle(clock), clock=clock)

    def cookie(self, token: str, max_age_s: float) -> str:
        """The Set-Cookie value of a session: HttpOnly, SameSite=Strict, Secure under TLS."""
        secure = "; Secure" if self.tls else ""
        return f"{self.cookie_name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={int(max_age_s)}{secure}"

    def clear_cookie(self) -> str:
        secure = "; Secure" if self.tls else ""
        return f"{self.cookie_name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"


def one_time_console(nations: Iterable[str], audit_path: Path | None, user: str) -> tuple[ConsoleSecurity, str]:
    """A loopback console with no users file and one operator login link (the demo's, and a node started
    without --users): (security, token); the page is at /login?token=TOKEN, good for one use."""
    nations = tuple(nations)
    security = ConsoleSecurity.for_bind("127.0.0.1", nations, audit=AuditLog(audit_path))
    return security, security.sessions.one_time(user, nations, "operator")


def session_of(scope: Mapping) -> Session | None:
    """The session the gate found for this request (None: none)."""
    return scope.get("triwarn.session")


def client_of(scope: Mapping) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


class ConsoleGuard:
    """ASGI middleware enforcing the rules of the module docstring."""

    def __init__(self, app, security: ConsoleSecurity) -> None:
        self.app = app
        self.security = security
        self.inflight: Counter[str] = Counter()
        self.streams: Counter[str] = Counter()

    async def _refuse(self, send, status: int, kind: str, detail: str, headers: Iterable[tuple[bytes, bytes]] = ()):
        self.security.refused[kind] += 1
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                *headers]})
        await send({"type": "http.response.body", "body": body})

    def _check(self, scope, headers: dict[bytes, bytes]) -> tuple[int, str, str] | None:
        """(status, kind, detail) of the first rule the request breaks, None when it passes 1, 2 and 4, 5."""
        sec = self.security
        raw_host = headers.get(b"host", b"").decode("latin-1")
        name = host_name(raw_host)
        if name is None or name not in sec.hosts:
            return 421, "host", f"host {raw_host[:100]!r} is not a name this server answers to"
        if scope["method"] not in SAFE_METHODS:
            origin = headers.get(b"origin", b"").decode("latin-1")
            parts = urlsplit(origin) if origin and origin != "null" else None
            want = "https" if sec.tls else "http"
            if parts is None or parts.scheme != want or parts.netloc.lower() != raw_host.strip().lower():
                return 403, "origin", (f"origin {origin[:100]!r} is not this console's" if origin
                                       else "a request that changes something must carry this console's Origin")
        path = scope["path"]
        session = session_of(scope)
        if session is None and path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES):
            return 401, "session", "log in first (/login)"
        if session is not None:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            for nation in query.get("nation", []):
                if nation not in session.nations:
                    return 403, "nation", f"{session.user} may not see the {nation!r} view"
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sec = self.security
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        token = cookie_parser(headers.get(b"cookie", b"").decode("latin-1")).get(sec.cookie_name)
        session = sec.sessions.get(token)
        scope["triwarn.session"] = session
        refused = self._check(scope, headers)
        if refused is not None:
            await self._refuse(send, *refused)
            return
        client = client_of(scope)
        if self.inflight[client] >= sec.max_requests_per_client:
            await self._refuse(send, 429, "busy", f"too many requests in progress from {client}",
                               [(b"retry-after", b"1")])
            return
        stream = scope["path"] == STREAM_PATH
        if stream and (self.streams[client] >= sec.max_streams_per_client
                       or sum(self.streams.values()) >= sec.max_streams):
            await self._refuse(send, 429, "streams", "too many open picture streams", [(b"retry-after", b"5")])
            return
        self.inflight[client] += 1
        if stream:
            self.streams[client] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight[client] -= 1
            if self.inflight[client] <= 0:
                del self.inflight[client]
            if stream:
                self.streams[client] -= 1
                if self.streams[client] <= 0:
                    del self.streams[client]
