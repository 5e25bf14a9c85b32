"""Pi wallet watch: the app wallet's Horizon payments cursor, and every payment seen coming in."""

from alembic import op

revision = "0009_pi_wallet_watch"
down_revision = "0008_pi_custody_deposits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``pi_wallet_cursors`` and ``pi_wallet_payments``."""
    op.execute(
        """
        CREATE TABLE pi_wallet_cursors (
            address       text PRIMARY KEY,
            paging_token  text NOT NULL CHECK (paging_token ~ '^[0-9]{0,20}$'),
            updated_at    timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE pi_wallet_payments (
            address       text NOT NULL,
            operation_id  text NOT NULL CHECK (operation_id ~ '^[0-9]{1,20}$'),
            txid          text NOT NULL CHECK (txid ~ '^[0-9a-f]{64}$'),
            kind          text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
            from_address  text NOT NULL,
            asset_type    text NOT NULL,
            amount_units  bigint CHECK (amount_units > 0),
            memo          text CHECK (length(memo) <= 64),
            closed_at     timestamptz NOT NULL,
            status        text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'booked', 'flagged')),
            booked_as     text CHECK (booked_as IN ('u2a', 'deposit')),
            attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            seen_at       timestamptz NOT NULL DEFAULT now(),
            decided_at    timestamptz,
            CHECK ((status = 'booked') = (booked_as IS NOT NULL)),
            CHECK ((status = 'pending') = (decided_at IS NULL)),
            PRIMARY KEY (address, operation_id)
        );
        CREATE INDEX pi_wallet_payments_pending ON pi_wallet_payments (address, closed_at)
            WHERE status = 'pending';
        CREATE INDEX pi_wallet_payments_flagged ON pi_wallet_payments (txid)
            WHERE status = 'flagged';
        """
    )


def downgrade() -> None:
    """Drop the wallet watch's tables."""
    op.execute("DROP TABLE IF EXISTS pi_wallet_payments; DROP TABLE IF EXISTS pi_wallet_cursors;")
