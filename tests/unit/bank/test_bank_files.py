"""The bank formats: the transfer file is deterministic and adds up; the confirmation reader
refuses every hostile file whole, with a stable code, before handing out its last line."""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.bank import errors
from chain.bank.account import BankAccount
from chain.bank.confirmation import ConfirmationLine, ConfirmationReader, line_bytes_max
from chain.bank.errors import BankAccountInvalid, ConfirmationRefused
from chain.bank.transfer_file import BatchHeader, TransferLine, write_transfer_file
from tests.support.bank import confirmation, file_lines, sealed

HEADER = BatchHeader("PO20261201", date(2026, 12, 1), 1_796_108_400_000_000)
ACCOUNT = BankAccount("014", "1234567890", "PECEL BU TIN")
AMOUNTS = st.lists(st.integers(1, 10**12), min_size=1, max_size=30)


def written(amounts: list[int]) -> bytes:
    lines = [
        TransferLine(n, ACCOUNT, units, "merchant", f"UM{n:03d}")
        for n, units in enumerate(amounts, start=1)
    ]
    out = io.BytesIO()
    write_transfer_file(HEADER, lines, out.write)
    return out.getvalue()


def read(data: bytes) -> list[ConfirmationLine]:
    return list(ConfirmationReader(io.BytesIO(data)).lines())


@given(AMOUNTS)
def test_the_file_is_the_same_bytes_every_time_and_adds_up(amounts: list[int]) -> None:
    data = written(amounts)
    assert data == written(amounts)
    control = data.decode().splitlines()[-1].split(",")
    assert control[1] == str(len(amounts))
    assert int(control[2].replace(".", "")) == sum(amounts)
    assert [int(f[5].replace(".", "")) for f in file_lines(data)] == amounts


@given(AMOUNTS, st.data())
def test_a_confirmation_reads_back_every_answer(amounts: list[int], data: st.DataObject) -> None:
    rejected = data.draw(st.sets(st.integers(1, len(amounts))))
    lines = read(confirmation(written(amounts), dict.fromkeys(rejected, "R01")))
    assert [line.amount_units for line in lines] == amounts
    assert {line.line_no for line in lines if not line.accepted} == rejected


def _answer(*details: str, total: str = "150.00", count: int | None = None) -> bytes:
    head = "H,PO20261201," + "a" * 64 + "\n"
    body = [head, *(d + "\n" for d in details)]
    return sealed(body, total, len(details) if count is None else count)


GOOD = "D,PO20261201-000001,150.00,ACCEPTED,BNK1,,"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (_answer(GOOD, total="151.00"), errors.CONFIRMATION_TOTAL_MISMATCH),
        (_answer(GOOD, count=2), errors.CONFIRMATION_COUNT_MISMATCH),
        (_answer(GOOD)[:-10] + b"0" * 9 + b"\n", errors.CONFIRMATION_CHECKSUM_MISMATCH),
        (_answer(GOOD, GOOD, total="300.00"), errors.CONFIRMATION_LINE_DUPLICATE),
        (_answer("D,PO20261202-000001,150.00,ACCEPTED,,,"), errors.CONFIRMATION_LINE_UNKNOWN),
        (_answer("D,PO20261201-000000,150.00,ACCEPTED,,,"), errors.CONFIRMATION_LINE_UNKNOWN),
        (_answer("X,PO20261201-000001,150.00,ACCEPTED,,,"), errors.CONFIRMATION_MALFORMED),
        (_answer("D,PO20261201-000001,150.00,MAYBE,,,"), errors.CONFIRMATION_MALFORMED),
        (_answer("D,PO20261201-000001,150.00,REJECTED,,,"), errors.CONFIRMATION_MALFORMED),
        (_answer("D,PO20261201-000001,150.00,ACCEPTED,,R01,"), errors.CONFIRMATION_MALFORMED),
        (_answer("D,PO20261201-000001,1.5e2,ACCEPTED,,,"), errors.CONFIRMATION_MALFORMED),
        (_answer("D,PO20261201-000001,0.00,ACCEPTED,,,", total="0.00"),
         errors.CONFIRMATION_MALFORMED),
        (_answer(GOOD + "," * 600), errors.CONFIRMATION_TOO_LARGE),
        (_answer(GOOD).replace(b"BNK1", "BNK\u00e9".encode()), errors.CONFIRMATION_MALFORMED),
        (_answer(GOOD).replace(b"BNK1", b"BN\x00K"), errors.CONFIRMATION_MALFORMED),
        (_answer(GOOD).replace(b"BNK1", "BNK1".encode("utf-16-le")), errors.CONFIRMATION_MALFORMED),
        (_answer(GOOD) + b"\n", errors.CONFIRMATION_MALFORMED),
        (_answer(GOOD).rsplit(b"T,", 1)[0], errors.CONFIRMATION_MALFORMED),
        (b"", errors.CONFIRMATION_MALFORMED),
        (b"H,PO2026,xyz\n", errors.CONFIRMATION_MALFORMED),
    ],
    ids=[
        "wrong-total", "wrong-count", "wrong-checksum", "duplicate-line", "other-batch-line",
        "line-zero", "unknown-record", "unknown-status", "rejected-without-reason",
        "accepted-with-reason", "exponent-amount", "zero-amount", "huge-line", "latin-1",
        "control-char", "utf-16", "bytes-after-control", "no-control-line", "empty", "bad-header",
    ],
)  # fmt: skip
def test_hostile_confirmations_are_refused_whole(data: bytes, code: str) -> None:
    handed: list[ConfirmationLine] = []
    with pytest.raises(ConfirmationRefused) as refused:
        handed.extend(ConfirmationReader(io.BytesIO(data)).lines())
    assert refused.value.code == code
    assert handed == []


def test_a_line_longer_than_the_limit_is_refused_before_it_is_split() -> None:
    huge = _answer("D,PO20261201-000001,150.00,ACCEPTED," + "A" * (10 * line_bytes_max) + ",,")
    with pytest.raises(ConfirmationRefused) as refused:
        list(ConfirmationReader(io.BytesIO(huge)).lines())
    assert refused.value.code == errors.CONFIRMATION_TOO_LARGE


def test_crlf_line_ends_are_read() -> None:
    body = ["H,PO20261201," + "a" * 64 + "\r\n", GOOD + "\r\n"]
    assert [line.line_no for line in read(sealed(body, "150.00", 1))] == [1]


@given(st.binary(max_size=400), st.integers(0, 400))
def test_any_corruption_is_read_or_refused_with_our_code(noise: bytes, at: int) -> None:
    valid = confirmation(written([15_000, 27_500]), {2: "R02"})
    spliced = valid[:at] + noise + valid[at:]
    try:
        read(spliced)
    except ConfirmationRefused as refused:
        code = refused.code
    else:
        code = "payout_confirmation_"
    assert code.startswith("payout_confirmation_")


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        (("14", "1234567890", "A"), "bank code"),
        (("014", "12-34", "A"), "account number"),
        (("014", "1234567890", "pecel"), "holder"),
        (("014", "1234567890", "A," * 3), "holder"),
        (("014", "1234567890", "A" * 71), "holder"),
    ],
)
def test_a_bank_account_is_validated(fields: tuple[str, str, str], shown: str) -> None:
    with pytest.raises(BankAccountInvalid, match=shown):
        BankAccount(*fields)


def test_a_typed_account_is_normalised() -> None:
    assert BankAccount.of(" 014", "1234-5678 90", " pecel  bu tin ") == ACCOUNT
