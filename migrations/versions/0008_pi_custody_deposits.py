"""Pi custody deposits: Pi the treasury moved into the app wallet, booked once per transaction."""

from alembic import op

revision = "0008_pi_custody_deposits"
down_revision = "0007_audit_anchors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``pi_custody_deposits``."""
    op.execute(
        """
        CREATE TABLE pi_custody_deposits (
            txid          text PRIMARY KEY CHECK (txid ~ '^[0-9a-f]{64}$'),
            from_address  text NOT NULL,
            amount_units  bigint NOT NULL CHECK (amount_units > 0),
            transfer_id   uuid NOT NULL UNIQUE,
            booked_by     text NOT NULL CHECK (length(booked_by) BETWEEN 1 AND 128),
            booked_at     timestamptz NOT NULL DEFAULT now()
        );
        """
    )


def downgrade() -> None:
    """Drop ``pi_custody_deposits``."""
    op.execute("DROP TABLE IF EXISTS pi_custody_deposits")
