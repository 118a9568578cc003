"""REST query, queryAll and retrieval through simple-salesforce, checked against the world."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
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
WORLD_END = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["Id"]: {k: v for k, v in r.items() if k != "attributes"} for r in records}


def select_all(sf: Salesforce, sobject: str) -> str:
    names = [f["name"] for f in getattr(sf, sobject).describe()["fields"]]
    return f"SELECT {', '.join(names)} FROM {sobject}"


@pytest.mark.parametrize("sobject", OBJECTS)
def test_query_and_query_all_return_exactly_the_worlds_records(
    sf: Salesforce, truth: Any, sobject: str
) -> None:
    soql = select_all(sf, sobject)
    small_pages = {"Sforce-Query-Options": "batchSize=200"}
    live = sf.query_all(soql, headers=small_pages)
    assert by_id(live["records"]) == truth.records(sobject, WORLD_END)
    everything = sf.query_all(soql, include_deleted=True, headers=small_pages)
    expected = truth.records(sobject, WORLD_END, include_deleted=True)
    assert by_id(everything["records"]) == expected
    assert everything["totalSize"] == len(expected)
    record = everything["records"][0]
    assert record["attributes"] == {
        "type": sobject,
        "url": f"/services/data/v59.0/sobjects/{sobject}/{record['Id']}",
    }


def test_query_all_holds_soft_deletes_and_merge_losers_but_not_purged_records(
    sf: Salesforce, truth: Any
) -> None:
    soql = "SELECT Id, IsDeleted, MasterRecordId FROM Account"
    live = {r["Id"] for r in sf.query_all(soql)["records"]}
    every = {r["Id"]: r for r in sf.query_all(soql, include_deleted=True)["records"]}
    deleted = set(every) - live
    assert deleted and all(every[i]["IsDeleted"] for i in deleted)
    assert any(every[i]["MasterRecordId"] for i in deleted)  # a merge loser
    purged = {i for i, row in truth.latest("Account", WORLD_END).items() if row["op"] == "purge"}
    assert purged and not purged & set(every)
    only_deleted = sf.query("SELECT Id FROM Account WHERE IsDeleted = true")
    assert only_deleted["totalSize"] == 0  # query never shows the recycle bin


def test_as_of_an_earlier_clock_and_after_moving_it(start_org: Any, truth: Any) -> None:
    at = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    org = start_org(at=at)
    sf = org.client()
    soql = select_all(sf, "Opportunity")
    assert by_id(sf.query_all(soql)["records"]) == truth.records("Opportunity", at)
    later = dt.datetime(2025, 9, 15, tzinfo=dt.UTC)
    org.control("clock", {"to": later.isoformat()})
    soql = select_all(sf, "Opportunity")
    assert by_id(sf.query_all(soql)["records"]) == truth.records("Opportunity", later)
    assert len(truth.records("Opportunity", later)) > len(truth.records("Opportunity", at))


def test_records_page_in_batches_through_next_records_url(start_org: Any) -> None:
    org = start_org()
    sf = org.client()
    org.control("salesforce/records", {"object": "OpportunityLineItem", "count": 4500})
    first = sf.query("SELECT Id FROM OpportunityLineItem")
    assert first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 2000 and second["nextRecordsUrl"].endswith("-4000")
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id FROM OpportunityLineItem")]
    assert len(ids) == len(set(ids)) == first["totalSize"] == 4500 + 70
    small = sf.query(
        "SELECT Id FROM OpportunityLineItem", headers={"Sforce-Query-Options": "batchSize=300"}
    )
    assert len(small["records"]) == 300
    deleted_next = sf.query("SELECT Id FROM Account", include_deleted=True)
    assert deleted_next["done"] is True
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query_more("01gDn000000ZZZZIAA-2000")
    assert error.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_where_order_limit_and_count(sf: Salesforce, truth: Any) -> None:
    opportunities = truth.records("Opportunity", WORLD_END)
    since = "2025-09-01T00:00:00.000+0000"
    expected = sorted(
        (r for r in opportunities.values() if r["SystemModstamp"] >= since),
        key=lambda r: (r["SystemModstamp"], r["Id"]),
    )
    got = sf.query_all(
        "SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp >= 2025-09-01T00:00:00Z "
        "ORDER BY SystemModstamp ASC"
    )["records"]
    assert [r["Id"] for r in got] == [r["Id"] for r in expected]
    plus = sf.query_all(
        "SELECT Id FROM Opportunity WHERE SystemModstamp >= 2025-09-01T02:00:00+02:00"
    )
    assert plus["totalSize"] == len(expected)
    won = [r for r in opportunities.values() if r["IsWon"] and (r["Amount"] or 0) > 20000]
    stages = {"Closed Won", "Negotiation/Review"}
    mixed = [
        r
        for r in opportunities.values()
        if r["StageName"] in stages and (r["Type"] == "Renewal" or r["Amount"] is None)
    ]
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE IsWon = true AND Amount > 20000")[
        "totalSize"
    ] == len(won)
    answer = sf.query_all(
        "select id from opportunity where StageName in ('closed won', 'Negotiation/Review') "
        "and (Type = 'Renewal' or Amount = null)"
    )
    assert {r["Id"] for r in answer["records"]} == {r["Id"] for r in mixed}
    top = sf.query("SELECT Id, Amount FROM Opportunity ORDER BY Amount DESC NULLS LAST LIMIT 5")
    amounts = sorted((r["Amount"] for r in opportunities.values() if r["Amount"]), reverse=True)
    assert [r["Amount"] for r in top["records"]] == amounts[:5]
    first_id = sorted(opportunities)[0]
    assert sf.query(f"SELECT Id FROM Opportunity WHERE Id = '{first_id[:15]}'")["totalSize"] == 1
    not_in = sf.query(f"SELECT COUNT() FROM Opportunity WHERE Id NOT IN ('{first_id}')")
    assert not_in["totalSize"] == len(opportunities) - 1
    like = sf.query_all("SELECT Id FROM Opportunity WHERE Name LIKE '%renewal%'")
    assert like["totalSize"] == sum("renewal" in r["Name"].lower() for r in opportunities.values())


@pytest.mark.parametrize(
    ("soql", "code", "words"),
    [
        ("SELECT Id FROM Nothing__c", "INVALID_TYPE", "sObject type 'Nothing__c'"),
        ("SELECT Id, Foo FROM Account", "INVALID_FIELD", "No such column 'Foo'"),
        (
            "SELECT Id FROM Account WHERE Name = 'a' AND Id = 'b' OR Id = 'c'",
            "MALFORMED_QUERY",
            "OR",
        ),
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY", "GROUP BY"),
        ("SELECT Account.Name FROM Contact", "MALFORMED_QUERY", "relationship"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2025-01-01'", "INVALID_FIELD", "dateTime"),
        ("SELECT Id FROM Account WHERE CreatedDate > LAST_N_DAYS:3", "MALFORMED_QUERY", "date"),
        ("SELECT Id FROM Account WHERE Id = 'nope'", "INVALID_QUERY_FILTER_OPERATOR", "nope"),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field"),
        ("SELECT Id FROM Account LIMIT", "MALFORMED_QUERY", "end of query"),
    ],
    ids=[
        "unknown-object",
        "unknown-field",
        "and-or-mixed",
        "group-by",
        "relationship",
        "quoted-datetime",
        "date-literal",
        "bad-id",
        "duplicate-field",
        "dangling-limit",
    ],
)
def test_queries_outside_the_subset_fail_like_salesforce(
    sf: Salesforce, soql: str, code: str, words: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query(soql)
    assert error.value.status == 400
    [problem] = error.value.content
    assert problem["errorCode"] == code and words in problem["message"]


def test_get_a_record_with_and_without_field_list(sf: Salesforce, truth: Any) -> None:
    records = truth.records("Contact", WORLD_END)
    record_id = sorted(records)[3]
    got = sf.Contact.get(record_id)
    assert {k: v for k, v in got.items() if k != "attributes"} == records[record_id]
    narrow = sf.Contact.get(record_id, params={"fields": "Email,LastName"})
    assert set(narrow) == {"attributes", "Email", "LastName"}
    deleted = set(truth.records("Contact", WORLD_END, include_deleted=True)) - set(records)
    with pytest.raises(SalesforceResourceNotFound) as error:
        sf.Contact.get(sorted(deleted)[0])
    assert error.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get("003Dn00000ZZZZZIAA")


def test_requests_without_a_session_are_refused(org: Any) -> None:
    anonymous = org.client(session_id="")
    with pytest.raises(SalesforceExpiredSession) as error:
        anonymous.query("SELECT Id FROM User")
    assert error.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
