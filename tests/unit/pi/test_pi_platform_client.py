"""The Platform API client against recorded, documented JSON shapes (tests/fixtures/pi)."""

import json
from typing import Any

import httpx
import pytest

from chain.pi import errors
from tests.unit.pi.conftest import load, raw

PAYMENT_ID = "pQ7sVn2LxR0aHcE9uT4yWb6kZm1d"
TXID = "5408e032890445b0bcb96913e37f326dc2c5573ff7221d3402ed450b324a4a3c"


def json_response(status: int, name: str) -> httpx.Response:
    return httpx.Response(status, content=raw(name), headers={"content-type": "application/json"})


def test_get_payment_parses_documented_payment_dto(platform_for: Any) -> None:
    client, rec = platform_for(lambda r: json_response(200, "platform/payment_u2a_created.json"))
    payment = client.get_payment(PAYMENT_ID)
    assert payment.amount_units == 31_415_926
    assert payment.direction == "user_to_app"
    assert payment.network == "Pi Testnet"
    assert payment.transaction is None
    assert not payment.status.any_cancelled
    request = rec.requests[0]
    assert request.url.path == f"/v2/payments/{PAYMENT_ID}"
    assert request.headers["authorization"] == "Key server-key"


def test_completed_payment_carries_transaction(platform_for: Any) -> None:
    client, _ = platform_for(lambda r: json_response(200, "platform/payment_u2a_completed.json"))
    payment = client.complete("kZBjJ4dAq8lTbK2f5bVr0rM3pV1c", TXID)
    assert payment.transaction is not None
    assert payment.transaction.txid == TXID
    assert payment.status.developer_completed


def test_complete_sends_txid_body(platform_for: Any) -> None:
    client, rec = platform_for(lambda r: json_response(200, "platform/payment_u2a_completed.json"))
    client.complete(PAYMENT_ID, TXID)
    assert json.loads(rec.requests[0].content) == {"txid": TXID}
    assert rec.requests[0].method == "POST"


@pytest.mark.parametrize(
    ("fixture", "cls", "status"),
    [
        ("platform/error_ongoing_payment_found.json", errors.OngoingPaymentFoundError, 400),
        ("platform/error_already_completed.json", errors.AlreadyCompletedError, 400),
        ("platform/error_cancelled_payment.json", errors.CancelledPaymentError, 400),
        ("platform/error_txid_mismatch.json", errors.TxidMismatchError, 400),
        ("platform/error_payment_not_found.json", errors.PaymentNotFoundError, 404),
        ("platform/error_verification_failed.json", errors.VerificationFailedError, 400),
    ],
)
def test_documented_error_codes_map_to_typed_errors(
    platform_for: Any, fixture: str, cls: type[errors.PiApiError], status: int
) -> None:
    client, rec = platform_for(lambda r: json_response(status, fixture))
    with pytest.raises(cls) as info:
        client.approve(PAYMENT_ID)
    body = load(fixture)
    assert isinstance(body, dict)
    assert info.value.api_code == body["error"]
    assert str(info.value) == body["error_message"]
    assert (info.value.payment is not None) == ("payment" in body)
    assert len(rec.requests) == 1  # 4xx is never retried


def test_ongoing_payment_error_carries_the_open_payment(platform_for: Any) -> None:
    client, _ = platform_for(
        lambda r: json_response(400, "platform/error_ongoing_payment_found.json")
    )
    with pytest.raises(errors.OngoingPaymentFoundError) as info:
        client.create_payment(amount_units=10_000_000, memo="m", metadata={}, uid="u1")
    assert info.value.payment is not None
    assert info.value.payment.direction == "app_to_user"


def test_create_payment_sends_exact_decimal_amount(platform_for: Any) -> None:
    client, rec = platform_for(lambda r: json_response(200, "platform/payment_a2u_created.json"))
    client.create_payment(amount_units=31_415_926, memo="refund", metadata={"k": 1}, uid="u-1")
    sent = json.loads(rec.requests[0].content.decode())
    assert rec.requests[0].content.decode().count("3.1415926") == 1
    assert sent["payment"]["uid"] == "u-1"
    assert sent["payment"]["metadata"] == {"k": 1}


def test_html_5xx_is_retried_then_transient(platform_for: Any) -> None:
    def html(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(502, content=raw("platform/error_502.html"))

    client, rec = platform_for(html, attempts_max=3)
    with pytest.raises(errors.PiTransientError) as info:
        client.get_payment(PAYMENT_ID)
    assert len(rec.requests) == 3
    assert "502" in str(info.value)


def test_5xx_then_success_returns_payment(platform_for: Any) -> None:
    replies = iter([503, 500, 200])

    def flaky(_r: httpx.Request) -> httpx.Response:
        status = next(replies)
        if status == 200:
            return json_response(200, "platform/payment_u2a_created.json")
        return httpx.Response(status, content=b"<html>oops</html>")

    client, rec = platform_for(flaky, attempts_max=3)
    assert client.get_payment(PAYMENT_ID).identifier == PAYMENT_ID
    assert len(rec.requests) == 3


def test_timeouts_are_retried(platform_for: Any) -> None:
    calls = {"n": 0}

    def slow(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return json_response(200, "platform/payment_u2a_created.json")

    client, _ = platform_for(slow)
    assert client.get_payment(PAYMENT_ID).amount_units == 31_415_926
    assert calls["n"] == 2


def test_html_4xx_is_an_api_error_not_a_crash(platform_for: Any) -> None:
    client, _ = platform_for(lambda r: httpx.Response(400, content=b"<html>bad</html>"))
    with pytest.raises(errors.PiApiError) as info:
        client.get_payment(PAYMENT_ID)
    assert info.value.api_code == "unknown_error"


def test_html_200_is_a_response_error(platform_for: Any) -> None:
    client, _ = platform_for(lambda r: httpx.Response(200, content=b"<html>captive portal</html>"))
    with pytest.raises(errors.PiResponseError):
        client.get_payment(PAYMENT_ID)


def test_response_size_limit(platform_for: Any) -> None:
    big = b'{"pad": "' + b"x" * 5000 + b'"}'
    client, _ = platform_for(lambda r: httpx.Response(200, content=big), response_bytes_max=1000)
    with pytest.raises(errors.PiResponseError, match="limit"):
        client.get_payment(PAYMENT_ID)


def test_wrong_shape_payment_is_refused(platform_for: Any) -> None:
    body = load("platform/payment_u2a_created.json")
    assert isinstance(body, dict)
    body["amount"] = "3.14159265"
    client, _ = platform_for(
        lambda r: httpx.Response(200, json=json.loads(json.dumps(body, default=str)))
    )
    with pytest.raises(errors.PiResponseError):
        client.get_payment(PAYMENT_ID)


@pytest.mark.parametrize("bad", ["../admin", "x" * 40, ""])
def test_ids_validated_before_any_call(platform_for: Any, bad: str) -> None:
    client, rec = platform_for(lambda r: httpx.Response(200))
    with pytest.raises(errors.PiInputError):
        client.get_payment(bad)
    with pytest.raises(errors.PiInputError):
        client.complete(PAYMENT_ID, bad or "zz")
    assert rec.requests == []


def test_me_uses_bearer_and_parses_user_dto(platform_for: Any) -> None:
    client, rec = platform_for(lambda r: json_response(200, "platform/me.json"))
    user = client.me("token-abc")
    assert user.uid == "a1111111-aaaa-bbbb-2222-ccccccc3333d"
    assert user.username == "pioneer_madiun"
    assert "payments" in user.scopes
    assert rec.requests[0].headers["authorization"] == "Bearer token-abc"


def test_me_401_is_unauthorized(platform_for: Any) -> None:
    client, _ = platform_for(lambda r: httpx.Response(401, content=b"Unauthorized"))
    with pytest.raises(errors.PiUnauthorizedError):
        client.me("forged")


def test_incomplete_server_payments(platform_for: Any) -> None:
    client, rec = platform_for(
        lambda r: json_response(200, "platform/incomplete_server_payments.json")
    )
    payments = client.incomplete_server_payments()
    assert [p.direction for p in payments] == ["app_to_user"]
    assert rec.requests[0].url.path == "/v2/payments/incomplete_server_payments"


@pytest.mark.parametrize("token", ["caf\xe9", "\x80\xff", "tok\x00en", "to ken", "", "t" * 4097])
def test_me_refuses_a_token_no_header_can_carry_without_asking_pi(
    platform_for: Any, token: str
) -> None:
    """A Latin-1 byte in a Pioneer's bearer reached the transport and failed to encode (a 500)."""
    client, rec = platform_for(lambda r: httpx.Response(200, json={"uid": "u", "username": "n"}))
    with pytest.raises(errors.PiUnauthorizedError):
        client.me(token)
    assert rec.requests == []
