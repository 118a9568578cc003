"""Constants of the fake HubSpot API, and the settings a test or demo may change at run time
(``POST /_sandbox/hubspot/settings``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Object types the fake serves, by the names and ids HubSpot accepts in paths.
OBJECT_TYPES = ("contacts", "companies", "deals")
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}
TYPE_ALIASES = {
    **{name: name for name in OBJECT_TYPES},
    **{type_id: name for name, type_id in OBJECT_TYPE_IDS.items()},
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}

#: Properties returned when a request names none (what HubSpot returns by default).
DEFAULT_PROPERTIES = {
    "contacts": (
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
}
MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
#: Properties HubSpot maintains itself: values sent for them are ignored.
SYSTEM_PROPERTIES = frozenset(
    {"hs_object_id", "lastmodifieddate", "hs_lastmodifieddate", "hs_merged_object_ids"}
)

PAGE_LIMIT_MAX = 100
PAGE_LIMIT_DEFAULT = 10
HISTORY_PAGE_LIMIT_MAX = 50
BATCH_INPUTS_MAX = 100
SEARCH_LIMIT_MAX = 200
SEARCH_LIMIT_DEFAULT = 10
SEARCH_FILTER_GROUPS_MAX = 5
SEARCH_FILTERS_PER_GROUP_MAX = 10
SEARCH_FILTERS_MAX = 25
OWNERS_LIMIT_MAX = 500
ASSOCIATIONS_LIMIT_MAX = 500
EVENT_PROPERTIES_MAX = 50
EVENT_VALUE_MAX_CHARS = 50
EVENT_URL_VALUE_MAX_CHARS = 200
EVENT_BATCH_MAX = 500

#: HubSpot-defined association type ids of the default (unlabeled) associations, and their
#: names in v3 ``associations`` results.
ASSOCIATION_TYPE_IDS = {
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
}

#: Webhook subscription types, by object type.
WEBHOOK_ACTIONS = ("creation", "propertyChange", "deletion", "merge", "restore")
WEBHOOK_EVENT_TYPES = frozenset(
    f"{SINGULAR[kind]}.{action}" for kind in OBJECT_TYPES for action in WEBHOOK_ACTIONS
)

#: App id other integrations' writes in the world carry as `sourceId` (never the fake's own).
OTHER_INTEGRATION_APP_ID = "1126609"

#: Rate-limit headers when the fault profile sets no limit (HubSpot Professional).
DEFAULT_TEN_SECONDLY = 190
DEFAULT_DAILY = 650_000


class HubSpotFakeSettings(BaseModel):
    """What a test or demo may change about the fake HubSpot."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    portal_id: int = Field(24_681_357, description="The HubSpot account (portal, hub) id.")
    app_id: int = Field(
        3_051_042,
        description="The app whose token calls the API: `sourceId` of API writes and `appId` "
        "of webhook deliveries.",
    )
    access_tokens: tuple[str, ...] = Field(
        (), description="Bearer tokens accepted; empty accepts any non-empty token."
    )
    search_index_lag_s: float = Field(
        2.0, ge=0, description="Wall seconds before an API write becomes visible to search."
    )
    search_result_cap: int = Field(
        10_000, gt=0, description="Results one search query can page through (HubSpot: 10,000)."
    )
    send_retry_after: bool = Field(
        False, description="Send `Retry-After` on 429s (HubSpot usually does not)."
    )
