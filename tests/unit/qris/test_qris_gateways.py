"""Gateway adapters: verification first, then the documented JSON shapes -> QrisEvent."""

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from chain.qris.gateways.errors import NotificationMalformed, NotificationUnauthenticated
from chain.qris.gateways.event import AMOUNT_SEN_MAX, PROVIDER_TX_ID_CHARS_MAX, EventStatus
from chain.qris.gateways.midtrans import MidtransAdapter
from chain.qris.gateways.snap import SNAP_NOTIFY_PATH, SnapQrNotifyAdapter, minify_json
from chain.qris.gateways.xendit import XenditAdapter

NOW = datetime(2024, 6, 7, 3, 5, tzinfo=UTC)
SERVER_KEY = "SB-Mid-server-test-key"
TOKEN = "xendit-callback-token"


class Unasked:
    """A status source parse must never use: parsing is pure, confirmation is a separate step."""

    def fetch(self, order_id: str) -> Mapping[str, Any]:
        raise AssertionError(f"parse asked Midtrans about {order_id}")


UNASKED = Unasked()


def midtrans_body(**override: Any) -> dict[str, Any]:
    """The documented QRIS settlement notification shape (docs.midtrans.com, HTTP notification)."""
    body = {
        "transaction_type": "on-us",
        "transaction_time": "2023-04-11 13:04:24",
        "transaction_status": "settlement",
        "transaction_id": "513f1f01-c9da-474c-9fc9-d5c64364b709",
        "status_message": "midtrans payment notification",
        "status_code": "200",
        "settlement_time": "2023-04-11 13:04:51",
        "payment_type": "qris",
        "order_id": "CHK-0001",
        "merchant_id": "G490526303",
        "issuer": "gopay",
        "gross_amount": "105000.00",
        "fraud_status": "accept",
        "currency": "IDR",
        "acquirer": "gopay",
    }
    body.update(override)
    material = body["order_id"] + body["status_code"] + body["gross_amount"] + SERVER_KEY
    body.setdefault("signature_key", hashlib.sha512(material.encode()).hexdigest())
    return body


def as_bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode()


def test_midtrans_settlement_is_paid_in_sen_and_utc() -> None:
    event = MidtransAdapter(SERVER_KEY, UNASKED).parse(
        {}, as_bytes(midtrans_body()), path="/", now=NOW
    )
    assert event.provider == "midtrans"
    assert event.status is EventStatus.PAID
    assert event.amount_sen == 10_500_000
    assert event.reference == "CHK-0001"
    assert event.provider_tx_id == "513f1f01-c9da-474c-9fc9-d5c64364b709"
    assert event.paid_at == datetime(2023, 4, 11, 6, 4, 51, tzinfo=UTC)  # 13:04:51 WIB


@pytest.mark.parametrize(
    ("status", "expected"),
    [("capture", "paid"), ("pending", "pending"), ("deny", "failed"), ("cancel", "cancelled"),
     ("expire", "expired"), ("refund", "refunded"), ("partial_refund", "partially_refunded")],
)  # fmt: skip
def test_midtrans_statuses(status: str, expected: str) -> None:
    body = midtrans_body(transaction_status=status)
    event = MidtransAdapter(SERVER_KEY, UNASKED).parse({}, as_bytes(body), path="/", now=NOW)
    assert event.status == expected
    assert (event.paid_at is not None) is (expected == "paid")


def test_midtrans_signature_covers_the_amount_text_as_sent() -> None:
    body = midtrans_body()
    body["gross_amount"] = "105000"  # same money, different text: the signature no longer holds
    with pytest.raises(NotificationUnauthenticated):
        MidtransAdapter(SERVER_KEY, UNASKED).parse({}, as_bytes(body), path="/", now=NOW)


def test_midtrans_wrong_key_is_unauthenticated() -> None:
    with pytest.raises(NotificationUnauthenticated):
        MidtransAdapter("other-key", UNASKED).parse(
            {}, as_bytes(midtrans_body()), path="/", now=NOW
        )


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", json.dumps({"order_id": "x"}).encode(), b"{" * 70000]
)
def test_midtrans_malformed(body: bytes) -> None:
    with pytest.raises((NotificationMalformed, NotificationUnauthenticated)):
        MidtransAdapter(SERVER_KEY, UNASKED).parse({}, body, path="/", now=NOW)


def test_midtrans_refuses_more_than_two_decimals() -> None:
    with pytest.raises(NotificationMalformed):
        MidtransAdapter(SERVER_KEY, UNASKED).parse(
            {}, as_bytes(midtrans_body(gross_amount="1.005")), path="/", now=NOW
        )


XENDIT_BODY = {
    # Documented shape of the QR Codes callback, API version 2022-07-31.
    "event": "qr.payment",
    "api_version": "2022-07-31",
    "business_id": "58cd618ba0464eb64acdb246",
    "created": "2022-10-22T06:30:05.86474Z",
    "data": {
        "id": "qrpy_8182837te-87st-49ing-8696-1239bd4d759c",
        "business_id": "58cd618ba0464eb64acdb246",
        "currency": "IDR",
        "amount": 10000,
        "status": "SUCCEEDED",
        "created": "2022-10-22T06:30:05.86474Z",
        "qr_id": "qr_61cb3576-3a25-4d35-8d15-0e8e3bdba4f2",
        "reference_id": "order-id-1666420204",
        "type": "DYNAMIC",
        "channel_code": "ID_DANA",
        "expires_at": "2022-10-23T09:56:43.60445Z",
        "description": "",
        "basket": None,
        "metadata": None,
        "payment_detail": {
            "receipt_id": "000111666",
            "source": "GOPAY",
            "name": None,
            "account_details": None,
        },
    },
}


def test_xendit_qr_payment() -> None:
    event = XenditAdapter(TOKEN).parse(
        {"x-callback-token": TOKEN}, as_bytes(XENDIT_BODY), path="/", now=NOW
    )
    assert event.status is EventStatus.PAID
    assert event.amount_sen == 1_000_000
    assert event.rrn == "000111666"
    assert event.reference == "order-id-1666420204"
    assert event.provider_tx_id == "qrpy_8182837te-87st-49ing-8696-1239bd4d759c"
    assert event.paid_at == datetime(2022, 10, 22, 6, 30, 5, 864740, tzinfo=UTC)


@pytest.mark.parametrize("headers", [{}, {"X-CALLBACK-TOKEN": "nope"}, {"X-CALLBACK-TOKEN": ""}])
def test_xendit_token_is_required(headers: dict[str, str]) -> None:
    with pytest.raises(NotificationUnauthenticated):
        XenditAdapter(TOKEN).parse(headers, as_bytes(XENDIT_BODY), path="/", now=NOW)


def test_xendit_rejects_float_rounding_and_foreign_currency() -> None:
    for change in ({"amount": 10000.005}, {"currency": "USD"}, {"status": "WEIRD"}):
        body = json.loads(json.dumps(XENDIT_BODY))
        body["data"].update(change)
        with pytest.raises(NotificationMalformed):
            XenditAdapter(TOKEN).parse(
                {"X-CALLBACK-TOKEN": TOKEN}, as_bytes(body), path="/", now=NOW
            )


@pytest.fixture(scope="module")
def pjp_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def snap_adapter(key: rsa.RSAPrivateKey) -> SnapQrNotifyAdapter:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return SnapQrNotifyAdapter(pem)


SNAP_BODY = {
    # Documented QR MPM notify body (Finpay SNAP QRIS payment notify sample).
    "originalReferenceNo": "2020102977770000000009",
    "originalPartnerReferenceNo": "CHK-0002",
    "latestTransactionStatus": "00",
    "transactionStatusDesc": "success",
    "amount": {"value": "12345678.00", "currency": "IDR"},
    "additionalInfo": {
        "rrn": "000019001390",
        "nns_issuer": "93600014",
        "mpan": "9360077732302230011",
        "nmid": "ID1023249949984",
        "invoice": "2020102900000000000001",
        "FeeAmount": {"value": "1234.00", "currency": "IDR"},
        "paidTime": "2024-06-07T10:03:54+07:00",
        "qr_type": "12",
    },
}


def snap_headers(key: rsa.RSAPrivateKey, body: bytes, timestamp: str, path: str) -> dict[str, str]:
    """Sign as the PJP does: SHA256withRSA over POST:path:hex(sha256(minified)):timestamp."""
    minified = json.dumps(json.loads(body), separators=(",", ":")).encode()
    digest = hashlib.sha256(minified).hexdigest()
    message = f"POST:{path}:{digest}:{timestamp}".encode()
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {"X-TIMESTAMP": timestamp, "X-SIGNATURE": base64.b64encode(signature).decode()}


def test_snap_notify_verifies_and_normalises(pjp_key: rsa.RSAPrivateKey) -> None:
    body = as_bytes(SNAP_BODY)  # pretty-printed: the signature is over the minified form
    headers = snap_headers(pjp_key, body, "2024-06-07T10:04:00+07:00", SNAP_NOTIFY_PATH)
    event = snap_adapter(pjp_key).parse(headers, body, path=SNAP_NOTIFY_PATH, now=NOW)
    assert event.status is EventStatus.PAID
    assert event.amount_sen == 1_234_567_800
    assert event.fee_sen == 123_400
    assert (event.rrn, event.nmid) == ("000019001390", "ID1023249949984")
    assert event.reference == "CHK-0002"
    assert event.paid_at == datetime(2024, 6, 7, 3, 3, 54, tzinfo=UTC)


def test_snap_signature_binds_path_body_and_time(pjp_key: rsa.RSAPrivateKey) -> None:
    adapter = snap_adapter(pjp_key)
    body = as_bytes(SNAP_BODY)
    stamp = "2024-06-07T10:04:00+07:00"
    headers = snap_headers(pjp_key, body, stamp, SNAP_NOTIFY_PATH)
    tampered = body.replace(b"12345678.00", b"92345678.00")
    cases = [
        (headers, tampered, SNAP_NOTIFY_PATH, NOW),
        (headers, body, "/v1/qris/notifications/snap", NOW),
        ({**headers, "X-TIMESTAMP": "2024-06-07T10:04:01+07:00"}, body, SNAP_NOTIFY_PATH, NOW),
        (headers, body, SNAP_NOTIFY_PATH, NOW + timedelta(hours=1)),
        ({"X-TIMESTAMP": stamp, "X-SIGNATURE": "!!"}, body, SNAP_NOTIFY_PATH, NOW),
        ({}, body, SNAP_NOTIFY_PATH, NOW),
    ]
    for case_headers, case_body, path, now in cases:
        with pytest.raises(NotificationUnauthenticated):
            adapter.parse(case_headers, case_body, path=path, now=now)


def test_snap_refund_status(pjp_key: rsa.RSAPrivateKey) -> None:
    body = as_bytes({**SNAP_BODY, "latestTransactionStatus": "04"})
    headers = snap_headers(pjp_key, body, "2024-06-07T10:04:00+07:00", SNAP_NOTIFY_PATH)
    event = snap_adapter(pjp_key).parse(headers, body, path=SNAP_NOTIFY_PATH, now=NOW)
    assert event.status is EventStatus.REFUNDED


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(json_values)
def test_minify_equals_compact_json(value: object) -> None:
    pretty = json.dumps(value, indent=3, ensure_ascii=False).encode()
    compact = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    assert minify_json(pretty) == compact


def test_status_rank_never_lets_paid_fall_back() -> None:
    assert EventStatus.PENDING.rank < EventStatus.EXPIRED.rank < EventStatus.PAID.rank
    assert EventStatus.PAID.rank < EventStatus.PARTIALLY_REFUNDED.rank < EventStatus.REFUNDED.rank


@pytest.mark.parametrize(
    ("amount", "code"),
    [("1.0000000000000000000000000000001", "amount_too_precise"),
     ("1e999999999", "amount_out_of_range"), ("1.000", "amount_too_precise"),
     ("NaN", "amount_invalid"), ("-1.00", "amount_invalid")],
)  # fmt: skip
def test_midtrans_amounts_are_exact_or_refused_with_the_amount_code(amount: str, code: str) -> None:
    with pytest.raises(NotificationMalformed) as caught:
        MidtransAdapter(SERVER_KEY, UNASKED).parse(
            {}, as_bytes(midtrans_body(gross_amount=amount)), path="/", now=NOW
        )
    assert caught.value.code == code


@given(
    tx_id=st.text(max_size=200),
    amount=st.one_of(
        st.integers(min_value=-(10**3), max_value=10**21).map(lambda n: str(Decimal(n).scaleb(-2))),
        st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    ),
)
def test_midtrans_event_fits_the_store_or_is_malformed(tx_id: str, amount: str) -> None:
    """qris_events holds 1..128 characters of transaction id, no NUL, and BIGINT sen."""
    body = as_bytes(midtrans_body(transaction_id=tx_id, gross_amount=amount))
    try:
        event = MidtransAdapter(SERVER_KEY, UNASKED).parse({}, body, path="/", now=NOW)
    except NotificationMalformed:
        return
    assert 0 < len(event.provider_tx_id) <= PROVIDER_TX_ID_CHARS_MAX
    assert "\x00" not in event.provider_tx_id
    assert 0 <= event.amount_sen <= AMOUNT_SEN_MAX
