"""Reading a world's ``hubspot/`` files into the fake's in-memory index."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from revstack.errors import WorldError
from revstack.sandbox.fakes.hubspot.records import History, Version
from revstack.sandbox.fakes.hubspot.settings import MODIFIED_PROPERTY, OBJECT_TYPES
from revstack.sandbox.world.crm_common import hs_time


class Link:
    """One direction of an association, alive in ``[created, removed)``."""

    __slots__ = ("created", "from_id", "from_type", "removed", "to_id", "to_type", "type_id")

    def __init__(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        type_id: int,
        created: int,
        removed: int | None,
    ) -> None:
        self.from_type = from_type
        self.from_id = from_id
        self.to_type = to_type
        self.to_id = to_id
        self.type_id = type_id
        self.created = created
        self.removed = removed

    def alive(self, t: int) -> bool:
        return self.created <= t and (self.removed is None or t < self.removed)


@dataclass
class WorldData:
    histories: dict[str, dict[str, History]]
    links: list[Link]
    owners: list[dict[str, Any]]
    pipelines: dict[str, Any]
    property_names: dict[str, set[str]]
    """Every property any version of a type ever had."""


def _ms(column: pa.ChunkedArray) -> list[int | None]:
    values: list[int | None] = pc.cast(column, pa.int64()).to_pylist()
    return values


def _read(path: Path) -> pa.Table:
    if not path.is_file():
        raise WorldError(f"{path} is missing: generate the world again")
    return pq.read_table(path)


def _versions(kind: str, path: Path) -> tuple[dict[str, History], set[str]]:
    table = _read(path).sort_by([("id", "ascending"), ("version", "ascending")])
    ids = table.column("id").to_pylist()
    updated = _ms(table.column("updated_at"))
    created = _ms(table.column("created_at"))
    archived = table.column("archived").to_pylist()
    props = table.column("properties").to_pylist()
    changed = table.column("changed").to_pylist()
    sources = table.column("change_source").to_pylist()
    merged = table.column("merged_into").to_pylist()
    names: set[str] = set()
    for raw in pc.unique(table.column("changed")).to_pylist():
        names.update(orjson.loads(raw))
    modified = MODIFIED_PROPERTY[kind]
    names.add(modified)
    histories: dict[str, History] = {}
    for row, record_id in enumerate(ids):
        history = histories.get(record_id)
        if history is None:
            history = histories[record_id] = History(kind, record_id, created[row] or 0, modified)
        t = updated[row] or 0
        history.append(
            Version(t, archived[row], props[row], changed[row], sources[row], None, merged[row])
        )
    return histories, names


def _links(path: Path) -> list[Link]:
    table = _read(path)
    columns = [table.column(name).to_pylist() for name in ("from_type", "from_id", "to_type")]
    to_ids = table.column("to_id").to_pylist()
    type_ids = table.column("association_type_id").to_pylist()
    created = _ms(table.column("created_at"))
    removed = _ms(table.column("removed_at"))
    return [
        Link(
            columns[0][i],
            columns[1][i],
            columns[2][i],
            to_ids[i],
            type_ids[i],
            created[i] or 0,
            removed[i],
        )
        for i in range(table.num_rows)
    ]


def _owners(path: Path) -> list[dict[str, Any]]:
    table = _read(path)
    rows = table.to_pylist()
    created = _ms(table.column("createdAt"))
    updated = _ms(table.column("updatedAt"))
    owners = []
    for row, created_ms, updated_ms in zip(rows, created, updated, strict=True):
        owners.append(
            {
                "id": row["id"],
                "email": row["email"],
                "type": "PERSON",
                "firstName": row["firstName"],
                "lastName": row["lastName"],
                "userId": row["userId"],
                "createdAt": hs_time(created_ms or 0),
                "updatedAt": hs_time(updated_ms or 0),
                "archived": row["archived"],
                "teams": json.loads(row["teams"]),
            }
        )
    owners.sort(key=lambda owner: int(owner["id"]))
    return owners


def load_world(world_dir: Path) -> WorldData:
    base = world_dir / "hubspot"
    histories: dict[str, dict[str, History]] = {}
    names: dict[str, set[str]] = {}
    for kind in OBJECT_TYPES:
        histories[kind], names[kind] = _versions(kind, base / f"{kind}.parquet")
    pipelines_path = base / "pipelines.json"
    try:
        pipelines = json.loads(pipelines_path.read_text())
    except FileNotFoundError as exc:
        raise WorldError(f"{pipelines_path} is missing: generate the world again") from exc
    return WorldData(
        histories,
        _links(base / "associations.parquet"),
        _owners(base / "owners.parquet"),
        pipelines,
        names,
    )
