"""Export on PostgreSQL: post a month, close it, export, sign, verify; tamper and see it named."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from escrow.clock import FixedClock, SystemClock
from escrow.ledger import Ledger
from escrow.model import AccountFlags, AccountKind, ResultCode, TransferFlags, TransferRequest
from escrow.periods import period, period_of
from settlement.audit import bundle as b
from settlement.audit import store
from settlement.audit.canonical import pseudonym
from settlement.audit.cli import main
from settlement.audit.export import ExportRefused, export_period
from settlement.audit.signing import (
    Officers,
    load_officers,
    rotation_entry,
    sign_bundle,
    sign_rotation,
)
from settlement.unit_of_work import bind

pytestmark = pytest.mark.integration
KEY = b"integration-pseudonym-key"
day_s = 24 * 3600


@pytest.fixture
def keys() -> list[SigningKey]:
    return [SigningKey.generate(), SigningKey.generate()]


@pytest.fixture
def officers(tmp_path: Path, keys: list[SigningKey]) -> Officers:
    path = tmp_path / "officers.json"
    entries = [
        {"name": f"officer {i}", "public_key": bytes(k.verify_key).hex()}
        for i, k in enumerate(keys)
    ]
    path.write_text(json.dumps({"threshold": 2, "officers": entries}))
    return load_officers(path)


def open_accounts(ledger: Ledger) -> None:
    ledger.ensure_account("treasury:bank:IDR", "IDR", AccountKind.ASSET, owner="treasury")
    for merchant in ("UM001", "UM002"):
        ledger.ensure_account(
            f"merchant:{merchant}:IDR",
            "IDR",
            AccountKind.LIABILITY,
            owner=merchant,
            flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )
    ledger.ensure_account("treasury:pi_custody", "PI", AccountKind.ASSET, owner="treasury")
    ledger.ensure_account("pioneer:PX9:PI", "PI", AccountKind.LIABILITY, owner="PX9")


def move(debit: str, credit: str, amount: int, **more: object) -> TransferRequest:
    asset = "PI" if credit.endswith("PI") or debit.endswith("PI") else "IDR"
    return TransferRequest(uuid.uuid4(), debit, credit, amount, asset, "test.audit", **more)  # type: ignore[arg-type]


def post_month(ledger: Ledger, clock: FixedClock) -> TransferRequest:
    """A month of every kind of transfer; returns a hold left pending at the month's end."""
    holds = [
        move("treasury:bank:IDR", "merchant:UM002:IDR", n, flags=TransferFlags.PENDING)
        for n in (700, 90, 55)
    ]
    requests = [
        move("treasury:bank:IDR", "merchant:UM001:IDR", 150_000),
        *holds,
        move("treasury:pi_custody", "pioneer:PX9:PI", 31_415_926),
    ]
    for request in requests:
        clock.advance(60)
        assert ledger.post(request).code is ResultCode.OK
    clock.advance(60)
    post = TransferRequest(
        uuid.uuid4(), "", "", 600, "IDR", "t", TransferFlags.POST_PENDING, holds[0].id
    )
    void = TransferRequest(
        uuid.uuid4(), "", "", 0, "IDR", "t", TransferFlags.VOID_PENDING, holds[1].id
    )
    assert [r.code for r in ledger.post_batch([post, void])] == [ResultCode.OK, ResultCode.OK]
    return holds[2]


def close(ledger: Ledger, clock: FixedClock, name: str) -> None:
    clock.advance_to(period(name).ends_at_us + day_s * 1_000_000)
    ledger.close_period(name, "test")


def verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["verify", *argv])
    return code, capsys.readouterr().out


def tampered(bundle: Path, file: str, edit: dict[str, object], line: int = 0) -> Path:
    copy = bundle.with_name(f"{bundle.name}-{file}")
    shutil.copytree(bundle, copy)
    if file == b.SIGNATURES:
        document = json.loads((copy / file).read_text())
        document["signatures"][line] |= edit
        (copy / file).write_text(json.dumps(document))
        return copy
    lines = (copy / file).read_bytes().splitlines()
    lines[line] = json.dumps(
        json.loads(lines[line]) | edit, sort_keys=True, separators=(",", ":")
    ).encode()
    (copy / file).write_bytes(b"".join(item + b"\n" for item in lines))
    return copy


def test_export_sign_verify_and_tamper(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = Ledger(module_conn, clock)
    open_accounts(ledger)
    name = period_of(clock.now_us())
    open_hold = post_month(ledger, clock)
    close(ledger, clock, name)
    later = TransferRequest(
        uuid.uuid4(), "", "", 55, "IDR", "t", TransferFlags.POST_PENDING, open_hold.id
    )
    assert ledger.post(later).code is ResultCode.OK  # after the month: not in its balances

    out = tmp_path / name
    export = export_period(bind(module_conn, SystemClock()), name, out, KEY, officers, "test")
    export.publish()
    assert (export.transfer_count, export.balance_count) == (7, 5)
    for key in keys:
        assert sign_bundle(out, key)
    pinned = ["--officers", str(tmp_path / "officers.json")]
    code, report = verify(capsys, str(out), *pinned)
    assert code == 0, report
    assert "ok opening_balances: first month" in report

    published = b"".join((out / f).read_bytes() for f in b.FILES)
    assert b"UM001" not in published
    assert b"PX9" not in published
    merchant = f"merchant:{pseudonym(KEY, 'UM002')}:IDR"
    leaves = {
        json.loads(line)["account"]: json.loads(line)
        for line in (out / b.BALANCES).read_text().splitlines()
    }
    at_end = ledger.balance("merchant:UM002:IDR", at_ts=period(name).ends_at_us)
    assert (leaves[merchant]["credits_posted"], leaves[merchant]["credits_pending"]) == (
        at_end.credits_posted,
        at_end.credits_pending,
    )
    assert leaves[merchant]["credits_pending"] == 55
    assert leaves["treasury:bank:IDR"]["kind"] == "asset"

    again = export_period(
        bind(module_conn, SystemClock()), name, tmp_path / "again", KEY, officers, "test"
    )
    assert again.digest == export.digest

    cases: list[tuple[str, dict[str, object], str]] = [
        (b.TRANSFERS, {"amount": 150_001}, "transfer_root"),
        (b.BALANCES, {"credits_posted": 1}, "balance_root"),
        (b.SIGNATURES, {"signature": "00" * 64}, "signatures"),
    ]
    for file, edit, check in cases:
        code, report = verify(capsys, str(tampered(out, file, edit)), *pinned)
        assert code == 1
        assert report.startswith(f"FAIL {check}:"), report


def test_months_chain_and_export_in_order(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = Ledger(module_conn, clock)
    open_accounts(ledger)
    first = period_of(clock.now_us())
    with pytest.raises(ExportRefused, match="not closed"):
        export_period(
            bind(module_conn, SystemClock()), first, tmp_path / "x", KEY, officers, "test"
        )
    post_month(ledger, clock)
    close(ledger, clock, first)
    second = period_of(clock.now_us())
    post_month(ledger, clock)
    close(ledger, clock, second)

    with pytest.raises(ExportRefused, match=f"export {first} first"):
        export_period(
            bind(module_conn, SystemClock()), second, tmp_path / second, KEY, officers, "test"
        )
    bundles = []
    for name in (first, second):
        export = export_period(
            bind(module_conn, SystemClock()), name, tmp_path / name, KEY, officers, "test"
        )
        export.publish()
        for key in keys:
            sign_bundle(tmp_path / name, key)
        bundles.append(export)
    manifest = json.loads((tmp_path / second / b.MANIFEST).read_text())
    assert manifest["previous"] == {"period": first, "digest": bundles[0].digest}

    code, report = verify(capsys, str(tmp_path / second), "--previous", str(tmp_path / first))
    assert code == 0, report
    assert f"continuity: balances follow from {first}" in report

    with pytest.raises(DBAPIError, match="immutable"), module_conn.begin_nested():
        module_conn.execute(text("UPDATE audit_digests SET manifest = '{}'"))


def test_a_change_of_officers_is_exported_only_with_a_rotation_the_old_officers_signed(
    module_conn: Connection,
    clock: FixedClock,
    keys: list[SigningKey],
    officers: Officers,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ledger = Ledger(module_conn, clock)
    open_accounts(ledger)
    first = period_of(clock.now_us())
    post_month(ledger, clock)
    close(ledger, clock, first)
    export_period(
        bind(module_conn, SystemClock()), first, tmp_path / first, KEY, officers, "test"
    ).publish()
    for key in keys:
        sign_bundle(tmp_path / first, key)
    second = period_of(clock.now_us())
    post_month(ledger, clock)
    close(ledger, clock, second)
    new_keys = [SigningKey.generate()]
    new = Officers(1, (("new officer", bytes(new_keys[0].verify_key).hex()),))
    out = tmp_path / second

    with pytest.raises(ExportRefused, match=f"the officers differ from {first}'s"):
        export_period(bind(module_conn, SystemClock()), second, out, KEY, new, "test")
    half = sign_rotation(rotation_entry(second, officers, new), keys[0])
    with pytest.raises(ExportRefused, match="1 valid signatures of the officers in force, 2"):
        export_period(bind(module_conn, SystemClock()), second, out, KEY, new, "test", [half])
    assert not out.exists()
    assert list(tmp_path.glob(f".{second}*")) == [], "nothing written aside either"
    assert store.recorded_digest(module_conn, second) is None

    entry = sign_rotation(half, keys[1])
    export_period(
        bind(module_conn, SystemClock()), second, out, KEY, new, "test", [entry]
    ).publish()
    sign_bundle(out, new_keys[0])
    code, report = verify(capsys, str(out), "--previous", str(tmp_path / first))
    assert code == 0, report
    assert "changed by 1 signed officers.rotate" in report


def test_a_first_month_with_earlier_unpublished_transfers_is_refused(
    module_conn: Connection, clock: FixedClock, officers: Officers, tmp_path: Path
) -> None:
    ledger = Ledger(module_conn, clock)
    open_accounts(ledger)
    post_month(ledger, clock)
    clock.advance_to(period(period_of(clock.now_us())).ends_at_us + 3 * day_s * 1_000_000)
    later = period_of(clock.now_us())
    post_month(ledger, clock)
    close(ledger, clock, later)
    out = tmp_path / later
    with pytest.raises(ExportRefused, match="balances include transfers before it"):
        export_period(bind(module_conn, SystemClock()), later, out, KEY, officers, "test")
    assert not out.exists()
    assert store.recorded_digest(module_conn, later) is None
