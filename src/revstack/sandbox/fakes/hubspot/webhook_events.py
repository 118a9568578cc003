"""Webhook subscriptions, and the v3 webhook events a record's versions become.

A world version is a creation (the first), a deletion (archived), a restore (un-archived), a
merge (the merged-away record's last version) or a property change; a creation also reports
its properties as property changes, as HubSpot does. Each event goes to every active
subscription of its type (property changes only to the subscription of that property).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from revstack.sandbox.fakes.hubspot.records import History, Version
from revstack.sandbox.fakes.hubspot.settings import OBJECT_TYPES, SINGULAR, WEBHOOK_EVENT_TYPES
from revstack.sandbox.fakes.hubspot.store import Store

_FLAGS = {"creation": "NEW", "deletion": "DELETED", "restore": "RESTORED", "merge": "MERGED"}


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(description="e.g. contact.creation, contact.propertyChange.")
    property_name: str | None = Field(None, description="Required for propertyChange.")
    active: bool = True
    id: int = Field(0, description="Assigned by the fake when 0.")

    @model_validator(mode="after")
    def _check(self) -> Subscription:
        if self.event_type not in WEBHOOK_EVENT_TYPES:
            raise ValueError(
                f"unknown event_type {self.event_type!r}; one of {sorted(WEBHOOK_EVENT_TYPES)}"
            )
        if self.event_type.endswith(".propertyChange") and not self.property_name:
            raise ValueError(f"{self.event_type} subscriptions need a property_name")
        return self


class WebhookConfig(BaseModel):
    """The app's webhook settings (``POST /_sandbox/hubspot/webhooks``)."""

    model_config = ConfigDict(extra="forbid")

    target_url: str = Field(description="Where deliveries are POSTed (the signed URI).")
    client_secret: str = Field(min_length=1, description="The app's client secret.")
    subscriptions: list[Subscription] = Field(default_factory=list)
    app_id: int | None = Field(None, description="Also sets the fake's app id when given.")
    portal_id: int | None = Field(None, description="Also sets the fake's portal id when given.")
    max_retries: int = Field(10, ge=0, description="Retries after the first attempt.")
    retry_base_s: float = Field(5.0, gt=0, description="First retry delay; doubles each time.")
    retry_max_s: float = Field(3600.0, gt=0)
    timeout_s: float = Field(5.0, gt=0, description="How long a delivery may take.")
    batch_size: int = Field(100, ge=1, le=100, description="Events per request.")
    batch_window_s: float = Field(
        0.1, ge=0, description="Wall seconds events wait for others to share their request."
    )


def action_of(history: History, version: Version) -> str:
    """What a world version is, from the versions before it."""
    index = bisect_left(history.times, version.t)
    while index < len(history.versions) and history.versions[index] is not version:
        index += 1
    if index == 0:
        return "creation"
    if version.merged_into is not None:
        return "merge"
    previous = history.versions[index - 1]
    if version.archived and not previous.archived:
        return "deletion"
    if previous.archived and not version.archived:
        return "restore"
    return "propertyChange"


class EventBuilder:
    """Numbers events and fills in the payload fields."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.next_event_id = 1
        self._timeline: list[tuple[int, int, int, Version, History]] = []
        self._times: list[int] | None = None

    def _build(self) -> list[int]:
        entries = []
        for order, kind in enumerate(OBJECT_TYPES):
            for history in self.store.histories[kind].values():
                for version in history.versions:
                    if not version.overlay:
                        entries.append((version.t, order, int(history.id), version, history))
        entries.sort(key=lambda entry: entry[:3])
        self._timeline = entries
        return [entry[0] for entry in entries]

    def world_versions(self, after_ms: int, upto_ms: int) -> list[tuple[str, History, Version]]:
        """World versions with ``after_ms < t <= upto_ms``, in time order (built on first use;
        world versions never move, API writes are not among them)."""
        if self._times is None:
            self._times = self._build()
        start = bisect_right(self._times, after_ms)
        stop = bisect_right(self._times, upto_ms)
        return [
            (OBJECT_TYPES[order], history, version)
            for _, order, _, version, history in self._timeline[start:stop]
            if not version.dropped
        ]

    def events(
        self,
        kind: str,
        history: History,
        version: Version,
        action: str,
        subscriptions: list[Subscription],
        app_id: int,
        portal_id: int,
    ) -> list[dict[str, Any]]:
        singular = SINGULAR[kind]
        base = {
            "portalId": portal_id,
            "appId": app_id,
            "occurredAt": version.t,
            "attemptNumber": 0,
            "objectId": int(history.id),
            "changeSource": version.source,
        }
        source_id = self.store.source_id(version)
        if source_id is not None:
            base["sourceId"] = source_id
        wanted: list[tuple[Subscription, dict[str, Any]]] = []
        active = [s for s in subscriptions if s.active]
        if action in ("creation", "deletion", "restore", "merge"):
            extra: dict[str, Any] = {"changeFlag": _FLAGS[action]}
            if action == "merge" and version.merged_into is not None:
                winner = int(version.merged_into)
                extra.update(
                    objectId=winner,
                    primaryObjectId=winner,
                    mergedObjectIds=[int(history.id)],
                    newObjectId=winner,
                    numberOfPropertiesMoved=0,
                )
            for sub in active:
                if sub.event_type == f"{singular}.{action}":
                    wanted.append((sub, extra))
        if action in ("creation", "propertyChange"):
            props = version.props
            for name in version.changed:
                for sub in active:
                    if sub.event_type == f"{singular}.propertyChange" and sub.property_name == name:
                        wanted.append(
                            (sub, {"propertyName": name, "propertyValue": props.get(name, "")})
                        )
        out = []
        for sub, extra in wanted:
            event = {
                "eventId": self.next_event_id,
                "subscriptionId": sub.id,
                "subscriptionType": sub.event_type,
                **base,
                **extra,
            }
            self.next_event_id += 1
            out.append(event)
        return out
