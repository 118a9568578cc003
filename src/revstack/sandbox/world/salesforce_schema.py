"""What Salesforce's ``describe`` says about the objects the world holds, and how it drifts.

Version rows always use canonical field names; `schema_document` lists every field that ever
exists under its canonical name, plus the `renames` and `additions` a fake API applies to
serve the schema (and the records) as of its own clock.
"""

from __future__ import annotations

from typing import Any

from revstack.sandbox.world.crm_common import drift_times, hs_time
from revstack.sandbox.world.ids import SF_PREFIX
from revstack.sandbox.world.story import Window

_LENGTH = {
    "id": 18,
    "reference": 18,
    "string": 255,
    "picklist": 255,
    "url": 255,
    "phone": 40,
    "email": 80,
    "textarea": 32_000,
}
_CURRENCY_CODES = ("USD", "EUR", "JPY")


def _field(
    name: str,
    type_: str,
    label: str,
    *,
    ref: str | None = None,
    values: tuple[str, ...] = (),
    length: int | None = None,
    precision: int = 0,
    scale: int = 0,
    nillable: bool = True,
    createable: bool = True,
    updateable: bool = True,
    derived: bool = False,
    system: bool = False,
) -> dict[str, Any]:
    """One entry of ``fields`` in a describe result (the attributes connectors look at).
    `derived` fields are read-only; `system` fields are read-only and never null."""
    if derived or system:
        createable = updateable = False
    if system:
        nillable = False
    if type_ in ("currency", "double", "percent") and not precision:
        precision, scale = 18, 2
    if type_ == "int" and not precision:
        precision = 8
    return {
        "name": name,
        "type": type_,
        "label": label,
        "length": _LENGTH.get(type_, 0) if length is None else length,
        "precision": precision,
        "scale": scale,
        "custom": name.endswith("__c"),
        "nillable": nillable,
        "createable": createable,
        "updateable": updateable,
        "referenceTo": [ref] if ref else [],
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": False} for v in values
        ],
    }


def _system(
    *,
    owner: bool = True,
    master: str | None = None,
    deletable: bool = True,
    currency: bool = True,
    modifiable: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(leading, trailing) standard fields every object of that kind has; `modifiable` is
    false for objects whose records never change (no LastModified fields)."""
    lead = [_field("Id", "id", "Record ID", system=True)]
    if deletable:
        lead.append(_field("IsDeleted", "boolean", "Deleted", system=True))
    if master:
        lead.append(
            _field(
                "MasterRecordId",
                "reference",
                "Master Record ID",
                ref=master,
                createable=False,
                updateable=False,
            )
        )
    trail = []
    if owner:
        trail.append(_field("OwnerId", "reference", "Owner ID", ref="User", nillable=False))
    if currency:
        trail.append(
            _field(
                "CurrencyIsoCode", "picklist", "Currency ISO Code", values=_CURRENCY_CODES, length=3
            )
        )
    trail += [
        _field("CreatedDate", "datetime", "Created Date", system=True),
        _field("CreatedById", "reference", "Created By ID", ref="User", system=True),
    ]
    if modifiable:
        trail += [
            _field("LastModifiedDate", "datetime", "Last Modified Date", system=True),
            _field("LastModifiedById", "reference", "Last Modified By ID", ref="User", system=True),
        ]
    trail += [
        _field("SystemModstamp", "datetime", "System Modstamp", system=True),
    ]
    return lead, trail


_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
_LEAD_SOURCES = (
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
    "Existing Customer",
)


def _objects() -> dict[str, tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    """Object name -> (label, own fields, system field options)."""
    return {
        "Account": (
            "Account",
            [
                _field("Name", "string", "Account Name", nillable=False),
                _field(
                    "Type",
                    "picklist",
                    "Account Type",
                    values=(
                        "Prospect",
                        "Customer - Direct",
                        "Customer - Channel",
                        "Former Customer",
                        "Other",
                    ),
                ),
                _field(
                    "Industry",
                    "picklist",
                    "Industry",
                    values=(
                        "Technology",
                        "Finance",
                        "Communications",
                        "Healthcare",
                        "Retail",
                        "Education",
                        "Transportation",
                        "Media",
                        "Other",
                    ),
                ),
                _field("Website", "url", "Website"),
                _field("BillingCountry", "string", "Billing Country", length=80),
                _field("NumberOfEmployees", "int", "Employees"),
                _field("AnnualRevenue", "currency", "Annual Revenue"),
                _field("AccountSource", "picklist", "Account Source", values=_LEAD_SOURCES),
                _field(
                    "Segment__c", "picklist", "Segment", values=("SMB", "Mid-Market", "Enterprise")
                ),
                _field("Stripe_Customer_Id__c", "string", "Stripe Customer ID", length=64),
            ],
            {"master": "Account"},
        ),
        "Contact": (
            "Contact",
            [
                _field("AccountId", "reference", "Account ID", ref="Account"),
                _field("FirstName", "string", "First Name", length=40),
                _field("LastName", "string", "Last Name", length=80, nillable=False),
                _field("Name", "string", "Full Name", length=121, nillable=False, derived=True),
                _field("Email", "email", "Email"),
                _field("Phone", "phone", "Business Phone"),
                _field("Title", "string", "Title", length=128),
                _field("MailingCountry", "string", "Mailing Country", length=80),
                _field("LeadSource", "picklist", "Lead Source", values=_LEAD_SOURCES),
            ],
            {"master": "Contact"},
        ),
        "Opportunity": (
            "Opportunity",
            [
                _field("AccountId", "reference", "Account ID", ref="Account"),
                _field("Name", "string", "Name", length=120, nillable=False),
                _field(
                    "Type",
                    "picklist",
                    "Opportunity Type",
                    values=("New Business", "Existing Business", "Renewal"),
                ),
                _field("LeadSource", "picklist", "Lead Source", values=_LEAD_SOURCES),
                _field("Amount", "currency", "Amount"),
                _field("ExpectedRevenue", "currency", "Expected Amount", derived=True),
                _field("CloseDate", "date", "Close Date", nillable=False),
                _field("NextStep", "string", "Next Step"),
                _field("Pricebook2Id", "reference", "Price Book ID", ref="Pricebook2"),
                _field(
                    "HasOpportunityLineItem",
                    "boolean",
                    "Has Line Item",
                    nillable=False,
                    derived=True,
                ),
                _field("StageName", "picklist", "Stage", values=_STAGES, nillable=False),
                _field("Probability", "percent", "Probability (%)", precision=3, scale=0),
                _field(
                    "ForecastCategory",
                    "picklist",
                    "Forecast Category",
                    values=("Omitted", "Pipeline", "BestCase", "Forecast", "Closed"),
                    nillable=False,
                    derived=True,
                ),
                _field(
                    "ForecastCategoryName",
                    "picklist",
                    "Forecast Category",
                    values=("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
                ),
                _field("IsClosed", "boolean", "Closed", nillable=False, derived=True),
                _field("IsWon", "boolean", "Won", nillable=False, derived=True),
                _field(
                    "Loss_Reason__c",
                    "picklist",
                    "Loss Reason",
                    values=("Price", "Competitor", "No Decision", "Timing", "Churned"),
                ),
                _field("Forecast_Notes__c", "textarea", "Forecast Notes", length=1000),
            ],
            {},
        ),
        "OpportunityLineItem": (
            "Opportunity Product",
            [
                _field(
                    "OpportunityId",
                    "reference",
                    "Opportunity ID",
                    ref="Opportunity",
                    nillable=False,
                    updateable=False,
                ),
                _field(
                    "PricebookEntryId",
                    "reference",
                    "Price Book Entry ID",
                    ref="PricebookEntry",
                    updateable=False,
                ),
                _field("Product2Id", "reference", "Product ID", ref="Product2", updateable=False),
                _field("Name", "string", "Opportunity Product Name", length=376, derived=True),
                _field("ProductCode", "string", "Product Code", derived=True),
                _field("Quantity", "double", "Quantity", nillable=False, precision=12, scale=2),
                _field("ListPrice", "currency", "List Price", derived=True),
                _field("UnitPrice", "currency", "Sales Price"),
                _field("TotalPrice", "currency", "Total Price"),
                _field("ServiceDate", "date", "Date"),
            ],
            {"owner": False},
        ),
        "OpportunityHistory": (
            "Opportunity History",
            [
                _field(
                    "OpportunityId",
                    "reference",
                    "Opportunity ID",
                    ref="Opportunity",
                    nillable=False,
                    derived=True,
                ),
                _field(
                    "StageName", "picklist", "Stage", values=_STAGES, nillable=False, derived=True
                ),
                _field("Amount", "currency", "Amount", derived=True),
                _field("ExpectedRevenue", "currency", "Expected Revenue", derived=True),
                _field("CloseDate", "date", "Close Date", derived=True),
                _field("Probability", "percent", "Probability (%)", precision=3, derived=True),
                _field(
                    "ForecastCategory",
                    "picklist",
                    "Forecast Category",
                    values=("Omitted", "Pipeline", "BestCase", "Forecast", "Closed"),
                    derived=True,
                ),
                _field("PrevAmount", "currency", "Previous Amount", derived=True),
                _field("PrevCloseDate", "date", "Previous Close Date", derived=True),
            ],
            {"owner": False, "currency": False, "modifiable": False},
        ),
        "Contract_Terms__c": (
            "Contract Terms",
            [
                _field(
                    "Name",
                    "string",
                    "Contract Terms Number",
                    length=80,
                    nillable=False,
                    derived=True,
                ),
                _field("Account__c", "reference", "Account", ref="Account"),
                _field("Opportunity__c", "reference", "Opportunity", ref="Opportunity"),
                _field("Start_Date__c", "date", "Start Date"),
                _field("End_Date__c", "date", "End Date"),
                _field("Term_Months__c", "double", "Term (Months)", precision=3, scale=0),
                _field(
                    "Billing_Frequency__c",
                    "picklist",
                    "Billing Frequency",
                    values=("Monthly", "Quarterly", "Annual"),
                ),
                _field("Auto_Renew__c", "boolean", "Auto Renew", nillable=False),
            ],
            {},
        ),
        "User": (
            "User",
            [
                _field("Username", "string", "Username", length=80, nillable=False),
                _field("FirstName", "string", "First Name", length=40),
                _field("LastName", "string", "Last Name", length=80, nillable=False),
                _field("Name", "string", "Full Name", length=121, nillable=False, derived=True),
                _field("Email", "email", "Email", length=128, nillable=False),
                _field("Alias", "string", "Alias", length=8, nillable=False),
                _field("IsActive", "boolean", "Active", nillable=False),
                _field("UserType", "picklist", "User Type", values=("Standard",), derived=True),
                _field("Title", "string", "Title", length=80),
                _field("Department", "string", "Department", length=80),
                _field("TimeZoneSidKey", "picklist", "Time Zone", values=("America/Los_Angeles",)),
                _field("LocaleSidKey", "picklist", "Locale", values=("en_US",)),
                _field("LanguageLocaleKey", "picklist", "Language", values=("en_US",)),
                _field(
                    "DefaultCurrencyIsoCode",
                    "picklist",
                    "User Currency",
                    values=_CURRENCY_CODES,
                    length=3,
                ),
            ],
            {"owner": False, "deletable": False, "currency": False},
        ),
        "Product2": (
            "Product",
            [
                _field("Name", "string", "Product Name", nillable=False),
                _field("ProductCode", "string", "Product Code"),
                _field("Description", "textarea", "Product Description"),
                _field("Family", "picklist", "Product Family", values=("Subscription",)),
                _field("IsActive", "boolean", "Active", nillable=False),
            ],
            {"owner": False, "currency": False},
        ),
        "Pricebook2": (
            "Price Book",
            [
                _field("Name", "string", "Price Book Name", nillable=False),
                _field("IsActive", "boolean", "Active", nillable=False),
                _field(
                    "IsStandard", "boolean", "Is Standard Price Book", nillable=False, derived=True
                ),
                _field("Description", "string", "Description"),
            ],
            {"owner": False, "currency": False},
        ),
        "PricebookEntry": (
            "Price Book Entry",
            [
                _field("Name", "string", "Product Name", derived=True),
                _field(
                    "Pricebook2Id",
                    "reference",
                    "Price Book ID",
                    ref="Pricebook2",
                    nillable=False,
                    updateable=False,
                ),
                _field(
                    "Product2Id",
                    "reference",
                    "Product ID",
                    ref="Product2",
                    nillable=False,
                    updateable=False,
                ),
                _field("ProductCode", "string", "Product Code", derived=True),
                _field("UnitPrice", "currency", "List Price", nillable=False),
                _field("IsActive", "boolean", "Active", nillable=False),
                _field("UseStandardPrice", "boolean", "Use Standard Price", nillable=False),
            ],
            {"owner": False},
        ),
    }


#: (object, canonical name, name after the rename)
RENAME = ("Account", "Segment__c", "Customer_Segment__c")
#: (object, field) that exists only from the addition time on.
ADDITION = ("Opportunity", "Forecast_Notes__c")


def schema_document(window: Window) -> dict[str, Any]:
    """``salesforce/schema.json``: per object its describe fields, plus the drift."""
    rename_ms, addition_ms = drift_times(window)
    objects = {}
    for name, (label, own, options) in _objects().items():
        lead, trail = _system(**options)
        objects[name] = {
            "name": name,
            "label": label,
            "keyPrefix": SF_PREFIX[name],
            "custom": name.endswith("__c"),
            "queryable": True,
            "replicateable": True,
            "fields": lead + own + trail,
        }
    obj, old, new = RENAME
    return {
        "objects": objects,
        "renames": [{"object": obj, "old": old, "new": new, "at": hs_time(rename_ms)}],
        "additions": [{"object": ADDITION[0], "field": ADDITION[1], "at": hs_time(addition_ms)}],
    }
