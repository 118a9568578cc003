"""``/v1/webhook_endpoints``: create, list, retrieve, update and delete webhook endpoints.
The signing secret is returned on creation only, as Stripe does."""

from __future__ import annotations

import re

from starlette.routing import Route

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.stripe.errors import StripeRequestError, no_such
from revstack.sandbox.fakes.stripe.forms import Params
from revstack.sandbox.fakes.stripe.http import Api, Call, ok
from revstack.sandbox.fakes.stripe.listing import envelope, parse_list, walk
from revstack.sandbox.fakes.stripe.models import shaped
from revstack.sandbox.fakes.stripe.store import Json, StripeStore
from revstack.sandbox.fakes.stripe.webhooks import Endpoint, WebhookDispatcher, new_secret
from revstack.sandbox.fakes.stripe.world_index import KindIndex

_URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_EVENT_TYPE = re.compile(r"^\*$|^[a-z_]+(\.[a-z_]+)+$")
CREATE = ("url", "enabled_events", "description", "metadata", "api_version", "connect", "expand")
UPDATE = ("url", "enabled_events", "description", "metadata", "disabled", "expand")


def endpoint_json(endpoint: Endpoint, *, with_secret: bool = False) -> Json:
    obj = shaped(
        "webhook_endpoint",
        {
            "api_version": endpoint.api_version,
            "application": None,
            "created": endpoint.created,
            "description": endpoint.description,
            "enabled_events": list(endpoint.enabled_events),
            "id": endpoint.id,
            "livemode": False,
            "metadata": dict(endpoint.metadata),
            "object": "webhook_endpoint",
            "status": endpoint.status,
            "url": endpoint.url,
        },
    )
    if with_secret:
        obj["secret"] = endpoint.secret
    return obj


def _url(params: Params, required: bool) -> str | None:
    url = params.string("url", required=required)
    if url is not None and not _URL.match(url):
        raise StripeRequestError(f"Invalid URL: {url}", code="url_invalid", param="url")
    return url


def _events(params: Params, required: bool) -> list[str] | None:
    events = params.strings("enabled_events")
    if events is None:
        if required:
            raise StripeRequestError(
                "Missing required param: enabled_events.",
                code="parameter_missing",
                param="enabled_events",
            )
        return None
    if not events:
        raise StripeRequestError("enabled_events cannot be empty.", param="enabled_events")
    for position, event_type in enumerate(events):
        if not _EVENT_TYPE.match(event_type):
            raise StripeRequestError(
                f"Invalid enabled_events[{position}]: {event_type} is not an event type.",
                param=f"enabled_events[{position}]",
            )
    return events


class WebhookEndpoints:
    def __init__(
        self, store: StripeStore, clock: SandboxClock, dispatcher: WebhookDispatcher
    ) -> None:
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self._index = KindIndex()

    def routes(self, api: Api) -> list[Route]:
        return [
            api.route("/v1/webhook_endpoints", self.create, "POST"),
            api.route("/v1/webhook_endpoints", self.list, "GET"),
            api.route("/v1/webhook_endpoints/{id}", self.retrieve, "GET"),
            api.route("/v1/webhook_endpoints/{id}", self.update, "POST"),
            api.route("/v1/webhook_endpoints/{id}", self.delete, "DELETE"),
        ]

    def _get(self, endpoint_id: str) -> Endpoint:
        endpoint = self.dispatcher.endpoints.get(endpoint_id)
        if endpoint is None:
            raise no_such("webhook_endpoint", endpoint_id)
        return endpoint

    def create(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(CREATE)
        url = _url(params, True) or ""
        events = _events(params, True) or []
        if params.boolean("connect"):
            raise StripeRequestError("Connect endpoints are not supported here.", param="connect")
        metadata = params.metadata()
        now = self.clock.now()
        endpoint = Endpoint(
            id=self.store.new_id("we"),
            url=url,
            enabled_events=events,
            secret=new_secret(),
            created=now,
            since=now,
            description=params.string("description") or None,
            metadata=metadata.apply({}) if metadata else {},
            api_version=params.string("api_version") or None,
        )
        self.dispatcher.add_endpoint(endpoint)
        self._index.insert((endpoint.created, endpoint.id), endpoint.id)
        return ok(endpoint_json(endpoint, with_secret=True))

    def list(self, call: Call) -> tuple[int, bytes]:
        query = parse_list(call.params)
        endpoints = self.dispatcher.endpoints

        def cursor_key(endpoint_id: str, param: str) -> tuple[int, str]:
            if endpoint_id not in endpoints:
                raise no_such("webhook_endpoint", endpoint_id, param=param, status=400)
            return (endpoints[endpoint_id].created, endpoint_id)

        def accept(endpoint_id: str) -> bytes | None:
            endpoint = endpoints.get(endpoint_id)
            return None if endpoint is None else ok(endpoint_json(endpoint))[1]

        items, has_more = walk(self._index, query, 1 << 62, cursor_key, accept)
        return ok(envelope("/v1/webhook_endpoints", items, has_more))

    def retrieve(self, call: Call) -> tuple[int, bytes]:
        call.params.check(("expand",))
        return ok(endpoint_json(self._get(call.path("id"))))

    def update(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(UPDATE)
        endpoint = self._get(call.path("id"))
        url = _url(params, False)
        events = _events(params, False)
        disabled = params.boolean("disabled")
        metadata = params.metadata()
        self.dispatcher.collect()
        if url is not None:
            endpoint.url = url
        if events is not None:
            endpoint.enabled_events = events
        if "description" in params:
            endpoint.description = params.string("description") or None
        if metadata is not None:
            endpoint.metadata = metadata.apply(endpoint.metadata)
        if disabled is not None:
            endpoint.status = "disabled" if disabled else "enabled"
        return ok(endpoint_json(endpoint))

    def delete(self, call: Call) -> tuple[int, bytes]:
        endpoint = self._get(call.path("id"))
        self.dispatcher.remove_endpoint(endpoint.id)
        return ok({"id": endpoint.id, "object": "webhook_endpoint", "deleted": True})
