"""Lock-and-earn positions and MSC Points issuance (issue 13, first two sections; decision 0029).

``lock_positions``: one row per lock a Pioneer asked for; its Pi expectation (purpose ``lock``)
names it by ``reference``; the verified payment opens it (its maximum reward reserved from the
points budget by one pending transfer) or refuses it (the Pi refunded). ``lock_accruals``: one
row per position per whole day elapsed, the reward accrued from the start and the part credited
that day; the primary key makes the daily job idempotent per position per day.
``mscp_lots``: every MSCP issuance to a Pioneer, with its expiry, consumed first in first out by
spending and expiry. ``mscp_bonuses``: the once-only bonuses (onboarding per Pioneer, referral
per referred Pioneer); ``pioneer_referrals``: who referred whom (one referrer per Pioneer).
``data_dividend_batches``: every accepted signed batch, by its digest. ``point_redemptions``: a
merchant's points redeemed for Rupiah through the payout batch.
"""

from alembic import op

revision = "0021_locks_points"
down_revision = "0020_guarantee_fund"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the lock and points tables."""
    op.execute(
        """
        CREATE TABLE lock_positions (
            id              uuid PRIMARY KEY,
            uid             text NOT NULL CHECK (length(uid) BETWEEN 1 AND 128),
            reference       text NOT NULL UNIQUE CHECK (length(reference) BETWEEN 1 AND 64),
            idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128),
            term_days       smallint NOT NULL CHECK (term_days IN (30, 60, 90)),
            principal_units bigint NOT NULL CHECK (principal_units > 0),
            rate            numeric NOT NULL CHECK (rate >= 0),
            rate_per_unit   numeric NOT NULL CHECK (rate_per_unit >= 0),
            reward_max      bigint NOT NULL CHECK (reward_max >= 0),
            maturity_action text NOT NULL CHECK (maturity_action IN ('a2u', 'convert')),
            status          text NOT NULL DEFAULT 'expected'
                            CHECK (status IN ('expected', 'open', 'refused', 'matured',
                                              'unlocked')),
            created_at      timestamptz NOT NULL,
            expires_at      timestamptz NOT NULL,
            payment_id      text UNIQUE,
            started_at      timestamptz,
            matures_at      timestamptz,
            accrued_days    smallint NOT NULL DEFAULT 0 CHECK (accrued_days >= 0),
            vested_units    bigint NOT NULL DEFAULT 0 CHECK (vested_units >= 0),
            reward_units    bigint CHECK (reward_units >= 0),
            penalty_units   bigint CHECK (penalty_units >= 0),
            closed_at       timestamptz,
            refusal_code    text CHECK (length(refusal_code) BETWEEN 1 AND 64),
            UNIQUE (uid, idempotency_key),
            CHECK (accrued_days <= term_days),
            CHECK (vested_units <= reward_max),
            CHECK ((status IN ('open', 'matured', 'unlocked')) = (started_at IS NOT NULL)),
            CHECK ((status IN ('matured', 'unlocked')) = (closed_at IS NOT NULL)),
            CHECK ((status = 'refused') = (refusal_code IS NOT NULL))
        );
        CREATE INDEX lock_positions_open ON lock_positions (id) WHERE status = 'open';
        CREATE INDEX lock_positions_by_uid ON lock_positions (uid, created_at);

        CREATE TABLE lock_accruals (
            position_id     uuid NOT NULL REFERENCES lock_positions (id),
            day             smallint NOT NULL CHECK (day > 0),
            accrued_units   bigint NOT NULL CHECK (accrued_units >= 0),
            credited_units  bigint NOT NULL CHECK (credited_units >= 0),
            booked_at       timestamptz NOT NULL,
            PRIMARY KEY (position_id, day)
        );

        CREATE TABLE mscp_lots (
            transfer_id     uuid PRIMARY KEY,
            uid             text NOT NULL CHECK (length(uid) BETWEEN 1 AND 128),
            source          text NOT NULL CHECK (source IN ('onboarding', 'referral',
                                                 'data_dividend', 'cashback', 'staking')),
            units           bigint NOT NULL CHECK (units > 0),
            remaining       bigint NOT NULL CHECK (remaining >= 0),
            issued_at       timestamptz NOT NULL,
            expires_at      timestamptz,
            expired_units   bigint NOT NULL DEFAULT 0 CHECK (expired_units >= 0),
            CHECK (remaining + expired_units <= units)
        );
        CREATE INDEX mscp_lots_fifo ON mscp_lots (uid, issued_at, transfer_id)
            WHERE remaining > 0;
        CREATE INDEX mscp_lots_expiring ON mscp_lots (expires_at) WHERE remaining > 0;

        CREATE TABLE mscp_bonuses (
            kind            text NOT NULL CHECK (kind IN ('onboarding', 'referral')),
            subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 128),
            uid             text NOT NULL CHECK (length(uid) BETWEEN 1 AND 128),
            transfer_id     uuid NOT NULL UNIQUE,
            granted_at      timestamptz NOT NULL,
            PRIMARY KEY (kind, subject)
        );

        CREATE TABLE pioneer_referrals (
            referred        text PRIMARY KEY CHECK (length(referred) BETWEEN 1 AND 128),
            referrer        text NOT NULL CHECK (length(referrer) BETWEEN 1 AND 128),
            registered_at   timestamptz NOT NULL,
            registered_by   text NOT NULL CHECK (length(registered_by) BETWEEN 1 AND 64),
            CHECK (referred <> referrer)
        );

        CREATE TABLE data_dividend_batches (
            digest          text PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
            batch_id        text NOT NULL UNIQUE CHECK (length(batch_id) BETWEEN 1 AND 64),
            month           text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
            key_id          text NOT NULL CHECK (length(key_id) BETWEEN 1 AND 64),
            pioneers        integer NOT NULL CHECK (pioneers > 0),
            points          bigint NOT NULL CHECK (points > 0),
            accepted_at     timestamptz NOT NULL,
            accepted_by     text NOT NULL CHECK (length(accepted_by) BETWEEN 1 AND 64)
        );

        CREATE TABLE point_redemptions (
            id              uuid PRIMARY KEY,
            merchant_id     text NOT NULL CHECK (length(merchant_id) BETWEEN 1 AND 64),
            idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
            points          bigint NOT NULL CHECK (points > 0),
            idr_units       bigint NOT NULL CHECK (idr_units > 0),
            transfer_id     uuid NOT NULL UNIQUE,
            requested_at    timestamptz NOT NULL,
            UNIQUE (merchant_id, idempotency_key)
        );
        """
    )


def downgrade() -> None:
    """Drop the lock and points tables."""
    op.execute(
        "DROP TABLE point_redemptions; DROP TABLE data_dividend_batches;"
        " DROP TABLE pioneer_referrals; DROP TABLE mscp_bonuses;"
        " DROP TABLE mscp_lots; DROP TABLE lock_accruals; DROP TABLE lock_positions;"
    )
