"""The list-based back-fill against localstripe, an independent fake Stripe.

localstripe serves customers, products, subscriptions, invoices, payment intents, charges,
refunds and balance transactions, but no prices (plans instead) or disputes; its lists take
no ``created`` filter (unknown parameters are refused) and come oldest first; its events are
partial. So the connector reads it with ``created_filter=False``: plain ``starting_after``
paging, resumed from the last id loaded.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from revstack.sources.stripe import flows
from revstack.sources.stripe.context import open_context

from .conftest import KEY, query, stripe_settings, warehouse_settings

pytest.importorskip("localstripe", reason="localstripe (dev extra) is not installed")

SERVED = (
    "customers",
    "products",
    "subscriptions",
    "invoices",
    "payment_intents",
    "charges",
    "refunds",
    "balance_transactions",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("localstripe did not start")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def populate(url: str) -> None:
    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
    product = client.v1.products.create({"name": "Team"})
    plan = client.v1.plans.create(
        {"amount": 1000, "currency": "usd", "interval": "month", "product": product.id}
    )
    client.v1.products.create({"name": "Enterprise"})
    for number in range(3):
        customer = client.v1.customers.create({"email": f"billing{number}@example.com"})
        method = client.v1.payment_methods.create(
            {
                "type": "card",
                "card": {
                    "number": "4242424242424242",
                    "exp_month": 12,
                    "exp_year": 2030,
                    "cvc": "123",
                },
            }
        )
        client.v1.payment_methods.attach(method.id, {"customer": customer.id})
        client.v1.customers.update(
            customer.id, {"invoice_settings": {"default_payment_method": method.id}}
        )
        client.v1.payment_intents.create(
            {
                "amount": 2000 + number,
                "currency": "usd",
                "customer": customer.id,
                "payment_method": method.id,
                "confirm": True,
            }
        )
        if number == 0:
            charge = client.v1.charges.list({"customer": customer.id}).data[0]
            client.v1.refunds.create({"charge": charge.id, "amount": 500})
            client.v1.subscriptions.create({"customer": customer.id, "items": [{"plan": plan.id}]})


def listed(url: str, table: str) -> set[str]:
    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
    params = {"limit": 100, **({"status": "all"} if table == "subscriptions" else {})}
    return {item["id"] for item in client.raw_request("get", f"/v1/{table}", **params).data["data"]}


def test_backfill_reads_everything_localstripe_serves(localstripe: str, tmp_path: Path) -> None:
    populate(localstripe)
    # Two objects a page, so every list pages through starting_after.
    ctx = open_context(
        stripe_settings(localstripe, rows_per_load=3),
        warehouse_settings(tmp_path),
        created_filter=False,
    )
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr("revstack.sources.stripe.reader.PAGE_LIMIT", 2)
    try:
        ctx.loader.prepare()
        flows.backfill(ctx, tables=SERVED)
    finally:
        monkeypatch.undo()
        ctx.close()
    for table in SERVED:
        expected = listed(localstripe, table)
        assert expected, f"localstripe served no {table}"
        loaded = {row[0] for row in query(tmp_path, f"SELECT id FROM raw_stripe.{table}")}
        assert loaded == expected, table
    assert ctx.api.requests("customers") == 2  # three customers, two a page
