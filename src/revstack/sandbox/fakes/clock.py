"""The sandbox clock: the moment the fakes serve the world as of.

The clock is frozen by default (tests are reproducible) and moves only when set or advanced;
it can also run at a speed (1.0 = real time) for long-running demos. It never moves backwards:
what a fake has shown or sent cannot be taken back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from revstack.errors import TerminalError

Listener = Callable[[int], None]


class ClockError(TerminalError):
    """A request to move the sandbox clock that cannot be honoured (backwards, past the end)."""


class SandboxClock:
    """Unix-seconds clock shared by the fakes of one sandbox."""

    def __init__(
        self,
        start: int,
        *,
        end: int | None = None,
        speed: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ClockError("the clock's speed cannot be negative")
        self._base = float(start)
        self._speed = speed
        self._monotonic = monotonic
        self._since = monotonic()
        self._end = end
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    @property
    def end(self) -> int | None:
        """The world's end: the clock never passes it."""
        return self._end

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> int:
        """Current sandbox time, whole Unix seconds."""
        return int(self.now_float())

    def now_ms(self) -> int:
        return int(self.now_float() * 1000)

    def now_float(self) -> float:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> float:
        value = self._base + (self._monotonic() - self._since) * self._speed
        return min(value, self._end) if self._end is not None else value

    def set(self, ts: float, *, speed: float | None = None) -> int:
        """Move the clock to `ts` (never backwards); optionally change its speed."""
        return self._move(lambda current: ts, speed)

    def advance(self, seconds: float, *, speed: float | None = None) -> int:
        """Move the clock forward by `seconds` (and optionally change its speed)."""
        if seconds < 0:
            raise ClockError("the sandbox clock cannot move backwards")
        return self._move(lambda current: current + seconds, speed)

    def set_speed(self, speed: float) -> int:
        """Change the speed from this very moment (0 freezes the clock)."""
        return self._move(lambda current: current, speed)

    def _move(self, target: Callable[[float], float], speed: float | None) -> int:
        if speed is not None and speed < 0:
            raise ClockError("the clock's speed cannot be negative")
        with self._lock:
            current = self._now_locked()
            ts = target(current)
            if ts < current and int(ts) < int(current):
                raise ClockError(
                    f"the sandbox clock cannot move backwards (now {int(current)}, asked {int(ts)})"
                )
            if self._end is not None and ts > self._end:
                raise ClockError(f"the world ends at {self._end}; the clock cannot pass it")
            self._base = max(ts, current)
            self._since = self._monotonic()
            if speed is not None:
                self._speed = speed
            now = int(self._now_locked())
        for listener in list(self._listeners):
            listener(now)
        return now

    def on_move(self, listener: Listener) -> None:
        """Call `listener(now)` after every explicit move (running clocks are polled)."""
        self._listeners.append(listener)
