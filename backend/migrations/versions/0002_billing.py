"""Schema changes for issue 4 billing and tariffs.

None were needed: bills (with their JSON breakdown), monthly_usage (with time-band kWh) and
payments are in 0001, and tariff figures live in config/tariffs.yml, not in the database. The
revision stays so that the chain 0001 -> 0002 -> ... is the one every capability builds on.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
