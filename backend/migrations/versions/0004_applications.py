"""Schema changes for issue 6 service applications: tracking columns on service_applications
(conversation, supply class, contact, step and whole-process deadlines, overdue flag) and the
step history table.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)

APPLICATION_COLUMNS: list[tuple[str, Any]] = [
    ("conversation_id", sa.String(length=40)),
    ("channel", sa.String(length=16)),
    ("supply_class", sa.String(length=32)),
    ("contact_phone", sa.String(length=20)),
    ("details", sa.JSON()),
    ("step_started_at", UTC_DATETIME),
    ("step_due_at", UTC_DATETIME),
    ("due_at", UTC_DATETIME),
    ("completed_at", UTC_DATETIME),
    ("overdue_flagged_at", UTC_DATETIME),
    ("updated_at", UTC_DATETIME),
]


def upgrade() -> None:
    with op.batch_alter_table("service_applications", schema=None) as batch_op:
        for name, type_ in APPLICATION_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_service_applications_conversation_id"), ["conversation_id"], unique=False
        )

    op.create_table(
        "application_step_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=True),
        sa.Column("ended_at", UTC_DATETIME, nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("notice_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["service_applications.id"],
            name=op.f("fk_application_step_events_application_id_service_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_step_events")),
    )
    with op.batch_alter_table("application_step_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_step_events_application_id"), ["application_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("application_step_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_step_events_application_id"))
    op.drop_table("application_step_events")
    with op.batch_alter_table("service_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_applications_conversation_id"))
        for name, _type in reversed(APPLICATION_COLUMNS):
            batch_op.drop_column(name)
