"""Audit anchors: a month's digest requested for, then published on, an EVM AuditAnchor."""

from alembic import op

revision = "0007_audit_anchors"
down_revision = "0006_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``audit_anchors``; an anchored row can be neither changed nor deleted."""
    op.execute(
        """
        CREATE TABLE audit_anchors (
            period       text NOT NULL REFERENCES audit_digests (period),
            chain_id     bigint NOT NULL CHECK (chain_id > 0),
            contract     text NOT NULL CHECK (contract ~ '^0x[0-9a-fA-F]{40}$'),
            digest       text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
            prev_digest  text NOT NULL CHECK (prev_digest ~ '^[0-9a-f]{64}$'),
            status       text NOT NULL DEFAULT 'requested'
                         CHECK (status IN ('requested', 'anchored')),
            tx_hash      text CHECK (tx_hash ~ '^0x[0-9a-f]{64}$'),
            block_number bigint CHECK (block_number > 0),
            requested_at timestamptz NOT NULL DEFAULT now(),
            anchored_at  timestamptz,
            PRIMARY KEY (period, chain_id),
            CHECK ((status = 'anchored') = (tx_hash IS NOT NULL AND block_number IS NOT NULL
                                            AND anchored_at IS NOT NULL))
        );
        CREATE TRIGGER audit_anchors_immutable BEFORE UPDATE OR DELETE ON audit_anchors
            FOR EACH ROW WHEN (OLD.status = 'anchored')
            EXECUTE FUNCTION ledger_refuse('recorded anchors are immutable');
        CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('recorded anchors are immutable');
        """
    )


def downgrade() -> None:
    """Drop the table (only ever used on development databases)."""
    op.execute("DROP TABLE IF EXISTS audit_anchors")
