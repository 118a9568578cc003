"""Stripe-Signature parsing and verification, cross-checked against stripe-python."""

from __future__ import annotations

import pickle
import time

import pytest
import stripe

from revstack.errors import ConfigError, SignatureError
from revstack.sources.stripe.signature import (
    SignatureHeader,
    compute_signature,
    parse_signature_header,
    signature_header,
    verify_signature,
)

SECRET = "whsec_test_secret_one"
OTHER = "whsec_test_secret_two"
BODY = b'{"id": "evt_1", "object": "event", "type": "customer.created", "data": {"object": {}}}'
NOW = 1_790_000_000


def reason_of(header: str | None, body: bytes = BODY, **options: object) -> str | None:
    with pytest.raises(SignatureError) as caught:
        verify_signature(body, header, [SECRET], now=NOW, **options)  # type: ignore[arg-type]
    return caught.value.reason


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("t=12,v1=abc", SignatureHeader(12, ("abc",)), id="plain"),
        pytest.param(" t=12 , v1 = abc ", SignatureHeader(12, ("abc",)), id="spaces"),
        pytest.param("t=12,v1=a,v1=b", SignatureHeader(12, ("a", "b")), id="two v1 (rotation)"),
        pytest.param("t=12,v0=x,v1=a,v9=y", SignatureHeader(12, ("a",)), id="v0 and unknown"),
        pytest.param("t=12,,v1=a,", SignatureHeader(12, ("a",)), id="empty items"),
        pytest.param("v1=a,t=12", SignatureHeader(12, ("a",)), id="any order"),
        pytest.param("t=12", SignatureHeader(12, ()), id="no v1"),
    ],
)
def test_parse_reads_timestamp_and_every_v1(header: str, expected: SignatureHeader) -> None:
    assert parse_signature_header(header) == expected


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        pytest.param(None, "missing_header", id="absent"),
        pytest.param("  ", "missing_header", id="blank"),
        pytest.param("v1=abc", "malformed", id="no t"),
        pytest.param("t=12,t=13,v1=abc", "malformed", id="two t"),
        pytest.param("t=soon,v1=abc", "malformed", id="t not a number"),
        pytest.param("t=-12,v1=abc", "malformed", id="t negative"),
        pytest.param("t=12,v1abc", "malformed", id="item without ="),
    ],
)
def test_parse_refuses_headers_without_a_usable_timestamp(header: str | None, reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        parse_signature_header(header)
    assert caught.value.reason == reason


def test_compute_matches_stripe_python() -> None:
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET, NOW)
    assert header == f"t={NOW},v1={compute_signature(BODY, SECRET, NOW)}"
    assert signature_header(BODY, [SECRET], NOW) == header


def test_a_header_made_by_stripe_python_verifies() -> None:
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), SECRET)
    assert verify_signature(BODY, header, [SECRET]).v1


def test_a_header_made_here_verifies_in_stripe_python() -> None:
    header = signature_header(BODY, [SECRET], int(time.time()))
    event = stripe.Webhook.construct_event(BODY, header, SECRET)
    assert event.id == "evt_1"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(signature_header(BODY, [SECRET], NOW), id="valid"),
        pytest.param(signature_header(BODY, [OTHER], NOW), id="other secret"),
        pytest.param(signature_header(BODY, [OTHER, SECRET], NOW), id="rotation: second v1"),
        pytest.param(signature_header(BODY, [SECRET], NOW - 301), id="stale"),
        pytest.param(signature_header(BODY, [SECRET], NOW - 299), id="nearly stale"),
        pytest.param(signature_header(BODY, [SECRET], NOW + 3600), id="from the future"),
        pytest.param(signature_header(BODY + b" ", [SECRET], NOW), id="body changed"),
        pytest.param(f"t={NOW}", id="no v1"),
        pytest.param(f"t={NOW},v0={compute_signature(BODY, SECRET, NOW)}", id="only v0"),
        pytest.param(signature_header(BODY, [SECRET], NOW).upper(), id="upper case"),
    ],
)
def test_accepts_exactly_what_stripe_python_accepts(
    header: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: float(NOW))
    try:
        stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=300)
        theirs = True
    except stripe.SignatureVerificationError:
        theirs = False
    try:
        verify_signature(BODY, header, [SECRET], tolerance_s=300)
        ours = True
    except SignatureError:
        ours = False
    assert ours == theirs


def test_reasons_name_what_is_wrong() -> None:
    assert reason_of(None) == "missing_header"
    assert reason_of("t=1,v1") == "malformed"
    assert reason_of(f"t={NOW},v0=abc") == "no_v1"
    assert reason_of(signature_header(BODY, [OTHER], NOW)) == "mismatch"
    assert reason_of(f"t={NOW},v1=é") == "mismatch"  # stripe-python raises TypeError here
    assert reason_of(signature_header(BODY, [SECRET], NOW - 301)) == "stale"
    # authenticity is checked first: an old forgery is a mismatch, not merely stale
    assert reason_of(signature_header(BODY, [OTHER], NOW - 3600)) == "mismatch"


def test_the_tolerance_is_configurable_and_zero_turns_it_off() -> None:
    old = signature_header(BODY, [SECRET], NOW - 1000)
    assert reason_of(old) == "stale"
    assert verify_signature(BODY, old, [SECRET], tolerance_s=2000, now=NOW).timestamp == NOW - 1000
    assert verify_signature(BODY, old, [SECRET], tolerance_s=0, now=NOW)
    assert reason_of(signature_header(BODY, [SECRET], NOW - 61), tolerance_s=60) == "stale"


def test_several_secrets_accept_a_delivery_signed_with_any_of_them() -> None:
    for signer in (SECRET, OTHER):
        header = signature_header(BODY, [signer], NOW)
        assert verify_signature(BODY, header, [SECRET, OTHER], now=NOW)
    with pytest.raises(SignatureError):
        verify_signature(BODY, signature_header(BODY, ["whsec_third"], NOW), [SECRET, OTHER])


def test_no_secret_is_a_configuration_error() -> None:
    header = signature_header(BODY, [SECRET], NOW)
    with pytest.raises(ConfigError):
        verify_signature(BODY, header, [], now=NOW)
    with pytest.raises(ConfigError):
        verify_signature(BODY, header, [""], now=NOW)


def test_the_reason_survives_pickling() -> None:
    error = SignatureError("too old", reason="stale")
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.reason) == ("too old", "stale")
