"""QRIS rail: expectations, notifications, report lines, reconciliation, MDR schedule."""

from alembic import op

revision = "0004_qris"
down_revision = "0003_pi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this rail's tables and seed Bank Indonesia's MDR schedule."""
    op.execute(
        """
        CREATE TABLE qris_mdr_schedule (
            id              serial PRIMARY KEY,
            criteria        text NOT NULL CHECK (criteria IN ('UMI', 'UKE', 'UME', 'UBE', 'URE')),
            valid_from      date NOT NULL,
            amount_min_sen  bigint NOT NULL DEFAULT 0 CHECK (amount_min_sen >= 0),
            amount_max_sen  bigint CHECK (amount_max_sen > amount_min_sen),
            rate_ppm        integer NOT NULL CHECK (rate_ppm BETWEEN 0 AND 1000000),
            source          text NOT NULL,
            UNIQUE (criteria, valid_from, amount_min_sen)
        );
        COMMENT ON TABLE qris_mdr_schedule IS
            'MDR per merchant criteria and amount band (gross > min, gross <= max); newest '
            'valid_from on or before the payment''s WIB date applies. rate_ppm: 0.3% = 3000.';

        INSERT INTO qris_mdr_schedule
            (criteria, valid_from, amount_min_sen, amount_max_sen, rate_ppm, source) VALUES
            ('UMI', '2023-07-01', 0, NULL, 3000, 'BI: MDR QRIS UMI 0.3% from 1 Jul 2023'),
            ('UKE', '2023-07-01', 0, NULL, 7000, 'BI: MDR QRIS 0.7%'),
            ('UME', '2023-07-01', 0, NULL, 7000, 'BI: MDR QRIS 0.7%'),
            ('UBE', '2023-07-01', 0, NULL, 7000, 'BI: MDR QRIS 0.7%'),
            ('URE', '2023-07-01', 0, NULL, 7000, 'BI: MDR QRIS 0.7%'),
            ('UMI', '2024-12-01', 0, 50000000, 0,
             'BI: MDR QRIS UMI 0% up to Rp 500.000 from 1 Dec 2024'),
            ('UMI', '2024-12-01', 50000000, NULL, 3000,
             'BI: MDR QRIS UMI 0.3% above Rp 500.000 from 1 Dec 2024');

        CREATE TABLE qris_expectations (
            id              uuid PRIMARY KEY,
            reference       text UNIQUE CHECK (length(reference) BETWEEN 1 AND 25),
            nmid            text NOT NULL CHECK (length(nmid) BETWEEN 1 AND 32),
            criteria        text NOT NULL CHECK (criteria IN ('UMI', 'UKE', 'UME', 'UBE', 'URE')),
            amount_sen      bigint NOT NULL CHECK (amount_sen > 0),
            credit_account  text NOT NULL CHECK (length(credit_account) BETWEEN 1 AND 128),
            status          text NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'paid', 'expired', 'cancelled')),
            created_at      timestamptz NOT NULL,
            expires_at      timestamptz NOT NULL,
            matched_source  text CHECK (matched_source IN ('event', 'report')),
            matched_rrn     text,
            matched_tx_id   text,
            paid_at         timestamptz,
            gross_sen       bigint CHECK (gross_sen > 0),
            fee_sen         bigint CHECK (fee_sen >= 0 AND fee_sen <= gross_sen),
            transfer_id     uuid NOT NULL UNIQUE,
            CHECK (expires_at > created_at),
            CHECK ((status = 'paid') = (gross_sen IS NOT NULL AND paid_at IS NOT NULL))
        ) WITH (fillfactor = 45);
        -- A row is written, then updated once (open -> paid): fillfactor keeps room on its page
        -- for that new version, and indexes avoid the columns a match updates, so matching is a
        -- HOT update (no index writes, one WAL record per row).
        CREATE INDEX qris_expectations_static
            ON qris_expectations (nmid, amount_sen, created_at);

        CREATE TABLE qris_events (
            id              bigserial PRIMARY KEY,
            provider        text NOT NULL CHECK (length(provider) BETWEEN 1 AND 32),
            provider_tx_id  text NOT NULL CHECK (length(provider_tx_id) BETWEEN 1 AND 128),
            status          text NOT NULL
                            CHECK (status IN ('pending', 'failed', 'expired', 'cancelled',
                                              'paid', 'partially_refunded', 'refunded')),
            provider_status text NOT NULL,
            amount_sen      bigint NOT NULL CHECK (amount_sen >= 0),
            fee_sen         bigint CHECK (fee_sen >= 0),
            rrn             text,
            nmid            text,
            reference       text,
            paid_at         timestamptz,
            received_at     timestamptz NOT NULL DEFAULT now(),
            UNIQUE (provider, provider_tx_id, status)
        );

        CREATE TABLE qris_payments (
            provider        text NOT NULL,
            provider_tx_id  text NOT NULL,
            status          text NOT NULL
                            CHECK (status IN ('pending', 'failed', 'expired', 'cancelled',
                                              'paid', 'partially_refunded', 'refunded')),
            status_rank     smallint NOT NULL,
            expectation_id  uuid REFERENCES qris_expectations (id),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (provider, provider_tx_id)
        );

        CREATE TABLE qris_report_lines (
            id              bigserial PRIMARY KEY,
            acquirer        text NOT NULL CHECK (length(acquirer) BETWEEN 1 AND 64),
            rrn             text NOT NULL CHECK (length(rrn) BETWEEN 1 AND 64),
            amount_sen      bigint NOT NULL CHECK (amount_sen > 0),
            fee_sen         bigint CHECK (fee_sen >= 0),
            transacted_at   timestamptz NOT NULL,
            nmid            text,
            reference       text,
            provider_tx_id  text,
            status          text NOT NULL CHECK (status IN ('paid', 'refunded', 'failed')),
            merchant_pan    text,
            source_file     text NOT NULL,
            line_no         integer NOT NULL,
            ingested_at     timestamptz NOT NULL DEFAULT now(),
            match_state     text NOT NULL DEFAULT 'new'
                            CHECK (match_state IN ('new', 'matched', 'confirmed', 'duplicate',
                                                   'unmatched', 'mismatch', 'refund', 'failed')),
            expectation_id  uuid REFERENCES qris_expectations (id),
            UNIQUE NULLS NOT DISTINCT (acquirer, rrn, transacted_at, amount_sen, status, nmid)
        ) WITH (fillfactor = 45);  -- room for the one update reconciliation makes (HOT)
        CREATE INDEX qris_report_lines_time ON qris_report_lines (transacted_at);
        CREATE INDEX qris_report_lines_rrn ON qris_report_lines (acquirer, rrn);

        CREATE TABLE qris_exceptions (
            id              bigserial PRIMARY KEY,
            business_date   date NOT NULL,
            kind            text NOT NULL
                            CHECK (kind IN ('unmatched_report', 'unmatched_event',
                                            'unmatched_expectation', 'unreported_payment',
                                            'duplicate', 'amount_mismatch', 'fee_mismatch',
                                            'late', 'refund')),
            source          text NOT NULL CHECK (source IN ('report', 'event', 'expectation')),
            source_id       text NOT NULL,
            expectation_id  uuid,
            rrn             text,
            reference       text,
            nmid            text,
            expected_sen    bigint,
            actual_sen      bigint,
            detail          text NOT NULL,
            action          text NOT NULL,
            created_at      timestamptz NOT NULL DEFAULT now(),
            resolved_at     timestamptz,
            UNIQUE (kind, source, source_id)
        );
        CREATE INDEX qris_exceptions_date ON qris_exceptions (business_date, kind);

        CREATE TABLE qris_reconciliation_runs (
            id              bigserial PRIMARY KEY,
            business_date   date NOT NULL,
            started_at      timestamptz NOT NULL DEFAULT now(),
            lines_matched   integer NOT NULL,
            lines_confirmed integer NOT NULL,
            exceptions      integer NOT NULL,
            postings        integer NOT NULL
        );
        """
    )


def downgrade() -> None:
    """Drop this rail's tables."""
    op.execute(
        "DROP TABLE IF EXISTS qris_reconciliation_runs, qris_exceptions, qris_report_lines, "
        "qris_payments, qris_events, qris_expectations, qris_mdr_schedule"
    )
