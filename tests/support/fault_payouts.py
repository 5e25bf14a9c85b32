"""The daily payout cut on the real stack: a merchant paid by bank file (Rupiah) and by A2U (the
Pi it keeps), what it was owed before today's cut-off, and what left the wallet and the file.

A cut pays only what was credited by its cut-off (``MSC_PAYOUT_CUTOFF_WIB``, minutes), so the
stream's own receipts, all after 00:00 WIB today, wait for tomorrow's batch; what today's batch
pays was earned yesterday: booked in the test process with yesterday's clock as the ledger's
first transfers (as tests/integration/payouts books it), the Pi of it put into the sandbox's app
wallet so that custody still matches the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, text

from chain.pi.amounts import to_units
from escrow.calendar import WIB, business_day, from_us
from escrow.clock import FixedClock, SystemClock
from escrow.model import TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode, open_account
from settlement.payouts.cut import CutPolicy, cutoff_at_us
from settlement.payouts.pi import payout_key
from settlement.unit_of_work import unit_of_work
from tests.support.bank import confirmation, file_lines
from tests.support.fault_stack import OPERATOR, Caller, World, keyed, onboard, pi_pioneer
from tests.support.payouts import credit

CUTOFF_WIB = "00:00"
"""Today's cut-off has passed whenever the test runs; yesterday's receipts are before it."""
DAY_US = 24 * 3600 * 1_000_000
BANK = {"bank_code": "014", "account_number": "1234567890", "holder_name": "PECEL BU TIN"}


@dataclass(frozen=True)
class Payee:
    """A merchant taking Pi and QRIS who keeps its Pi, paid to a bank account and a Pi wallet."""

    merchant_id: str
    till: dict[str, str]
    pi_uid: str
    pi_address: str


def pi_keeping_payee(caller: Caller, world: World) -> Payee:
    """Onboard the merchant and record where it is paid (its bank account, its Pi uid)."""
    merchant_id, till = onboard(caller)
    wallet = pi_pioneer(world, caller)
    body = {"bank_account": BANK, "pi_uid": wallet["uid"]}
    put = caller.send(
        "PUT", f"/v1/merchants/{merchant_id}/payout-details", json=body, headers=keyed(OPERATOR)
    )
    assert put.status_code == 200, put.text
    return Payee(merchant_id, till, wallet["uid"], wallet["address"])


def owed_from_yesterday(engine: Engine, world: World, payee: Payee, idr: int, pi: int) -> date:
    """Book ``idr`` sen and ``pi`` Pi units to the merchant with yesterday's clock (before any
    other transfer, so their ledger timestamps are yesterday's); today's business day."""
    yesterday = SystemClock().now_us() - DAY_US
    with unit_of_work(engine, FixedClock(yesterday)) as uow:
        credit(uow, payee.merchant_id, idr)
        custody = open_account(uow.ledger, chart.pi_custody()).code
        account = open_account(uow.ledger, chart.merchant_balance(payee.merchant_id, "PI")).code
        request = TransferRequest(
            transfer_id("test.pi", payee.merchant_id), custody, account, pi, "PI",
            TransferCode.PI_RECEIVED,
        )  # fmt: skip
        assert uow.ledger.post(request).ok
    world.pi.chain.fund(world.pi.platform.app_address, pi)  # the Pi behind the custody booked
    today = business_day(datetime.now(WIB))
    with engine.connect() as conn:
        latest = conn.execute(text("SELECT max(ts) FROM transfers")).scalar_one()
    assert latest < cutoff_at_us(today, CutPolicy.of(CUTOFF_WIB, 1).cutoff), (
        f"the first transfers are not yesterday's: {from_us(latest)}"
    )
    return today


def cut_and_confirm(caller: Caller, day: date) -> tuple[dict[str, Any], bytes]:
    """The treasury cuts ``day``'s batch, downloads its file and uploads the bank's
    confirmation (every line accepted), each request retried until answered; the batch and
    the file's bytes."""
    cut = caller.send(
        "POST", "/v1/payouts/batches", json={"day": day.isoformat()}, headers=keyed(OPERATOR)
    )
    assert cut.status_code == 201, cut.text
    answer = cut.json()
    assert (answer["written"], answer["pi_payouts"]) == (True, 1), answer
    batch = dict(answer["batch"])
    url = f"/v1/payouts/batches/{batch['id']}"
    got = caller.send("GET", f"{url}/file", headers=OPERATOR)
    assert got.status_code == 200, got.text
    bank = {"file": confirmation(got.content).decode("ascii")}
    done = caller.send("POST", f"{url}/confirmation", json=bank, headers=keyed(OPERATOR))
    assert done.status_code == 200, done.text
    return batch, got.content


def a2u_paid(world: World, address: str) -> list[int]:
    """Every payment from the app wallet to ``address`` that Pi's chain carried out (units)."""
    app = world.pi.platform.app_address
    return [
        to_units(str(op["amount"]))
        for stored in list(world.pi.chain.transactions.values())
        if stored.record["successful"] is True
        for op in stored.operations
        if op["type"] == "payment" and (op["from"], op["to"]) == (app, address)
    ]


def assert_paid_once(
    caller: Caller, engine: Engine, world: World, payee: Payee, paid: tuple[dict[str, Any], bytes],
    idr: int, pi: int,
) -> None:  # fmt: skip
    """Today's batch paid the merchant ``idr`` sen in one line of its file, applied once, and
    ``pi`` Pi by one A2U that left the wallet once; a second cut or confirmation changes nothing."""
    batch, data = paid
    url = f"/v1/payouts/batches/{batch['id']}"
    lines = file_lines(data)
    assert [(f[5], f[6], f[7]) for f in lines] == [
        (f"{idr // 100}.{idr % 100:02d}", "merchant", payee.merchant_id)
    ]
    assert caller.send("GET", f"{url}/file", headers=OPERATOR).content == data
    again = caller.send(
        "POST", "/v1/payouts/batches", json={"day": batch["business_day"]}, headers=keyed(OPERATOR)
    )
    assert (again.json()["written"], again.json()["batch"]["id"]) == (False, batch["id"])
    bank = {"file": confirmation(data).decode("ascii")}
    repeat = caller.send("POST", f"{url}/confirmation", json=bank, headers=keyed(OPERATOR))
    assert repeat.json()["applied"] is False
    assert repeat.json()["batch"]["accepted_units"] == idr
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT asset, debits_posted, debits_pending FROM accounts"
                 " WHERE code = ANY(:codes)"),
            {"codes": [chart.merchant_idr(payee.merchant_id).code,
                       chart.merchant_balance(payee.merchant_id, "PI").code]},
        ).all()  # fmt: skip
        payouts = conn.execute(
            text("SELECT key, amount_units, status FROM pi_payouts WHERE uid = :uid"),
            {"uid": payee.pi_uid},
        ).all()
    debited = {asset: (posted, pending) for asset, posted, pending in rows}
    assert debited == {"IDR": (idr, 0), "PI": (pi, 0)}, debited
    assert [tuple(row) for row in payouts] == [
        (payout_key(batch["id"], payee.merchant_id), pi, "completed")
    ]
    assert a2u_paid(world, payee.pi_address) == [pi]
    a2u = [p for p in world.pi.platform.payments.values() if p["user_uid"] == payee.pi_uid]
    assert [p["status"]["developer_completed"] for p in a2u] == [True]  # type: ignore[index]
