"""Bulk API 2.0 query jobs through simple-salesforce: same answers as REST, CSV as Salesforce
writes it, and large results paged quickly."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

OBJECTS = (
    "Account",
    "Contact",
    "Opportunity",
    "OpportunityLineItem",
    "OpportunityHistory",
    "Contract_Terms__c",
    "User",
    "PricebookEntry",
)
WAIT = 0.02  # seconds simple-salesforce sleeps before polling a job (its default is 5)


def as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def rows(pages: Any) -> list[dict[str, str]]:
    return [row for page in pages for row in csv.DictReader(io.StringIO(page))]


def select_all(sf: Salesforce, sobject: str) -> str:
    names = [f["name"] for f in getattr(sf, sobject).describe()["fields"]]
    return f"SELECT {', '.join(names)} FROM {sobject}"


@pytest.mark.parametrize("sobject", OBJECTS)
def test_bulk_results_equal_rest_results(sf: Salesforce, sobject: str) -> None:
    soql = select_all(sf, sobject)
    for include_deleted in (False, True):
        rest = sf.query_all(soql, include_deleted=include_deleted)["records"]
        expected = sorted(
            ({k: as_csv(v) for k, v in r.items() if k != "attributes"} for r in rest),
            key=lambda r: r["Id"],
        )
        bulk = getattr(sf.bulk2, sobject)
        pages = (bulk.query_all if include_deleted else bulk.query)(soql, wait=WAIT)
        assert sorted(rows(pages), key=lambda r: r["Id"]) == expected
        assert expected


def test_csv_is_quoted_like_salesforce(sf: Salesforce) -> None:
    [page] = list(
        sf.bulk2.Account.query(
            "SELECT Id, Name, Industry, NumberOfEmployees FROM Account ORDER BY Name LIMIT 20",
            wait=WAIT,
        )
    )
    lines = page.splitlines()
    assert lines[0] == '"Id","Name","Industry","NumberOfEmployees"'
    assert len(lines) == 21
    assert all(line.startswith('"001') for line in lines[1:])
    assert any(',,"' in line for line in lines[1:])  # a null Industry: empty and unquoted
    names = [row["Name"] for row in csv.DictReader(io.StringIO(page))]
    assert names == sorted(names)


def test_large_results_page_with_locators_fast(start_org: Any, tmp_path: Path) -> None:
    org = start_org()
    org.control("salesforce/records", {"object": "OpportunityLineItem", "count": 150_000})
    sf = org.client()
    soql = (
        "SELECT Id, OpportunityId, Quantity, UnitPrice, TotalPrice, SystemModstamp "
        "FROM OpportunityLineItem"
    )
    started = time.perf_counter()
    pages = list(sf.bulk2.OpportunityLineItem.query(soql, max_records=50_000, wait=WAIT))
    seconds = time.perf_counter() - started
    assert len(pages) == 4
    ids = [row["Id"] for row in rows(pages)]
    assert len(ids) == len(set(ids)) == 150_070
    assert len(ids) / seconds > 30_000, f"{len(ids) / seconds:.0f} rows/s"
    files = sf.bulk2.OpportunityLineItem.download(
        soql, str(tmp_path), max_records=100_000, wait=WAIT
    )
    assert [f["number_of_records"] for f in files] == [100_000, 50_070]
    assert sum(len(Path(f["file"]).read_text().splitlines()) - 1 for f in files) == 150_070


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id, Nope FROM Account",
        "SELECT COUNT() FROM Account",
        "SELECT Id FROM Account OFFSET 5",
    ],
    ids=["unknown-field", "aggregate", "offset"],
)
def test_bad_bulk_queries_are_refused_when_the_job_is_created(sf: Salesforce, soql: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as error:
        list(sf.bulk2.Account.query(soql, wait=WAIT))
    [problem] = error.value.content
    assert problem["errorCode"] == "INVALIDJOB"
    assert problem["message"].startswith("Failed to process query: ")
