"""EVM: deployments, sent transactions, nonces, observed events."""

from alembic import op

revision = "0005_evm"
down_revision = "0004_qris"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this rail's tables."""
    op.execute(
        """
        CREATE TABLE evm_deployments (
            chain_id     bigint NOT NULL CHECK (chain_id > 0),
            contract     text NOT NULL CHECK (contract IN ('MadiunStableCoin', 'AuditAnchor')),
            address      text NOT NULL CHECK (address ~ '^0x[0-9a-fA-F]{40}$'),
            tx_hash      text NOT NULL,
            block_number bigint NOT NULL CHECK (block_number >= 0),
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (chain_id, contract)
        );

        CREATE TABLE evm_nonces (
            chain_id   bigint NOT NULL,
            address    text NOT NULL,
            next_nonce bigint NOT NULL CHECK (next_nonce >= 0),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (chain_id, address)
        );

        CREATE TABLE evm_transactions (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            chain_id     bigint NOT NULL,
            purpose      text NOT NULL CHECK (length(purpose) BETWEEN 1 AND 32),
            ledger_ref   text NOT NULL CHECK (length(ledger_ref) BETWEEN 1 AND 256),
            sender       text NOT NULL,
            nonce        bigint NOT NULL CHECK (nonce >= 0),
            tx_hash      text NOT NULL UNIQUE,
            raw_tx       bytea NOT NULL,
            to_address   text,
            status       text NOT NULL DEFAULT 'signed' CHECK (status IN
                         ('signed', 'submitted', 'confirmed', 'reverted', 'replaced')),
            block_number bigint,
            last_error   text,
            created_at   timestamptz NOT NULL DEFAULT now(),
            updated_at   timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT evm_transactions_one_per_nonce UNIQUE (chain_id, sender, nonce)
        );
        -- One live transaction per (purpose, reference): a new one only after reverted/replaced.
        CREATE UNIQUE INDEX evm_transactions_one_live_per_ref
            ON evm_transactions (chain_id, purpose, ledger_ref)
            WHERE status IN ('signed', 'submitted', 'confirmed');
        CREATE INDEX evm_transactions_open
            ON evm_transactions (chain_id, sender) WHERE status IN ('signed', 'submitted');

        CREATE TABLE evm_withdrawals (
            transfer_id  uuid PRIMARY KEY,
            chain_id     bigint NOT NULL,
            holder       text NOT NULL,
            to_address   text NOT NULL CHECK (to_address ~ '^0x[0-9a-fA-F]{40}$'),
            amount       bigint NOT NULL CHECK (amount > 0),
            status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'minted')),
            tx_hash      text,
            created_at   timestamptz NOT NULL DEFAULT now(),
            minted_at    timestamptz
        );

        CREATE TABLE evm_deposit_refs (
            ledger_ref   bytea PRIMARY KEY CHECK (length(ledger_ref) = 32),
            holder       text NOT NULL UNIQUE,
            created_at   timestamptz NOT NULL DEFAULT now()
        );

        CREATE TABLE evm_deposits (
            chain_id     bigint NOT NULL,
            tx_hash      text NOT NULL,
            log_index    integer NOT NULL CHECK (log_index >= 0),
            block_number bigint NOT NULL,
            from_address text NOT NULL,
            amount       bigint NOT NULL CHECK (amount > 0),
            ledger_ref   bytea NOT NULL,
            holder       text NOT NULL,
            transfer_id  uuid NOT NULL UNIQUE,
            created_at   timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (chain_id, tx_hash, log_index)
        );

        CREATE TABLE evm_scan_cursors (
            chain_id   bigint NOT NULL,
            address    text NOT NULL,
            stream     text NOT NULL,
            last_block bigint NOT NULL CHECK (last_block >= 0),
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (chain_id, address, stream)
        );
        """
    )


def downgrade() -> None:
    """Drop this rail's tables."""
    op.execute(
        """
        DROP TABLE IF EXISTS evm_scan_cursors;
        DROP TABLE IF EXISTS evm_deposits;
        DROP TABLE IF EXISTS evm_deposit_refs;
        DROP TABLE IF EXISTS evm_withdrawals;
        DROP TABLE IF EXISTS evm_transactions;
        DROP TABLE IF EXISTS evm_nonces;
        DROP TABLE IF EXISTS evm_deployments;
        """
    )
