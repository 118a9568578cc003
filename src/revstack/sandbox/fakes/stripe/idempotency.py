"""Idempotent POSTs: the first result under an ``Idempotency-Key`` is replayed for 24 hours
(wall time), per API key; reusing a key with other parameters is an ``idempotency_error``."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from revstack.sandbox.fakes.stripe.errors import StripeRequestError

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class SavedResult:
    fingerprint: str
    status: int
    body: bytes
    request_id: str
    headers: dict[str, str]
    saved_at: float


def fingerprint(method: str, path: str, pairs: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    for key, value in sorted(pairs):
        digest.update(f"{key}={value}\n".encode())
    return digest.hexdigest()


class IdempotencyStore:
    def __init__(self, ttl_s: Callable[[], float], wall: Callable[[], float] = time.time) -> None:
        self._ttl_s = ttl_s
        self._wall = wall
        self._results: dict[tuple[str, str], SavedResult] = {}

    def check_key(self, key: str) -> None:
        if len(key) > MAX_KEY_LENGTH:
            raise StripeRequestError(
                f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.",
                param="Idempotency-Key",
            )

    def lookup(self, api_key: str, key: str, request_fingerprint: str) -> SavedResult | None:
        saved = self._results.get((api_key, key))
        if saved is None:
            return None
        if self._wall() - saved.saved_at > self._ttl_s():
            del self._results[(api_key, key)]
            return None
        if saved.fingerprint != request_fingerprint:
            raise StripeRequestError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            )
        return saved

    def save(
        self,
        api_key: str,
        key: str,
        request_fingerprint: str,
        status: int,
        body: bytes,
        request_id: str,
        headers: dict[str, str],
    ) -> None:
        now = self._wall()
        self._results[(api_key, key)] = SavedResult(
            request_fingerprint, status, body, request_id, headers, now
        )
        if len(self._results) % 1024 == 0:
            ttl = self._ttl_s()
            for stale in [k for k, v in self._results.items() if now - v.saved_at > ttl]:
                del self._results[stale]
