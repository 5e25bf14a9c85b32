"""``msc lock list|show|accrue|commitments`` and the points rules ``msc points dividend|bonus|
expire|show``: lock-and-earn positions and MSC Points issuance for operators (decision 0029)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from escrow.clock import SystemClock
from settlement.cli.database import migrated_engine, run_refusing, run_work
from settlement.cli.output import ByOption, Output, OutputOption, cli_actor, emit, record_operator
from settlement.config import Settings
from settlement.locks import positions
from settlement.locks.accrual import accrue_all
from settlement.locks.closing import mature_all
from settlement.mscp import bonuses, dividend, expiry
from settlement.mscp.statement import statement
from settlement.unit_of_work import UnitOfWork

app = typer.Typer(help="Lock-and-earn positions.", no_args_is_help=True)


@app.command("list")
def list_(
    uid: Annotated[str | None, typer.Option("--uid", help="Only this Pioneer's.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=positions.page_max)] = 20,
    output: OutputOption = Output.TEXT,
) -> None:
    """Lock positions by id."""
    emit(run_work(lambda uow: [p.view() for p in positions.page(uow.conn, uid=uid, limit=limit)]),
         output)  # fmt: skip


@app.command("show")
def show(
    lock_id: Annotated[uuid.UUID, typer.Argument(help="The position's id.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """One position with its accrual."""
    emit(run_refusing(lambda uow: positions.require(uow.conn, lock_id, None).view()), output)


@app.command("commitments")
def commitments(output: OutputOption = Output.TEXT) -> None:
    """What the points budget holds and what open locks reserved and vested."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return {"budget_available": positions.budget_available(uow),
                **positions.commitments(uow.conn)}  # fmt: skip

    emit(run_work(work), output)


@app.command("accrue")
def accrue(output: OutputOption = Output.TEXT) -> None:
    """Accrue every open lock to now and close the matured (what the worker does on schedule)."""
    with migrated_engine(Settings()) as engine:
        clock = SystemClock()
        done = accrue_all(engine, clock.now_us())
        matured = mature_all(engine, clock)
    emit({"position_days": done.days, "positions": done.positions, "matured": matured}, output)


def register(points_app: typer.Typer) -> None:
    """Add the points rules' commands to ``msc points``."""

    @points_app.command("dividend")
    def upload_dividend(
        path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Signed batch.")],
        *,
        by: ByOption,
        output: OutputOption = Output.TEXT,
    ) -> None:
        """Accept a signed data-dividend batch: each line's points issued once from the budget."""
        record_operator("points dividend", by)
        raw = path.read_bytes()
        done = run_refusing(lambda uow: dividend.accept(uow, raw, cli_actor(by)))
        emit({"digest": done.digest, "batch_id": done.batch_id, "month": done.month,
              "pioneers": done.pioneers, "points": done.points}, output)  # fmt: skip

    @points_app.command("bonus")
    def bonus(
        kind: Annotated[str, typer.Argument(help="onboarding or referral.")],
        uid: Annotated[str, typer.Argument(help="The Pioneer (the referrer for a referral).")],
        referred: Annotated[str | None, typer.Option(help="The referred Pioneer.")] = None,
        *,
        by: ByOption,
        output: OutputOption = Output.TEXT,
    ) -> None:
        """Grant the onboarding bonus, or register a referral (its bonus granted once, at the
        referred Pioneer's first posted payment or now if they already paid)."""
        record_operator("points bonus", by)
        if kind not in ("onboarding", "referral") or (kind == "referral") != (referred is not None):
            raise typer.BadParameter("onboarding UID, or referral UID --referred UID")

        def work(uow: UnitOfWork) -> dict[str, Any]:
            if referred is None:
                return {"kind": kind, "uid": uid,
                        "transfer_id": str(bonuses.onboarding(uow, uid))}  # fmt: skip
            granted = bonuses.register_referral(uow, uid, referred, cli_actor(by))
            return {"kind": kind, "uid": uid, "referred": referred, "granted_now": granted}

        emit(run_refusing(work), output)

    @points_app.command("expire")
    def expire(*, by: ByOption, output: OutputOption = Output.TEXT) -> None:
        """Book the breakage of points past the treasury's term (what the worker does)."""
        record_operator("points expire", by)
        emit({"expired": run_work(expiry.expire_due)}, output)

    @points_app.command("show")
    def show_points(
        uid: Annotated[str, typer.Argument(help="The Pioneer.")],
        output: OutputOption = Output.TEXT,
    ) -> None:
        """A Pioneer's points: balance, expiry schedule and history."""
        emit(run_work(lambda uow: statement(uow, uid)), output)
