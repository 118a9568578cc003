"""Records as Salesforce prints them: REST JSON records and Bulk API 2.0 CSV pages.

JSON values keep their types (numbers, booleans, null; dates ``YYYY-MM-DD`` and datetimes
``2025-06-01T12:34:56.000+0000`` as strings). CSV follows Bulk API 2.0 query results: a quoted
header, every non-null value in double quotes (inner quotes doubled), null as an empty field,
booleans ``true``/``false``, numbers as the JSON prints them. CSV pages are converted column by
column in Arrow and written by Arrow's CSV writer; no Python work per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from revstack.sandbox.fakes.salesforce.query import Result
from revstack.sandbox.fakes.salesforce.schema import Field

#: Bulk API 2.0 ``columnDelimiter`` values.
DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = ("LF", "CRLF")
CSV_CHUNK_ROWS = 20_000


def sf_datetime(ms: int) -> str:
    """``2025-06-01T12:34:56.000+0000``."""
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def record_url(version: str, sobject: str, record_id: str) -> str:
    return f"/services/data/v{version}/sobjects/{sobject}/{record_id}"


def json_records(result: Result, start: int, stop: int, version: str) -> list[dict[str, Any]]:
    """Records `start` to `stop` of a query result, as REST returns them."""
    rows = pa.array(result.rows[start:stop])
    table = result.versions.table
    ids = table.column("Id").take(rows).to_pylist()
    values = [table.column(f.canonical).take(rows).to_pylist() for f in result.columns]
    names = [f.name for f in result.columns]
    base = f"/services/data/v{version}/sobjects/{result.sobject}/"
    return [
        {
            "attributes": {"type": result.sobject, "url": base + str(record_id)},
            **dict(zip(names, row, strict=True)),
        }
        for record_id, row in zip(ids, zip(*values, strict=True), strict=True)
    ]


def json_record(
    table: pa.Table, row: int, fields: list[Field], sobject: str, version: str
) -> dict[str, Any]:
    """One record (``GET /sobjects/{sobject}/{id}``)."""
    picked = table.slice(row, 1)
    record_id = picked.column("Id")[0].as_py()
    body: dict[str, Any] = {
        "attributes": {"type": sobject, "url": record_url(version, sobject, record_id)}
    }
    for field in fields:
        body[field.name] = picked.column(field.canonical)[0].as_py()
    return body


def _csv_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A column as the strings Bulk API 2.0 prints (floats keep a ``.0`` like JSON does)."""
    if pa.types.is_string(column.type):
        return column
    text = pc.cast(column, pa.string())
    if pa.types.is_floating(column.type):
        whole = pc.match_substring_regex(text, r"^-?\d+$")
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    return text


def csv_chunks(
    result: Result, start: int, stop: int, delimiter: str = ",", line_ending: str = "LF"
) -> Iterator[bytes]:
    """Records `start` to `stop` of a result as CSV, header first, in chunks of bytes."""
    table = result.versions.table
    names = [f.name for f in result.columns]
    options = pcsv.WriteOptions(include_header=False, delimiter=delimiter)
    options.quoting_style = "all_valid"
    header = delimiter.join(f'"{name}"' for name in names) + "\n"
    newline = "\r\n" if line_ending == "CRLF" else "\n"
    yield header.replace("\n", newline).encode()
    for first in range(start, stop, CSV_CHUNK_ROWS):
        rows = pa.array(result.rows[first : min(stop, first + CSV_CHUNK_ROWS)])
        arrays = [_csv_text(table.column(f.canonical).take(rows)) for f in result.columns]
        page = pa.Table.from_arrays(arrays, names=names)
        sink = pa.BufferOutputStream()
        pcsv.write_csv(page, sink, options)
        data = sink.getvalue().to_pybytes()
        yield data.replace(b"\n", b"\r\n") if line_ending == "CRLF" else data
