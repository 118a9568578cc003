"""A printed summary of a generated world: what each system holds and the true MRR by month."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table as RichTable

from revstack.sandbox.world.catalog import ZERO_DECIMAL
from revstack.sandbox.world.generate import read_manifest


def format_money(amount: int, currency: str) -> str:
    """Minor units as a human amount: 123456 usd -> '1,234.56', 5000 jpy -> '5,000'."""
    if currency in ZERO_DECIMAL:
        return f"{amount:,}"
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 100)
    return f"{sign}{major:,}.{minor:02d}"


def mrr_by_month(world_dir: Path) -> list[tuple[str, str, int, int, dict[str, int]]]:
    """(month, currency, MRR, paying customers, movement amounts) from the truth tables."""
    path = (world_dir / "truth" / "mrr_monthly.parquet").as_posix()
    rows = duckdb.sql(
        f"""
        SELECT strftime(month, '%Y-%m') AS month, currency,
               sum(mrr)::BIGINT, count(*) FILTER (WHERE mrr > 0),
               sum(movement_amount) FILTER (WHERE movement = 'new')::BIGINT,
               sum(movement_amount) FILTER (WHERE movement = 'expansion')::BIGINT,
               sum(movement_amount) FILTER (WHERE movement = 'contraction')::BIGINT,
               sum(movement_amount) FILTER (WHERE movement = 'churn')::BIGINT,
               sum(movement_amount) FILTER (WHERE movement = 'reactivation')::BIGINT
        FROM read_parquet('{path}')
        GROUP BY ALL ORDER BY month, currency
        """
    ).fetchall()
    names = ("new", "expansion", "contraction", "churn", "reactivation")
    return [
        (month, currency, mrr, paying, {n: v or 0 for n, v in zip(names, moves, strict=True)})
        for month, currency, mrr, paying, *moves in rows
    ]


def render_summary(world_dir: Path, console: Console) -> None:
    """Print the world's parameters, object counts and true MRR by month and currency."""
    manifest = read_manifest(world_dir)
    console.print(
        f"[bold]Synthetic world[/bold] {world_dir}: seed {manifest['seed']}, "
        f"{manifest['customers']:,} customers, {manifest['months']} months "
        f"({manifest['start']} to {manifest['end']}, end exclusive)"
    )
    counts: dict[str, int] = manifest["counts"]
    table = RichTable(title="Objects per system", show_lines=False)
    table.add_column("object")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key, f"{value:,}")
    console.print(table)
    rows = mrr_by_month(world_dir)
    for currency in sorted({row[1] for row in rows}):
        mrr = RichTable(title=f"True MRR by month, {currency.upper()} (month end)")
        for column in (
            "month",
            "MRR",
            "paying",
            "new",
            "expansion",
            "contraction",
            "churn",
            "reactivation",
        ):
            mrr.add_column(column, justify="left" if column == "month" else "right", no_wrap=True)
        for month, row_currency, total, paying, moves in rows:
            if row_currency != currency:
                continue
            mrr.add_row(
                month,
                format_money(total, currency),
                f"{paying:,}",
                *(
                    format_money(moves[name], currency)
                    for name in ("new", "expansion", "contraction", "churn", "reactivation")
                ),
            )
        console.print(mrr)
