"""Pending reservations without row-level foreign keys, as transfers have none (decision 0040).

``pending_transfers`` is written only by the ledger's statement trigger (``pending_guard``
refuses any other writer): each row is a pending transfer of the very statement that inserts
it, whose accounts the trigger has just found by updating their totals, and ``resolved_by`` is
the resolving transfer of the statement that resolves it. Four RI triggers a row (two a
transfer, two an account) checked what the trigger had just made true, and cost more than the
rest of a hold. ``msc check`` recomputes the same links from the rows
(``pending_reservations``).
"""

from alembic import op

revision = "0028_pending_without_row_keys"
down_revision = "0027_payout_checks_once"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the four foreign keys of ``pending_transfers``."""
    op.execute(
        """
        ALTER TABLE pending_transfers
            DROP CONSTRAINT pending_transfers_id_fkey,
            DROP CONSTRAINT pending_transfers_resolved_by_fkey,
            DROP CONSTRAINT pending_transfers_debit_account_id_fkey,
            DROP CONSTRAINT pending_transfers_credit_account_id_fkey;
        """
    )


def downgrade() -> None:
    """Put the foreign keys back."""
    op.execute(
        """
        ALTER TABLE pending_transfers
            ADD CONSTRAINT pending_transfers_id_fkey
                FOREIGN KEY (id) REFERENCES transfers (id),
            ADD CONSTRAINT pending_transfers_resolved_by_fkey
                FOREIGN KEY (resolved_by) REFERENCES transfers (id),
            ADD CONSTRAINT pending_transfers_debit_account_id_fkey
                FOREIGN KEY (debit_account_id) REFERENCES accounts (id),
            ADD CONSTRAINT pending_transfers_credit_account_id_fkey
                FOREIGN KEY (credit_account_id) REFERENCES accounts (id);
        """
    )
