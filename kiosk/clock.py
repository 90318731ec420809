"""Where "now" comes from: the real clock, or a simulated one for demos and rehearsals."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo


class RealClock:
    speed = 1.0

    def __init__(self, tz: ZoneInfo):
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)


class SimulatedClock:
    """Starts at a chosen moment and runs `speed` times faster than real time.

    Lets a newcomer watch the colloque of 3 July 2023 unfold, and a team rehearse.
    """

    def __init__(self, start: dt.datetime, speed: float = 1.0, epoch: float | None = None):
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self.tz = start.tzinfo
        # `epoch`: the Unix time at which the clock showed `start`, so that several
        # processes of one event (kiosk serve --workers) keep one simulated time.
        self._t0 = time.monotonic() - (time.time() - epoch if epoch is not None else 0.0)

    def now(self) -> dt.datetime:
        elapsed = (time.monotonic() - self._t0) * self.speed
        return self.start + dt.timedelta(seconds=elapsed)


def parse_start(text: str, tz: ZoneInfo) -> dt.datetime:
    """'2023-07-03T08:55' (or with seconds) read in the event's time zone."""
    moment = dt.datetime.fromisoformat(text)
    return moment.astimezone(tz) if moment.tzinfo else moment.replace(tzinfo=tz)
