"""The merchant guarantee fund (issue 12, items 6 and 7; decision 0028).

``fund_contributions``: one row per contribution (CSR, pilot budget, APBD), its reference
booked once. ``fund_claims``: claims on the fund (an FX shortfall beyond the caps, a failed
conversion or payout) with their evidence and the treasury's decision. ``fund_payments``: every
payment the fund made, to its checkout leg (an automatic FX-shortfall payment) or its claim; the
caps per merchant per WIB month are summed from it.
"""

from alembic import op

revision = "0020_guarantee_fund"
down_revision = "0019_conversions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the contributions, claims and payments tables."""
    op.execute(
        """
        CREATE TABLE fund_contributions (
            reference      text PRIMARY KEY CHECK (reference ~ '^[A-Za-z0-9_./:-]{1,64}$'),
            source         text NOT NULL CHECK (source IN ('csr', 'pilot_budget', 'apbd')),
            contributor    text NOT NULL CHECK (length(contributor) BETWEEN 1 AND 140),
            amount         bigint NOT NULL CHECK (amount > 0),
            memo           text CHECK (length(memo) <= 140),
            transfer_id    uuid NOT NULL UNIQUE,
            recorded_at    timestamptz NOT NULL,
            recorded_by    text NOT NULL CHECK (length(recorded_by) BETWEEN 1 AND 64)
        );
        CREATE INDEX fund_contributions_by_time ON fund_contributions (recorded_at DESC);

        CREATE TABLE fund_claims (
            id               text PRIMARY KEY CHECK (id ~ '^fcl_[a-z0-9]{16}$'),
            request_key      text NOT NULL UNIQUE CHECK (length(request_key) BETWEEN 1 AND 300),
            kind             text NOT NULL
                             CHECK (kind IN ('fx_shortfall', 'failed_conversion', 'failed_payout')),
            merchant_id      text NOT NULL REFERENCES merchants (id),
            checkout_id      text CHECK (length(checkout_id) BETWEEN 1 AND 64),
            leg_reference    text CHECK (length(leg_reference) BETWEEN 1 AND 64),
            amount           bigint NOT NULL CHECK (amount > 0),
            evidence         text NOT NULL CHECK (length(evidence) BETWEEN 1 AND 2000),
            status           text NOT NULL DEFAULT 'open'
                             CHECK (status IN ('open', 'approved', 'rejected')),
            created_at       timestamptz NOT NULL,
            created_by       text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 64),
            decided_at       timestamptz,
            decided_by       text CHECK (length(decided_by) BETWEEN 1 AND 64),
            decision_reason  text CHECK (length(decision_reason) BETWEEN 1 AND 500),
            paid_units       bigint CHECK (paid_units > 0),
            CHECK ((status = 'open') = (decided_at IS NULL)),
            CHECK ((status = 'approved') = (paid_units IS NOT NULL)),
            CHECK (status <> 'rejected' OR decision_reason IS NOT NULL),
            CHECK (paid_units IS NULL OR paid_units <= amount)
        );
        CREATE INDEX fund_claims_open ON fund_claims (created_at) WHERE status = 'open';

        CREATE TABLE fund_payments (
            transfer_id    uuid PRIMARY KEY,
            kind           text NOT NULL CHECK (kind IN ('fx_shortfall', 'claim')),
            merchant_id    text NOT NULL REFERENCES merchants (id),
            checkout_id    text,
            leg_reference  text UNIQUE,
            claim_id       text UNIQUE REFERENCES fund_claims (id),
            amount         bigint NOT NULL CHECK (amount > 0),
            month          text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
            paid_at        timestamptz NOT NULL,
            CHECK ((kind = 'claim') = (claim_id IS NOT NULL)),
            CHECK ((kind = 'fx_shortfall') = (leg_reference IS NOT NULL))
        );
        CREATE INDEX fund_payments_by_merchant_month ON fund_payments (merchant_id, month);
        CREATE INDEX fund_payments_by_time ON fund_payments (paid_at DESC);
        """
    )


def downgrade() -> None:
    """Drop what ``upgrade`` created."""
    op.execute("DROP TABLE fund_payments; DROP TABLE fund_claims; DROP TABLE fund_contributions;")
