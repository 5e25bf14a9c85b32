"""Operations (issue 16, decision 0034): counters kept as the work happens, gauges set by jobs.

``metric_counts``: running counts and sums per family and labels, kept by triggers in the
transaction that does the work (a transfer posted, a checkout leg paid), so a scrape reads this
small table instead of scanning ``transfers``. Each backend adds to its own row (``shard`` is
``pg_backend_pid()``): no two transactions ever wait on the same counter row, so counting adds
no lock to the ledger's hot path. ``metric_counts_fold`` sums the rows of backends that are gone
into shard 0 (the periodic jobs call it), keeping the table small.

``metric_gauges``: the last value a job or command reported (accrual duration, a reconcile's
difference, the workers' heartbeats), one row per name and label.

Partial indexes let the scrape count what is open (outbox pending and parked, pending transfers,
QRIS exceptions, Pi flags, Pi legs held in escrow for the guarantee fund's exposure) without
reading what is done.
"""

from alembic import op

revision = "0026_operations"
down_revision = "0025_public_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the counters (backfilled from what is stored), their triggers, and the gauges."""
    op.execute(
        """
        CREATE TABLE metric_counts (
            family  text NOT NULL CHECK (length(family) BETWEEN 1 AND 64),
            label1  text NOT NULL,
            label2  text NOT NULL,
            shard   integer NOT NULL,
            events  bigint NOT NULL DEFAULT 0,
            amount  numeric(38, 0) NOT NULL DEFAULT 0,
            PRIMARY KEY (family, label1, label2, shard)
        );

        CREATE FUNCTION metric_counts_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO metric_counts AS m (family, label1, label2, shard, events, amount)
            SELECT 'postings', n.code, n.asset, pg_backend_pid(), count(*), sum(n.amount)
            FROM new_transfers n GROUP BY n.code, n.asset ORDER BY n.code, n.asset
            ON CONFLICT (family, label1, label2, shard) DO UPDATE
            SET events = m.events + excluded.events, amount = m.amount + excluded.amount;
            RETURN NULL;
        END $$;
        CREATE TRIGGER transfers_counted AFTER INSERT ON transfers
            REFERENCING NEW TABLE AS new_transfers
            FOR EACH STATEMENT EXECUTE FUNCTION metric_counts_transfers();

        CREATE FUNCTION metric_counts_legs() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO metric_counts AS m (family, label1, label2, shard, events, amount)
            SELECT 'legs_paid', mer.kelurahan, NEW.tender, pg_backend_pid(), 1, NEW.idr_units
            FROM checkouts c JOIN merchants mer ON mer.id = c.merchant_id
            WHERE c.id = NEW.checkout_id
            ON CONFLICT (family, label1, label2, shard) DO UPDATE
            SET events = m.events + excluded.events, amount = m.amount + excluded.amount;
            RETURN NULL;
        END $$;
        CREATE TRIGGER checkout_legs_paid_counted AFTER UPDATE OF paid_at ON checkout_legs
            FOR EACH ROW WHEN (OLD.paid_at IS NULL AND NEW.paid_at IS NOT NULL)
            EXECUTE FUNCTION metric_counts_legs();
        CREATE TRIGGER checkout_legs_inserted_paid_counted AFTER INSERT ON checkout_legs
            FOR EACH ROW WHEN (NEW.paid_at IS NOT NULL)
            EXECUTE FUNCTION metric_counts_legs();

        CREATE FUNCTION metric_counts_fold() RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            folded bigint;
        BEGIN
            WITH gone AS (
                DELETE FROM metric_counts
                WHERE shard <> 0 AND shard NOT IN (SELECT pid FROM pg_stat_activity)
                RETURNING family, label1, label2, events, amount
            ), summed AS (
                SELECT family, label1, label2, sum(events) AS events, sum(amount) AS amount,
                       count(*) AS rows_folded
                FROM gone GROUP BY family, label1, label2
            ), kept AS (
                INSERT INTO metric_counts AS m (family, label1, label2, shard, events, amount)
                SELECT family, label1, label2, 0, events, amount FROM summed
                ORDER BY family, label1, label2
                ON CONFLICT (family, label1, label2, shard) DO UPDATE
                SET events = m.events + excluded.events, amount = m.amount + excluded.amount
            )
            SELECT coalesce(sum(rows_folded), 0) INTO folded FROM summed;
            RETURN folded;
        END $$;

        INSERT INTO metric_counts (family, label1, label2, shard, events, amount)
        SELECT 'postings', code, asset, 0, count(*), sum(amount) FROM transfers
        GROUP BY code, asset;
        INSERT INTO metric_counts (family, label1, label2, shard, events, amount)
        SELECT 'legs_paid', mer.kelurahan, l.tender, 0, count(*), sum(l.idr_units)
        FROM checkout_legs l JOIN checkouts c ON c.id = l.checkout_id
        JOIN merchants mer ON mer.id = c.merchant_id
        WHERE l.paid_at IS NOT NULL GROUP BY mer.kelurahan, l.tender;

        CREATE INDEX outbox_parked ON outbox (created_at) WHERE status = 'parked';
        CREATE INDEX pending_transfers_open ON pending_transfers (id) WHERE status = 'pending';
        CREATE INDEX qris_exceptions_open ON qris_exceptions (kind) WHERE resolved_at IS NULL;
        CREATE INDEX pi_flags_open ON pi_flags (reason) WHERE resolved_at IS NULL;
        CREATE INDEX checkout_legs_pi_held ON checkout_legs (checkout_id)
            WHERE tender = 'PI' AND status = 'paid';

        CREATE TABLE metric_gauges (
            name    text NOT NULL CHECK (name ~ '^msc_[a-z0-9_]{1,96}$'),
            label   text NOT NULL DEFAULT '' CHECK (length(label) <= 128),
            value   double precision NOT NULL,
            set_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (name, label)
        );
        """
    )


def downgrade() -> None:
    """Drop the triggers, functions and tables."""
    op.execute(
        """
        DROP TRIGGER IF EXISTS checkout_legs_inserted_paid_counted ON checkout_legs;
        DROP TRIGGER IF EXISTS checkout_legs_paid_counted ON checkout_legs;
        DROP TRIGGER IF EXISTS transfers_counted ON transfers;
        DROP FUNCTION IF EXISTS metric_counts_fold();
        DROP FUNCTION IF EXISTS metric_counts_legs();
        DROP FUNCTION IF EXISTS metric_counts_transfers();
        DROP INDEX IF EXISTS checkout_legs_pi_held;
        DROP INDEX IF EXISTS pi_flags_open;
        DROP INDEX IF EXISTS qris_exceptions_open;
        DROP INDEX IF EXISTS pending_transfers_open;
        DROP INDEX IF EXISTS outbox_parked;
        DROP TABLE IF EXISTS metric_gauges;
        DROP TABLE IF EXISTS metric_counts;
        """
    )
