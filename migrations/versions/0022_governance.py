"""Treasury governance (issue 13; decision 0030): the append-only governance log.

``governance_log``: one row per officer genesis, proposal, signature and execution, in a
contiguous ``seq``, each with the exact canonical JSON published in the month's
governance.jsonl; ``officers`` marks the rows that set the officer set (found by index).
Nothing in it is ever updated or deleted (triggers, as for the ledger); partial unique indexes
make a proposal executable once and a nonce usable once.
"""

from alembic import op

revision = "0022_governance"
down_revision = "0021_locks_points"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the governance log and its append-only guards."""
    op.execute(
        r"""
        CREATE TABLE governance_log (
            seq          bigint PRIMARY KEY CHECK (seq > 0),
            kind         text NOT NULL CHECK (kind IN ('officers.genesis', 'proposal.created',
                                                       'proposal.signed', 'proposal.executed')),
            at_us        bigint NOT NULL CHECK (at_us > 0),
            proposal_id  text CHECK (proposal_id ~ '^[0-9a-f]{64}$'),
            nonce        bigint CHECK (nonce >= 0),
            public_key   text CHECK (public_key ~ '^[0-9a-f]{64}$'),
            entry        text NOT NULL CHECK (length(entry) BETWEEN 2 AND 16384),
            officers     boolean NOT NULL DEFAULT false,
            CHECK ((kind = 'officers.genesis') = (proposal_id IS NULL)),
            CHECK ((kind = 'proposal.signed') = (public_key IS NOT NULL)),
            CHECK ((kind IN ('proposal.created', 'proposal.executed')) = (nonce IS NOT NULL)),
            CHECK (NOT officers OR kind IN ('officers.genesis', 'proposal.executed')),
            CHECK (kind <> 'officers.genesis' OR officers)
        );
        CREATE UNIQUE INDEX governance_one_genesis ON governance_log ((true))
            WHERE kind = 'officers.genesis';
        CREATE UNIQUE INDEX governance_created_once ON governance_log (proposal_id)
            WHERE kind = 'proposal.created';
        CREATE UNIQUE INDEX governance_executed_once ON governance_log (proposal_id)
            WHERE kind = 'proposal.executed';
        CREATE UNIQUE INDEX governance_nonce_once ON governance_log (nonce)
            WHERE kind = 'proposal.executed';
        CREATE UNIQUE INDEX governance_signed_once ON governance_log (proposal_id, public_key)
            WHERE kind = 'proposal.signed';
        CREATE INDEX governance_officer_changes ON governance_log (seq) WHERE officers;
        CREATE INDEX governance_log_by_proposal ON governance_log (proposal_id, seq);
        CREATE INDEX governance_log_by_time ON governance_log (at_us);

        CREATE FUNCTION governance_guard_append() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            last_seq bigint;
            last_at  bigint;
        BEGIN
            SELECT seq, at_us INTO last_seq, last_at
                FROM governance_log ORDER BY seq DESC LIMIT 1;
            IF NEW.seq <> coalesce(last_seq, 0) + 1 OR NEW.at_us < coalesce(last_at, 0) THEN
                RAISE EXCEPTION 'governance invariant: the log grows by one, in time order'
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$;

        CREATE TRIGGER governance_log_append BEFORE INSERT ON governance_log
            FOR EACH ROW EXECUTE FUNCTION governance_guard_append();
        CREATE TRIGGER governance_log_immutable BEFORE UPDATE OR DELETE ON governance_log
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('the governance log is append-only');
        CREATE TRIGGER governance_log_no_truncate BEFORE TRUNCATE ON governance_log
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('the governance log is append-only');
        """
    )


def downgrade() -> None:
    """Drop what ``upgrade`` created."""
    op.execute("DROP TABLE governance_log; DROP FUNCTION governance_guard_append();")
