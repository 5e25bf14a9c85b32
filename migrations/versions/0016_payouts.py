"""The daily payout batch (issue 12, item 8): merchants' payout details, payout obligations and
batches, and the bank account a QRIS payer's refund is paid to.

An obligation is one line of at most one batch: it is ``open`` until a batch takes it
(``held``: its money is a pending ledger transfer to the bank clearing account), then ``paid``
or ``returned`` (the bank rejected it, the hold was voided, the money is back). At most one
obligation per (kind, source) is not returned, so nothing is paid twice (decision 0023).
"""

from alembic import op

revision = "0016_payouts"
down_revision = "0015_rates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add payout details to merchants and refunds; create obligations and batches."""
    op.execute(
        """
        ALTER TABLE merchants
            ADD COLUMN bank_code text CHECK (bank_code ~ '^[0-9]{3}$'),
            ADD COLUMN account_number text CHECK (account_number ~ '^[0-9]{5,20}$'),
            ADD COLUMN holder_name text
                CHECK (holder_name ~ '^[A-Z0-9][A-Z0-9 .''&/-]{0,69}$'),
            ADD COLUMN pi_uid text CHECK (length(pi_uid) BETWEEN 1 AND 64),
            ADD COLUMN payout_details_at timestamptz,
            ADD COLUMN payout_details_by text,
            ADD CONSTRAINT merchants_bank_whole CHECK (
                (bank_code IS NULL) = (account_number IS NULL)
                AND (bank_code IS NULL) = (holder_name IS NULL));

        ALTER TABLE checkout_refunds
            ADD COLUMN bank_code text CHECK (bank_code ~ '^[0-9]{3}$'),
            ADD COLUMN account_number text CHECK (account_number ~ '^[0-9]{5,20}$'),
            ADD COLUMN holder_name text
                CHECK (holder_name ~ '^[A-Z0-9][A-Z0-9 .''&/-]{0,69}$'),
            ADD CONSTRAINT checkout_refunds_bank_whole CHECK (
                (bank_code IS NULL) = (account_number IS NULL)
                AND (bank_code IS NULL) = (holder_name IS NULL));

        CREATE TABLE payout_batches (
            id                   text PRIMARY KEY CHECK (id ~ '^PO[0-9]{8}$'),
            business_day         date NOT NULL UNIQUE,
            cutoff_at            timestamptz NOT NULL,
            created_at           timestamptz NOT NULL,
            created_by           text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 64),
            line_count           integer NOT NULL CHECK (line_count > 0),
            total_units          bigint NOT NULL CHECK (total_units > 0),
            file_sha256          text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
            status               text NOT NULL CHECK (status IN ('held', 'confirmed')),
            confirmed_at         timestamptz,
            confirmed_by         text,
            confirmation_sha256  text CHECK (confirmation_sha256 ~ '^[0-9a-f]{64}$'),
            accepted_count       integer,
            accepted_units       bigint,
            rejected_count       integer,
            rejected_units       bigint,
            CHECK ((status = 'confirmed') = (confirmation_sha256 IS NOT NULL))
        );

        CREATE TABLE payout_obligations (
            id              uuid PRIMARY KEY,
            kind            text NOT NULL CHECK (kind IN ('merchant', 'qris_refund', 'redemption')),
            source_ref      text NOT NULL CHECK (source_ref ~ '^[A-Za-z0-9_.:-]{1,128}$'),
            payee           text NOT NULL CHECK (payee ~ '^[A-Za-z0-9_.:-]{1,140}$'),
            bank_code       text NOT NULL CHECK (bank_code ~ '^[0-9]{3}$'),
            account_number  text NOT NULL CHECK (account_number ~ '^[0-9]{5,20}$'),
            holder_name     text NOT NULL
                            CHECK (holder_name ~ '^[A-Z0-9][A-Z0-9 .''&/-]{0,69}$'),
            amount_units    bigint NOT NULL CHECK (amount_units > 0),
            debit_account   text NOT NULL CHECK (length(debit_account) BETWEEN 1 AND 128),
            due_at          timestamptz NOT NULL,
            created_at      timestamptz NOT NULL,
            status          text NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'held', 'paid', 'returned')),
            batch_id        text REFERENCES payout_batches (id),
            line_no         integer CHECK (line_no > 0),
            bank_reference  text CHECK (length(bank_reference) <= 64),
            bank_reason     text CHECK (length(bank_reason) <= 200),
            resolved_at     timestamptz,
            CHECK ((status = 'open') = (batch_id IS NULL)),
            CHECK ((batch_id IS NULL) = (line_no IS NULL)),
            UNIQUE (batch_id, line_no)
        );
        CREATE UNIQUE INDEX payout_obligations_once ON payout_obligations (kind, source_ref)
            WHERE status <> 'returned';
        CREATE INDEX payout_obligations_open ON payout_obligations (debit_account)
            WHERE status = 'open';
        """
    )


def downgrade() -> None:
    """Drop what ``upgrade`` created."""
    op.execute(
        """
        DROP TABLE payout_obligations, payout_batches;
        ALTER TABLE checkout_refunds DROP CONSTRAINT checkout_refunds_bank_whole,
            DROP COLUMN bank_code, DROP COLUMN account_number, DROP COLUMN holder_name;
        ALTER TABLE merchants DROP CONSTRAINT merchants_bank_whole,
            DROP COLUMN bank_code, DROP COLUMN account_number, DROP COLUMN holder_name,
            DROP COLUMN pi_uid, DROP COLUMN payout_details_at, DROP COLUMN payout_details_by;
        """
    )
