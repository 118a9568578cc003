"""What the billing simulation hands to the CRM and product simulations.

The billing simulation decides each customer's life (sign-up, plans, seats, payments, churn);
the CRM and product simulations then tell the same life from their systems' point of view.
These records are plain data, the contract between those modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from revstack.sandbox.world.names import Company, Person

#: Sales reps; HubSpot owners and Salesforce users are derived from the index.
OWNER_COUNT = 12


@dataclass(frozen=True)
class Window:
    """The simulated period, half-open: [start, end) in Unix seconds."""

    start: int
    end: int


@dataclass(frozen=True)
class PlanSpan:
    """A stretch of time over which a workspace's billing state did not change."""

    start: int
    """Unix seconds, inclusive."""
    end: int
    """Unix seconds, exclusive (the world's end for the last span)."""
    tier: str
    """``free`` (no subscription in force), ``starter``, ``pro`` or ``enterprise``."""
    product_id: str | None
    price_id: str | None
    status: str
    """Stripe subscription status in force, or ``none`` when there is no subscription."""
    seats: int
    mrr: int
    """Monthly recurring revenue of the workspace's subscription, minor units."""


@dataclass
class WorkspaceStory:
    workspace_id: str
    customer_id: str
    entity_index: int
    created: int
    spans: list[PlanSpan] = field(default_factory=list)
    """Contiguous spans from `created` to the world's end."""


@dataclass(frozen=True)
class FieldChange:
    """A change to the Stripe customer's contact details (``email``, ``name`` or ``phone``)."""

    ts: int
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class TierChange:
    """A commercial change of one workspace's subscription."""

    ts: int
    workspace_id: str
    kind: str
    """``new``, ``upgrade``, ``downgrade``, ``seats_up``, ``seats_down``, ``churn``,
    ``reactivation``."""
    tier_before: str
    tier_after: str
    seats_before: int
    seats_after: int
    mrr_before: int
    mrr_after: int


@dataclass
class CustomerStory:
    entity_index: int
    customer_id: str
    created: int
    currency: str
    channel: str
    """``self_serve`` or ``sales_led`` (sales-led customers also live in Salesforce)."""
    company: Company
    billing_contact: Person
    billing_email: str
    """Email on the Stripe customer at creation; may differ from the contact's CRM email."""
    owner_index: int
    signup_intent_at: int
    """When the buying process started (first CRM touch); at or before `created`."""
    stripe_changes: list[FieldChange] = field(default_factory=list)
    workspaces: list[WorkspaceStory] = field(default_factory=list)
    tier_changes: list[TierChange] = field(default_factory=list)
    mrr_changes: list[tuple[int, int]] = field(default_factory=list)
    """(ts, customer MRR after the change), in time order."""
    stripe_metadata: dict[str, str] = field(default_factory=dict)
    """CRM ids the company keeps on the Stripe customer (not every customer has them)."""

    @property
    def first_paid_at(self) -> int | None:
        return next((ts for ts, mrr in self.mrr_changes if mrr > 0), None)
