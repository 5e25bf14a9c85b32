"""Pi to MSC conversions and the Pioneers' verification tiers (issue 12, item 3; decision 0027).

``conversions``: one row per conversion a Pioneer asked for at a firm quote; its Pi expectation
(purpose ``convert``) names it by ``reference``; the receipt converts it (``converted``, with the
MSC bought and, when the quote had expired, the fresh quote) or refunds it (``refunded``, with
the reason's code), each once. ``pioneer_tiers``: the tier the treasury set for a Pioneer (none:
tier 0), which picks the conversion limits.
"""

from alembic import op

revision = "0019_conversions"
down_revision = "0018_exception_decisions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the conversions and tiers tables."""
    op.execute(
        """
        CREATE TABLE conversions (
            id                  uuid PRIMARY KEY,
            uid                 text NOT NULL CHECK (length(uid) BETWEEN 1 AND 128),
            quote_id            uuid NOT NULL UNIQUE REFERENCES firm_quotes (id),
            reference           text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 64),
            sell_units          bigint NOT NULL CHECK (sell_units > 0),
            buy_units           bigint NOT NULL CHECK (buy_units > 0),
            tier                smallint NOT NULL CHECK (tier IN (0, 1)),
            status              text NOT NULL DEFAULT 'quoted'
                                CHECK (status IN ('quoted', 'converted', 'refunded')),
            created_at          timestamptz NOT NULL,
            expires_at          timestamptz NOT NULL,
            paid_at             timestamptz,
            payment_id          text UNIQUE,
            converted_at        timestamptz,
            converted_units     bigint CHECK (converted_units > 0),
            fee_units           bigint CHECK (fee_units >= 0),
            requote_id          uuid REFERENCES firm_quotes (id),
            refunded_at         timestamptz,
            refund_code         text CHECK (length(refund_code) BETWEEN 1 AND 64),
            CHECK (status = 'quoted' OR paid_at IS NOT NULL),
            CHECK ((status = 'converted') = (converted_at IS NOT NULL)),
            CHECK ((status = 'converted') = (converted_units IS NOT NULL)),
            CHECK ((status = 'refunded') = (refunded_at IS NOT NULL)),
            CHECK ((status = 'refunded') = (refund_code IS NOT NULL))
        );
        CREATE INDEX conversions_converted ON conversions (uid, converted_at)
            WHERE status = 'converted';
        CREATE INDEX conversions_by_time ON conversions (created_at, id);

        CREATE TABLE pioneer_tiers (
            uid      text PRIMARY KEY CHECK (length(uid) BETWEEN 1 AND 128),
            tier     smallint NOT NULL CHECK (tier IN (0, 1)),
            set_at   timestamptz NOT NULL,
            set_by   text NOT NULL CHECK (length(set_by) BETWEEN 1 AND 64)
        );
        """
    )


def downgrade() -> None:
    """Drop the conversions and tiers tables."""
    op.execute("DROP TABLE pioneer_tiers; DROP TABLE conversions;")
