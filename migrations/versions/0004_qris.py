"""QRIS rail: expectations, notifications, report lines, reconciliation."""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0004_qris"
down_revision = "0003_pi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create this rail's tables."""


def downgrade() -> None:
    """Drop this rail's tables."""
