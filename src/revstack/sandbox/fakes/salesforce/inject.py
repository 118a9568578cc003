"""Synthetic extra records for load tests: copies of existing records under new Ids.

``POST /_sandbox/salesforce/records`` adds N records of an object: each copies one of the
object's live records (cycling through them) and gets a fresh Id, a creation time and a
SystemModstamp (the clock by default, or spread evenly over ``[from, to]``). Ids come from a
range no world record uses, after every world Id, so sorting by Id still puts them last. Built
column by column: a million records take about a second.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revstack.errors import TerminalApiError
from revstack.sandbox.fakes.salesforce.store import Store, Versions
from revstack.sandbox.world.ids import BASE62

#: Injected record numbers start here (base62 ``100000000``; world numbers are far smaller).
FIRST_NUMBER = 62**8
_LAST_NUMBER = 62**9 - 1
_DIGITS = np.frombuffer(BASE62.encode(), dtype=np.uint8)
_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)
_STAMP_FIELDS = ("CreatedDate", "LastModifiedDate", "SystemModstamp")
MAX_PER_CALL = 10_000_000


def salesforce_ids(key_prefix: str, numbers: np.ndarray) -> pa.Array:
    """18-character Salesforce ids (as `revstack.sandbox.world.ids.salesforce_id` makes them)
    for many record numbers at once."""
    count = len(numbers)
    head = np.frombuffer((key_prefix + "Dn0").encode(), dtype=np.uint8)
    chars = np.empty((count, 18), dtype=np.uint8)
    chars[:, :6] = head
    rest = numbers.astype(np.int64).copy()
    for position in range(14, 5, -1):
        chars[:, position] = _DIGITS[rest % 62]
        rest //= 62
    upper = (chars[:, :15] >= ord("A")) & (chars[:, :15] <= ord("Z"))
    for block in range(3):
        bits = np.zeros(count, dtype=np.int64)
        for position in range(5):
            bits |= upper[:, block * 5 + position].astype(np.int64) << position
        chars[:, 15 + block] = _SUFFIX[bits]
    offsets = np.arange(0, 18 * (count + 1), 18, dtype=np.int32)
    return pa.StringArray.from_buffers(
        count, pa.py_buffer(offsets.tobytes()), pa.py_buffer(chars.tobytes())
    )


def _stamps(ms: np.ndarray) -> pa.Array:
    seconds = pa.array(ms // 1000, type=pa.int64()).cast(pa.timestamp("s", tz="UTC"))
    return pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S.000+0000")


def inject(
    store: Store, sobject: str, count: int, key_prefix: str, from_ms: int, to_ms: int, at_ms: int
) -> int:
    """Add `count` copies of `sobject`'s live records (as of `at_ms`); returns the new total of
    injected records of that object."""
    if not 0 < count <= MAX_PER_CALL:
        raise TerminalApiError(
            f"count must be between 1 and {MAX_PER_CALL}", status=400, code="INVALID_COUNT"
        )
    if to_ms < from_ms:
        raise TerminalApiError("'to' is before 'from'", status=400, code="INVALID_TIME")
    while True:
        before = store.versions(sobject)
        templates = before.visible(at_ms, include_deleted=False)
        if not len(templates):
            raise TerminalApiError(
                f"no live {sobject} records to copy at the clock", status=400, code="NO_TEMPLATES"
            )
        first = FIRST_NUMBER + store.injected(sobject)
        if first + count - 1 > _LAST_NUMBER:
            raise TerminalApiError("the injected id range is full", status=400, code="FULL")
        after = _with_copies(before, templates, count, key_prefix, first, from_ms, to_ms)
        if store.replace(before, after, count):
            return store.injected(sobject)


def _with_copies(
    versions: Versions,
    templates: np.ndarray,
    count: int,
    key_prefix: str,
    first: int,
    from_ms: int,
    to_ms: int,
) -> Versions:
    order = np.arange(count, dtype=np.int64)
    rows = versions.table.take(pa.array(templates[order % len(templates)]))
    if count > 1:
        ms = from_ms + (to_ms - from_ms) * order // (count - 1)
    else:
        ms = np.full(1, from_ms, dtype=np.int64)
    ms -= ms % 1000
    stamps = _stamps(ms)
    names = rows.column_names
    rows = rows.set_column(names.index("Id"), "Id", salesforce_ids(key_prefix, first + order))
    for name in _STAMP_FIELDS:
        if name in names:
            rows = rows.set_column(names.index(name), name, stamps)
    return versions.appended(rows, ms)
