"""Durable inboxes for received webhook events: the `Inbox` protocol and its implementations."""

from __future__ import annotations

from revstack.inbox.base import Inbox, InboxItem
from revstack.inbox.sqlite import SqliteInbox

__all__ = ["Inbox", "InboxItem", "SqliteInbox"]
