"""A merchant's read routes: balances, history, the monthly statement, the till's QRIS image.

A merchant's key reads its own merchant; a treasury key (or the operator token) names the
merchant with ``?merchant=`` (``report_merchant_required`` without it), and any other role is
refused (``forbidden``). Every answer is read in one transaction and never cached
(``Cache-Control: no-store``): these are someone's money.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from api.auth import API_KEY_SECURITY, MerchantOrTreasury
from api.dependencies import services
from api.problems import problem_responses
from settlement.access.principal import Principal, Role
from settlement.merchants.model import MerchantRefused
from settlement.merchants.service import find
from settlement.reports import ReportRefused
from settlement.reports.balances import merchant_balances
from settlement.reports.history import (
    cursor_chars_max,
    history_page_default,
    history_page_max,
    merchant_history,
)
from settlement.reports.statement import (
    monthly_statement,
    statement_csv,
    statement_html,
    statement_view,
)
from settlement.till import find_till_checkout, qris_payload, qris_png, qris_svg
from settlement.unit_of_work import transaction, unit_of_work

router = APIRouter(prefix="/v1", tags=["merchant reads"])
NO_STORE = {"Cache-Control": "no-store"}
MerchantQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="The merchant to read: required with a treasury key; a merchant key reads"
        " its own (naming another is refused).",
    ),
]
CheckoutId = Annotated[str, Path(pattern=r"^co_[a-z0-9]{12,20}$", examples=["co_abcdefghijkl"])]
CSV_MEDIA_TYPE = "text/csv"
HTML_MEDIA_TYPE = "text/html"
JSON_MEDIA_TYPE = "application/json"
_TEXT = {"schema": {"type": "string"}}
_IMAGE = {"schema": {"type": "string", "format": "binary"}}


class Amount(BaseModel):
    """An amount: decimal text at its asset's scale (signed for a balance), and the integer
    smallest units."""

    amount: str = Field(examples=["15000.00"])
    asset: str = Field(examples=["IDR"])
    amount_units: int = Field(examples=[1500000])


class AssetBalanceAnswer(BaseModel):
    """One asset of a merchant's balances."""

    asset: str
    posted: Amount = Field(description="What the merchant is owed now.")
    pending_incoming: Amount = Field(
        description="Held in escrow for the merchant until hand-over (not yet its own)."
    )
    pending_outgoing: Amount = Field(description="Reserved against the posted balance.")
    available: Amount = Field(description="posted - pending_outgoing: what can be paid out.")


class BalancesAnswer(BaseModel):
    """A merchant's balances, one per asset; an asset it never held reads as zero."""

    merchant_id: str
    balances: list[AssetBalanceAnswer]


class HistoryItem(BaseModel):
    """One ledger transfer into or out of the merchant's accounts."""

    transfer_id: str
    timestamp_us: int = Field(description="The ledger's timestamp (µs since the epoch).")
    at: str = Field(description="The same moment, ISO 8601.")
    code: str = Field(description="The chart's transfer code, e.g. checkout.release.")
    direction: Literal["in", "out"]
    counterparty: str = Field(description="The account on the other side.")
    effect: Literal["posted", "pending", "pending_posted", "pending_voided"]
    pending_id: str | None
    external_ref: str | None = Field(description="A payment id or txid, where one is named.")
    checkout_id: str | None = Field(description="The checkout the transfer belongs to, if any.")
    amount: str
    asset: str
    amount_units: int


class HistoryAnswer(BaseModel):
    """A page of history in ledger order; ask again with ``after=next_after`` (null: no more)."""

    merchant_id: str
    items: list[HistoryItem]
    next_after: str | None


class StatementMerchant(BaseModel):
    """Who the statement is of."""

    id: str
    name: str
    kelurahan: str
    rt: str | None
    nmid: str | None


class StatementSale(BaseModel):
    """The legs of one tender of the checkouts released in the month."""

    tender: str
    label: str
    legs: int
    amount: Amount
    idr_value: Amount


class StatementFee(BaseModel):
    """A share or fee of the month's released checkouts."""

    kind: Literal["platform_fee", "community_fund", "qris_mdr"]
    label: str
    transfers: int
    amount: Amount
    deducted: bool = Field(description="False for the QRIS MDR, which the treasury bears.")


class StatementRefund(BaseModel):
    """Refunds of the merchant's checkouts made in the month, per reason."""

    reason: str
    label: str
    refunds: int
    amount: Amount


class StatementMovement(BaseModel):
    """Posted movements of one category of one asset."""

    category: Literal["sales", "discount", "qris_direct", "other_in", "shares", "refund", "payout"]
    label: str
    direction: Literal["in", "out"]
    transfers: int
    amount: Amount


class StatementBalance(BaseModel):
    """One of the merchant's accounts over the month: opening + credits - debits = closing."""

    asset: str
    opening: Amount
    credits: Amount
    debits: Amount
    closing: Amount
    movements: list[StatementMovement]


class StatementAnswer(BaseModel):
    """A merchant's monthly statement (WIB month); labels in Bahasa Indonesia."""

    merchant: StatementMerchant
    month: str = Field(examples=["2026-03"])
    starts_at: str
    ends_at: str = Field(description="The first moment of the next month.")
    as_of: str
    final: bool = Field(description="False while the month is still running.")
    checkouts_released: int
    price: Amount
    discount: Amount = Field(description="Pi-Zone discounts, paid to the merchant by campaigns.")
    sales: list[StatementSale]
    fees: list[StatementFee]
    refunds: list[StatementRefund]
    balances: list[StatementBalance]


def _merchant_of(principal: Principal, merchant: str | None) -> str:
    """The merchant a request reads: a merchant key's own, or the one a treasury key names."""
    if merchant is None:
        if principal.role is Role.MERCHANT:
            return principal.owner
        raise ReportRefused("name the merchant with ?merchant=", code="report_merchant_required")
    principal.require_merchant(merchant)
    return merchant


def _require_known(conn: Connection, merchant_id: str) -> None:
    if find(conn, merchant_id) is None:
        raise MerchantRefused(f"no merchant {merchant_id}", code="merchant_unknown")


@router.get(
    "/balances",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=API_KEY_SECURITY,
)
def balances(
    request: Request,
    response: Response,
    principal: MerchantOrTreasury,
    merchant: MerchantQuery = None,
) -> BalancesAnswer:
    """The merchant's balance in each asset: posted, held in escrow, reserved, available."""
    merchant_id = _merchant_of(principal, merchant)
    wired = services(request)
    with unit_of_work(wired.engine, wired.clock) as uow:
        _require_known(uow.conn, merchant_id)
        found = merchant_balances(uow.ledger, merchant_id)
    response.headers.update(NO_STORE)
    return BalancesAnswer.model_validate(
        {"merchant_id": merchant_id, "balances": [b.view() for b in found]}
    )


@router.get(
    "/history",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=API_KEY_SECURITY,
)
def history(
    request: Request,
    response: Response,
    principal: MerchantOrTreasury,
    merchant: MerchantQuery = None,
    after: Annotated[
        str | None,
        Query(max_length=cursor_chars_max, description="``next_after`` of the previous page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=history_page_max)] = history_page_default,
) -> HistoryAnswer:
    """Every ledger transfer into or out of the merchant's accounts, in ledger order, paged."""
    merchant_id = _merchant_of(principal, merchant)
    with transaction(services(request).engine) as conn:
        _require_known(conn, merchant_id)
        page = merchant_history(conn, merchant_id, after=after, limit=limit)
    response.headers.update(NO_STORE)
    return HistoryAnswer.model_validate({"merchant_id": merchant_id, **page.view()})


@router.get(
    "/statements/{month}",
    response_model=StatementAnswer,
    responses={
        200: {
            "description": "The statement: JSON, CSV (`Accept: text/csv` or `?format=csv`) or"
            " a printable HTML page (`Accept: text/html` or `?format=html`).",
            "content": {CSV_MEDIA_TYPE: _TEXT, HTML_MEDIA_TYPE: _TEXT},
        },
        **problem_responses(401, 403, 404, 409, 422),
    },
    openapi_extra=API_KEY_SECURITY,
)
def statement(
    request: Request,
    response: Response,
    principal: MerchantOrTreasury,
    month: Annotated[
        str, Path(max_length=16, description="The month, YYYY-MM (WIB).", examples=["2026-03"])
    ],
    merchant: MerchantQuery = None,
    format_: Annotated[
        Literal["json", "csv", "html"] | None,
        Query(alias="format", description="Overrides Accept: json, csv or html."),
    ] = None,
) -> Response | StatementAnswer:
    """The merchant's monthly statement in Bahasa Indonesia (the record a stall shows a bank)."""
    merchant_id = _merchant_of(principal, merchant)
    wired = services(request)
    with transaction(wired.engine) as conn:
        found = monthly_statement(conn, merchant_id, month, now_us=wired.clock.now_us())
    chosen = format_ or _negotiated(request.headers.get("accept", ""))
    if chosen == "json":
        response.headers.update(NO_STORE)
        return StatementAnswer.model_validate(statement_view(found))
    name = f"laporan-{merchant_id}-{found.month}"
    if chosen == "csv":
        disposition = f'attachment; filename="{name}.csv"'
        return Response(
            statement_csv(found),
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers=NO_STORE | {"Content-Disposition": disposition},
        )
    return Response(
        statement_html(found),
        media_type=f"{HTML_MEDIA_TYPE}; charset=utf-8",
        headers=NO_STORE | {"Content-Disposition": f'inline; filename="{name}.html"'},
    )


accept_chars_max = 512
_BY_MEDIA_TYPE = {JSON_MEDIA_TYPE: "json", CSV_MEDIA_TYPE: "csv", HTML_MEDIA_TYPE: "html"}


def _negotiated(accept: str) -> str:
    """``json``, ``csv`` or ``html``: the one ``Accept`` weighs highest (ties in its order),
    JSON when it names none of them."""
    best: tuple[float, str] | None = None
    for part in accept[:accept_chars_max].split(","):
        media_type, _, params = part.strip().partition(";")
        chosen = _BY_MEDIA_TYPE.get(media_type.strip().lower())
        weight = _weight(params)
        if chosen and weight > 0 and (best is None or weight > best[0]):
            best = (weight, chosen)
    return best[1] if best else "json"


def _weight(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                return 0.0
            return weight if 0.0 <= weight <= 1.0 else 0.0
    return 1.0


def _till_payload(request: Request, principal: Principal, checkout_id: str) -> str:
    """The QRIS payload of the checkout's open QRIS leg, for its merchant's key or the treasury."""
    with transaction(services(request).engine) as conn:
        found = find_till_checkout(conn, checkout_id)
    if found is None:
        raise ReportRefused(f"no checkout {checkout_id}", code="till_checkout_unknown")
    principal.require_merchant(found.merchant_id)
    return qris_payload(found)


_TILL = problem_responses(401, 403, 404, 409, 422)


@router.get(
    "/checkouts/{checkout_id}/qris.svg",
    response_class=Response,
    responses={
        200: {"description": "The dynamic QRIS as SVG.", "content": {"image/svg+xml": _IMAGE}},
        **_TILL,
    },
    openapi_extra=API_KEY_SECURITY,
)
def till_svg(checkout_id: CheckoutId, request: Request, principal: MerchantOrTreasury) -> Response:
    """The checkout's dynamic QRIS as an SVG image, for the till to show the Pioneer."""
    payload = _till_payload(request, principal, checkout_id)
    return Response(qris_svg(payload), media_type="image/svg+xml", headers=NO_STORE)


@router.get(
    "/checkouts/{checkout_id}/qris.png",
    response_class=Response,
    responses={
        200: {"description": "The dynamic QRIS as PNG.", "content": {"image/png": _IMAGE}},
        **_TILL,
    },
    openapi_extra=API_KEY_SECURITY,
)
def till_png(checkout_id: CheckoutId, request: Request, principal: MerchantOrTreasury) -> Response:
    """The checkout's dynamic QRIS as a PNG image, for tills that cannot draw SVG."""
    payload = _till_payload(request, principal, checkout_id)
    return Response(qris_png(payload), media_type="image/png", headers=NO_STORE)
