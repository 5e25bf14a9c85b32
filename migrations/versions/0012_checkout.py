"""Merchants, API keys, idempotency keys, revenue-share rules, treasury parameters, Pi-Zone
campaigns, rate quotes and checkouts with their legs, events and refunds (issue 11).

Every money amount is BIGINT in the asset's smallest unit; every state change of a checkout is a
row of ``checkout_events`` (who, when, from, to), written in the same transaction as the change.
"""

from alembic import op

revision = "0012_checkout"
down_revision = "0011_suspense"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables of merchants, keys, campaigns and checkouts."""
    op.execute(
        """
        CREATE TABLE merchants (
            id                 text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,32}$'),
            name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            kelurahan          text NOT NULL CHECK (length(kelurahan) BETWEEN 1 AND 64),
            rt                 text CHECK (length(rt) BETWEEN 1 AND 8),
            criteria           text NOT NULL DEFAULT 'UMI'
                               CHECK (criteria IN ('UMI', 'UKE', 'UME', 'UBE', 'URE')),
            nmid               text UNIQUE CHECK (nmid ~ '^[A-Za-z0-9]{1,32}$'),
            static_qris        text CHECK (length(static_qris) BETWEEN 1 AND 512),
            tenders            text[] NOT NULL CHECK (cardinality(tenders) BETWEEN 1 AND 4
                               AND tenders <@ ARRAY['PI', 'QRIS', 'MSC', 'MSCP']),
            settlement         jsonb NOT NULL DEFAULT '{}'::jsonb,
            status             text NOT NULL DEFAULT 'active'
                               CHECK (status IN ('active', 'suspended')),
            created_at         timestamptz NOT NULL,
            created_by         text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 64),
            status_changed_at  timestamptz,
            status_changed_by  text,
            CHECK (NOT ('QRIS' = ANY (tenders)) OR static_qris IS NOT NULL)
        );

        CREATE TABLE api_keys (
            id             uuid PRIMARY KEY,
            prefix         text NOT NULL UNIQUE CHECK (prefix ~ '^msk_[a-z0-9]{8,16}$'),
            secret_sha256  bytea NOT NULL CHECK (length(secret_sha256) = 32),
            role           text NOT NULL CHECK (role IN ('merchant', 'treasury', 'gateway')),
            owner          text NOT NULL CHECK (length(owner) BETWEEN 1 AND 64),
            label          text CHECK (length(label) <= 100),
            created_at     timestamptz NOT NULL,
            created_by     text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 64),
            revoked_at     timestamptz,
            revoked_by     text,
            last_used_at   timestamptz
        );
        CREATE INDEX api_keys_owner ON api_keys (role, owner);

        CREATE TABLE idempotency_keys (
            principal        text NOT NULL CHECK (length(principal) BETWEEN 1 AND 128),
            key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
            request_sha256   bytea NOT NULL CHECK (length(request_sha256) = 32),
            state            text NOT NULL CHECK (state IN ('in_progress', 'done')),
            status_code      integer CHECK (status_code BETWEEN 100 AND 599),
            response_body    bytea,
            response_type    text,
            created_at       timestamptz NOT NULL,
            locked_until     timestamptz NOT NULL,
            expires_at       timestamptz NOT NULL,
            CHECK ((state = 'done') = (status_code IS NOT NULL)),
            PRIMARY KEY (principal, key)
        );
        CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

        CREATE TABLE treasury_parameters (
            name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
            value       jsonb NOT NULL,
            updated_at  timestamptz NOT NULL,
            updated_by  text NOT NULL CHECK (length(updated_by) BETWEEN 1 AND 64)
        );

        CREATE TABLE revenue_share_rules (
            id                  text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,32}$'),
            allotments          jsonb NOT NULL,
            cashback_bp         integer NOT NULL DEFAULT 0 CHECK (cashback_bp BETWEEN 0 AND 10000),
            cashback_cap_units  bigint CHECK (cashback_cap_units > 0),
            updated_at          timestamptz NOT NULL,
            updated_by          text NOT NULL CHECK (length(updated_by) BETWEEN 1 AND 64)
        );

        INSERT INTO revenue_share_rules (id, allotments, cashback_bp, updated_at, updated_by)
        VALUES ('default', '[{"to": "platform_fee", "percent_bp": 100},
                            {"to": "community_fund", "percent_bp": 50},
                            {"to": "merchant", "remaining": true}]'::jsonb,
                0, now(), 'migration');

        CREATE TABLE campaigns (
            id                          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,32}$'),
            name                        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            discount_bp                 integer NOT NULL CHECK (discount_bp BETWEEN 1 AND 5000),
            budget_units                bigint NOT NULL CHECK (budget_units > 0),
            cap_per_pioneer_day_units   bigint NOT NULL CHECK (cap_per_pioneer_day_units > 0),
            cap_per_merchant_day_units  bigint NOT NULL CHECK (cap_per_merchant_day_units > 0),
            merchant_ids                text[],
            starts_at                   timestamptz NOT NULL,
            ends_at                     timestamptz NOT NULL,
            created_at                  timestamptz NOT NULL,
            created_by                  text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 64),
            CHECK (ends_at > starts_at)
        );

        CREATE TABLE campaign_reservations (
            checkout_id     text PRIMARY KEY,
            campaign_id     text NOT NULL REFERENCES campaigns (id),
            merchant_id     text NOT NULL REFERENCES merchants (id),
            pioneer_uid     text NOT NULL,
            business_day    date NOT NULL,
            discount_units  bigint NOT NULL CHECK (discount_units > 0),
            transfer_id     uuid NOT NULL UNIQUE,
            status          text NOT NULL DEFAULT 'reserved'
                            CHECK (status IN ('reserved', 'paid', 'voided')),
            created_at      timestamptz NOT NULL
        );
        CREATE INDEX campaign_reservations_pioneer_day
            ON campaign_reservations (campaign_id, pioneer_uid, business_day)
            WHERE status <> 'voided';
        CREATE INDEX campaign_reservations_merchant_day
            ON campaign_reservations (campaign_id, merchant_id, business_day)
            WHERE status <> 'voided';

        CREATE TABLE rate_quotes (
            id              uuid PRIMARY KEY,
            base_asset      text NOT NULL,
            quote_asset     text NOT NULL,
            price_units     bigint NOT NULL CHECK (price_units > 0),
            source          text NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
            observed_at     timestamptz NOT NULL,
            created_at      timestamptz NOT NULL,
            expires_at      timestamptz NOT NULL,
            CHECK (expires_at > created_at)
        );

        CREATE TABLE checkouts (
            id                  text PRIMARY KEY CHECK (id ~ '^co_[a-z0-9]{12,20}$'),
            merchant_id         text NOT NULL REFERENCES merchants (id),
            merchant_reference  text CHECK (length(merchant_reference) BETWEEN 1 AND 64),
            price_units         bigint NOT NULL CHECK (price_units > 0),
            discount_units      bigint NOT NULL DEFAULT 0
                                CHECK (discount_units >= 0 AND discount_units < price_units),
            campaign_id         text REFERENCES campaigns (id),
            pioneer_uid         text CHECK (length(pioneer_uid) BETWEEN 1 AND 64),
            status              text NOT NULL CHECK (status IN
                                ('open', 'paid', 'released', 'expired', 'refunded', 'disputed')),
            created_at          timestamptz NOT NULL,
            created_by          text NOT NULL,
            expires_at          timestamptz NOT NULL,
            auto_release_s      integer NOT NULL CHECK (auto_release_s > 0),
            paid_at             timestamptz,
            release_at          timestamptz,
            closed_at           timestamptz,
            CHECK ((campaign_id IS NULL) = (discount_units = 0)),
            UNIQUE (merchant_id, merchant_reference)
        );
        CREATE INDEX checkouts_open_by_expiry ON checkouts (expires_at) WHERE status = 'open';
        CREATE INDEX checkouts_paid_by_release ON checkouts (release_at) WHERE status = 'paid';
        CREATE INDEX checkouts_by_merchant ON checkouts (merchant_id, status, created_at);

        CREATE TABLE checkout_legs (
            reference      text PRIMARY KEY
                           CHECK (reference ~ '^co_[a-z0-9]{12,20}-[a-z]{1,4}$'),
            checkout_id    text NOT NULL REFERENCES checkouts (id),
            position       smallint NOT NULL CHECK (position BETWEEN 0 AND 3),
            tender         text NOT NULL CHECK (tender IN ('PI', 'QRIS', 'MSC', 'MSCP')),
            asset          text NOT NULL REFERENCES assets (code),
            share_bp       integer NOT NULL CHECK (share_bp BETWEEN 1 AND 10000),
            idr_units      bigint NOT NULL CHECK (idr_units > 0),
            amount_units   bigint NOT NULL CHECK (amount_units > 0),
            quote_id       uuid REFERENCES rate_quotes (id),
            status         text NOT NULL DEFAULT 'open'
                           CHECK (status IN ('open', 'paid', 'released', 'refunded', 'cancelled')),
            paid_at        timestamptz,
            payer          text CHECK (length(payer) <= 64),
            external_ref   text CHECK (length(external_ref) <= 128),
            qris_payload   text CHECK (length(qris_payload) <= 512),
            UNIQUE (checkout_id, position)
        );

        CREATE TABLE checkout_events (
            id             bigserial PRIMARY KEY,
            checkout_id    text NOT NULL REFERENCES checkouts (id),
            leg_reference  text,
            kind           text NOT NULL CHECK (length(kind) BETWEEN 1 AND 32),
            from_status    text,
            to_status      text NOT NULL,
            actor          text NOT NULL CHECK (length(actor) BETWEEN 1 AND 128),
            at             timestamptz NOT NULL,
            detail         jsonb NOT NULL DEFAULT '{}'::jsonb
        );
        CREATE INDEX checkout_events_by_checkout ON checkout_events (checkout_id, id);

        CREATE TABLE checkout_refunds (
            transfer_id    uuid PRIMARY KEY,
            checkout_id    text NOT NULL REFERENCES checkouts (id),
            leg_reference  text NOT NULL REFERENCES checkout_legs (reference),
            cause          text NOT NULL UNIQUE CHECK (length(cause) BETWEEN 1 AND 160),
            reason         text NOT NULL CHECK (reason IN
                           ('excess', 'underpaid', 'late', 'duplicate', 'expired', 'refunded',
                            'decision')),
            asset          text NOT NULL REFERENCES assets (code),
            amount_units   bigint NOT NULL CHECK (amount_units > 0),
            payer          text,
            destination    text NOT NULL,
            status         text NOT NULL CHECK (status IN ('owed', 'queued', 'paid')),
            created_at     timestamptz NOT NULL
        );
        CREATE INDEX checkout_refunds_owed ON checkout_refunds (asset, created_at)
            WHERE status <> 'paid';
        """
    )


def downgrade() -> None:
    """Drop what ``upgrade`` created."""
    op.execute(
        "DROP TABLE checkout_refunds, checkout_events, checkout_legs, checkouts, rate_quotes,"
        " campaign_reservations, campaigns, revenue_share_rules, treasury_parameters,"
        " idempotency_keys, api_keys, merchants"
    )
