"""How events reach the collector: ids, lateness, duplicate deliveries and ``app_version``.

Most events arrive within seconds, some minutes to hours late, a few (mobile clients) up to
72 hours late, and about 1% arrive twice. ``app_version`` appears partway through the period.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from revstack.sandbox.world.clock import HOUR, MINUTE
from revstack.sandbox.world.product_random import draw, log_uniform, lookup_table, standard_normal
from revstack.sandbox.world.product_tables import DAY_MS, I64, U8

#: Events occurring from this fraction of the window on carry the top-level ``app_version``.
APP_VERSION_FROM_FRACTION = 0.55

MAX_LATENESS_MS = 72 * HOUR * 1000
LATE_SHARE = 0.03
MOBILE_SHARE = 0.01
DUPLICATE_SHARE = 0.01
#: Log-uniform ranges (ms) of late delivery, mobile delivery and a duplicate's extra delay.
LATE_MS = (60_000, 6 * HOUR * 1000)
MOBILE_MS = (30 * MINUTE * 1000, 71 * HOUR * 1000)
REDELIVERY_MS = (1_000, 6 * HOUR * 1000)
FAST_MEDIAN_MS = 400.0
FAST_MAX_MS = 9_999

#: Versions are ``APP_MAJOR.release.patch``, a release every APP_RELEASE_DAYS from the cutoff.
APP_MAJOR = 5
APP_RELEASE_DAYS = 14
APP_PATCHES = 3
#: Share of events from clients 0, 1 and 2 releases behind the latest.
APP_BEHIND = (0.7, 0.2, 0.1)
APP_BEHIND_LOOKUP = lookup_table(np.array(APP_BEHIND))
#: Two lower-case hex digits of each byte value, as they lie in memory.
HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint16)
UUID_GROUPS = ((0, 8), (9, 13), (14, 18), (19, 23), (24, 36))


def fixed_width_strings(chars: U8) -> pa.Array:
    """Arrow strings from a (rows, width) array of ASCII bytes, without a Python loop."""
    rows, width = chars.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars)
    return pa.Array.from_buffers(
        pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def hex_chars(raw: U8) -> U8:
    """Lower-case hex digits of each row of bytes: (rows, n) -> (rows, 2n)."""
    pairs: U8 = HEX_PAIRS[raw].view(np.uint8)
    return pairs


def random_bytes(rng: np.random.Generator, rows: int, width: int) -> U8:
    raw: U8 = rng.integers(0, 256, (rows, width), dtype=np.uint8)
    return raw


def uuid4_strings(rng: np.random.Generator, count: int) -> pa.Array:
    """`count` random version-4 UUIDs as canonical text, drawn from `rng`."""
    raw = random_bytes(rng, count, 16)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = hex_chars(raw)
    chars = np.full((count, 36), ord("-"), dtype=np.uint8)
    used = 0
    for start, end in UUID_GROUPS:
        chars[:, start:end] = digits[:, used : used + end - start]
        used += end - start
    return fixed_width_strings(chars)


def anonymous_ids(rng: np.random.Generator, count: int) -> pa.Array:
    """``anon_`` and 16 random hex digits."""
    chars = np.empty((count, 21), dtype=np.uint8)
    chars[:, :5] = np.frombuffer(b"anon_", dtype=np.uint8)
    chars[:, 5:] = hex_chars(random_bytes(rng, count, 8))
    return fixed_width_strings(chars)


def lateness_ms(rng: np.random.Generator, count: int) -> I64:
    """received_at - occurred_at: at most seconds for most, minutes to hours for a few, and up
    to 72 h for mobile clients that were offline."""
    u = rng.random(count)
    late_ms = np.minimum(FAST_MEDIAN_MS * np.exp(standard_normal(rng, count)), FAST_MAX_MS)
    mobile = u < MOBILE_SHARE
    late = (u >= MOBILE_SHARE) & (u < MOBILE_SHARE + LATE_SHARE)
    late_ms[mobile] = log_uniform(rng, *MOBILE_MS, int(mobile.sum()))
    late_ms[late] = log_uniform(rng, *LATE_MS, int(late.sum()))
    result: I64 = np.maximum(late_ms, 1).astype(np.int64)
    return result


def redelivery_ms(rng: np.random.Generator, lateness: I64) -> I64:
    """Delay of a duplicate delivery after the first, keeping it within 72 h of occurrence."""
    delay = log_uniform(rng, *REDELIVERY_MS, lateness.size).astype(np.int64)
    result: I64 = np.maximum(np.minimum(delay, MAX_LATENESS_MS - lateness), 1)
    return result


def app_version_index(occurred_ms: I64, cutoff_ms: int, rng: np.random.Generator) -> I64:
    """Index into `app_versions` per event; -1 (no field) before the cutoff. A release ships
    every APP_RELEASE_DAYS from the cutoff on; some clients run one or two releases behind."""
    index = np.full(occurred_ms.size, -1, dtype=np.int64)
    after = np.flatnonzero(occurred_ms >= cutoff_ms)
    release = (occurred_ms[after] - cutoff_ms) // (APP_RELEASE_DAYS * DAY_MS)
    behind = draw(rng, APP_BEHIND_LOOKUP, size=after.size)
    patch = rng.integers(0, APP_PATCHES, after.size)
    index[after] = np.maximum(release - behind, 0) * APP_PATCHES + patch
    return index


@functools.lru_cache(maxsize=64)
def app_versions(releases: int) -> pa.Array:
    """Version strings indexed by ``release * APP_PATCHES + patch``."""
    return pa.array(
        [f"{APP_MAJOR}.{r}.{p}" for r in range(releases) for p in range(APP_PATCHES)], pa.string()
    )
