"""Standard Webhooks signatures, checked against the spec's published example, and the
retry schedule (exponential, jittered, capped)."""

from __future__ import annotations

import random

import pytest

from bot.domain.errors import InvalidInput
from bot.services import webhooks

# The example of the Standard Webhooks specification (and its reference libraries' tests).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_of_the_spec_example_is_the_published_one() -> None:
    assert webhooks.sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == SIGNATURE
    headers = webhooks.headers(SECRET, MESSAGE_ID, TIMESTAMP, BODY)
    assert headers["webhook-id"] == MESSAGE_ID
    assert headers["webhook-timestamp"] == str(TIMESTAMP)
    assert headers["webhook-signature"] == SIGNATURE


def test_a_changed_body_or_id_changes_the_signature() -> None:
    assert webhooks.sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY + " ") != SIGNATURE
    assert webhooks.sign(SECRET, MESSAGE_ID + "x", TIMESTAMP, BODY) != SIGNATURE


def test_a_new_secret_is_whsec_and_24_random_bytes() -> None:
    import base64

    secret = webhooks.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert secret != webhooks.new_secret()


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [webhooks.backoff(n, 5.0, rng) for n in range(1, 6)]
    for n, delay in enumerate(delays, start=1):
        assert 0.75 * 5 * 2 ** (n - 1) <= delay <= 1.25 * 5 * 2 ** (n - 1)
    assert webhooks.backoff(40, 5.0, rng) <= 1.25 * webhooks.MAX_BACKOFF


def test_endpoints_are_https_and_http_only_to_localhost_when_allowed() -> None:
    assert webhooks.check_url("https://app.example/hook", allow_http_localhost=False)
    assert webhooks.check_url("http://127.0.0.1:8080/h", allow_http_localhost=True)
    assert webhooks.check_url("http://localhost/h", allow_http_localhost=True)
    for url, allowed in (
        ("http://127.0.0.1:8080/h", False),
        ("http://app.example/h", True),
        ("ftp://app.example/h", True),
        ("https://user:pw@app.example/h", True),
        ("https:///nohost", True),
    ):
        with pytest.raises(InvalidInput):
            webhooks.check_url(url, allow_http_localhost=allowed)
