"""Constants of the Stripe connector: the streams, their endpoints, page sizes and time spans.

Nothing here does I/O. Values a user may want to change live in `revstack.config`
(``[sources.stripe]``); these are facts about Stripe's API and our table layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DATASET = "raw_stripe"
"""Dataset (schema) of every Stripe raw table."""
PIPELINE_NAME = "revstack_stripe"
"""dlt pipeline name: its working files live under ``<state_dir>/dlt/revstack_stripe``."""
SOURCE_NAME = "stripe"
"""dlt source (and schema) name; resource state lives under ``sources.stripe.resources``."""
AUDIT_SOURCE = "stripe"

PAGE_LIMIT = 100
"""Objects per list page: Stripe's maximum."""
DAY = 86_400
EVENT_RETENTION_S = 30 * DAY
"""How far back ``GET /v1/events`` reaches."""
SAFE_EVENT_RETENTION_S = 29 * DAY
"""A cursor older than this is treated as lost: a day of margin before Stripe's 30 days."""
SWEEP_LOOKBACK_S = 120 * DAY
"""The safety sweep re-reads disputes and refunds created this recently (cardholders dispute
up to ~120 days after a charge, and statuses keep changing for weeks after)."""
RECONCILE_LOOKBACK_S = DAY
"""``--reconcile-webhooks`` compares the events of this last span."""
LATE_CHANGE_LOOKBACK_S = 180 * DAY
"""After a retention gap, payment intents, charges, refunds and disputes created this long
before the gap are re-read too: payments settle within weeks, disputes open up to ~120 days
after their charge and change status for weeks after."""

REQUEST_TIMEOUT_S = 30.0
"""Seconds before an API request is abandoned and retried."""
MAX_ATTEMPTS = 8
"""Attempts per request (first try included) before a transient failure becomes terminal."""
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0
RATE_LIMIT_WAIT_S = 1.0
"""Least wait after a 429 that names no ``Retry-After``."""

LIST_WORKERS = 8
"""Requests in flight at once during list reads (they share one rate limiter). Stripe takes a
few hundred milliseconds per list page, so reaching the rate limit takes several."""
READ_ORDER = (
    "balance_transactions",
    "charges",
    "payment_intents",
    "invoices",
    "subscriptions",
    "customers",
    "refunds",
    "disputes",
    "prices",
    "products",
)
"""List reads start with the resources that usually hold the most objects."""
SPLIT_KEEP_PAGES = 10
"""When a reader splits its range for an idle one, it keeps about this many pages' worth."""
QUEUE_PAGES = 64
"""Pages fetched ahead of the loader before readers wait."""
EVENT_BUFFER_LIMIT = 200_000
"""Most events held in memory by one incremental window; a bigger window is split."""
EVENT_LOAD_ROWS = 20_000
"""Events per committed load when an incremental run loads a collected window."""

EVENTS_TABLE = "events"
EVENT_RANKS_TABLE = "event_ranks"
WEBHOOK_RECEIPTS_TABLE = "webhook_receipts"


@dataclass(frozen=True)
class Resource:
    """One object stream: a list endpoint and the raw table its versions go to."""

    table: str
    """Raw table name, also the list path segment (``/v1/<table>``)."""
    object: str
    """Stripe's ``object`` value of its items."""
    params: dict[str, Any] = field(default_factory=dict)
    """Fixed list parameters (``status=all`` for subscriptions)."""
    has_events: bool = True
    """Whether Stripe sends events carrying these objects. Without them, incremental runs
    list new objects by ``created`` instead."""
    late_changing: bool = False
    """State changes after creation, so a retention gap re-reads objects created before it
    too (balance transactions do not: only their time-derived ``status`` moves)."""
    gap_lookback_s: int | None = 0
    """With `late_changing`: how long before the gap to re-read (``None``: everything)."""

    @property
    def path(self) -> str:
        return f"/v1/{self.table}"


RESOURCES: tuple[Resource, ...] = (
    Resource("customers", "customer", late_changing=True, gap_lookback_s=None),
    Resource("products", "product", late_changing=True, gap_lookback_s=None),
    Resource("prices", "price", late_changing=True, gap_lookback_s=None),
    Resource(
        "subscriptions",
        "subscription",
        {"status": "all"},
        late_changing=True,
        gap_lookback_s=None,
    ),
    Resource("invoices", "invoice", late_changing=True, gap_lookback_s=None),
    Resource(
        "payment_intents",
        "payment_intent",
        late_changing=True,
        gap_lookback_s=LATE_CHANGE_LOOKBACK_S,
    ),
    Resource("charges", "charge", late_changing=True, gap_lookback_s=LATE_CHANGE_LOOKBACK_S),
    Resource("refunds", "refund", late_changing=True, gap_lookback_s=LATE_CHANGE_LOOKBACK_S),
    Resource("disputes", "dispute", late_changing=True, gap_lookback_s=LATE_CHANGE_LOOKBACK_S),
    Resource("balance_transactions", "balance_transaction", has_events=False),
)
RESOURCE_BY_TABLE = {resource.table: resource for resource in RESOURCES}
RESOURCE_BY_OBJECT = {resource.object: resource for resource in RESOURCES}
SWEPT_TABLES = ("disputes", "refunds")
"""What ``--sweep`` re-reads."""
