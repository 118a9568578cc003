"""Schema drift as of the clock: the Account segment field's rename and the Opportunity
forecast-notes field's addition, seen through describe, SOQL and If-Modified-Since."""

from __future__ import annotations

import datetime as dt
import email.utils
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

BEFORE_RENAME = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
AFTER_RENAME = dt.datetime(2025, 7, 20, tzinfo=dt.UTC)
AFTER_ADDITION = dt.datetime(2025, 8, 25, tzinfo=dt.UTC)


def field_names(sf: Salesforce, sobject: str) -> list[str]:
    return [f["name"] for f in getattr(sf, sobject).describe()["fields"]]


def invalid_field(sf: Salesforce, soql: str) -> str:
    with pytest.raises(SalesforceMalformedRequest) as error:
        sf.query(soql)
    [problem] = error.value.content
    assert problem["errorCode"] == "INVALID_FIELD"
    message: str = problem["message"]
    return message


def http_date(moment: dt.datetime) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


def values(sf: Salesforce, soql: str, name: str) -> dict[str, Any]:
    return {r["Id"]: r[name] for r in sf.query_all(soql)["records"]}


def test_the_world_drifts_at_the_expected_moments(truth: Any) -> None:
    assert truth.rename["at"] == "2025-07-13T00:00:00.000Z"
    assert truth.addition["at"] == "2025-08-19T00:00:00.000Z"


def test_rename_and_addition_follow_the_clock(start_org: Any, truth: Any) -> None:
    org = start_org(at=BEFORE_RENAME)
    sf = org.client()
    account = field_names(sf, "Account")
    assert "Segment__c" in account and "Customer_Segment__c" not in account
    assert "Forecast_Notes__c" not in field_names(sf, "Opportunity")
    segments = values(sf, "SELECT Id, Segment__c FROM Account", "Segment__c")
    expected = {i: r["Segment__c"] for i, r in truth.records("Account", BEFORE_RENAME).items()}
    assert segments == expected and len(set(segments.values()) - {None}) >= 2
    message = invalid_field(sf, "SELECT Id, Customer_Segment__c FROM Account")
    assert message.endswith(
        "No such column 'Customer_Segment__c' on entity 'Account'. If you are attempting to use "
        "a custom field, be sure to append the '__c' after the custom field name. Please "
        "reference your WSDL or the describe call for the appropriate names."
    )
    assert "ERROR at Row:1:Column:12" in message
    invalid_field(sf, "SELECT Id FROM Opportunity WHERE Forecast_Notes__c != null")

    org.control("clock", {"to": AFTER_RENAME.isoformat()})
    account = field_names(sf, "Account")
    assert "Customer_Segment__c" in account and "Segment__c" not in account
    renamed = values(sf, "SELECT Id, Customer_Segment__c FROM Account", "Customer_Segment__c")
    expected = {
        i: r["Customer_Segment__c"] for i, r in truth.records("Account", AFTER_RENAME).items()
    }
    assert renamed == expected
    kept = set(segments) & set(renamed)
    assert kept and {i: renamed[i] for i in kept} == {i: segments[i] for i in kept}
    invalid_field(sf, "SELECT Id, Segment__c FROM Account")
    assert "Forecast_Notes__c" not in field_names(sf, "Opportunity")

    org.control("clock", {"to": AFTER_ADDITION.isoformat()})
    assert "Forecast_Notes__c" in field_names(sf, "Opportunity")
    notes = values(sf, "SELECT Id, Forecast_Notes__c FROM Opportunity", "Forecast_Notes__c")
    expected = {
        i: r["Forecast_Notes__c"] for i, r in truth.records("Opportunity", AFTER_ADDITION).items()
    }
    assert notes == expected


def test_describe_answers_not_modified_until_the_schema_changes(start_org: Any) -> None:
    org = start_org(at=BEFORE_RENAME)
    sf = org.client()
    since = {"If-Modified-Since": http_date(BEFORE_RENAME - dt.timedelta(days=1))}
    with pytest.raises(SalesforceGeneralError) as error:
        sf.Account.describe(headers=since)
    assert error.value.status == 304
    with pytest.raises(SalesforceGeneralError):
        sf.describe(headers=since)
    org.control("clock", {"to": AFTER_RENAME.isoformat()})
    assert "Customer_Segment__c" in [
        f["name"] for f in sf.Account.describe(headers=since)["fields"]
    ]
    with pytest.raises(SalesforceGeneralError):  # the Opportunity has not changed yet
        sf.Opportunity.describe(headers=since)
    assert len(sf.describe(headers=since)["sobjects"]) == 10
    later = {"If-Modified-Since": http_date(AFTER_RENAME)}
    with pytest.raises(SalesforceGeneralError):
        sf.describe(headers=later)


def test_describe_global_and_object_metadata(sf: Salesforce) -> None:
    listing = sf.describe()
    names = {entry["name"] for entry in listing["sobjects"]}
    assert names == {
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
    }
    terms = sf.Contract_Terms__c.describe()
    assert terms["custom"] is True and terms["keyPrefix"] == "a0B"
    assert {"name", "type", "nillable", "referenceTo"} <= set(terms["fields"][0])
    assert sf.Account.metadata()["objectDescribe"]["name"] == "Account"
