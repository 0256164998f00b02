"""Per-partner budgets: what one partner's messages may put into a node's picture between two steps.

A partner that floods its link (a bug, a compromised node, a replay of its own backlog) must not stall
the node's step or delay the other partners: each partner gets its own window of messages and track
states per step. A message that does not fit waits in that partner's backlog, in arrival order, and is
applied at the next step's window before anything newer from the same partner; a waiting track report
that has grown older than the picture keeps partner tracks is dropped (it would leave the picture at
once), and a backlog past its limit drops its oldest message. Both are counted per partner. The other
partners' windows are untouched, so their messages go into the picture as before.

Pure: no clock of its own (the step's time is passed in), no I/O.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from triwarn.share.schema import TrackReport

COUNTS = ("applied", "deferred", "dropped_stale", "dropped_overflow")


@dataclass(frozen=True)
class Budget:
    """Per partner and per step: at most msgs messages and tracks track states go into the picture
    (the first message of a window always does, however many states it carries); at most backlog
    messages wait."""

    msgs: int
    tracks: int
    backlog: int

    def __post_init__(self) -> None:
        if min(self.msgs, self.tracks, self.backlog) < 1:
            raise ValueError(f"partner budgets must be at least 1: {self}")


def _tracks_in(msg) -> int:
    return len(msg.tracks) if isinstance(msg, TrackReport) else 0


class PartnerBudgets:
    """The windows and backlogs of every partner. `offer` a message as it arrives; `new_window` at the
    start of each step applies what waited. `apply` is the node's own ingest (one message into the
    picture)."""

    def __init__(self, budget: Budget, apply: Callable[[object], None]) -> None:
        self.budget = budget
        self._apply = apply
        self._used: dict[str, list[int]] = {}  # partner -> [messages, track states] in this window
        self._backlog: dict[str, deque] = {}
        self.counts: dict[str, Counter[str]] = {}  # partner -> COUNTS

    def _fits(self, used: list[int], msg) -> bool:
        return used[0] == 0 or (used[0] + 1 <= self.budget.msgs
                                and used[1] + _tracks_in(msg) <= self.budget.tracks)

    def _take(self, partner: str, used: list[int], msg) -> None:
        used[0] += 1
        used[1] += _tracks_in(msg)
        self._apply(msg)
        self.counts.setdefault(partner, Counter())["applied"] += 1

    def offer(self, msg) -> bool:
        """Apply msg now if its partner's window has room and nothing of it waits; else let it wait.
        True when applied."""
        partner = msg.sender
        used = self._used.setdefault(partner, [0, 0])
        backlog = self._backlog.setdefault(partner, deque())
        if not backlog and self._fits(used, msg):
            self._take(partner, used, msg)
            return True
        counts = self.counts.setdefault(partner, Counter())
        backlog.append(msg)
        counts["deferred"] += 1
        if len(backlog) > self.budget.backlog:
            backlog.popleft()
            counts["dropped_overflow"] += 1
        return False

    def new_window(self, t_unix_s: float, max_age_s: float) -> None:
        """Start a step's window for every partner and apply what waited, oldest first, while it fits.
        A waiting track report sent more than max_age_s before t_unix_s is dropped and counted."""
        for partner, used in self._used.items():
            used[0] = used[1] = 0
            backlog = self._backlog.get(partner)
            while backlog:
                msg = backlog[0]
                if isinstance(msg, TrackReport) and t_unix_s - msg.sent_unix_s > max_age_s:
                    backlog.popleft()
                    self.counts[partner]["dropped_stale"] += 1
                    continue
                if not self._fits(used, msg):
                    break
                backlog.popleft()
                self._take(partner, used, msg)

    def waiting(self) -> dict[str, int]:
        """Messages waiting per partner (partners with none left out)."""
        return {p: len(q) for p, q in self._backlog.items() if q}

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Per partner: COUNTS and `waiting`, for metrics and the health page."""
        return {p: {**{k: c.get(k, 0) for k in COUNTS}, "waiting": len(self._backlog.get(p) or ())}
                for p, c in sorted(self.counts.items())}
