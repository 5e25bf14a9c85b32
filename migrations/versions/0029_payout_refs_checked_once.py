"""Payout obligations' payee and source reference checked where they are made, not again on
every row version (decision 0023, "Checked once", as migration 0027 did for bank details).

Both are validated before an obligation is recorded (``obligations.Obligation``) or copied from
rows that hold them already (merchant ids, refund and redemption ids); the payee is validated
again as each line of the transfer file is written. PostgreSQL evaluates every CHECK on every
row version, so the two regular expressions ran for each line at the cut and again when the
bank's confirmation resolved it; their lengths stay bounded here.
"""

from alembic import op

revision = "0029_payout_refs_checked_once"
down_revision = "0028_pending_without_row_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace the two regular-expression checks with length bounds."""
    op.execute(
        """
        ALTER TABLE payout_obligations
            DROP CONSTRAINT payout_obligations_payee_check,
            DROP CONSTRAINT payout_obligations_source_ref_check,
            ADD CONSTRAINT payout_obligations_payee_length
                CHECK (octet_length(payee) BETWEEN 1 AND 140),
            ADD CONSTRAINT payout_obligations_source_ref_length
                CHECK (octet_length(source_ref) BETWEEN 1 AND 128);
        """
    )


def downgrade() -> None:
    """Put the regular-expression checks back."""
    op.execute(
        """
        ALTER TABLE payout_obligations
            DROP CONSTRAINT payout_obligations_payee_length,
            DROP CONSTRAINT payout_obligations_source_ref_length,
            ADD CONSTRAINT payout_obligations_payee_check
                CHECK (payee ~ '^[A-Za-z0-9_.:-]{1,140}$'),
            ADD CONSTRAINT payout_obligations_source_ref_check
                CHECK (source_ref ~ '^[A-Za-z0-9_.:-]{1,128}$');
        """
    )
