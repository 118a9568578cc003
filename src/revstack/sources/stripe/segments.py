"""A resource's list read as segments of its ``created`` range, and how they are stored.

A read starts as one segment and gains more when readers split ranges (`pagination.split`).
Resource state keeps every segment's `ListPosition` under ``reads.<kind>.segments``; a read is
finished when all its segments are done. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from revstack.sources.stripe.pagination import ListPosition

Segments = dict[int, ListPosition]


def single(position: ListPosition) -> Segments:
    return {0: position}


def to_state(segments: Mapping[int, ListPosition]) -> dict[str, Any]:
    return {"segments": {str(key): segments[key].to_state() for key in sorted(segments)}}


def from_state(state: Mapping[str, Any] | None) -> Segments:
    if not state:
        return {}
    stored = state.get("segments")
    if not isinstance(stored, Mapping):
        return {}
    return {int(key): ListPosition.from_state(value) for key, value in stored.items()}


def all_done(segments: Mapping[int, ListPosition]) -> bool:
    return all(position.done for position in segments.values())


def advanced(
    segments: Mapping[int, ListPosition],
    segment: int,
    position: ListPosition,
    splits: Iterable[tuple[int, ListPosition]] = (),
) -> Segments:
    """`segments` once a page of `segment` is loaded: its new position, plus the segments
    split off with that page."""
    updated = dict(segments)
    updated[segment] = position
    for child, child_position in splits:
        updated[child] = child_position
    return updated


def describe(segments: Mapping[int, ListPosition]) -> str:
    """A short cursor description for the audit log: the range still to read, or done."""
    if not segments:
        return "none"
    lowest = [p.since for p in segments.values()]
    since = "" if None in lowest else f" from created {min(p for p in lowest if p is not None)}"
    pending = [p for p in segments.values() if not p.done]
    if not pending:
        return f"done{since}"
    uppers = [p.upper for p in pending if p.upper is not None]
    upper = f" down from created {max(uppers)}" if len(uppers) == len(pending) else ""
    done = len(segments) - len(pending)
    return f"{done}/{len(segments)} segments done; reading{upper}{since}"
