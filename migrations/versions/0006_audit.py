"""Audit: the digest published for each closed month, chained to the month before."""

from alembic import op

revision = "0006_audit"
down_revision = "0005_evm"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``audit_digests``; a recorded digest can be neither changed nor deleted."""
    op.execute(
        """
        CREATE TABLE audit_digests (
            period          text PRIMARY KEY REFERENCES ledger_periods (period),
            digest          text NOT NULL UNIQUE CHECK (digest ~ '^[0-9a-f]{64}$'),
            previous_period text REFERENCES audit_digests (period)
                            CHECK (previous_period < period),
            manifest        text NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT now()
        );
        CREATE TRIGGER audit_digests_immutable BEFORE UPDATE OR DELETE ON audit_digests
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('published digests are immutable');
        CREATE TRIGGER audit_digests_no_truncate BEFORE TRUNCATE ON audit_digests
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('published digests are immutable');
        """
    )


def downgrade() -> None:
    """Drop the table (only ever used on development databases)."""
    op.execute("DROP TABLE IF EXISTS audit_digests")
