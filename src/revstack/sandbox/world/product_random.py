"""Random draws of the product simulation: categorical lookup tables and continuous draws."""

from __future__ import annotations

import numpy as np

from revstack.sandbox.world.product_tables import F64, I64

LOOKUP_SIZE = 4096
"""Buckets of a lookup table: categories are drawn with their probability to 1/4096."""


def lookup_table(weights: F64) -> I64:
    """Category of each of `LOOKUP_SIZE` equally likely buckets, per row of weights.

    Indexing the table with a uniform bucket draws a category with probability proportional
    to its weight (rounded to 1/LOOKUP_SIZE); a category of weight 0 is never drawn.
    """
    totals = weights.sum(axis=-1, keepdims=True)
    cdf = np.cumsum(weights / np.where(totals > 0, totals, 1.0), axis=-1)
    u = (np.arange(LOOKUP_SIZE) + 0.5) / LOOKUP_SIZE
    table: I64 = (cdf[..., :-1, None] <= u).sum(axis=-2).astype(np.int64)
    return table


def draw(rng: np.random.Generator, table: I64, rows: I64 | None = None, size: int = 0) -> I64:
    """Draw categories from a `lookup_table`: one per entry of `rows` (a table per row), or
    `size` draws from a single-row table."""
    if rows is None:
        picks: I64 = table[rng.integers(0, LOOKUP_SIZE, size)]
    else:
        picks = table[rows, rng.integers(0, LOOKUP_SIZE, rows.size)]
    return picks


# Continuous draws are built from `Generator.random` alone, whose stream NumPy keeps stable.


def uniform(rng: np.random.Generator, low: float, high: float, size: int) -> F64:
    result: F64 = low + (high - low) * rng.random(size)
    return result


def log_uniform(rng: np.random.Generator, low: float, high: float, size: int) -> F64:
    result: F64 = np.exp(uniform(rng, np.log(low), np.log(high), size))
    return result


def standard_normal(rng: np.random.Generator, size: int) -> F64:
    """Standard normal draws (Box-Muller)."""
    u = rng.random((2, size))
    result: F64 = np.sqrt(-2.0 * np.log1p(-u[0])) * np.cos(2.0 * np.pi * u[1])
    return result


def exponential(rng: np.random.Generator, mean: float, size: int) -> F64:
    result: F64 = -mean * np.log1p(-rng.random(size))
    return result
