"""Share rules on PostgreSQL: the seeded default, a merchant's own rule, who set it and when."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text

from escrow.calendar import to_us
from escrow.clock import FixedClock
from settlement.shares.allotment import Percent, Remaining
from settlement.shares.rules import (
    DEFAULT_RULE_ID,
    Allotment,
    Destination,
    RuleMerchantUnknown,
    ShareRule,
    ShareRuleInvalid,
    find_rule,
    parse_rule,
    rule_for,
    rule_record,
    set_rule,
    split,
)
from settlement.unit_of_work import bind
from tests.integration.shares.conftest import insert_merchant

pytestmark = pytest.mark.integration
NOW_US = 1_780_000_000_000_000


def _rule(rule_id: str, fee_bp: int = 200, cashback_bp: int = 100) -> ShareRule:
    return parse_rule(
        rule_id,
        [{"to": "platform_fee", "percent_bp": fee_bp}, {"to": "merchant", "remaining": True}],
        cashback_bp,
        10_000,
    )


def test_a_merchant_without_a_rule_gets_the_seeded_default(db_conn: Connection) -> None:
    merchant = insert_merchant(db_conn)
    rule = rule_for(db_conn, merchant)
    assert rule.id == DEFAULT_RULE_ID
    assert split(rule, 1_500_000, "IDR") == {
        Destination.PLATFORM_FEE: 15_000,
        Destination.COMMUNITY_FUND: 7_500,
        Destination.MERCHANT: 1_477_500,
    }


def test_a_merchants_own_rule_wins_and_records_who_and_when(db_conn: Connection) -> None:
    merchant = insert_merchant(db_conn)
    stored = set_rule(bind(db_conn, FixedClock(NOW_US)), _rule(merchant), by="treasury:ana")
    assert rule_for(db_conn, merchant) == stored == find_rule(db_conn, merchant)
    record = rule_record(db_conn, merchant)
    assert record is not None
    assert record["updated_by"] == "treasury:ana"
    assert to_us(record["updated_at"]) == NOW_US
    other = insert_merchant(db_conn)
    assert rule_for(db_conn, other).id == DEFAULT_RULE_ID


def test_setting_a_rule_again_replaces_it(db_conn: Connection) -> None:
    merchant = insert_merchant(db_conn)
    uow = bind(db_conn, FixedClock(NOW_US))
    set_rule(uow, _rule(merchant, fee_bp=200), by="a")
    set_rule(uow, _rule(merchant, fee_bp=300, cashback_bp=0), by="b")
    rule = rule_for(db_conn, merchant)
    assert rule.allotments[0].portion == Percent(300)
    assert rule.cashback_bp == 0
    assert (rule_record(db_conn, merchant) or {})["updated_by"] == "b"


def test_the_default_rule_can_be_set(db_conn: Connection) -> None:
    set_rule(bind(db_conn, FixedClock(NOW_US)), _rule(DEFAULT_RULE_ID, fee_bp=50), by="ops")
    assert rule_for(db_conn, insert_merchant(db_conn)).allotments[0].portion == Percent(50)


def _count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM revenue_share_rules")).scalar_one())


def test_a_rule_for_no_merchant_is_refused_and_nothing_is_written(db_conn: Connection) -> None:
    before = _count(db_conn)
    with pytest.raises(RuleMerchantUnknown) as refused:
        set_rule(bind(db_conn, FixedClock(NOW_US)), _rule("NOBODY"), by="ops")
    assert refused.value.code == "share_rule_merchant_unknown"
    assert _count(db_conn) == before


def test_a_hand_built_invalid_rule_is_refused_and_nothing_is_written(
    db_conn: Connection,
) -> None:
    merchant = insert_merchant(db_conn)
    no_merchant = ShareRule(merchant, (Allotment(Destination.PLATFORM_FEE, Remaining()),), 0, None)
    before = _count(db_conn)
    with pytest.raises(ShareRuleInvalid):
        set_rule(bind(db_conn, FixedClock(NOW_US)), no_merchant, by="ops")
    assert _count(db_conn) == before
    assert find_rule(db_conn, merchant) is None
