"""Pi rail: payment expectations, Pi payments, A2U payouts."""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0003_pi"
down_revision = "0002_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this rail's tables."""


def downgrade() -> None:
    """Drop this rail's tables."""
