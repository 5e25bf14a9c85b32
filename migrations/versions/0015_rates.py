"""Rates and quotes (issue 12): every price reading of every source, the sources' median a rate
quote was locked at, and SEP-38 firm quotes (decision 0022).

``rate_readings`` holds one row per reading: a price (sen per 1 PI) with when the source observed
it and when it was fetched, or the failure why none came. A treasury-set rate is a reading of the
source ``treasury`` with who entered it and until when it counts as fresh. ``rate_quotes`` names
the readings whose median it locked; ``firm_quotes`` adds the amounts and the fee of a quote a
Pioneer asked for (same id as its rate quote).
"""

from alembic import op

revision = "0015_rates"
down_revision = "0014_checkout_refund_suspended"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the readings and firm quotes; rate quotes name their readings."""
    op.execute(
        """
        CREATE TABLE rate_readings (
            id            bigserial PRIMARY KEY,
            source        text NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
            base_asset    text NOT NULL REFERENCES assets (code),
            quote_asset   text NOT NULL REFERENCES assets (code),
            price_units   bigint CHECK (price_units > 0),
            failure       text CHECK (length(failure) BETWEEN 1 AND 32),
            detail        text CHECK (length(detail) <= 200),
            observed_at   timestamptz,
            fetched_at    timestamptz NOT NULL,
            valid_until   timestamptz,
            entered_by    text CHECK (length(entered_by) BETWEEN 1 AND 64),
            CHECK ((price_units IS NULL) = (failure IS NOT NULL)),
            CHECK ((price_units IS NULL) = (observed_at IS NULL)),
            CHECK ((entered_by IS NULL) = (valid_until IS NULL)),
            CHECK (valid_until IS NULL OR valid_until > observed_at)
        );
        CREATE INDEX rate_readings_latest
            ON rate_readings (source, base_asset, quote_asset, fetched_at DESC, id DESC);

        ALTER TABLE rate_quotes ADD COLUMN reading_ids bigint[] NOT NULL DEFAULT '{}';

        CREATE TABLE firm_quotes (
            id            uuid PRIMARY KEY REFERENCES rate_quotes (id),
            requested_by  text NOT NULL CHECK (length(requested_by) BETWEEN 1 AND 128),
            sell_asset    text NOT NULL REFERENCES assets (code),
            sell_units    bigint NOT NULL CHECK (sell_units > 0),
            buy_asset     text NOT NULL REFERENCES assets (code),
            buy_units     bigint NOT NULL CHECK (buy_units > 0),
            given         text NOT NULL CHECK (given IN ('sell', 'buy')),
            fee_asset     text NOT NULL REFERENCES assets (code),
            fee_units     bigint NOT NULL CHECK (fee_units >= 0),
            fee_details   jsonb NOT NULL,
            spread_bp     integer NOT NULL CHECK (spread_bp BETWEEN 0 AND 10000),
            created_at    timestamptz NOT NULL,
            expires_at    timestamptz NOT NULL,
            CHECK (expires_at > created_at)
        );
        CREATE INDEX firm_quotes_by_requester ON firm_quotes (requested_by, created_at);
        """
    )


def downgrade() -> None:
    """Drop what ``upgrade`` created."""
    op.execute(
        "DROP TABLE firm_quotes; ALTER TABLE rate_quotes DROP COLUMN reading_ids;"
        " DROP TABLE rate_readings"
    )
