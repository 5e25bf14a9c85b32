"""The transactional outbox: side effects written with the ledger change, dispatched later."""

from alembic import op

revision = "0002_outbox"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the outbox table and its due-work index."""
    op.execute(
        """
        CREATE TABLE outbox (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind            text NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
            key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 256),
            payload         jsonb NOT NULL,
            status          text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'done', 'parked')),
            attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_error      text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            done_at         timestamptz,
            CONSTRAINT outbox_one_per_key UNIQUE (kind, key)
        );
        CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
        """
    )


def downgrade() -> None:
    """Drop the outbox."""
    op.execute("DROP TABLE IF EXISTS outbox")
