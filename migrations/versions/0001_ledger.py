"""The double-entry ledger: assets, accounts, immutable transfers, pending reservations, periods.

The database enforces the ledger's invariants on its own, so that hand-written SQL cannot break
them: account totals change only as the effect of inserting transfers (a statement trigger applies
every inserted batch in one aggregated UPDATE); a direct UPDATE of the totals is refused;
transfers can be neither updated nor deleted; per-asset debits equal credits for every statement;
flagged accounts are kept inside their limits by CHECK constraints; nothing is inserted with a
timestamp inside a closed period; a pending transfer is resolved at most once.
"""

from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE assets (
    code  text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9]{1,11}$'),
    scale smallint NOT NULL CHECK (scale BETWEEN 0 AND 18),
    name  text NOT NULL
);
INSERT INTO assets (code, scale, name) VALUES
    ('IDR', 2, 'Indonesian Rupiah'),
    ('PI', 7, 'Pi'),
    ('MSC', 2, 'Madiun Stable Coin'),
    ('MSCP', 0, 'MSC Points');

CREATE TABLE accounts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 128),
    asset           text NOT NULL REFERENCES assets (code),
    kind            text NOT NULL
                    CHECK (kind IN ('asset', 'liability', 'equity', 'income', 'expense')),
    owner           text,
    flags           integer NOT NULL DEFAULT 0 CHECK (flags IN (0, 1, 2)),
    debits_pending  bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted   bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted  bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT debits_must_not_exceed_credits
        CHECK (flags & 1 = 0 OR debits_pending + debits_posted <= credits_posted),
    CONSTRAINT credits_must_not_exceed_debits
        CHECK (flags & 2 = 0 OR credits_pending + credits_posted <= debits_posted)
);

CREATE TABLE transfers (
    id                uuid PRIMARY KEY,
    ts                bigint NOT NULL UNIQUE,
    -- No row-level foreign keys: transfers_apply checks, per statement, that every account
    -- exists with the transfer's asset (accounts are never deleted), and that every pending_id
    -- resolves an open pending transfer. Two RI triggers per row cost more than the ledger.
    debit_account_id  bigint NOT NULL,
    credit_account_id bigint NOT NULL,
    amount            bigint NOT NULL CHECK (amount > 0),
    asset             text NOT NULL,
    code              text NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    flags             integer NOT NULL CHECK (flags IN (0, 2, 4, 8)),
    pending_id        uuid,
    timeout_s         integer NOT NULL DEFAULT 0 CHECK (timeout_s >= 0),
    external_ref      text CHECK (length(external_ref) <= 128),
    user_data         jsonb,
    CONSTRAINT accounts_must_differ CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT pending_id_iff_resolution CHECK ((flags IN (4, 8)) = (pending_id IS NOT NULL)),
    CONSTRAINT timeout_only_on_pending CHECK (timeout_s = 0 OR flags = 2)
);
CREATE UNIQUE INDEX transfers_resolve_once ON transfers (pending_id) WHERE pending_id IS NOT NULL;
CREATE INDEX transfers_debit_history ON transfers (debit_account_id, ts);
CREATE INDEX transfers_credit_history ON transfers (credit_account_id, ts);
CREATE INDEX transfers_external_ref ON transfers (external_ref) WHERE external_ref IS NOT NULL;

CREATE TABLE pending_transfers (
    id                uuid PRIMARY KEY REFERENCES transfers (id),
    debit_account_id  bigint NOT NULL REFERENCES accounts (id),
    credit_account_id bigint NOT NULL REFERENCES accounts (id),
    amount            bigint NOT NULL CHECK (amount > 0),
    asset             text NOT NULL,
    expires_at_us     bigint,
    status            text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    resolved_by       uuid REFERENCES transfers (id)
);
CREATE INDEX pending_transfers_expiry ON pending_transfers (expires_at_us)
    WHERE status = 'pending' AND expires_at_us IS NOT NULL;

CREATE TABLE ledger_state (
    id                smallint PRIMARY KEY CHECK (id = 1),
    closed_through_us bigint NOT NULL DEFAULT 0
);
INSERT INTO ledger_state (id, closed_through_us) VALUES (1, 0);

CREATE TABLE ledger_periods (
    period         text PRIMARY KEY CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    starts_at_us   bigint NOT NULL,
    ends_at_us     bigint NOT NULL,
    transfer_count bigint NOT NULL,
    closed_at      timestamptz NOT NULL DEFAULT now(),
    closed_by      text NOT NULL
);

CREATE SEQUENCE ledger_ts_seq AS bigint;
"""

FUNCTIONS = r"""
CREATE FUNCTION ledger_clock_catch_up(now_us bigint, lag_max_us bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Timestamps come from nextval (cheap, never handed out twice). When the sequence has
    -- fallen more than lag_max_us behind the clock, move it up to the clock: rarely, and under
    -- a lock held for these few statements only, re-checking inside it so that two catch-ups
    -- never move it back. A jump of lag_max_us is far more than the values nextval can hand
    -- out between the check and setval, so no value is handed out twice.
    IF (SELECT last_value FROM ledger_ts_seq) >= now_us - lag_max_us THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_lock(7305001);
    BEGIN
        IF (SELECT last_value FROM ledger_ts_seq) < now_us - lag_max_us THEN
            PERFORM setval('ledger_ts_seq', now_us - 1, true);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        PERFORM pg_advisory_unlock(7305001);
        RAISE;
    END;
    PERFORM pg_advisory_unlock(7305001);
END $$;

CREATE FUNCTION ledger_take_timestamps(
    n integer, now_us bigint, lag_max_us bigint, locked_accounts bigint
) RETURNS bigint[]
LANGUAGE plpgsql AS $$
BEGIN
    -- locked_accounts is not used: passing the count of the rows a batch locked makes PostgreSQL
    -- take the locks before it calls this function, so that timestamps follow the locks.
    -- The lag check is repeated here, not only in ledger_clock_catch_up: the call costs more
    -- than the check, and a catch-up is rare.
    IF (SELECT last_value FROM ledger_ts_seq) < now_us - lag_max_us THEN
        PERFORM ledger_clock_catch_up(now_us, lag_max_us);
    END IF;
    IF n = 1 THEN
        RETURN ARRAY[nextval('ledger_ts_seq')];
    END IF;
    RETURN (SELECT array_agg(ts ORDER BY ts)
            FROM (SELECT nextval('ledger_ts_seq') AS ts FROM generate_series(1, n)) AS taken);
END $$;

CREATE FUNCTION ledger_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger invariant: %', TG_ARGV[0] USING ERRCODE = 'check_violation';
END $$;

CREATE FUNCTION ledger_apply_transfers() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    wanted       bigint;
    applied      bigint;
    too_early    boolean;
    reservations bigint;
    resolutions  bigint;
    resolved     bigint;
    one          record;
BEGIN
    -- One plain transfer (the commonest statement): the same effect as below, in two short
    -- statements instead of the batch's aggregating one.
    IF (SELECT count(*) FROM new_rows) = 1 THEN
        SELECT * INTO one FROM new_rows;
        IF one.flags = 0 THEN
            IF one.ts <= (SELECT closed_through_us FROM ledger_state WHERE id = 1) THEN
                RAISE EXCEPTION 'ledger invariant: period_closed'
                    USING ERRCODE = 'check_violation';
            END IF;
            UPDATE accounts
            SET debits_posted = debits_posted
                    + CASE WHEN id = one.debit_account_id THEN one.amount ELSE 0 END,
                credits_posted = credits_posted
                    + CASE WHEN id = one.credit_account_id THEN one.amount ELSE 0 END
            WHERE id IN (one.debit_account_id, one.credit_account_id) AND asset = one.asset;
            GET DIAGNOSTICS applied = ROW_COUNT;
            IF applied <> 2 THEN
                RAISE EXCEPTION 'ledger invariant: account not found or asset_mismatch'
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NULL;
        END IF;
    END IF;

    -- The totals first, in one statement with everything else the batch needs checked: one
    -- aggregated UPDATE per (account, asset). An account that is missing or of another asset
    -- is not updated, so the counts differ. A post or void releases the pending amount, read
    -- from the pending transfer, which may be in this very batch.
    WITH batch AS (
        SELECT n.debit_account_id, n.credit_account_id, n.asset, n.flags, n.amount,
               coalesce(p.amount, np.amount) AS released
        FROM new_rows n
        LEFT JOIN pending_transfers p ON n.flags IN (4, 8) AND p.id = n.pending_id
        LEFT JOIN new_rows np ON n.flags IN (4, 8) AND np.id = n.pending_id
    ), d AS (
        SELECT account_id, asset, sum(dp) AS dp, sum(dpo) AS dpo, sum(cp) AS cp, sum(cpo) AS cpo
        FROM (
            SELECT debit_account_id AS account_id, asset,
                   CASE flags WHEN 0 THEN 0 WHEN 2 THEN amount ELSE -released END AS dp,
                   CASE flags WHEN 0 THEN amount WHEN 4 THEN amount ELSE 0 END AS dpo,
                   0::bigint AS cp, 0::bigint AS cpo
            FROM batch
            UNION ALL
            SELECT credit_account_id, asset, 0, 0,
                   CASE flags WHEN 0 THEN 0 WHEN 2 THEN amount ELSE -released END,
                   CASE flags WHEN 0 THEN amount WHEN 4 THEN amount ELSE 0 END
            FROM batch
        ) legs
        GROUP BY account_id, asset
    ), done AS (
        UPDATE accounts a
        SET debits_pending  = a.debits_pending + d.dp,
            debits_posted   = a.debits_posted + d.dpo,
            credits_pending = a.credits_pending + d.cp,
            credits_posted  = a.credits_posted + d.cpo
        FROM d
        WHERE a.id = d.account_id AND a.asset = d.asset
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM done),
           coalesce(bool_or(n.ts <= s.closed_through_us), false),
           count(*) FILTER (WHERE n.flags = 2),
           count(*) FILTER (WHERE n.flags IN (4, 8))
    INTO wanted, applied, too_early, reservations, resolutions
    FROM new_rows n CROSS JOIN ledger_state s;
    IF applied <> wanted THEN
        RAISE EXCEPTION 'ledger invariant: account not found or asset_mismatch'
            USING ERRCODE = 'check_violation';
    END IF;
    IF too_early THEN
        RAISE EXCEPTION 'ledger invariant: period_closed' USING ERRCODE = 'check_violation';
    END IF;

    IF reservations > 0 THEN
        INSERT INTO pending_transfers
            (id, debit_account_id, credit_account_id, amount, asset, expires_at_us, status)
        SELECT id, debit_account_id, credit_account_id, amount, asset,
               CASE WHEN timeout_s > 0 THEN ts + timeout_s::bigint * 1000000 END, 'pending'
        FROM new_rows WHERE flags = 2;
    END IF;
    IF resolutions > 0 THEN
        WITH done AS (
            UPDATE pending_transfers p
            SET status = CASE
                    WHEN n.flags = 4 THEN 'posted'
                    WHEN p.expires_at_us IS NOT NULL AND n.ts >= p.expires_at_us THEN 'expired'
                    ELSE 'voided' END,
                resolved_by = n.id
            FROM new_rows n
            WHERE n.pending_id = p.id AND p.status = 'pending'
              AND n.debit_account_id = p.debit_account_id
              AND n.credit_account_id = p.credit_account_id
              AND n.asset = p.asset
              AND ((n.flags = 8 AND n.amount = p.amount)
                   OR (n.flags = 4 AND n.amount <= p.amount
                       AND (p.expires_at_us IS NULL OR n.ts < p.expires_at_us)))
            RETURNING 1
        )
        SELECT count(*) INTO resolved FROM done;
        IF resolved <> resolutions THEN
            RAISE EXCEPTION 'ledger invariant: pending transfer not open or mismatched'
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_guard_accounts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    identity_changed boolean;
    totals_changed   boolean;
    unbalanced       boolean;
BEGIN
    -- One aggregate pass over old JOIN new (a hash join); an EXISTS per rule would plan a
    -- fast-start nested loop over the two tuplestores, O(rows^2) when nothing matches.
    SELECT coalesce(bool_or(g.identity_changed), false),
           coalesce(bool_or(g.totals_changed), false),
           coalesce(bool_or(g.dpo <> g.cpo OR g.dp <> g.cp), false)
    INTO identity_changed, totals_changed, unbalanced
    FROM (
        SELECT bool_or((o.code, o.asset, o.kind, o.flags)
                       IS DISTINCT FROM (n.code, n.asset, n.kind, n.flags)) AS identity_changed,
               bool_or((o.debits_pending, o.debits_posted, o.credits_pending, o.credits_posted)
                       IS DISTINCT FROM
                       (n.debits_pending, n.debits_posted, n.credits_pending, n.credits_posted))
                   AS totals_changed,
               sum(n.debits_posted - o.debits_posted) AS dpo,
               sum(n.credits_posted - o.credits_posted) AS cpo,
               sum(n.debits_pending - o.debits_pending) AS dp,
               sum(n.credits_pending - o.credits_pending) AS cp
        FROM old_rows o JOIN new_rows n USING (id)
        GROUP BY n.asset
    ) g;
    IF identity_changed THEN
        RAISE EXCEPTION 'ledger invariant: an account''s code, asset, kind and flags never change'
            USING ERRCODE = 'check_violation';
    END IF;
    IF totals_changed THEN
        RAISE EXCEPTION 'ledger invariant: balances change only by inserting transfers'
            USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced THEN
        RAISE EXCEPTION 'ledger invariant: debits must equal credits per asset'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_guard_new_accounts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_rows
        WHERE debits_pending <> 0 OR debits_posted <> 0
           OR credits_pending <> 0 OR credits_posted <> 0
    ) THEN
        RAISE EXCEPTION 'ledger invariant: accounts open with zero balances'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_guard_pending() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'ledger invariant: pending reservations change only through transfers'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_guard_state() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.closed_through_us < OLD.closed_through_us THEN
        RAISE EXCEPTION 'ledger invariant: a closed period never reopens'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER transfers_apply AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_transfers();
CREATE TRIGGER transfers_immutable BEFORE UPDATE OR DELETE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('transfers are immutable');
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('transfers are immutable');
-- Only statements issued from outside a trigger: the one UPDATE the ledger makes (inside
-- transfers_apply) adds each transfer's amount to one debit and one credit, so it is balanced by
-- construction, and its totals are meant to change.
CREATE TRIGGER accounts_guard AFTER UPDATE ON accounts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION ledger_guard_accounts();
CREATE TRIGGER accounts_open_empty AFTER INSERT ON accounts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_guard_new_accounts();
CREATE TRIGGER accounts_no_delete BEFORE DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse('accounts are never deleted');
CREATE TRIGGER pending_guard BEFORE INSERT OR UPDATE OR DELETE ON pending_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_guard_pending();
CREATE TRIGGER ledger_state_forward BEFORE UPDATE ON ledger_state
    FOR EACH ROW EXECUTE FUNCTION ledger_guard_state();
"""

DROP = """
DROP TABLE IF EXISTS ledger_periods, ledger_state, pending_transfers, transfers, accounts, assets
    CASCADE;
DROP SEQUENCE IF EXISTS ledger_ts_seq;
DROP FUNCTION IF EXISTS ledger_clock_catch_up(bigint, bigint),
    ledger_take_timestamps(integer, bigint, bigint, bigint), ledger_refuse(),
    ledger_apply_transfers(), ledger_guard_accounts(), ledger_guard_new_accounts(),
    ledger_guard_pending(), ledger_guard_state();
"""


def upgrade() -> None:
    """Create the ledger's tables, functions and guarding triggers."""
    op.execute(TABLES)
    op.execute(FUNCTIONS)


def downgrade() -> None:
    """Drop the ledger (only ever used on empty development databases)."""
    op.execute(DROP)
