"""HTTP routes of the treasury's books of a closed month: the neraca and the laba rugi, as JSON,
CSV (``.csv``) or a printable page (``.html``), in Bahasa Indonesia, one section per asset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.problems import problem_responses
from api.routers.merchant_reads import CSV_MEDIA_TYPE, HTML_MEDIA_TYPE, NO_STORE
from settlement.books.month import MonthBooks, month_books
from settlement.books.render import books_csv, books_html, laba_rugi_view, neraca_view
from settlement.unit_of_work import transaction

router = APIRouter(prefix="/v1/books", tags=["books"])
Month = Annotated[
    str, Path(max_length=16, description="A closed month, YYYY-MM (WIB).", examples=["2026-03"])
]
_REFUSED = problem_responses(401, 403, 409, 422)
_FILE = {"schema": {"type": "string", "format": "binary"}}
_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"description": "CSV, Bahasa Indonesia.", "content": {CSV_MEDIA_TYPE: _FILE}}
}
_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"description": "A printable page.", "content": {HTML_MEDIA_TYPE: _FILE}}
}


class Amount(BaseModel):
    """An amount (signed): decimal text at its asset's scale, the asset, the smallest units."""

    amount: str
    asset: str
    amount_units: int


class AccountAnswer(Amount):
    """One account a line sums, with its figure."""

    code: str


class LineAnswer(Amount):
    """One figure: a chart pattern in one asset (``kind`` asset, liability, equity, income or
    expense), its label in Bahasa Indonesia and the accounts it sums."""

    kind: str
    label: str
    pattern: str
    accounts: list[AccountAnswer]


class TrialBalanceAnswer(BaseModel):
    """An asset's posted debits and credits over every account."""

    debits: Amount
    credits: Amount
    balanced: bool


class NeracaAsset(BaseModel):
    """One asset's balance sheet: assets = liabilities + equity (saldo laba and the month's
    result included)."""

    asset: str
    lines: list[LineAnswer]
    retained: Amount = Field(description="Saldo laba: income less expense before the month.")
    result: Amount = Field(description="The month's income less expense.")
    total_assets: Amount
    total_liabilities_and_equity: Amount
    balanced: bool
    trial_balance: TrialBalanceAnswer


class NeracaAnswer(BaseModel):
    """The neraca of a closed month, per asset."""

    month: str
    transfer_count: int
    assets: list[NeracaAsset]


class LabaRugiAsset(BaseModel):
    """One asset's income statement of the month."""

    asset: str
    lines: list[LineAnswer]
    total_income: Amount
    total_expense: Amount
    result: Amount


class LabaRugiAnswer(BaseModel):
    """The laba rugi of a closed month, per asset."""

    month: str
    transfer_count: int
    assets: list[LabaRugiAsset]


def _books(request: Request, month: str) -> MonthBooks:
    wired = services(request)
    with transaction(wired.engine) as conn:
        return month_books(conn, month, wired.clock.now_us())


def _file(body: str, media_type: str, name: str, disposition: str) -> Response:
    return Response(
        body,
        media_type=f"{media_type}; charset=utf-8",
        headers=NO_STORE | {"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


def _routes(
    report: str, as_json: Callable[[MonthBooks], dict[str, object]], model: type[BaseModel]
) -> None:
    """The three routes of one report: JSON, ``.csv`` and ``.html``."""

    def answer(request: Request, _: Treasury, month: Month, response: Response) -> BaseModel:
        found = _books(request, month)
        response.headers.update(NO_STORE)
        return model.model_validate(as_json(found))

    def csv_file(request: Request, _: Treasury, month: Month) -> Response:
        found = _books(request, month)
        return _file(
            books_csv(found, report), CSV_MEDIA_TYPE, f"{report}-{month}.csv", "attachment"
        )

    def html_page(request: Request, _: Treasury, month: Month) -> Response:
        found = _books(request, month)
        return _file(books_html(found, report), HTML_MEDIA_TYPE, f"{report}-{month}.html", "inline")

    answer.__doc__ = f"The {report} of a closed month (JSON), per asset."
    csv_file.__doc__ = f"The {report} of a closed month as CSV (Bahasa Indonesia)."
    html_page.__doc__ = f"The {report} of a closed month as a printable page."
    router.get(
        f"/{{month}}/{report}",
        responses=_REFUSED,
        name=f"{report}_json",
        response_model=model,
        openapi_extra=API_KEY_SECURITY,
    )(answer)
    router.get(
        f"/{{month}}/{report}.csv", responses=_TEXT | _REFUSED, name=f"{report}_csv",
        response_class=Response, openapi_extra=API_KEY_SECURITY,
    )(csv_file)  # fmt: skip
    router.get(
        f"/{{month}}/{report}.html", responses=_PAGE | _REFUSED, name=f"{report}_html",
        response_class=Response, openapi_extra=API_KEY_SECURITY,
    )(html_page)  # fmt: skip


_routes("neraca", neraca_view, NeracaAnswer)
_routes("laba-rugi", laba_rugi_view, LabaRugiAnswer)
