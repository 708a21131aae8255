"""Schema changes for issue 7 complaints and work orders: lifecycle columns on tickets, the
supervisor queue.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)

# (name, type, server default for rows that existed before this revision)
TICKET_COLUMNS: list[tuple[str, Any, str | None]] = [
    ("channel", sa.String(length=16), None),
    ("contact_phone", sa.String(length=20), None),
    ("address", sa.String(length=255), None),
    ("details", sa.JSON(), None),
    ("related_ticket_no", sa.String(length=32), None),
    ("previous_assignee", sa.String(length=64), None),
    ("answer", sa.Text(), None),
    ("contact_due_at", UTC_DATETIME, None),
    ("answer_due_at", UTC_DATETIME, None),
    ("contacted_at", UTC_DATETIME, None),
    ("answered_at", UTC_DATETIME, None),
    ("closed_at", UTC_DATETIME, None),
    ("contact_sla", sa.String(length=16), "ok"),
    ("answer_sla", sa.String(length=16), "ok"),
    ("escalation_level", sa.Integer(), "0"),
    ("reopen_count", sa.Integer(), "0"),
    ("rating", sa.String(length=16), None),
    ("rated_at", UTC_DATETIME, None),
]


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for name, type_, default in TICKET_COLUMNS:
            batch_op.add_column(
                sa.Column(
                    name,
                    type_,
                    nullable=default is None,
                    server_default=sa.text(default) if default and default.isdigit() else default,
                )
            )
        batch_op.create_index(batch_op.f("ix_tickets_related_ticket_no"), ["related_ticket_no"], unique=False)
        # The scheduler scans open orders by status.
        batch_op.create_index("ix_tickets_status", ["status"], unique=False)

    op.create_table(
        "supervisor_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("deadline", sa.String(length=16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("acknowledged_at", UTC_DATETIME, nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_supervisor_notifications_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervisor_notifications")),
        sa.UniqueConstraint(
            "ticket_id", "reason", "deadline", "cycle", name=op.f("uq_supervisor_notifications_ticket_id")
        ),
    )
    with op.batch_alter_table("supervisor_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supervisor_notifications_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("supervisor_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supervisor_notifications_ticket_id"))
    op.drop_table("supervisor_notifications")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_status")
        batch_op.drop_index(batch_op.f("ix_tickets_related_ticket_no"))
        for name, _type, _default in reversed(TICKET_COLUMNS):
            batch_op.drop_column(name)
