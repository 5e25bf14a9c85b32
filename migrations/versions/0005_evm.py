"""EVM: deployments, sent transactions, nonces, observed events."""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0005_evm"
down_revision = "0004_qris"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this rail's tables."""


def downgrade() -> None:
    """Drop this rail's tables."""
