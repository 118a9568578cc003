"""``sobjects/{X}/updated`` and ``sobjects/{X}/deleted``: their 30- and 15-day windows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

END = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def expected_deleted(truth: Any, sobject: str, at: dt.datetime, since: dt.datetime) -> set[str]:
    """Records gone at `at` whose deletion (the soft delete before a purge) is at or after
    `since`."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for row in truth.rows(sobject):
        if row["system_modstamp"] <= at:
            by_id.setdefault(row["Id"], []).append(row)
    gone = set()
    for record_id, rows in by_id.items():
        rows.sort(key=lambda r: r["version"])
        last = rows[-1]
        if last["op"] not in ("delete", "purge"):
            continue
        when = last["system_modstamp"]
        if last["op"] == "purge" and len(rows) > 1 and rows[-2]["op"] == "delete":
            when = rows[-2]["system_modstamp"]
        if since <= when < at:
            gone.add(record_id)
    return gone


def expected_updated(
    truth: Any, sobject: str, start: dt.datetime, end: dt.datetime, at: dt.datetime
) -> set[str]:
    touched = {
        row["Id"]
        for row in truth.rows(sobject)
        if row["op"] in ("upsert", "undelete") and start <= row["system_modstamp"] < end
    }
    return touched & set(truth.records(sobject, at))


def error_code(call: Any) -> str:
    with pytest.raises(SalesforceMalformedRequest) as error:
        call()
    code: str = error.value.content[0]["errorCode"]
    return code


@pytest.mark.parametrize("sobject", ["Account", "Contact", "Opportunity"])
def test_deleted_lists_only_the_last_15_days(sf: Salesforce, truth: Any, sobject: str) -> None:
    answer = getattr(sf, sobject).deleted(END - 40 * DAY, END)
    earliest = END - 15 * DAY
    assert answer["earliestDateAvailable"] == "2025-10-17T00:00:00.000+0000"
    assert answer["latestDateCovered"] == "2025-11-01T00:00:00.000+0000"
    listed = {r["id"] for r in answer["deletedRecords"]}
    assert listed == expected_deleted(truth, sobject, END, earliest)
    older = expected_deleted(truth, sobject, END, END - 400 * DAY) - listed
    if sobject == "Contact":
        assert listed and older  # the world has both kinds: the test can tell them apart
    for record in answer["deletedRecords"]:
        assert record["deletedDate"].endswith(".000+0000")


def test_hard_deleted_records_are_listed_while_in_the_window(start_org: Any, truth: Any) -> None:
    at = dt.datetime(2025, 7, 20, tzinfo=dt.UTC)
    sf = start_org(at=at).client()
    for sobject in ("Account", "Contact", "Opportunity"):
        listed = {
            r["id"] for r in getattr(sf, sobject).deleted(at - 14 * DAY, at)["deletedRecords"]
        }
        purged = {i for i, row in truth.latest(sobject, at).items() if row["op"] == "purge"}
        assert purged and purged <= listed
        every = sf.query_all(f"SELECT Id FROM {sobject}", include_deleted=True)["records"]
        assert not purged & {r["Id"] for r in every}


def test_updated_covers_30_days_and_ignores_seconds(sf: Salesforce, truth: Any) -> None:
    start = END - 10 * DAY
    answer = sf.Opportunity.updated(start, END)
    assert set(answer["ids"]) == expected_updated(truth, "Opportunity", start, END, END)
    assert answer["ids"] and answer["latestDateCovered"] == "2025-11-01T00:00:00.000+0000"
    odd_end = END - DAY + dt.timedelta(hours=5, minutes=7, seconds=42)
    covered = sf.Opportunity.updated(start, odd_end)["latestDateCovered"]
    assert covered == "2025-10-31T05:07:00.000+0000"
    assert sf.Account.updated(END - 29 * DAY, END)["ids"]
    assert error_code(lambda: sf.Account.updated(END - 31 * DAY, END)) == (
        "INVALID_REPLICATION_DATE"
    )
    assert error_code(lambda: sf.Account.updated(END - DAY, END - 2 * DAY)) == (
        "INVALID_REPLICATION_DATE"
    )
