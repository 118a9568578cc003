"""The fake's parts on their own: the SOQL parser, version validity and vectorised ids."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from revstack.sandbox.fakes.salesforce import soql
from revstack.sandbox.fakes.salesforce.inject import salesforce_ids
from revstack.sandbox.fakes.salesforce.store import load_versions
from revstack.sandbox.world.ids import salesforce_id


def test_parser_reads_the_whole_subset() -> None:
    query = soql.parse(
        "select Id, Name from Account where (SystemModstamp >= 2025-06-01T02:00:00+02:00 "
        "or CreatedDate < 2025-01-01T00:00:00.5Z) and not Name like 'A\\%%' and "
        "Type not in ('Prospect', null) and Amount > -1.5 "
        "order by Name desc nulls first, Id limit 10 offset 5"
    )
    assert [f.text for f in query.fields or ()] == ["Id", "Name"]
    assert query.sobject.text == "Account" and (query.limit, query.offset) == (10, 5)
    assert isinstance(query.where, soql.Junction) and query.where.op == "AND"
    first = query.where.parts[0]
    assert isinstance(first, soql.Junction) and first.op == "OR"
    since = first.parts[0]
    assert isinstance(since, soql.Comparison)
    assert since.values[0].value == dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    negated = query.where.parts[1]
    assert isinstance(negated, soql.Negation)
    assert isinstance(negated.part, soql.Comparison) and negated.part.op == "LIKE"
    assert negated.part.values[0].value == "A%%"  # as a value, the escape is gone
    assert negated.part.values[0].pattern == "A\\%%"  # as a LIKE pattern, it is kept
    types = query.where.parts[2]
    assert isinstance(types, soql.Comparison) and types.op == "NOT IN"
    assert [v.kind for v in types.values] == ["string", "null"]
    assert [(k.field.text, k.descending, k.nulls_last) for k in query.order_by] == [
        ("Name", True, False),
        ("Id", False, False),
    ]
    assert soql.parse("SELECT COUNT() FROM Contact").fields is None


@pytest.mark.parametrize(
    "text",
    [
        "SELECT FROM Account",
        "SELECT Id FROM Account WHERE",
        "SELECT Id FROM Account WHERE Name = 'x' OR Name = 'y' AND Id = 'z'",
        "SELECT Id FROM Account WHERE Name = 'unterminated",
        "SELECT Id FROM Account LIMIT 1.5",
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
        "SELECT max(Amount) FROM Opportunity",
        "SELECT Id FROM Account ORDER BY",
        "",
    ],
)
def test_parser_refuses_what_it_does_not_know(text: str) -> None:
    with pytest.raises(soql.SoqlError) as error:
        soql.parse(text)
    assert error.value.code == "MALFORMED_QUERY" and error.value.status == 400


def test_errors_point_at_row_and_column() -> None:
    with pytest.raises(soql.SoqlError) as error:
        soql.parse("SELECT Id\nFROM Account\nWHERE Name = 'a' OR Id = 'b' AND Id = 'c'")
    line = "WHERE Name = 'a' OR Id = 'b' AND Id = 'c'"
    assert error.value.message.startswith(f"\n{line}\n{' ' * 29}^\nERROR at Row:3:Column:30\n")
    with pytest.raises(soql.SoqlError) as error:
        soql.parse("SELECT Id FROM Account WHERE Name = 'a' OR")
    assert "ERROR at Row:1:Column:43\nunexpected end of query" in error.value.message


def test_vectorised_ids_match_the_worlds() -> None:
    numbers = np.array([0, 1, 61, 62, 12_345, 62**8, 62**8 + 987_654, 62**9 - 1])
    assert salesforce_ids("00k", numbers).to_pylist() == [
        salesforce_id("00k", int(n)) for n in numbers
    ]


def test_versions_know_deletions_undeletes_and_purges(tmp_path: Path) -> None:
    def row(record: str, version: int, at: int, op: str) -> dict[str, object]:
        deleted = op in ("delete", "purge")
        fields = {"Id": record, "IsDeleted": deleted, "Name": f"{record}-v{version}"}
        return {
            "Id": record,
            "version": version,
            "system_modstamp": dt.datetime.fromtimestamp(at, dt.UTC),
            "op": op,
            "fields": json.dumps(fields),
        }

    rows = [
        row("b", 1, 100, "upsert"),
        row("b", 2, 200, "delete"),
        row("b", 3, 300, "undelete"),
        row("a", 3, 300, "purge"),
        row("a", 1, 100, "upsert"),
        row("a", 2, 200, "delete"),
        row("c", 1, 100, "upsert"),
        row("c", 2, 250, "purge"),
    ]
    path = tmp_path / "Thing.parquet"
    table = pa.Table.from_pylist(rows)
    table = table.set_column(
        2, "system_modstamp", table["system_modstamp"].cast(pa.timestamp("ms", tz="UTC"))
    )
    pq.write_table(table, path)
    schema = pa.schema([("Id", pa.string()), ("IsDeleted", pa.bool_()), ("Name", pa.string())])
    versions = load_versions(path, "Thing", schema)

    def names(at: int, include_deleted: bool) -> list[str]:
        rows_at = versions.visible(at * 1000, include_deleted=include_deleted)
        return versions.table.column("Name").take(pa.array(rows_at)).to_pylist()

    assert names(50, True) == []
    assert names(150, False) == ["a-v1", "b-v1", "c-v1"]
    assert names(220, False) == ["c-v1"]
    assert names(220, True) == ["a-v2", "b-v2", "c-v1"]
    assert names(300, True) == ["b-v3"]  # a and c purged
    assert versions.deleted(0, 10**9, 300_000) == [("a", 200_000), ("c", 250_000)]
    assert versions.deleted(0, 10**9, 220_000) == [("a", 200_000), ("b", 200_000)]
    assert versions.updated_ids(0, 400_000, 300_000) == ["b"]
    assert versions.find("b", 210_000) is not None and versions.find("c", 260_000) is not None
    assert versions.find("z", 260_000) is None
