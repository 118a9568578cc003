"""Salesforce records as the world stores them: one row per version of each record, with the
operation (upsert, delete, undelete, purge) and the full record as the REST API prints it.

A `Ledger` applies one entity's planned `Event`s in time order and carries Salesforce's rules:
deleting an account deletes its contacts and opportunities (and their line items) and
undeleting brings them back; a purge removes a record and its children for good; merging
deletes the loser with ``MasterRecordId`` set and reparents its children onto the master; a
record cannot be created under a deleted parent; OpportunityHistory gets one immutable row
whenever an opportunity's stage, amount or close date changes; ``Forecast_Notes__c`` exists on
opportunity versions from the schema addition on. Times are whole seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from revstack.errors import WorldError
from revstack.sandbox.world.crm_common import salesforce_user_id, sf_datetime
from revstack.sandbox.world.ids import PER_ENTITY, SF_PREFIX, salesforce_id, sf_record_id
from revstack.sandbox.world.tables import Sink, Table

_TS = pa.timestamp("ms", tz="UTC")
_VERSIONS = pa.schema(
    [
        pa.field("Id", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("system_modstamp", _TS, nullable=False),
        pa.field("op", pa.string(), nullable=False),
        pa.field("fields", pa.string(), nullable=False),
        pa.field("entity_index", pa.int32()),
    ]
)

OBJECTS = (
    "Account",
    "Contact",
    "Opportunity",
    "OpportunityLineItem",
    "OpportunityHistory",
    "Contract_Terms__c",
    "User",
    "Product2",
    "Pricebook2",
    "PricebookEntry",
)
SF_TABLES = {
    name: Table(
        f"salesforce/{name}",
        _VERSIONS,
        ("Id", "version"),
        f"One row per version of a Salesforce {name}: op (upsert, delete, undelete, purge) and "
        "the full record as of `system_modstamp` (JSON, canonical field API names; "
        "entity_index is null for records that belong to no company).",
    )
    for name in OBJECTS
}
TABLES = list(SF_TABLES.values())

#: Fields that reference another record of the same entity.
_PARENT_FIELDS = ("AccountId", "OpportunityId", "Account__c", "Opportunity__c")
#: Child object -> the field whose parent's deletion deletes it.
_CASCADE = {
    "Contact": "AccountId",
    "Opportunity": "AccountId",
    "OpportunityLineItem": "OpportunityId",
}
_HISTORY_PER_OPPORTUNITY = 4096

#: Account fields whose value the person merging keeps from the losing record when the
#: master's is empty (or, for Type, when the master is still a mere prospect).
_MERGE_KEEP = ("Type", "Website", "Industry", "Stripe_Customer_Id__c")

Key = tuple[str, int]


def _merged_values(master: dict[str, Any], loser: dict[str, Any]) -> dict[str, Any]:
    kept = {}
    for name in _MERGE_KEEP:
        ours, theirs = master.get(name), loser.get(name)
        if theirs is not None and (ours is None or (name == "Type" and ours == "Prospect")):
            kept[name] = theirs
    return kept


@dataclass(slots=True)
class Event:
    t: int
    seq: int
    key: Key
    action: str
    """``create``, ``update``, ``delete``, ``undelete``, ``purge`` or ``merge`` (into `other`)."""
    changes: dict[str, Any]
    actor: int
    """Index of the user making the change (a rep, or `INTEGRATION_USER`)."""
    follow: bool = False
    """Land on the merge master if the record was merged away."""
    other: Key | None = None


@dataclass(slots=True, eq=False)
class Record:
    sobject: str
    id: str
    number: int
    fields: dict[str, Any]
    last_ms: int
    version: int = 0
    deleted: bool = False
    purged: bool = False
    deleted_by: Record | None = None
    """The record whose deletion deleted this one (itself for a direct delete)."""
    master: Record | None = None
    history: tuple[Any, ...] | None = None
    history_count: int = 0


class EventLog:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(
        self,
        t: int,
        key: Key,
        action: str,
        changes: dict[str, Any],
        actor: int,
        follow: bool = False,
        other: Key | None = None,
    ) -> None:
        self.events.append(
            Event(t - t % 1000, len(self.events), key, action, changes, actor, follow, other)
        )


class Ledger:
    def __init__(self, entity_index: int, end_ms: int, addition_ms: int) -> None:
        self.entity_index = entity_index
        self.end_ms = end_ms
        self.addition_ms = addition_ms
        self.records: dict[Key, Record] = {}
        self.by_id: dict[str, Record] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in OBJECTS}

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
                while record.master is not None:
                    record = record.master
            if record.purged:
                continue
            action = event.action
            if action == "purge":
                self._purge(record, event.t, event.actor)
            elif action == "undelete":
                if record.deleted and record.deleted_by is record and record.master is None:
                    self._undelete(record, event.t, event.actor)
            elif record.deleted:
                continue
            elif action == "update":
                self._update(record, event.changes, event.t, event.actor)
            elif action == "delete":
                self._delete(record, event.t, event.actor, record)
            elif action == "merge":
                self._merge(record, event)

    def _when(self, record: Record, t: int) -> int | None:
        when = max(t, record.last_ms + 1000)
        return when if when < self.end_ms else None

    def resolve(self, record_id: str) -> Record | None:
        record = self.by_id.get(record_id)
        while record is not None and record.master is not None:
            record = record.master
        return record

    def _create(self, event: Event) -> None:
        sobject, ordinal = event.key
        number = self.entity_index * PER_ENTITY + ordinal
        record_id = sf_record_id(sobject, self.entity_index, ordinal)
        fields: dict[str, Any] = {"Id": record_id, "IsDeleted": False}
        if sobject in ("Account", "Contact"):
            fields["MasterRecordId"] = None
        for name, value in event.changes.items():
            if name in _PARENT_FIELDS and value is not None:
                parent = self.resolve(value)
                if parent is None or parent.deleted:
                    return
                value = parent.id
            fields[name] = value
        stamp = sf_datetime(event.t)
        fields["CreatedDate"] = stamp
        fields["CreatedById"] = salesforce_user_id(event.actor)
        record = Record(sobject, record_id, number, fields, event.t)
        self.records[event.key] = record
        self.by_id[record_id] = record
        self._emit(record, event.t, "upsert", event.actor)

    def _update(self, record: Record, changes: dict[str, Any], t: int, actor: int) -> None:
        fields = record.fields
        if all(fields.get(name) == value for name, value in changes.items()):
            return
        when = self._when(record, t)
        if when is None:
            return
        fields.update(changes)
        self._emit(record, when, "upsert", actor)

    def _children(self, record: Record) -> list[Record]:
        return [
            child
            for child in self.records.values()
            if child.sobject in _CASCADE and child.fields.get(_CASCADE[child.sobject]) == record.id
        ]

    def _delete(self, record: Record, t: int, actor: int, root: Record) -> None:
        when = self._when(record, t)
        if when is None:
            return
        record.deleted = True
        record.deleted_by = root
        record.fields["IsDeleted"] = True
        self._emit(record, when, "delete", actor)
        for child in self._children(record):
            if not child.deleted:
                self._delete(child, when, actor, root)

    def _undelete(self, record: Record, t: int, actor: int) -> None:
        for name in _PARENT_FIELDS:
            parent_id = record.fields.get(name)
            parent = self.by_id.get(parent_id) if parent_id else None
            if parent is not None and parent.deleted:
                return
        root = record
        for member in [
            record,
            *(r for r in self.records.values() if r.deleted_by is root and r is not root),
        ]:
            if member.purged:
                continue
            when = self._when(member, t)
            if when is None:
                continue
            member.deleted = False
            member.deleted_by = None
            member.fields["IsDeleted"] = False
            self._emit(member, when, "undelete", actor)

    def _purge(self, record: Record, t: int, actor: int) -> None:
        when = self._when(record, t)
        if when is None:
            return
        record.purged = True
        record.deleted = True
        record.fields["IsDeleted"] = True
        self._emit(record, when, "purge", actor)
        for child in self._children(record):
            if not child.purged:
                self._purge(child, when, actor)

    def _merge(self, loser: Record, event: Event) -> None:
        assert event.other is not None
        master = self.records.get(event.other)
        while master is not None and master.master is not None:
            master = master.master
        if master is None or master is loser or master.deleted:
            return
        when = max(event.t, loser.last_ms + 1000, master.last_ms + 1000)
        if when >= self.end_ms:
            return
        loser.deleted = True
        loser.deleted_by = loser
        loser.master = master
        loser.fields["IsDeleted"] = True
        loser.fields["MasterRecordId"] = master.id
        self._emit(loser, when, "delete", event.actor)
        master.fields.update(_merged_values(master.fields, loser.fields))
        self._emit(master, when, "upsert", event.actor)
        for record in list(self.records.values()):
            if record.deleted:
                continue
            for name in _PARENT_FIELDS:
                if record.fields.get(name) == loser.id:
                    self._update(record, {name: master.id}, when, event.actor)

    def _emit(self, record: Record, t: int, op: str, actor: int) -> None:
        record.version += 1
        record.last_ms = t
        fields = record.fields
        if op != "purge":
            stamp = sf_datetime(t)
            fields["LastModifiedDate"] = stamp
            fields["LastModifiedById"] = salesforce_user_id(actor)
            fields["SystemModstamp"] = stamp
        sobject = record.sobject
        if sobject == "Opportunity":
            if t >= self.addition_ms and "Forecast_Notes__c" not in fields:
                fields["Forecast_Notes__c"] = None
            amount = fields.get("Amount")
            fields["ExpectedRevenue"] = (
                None if amount is None else round(amount * fields["Probability"] / 100, 2)
            )
            if op == "upsert":
                self._history(record, t, actor)
        elif sobject == "Contact":
            fields["Name"] = f"{fields['FirstName']} {fields['LastName']}"
        self.rows[sobject].append(
            {
                "Id": record.id,
                "version": record.version,
                "system_modstamp": t,
                "op": op,
                "fields": orjson.dumps(fields).decode(),
                "entity_index": self.entity_index,
            }
        )

    def _history(self, record: Record, t: int, actor: int) -> None:
        fields = record.fields
        state = (fields["StageName"], fields.get("Amount"), fields["CloseDate"])
        previous = record.history
        if state == previous:
            return
        record.history = state
        ordinal = record.history_count
        record.history_count += 1
        if ordinal >= _HISTORY_PER_OPPORTUNITY:
            raise WorldError(
                f"more than {_HISTORY_PER_OPPORTUNITY} stage/amount changes on {record.id}"
            )
        stamp = sf_datetime(t)
        history_id = salesforce_id(
            SF_PREFIX["OpportunityHistory"], record.number * _HISTORY_PER_OPPORTUNITY + ordinal
        )
        history = {
            "Id": history_id,
            "IsDeleted": False,
            "OpportunityId": record.id,
            "StageName": state[0],
            "Amount": state[1],
            "ExpectedRevenue": fields["ExpectedRevenue"],
            "CloseDate": state[2],
            "Probability": fields["Probability"],
            "ForecastCategory": fields["ForecastCategory"],
            "PrevAmount": previous[1] if previous else None,
            "PrevCloseDate": previous[2] if previous else None,
            "CreatedById": salesforce_user_id(actor),
            "CreatedDate": stamp,
            "SystemModstamp": stamp,
        }
        self.rows["OpportunityHistory"].append(
            {
                "Id": history_id,
                "version": 1,
                "system_modstamp": t,
                "op": "upsert",
                "fields": orjson.dumps(history).decode(),
                "entity_index": self.entity_index,
            }
        )

    def flush(self, sink: Sink) -> None:
        for name in (
            "Account",
            "Contact",
            "Opportunity",
            "OpportunityLineItem",
            "OpportunityHistory",
            "Contract_Terms__c",
        ):
            sink.extend(SF_TABLES[name], self.rows[name])
