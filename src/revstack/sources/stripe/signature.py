"""Stripe webhook signatures: parse the ``Stripe-Signature`` header, compute and check ``v1``.

Stripe signs ``f"{t}.{raw_body}"`` with HMAC-SHA256 under the endpoint's secret and sends
``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`` (test mode may add ``v0``, which is
ignored, as is any other unknown scheme). A delivery is authentic when any ``v1`` matches the
signature computed with any of our secrets: several ``v1`` values appear while Stripe rolls an
endpoint's secret, and we accept several secrets for our own rotations. Only timestamps older
than the tolerance are rejected, as Stripe's libraries do (a sender's clock running ahead is not
an attack; a replay of an old delivery is).

Pure functions, no I/O: the webhook app, the sync service and tests all use them.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass

from revstack.errors import ConfigError, SignatureError

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "SignatureHeader",
    "compute_signature",
    "parse_signature_header",
    "signature_header",
    "verify_signature",
]

DEFAULT_TOLERANCE_S = 300
"""Stripe's default: a signature older than five minutes is refused."""

_SCHEME = "v1"


@dataclass(frozen=True)
class SignatureHeader:
    """A parsed ``Stripe-Signature`` header."""

    timestamp: int
    """``t``: when the sender signed, Unix seconds."""
    v1: tuple[str, ...]
    """Every ``v1`` signature, in header order (may be empty: see `verify_signature`)."""


def parse_signature_header(header: str | None) -> SignatureHeader:
    """Read ``t`` and the ``v1`` values; raises `SignatureError` (``missing_header`` or
    ``malformed``) when there is no header or no usable ``t``.

    Items are ``key=value`` separated by commas; spaces around them and empty items are
    tolerated, unknown keys (``v0``, future schemes) are ignored.
    """
    if header is None or not header.strip():
        raise SignatureError(
            "the request has no Stripe-Signature header; is the endpoint URL used by something "
            "other than Stripe?",
            reason="missing_header",
        )
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise SignatureError(
                "the Stripe-Signature header is malformed: every item must be key=value",
                reason="malformed",
            )
        key, value = key.strip(), value.strip()
        if key == "t":
            timestamps.append(value)
        elif key == _SCHEME:
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise SignatureError(
            "the Stripe-Signature header is malformed: it needs exactly one t=<unix seconds>",
            reason="malformed",
        )
    return SignatureHeader(int(timestamps[0]), tuple(signatures))


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``v1`` value for `payload` signed at `timestamp`: hex HMAC-SHA256 of ``t.payload``."""
    signed = str(timestamp).encode("ascii") + b"." + payload
    return hmac.digest(secret.encode("utf-8"), signed, hashlib.sha256).hex()


def signature_header(payload: bytes, secrets: Sequence[str], timestamp: int) -> str:
    """A ``Stripe-Signature`` header signing `payload` with each secret (one ``v1`` each),
    as Stripe sends it; for tests, benchmarks and fakes."""
    parts = [f"t={timestamp}"]
    parts += [f"{_SCHEME}={compute_signature(payload, secret, timestamp)}" for secret in secrets]
    return ",".join(parts)


def verify_signature(
    payload: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> SignatureHeader:
    """Check that `payload` (the raw body) was signed by the holder of one of `secrets`,
    no more than `tolerance_s` seconds before `now` (default: the wall clock; a tolerance of 0
    or less turns the age check off). Returns the parsed header.

    Raises `SignatureError` with ``reason`` ``missing_header``, ``malformed``, ``no_v1``
    (no ``v1`` item), ``mismatch`` (no ``v1`` matches any secret) or ``stale`` (authentic but
    too old); authenticity is checked before age, so ``stale`` means a genuine old delivery.
    Raises `ConfigError` when `secrets` is empty.
    """
    if not secrets or not all(secrets):
        raise ConfigError("no Stripe webhook secret is configured (sources.stripe.webhook_secret)")
    parsed = parse_signature_header(header)
    if not parsed.v1:
        raise SignatureError(
            f"the Stripe-Signature header has no {_SCHEME} signature", reason="no_v1"
        )
    candidates = [value for value in parsed.v1 if value.isascii()]
    matched = False
    for secret in secrets:
        expected = compute_signature(payload, secret, parsed.timestamp)
        for candidate in candidates:
            # Every pair is compared, so the time taken says nothing about which one matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError(
            "no v1 signature matches the body signed with the configured webhook secret(s); "
            "if every delivery fails, the secret does not belong to this endpoint",
            reason="mismatch",
        )
    current = time.time() if now is None else now
    if tolerance_s > 0 and parsed.timestamp < current - tolerance_s:
        raise SignatureError(
            f"the signature timestamp is {current - parsed.timestamp:.0f} s old, more than the "
            f"{tolerance_s:g} s tolerance (a replayed delivery, or this machine's clock is off)",
            reason="stale",
        )
    return parsed
