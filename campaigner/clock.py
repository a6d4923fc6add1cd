"""Wall-clock time, injected so that tests run in trio's virtual time.

The engine measures intervals with ``trio.current_time()`` and asks a
:class:`WallClock` for dates (calling windows, deadlines, journal timestamps).
:class:`TrioWallClock` anchors a wall-clock instant to trio's clock once, so
under ``MockClock`` (autojump, or a scaled ``rate``) dates advance in step with
virtual time, and in production they follow the real clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import trio


class WallClock(Protocol):
    """Something that tells the current date and time (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class TrioWallClock:
    """Wall time that advances with trio's clock; must be created inside ``trio.run``.

    ``anchor`` is the wall-clock instant that corresponds to the moment of creation
    (defaults to the real current time).
    """

    def __init__(self, anchor: datetime | None = None) -> None:
        self._anchor = (anchor or datetime.now(UTC)).astimezone(UTC)
        self._t0 = trio.current_time()

    def now(self) -> datetime:
        return self._anchor + timedelta(seconds=trio.current_time() - self._t0)

    def wall_at(self, trio_time: float) -> datetime:
        """The wall-clock instant that corresponds to a trio clock reading."""
        return self._anchor + timedelta(seconds=trio_time - self._t0)

    def trio_at(self, when: datetime) -> float:
        """The trio clock reading at which wall time reaches ``when``."""
        return self._t0 + (when.astimezone(UTC) - self._anchor).total_seconds()

    def trio_at_epoch(self, epoch: float) -> float:
        """The trio clock reading at Unix time ``epoch``."""
        return self.trio_at(datetime.fromtimestamp(epoch, UTC))
