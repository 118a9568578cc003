from __future__ import annotations

import datetime as dt

import pytest

from revstack.sandbox.world.clock import add_months, quarter_end, to_date, to_ts
from revstack.sandbox.world.ids import (
    base62,
    case_safe_suffix,
    hubspot_id,
    sf_record_id,
    workspace_id,
)


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2025, 1, 31), 2, dt.date(2025, 3, 31)),
        (dt.date(2025, 11, 15), 3, dt.date(2026, 2, 15)),
        (dt.date(2025, 5, 1), 18, dt.date(2026, 11, 1)),
    ],
)
def test_add_months_keeps_the_anchor_day(anchor: dt.date, months: int, expected: dt.date) -> None:
    assert to_date(add_months(to_ts(anchor), months)) == expected


def test_quarter_end() -> None:
    assert quarter_end(dt.date(2025, 5, 17)) == dt.date(2025, 6, 30)
    assert quarter_end(dt.date(2025, 12, 1)) == dt.date(2025, 12, 31)


def test_salesforce_case_safe_suffix_matches_a_known_id() -> None:
    # A 15/18-character pair as Salesforce documents and prints it.
    assert case_safe_suffix("001A0000006Vm9r") == "IAC"


def test_salesforce_ids_are_18_chars_with_prefix_and_unique() -> None:
    ids = {sf_record_id("Account", index, ordinal) for index in range(500) for ordinal in (0, 63)}
    assert len(ids) == 1000
    assert all(len(i) == 18 and i.startswith("001") for i in ids)
    assert all(i[15:] == case_safe_suffix(i[:15]) for i in ids)


def test_crm_and_workspace_ids_are_unique_per_entity_and_ordinal() -> None:
    assert len({hubspot_id("contacts", i, k) for i in range(100) for k in range(64)}) == 6400
    assert len({workspace_id(i, k) for i in range(100) for k in range(4)}) == 400
    with pytest.raises(ValueError):
        hubspot_id("contacts", 1, 64)


def test_base62_width_is_enforced() -> None:
    assert base62(61, 1) == "z"
    with pytest.raises(ValueError):
        base62(62, 1)
