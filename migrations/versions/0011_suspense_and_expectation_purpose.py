"""Suspense items (money that arrived but the ledger refused), and a purpose on QRIS expectations.

``suspense_items`` keeps every arrival the ledger refused to book where it belongs, with why, so
that nothing is lost even when the suspense posting itself is refused (decision 0011). QRIS
expectations get the ``purpose`` every expectation has (decision 0013).
"""

from alembic import op

revision = "0011_suspense"
down_revision = "0009_pi_wallet_watch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``suspense_items``; add ``qris_expectations.purpose``."""
    op.execute(
        """
        CREATE TABLE suspense_items (
            transfer_id          uuid PRIMARY KEY,
            rail                 text NOT NULL CHECK (length(rail) BETWEEN 1 AND 16),
            asset                text NOT NULL CHECK (length(asset) BETWEEN 1 AND 8),
            amount               bigint NOT NULL CHECK (amount > 0),
            debit                text NOT NULL,
            credit               text NOT NULL,
            external_ref         text CHECK (length(external_ref) <= 128),
            reason               text NOT NULL CHECK (length(reason) BETWEEN 1 AND 256),
            suspense_transfer_id uuid UNIQUE,
            created_at           timestamptz NOT NULL DEFAULT now(),
            resolved_at          timestamptz
        );

        ALTER TABLE qris_expectations ADD COLUMN purpose text NOT NULL DEFAULT 'payment'
            CHECK (purpose ~ '^[a-z][a-z0-9_]{0,31}$');
        """
    )


def downgrade() -> None:
    """Drop what ``upgrade`` added."""
    op.execute("DROP TABLE suspense_items; ALTER TABLE qris_expectations DROP COLUMN purpose")
