"""The durable inbox: what a webhook receiver appends to before it answers 2xx.

A sender (Stripe, HubSpot) considers a delivery done once we answer 2xx, so an event must be
on disk before that answer; everything after (loading into raw, syncing) reads the inbox at its
own pace. The inbox is keyed by ``(source, event_id)``: a redelivered event is recognised and
not stored twice, whatever order deliveries arrive in. Each stored item gets a sequence number
that only grows, so consumers read "oldest first, not yet done" and mark what they finished.

`SqliteInbox` (`revstack.inbox.sqlite`) is the default implementation; the sync service adds a
PostgreSQL one behind the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["Inbox", "InboxItem"]


@dataclass(frozen=True)
class InboxItem:
    """One received event, as stored."""

    seq: int
    """Assigned on append; later appends get larger numbers."""
    source: str
    """The sending system, e.g. ``"stripe"``."""
    event_id: str
    """The source's own event id: the dedupe key within a source."""
    received_at: float
    """Unix seconds (wall clock) when the event was appended."""
    body: bytes
    """The raw request body, exactly as received."""


@runtime_checkable
class Inbox(Protocol):
    """A durable, deduplicating store of received events."""

    def append(self, source: str, event_id: str, body: bytes, received_at: float) -> bool:
        """Store an event; durable on return. False if ``(source, event_id)`` was already
        stored (the body is then not stored again)."""
        ...

    async def append_async(
        self, source: str, event_id: str, body: bytes, received_at: float
    ) -> bool:
        """`append` for the request path: concurrent calls share one commit (group commit);
        each returns once its event is durable."""
        ...

    def pending(self, source: str, limit: int) -> list[InboxItem]:
        """Up to `limit` items of `source` not yet marked done, oldest (lowest seq) first."""
        ...

    def mark_done(self, source: str, seqs: Sequence[int], load_id: str) -> None:
        """Record that the items `seqs` were handled by `load_id`; durable on return.
        Items already done keep their first load id."""
        ...

    def counts(self, source: str) -> dict[str, int]:
        """``{"pending": n, "done": n}`` for `source`."""
        ...

    def close(self) -> None:
        """Finish appends already requested, then release the store."""
        ...
