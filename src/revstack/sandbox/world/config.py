"""Parameters of a synthetic world: the same parameters always give the same world."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_START = dt.date(2025, 5, 1)


class WorldConfig(BaseModel):
    """What to simulate: how many customers, over which months, from which seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(42, ge=0, description="Seed of every random draw; same seed, same world.")
    customers: int = Field(
        2000, ge=1, le=1_000_000, description="Paying-customer candidates (Stripe customers)."
    )
    months: int = Field(18, ge=1, le=120, description="Length of the simulated period in months.")
    start: dt.date = Field(
        DEFAULT_START, description="First day of the simulated period (a first day of a month)."
    )
    prospects_per_customer: float = Field(
        0.6, ge=0, le=10, description="CRM-only companies (never buy) per customer."
    )
    product_events_per_seat_day: float = Field(
        0.35, ge=0, le=1000, description="Mean product events per active seat per day."
    )
    chunk_size: int = Field(
        250, ge=1, le=100_000, description="Customers simulated and written per Parquet row group."
    )

    @field_validator("start")
    @classmethod
    def _first_of_month(cls, value: dt.date) -> dt.date:
        if value.day != 1:
            raise ValueError("start must be the first day of a month (e.g. 2025-05-01)")
        return value

    @property
    def prospects(self) -> int:
        """Number of CRM-only companies, derived from the customer count."""
        return int(self.customers * self.prospects_per_customer)
