"""The controller's scenario clock: start, pause, speed, jump (rewind). Pure: every call takes the wall
time (monotonic seconds) and the clock reads nothing itself.

    clock = SessionClock(duration_s=1800.0)
    clock.start(wall)          # scenario time runs at `speed` scenario seconds per wall second
    clock.now(wall)            # T+ seconds, never past duration_s
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SPEED, MAX_SPEED = 0.1, 120.0


@dataclass
class SessionClock:
    duration_s: float
    speed: float = 1.0
    running: bool = False
    _t0: float = 0.0  # scenario time at the anchor
    _wall0: float = 0.0

    def now(self, wall: float) -> float:
        t = self._t0 + (wall - self._wall0) * self.speed if self.running else self._t0
        return min(max(t, 0.0), self.duration_s)

    def _anchor(self, wall: float) -> None:
        self._t0, self._wall0 = self.now(wall), wall

    def start(self, wall: float) -> None:
        self._anchor(wall)
        self.running = True

    def pause(self, wall: float) -> None:
        self._anchor(wall)
        self.running = False

    def set_speed(self, speed: float, wall: float) -> None:
        if not (MIN_SPEED <= speed <= MAX_SPEED):
            raise ValueError(f"speed must be in [{MIN_SPEED:g}, {MAX_SPEED:g}], got {speed}")
        self._anchor(wall)
        self.speed = float(speed)

    def jump(self, t_s: float, wall: float) -> None:
        self._t0, self._wall0 = min(max(t_s, 0.0), self.duration_s), wall

    @property
    def ended(self) -> bool:
        return not self.running and self._t0 >= self.duration_s
