"""Who may use the operator console: local users per nation with a role, their hashed passwords, the
users file, server-side sessions and a brake on password guessing.

    users = load_users(Path("users.json"))             # InputError naming the file, field and why
    user = users["aiko"]; user.check("secret")          # True / False (constant time)
    sessions = SessionStore(clock=time.time)
    s = sessions.create("aiko", ("jp",), "operator")    # s.token goes into the cookie, once
    sessions.get(token)                                 # the Session, or None (unknown, expired, idle)

Roles, in rising order: viewer (sees the picture), operator (also cancels alerts), admin (everything an
operator does; kept for user management). A user belongs to one nation and sees only that nation's view.

Passwords are hashed with scrypt (the `cryptography` package's implementation): the file holds
`scrypt$N$r$p$salt$hash` (base64), and the cost figures read back are bounded before use, so a
tampered file cannot make a login take minutes or gigabytes.

The users file is JSON, written by `triwarn users add` (triwarn.cli_users):

    {"version": 1, "users": [{"name": "aiko", "nation": "jp", "role": "operator", "password": "scrypt$..."}]}
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from triwarn.errors import InputError

ROLES = ("viewer", "operator", "admin")
ROLE_RANK = {r: i for i, r in enumerate(ROLES)}
USER_NATIONS = ("us", "jp", "kr")
USERS_FILE_VERSION = 1
USERS_FILE_MAX_BYTES = 1_000_000
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 1024

SCRYPT_N = 2**14  # 16 MiB and some tens of ms per hash: cheap for one login, dear for a guessing run
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_N_MAX = 2**20  # bounds on what a users file may ask for (1 GiB at r=8 is already absurd)
SCRYPT_R_MAX = 32
SCRYPT_P_MAX = 16
SALT_BYTES = 16
HASH_BYTES = 32

SESSION_TTL_S = 12 * 3600.0  # a session ends this long after login (an operator's shift)...
SESSION_IDLE_S = 3600.0  # ...or after this long without a request
SESSIONS_MAX = 1000  # the oldest session is dropped beyond this
ONE_TIME_TTL_S = 24 * 3600.0  # a one-time login link (the demo's) is good for this long, and for one use

LOGIN_FAILS_MAX = 5  # failed logins per client within LOGIN_FAIL_WINDOW_S before it must wait
LOGIN_FAIL_WINDOW_S = 60.0


# ------------------------------------------------------------------------------------------- passwords
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$N$r$p$salt$hash` of a password (a fresh random salt each time)."""
    salt = os.urandom(SALT_BYTES)
    digest = Scrypt(salt=salt, length=HASH_BYTES, n=n, r=r, p=p).derive(password.encode("utf-8"))
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def parse_password_hash(text: str) -> tuple[int, int, int, bytes, bytes]:
    """(N, r, p, salt, hash) of a stored hash; ValueError saying what is wrong (bounded cost figures)."""
    parts = text.split("$") if isinstance(text, str) else []
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("not a password hash of the form scrypt$N$r$p$salt$hash (`triwarn users add` writes one)")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise ValueError("password hash: N, r, p must be integers and salt, hash base64") from None
    if not (2 <= n <= SCRYPT_N_MAX and n & (n - 1) == 0):
        raise ValueError(f"password hash: N={n} must be a power of two from 2 to {SCRYPT_N_MAX}")
    if not (1 <= r <= SCRYPT_R_MAX and 1 <= p <= SCRYPT_P_MAX):
        raise ValueError(f"password hash: r={r}, p={p} out of range (r 1..{SCRYPT_R_MAX}, p 1..{SCRYPT_P_MAX})")
    if not (8 <= len(salt) <= 64 and 16 <= len(digest) <= 64):
        raise ValueError("password hash: salt or hash of an odd length")
    return n, r, p, salt, digest


def verify_password(password: str, stored: str) -> bool:
    """Whether password matches the stored hash (constant time in the hash comparison)."""
    n, r, p, salt, digest = parse_password_hash(stored)
    if len(password) > PASSWORD_MAX_CHARS:
        return False
    try:
        Scrypt(salt=salt, length=len(digest), n=n, r=r, p=p).verify(password.encode("utf-8"), digest)
    except InvalidKey:
        return False
    return True


# ------------------------------------------------------------------------------------------ users file
@dataclass(frozen=True)
class User:
    """A console user: name, nation (the only view it sees), role and its password hash."""

    name: str
    nation: str
    role: str
    password_hash: str

    def check(self, password: str) -> bool:
        return verify_password(password, self.password_hash)

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


def _user_from(item: object, i: int, source: str) -> User:
    if not isinstance(item, dict):
        raise InputError("each user is an object with name, nation, role and password", source=source,
                         field=f"users[{i}]")
    extra = set(item) - {"name", "nation", "role", "password"}
    if extra:
        raise InputError(f"unknown field(s) {', '.join(sorted(extra))}", source=source, field=f"users[{i}]")
    name, nation, role, pw = (item.get(k) for k in ("name", "nation", "role", "password"))
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"{name!r} is not a user name (lower-case letters, digits, . _ -; at most 64)",
                         source=source, field=f"users[{i}].name")
    if nation not in USER_NATIONS:
        raise InputError(f"{nation!r} is not a nation ({', '.join(USER_NATIONS)})", source=source,
                         field=f"users[{i}].nation")
    if role not in ROLES:
        raise InputError(f"{role!r} is not a role ({', '.join(ROLES)})", source=source, field=f"users[{i}].role")
    try:
        parse_password_hash(pw)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InputError(str(exc), source=source, field=f"users[{i}].password") from None
    return User(name, nation, role, pw)  # type: ignore[arg-type]


def load_users(path: Path) -> dict[str, User]:
    """The users of a users file by name; InputError naming the file (line, field) and what is wrong."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > USERS_FILE_MAX_BYTES:
            raise InputError(f"{size} bytes; a users file is at most {USERS_FILE_MAX_BYTES}", source=source)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("users file not found (`triwarn users add` creates one)", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", source=source) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", source=source, line=exc.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("users"), list):
        raise InputError('expected {"version": 1, "users": [...]}', source=source, field="users")
    if doc.get("version") != USERS_FILE_VERSION:
        raise InputError(f"version {doc.get('version')!r}; this triwarn reads version {USERS_FILE_VERSION}",
                         source=source, field="version")
    users: dict[str, User] = {}
    for i, item in enumerate(doc["users"]):
        user = _user_from(item, i, source)
        if user.name in users:
            raise InputError(f"user {user.name!r} appears twice", source=source, field=f"users[{i}].name")
        users[user.name] = user
    return users


def add_user(path: Path, name: str, nation: str, role: str, password: str, *, replace: bool = False) -> User:
    """Add (or, with replace, change) a user in the users file, creating it (mode 0600) if missing; the
    file is replaced whole (written beside it, then renamed), so a crash never leaves half a file."""
    source = str(path)
    if not NAME_RE.match(name):
        raise InputError(f"{name!r} is not a user name (lower-case letters, digits, . _ -; at most 64)",
                         field="--name")
    if nation not in USER_NATIONS:
        raise InputError(f"{nation!r} is not a nation ({', '.join(USER_NATIONS)})", field="--nation")
    if role not in ROLES:
        raise InputError(f"{role!r} is not a role ({', '.join(ROLES)})", field="--role")
    if not PASSWORD_MIN_CHARS <= len(password) <= PASSWORD_MAX_CHARS:
        raise InputError(f"a password has {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters", field="password")
    users = load_users(path) if path.exists() else {}
    if name in users and not replace:
        raise InputError(f"user {name!r} exists (--replace changes it)", source=source, field="--name")
    user = User(name, nation, role, hash_password(password))
    users[name] = user
    doc = {"version": USERS_FILE_VERSION,
           "users": [{"name": u.name, "nation": u.nation, "role": u.role, "password": u.password_hash}
                     for u in users.values()]}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, path)
    return user


# -------------------------------------------------------------------------------------------- sessions
def _key(token: str) -> str:
    """Sessions are held under a hash of their token: a memory dump or a timing probe gives no cookie."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass
class Session:
    """A logged-in user: name, the nations it may see and act for, role; node-clock times."""

    user: str
    nations: tuple[str, ...]
    role: str
    created_unix_s: float
    last_unix_s: float
    token: str = ""  # only on the Session `create` returns (for the cookie); never kept

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


class SessionStore:
    """Server-side sessions by token (random, 256 bits), ending SESSION_TTL_S after login or
    SESSION_IDLE_S after the last request; and one-time login tokens (the demo's link)."""

    def __init__(self, clock: Callable[[], float] = time.time, *, ttl_s: float = SESSION_TTL_S,
                 idle_s: float = SESSION_IDLE_S, max_sessions: int = SESSIONS_MAX) -> None:
        self.clock = clock
        self.ttl_s = float(ttl_s)
        self.idle_s = float(idle_s)
        self.max_sessions = int(max_sessions)
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._one_time: dict[str, tuple[str, tuple[str, ...], str, float]] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, user: str, nations: Iterable[str], role: str) -> Session:
        now = self.clock()
        token = secrets.token_urlsafe(32)
        s = Session(user, tuple(nations), role, now, now)
        self._sessions[_key(token)] = s
        while len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
        return Session(s.user, s.nations, s.role, now, now, token=token)

    def get(self, token: str | None) -> Session | None:
        """The live session of a token (touched), None if unknown, expired or idle too long."""
        if not token or len(token) > 256:
            return None
        key = _key(token)
        s = self._sessions.get(key)
        if s is None:
            return None
        now = self.clock()
        if now - s.created_unix_s > self.ttl_s or now - s.last_unix_s > self.idle_s:
            del self._sessions[key]
            return None
        s.last_unix_s = now
        return s

    def drop(self, token: str | None) -> Session | None:
        return self._sessions.pop(_key(token), None) if token else None

    def one_time(self, user: str, nations: Iterable[str], role: str) -> str:
        """A token that `redeem` turns into a session once (within ONE_TIME_TTL_S)."""
        token = secrets.token_urlsafe(32)
        self._one_time[_key(token)] = (user, tuple(nations), role, self.clock())
        return token

    def redeem(self, token: str | None) -> Session | None:
        if not token or len(token) > 256:
            return None
        entry = self._one_time.pop(_key(token), None)
        if entry is None or self.clock() - entry[3] > ONE_TIME_TTL_S:
            return None
        return self.create(entry[0], entry[1], entry[2])


class LoginThrottle:
    """At most LOGIN_FAILS_MAX failed logins per client within LOGIN_FAIL_WINDOW_S (then: wait)."""

    def __init__(self, clock: Callable[[], float] = time.time, *, fails_max: int = LOGIN_FAILS_MAX,
                 window_s: float = LOGIN_FAIL_WINDOW_S, clients_max: int = 10_000) -> None:
        self.clock = clock
        self.fails_max = fails_max
        self.window_s = window_s
        self.clients_max = clients_max
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        q = self._fails.get(client)
        if q is None:
            return deque()
        now = self.clock()
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def blocked_for_s(self, client: str) -> float:
        """Seconds the client must wait before trying again (0: it may try now)."""
        q = self._recent(client)
        if len(q) < self.fails_max:
            return 0.0
        return max(0.0, self.window_s - (self.clock() - q[0]))

    def failed(self, client: str) -> None:
        q = self._fails.setdefault(client, deque(maxlen=self.fails_max))
        q.append(self.clock())
        self._fails.move_to_end(client)
        while len(self._fails) > self.clients_max:
            self._fails.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._fails.pop(client, None)
