"""HubSpot records as the world stores them: one row per version of a company, contact or
deal, and associations with their lifetimes.

A `Ledger` applies one entity's planned `Event`s in time order and enforces what HubSpot
enforces: an archived record takes no edits until restored (edits marked `defer` wait for the
restore), a merged-away contact's edits land on the winner (when marked `follow`), versions of
a record are strictly increasing in time, a record cannot be created under an archived
company, and associations close when a record is archived or merged away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from revstack.sandbox.world.crm_common import hs_time
from revstack.sandbox.world.ids import hubspot_id
from revstack.sandbox.world.tables import Sink, Table

_TS = pa.timestamp("ms", tz="UTC")

_VERSIONS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("updated_at", _TS, nullable=False),
        pa.field("created_at", _TS, nullable=False),
        pa.field("archived", pa.bool_(), nullable=False),
        pa.field("properties", pa.string(), nullable=False),
        pa.field("changed", pa.string(), nullable=False),
        pa.field("change_source", pa.string(), nullable=False),
        pa.field("merged_into", pa.string()),
        pa.field("entity_index", pa.int32(), nullable=False),
    ]
)

_VERSIONS_DOC = (
    "One row per version of a HubSpot {what}: the full property map as of `updated_at` "
    "(JSON, values as the API returns them), the properties this version changed, the change "
    "source, and `merged_into` on a merged-away record."
)
COMPANIES = Table(
    "hubspot/companies", _VERSIONS, ("id", "version"), _VERSIONS_DOC.format(what="company")
)
CONTACTS = Table(
    "hubspot/contacts", _VERSIONS, ("id", "version"), _VERSIONS_DOC.format(what="contact")
)
DEALS = Table("hubspot/deals", _VERSIONS, ("id", "version"), _VERSIONS_DOC.format(what="deal"))
OWNERS = Table(
    "hubspot/owners",
    pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("email", pa.string(), nullable=False),
            pa.field("firstName", pa.string(), nullable=False),
            pa.field("lastName", pa.string(), nullable=False),
            pa.field("userId", pa.int64(), nullable=False),
            pa.field("createdAt", _TS, nullable=False),
            pa.field("updatedAt", _TS, nullable=False),
            pa.field("archived", pa.bool_(), nullable=False),
            pa.field("teams", pa.string(), nullable=False),
        ]
    ),
    ("id",),
    "HubSpot owners (the sales reps) as GET /crm/v3/owners returns them; teams is JSON.",
)
ASSOCIATIONS = Table(
    "hubspot/associations",
    pa.schema(
        [
            pa.field("from_type", pa.string(), nullable=False),
            pa.field("from_id", pa.string(), nullable=False),
            pa.field("to_type", pa.string(), nullable=False),
            pa.field("to_id", pa.string(), nullable=False),
            pa.field("association_type_id", pa.int32(), nullable=False),
            pa.field("created_at", _TS, nullable=False),
            pa.field("removed_at", _TS),
        ]
    ),
    ("from_type", "from_id", "to_type", "to_id", "created_at"),
    "HubSpot associations, one row per direction and lifetime (HubSpot-defined type ids); "
    "removed_at is set when either record was archived or merged away.",
)
TABLES = [COMPANIES, CONTACTS, DEALS, OWNERS, ASSOCIATIONS]

#: HubSpot-defined association type ids of the default associations.
ASSOCIATION_TYPES = {
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
}

_MODIFIED = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}


Key = tuple[str, int]


@dataclass(slots=True)
class Event:
    t: int
    seq: int
    key: Key
    action: str
    """``create``, ``update``, ``archive``, ``restore`` or ``merge`` (into `other`)."""
    changes: dict[str, str]
    source: str
    stamp: tuple[str, ...] = ()
    """Properties set to the time the event takes effect."""
    defer: bool = False
    """Wait out an archive instead of being lost."""
    follow: bool = False
    """Land on the merge winner if the record was merged away."""
    other: Key | None = None
    links: tuple[Key, ...] = ()
    """Records a new record is associated with."""


@dataclass(slots=True, eq=False)
class Record:
    kind: str
    id: str
    created_ms: int
    props: dict[str, str]
    last_ms: int
    version: int = 0
    archived: bool = False
    winner: Record | None = None
    pending: list[Event] = field(default_factory=list)
    parked: list[Record] = field(default_factory=list)


class EventLog:
    """Collects an entity's events; `seq` keeps the order of same-time events stable."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(
        self, t: int, key: Key, action: str, changes: dict[str, str], source: str, **options: Any
    ) -> None:
        self.events.append(Event(t, len(self.events), key, action, changes, source, **options))


class Ledger:
    def __init__(self, entity_index: int, end_ms: int) -> None:
        self.entity_index = entity_index
        self.end_ms = end_ms
        self.records: dict[Key, Record] = {}
        self.by_id: dict[str, Record] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {"companies": [], "contacts": [], "deals": []}
        self.associations: list[dict[str, Any]] = []
        self.open: dict[tuple[str, str], dict[str, Any]] = {}

    def run(self, events: list[Event]) -> None:
        events.sort(key=lambda e: (e.t, e.seq))
        for event in events:
            if event.t >= self.end_ms:
                break
            if event.action == "create":
                self._create(event)
                continue
            record = self.records.get(event.key)
            if record is None:
                continue
            if event.follow:
                while record.winner is not None:
                    record = record.winner
            if record.winner is not None:
                continue
            if event.action == "restore":
                self._restore(record, event)
            elif record.archived:
                if event.defer:
                    record.pending.append(event)
            elif event.action == "update":
                self._update(record, event, event.t)
            elif event.action == "archive":
                self._archive(record, event)
            elif event.action == "merge":
                self._merge(record, event)

    def _when(self, record: Record, t: int) -> int | None:
        when = max(t, record.last_ms + 1)
        return when if when < self.end_ms else None

    def _emit(
        self,
        record: Record,
        t: int,
        changed: list[str],
        source: str,
        merged_into: str | None = None,
    ) -> None:
        record.version += 1
        record.last_ms = t
        record.props[_MODIFIED[record.kind]] = hs_time(t)
        self.rows[record.kind].append(
            {
                "id": record.id,
                "version": record.version,
                "updated_at": t,
                "created_at": record.created_ms,
                "archived": record.archived,
                "properties": orjson.dumps(record.props).decode(),
                "changed": orjson.dumps(changed).decode(),
                "change_source": source,
                "merged_into": merged_into,
                "entity_index": self.entity_index,
            }
        )

    def _create(self, event: Event) -> None:
        """Create a record and associate it with `links`; nothing happens when the first link
        (the company) does not exist or is archived."""
        linked = [self._live(link) for link in event.links]
        if linked and linked[0] is None:
            return
        kind, ordinal = event.key
        record_id = hubspot_id(kind, self.entity_index, ordinal)
        now = hs_time(event.t)
        props = dict(event.changes)
        props["createdate"] = now
        props["hs_object_id"] = record_id
        for name in event.stamp:
            props[name] = now
        record = Record(kind, record_id, event.t, props, event.t)
        self.records[event.key] = record
        self.by_id[record_id] = record
        self._emit(record, event.t, list(props), event.source)
        for other in linked:
            if other is not None:
                self._associate(record, other, event.t)

    def _live(self, key: Key) -> Record | None:
        """The record at `key` (or the one it was merged into) if it exists and is not archived."""
        record = self.records.get(key)
        while record is not None and record.winner is not None:
            record = record.winner
        return record if record is not None and not record.archived else None

    def _update(self, record: Record, event: Event, t: int) -> None:
        props = record.props
        changed = [name for name, value in event.changes.items() if props.get(name) != value]
        if not changed:
            return
        when = self._when(record, t)
        if when is None:
            return
        props.update(event.changes)
        if event.stamp:
            now = hs_time(when)
            for name in event.stamp:
                props[name] = now
                if name not in changed:
                    changed.append(name)
        self._emit(record, when, changed, event.source)

    def _archive(self, record: Record, event: Event) -> None:
        when = self._when(record, event.t)
        if when is None:
            return
        record.archived = True
        self._emit(record, when, [], event.source)
        record.parked = self._dissociate(record, when)

    def _restore(self, record: Record, event: Event) -> None:
        if not record.archived:
            return
        when = self._when(record, event.t)
        if when is None:
            return
        record.archived = False
        self._emit(record, when, [], event.source)
        for other in record.parked:
            if other.winner is None and not other.archived:
                self._associate(record, other, when)
        record.parked = []
        pending, record.pending = record.pending, []
        for waiting in pending:
            self._update(record, waiting, record.last_ms + 1)

    def _merge(self, loser: Record, event: Event) -> None:
        assert event.other is not None
        winner = self.records.get(event.other)
        while winner is not None and winner.winner is not None:
            winner = winner.winner
        if winner is None or winner is loser or winner.archived:
            return
        when = max(event.t, loser.last_ms + 1, winner.last_ms + 1)
        if when >= self.end_ms:
            return
        loser.archived = True
        loser.winner = winner
        self._emit(loser, when, [], event.source, merged_into=winner.id)
        merged = [i for i in winner.props.get("hs_merged_object_ids", "").split(";") if i]
        update = {"hs_merged_object_ids": ";".join([*merged, loser.id])}
        loser_email = loser.props.get("email")
        if loser_email and loser_email != winner.props.get("email"):
            extra = [e for e in winner.props.get("hs_additional_emails", "").split(";") if e]
            update["hs_additional_emails"] = ";".join([*extra, loser_email])
        self._update(winner, Event(when, -1, event.other, "update", update, event.source), when)
        for other in self._dissociate(loser, when):
            self._associate(winner, other, when)

    def _associate(self, a: Record, b: Record, t: int) -> None:
        for x, y in ((a, b), (b, a)):
            pair = (x.id, y.id)
            if pair in self.open:
                continue
            row = {
                "from_type": x.kind,
                "from_id": x.id,
                "to_type": y.kind,
                "to_id": y.id,
                "association_type_id": ASSOCIATION_TYPES[(x.kind, y.kind)],
                "created_at": t,
                "removed_at": None,
            }
            self.open[pair] = row
            self.associations.append(row)

    def _dissociate(self, record: Record, t: int) -> list[Record]:
        """Close every open association of `record`; the records it was associated with."""
        others: list[Record] = []
        for pair in [p for p in self.open if record.id in p]:
            row = self.open.pop(pair)
            row["removed_at"] = t
            if pair[0] == record.id:
                others.append(self.by_id[pair[1]])
        return others

    def flush(self, sink: Sink) -> None:
        sink.extend(COMPANIES, self.rows["companies"])
        sink.extend(CONTACTS, self.rows["contacts"])
        sink.extend(DEALS, self.rows["deals"])
        sink.extend(ASSOCIATIONS, self.associations)
