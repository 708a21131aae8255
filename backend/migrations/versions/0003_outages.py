"""Schema changes for issue 5 outages, faults, repairs.

planned_outages gets a status (a planned outage can be cancelled) and updated_at; active_faults
gets restored_at and updated_at. Repair orders need no table of their own: they are work orders
(tickets, issue 7) with the repair facts in `details`.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("planned_outages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="scheduled")
        )
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("active_faults", schema=None) as batch_op:
        batch_op.add_column(sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("active_faults", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("restored_at")
    with op.batch_alter_table("planned_outages", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("status")
