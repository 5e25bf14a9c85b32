"""MSC Points on PostgreSQL (decision 0029): issued by rule from the budget (onboarding once,
referral once per referred Pioneer after a first payment, a signed data dividend), spent at a
checkout as the MSCP tender, expired first in first out with the breakage in the Pioneer's
history; a merchant redeems points for Rupiah owed through the payout batch."""

from __future__ import annotations

import json
import uuid

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Connection, text

from escrow.ledger import Ledger
from settlement import chart, parameters
from settlement.checkout import service
from settlement.checkout.pricing import TenderShare
from settlement.mscp import bonuses, dividend, expiry, lots, redemption
from settlement.mscp.issue import PointsRefused
from settlement.points import fund_budget
from settlement.shares.rules import parse_rule, set_rule
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork, bind
from tests.integration.checkout.test_checkout_service import (
    deps,
    half_and_half,
    onboard,
    pay_pi,
    pay_qris,
)
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration
DAY_S = 86_400
SEED = "11" * 32


def _treasury(uow: UnitOfWork, budget: int) -> None:
    fund_budget(uow, budget, by="test", key=uuid.uuid4().hex)
    parameters.set_(uow, parameters.POINT_VALUE_IDR, "500.00", "test")
    parameters.set_(uow, parameters.MSCP_ONBOARDING_BONUS, 100, "test")
    parameters.set_(uow, parameters.MSCP_REFERRAL_BONUS, 25, "test")
    parameters.set_(uow, parameters.MSCP_EXPIRY_DAYS, 30, "test")
    public = SigningKey(bytes.fromhex(SEED)).verify_key.encode().hex()
    parameters.set_(uow, parameters.DATA_TEAM_KEYS, {"data-2026": public}, "test")


def _points(conn: Connection, uid: str) -> int:
    return Ledger(conn).balance(chart.pioneer_balance(uid, "MSCP").code).posted


def test_points_issued_spent_at_a_checkout_and_expired(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    _treasury(uow, 1_000)
    uid = f"pioneer-{uuid.uuid4().hex[:8]}"
    first = bonuses.onboarding(uow, uid)
    assert bonuses.onboarding(uow, uid) == first  # once per Pioneer
    assert _points(db_conn, uid) == 100
    merchant = onboard(db_conn, pi_world, Tender.MSCP, Tender.QRIS)
    request = half_and_half(merchant, pioneer_uid=uid, shares=(TenderShare(Tender.MSCP, 10_000),))
    created = service.create_checkout(uow, deps(pi_world), request, "m")
    service.pay_with_balance(uow, created.id, Tender.MSCP, uid)
    assert _points(db_conn, uid) == 70  # Rp 15.000 at Rp 500 a point
    pi_world.clock.now += 10 * DAY_S
    second = bonuses.onboarding(uow, uid)
    assert second == first
    dividend.accept(uow, json.dumps(_signed("b-1", {uid: 40})).encode(), "treasury:test")
    assert _points(db_conn, uid) == 110
    schedule = lots.held(uow, uid)
    assert [(lot.source, lot.remaining) for lot in schedule] == [
        ("onboarding", 70), ("data_dividend", 40),
    ]  # fmt: skip
    pi_world.clock.now += 21 * DAY_S  # the bonus is 31 days old, the dividend 21
    assert expiry.expire_due(uow) == 70
    assert expiry.expire_due(uow) == 0  # a rerun books nothing more
    assert _points(db_conn, uid) == 40
    assert Ledger(db_conn).balance(chart.mscp_breakage().code).posted == 70
    history = Ledger(db_conn).history(chart.pioneer_balance(uid, "MSCP").code)
    assert [t.code for t in history][-1] == "points.expired"
    pi_world.clock.now += 10 * DAY_S
    assert expiry.expire_due(uow) == 40
    assert _points(db_conn, uid) == 0
    for line in Ledger(db_conn).trial_balance():
        assert line.balanced, line


def _signed(batch_id: str, lines: dict[str, int], seed: str = SEED) -> dict[str, object]:
    batch = {
        "batch_id": batch_id,
        "month": "2026-11",
        "lines": [{"uid": u, "points": p} for u, p in lines.items()],
    }
    return dividend.sign(batch, "data-2026", seed)


def _written(conn: Connection) -> tuple[int, ...]:
    return tuple(
        int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
        for t in ("transfers", "mscp_lots", "data_dividend_batches", "mscp_bonuses")
    )


def test_bad_batches_and_unearned_bonuses_write_nothing(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    _treasury(uow, 100)
    good = _signed("b-2", {"ani": 10})
    dividend.accept(uow, json.dumps(good).encode(), "treasury:test")
    tampered = {**good, "batch": {**good["batch"], "lines": [{"uid": "ani", "points": 99}]}}  # type: ignore[dict-item]
    other_key = {**_signed("b-3", {"ani": 10}, seed="22" * 32)}
    unknown = {**_signed("b-4", {"ani": 10}), "key_id": "nobody"}
    too_big = _signed("b-5", {"ani": 60, "budi": 60})
    before = _written(db_conn)
    for raw, code in (
        (good, "dividend_batch_replayed"),
        (tampered, "dividend_signature_invalid"),
        (other_key, "dividend_signature_invalid"),
        (unknown, "dividend_key_unknown"),
        (too_big, "points_budget_exhausted"),
        ({"batch": {}, "key_id": "x", "signature": ""}, "dividend_batch_invalid"),
    ):
        with pytest.raises((dividend.DividendRefused, PointsRefused)) as refused:
            dividend.accept(uow, json.dumps(raw).encode(), "treasury:test")
        assert refused.value.code == code
    with pytest.raises(PointsRefused) as unearned:
        bonuses.referral(uow, "ani", "never-paid")
    assert unearned.value.code == "points_referral_not_earned"
    assert _written(db_conn) == before


def test_a_merchant_redeems_points_for_rupiah_once_per_key(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    _treasury(uow, 1_000)
    uid = f"pioneer-{uuid.uuid4().hex[:8]}"
    bonuses.onboarding(uow, uid)
    merchant = onboard(db_conn, pi_world, Tender.MSCP, Tender.QRIS)
    request = half_and_half(merchant, pioneer_uid=uid, shares=(TenderShare(Tender.MSCP, 10_000),))
    created = service.create_checkout(uow, deps(pi_world), request, "m")
    service.pay_with_balance(uow, created.id, Tender.MSCP, uid)
    service.handover(uow, deps(pi_world), created.id, merchant, "m")
    held = Ledger(db_conn).balance(chart.merchant_balance(merchant, "MSCP").code).posted
    assert 0 < held <= 30  # the 30 points less the platform's and the community's shares
    chart.open_account(Ledger(db_conn), chart.merchant_idr(merchant))
    before = Ledger(db_conn).balance(chart.merchant_idr(merchant).code).posted
    done = redemption.redeem(uow, merchant, held, "r-1")
    assert redemption.redeem(uow, merchant, held, "r-1") == done
    assert done["idr_units"] == held * 50_000
    assert (
        Ledger(db_conn).balance(chart.merchant_idr(merchant).code).posted == before + held * 50_000
    )
    with pytest.raises(PointsRefused) as short:
        redemption.redeem(uow, merchant, 1, "r-2")
    assert short.value.code == "points_insufficient"


def test_cashback_points_are_a_lot_that_expires_like_any_other(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    _treasury(uow, 1_000)
    merchant = onboard(db_conn, pi_world)
    rule = parse_rule(merchant, [{"to": "merchant", "remaining": True}], 1_000, 1_000_000)
    set_rule(uow, rule, by="test")  # 10 % cashback, at most Rp 10.000
    created = service.create_checkout(uow, deps(pi_world), half_and_half(merchant), "m")
    pi_leg, qris_leg = created.legs
    uid = pay_pi(db_conn, pi_world, pi_leg.reference, "1.5")
    pay_qris(db_conn, pi_world, qris_leg.reference, qris_leg.amount_units)
    service.handover(uow, deps(pi_world), created.id, merchant, "m")
    assert [(lot.source, lot.remaining) for lot in lots.held(uow, uid)] == [("cashback", 3)]
    assert _points(db_conn, uid) == 3  # 10 % of Rp 15.000 at Rp 500 a point
    pi_world.clock.now += 31 * DAY_S
    assert expiry.expire_due(uow) == 3
    assert _points(db_conn, uid) == 0


def test_a_referral_is_rewarded_once_at_the_referred_pioneers_first_payment(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    _treasury(uow, 1_000)
    budi = pi_world.driver.add_pioneer("budi-referred", "100")
    assert bonuses.register_referral(uow, "ani-referrer", budi.uid, "test") is False
    assert bonuses.register_referral(uow, "ani-referrer", budi.uid, "test") is False  # once
    with pytest.raises(PointsRefused) as taken:
        bonuses.register_referral(uow, "someone-else", budi.uid, "test")
    assert taken.value.code == "points_referral_exists"
    merchant = onboard(db_conn, pi_world)
    created = service.create_checkout(uow, deps(pi_world), half_and_half(merchant), "m")
    pay_pi(db_conn, pi_world, created.legs[0].reference, "1.5", budi)  # the U2A completion
    assert _points(db_conn, "ani-referrer") == 25
    assert bonuses.referral_on_payment(uow, budi.uid) is False  # a later payment: not again
    assert _points(db_conn, "ani-referrer") == 25
    assert [lot.source for lot in lots.held(uow, "ani-referrer")] == ["referral"]
