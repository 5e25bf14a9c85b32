"""The demo's small parts: where its clock starts, the sandbox bank's confirmation (read back by
the service's own reader), the merchant's printed QRIS, where it finds the fixtures, the audit
settings it never takes from the deployment, and its local witness."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from chain.bank.account import BankAccount
from chain.bank.confirmation import ConfirmationReader
from chain.bank.transfer_file import BatchHeader, TransferLine, batch_id_of, write_transfer_file
from chain.qris.payload import decode
from escrow.calendar import WIB, from_us, to_us
from escrow.periods import period, period_of
from settlement.audit.checkpoint import Checkpoint
from settlement.audit.cumulative import LogConfig
from settlement.audit.note import COSIGNATURE_V1, generate_signer, parse_vkey, sign_note
from settlement.audit.witness import encode_request, read_cosignature
from settlement.config import Settings, WitnessSetting
from settlement.demo.checkout import bank_accepts
from settlement.demo.fixtures import FixturesMissing, fixtures_dir
from settlement.demo.merchant import sandbox_nmid, static_qris
from settlement.demo.play import story_start_us
from settlement.demo.running import (
    DEMO_DATABASE,
    DEMO_WITNESS_NAME,
    DemoUnavailable,
    demo_settings,
    local_witness,
    refuse_unsafe,
)

moments = st.datetimes(
    min_value=datetime(2001, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2090, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(moments)
def test_the_story_starts_in_the_month_before_now(moment: datetime) -> None:
    now_us = to_us(moment)
    start_us = story_start_us(now_us)
    this_month = period(period_of(now_us))
    assert start_us < this_month.starts_at_us
    assert period_of(start_us) == period_of(this_month.starts_at_us - 1)
    started = from_us(start_us).astimezone(WIB)
    assert (started.day, started.hour, started.minute) == (10, 9, 0)


@given(st.lists(st.integers(1, 10**12), min_size=1, max_size=20), st.dates(date(2020, 1, 1)))
def test_the_sandbox_bank_accepts_every_line_of_a_transfer_file(
    amounts: list[int], day: date
) -> None:
    account = BankAccount.of("014", "0012345678", "PECEL BU TIN")
    lines = [
        TransferLine(i, account, amount, "merchant", f"UM{i:03d}")
        for i, amount in enumerate(amounts, start=1)
    ]
    written = io.BytesIO()
    header = BatchHeader(batch_id_of(day), day, to_us(datetime(2026, 1, 1, tzinfo=WIB)))
    write_transfer_file(header, lines, written.write)

    answer = bank_accepts(written.getvalue().decode("ascii"))
    reader = ConfirmationReader(io.BytesIO(answer.encode("ascii")))
    assert reader.header.batch_id == header.batch_id
    read = list(reader.lines())
    assert [line.amount_units for line in read] == amounts
    assert all(line.accepted for line in read)


def test_the_printed_qris_carries_the_merchants_nmid() -> None:
    nmid = sandbox_nmid("UM001")
    assert nmid == sandbox_nmid("UM001") != sandbox_nmid("UM002")
    payload = decode(static_qris(nmid, "Pecel Bu Tin yang namanya panjang sekali", "UMI"))
    assert not payload.is_dynamic
    assert [a.merchant_id for a in payload.merchant_accounts] == [nmid]
    assert payload.merchant_name == "Pecel Bu Tin yang namanya"


def test_fixtures_are_found_where_named_or_refused(tmp_path: Path) -> None:
    with pytest.raises(FixturesMissing, match="--fixtures"):
        fixtures_dir(tmp_path)
    for name in ("pilot.json", "incentives.json"):
        (tmp_path / name).write_text("{}")
    assert fixtures_dir(tmp_path) == tmp_path


def test_the_demo_refuses_to_drop_the_configured_database_or_leave_anvil() -> None:
    server = "postgresql://postgres@127.0.0.1:5432/msc"
    with pytest.raises(DemoUnavailable, match="own database"):
        refuse_unsafe(Settings(database_url=server), "msc")
    with pytest.raises(DemoUnavailable, match="local anvil"):
        refuse_unsafe(Settings(evm_chain_id=11155111), DEMO_DATABASE)
    refuse_unsafe(Settings(database_url=server), DEMO_DATABASE)
    refuse_unsafe(Settings(), DEMO_DATABASE)


def test_the_demo_never_takes_the_deployments_audit_keys_places_or_witnesses(
    tmp_path: Path,
) -> None:
    elsewhere = generate_signer("witness.example.org", COSIGNATURE_V1).verifier.vkey()
    configured = Settings(
        audit_publish_dir=tmp_path / "published",
        tlog_note_key_file=tmp_path / "note.key",
        tlog_witnesses=[WitnessSetting(vkey=elsewhere, url="https://witness.example.org")],
        audit_stellar_secret=SecretStr("S" + "A" * 55),
        audit_stellar_secret_file=tmp_path / "stellar.secret",
    )
    folder = tmp_path / "demo"
    wired = demo_settings(configured, "postgresql://postgres@127.0.0.1/msc_demo", folder)
    assert wired.audit_publish_path() == folder / "audit"
    assert wired.tlog_note_key_file is None
    assert wired.tlog_witnesses == []
    assert (wired.audit_stellar_secret, wired.audit_stellar_secret_file) == (None, None)
    assert (wired.pi_sandbox, wired.data_dir) == (True, folder)


def test_the_local_witness_cosigns_the_demos_log_and_refuses_another(tmp_path: Path) -> None:
    log = generate_signer("madiun.go.id/msc/transfers")
    other = generate_signer("madiun.go.id/msc/transfers")
    text = Checkpoint(log.name, 1, bytes(32)).text()
    with local_witness(tmp_path, LogConfig(log.name, log), "127.0.0.1") as witness:
        assert witness.vkey.startswith(DEMO_WITNESS_NAME + "+")
        about = httpx.get(witness.url + "/", timeout=5)
        assert about.text == f"witness {witness.vkey}\n"
        forged = sign_note(text, other).encode()
        refused = httpx.post(witness.url + "/add-checkpoint", content=encode_request(0, [], forged))
        assert refused.status_code == 403, refused.text
        note = sign_note(text, log).encode()
        reply = httpx.post(witness.url + "/add-checkpoint", content=encode_request(0, [], note))
        assert reply.status_code == 200, reply.text
        line, cosignature = read_cosignature(reply.content, text, parse_vkey(witness.vkey))
        assert line.startswith(f"\u2014 {DEMO_WITNESS_NAME} ")
        assert cosignature.timestamp > 0
    with pytest.raises(httpx.TransportError):
        httpx.get(witness.url + "/", timeout=1)
