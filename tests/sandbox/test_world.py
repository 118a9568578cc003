"""End-to-end properties of a generated world, read back from its files."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from revstack.cli import app
from revstack.errors import WorldError
from revstack.sandbox.world import WorldConfig, generate_world, read_manifest
from revstack.sandbox.world.generate import all_tables
from revstack.sandbox.world.mrr import MOVEMENTS

SMALL = WorldConfig(seed=3, customers=160, months=8, start=dt.date(2025, 3, 1), chunk_size=40)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world") / "w"
    generate_world(SMALL, out, workers=2)
    return out


def rows(world: Path, table: str, columns: list[str] | None = None) -> list[dict[str, Any]]:
    return pq.read_table(world / f"{table}.parquet", columns=columns).to_pylist()


def payloads(world: Path, table: str) -> list[dict[str, Any]]:
    return [orjson.loads(r["payload"]) for r in rows(world, table, ["payload"])]


def test_same_parameters_give_byte_identical_files(world: Path, tmp_path: Path) -> None:
    """Also across the number of worker processes: the fixture used two, this one."""
    again = tmp_path / "again"
    generate_world(SMALL, again, workers=1)
    first, second = read_manifest(world), read_manifest(again)
    assert first["files"] == second["files"]
    assert len(first["files"]) >= len(all_tables())
    other = tmp_path / "other"
    generate_world(SMALL.model_copy(update={"seed": 4}), other, workers=1)
    assert read_manifest(other)["files"] != first["files"]


def test_content_does_not_depend_on_chunking(world: Path, tmp_path: Path) -> None:
    rechunked = tmp_path / "rechunked"
    generate_world(SMALL.model_copy(update={"chunk_size": 17}), rechunked, workers=1)
    for table in ("stripe/events", "truth/mrr_monthly", "hubspot/contacts", "product/events"):
        left = sorted(map(str, rows(world, table)))
        right = sorted(map(str, rows(rechunked, table)))
        assert left == right, table


def test_manifest_describes_every_file(world: Path) -> None:
    manifest = read_manifest(world)
    on_disk = {p.relative_to(world).as_posix() for p in world.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    assert manifest["seed"] == 3 and manifest["customers"] == 160 and manifest["months"] == 8
    assert manifest["start"] == "2025-03-01" and manifest["end"] == "2025-11-01"


def test_generator_refuses_to_overwrite_unless_asked(world: Path, tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(WorldError, match="not empty"):
        generate_world(SMALL.model_copy(update={"customers": 5}), target)
    assert (target / "notes.txt").read_text() == "mine"
    generate_world(SMALL.model_copy(update={"customers": 5}), target, overwrite=True)
    assert not (target / "notes.txt").exists()
    assert read_manifest(target)["customers"] == 5


def test_counts_cover_every_system_and_match_the_tables(world: Path) -> None:
    counts = json.loads((world / "truth" / "counts.json").read_text())
    required = {
        "stripe.customer",
        "stripe.subscription",
        "stripe.invoice",
        "stripe.charge",
        "stripe.refund",
        "stripe.dispute",
        "stripe.balance_transaction",
        "stripe.event",
        "stripe.payment_intent",
        "stripe.price",
        "stripe.product",
        "hubspot.contact",
        "hubspot.company",
        "hubspot.deal",
        "salesforce.Account",
        "salesforce.Contact",
        "salesforce.Opportunity",
        "salesforce.OpportunityLineItem",
        "salesforce.OpportunityHistory",
        "salesforce.Contract_Terms__c",
        "product.event",
        "product.event_unique",
        "product.workspace",
    }
    assert required <= set(counts)
    assert counts["stripe.customer"] == 160
    assert counts["stripe.charge"] == pq.read_metadata(world / "stripe/charges.parquet").num_rows
    contact_ids = {r["id"] for r in rows(world, "hubspot/contacts", ["id"])}
    assert counts["hubspot.contact"] == len(contact_ids)
    account_ids = {r["Id"] for r in rows(world, "salesforce/Account", ["Id"])}
    assert counts["salesforce.Account"] == len(account_ids)
    events = rows(world, "product/events", ["event_id"])
    assert counts["product.event"] == len(events)
    assert counts["product.event_unique"] == len({e["event_id"] for e in events})
    assert counts["product.event"] > counts["product.event_unique"]  # duplicates delivered


def test_mrr_movements_sum_to_the_change_in_mrr(world: Path) -> None:
    monthly = rows(world, "truth/mrr_monthly")
    by_customer: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in monthly:
        assert row["movement"] in MOVEMENTS
        assert row["movement_amount"] == row["mrr"] - row["previous_mrr"]
        by_customer[row["customer_id"]].append(row)
    for customer_rows in by_customer.values():
        customer_rows.sort(key=lambda r: r["month"])
        previous = 0
        for row in customer_rows:
            assert row["previous_mrr"] == previous
            previous = row["mrr"]
    totals: dict[tuple[dt.date, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in monthly:
        totals[(row["month"], row["currency"])][0] += row["mrr"] - row["previous_mrr"]
        totals[(row["month"], row["currency"])][1] += row["movement_amount"]
    assert all(change == moved for change, moved in totals.values())
    movements = {row["movement"] for row in monthly}
    assert {"new", "expansion", "contraction", "churn", "none"} <= movements


def test_monthly_mrr_is_the_last_day_of_the_daily_series(world: Path) -> None:
    daily = {(r["customer_id"], r["date"]): r["mrr"] for r in rows(world, "truth/mrr_daily")}
    assert all(value > 0 for value in daily.values())
    for row in rows(world, "truth/mrr_monthly"):
        month_end = (row["month"].replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        last_day = month_end - dt.timedelta(days=1)
        assert daily.get((row["customer_id"], last_day), 0) == row["mrr"]


def test_booked_revenue_equals_balance_transactions(world: Path) -> None:
    path = (world / "stripe/balance_transactions.parquet").as_posix()
    from_bts = dict(
        ((day, currency), int(net))
        for day, currency, net in duckdb.sql(
            f"""
            SELECT to_timestamp(json_extract(payload, '$.created')::BIGINT)::DATE AS day,
                   payload->>'$.currency', sum(json_extract(payload, '$.net')::BIGINT)
            FROM read_parquet('{path}')
            WHERE payload->>'$.type' <> 'payout' GROUP BY ALL
            """
        ).fetchall()
    )
    revenue = rows(world, "truth/revenue_daily")
    days = {r["date"] for r in revenue}
    assert len(days) == (dt.date(2025, 11, 1) - dt.date(2025, 3, 1)).days
    for row in revenue:
        assert row["net"] == (
            row["gross"]
            - row["refunds"]
            - row["dispute_losses"]
            + row["dispute_reversals"]
            - row["fees"]
        )
        if row["view"] == "booked":
            assert row["net"] == from_bts.get((row["date"], row["currency"]), 0)


def test_payouts_never_overdraw_the_balance(world: Path) -> None:
    balance: dict[str, int] = defaultdict(int)
    bts = sorted(
        payloads(world, "stripe/balance_transactions"),
        key=lambda bt: (bt["created"], bt["type"] == "payout"),
    )
    for bt in bts:
        balance[bt["currency"]] += bt["net"]
    assert all(amount >= 0 for amount in balance.values())
    payouts = payloads(world, "stripe/payouts")
    assert payouts and all(p["amount"] > 0 for p in payouts)


def test_workspace_intervals_agree_with_stripe_subscriptions(world: Path) -> None:
    intervals = rows(world, "truth/workspace_plan_intervals")
    subs = payloads(world, "stripe/subscriptions")
    by_workspace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for interval in intervals:
        by_workspace[interval["workspace_id"]].append(interval)
    end = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    for spans in by_workspace.values():
        spans.sort(key=lambda s: s["valid_from"])
        assert spans[-1]["valid_to"] == end
        for before, after in itertools.pairwise(spans):
            assert before["valid_to"] == after["valid_from"]
    for sub in subs:
        spans = by_workspace[sub["metadata"]["workspace_id"]]
        final = spans[-1]
        if sub["status"] in ("active", "past_due", "trialing", "unpaid"):
            assert final["billing_status"] == sub["status"]
            assert final["price_id"] == sub["items"]["data"][0]["price"]["id"]
            assert final["seats"] == sub["items"]["data"][0]["quantity"]


def test_identity_truth_points_at_existing_crm_records(world: Path) -> None:
    identity = rows(world, "truth/identity")
    assert len(identity) == 160
    companies = {r["id"] for r in rows(world, "hubspot/companies", ["id"])}
    accounts = {r["Id"] for r in rows(world, "salesforce/Account", ["Id"])}
    customers = {r["id"] for r in rows(world, "stripe/customers", ["id"])}
    for row in identity:
        assert row["customer_id"] in customers
        assert row["hubspot_company_id"] in companies
        if row["salesforce_account_id"] is not None:
            assert row["salesforce_account_id"] in accounts


def test_cli_generates_a_world_and_prints_its_summary(tmp_path: Path) -> None:
    out = tmp_path / "cli-world"
    result = CliRunner().invoke(
        app,
        [
            "sandbox",
            "generate",
            "--seed",
            "1",
            "--customers",
            "30",
            "--months",
            "4",
            "--start",
            "2025-01-01",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "True MRR by month" in result.stdout
    assert "stripe.customer" in result.stdout
    assert read_manifest(out)["customers"] == 30
    again = CliRunner().invoke(app, ["sandbox", "generate", "--customers", "30", "--out", str(out)])
    assert again.exit_code == 1
    assert "not empty" in again.stderr
