"""The stored batch written as the bank transfer file (``chain.bank.transfer_file``), streamed
from its lines a page at a time: the same stored batch always gives the same bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import Connection, Engine

from chain.bank.account import BankAccount
from chain.bank.transfer_file import (
    BatchHeader,
    FileSummary,
    TransferFileRecords,
    TransferLine,
    write_transfer_file,
)
from escrow.errors import InvariantViolation
from escrow.rules import batch_transfers_max
from settlement.payouts import store
from settlement.payouts.store import Batch, StoredLine
from settlement.unit_of_work import transaction

file_page_lines = batch_transfers_max
"""Lines read per query while writing (a ledger batch's worth, so that the cut can hold a page
as it writes it): memory stays flat whatever the batch's size."""
Page = list[StoredLine]
chunk_bytes = 64 * 1024
"""What ``stream_file`` hands out at a time."""


def write_file(
    conn: Connection,
    batch: Batch,
    write: Callable[[bytes], object],
    each_page: Callable[[Page], None] | None = None,
) -> FileSummary:
    """Write ``batch``'s file to ``write``; its control figures. ``each_page`` sees each page of
    stored lines before they are written (the cut holds their money there)."""
    header = BatchHeader(batch.id, batch.business_day, batch.cutoff_at_us)
    return write_transfer_file(header, _lines(conn, batch, each_page), write)


def stream_file(engine: Engine, batch_id: str) -> Iterator[bytes]:
    """The batch's file in chunks of about ``chunk_bytes``, read in one transaction; raises
    ``payout_batch_not_found`` on the first ``next``."""
    with transaction(engine) as conn:
        batch = store.get(conn, batch_id)
        header = BatchHeader(batch.id, batch.business_day, batch.cutoff_at_us)
        records = TransferFileRecords(header, _lines(conn, batch))
        buffer = bytearray()
        for record in records:
            buffer += record
            if len(buffer) >= chunk_bytes:
                yield bytes(buffer)
                buffer.clear()
        if records.summary().sha256 != batch.file_sha256:
            raise InvariantViolation(f"batch {batch.id} no longer gives its recorded file")
        yield bytes(buffer)


def _lines(
    conn: Connection, batch: Batch, each_page: Callable[[Page], None] | None = None
) -> Iterator[TransferLine]:
    """The batch's lines, a page at a time: exactly lines 1 to its line count (the cut numbers
    them so), a gap or a line past the count refused before its page is held or written."""
    count = batch.line_count
    for first in range(1, count + 1, file_page_lines):
        last = min(first + file_page_lines - 1, count)
        rows = store.lines(conn, batch.id, first, last + 1 if last == count else last)
        numbers = [row.line_no for row in rows]
        expected = range(first, last + 1)
        if numbers != list(expected):
            pairs = zip(expected, [*numbers, None], strict=False)  # a short page ends in None
            missing = next((n for n, got in pairs if n != got), None)
            if missing is None:
                raise InvariantViolation(f"batch {batch.id} has more than its {count} lines")
            raise InvariantViolation(f"batch {batch.id} has no line {missing}")
        if each_page is not None:
            each_page(rows)
        for row in rows:
            account = BankAccount(row.bank_code, row.account_number, row.holder_name)
            yield TransferLine(row.line_no, account, row.amount_units, row.kind, row.payee)
