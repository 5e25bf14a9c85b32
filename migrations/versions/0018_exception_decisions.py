"""The treasury's decisions on QRIS exceptions and Pi flags (issue 12 item 9, decision 0026):
one decision per exception or flag, who took it, when, the outcome, the note and what it posted."""

from alembic import op

revision = "0018_exception_decisions"
down_revision = "0017_msc_issuance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``exception_decisions``."""
    op.execute(
        """
        CREATE TABLE exception_decisions (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            subject         text NOT NULL CHECK (subject IN ('qris_exception', 'pi_flag')),
            subject_id      bigint NOT NULL,
            outcome         text NOT NULL
                            CHECK (outcome IN ('refund', 'merchant', 'suspense', 'dismiss')),
            asset           text REFERENCES assets (code),
            amount_units    bigint CHECK (amount_units > 0),
            debit           text,
            credit          text,
            transfer_ids    uuid[] NOT NULL DEFAULT '{}',
            refund_status   text CHECK (refund_status IN ('owed', 'queued')),
            decided_by      text NOT NULL CHECK (length(decided_by) BETWEEN 1 AND 64),
            decided_at      timestamptz NOT NULL,
            note            text NOT NULL CHECK (length(note) BETWEEN 1 AND 500),
            UNIQUE (subject, subject_id)
        );
        CREATE INDEX exception_decisions_owed ON exception_decisions (asset, decided_at)
            WHERE refund_status IS NOT NULL;
        """
    )


def downgrade() -> None:
    """Drop ``exception_decisions``."""
    op.execute("DROP TABLE exception_decisions")
