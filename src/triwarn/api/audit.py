"""The console's audit log: one JSON line per login, failed login, logout and operator action, appended.

    audit = AuditLog(Path("out/node-jp/audit.jsonl"), clock=time.time)
    audit.write("login", user="aiko", nation="jp", client="127.0.0.1", ok=True)

The file is opened for appending only (O_APPEND) and every line is flushed at once, so what was written
before a crash stays; nothing rewrites or truncates it. A write that fails (a full disk) is counted and
logged, never raised: refusing logins or cancels because the disk is full would be worse. The newest
lines are also kept in memory (`recent`) for tests and the console.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

RECENT_LINES = 500
FIELD_MAX_CHARS = 500  # free text (a note, a user name someone typed) is cut to this in the log


def _bounded(value: object) -> object:
    if isinstance(value, str) and len(value) > FIELD_MAX_CHARS:
        return value[:FIELD_MAX_CHARS] + "…"
    return value


class AuditLog:
    """Append-only JSON lines (path None: in memory only). Each line: t_unix_s, event, then the fields."""

    def __init__(self, path: Path | None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.recent: deque[dict] = deque(maxlen=RECENT_LINES)
        self.write_errors = 0
        self._fd: int | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, event: str, **fields: object) -> dict:
        line = {"t_unix_s": round(self.clock(), 3), "event": event, **{k: _bounded(v) for k, v in fields.items()}}
        self.recent.append(line)
        if self._fd is not None:
            data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
            try:
                os.write(self._fd, data)  # one write per line: O_APPEND keeps lines whole and in order
            except OSError as exc:
                self.write_errors += 1
                log.error("audit log %s: cannot write (%s); line kept in memory: %s", self.path, exc, line)
        return line

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
