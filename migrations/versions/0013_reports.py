"""Indexes for the merchant's read models (issue 11): the monthly statement's checkouts and
refunds, read per merchant and month without scanning every merchant's history.

The ledger side of the read models needs nothing new: a merchant's history and balances read
``transfers_debit_history`` / ``transfers_credit_history`` (account, ts), and a released leg's
shares are read by their ids.
"""

from alembic import op

revision = "0013_reports"
down_revision = "0012_checkout"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index released checkouts by merchant and release time, and refunds by time."""
    op.execute(
        """
        CREATE INDEX checkouts_released_by_merchant ON checkouts (merchant_id, closed_at)
            WHERE status = 'released';
        CREATE INDEX checkout_refunds_by_time ON checkout_refunds (created_at, checkout_id);
        """
    )


def downgrade() -> None:
    """Drop what ``upgrade`` created."""
    op.execute("DROP INDEX checkout_refunds_by_time; DROP INDEX checkouts_released_by_merchant")
