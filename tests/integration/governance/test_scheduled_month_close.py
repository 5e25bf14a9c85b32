"""Beat's month close on the 1st proposes ``period.close`` for the officers: it never closes the
month itself; a rerun records the same proposal once; a month closed by the officers is left
alone; without officers it is refused with the governance code and nothing is recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from escrow.clock import FixedClock, SystemClock
from escrow.periods import period, period_of
from settlement.audit.proposal import sign
from settlement.audit.store import closed_transfer_count
from settlement.bootstrap import Container, build_container
from settlement.config import Settings
from settlement.governance import log as store
from settlement.governance import treasury
from settlement.unit_of_work import unit_of_work
from settlement.worker import close_last_month
from tests.support.governance import OFFICER_KEYS, THRESHOLD, ensure_officers

pytestmark = pytest.mark.integration


@pytest.fixture
def beat(module_database_url: str) -> Iterator[tuple[Container, str]]:
    """The worker's container on the 1st, 01:00 WIB, of the current month (the governance log's
    time never goes backwards: the test officers are registered at the system's time), and the
    month that ended."""
    current = period(period_of(SystemClock().now_us()))
    ended = period_of(current.starts_at_us - 1)
    clock = FixedClock(current.starts_at_us + 3600 * 1_000_000)
    container = build_container(Settings(), module_database_url, clock)
    yield container, ended
    container.engine.dispose()


def _proposals(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM governance_log WHERE kind = :k"),
                {"k": "proposal.created"},
            ).scalar_one()
        )


def test_without_officers_the_close_is_refused_and_nothing_recorded(
    beat: tuple[Container, str],
) -> None:
    container, _ended = beat
    with container.engine.connect() as conn:
        if store.officers_at(conn) is not None:
            pytest.skip("officers were registered by an earlier test of this module")
    assert close_last_month(container).startswith("refused: governance_")
    assert _proposals(container.engine) == 0


def test_the_month_close_is_proposed_once_and_left_alone_once_the_officers_closed_it(
    beat: tuple[Container, str],
) -> None:
    container, ended = beat
    ensure_officers(container.engine)
    before = _proposals(container.engine)
    first = close_last_month(container)
    assert first.startswith(f"proposed closing {ended}: ")
    assert close_last_month(container) == first
    assert _proposals(container.engine) == before + 1
    with container.engine.connect() as conn:
        assert closed_transfer_count(conn, ended) is None  # proposed, not closed
    proposal_id = first.rsplit(" ", 1)[1]
    deployment = container.settings.deployment_id
    with unit_of_work(container.engine, container.clock) as uow:
        proposal = store.created(uow.conn, proposal_id)
        assert proposal is not None
        for key in OFFICER_KEYS[:THRESHOLD]:
            treasury.add_signature(uow, deployment, proposal_id, sign(proposal, key))
        treasury.execute(uow, deployment, proposal_id)
    assert close_last_month(container) == f"{ended} is closed"
    assert _proposals(container.engine) == before + 1
