"""Running a parsed SOQL query against the store as of a moment.

The answer is a `Result`: the snapshot of the object's versions the query ran on and the row
indices of the matching records in result order. Pages (REST JSON batches, Bulk CSV pages) are
cut from it later, so a cursor keeps serving the snapshot it was opened on.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revstack.sandbox.fakes.salesforce import soql
from revstack.sandbox.fakes.salesforce.schema import Field
from revstack.sandbox.fakes.salesforce.soql import Comparison, Junction, Literal, SoqlError
from revstack.sandbox.fakes.salesforce.store import Store, Versions
from revstack.sandbox.world.ids import case_safe_suffix

_NUMERIC = {"int", "double", "currency", "percent"}
_IDS = {"id", "reference"}
_NOT_TEXT = _NUMERIC | {"boolean", "date", "datetime"}
#: Salesforce's name for each type in "must be of type ..." messages.
_TYPE_WORD = {"datetime": "dateTime", "int": "double", "currency": "double", "percent": "double"}
_LITERAL_FOR = {"boolean": "boolean", "date": "date", "datetime": "datetime"}
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
MAX_OFFSET = 2000


@dataclass(frozen=True)
class Result:
    sobject: str
    versions: Versions
    rows: np.ndarray
    columns: tuple[Field, ...]
    """The selected fields in order; empty for ``SELECT COUNT()``."""
    count_only: bool

    @property
    def total(self) -> int:
        return len(self.rows)


def run(
    store: Store,
    text: str,
    at_ms: int,
    *,
    include_deleted: bool,
    bulk: bool = False,
) -> Result:
    """Run `text` as `query` (or `queryAll` with `include_deleted`) at `at_ms`."""
    parsed = soql.parse(text)
    schema = store.schema
    sobject = schema.object_name(parsed.sobject.text)
    if sobject is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{parsed.sobject.text}' is not supported. If you are attempting to "
            "use a custom object, be sure to append the '__c' after the entity name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
            text,
            parsed.sobject.pos,
        )
    fields = schema.field_map(sobject, at_ms)
    if bulk and parsed.fields is None:
        raise SoqlError("MALFORMED_QUERY", "Bulk API 2.0 does not support aggregate functions")
    if bulk and parsed.offset is not None:
        raise SoqlError("MALFORMED_QUERY", "Bulk API 2.0 does not support OFFSET")
    columns = _selected(parsed, fields, sobject)
    versions = store.versions(sobject)
    rows = versions.visible(at_ms, include_deleted=include_deleted)
    if parsed.where is not None:
        rows = rows[_matches(parsed.where, versions.table, rows, fields, sobject, text)]
    if parsed.order_by:
        rows = rows[_order(parsed.order_by, versions.table, rows, fields, sobject, text)]
    if parsed.offset is not None:
        if parsed.offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"Maximum SOQL offset allowed is {MAX_OFFSET}",
            )
        rows = rows[parsed.offset :]
    if parsed.limit is not None:
        rows = rows[: parsed.limit]
    return Result(sobject, versions, rows, columns, parsed.fields is None)


def _field(name: soql.Name, fields: dict[str, Field], sobject: str, text: str) -> Field:
    field = fields.get(name.text.lower())
    if field is None:
        raise SoqlError(
            "INVALID_FIELD",
            f"No such column '{name.text}' on entity '{sobject}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
            text,
            name.pos,
        )
    return field


def _selected(parsed: soql.Query, fields: dict[str, Field], sobject: str) -> tuple[Field, ...]:
    if parsed.fields is None:
        return ()
    chosen: list[Field] = []
    for name in parsed.fields:
        field = _field(name, fields, sobject, parsed.text)
        if field in chosen:
            raise SoqlError(
                "MALFORMED_QUERY", f"duplicate field selected: {name.text}", parsed.text, name.pos
            )
        chosen.append(field)
    return tuple(chosen)


def _columns(
    condition: soql.Condition, fields: dict[str, Field], sobject: str, text: str
) -> list[Field]:
    if isinstance(condition, Comparison):
        return [_field(condition.field, fields, sobject, text)]
    if isinstance(condition, Junction):
        return [f for part in condition.parts for f in _columns(part, fields, sobject, text)]
    return _columns(condition.part, fields, sobject, text)


def _matches(
    condition: soql.Condition,
    table: pa.Table,
    rows: np.ndarray,
    fields: dict[str, Field],
    sobject: str,
    text: str,
) -> np.ndarray:
    needed = {f.canonical for f in _columns(condition, fields, sobject, text)}
    subset = table.select(sorted(needed)).take(pa.array(rows))
    return _evaluate(condition, subset, fields, sobject, text)


def _evaluate(
    condition: soql.Condition, subset: pa.Table, fields: dict[str, Field], sobject: str, text: str
) -> np.ndarray:
    if isinstance(condition, Junction):
        parts = [_evaluate(p, subset, fields, sobject, text) for p in condition.parts]
        combined = parts[0].copy()
        for part in parts[1:]:
            combined = combined & part if condition.op == "AND" else combined | part
        return combined
    if isinstance(condition, soql.Negation):
        return ~_evaluate(condition.part, subset, fields, sobject, text)
    field = _field(condition.field, fields, sobject, text)
    return _compare(subset.column(field.canonical), field, condition, text)


def _value(field: Field, literal: Literal, text: str) -> Any:
    """The literal as a value comparable with the field's column, or a Salesforce error."""
    if literal.kind == "null":
        return None
    kind = field.type
    expected = (
        "number" if kind in _NUMERIC else _LITERAL_FOR.get(kind, "string")
    )  # the literal kind the field's type takes
    if literal.kind != expected:
        word = _TYPE_WORD.get(kind, kind if kind in _NOT_TEXT else "string")
        quoted = "should be" if expected == "string" else "should not be"
        raise SoqlError(
            "INVALID_FIELD",
            f"value of filter criterion for field '{field.name}' must be of type {word} and "
            f"{quoted} enclosed in quotes",
            text,
            literal.pos,
        )
    if kind == "datetime":
        moment: dt.datetime = literal.value
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
    if kind in _IDS:
        value = str(literal.value)
        if not _ID.fullmatch(value):
            raise SoqlError(
                "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}", text, literal.pos
            )
        return value if len(value) == 18 else value + case_safe_suffix(value)
    if kind not in _NOT_TEXT:
        return str(literal.value).lower()
    return literal.value


def _compare(column: pa.ChunkedArray, field: Field, condition: Comparison, text: str) -> np.ndarray:
    op = condition.op
    values = [_value(field, literal, text) for literal in condition.values]
    case_insensitive = field.type not in _NOT_TEXT and field.type not in _IDS
    if case_insensitive:
        column = pc.utf8_lower(column)
    if op == "LIKE":
        if field.type in _NOT_TEXT:
            raise SoqlError(
                "INVALID_FIELD",
                f"invalid operator on {field.type} field: {field.name}",
                text,
                condition.field.pos,
            )
        pattern = condition.values[0].pattern
        if pattern is None:
            raise SoqlError("MALFORMED_QUERY", "LIKE needs a string", text, condition.field.pos)
        result = pc.match_like(column, pattern, ignore_case=True)
        return _filled(result, False)
    if op in ("IN", "NOT IN"):
        present = [v for v in values if v is not None]
        hit = _filled(pc.is_in(column, value_set=pa.array(present, type=column.type)), False)
        if len(present) < len(values):
            hit |= _filled(pc.is_null(column), False)
        return hit if op == "IN" else ~hit
    value = values[0]
    if value is None:
        if op not in ("=", "!="):
            raise SoqlError(
                "MALFORMED_QUERY",
                f"null can only be compared with = or !=, not {op}",
                text,
                condition.values[0].pos,
            )
        nulls = _filled(pc.is_null(column), False)
        return nulls if op == "=" else ~nulls
    scalar = pa.scalar(value)
    if op == "=":
        return _filled(pc.equal(column, scalar), False)
    if op == "!=":
        return _filled(pc.not_equal(column, scalar), True)
    function = {"<": pc.less, "<=": pc.less_equal, ">": pc.greater, ">=": pc.greater_equal}[op]
    return _filled(function(column, scalar), False)


def _filled(result: Any, when_null: bool) -> np.ndarray:
    filled = pc.fill_null(result, when_null)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)


def _order(
    keys: Sequence[soql.OrderKey],
    table: pa.Table,
    rows: np.ndarray,
    fields: dict[str, Field],
    sobject: str,
    text: str,
) -> np.ndarray:
    """Permutation of `rows` sorting by `keys` (nulls first ascending, last descending, unless
    NULLS FIRST/LAST says otherwise; ties keep Id order)."""
    take = pa.array(rows)
    arrays: dict[str, Any] = {}
    sort_keys: list[tuple[str, str]] = []
    for number, key in enumerate(keys):
        column = table.column(_field(key.field, fields, sobject, text).canonical).take(take)
        nulls = pc.is_null(column)
        arrays[f"n{number}"] = nulls if key.nulls_last else pc.invert(nulls)
        arrays[f"v{number}"] = column
        sort_keys += [
            (f"n{number}", "ascending"),
            (f"v{number}", "descending" if key.descending else "ascending"),
        ]
    order = pc.sort_indices(pa.table(arrays), sort_keys=sort_keys)
    return np.asarray(order.to_numpy(), dtype=np.int64)
