"""Payout obligations keep one copy of the bank-detail checks (decision 0023, "Checked once").

An obligation's bank code, account number and holder name are copied from a row whose own
CHECKs already hold them (merchants, checkout_refunds, msc_redemptions) or from a validated
``BankAccount`` (``obligations.record``), and the transfer file validates every line again as it
is written. The regular-expression checks on the copy cost 0.8 s of the 100,000-line cut and
added nothing; their lengths stay bounded here.
"""

from alembic import op

revision = "0027_payout_checks_once"
down_revision = "0026_operations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace the copied regular-expression checks with length bounds."""
    op.execute(
        """
        ALTER TABLE payout_obligations
            DROP CONSTRAINT payout_obligations_bank_code_check,
            DROP CONSTRAINT payout_obligations_account_number_check,
            DROP CONSTRAINT payout_obligations_holder_name_check,
            ADD CONSTRAINT payout_obligations_bank_code_length
                CHECK (octet_length(bank_code) = 3),
            ADD CONSTRAINT payout_obligations_account_number_length
                CHECK (octet_length(account_number) BETWEEN 5 AND 20),
            ADD CONSTRAINT payout_obligations_holder_name_length
                CHECK (octet_length(holder_name) BETWEEN 1 AND 70);
        """
    )


def downgrade() -> None:
    """Put the regular-expression checks back."""
    op.execute(
        """
        ALTER TABLE payout_obligations
            DROP CONSTRAINT payout_obligations_bank_code_length,
            DROP CONSTRAINT payout_obligations_account_number_length,
            DROP CONSTRAINT payout_obligations_holder_name_length,
            ADD CONSTRAINT payout_obligations_bank_code_check
                CHECK (bank_code ~ '^[0-9]{3}$'),
            ADD CONSTRAINT payout_obligations_account_number_check
                CHECK (account_number ~ '^[0-9]{5,20}$'),
            ADD CONSTRAINT payout_obligations_holder_name_check
                CHECK (holder_name ~ '^[A-Z0-9][A-Z0-9 .''&/-]{0,69}$');
        """
    )
