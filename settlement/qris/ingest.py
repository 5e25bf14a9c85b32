"""Report ingest: stream parsed lines into a staging table by COPY, then keep each line once."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chain.qris.reports import CountingReader, ReportFormat, read_report
from settlement.qris.driver import psycopg_connection
from settlement.unit_of_work import UnitOfWork

_STAGING = """
    CREATE TEMP TABLE qris_report_staging (
        rrn text, amount_sen bigint, fee_sen bigint, transacted_at timestamptz, nmid text,
        reference text, provider_tx_id text, status text, merchant_pan text, line_no integer
    ) ON COMMIT DROP
"""
_COPY = (
    "COPY qris_report_staging (rrn, amount_sen, fee_sen, transacted_at, nmid, reference,"
    " provider_tx_id, status, merchant_pan, line_no) FROM STDIN"
)
_KEEP = """
    INSERT INTO qris_report_lines (acquirer, rrn, amount_sen, fee_sen, transacted_at, nmid,
        reference, provider_tx_id, status, merchant_pan, source_file, line_no)
    SELECT %(acquirer)s, rrn, amount_sen, fee_sen, transacted_at, nmid, reference,
        provider_tx_id, status, merchant_pan, %(source)s, line_no
    FROM qris_report_staging
    ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class IngestResult:
    """How many lines the file had and how many were new (a re-ingest adds none)."""

    lines: int
    inserted: int


def ingest_report(
    uow: UnitOfWork,
    path: Path,
    fmt: ReportFormat,
    on_progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Parse and store a report in the unit of work's transaction; a bad line aborts it all.

    ``on_progress`` receives the bytes read so far (for a progress bar over the file size).
    """
    raw = psycopg_connection(uow.conn)
    lines = 0
    with path.open("rb") as handle, raw.cursor() as cur:
        counter = CountingReader(handle)
        cur.execute(_STAGING)
        with cur.copy(_COPY) as copy:
            for line in read_report(
                counter,  # type: ignore[arg-type]  # a RawIOBase is a binary stream
                fmt,
                on_lines=(lambda _n: on_progress(counter.bytes_read)) if on_progress else None,
            ):
                copy.write_row(
                    (line.rrn, line.amount_sen, line.fee_sen, line.transacted_at, line.nmid,
                     line.reference, line.provider_tx_id, line.status, line.merchant_pan,
                     line.line)
                )  # fmt: skip
                lines += 1
        cur.execute(_KEEP, {"acquirer": fmt.name, "source": path.name})
        inserted = cur.rowcount
        cur.execute("DROP TABLE qris_report_staging")
    if on_progress is not None:
        on_progress(counter.bytes_read)
    return IngestResult(lines, inserted)
