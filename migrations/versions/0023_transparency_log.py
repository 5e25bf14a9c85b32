"""Transparency log (issue 14, items 1-3; decision 0031): the cumulative RFC 9162 tree of every
published transfer, its signed checkpoints and the witnesses' cosignatures.

``tlog_leaves``: the leaf hashes in chunks that never cross a 4096-leaf boundary.
``tlog_nodes``: the hashes of complete perfect subtrees of 4096 leaves or more, so a proof's
subtrees are read, not recomputed from all history. ``tlog_checkpoints``: one per published
month, a single chain (each names the month before, which no other names); the database itself
refuses a checkpoint whose consistency proof from the previous one does not verify, or whose
note does not state its origin, size and root, so the service can never sign two inconsistent
checkpoints. ``tlog_cosignatures``: what each witness returned. All four are append-only.
"""

from alembic import op

revision = "0023_transparency_log"
down_revision = "0022_governance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables, the proof check and the triggers that keep them append-only."""
    op.execute(
        r"""
        CREATE FUNCTION tlog_node(l bytea, r bytea) RETURNS bytea
            LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT sha256('\x01'::bytea || l || r) $$;

        CREATE FUNCTION tlog_fold(peaks bytea) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
        DECLARE
            n int := length(peaks) / 32;
            acc bytea;
        BEGIN
            IF n = 0 THEN RETURN sha256(''::bytea); END IF;
            acc := substring(peaks FROM (n - 1) * 32 + 1 FOR 32);
            FOR i IN REVERSE n - 2 .. 0 LOOP
                acc := tlog_node(substring(peaks FROM i * 32 + 1 FOR 32), acc);
            END LOOP;
            RETURN acc;
        END $$;

        -- RFC 9162 2.1.4.2 for 0 < size1 <= size2; proof is the hashes concatenated.
        CREATE FUNCTION tlog_consistent(size1 bigint, size2 bigint, root1 bytea, root2 bytea,
                                        proof bytea) RETURNS boolean
            LANGUAGE plpgsql IMMUTABLE STRICT AS $$
        DECLARE
            n int := length(proof) / 32;
            i int := 0;
            c bytea;
            fn bigint := size1 - 1;
            sn bigint := size2 - 1;
            fr bytea;
            fh bytea;
        BEGIN
            IF length(proof) % 32 <> 0 OR size1 <= 0 OR size2 < size1 THEN RETURN false; END IF;
            IF size1 = size2 THEN RETURN n = 0 AND root1 = root2; END IF;
            IF n = 0 THEN RETURN false; END IF;
            WHILE fn & 1 = 1 LOOP fn := fn >> 1; sn := sn >> 1; END LOOP;
            IF size1 & (size1 - 1) = 0 THEN
                fr := root1;
            ELSE
                fr := substring(proof FROM 1 FOR 32);
                i := 1;
            END IF;
            fh := fr;
            WHILE i < n LOOP
                c := substring(proof FROM i * 32 + 1 FOR 32);
                IF sn = 0 THEN RETURN false; END IF;
                IF fn & 1 = 1 OR fn = sn THEN
                    fr := tlog_node(c, fr);
                    fh := tlog_node(c, fh);
                    WHILE fn & 1 = 0 AND fn <> 0 LOOP fn := fn >> 1; sn := sn >> 1; END LOOP;
                ELSE
                    fh := tlog_node(fh, c);
                END IF;
                fn := fn >> 1;
                sn := sn >> 1;
                i := i + 1;
            END LOOP;
            RETURN sn = 0 AND fr = root1 AND fh = root2;
        END $$;

        CREATE TABLE tlog_leaves (
            start   bigint PRIMARY KEY CHECK (start >= 0),
            hashes  bytea NOT NULL CHECK (length(hashes) BETWEEN 32 AND 32 * 4096
                                          AND length(hashes) % 32 = 0),
            CHECK (start % 4096 + length(hashes) / 32 <= 4096)
        );

        CREATE TABLE tlog_nodes (
            level   smallint NOT NULL CHECK (level BETWEEN 12 AND 63),
            index   bigint NOT NULL CHECK (index >= 0),
            hash    bytea NOT NULL CHECK (length(hash) = 32),
            PRIMARY KEY (level, index)
        );

        CREATE TABLE tlog_checkpoints (
            period         text PRIMARY KEY REFERENCES ledger_periods (period),
            previous       text UNIQUE REFERENCES tlog_checkpoints (period),
            size           bigint NOT NULL CHECK (size >= 0),
            starts_at_us   bigint NOT NULL,
            ends_at_us     bigint NOT NULL CHECK (ends_at_us > starts_at_us),
            origin         text NOT NULL CHECK (origin ~ '^[^\s+]{1,255}$'),
            root           bytea NOT NULL CHECK (length(root) = 32),
            peaks          bytea NOT NULL CHECK (length(peaks) % 32 = 0),
            consistency    bytea NOT NULL CHECK (length(consistency) % 32 = 0
                                                 AND length(consistency) <= 63 * 32),
            note           text NOT NULL,
            created_at     timestamptz NOT NULL DEFAULT now(),
            CHECK (previous < period)
        );
        CREATE UNIQUE INDEX tlog_checkpoints_one_first ON tlog_checkpoints ((true))
            WHERE previous IS NULL;
        CREATE INDEX tlog_checkpoints_by_time ON tlog_checkpoints (starts_at_us);

        CREATE FUNCTION tlog_checkpoint_consistent() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            latest tlog_checkpoints%ROWTYPE;
        BEGIN
            LOCK TABLE tlog_checkpoints IN SHARE ROW EXCLUSIVE MODE;
            SELECT * INTO latest FROM tlog_checkpoints ORDER BY period DESC LIMIT 1;
            IF NEW.previous IS DISTINCT FROM latest.period THEN
                RAISE EXCEPTION 'a checkpoint follows the latest one (%), not %',
                    latest.period, NEW.previous USING ERRCODE = 'check_violation';
            END IF;
            IF latest.origin IS NOT NULL AND latest.origin <> NEW.origin THEN
                RAISE EXCEPTION 'the log''s origin is %, not %', latest.origin, NEW.origin
                    USING ERRCODE = 'check_violation';
            END IF;
            IF length(NEW.peaks) / 32 <> length(replace(NEW.size::bit(64)::text, '0', ''))
               OR tlog_fold(NEW.peaks) <> NEW.root THEN
                RAISE EXCEPTION 'the peaks of checkpoint % do not fold to its root', NEW.size
                    USING ERRCODE = 'check_violation';
            END IF;
            IF coalesce(latest.size, 0) = 0 THEN
                IF length(NEW.consistency) <> 0 THEN
                    RAISE EXCEPTION 'a checkpoint after the empty tree needs no proof'
                        USING ERRCODE = 'check_violation';
                END IF;
            ELSIF NOT tlog_consistent(latest.size, NEW.size, latest.root, NEW.root,
                                      NEW.consistency) THEN
                RAISE EXCEPTION 'checkpoint % is not consistent with checkpoint %',
                    NEW.size, latest.size USING ERRCODE = 'check_violation';
            END IF;
            IF NOT starts_with(NEW.note, NEW.origin || E'\n' || NEW.size || E'\n'
                                         || encode(NEW.root, 'base64') || E'\n\n') THEN
                RAISE EXCEPTION 'the note of checkpoint % does not state its origin, size and root',
                    NEW.size USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER tlog_checkpoints_consistent BEFORE INSERT ON tlog_checkpoints
            FOR EACH ROW EXECUTE FUNCTION tlog_checkpoint_consistent();

        CREATE TABLE tlog_cosignatures (
            period      text NOT NULL REFERENCES tlog_checkpoints (period),
            witness     text NOT NULL CHECK (length(witness) BETWEEN 1 AND 400),
            line        text NOT NULL CHECK (length(line) BETWEEN 1 AND 1000),
            timestamp_s bigint NOT NULL CHECK (timestamp_s > 0),
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (period, witness)
        );

        CREATE TRIGGER tlog_leaves_immutable BEFORE UPDATE OR DELETE ON tlog_leaves
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('the log''s leaves are immutable');
        CREATE TRIGGER tlog_nodes_immutable BEFORE UPDATE OR DELETE ON tlog_nodes
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('the log''s nodes are immutable');
        CREATE TRIGGER tlog_checkpoints_immutable BEFORE UPDATE OR DELETE ON tlog_checkpoints
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('signed checkpoints are immutable');
        CREATE TRIGGER tlog_cosignatures_immutable BEFORE UPDATE OR DELETE ON tlog_cosignatures
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('cosignatures are immutable');
        """
    )
    for table in ("tlog_leaves", "tlog_nodes", "tlog_checkpoints", "tlog_cosignatures"):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('the transparency log is"
            " append-only')"
        )


def downgrade() -> None:
    """Drop the tables and functions (only ever used on development databases)."""
    op.execute(
        """
        DROP TABLE IF EXISTS tlog_cosignatures, tlog_checkpoints, tlog_nodes, tlog_leaves;
        DROP FUNCTION IF EXISTS tlog_checkpoint_consistent(), tlog_consistent(bigint, bigint,
            bytea, bytea, bytea), tlog_fold(bytea), tlog_node(bytea, bytea);
        """
    )
