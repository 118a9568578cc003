"""A tamper-evident audit log of every ingestion action.

Each entry records what ran (run id, source, stream, action), the API cursor before and after,
how many requests and rows, a SHA-256 of the loaded data, the outcome and any error. Entries are
numbered from 1 and each carries the SHA-256 of its own canonical JSON, which includes the
previous entry's hash: changing, removing or reordering any entry breaks the chain from there
on, and `verify_chain` names the first entry that no longer fits. Removing entries at the tail
leaves a shorter but valid chain, so the store also keeps the head (the last sequence number and
hash) apart from the entries, and verification checks the chain ends there.

Secrets never reach an entry: every text field passes through the log redactor first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from revstack.log import redact

GENESIS = "0" * 64
"""The `prev_hash` of the first entry."""

OUTCOMES = frozenset({"success", "failure", "partial", "rejected", "skipped"})


@dataclass(frozen=True)
class AuditEvent:
    """What an ingestion action reports; the log numbers, timestamps and chains it."""

    run_id: str
    source: str
    stream: str
    action: str
    outcome: str
    cursor_before: str | None = None
    cursor_after: str | None = None
    requests: int = 0
    rows: int = 0
    data_sha256: str | None = None
    error: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, not {self.outcome!r}")
        if self.requests < 0 or self.rows < 0:
            raise ValueError("requests and rows cannot be negative")
        if self.data_sha256 is not None and len(self.data_sha256) != 64:
            raise ValueError("data_sha256 must be a hex SHA-256")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    recorded_at: str
    """UTC, ISO-8601 with microseconds and ``Z``."""
    run_id: str
    source: str
    stream: str
    action: str
    outcome: str
    cursor_before: str | None
    cursor_after: str | None
    requests: int
    rows: int
    data_sha256: str | None
    error: str | None
    details: Mapping[str, Any]
    prev_hash: str
    entry_hash: str

    def body(self) -> dict[str, Any]:
        """Everything the entry hash covers (all fields but the hash itself)."""
        return {
            "seq": self.seq,
            "recorded_at": self.recorded_at,
            "run_id": self.run_id,
            "source": self.source,
            "stream": self.stream,
            "action": self.action,
            "outcome": self.outcome,
            "cursor_before": self.cursor_before,
            "cursor_after": self.cursor_after,
            "requests": self.requests,
            "rows": self.rows,
            "data_sha256": self.data_sha256,
            "error": self.error,
            "details": dict(self.details),
            "prev_hash": self.prev_hash,
        }


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace: the bytes the hashes are computed over."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def entry_hash(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


def sha256_of_rows(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of loaded rows: their canonical JSON, one per line, in the given order."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(canonical_json(row))
        digest.update(b"\n")
    return digest.hexdigest()


def _clean(text: str | None) -> str | None:
    return None if text is None else str(redact(text))


def seal(event: AuditEvent, seq: int, prev_hash: str, now: dt.datetime) -> AuditEntry:
    """The entry that records `event` as number `seq` after an entry hashed `prev_hash`."""
    if now.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    recorded_at = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    details = redact(dict(event.details))
    body = {
        "seq": seq,
        "recorded_at": recorded_at,
        "run_id": event.run_id,
        "source": event.source,
        "stream": event.stream,
        "action": event.action,
        "outcome": event.outcome,
        "cursor_before": _clean(event.cursor_before),
        "cursor_after": _clean(event.cursor_after),
        "requests": event.requests,
        "rows": event.rows,
        "data_sha256": event.data_sha256,
        "error": _clean(event.error),
        "details": orjson.loads(canonical_json(details)),
        "prev_hash": prev_hash,
    }
    return AuditEntry(**body, entry_hash=entry_hash(body))


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying an audit log."""

    entries: int
    ok: bool
    first_bad_seq: int | None = None
    """Sequence number of the first entry that does not fit (or where one is missing)."""
    problem: str | None = None


def verify_chain(entries: Iterable[AuditEntry], head: tuple[int, str] | None = None) -> ChainReport:
    """Check numbering, links and hashes in stored order, then the tail against `head`
    ((last seq, last hash) as kept apart from the entries)."""
    expected_seq = 1
    prev = GENESIS
    count = 0
    for entry in entries:
        count += 1
        if entry.seq != expected_seq:
            kind = "missing or reordered" if entry.seq > expected_seq else "reordered or repeated"
            return ChainReport(
                count - 1,
                False,
                expected_seq,
                f"entry {expected_seq} is {kind}: found entry {entry.seq} in its place",
            )
        if entry.prev_hash != prev:
            return ChainReport(
                count - 1,
                False,
                entry.seq,
                f"entry {entry.seq} does not follow entry {entry.seq - 1} (previous hash differs)",
            )
        if entry_hash(entry.body()) != entry.entry_hash:
            return ChainReport(
                count - 1, False, entry.seq, f"entry {entry.seq} was altered (hash mismatch)"
            )
        prev = entry.entry_hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is not None and (head[0], head[1]) != (last_seq, prev):
        if head[0] > last_seq:
            return ChainReport(
                count,
                False,
                last_seq + 1,
                f"entries {last_seq + 1} to {head[0]} are missing (the log ends early)",
            )
        return ChainReport(count, False, head[0], "the log's recorded head does not match it")
    return ChainReport(count, True)
