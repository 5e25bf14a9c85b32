"""The second anchor (issue 14 item 4; decision 0033): a month's digest as the memo hash of a
Stellar-family transaction, signed and stored before it is first submitted.

``audit_stellar_anchors``: one row per month, ``requested`` -> ``signed`` (the envelope and its
hash recorded, submitted again after a crash) -> ``anchored`` (its ledger recorded, frozen).
"""

from alembic import op

revision = "0025_public_audit"
down_revision = "0023_transparency_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``audit_stellar_anchors``; an anchored row can be neither changed nor deleted."""
    op.execute(
        """
        CREATE TABLE audit_stellar_anchors (
            period              text PRIMARY KEY REFERENCES audit_digests (period),
            network_passphrase  text NOT NULL CHECK (length(network_passphrase) BETWEEN 1 AND 128),
            source_account      text NOT NULL CHECK (source_account ~ '^G[A-Z2-7]{55}$'),
            digest              text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
            status              text NOT NULL DEFAULT 'requested'
                                CHECK (status IN ('requested', 'signed', 'anchored')),
            envelope_xdr        text,
            tx_hash             text CHECK (tx_hash ~ '^[0-9a-f]{64}$'),
            valid_until         bigint,
            ledger              bigint CHECK (ledger > 0),
            requested_at        timestamptz NOT NULL DEFAULT now(),
            anchored_at         timestamptz,
            CHECK ((status = 'requested') = (envelope_xdr IS NULL)),
            CHECK ((envelope_xdr IS NULL) = (tx_hash IS NULL AND valid_until IS NULL)),
            CHECK ((status = 'anchored') = (ledger IS NOT NULL AND anchored_at IS NOT NULL))
        );
        CREATE TRIGGER audit_stellar_anchors_immutable
            BEFORE UPDATE OR DELETE ON audit_stellar_anchors
            FOR EACH ROW WHEN (OLD.status = 'anchored')
            EXECUTE FUNCTION ledger_refuse('recorded anchors are immutable');
        CREATE TRIGGER audit_stellar_anchors_no_truncate BEFORE TRUNCATE ON audit_stellar_anchors
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('recorded anchors are immutable');
        """
    )


def downgrade() -> None:
    """Drop the table (only ever used on development databases)."""
    op.execute("DROP TABLE IF EXISTS audit_stellar_anchors")
