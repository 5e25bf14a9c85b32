"""A checkout refund may be owed because the merchant was suspended when the money arrived
(decision 0021): the refund reasons gain ``suspended``."""

from alembic import op

revision = "0014_checkout_refund_suspended"
down_revision = "0013_reports"
branch_labels = None
depends_on = None

_REASONS = "'excess', 'underpaid', 'late', 'duplicate', 'expired', 'refunded', 'decision'"


def upgrade() -> None:
    """Allow the ``suspended`` reason."""
    op.execute(
        f"""
        ALTER TABLE checkout_refunds DROP CONSTRAINT checkout_refunds_reason_check,
            ADD CONSTRAINT checkout_refunds_reason_check
            CHECK (reason IN ({_REASONS}, 'suspended'));
        """
    )


def downgrade() -> None:
    """Back to the reasons of 0012 (refused while a ``suspended`` refund is stored)."""
    op.execute(
        f"""
        ALTER TABLE checkout_refunds DROP CONSTRAINT checkout_refunds_reason_check,
            ADD CONSTRAINT checkout_refunds_reason_check CHECK (reason IN ({_REASONS}));
        """
    )
