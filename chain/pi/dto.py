"""Typed views of the Platform API's JSON (PaymentDTO, UserDTO), parsed strictly.

Unknown fields are ignored (the API may grow); missing or mistyped known fields raise
PiResponseError so nothing downstream handles half-parsed data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, cast

from chain.pi.amounts import to_units
from chain.pi.errors import PiInputError, PiResponseError

Direction = Literal["user_to_app", "app_to_user"]


@dataclass(frozen=True)
class PaymentStatus:
    """The five documented status flags of a payment."""

    developer_approved: bool
    transaction_verified: bool
    developer_completed: bool
    cancelled: bool
    user_cancelled: bool

    @property
    def any_cancelled(self) -> bool:
        """Cancelled by the developer, by Pi Network or by the user."""
        return self.cancelled or self.user_cancelled


@dataclass(frozen=True)
class PaymentTransaction:
    """The blockchain transaction linked to a payment."""

    txid: str
    verified: bool
    link: str


@dataclass(frozen=True)
class PiPayment:
    """PaymentDTO with the amount in integer 1e-7 Pi units."""

    identifier: str
    user_uid: str
    amount_units: int
    memo: str
    metadata: Mapping[str, object]
    from_address: str
    to_address: str
    direction: Direction
    created_at: str
    network: str
    status: PaymentStatus
    transaction: PaymentTransaction | None
    raw: Mapping[str, object] = field(repr=False, compare=False)

    @property
    def payment_id(self) -> str:
        """Pi's ``identifier``, under the service's name for it (the one place it is mapped)."""
        return self.identifier


@dataclass(frozen=True)
class PiUser:
    """UserDTO: who the access token belongs to."""

    uid: str
    username: str | None
    scopes: tuple[str, ...]


def _get(obj: Mapping[str, object], key: str, kind: type | tuple[type, ...]) -> object:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PiResponseError(f"field {key!r} missing or not {kind}")
    return value


def _str(obj: Mapping[str, object], key: str) -> str:
    return cast(str, _get(obj, key, str))


def _bool(obj: Mapping[str, object], key: str) -> bool:
    return cast(bool, _get(obj, key, bool))


def _amount_units(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | str):
        raise PiResponseError("field 'amount' is not a number")
    try:
        return to_units(raw)
    except PiInputError as exc:
        # The Pioneer chose this amount in the Pi app: the refusal keeps the amount's own code.
        raise PiResponseError(f"field 'amount' unusable: {exc}", code=exc.code) from exc


def parse_payment(obj: object) -> PiPayment:
    """Parse one PaymentDTO (JSON already decoded with Decimal floats)."""
    if not isinstance(obj, Mapping):
        raise PiResponseError("payment is not an object")
    status = cast(Mapping[str, object], _get(obj, "status", Mapping))
    tx_raw = obj.get("transaction")
    tx: PaymentTransaction | None = None
    if tx_raw is not None:
        if not isinstance(tx_raw, Mapping):
            raise PiResponseError("field 'transaction' is not an object")
        tx = PaymentTransaction(
            txid=_str(tx_raw, "txid"),
            verified=_bool(tx_raw, "verified"),
            link=str(tx_raw.get("_link", "")),
        )
    direction = _str(obj, "direction")
    if direction not in ("user_to_app", "app_to_user"):
        raise PiResponseError(f"unknown direction {direction!r}")
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise PiResponseError("field 'metadata' is not an object")
    return PiPayment(
        identifier=_str(obj, "identifier"),
        user_uid=_str(obj, "user_uid"),
        amount_units=_amount_units(obj.get("amount")),
        memo=str(obj.get("memo") or ""),
        metadata=metadata,
        from_address=str(obj.get("from_address") or ""),
        to_address=str(obj.get("to_address") or ""),
        direction=cast(Direction, direction),
        created_at=str(obj.get("created_at") or ""),
        network=_str(obj, "network"),
        status=PaymentStatus(
            developer_approved=_bool(status, "developer_approved"),
            transaction_verified=_bool(status, "transaction_verified"),
            developer_completed=_bool(status, "developer_completed"),
            cancelled=_bool(status, "cancelled"),
            user_cancelled=_bool(status, "user_cancelled"),
        ),
        transaction=tx,
        raw=obj,
    )


def parse_user(obj: object) -> PiUser:
    """Parse a UserDTO from `GET /v2/me`."""
    if not isinstance(obj, Mapping):
        raise PiResponseError("user is not an object")
    creds = obj.get("credentials")
    scopes: tuple[str, ...] = ()
    if isinstance(creds, Mapping) and isinstance(creds.get("scopes"), list):
        scopes = tuple(str(s) for s in cast(list[object], creds["scopes"]))
    username = obj.get("username")
    return PiUser(
        uid=_str(obj, "uid"),
        username=username if isinstance(username, str) else None,
        scopes=scopes,
    )
