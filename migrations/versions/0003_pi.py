"""Pi rail: payment expectations, Pi payments, A2U payouts, flags for a person."""

from alembic import op

revision = "0003_pi"
down_revision = "0002_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this rail's tables."""
    op.execute(
        """
        CREATE TABLE pi_expectations (
            id              uuid PRIMARY KEY,
            reference       text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 64),
            purpose         text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 32),
            amount_units    bigint NOT NULL CHECK (amount_units > 0),
            payer_uid       text CHECK (length(payer_uid) <= 128),
            credit_account  text NOT NULL CHECK (length(credit_account) BETWEEN 1 AND 128),
            status          text NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'approved', 'fulfilled', 'cancelled')),
            payment_id      text UNIQUE,
            created_at      timestamptz NOT NULL DEFAULT now(),
            expires_at      timestamptz NOT NULL,
            CHECK (expires_at > created_at),
            CHECK ((status = 'open') = (payment_id IS NULL) OR status = 'cancelled')
        );

        CREATE TABLE pi_payments (
            payment_id      text PRIMARY KEY CHECK (length(payment_id) BETWEEN 1 AND 28),
            expectation_id  uuid NOT NULL UNIQUE REFERENCES pi_expectations (id),
            user_uid        text NOT NULL,
            from_address    text NOT NULL,
            amount_units    bigint NOT NULL CHECK (amount_units > 0),
            status          text NOT NULL
                            CHECK (status IN ('approved', 'credited', 'completed', 'cancelled')),
            txid            text UNIQUE CHECK (txid ~ '^[0-9a-f]{64}$'),
            transfer_id     uuid UNIQUE,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            CHECK ((status IN ('credited', 'completed'))
                   = (txid IS NOT NULL AND transfer_id IS NOT NULL))
        );

        CREATE TABLE pi_payouts (
            id              uuid PRIMARY KEY,
            key             text NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 128),
            uid             text NOT NULL CHECK (length(uid) BETWEEN 1 AND 128),
            amount_units    bigint NOT NULL CHECK (amount_units > 0),
            memo            text NOT NULL CHECK (length(memo) <= 256),
            debit_account   text NOT NULL,
            wallet_address  text NOT NULL,
            status          text NOT NULL DEFAULT 'requested'
                            CHECK (status IN ('requested', 'created', 'signed', 'confirmed',
                                              'completed', 'failed')),
            payment_id      text UNIQUE,
            to_address      text,
            envelope_xdr    text,
            tx_hash         text UNIQUE CHECK (tx_hash ~ '^[0-9a-f]{64}$'),
            sequence        bigint,
            valid_until     bigint,
            fee_units       bigint CHECK (fee_units >= 0),
            attempts        integer NOT NULL DEFAULT 0,
            last_error      text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            CHECK (status = 'requested' OR status = 'failed' OR payment_id IS NOT NULL),
            CHECK (status NOT IN ('signed', 'confirmed', 'completed')
                   OR (envelope_xdr IS NOT NULL AND tx_hash IS NOT NULL))
        );
        -- One A2U in flight per app wallet: the account sequence number allows no other.
        CREATE UNIQUE INDEX pi_payouts_one_in_flight ON pi_payouts (wallet_address)
            WHERE status = 'signed';

        CREATE TABLE pi_flags (
            id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            payment_id      text NOT NULL,
            txid            text,
            reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 64),
            detail          jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at      timestamptz NOT NULL DEFAULT now(),
            resolved_at     timestamptz,
            CONSTRAINT pi_flags_once UNIQUE (payment_id, reason)
        );
        """
    )


def downgrade() -> None:
    """Drop this rail's tables."""
    op.execute(
        "DROP TABLE IF EXISTS pi_flags; DROP TABLE IF EXISTS pi_payouts; "
        "DROP TABLE IF EXISTS pi_payments; DROP TABLE IF EXISTS pi_expectations;"
    )
