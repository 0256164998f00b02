"""One progress display for the long commands (`demo`, `replay`, `exercise run`, `simulate`, `track`, and the
kernels' one-time compilation): a single rich line on stderr with a label, a bar, done/total, a status
text (sim time, lines written, ...) and the elapsed time.

    with ProgressLine("replay", total=len(times)) as bar:   # shown only when stderr is a terminal
        for k, t in enumerate(times):
            ...
            bar.update(k + 1, f"T+{t - t0:.0f} s")

When it shows (`wanted`): never with quiet=True; otherwise TRIWARN_PROGRESS=1 forces it on and
TRIWARN_PROGRESS=0 off; otherwise only when stderr is a terminal. So output captured by tests, pipes and
log files never holds a bar unless asked for. When off every method is a no-op that costs nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

ENV = "TRIWARN_PROGRESS"


def wanted(quiet: bool = False, stream: Any = None) -> bool:
    """Whether a progress display should show on stream (default: stderr); see the module docstring."""
    if quiet:
        return False
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def notice(text: str, *, quiet: bool = False) -> None:
    """One line on stderr (a status the user should see even without a terminal), unless quiet."""
    if not quiet:
        print(text, file=sys.stderr, flush=True)


class ProgressLine:
    """A one-line rich progress display on stderr, or a no-op (enabled False, or None and not `wanted()`).

    total None: no count shown, the bar pulses; update(done, status) sets the count and the status
    text; advance(n, status) adds to it; finish(status) ends it early, full. transient: the line goes
    away at stop. Use as a context manager, or start() / stop() (both idempotent).
    """

    def __init__(self, label: str, total: float | None = None, *, enabled: bool | None = None,
                 status: str = "", console: Any = None, transient: bool = False) -> None:
        self.enabled = wanted() if enabled is None else bool(enabled)
        self._bar = None
        self._task = None
        self._done = 0.0
        self._started = False
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = [TextColumn(f"[bold]{label}[/bold]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[status]}"), TimeElapsedColumn()]
        if total is None:
            columns.remove(columns[2])
        self._bar = Progress(*columns, console=console or Console(stderr=True), transient=transient)
        self._task = self._bar.add_task(label, total=total, status=status)

    def start(self) -> ProgressLine:
        if self._bar is not None and not self._started:
            self._bar.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._bar is not None and self._started:
            self._bar.stop()
            self._started = False

    def update(self, done: float, status: str | None = None) -> None:
        """Set the count done (and the status text, if given)."""
        self._done = done
        if self._bar is not None:
            if status is None:
                self._bar.update(self._task, completed=done)
            else:
                self._bar.update(self._task, completed=done, status=status)

    def advance(self, n: float = 1, status: str | None = None) -> None:
        """Add n to the count done (and set the status text, if given)."""
        self.update(self._done + n, status)

    def set_total(self, total: float | None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def finish(self, status: str | None = None) -> None:
        """Done early: the count reached becomes the total (a full bar), with a last status."""
        self.set_total(self._done)
        self.update(self._done, status)

    def __enter__(self) -> ProgressLine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def clock_progress(label: str, n_steps: int, t0_unix_s: float, *, enabled: bool | None = None,
                   extra: Callable[[], str] | None = None) -> tuple[ProgressLine, Callable[[int, float], None]]:
    """A ProgressLine over the steps of a simulated clock and its on_tick(k, t) (the lockstep's): the
    bar counts steps, the status shows the sim time from t0_unix_s ("T+123 s") and extra() if given."""
    bar = ProgressLine(label, total=n_steps, enabled=enabled, status="T+0 s")

    def on_tick(k: int, t: float) -> None:
        if bar.enabled:
            status = f"T+{t - t0_unix_s:.0f} s"
            bar.update(k + 1, status + (f", {extra()}" if extra is not None else ""))

    return bar, on_tick
