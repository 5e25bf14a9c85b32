"""MSC issuance against Rupiah, redemption and reserve coverage (issue 12, items 4 and 5).

``msc_bank_deposits``: one row per bank-statement line the treasury records (its reference is
unique: a line is booked once), later marked issued by the MSC it backed. ``msc_redemptions``:
one row per redemption, the obligation the daily payout batch consumes. ``reserve_computations``:
every coverage computation with all of its inputs (decision 0024).
"""

from alembic import op

revision = "0017_msc_issuance"
down_revision = "0016_payouts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the deposits, redemptions and reserve computations tables."""
    op.execute(
        """
        CREATE TABLE msc_bank_deposits (
            reference            text PRIMARY KEY CHECK (reference ~ '^[A-Za-z0-9_./:-]{1,64}$'),
            amount               bigint NOT NULL CHECK (amount > 0),
            holder               text CHECK (holder ~ '^(pioneer|merchant)[:].{1,64}[:]MSC$'),
            value_date           date NOT NULL,
            memo                 text CHECK (length(memo) <= 140),
            transfer_id          uuid NOT NULL UNIQUE,
            recorded_at          timestamptz NOT NULL,
            recorded_by          text NOT NULL CHECK (length(recorded_by) BETWEEN 1 AND 64),
            issued_at            timestamptz,
            issued_by            text CHECK (length(issued_by) BETWEEN 1 AND 64),
            issue_transfer_id    uuid UNIQUE,
            CHECK ((issued_at IS NULL) = (issue_transfer_id IS NULL)),
            CHECK (issued_at IS NULL OR holder IS NOT NULL)
        );

        CREATE TABLE msc_redemptions (
            id                   uuid PRIMARY KEY,
            request_key          text NOT NULL UNIQUE CHECK (length(request_key) BETWEEN 1 AND 300),
            holder               text NOT NULL
                                 CHECK (holder ~ '^(pioneer|merchant)[:].{1,64}[:]MSC$'),
            amount               bigint NOT NULL CHECK (amount > 0),
            bank_code            text NOT NULL CHECK (bank_code ~ '^[0-9]{3}$'),
            account_number       text NOT NULL CHECK (account_number ~ '^[0-9]{5,20}$'),
            account_name         text NOT NULL CHECK (length(account_name) BETWEEN 1 AND 70),
            status               text NOT NULL DEFAULT 'owed'
                                 CHECK (status IN ('owed', 'paid')),
            burn_transfer_id     uuid NOT NULL UNIQUE,
            payable_transfer_id  uuid NOT NULL UNIQUE,
            created_at           timestamptz NOT NULL,
            created_by           text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 64)
        );
        CREATE INDEX msc_redemptions_owed ON msc_redemptions (created_at) WHERE status = 'owed';

        CREATE TABLE reserve_computations (
            id                       bigserial PRIMARY KEY,
            computed_at              timestamptz NOT NULL,
            purpose                  text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 32),
            idr_bank                 bigint NOT NULL,
            idr_deposits_unissued    bigint NOT NULL,
            idr_redemptions_payable  bigint NOT NULL,
            idr_reserve              bigint NOT NULL,
            pi_inventory             bigint NOT NULL,
            price_units              bigint CHECK (price_units > 0),
            price_source             text CHECK (length(price_source) BETWEEN 1 AND 64),
            price_observed_at        timestamptz,
            haircut_bps              integer NOT NULL CHECK (haircut_bps BETWEEN 0 AND 10000),
            floor_bps                integer NOT NULL CHECK (floor_bps >= 0),
            pi_value_idr             bigint NOT NULL CHECK (pi_value_idr >= 0),
            reserve_value_idr        bigint NOT NULL,
            msc_ledger               bigint NOT NULL,
            msc_onchain              bigint NOT NULL CHECK (msc_onchain >= 0),
            msc_issuing              bigint NOT NULL CHECK (msc_issuing >= 0),
            msc_outstanding          bigint NOT NULL,
            coverage_bps             bigint,
            below_floor              boolean NOT NULL,
            CHECK ((price_units IS NULL) = (price_source IS NULL)),
            CHECK ((price_units IS NULL) = (price_observed_at IS NULL)),
            CHECK ((coverage_bps IS NULL) = (msc_outstanding <= 0))
        );
        CREATE INDEX reserve_computations_by_time ON reserve_computations (computed_at DESC, id);

        -- The reserve sums the few non-liability PI and MSC accounts, never every holder's.
        CREATE INDEX accounts_reserve_sources ON accounts (asset, kind) WHERE kind <> 'liability';
        """
    )


def downgrade() -> None:
    """Drop what ``upgrade`` created."""
    op.execute("DROP INDEX accounts_reserve_sources")
    op.execute("DROP TABLE reserve_computations; DROP TABLE msc_redemptions;")
    op.execute("DROP TABLE msc_bank_deposits")
