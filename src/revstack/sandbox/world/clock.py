"""Time arithmetic on Unix seconds (UTC), the unit every Stripe timestamp uses."""

from __future__ import annotations

import calendar
import datetime as dt

DAY = 86_400
HOUR = 3_600
MINUTE = 60
UTC = dt.UTC


def to_ts(value: dt.date | dt.datetime) -> int:
    """Unix seconds of a date (midnight UTC) or an aware/naive-UTC datetime."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    return calendar.timegm(value.timetuple())


def to_date(ts: int) -> dt.date:
    """UTC calendar date of a Unix timestamp."""
    return dt.datetime.fromtimestamp(ts, UTC).date()


def to_datetime(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, UTC)


def day_start(ts: int) -> int:
    return ts - ts % DAY


def iso_ms(ts_ms: int) -> str:
    """ISO-8601 with milliseconds and a Z suffix, as HubSpot and Salesforce print times."""
    seconds, millis = divmod(ts_ms, 1000)
    return to_datetime(seconds).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def add_months(anchor: int, months: int) -> int:
    """`anchor` moved by whole months, keeping its day of month (clamped to the month's end)
    and time of day, as Stripe computes billing periods from the billing cycle anchor."""
    moment = to_datetime(anchor)
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return to_ts(moment.replace(year=year, month=month, day=day))


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def next_month(value: dt.date) -> dt.date:
    return (value.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_end(value: dt.date) -> dt.date:
    return next_month(value) - dt.timedelta(days=1)


def quarter_end(value: dt.date) -> dt.date:
    """Last day of the calendar quarter holding `value`."""
    last_month = ((value.month - 1) // 3) * 3 + 3
    return month_end(value.replace(month=last_month, day=1))
