"""Initial schema: every table, plus the triggers that make audit_events append-only.

Revision ID: 0001
Revises: -
Create Date: 2026-11-26 05:48:25.876776
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# audit_events is append-only: the database itself refuses UPDATE and DELETE, so not even a bug
# or a hand-typed SQL statement can rewrite history without leaving the chain broken.
SQLITE_AUDIT_TRIGGERS = (
    """
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END
    """,
)

POSTGRES_AUDIT_TRIGGERS = (
    """
    CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()
    """,
    """
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()
    """,
)


def _create_audit_triggers() -> None:
    statements = SQLITE_AUDIT_TRIGGERS if op.get_bind().dialect.name == "sqlite" else POSTGRES_AUDIT_TRIGGERS
    for statement in statements:
        op.execute(statement)


def _drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_refuse_change()")


def upgrade() -> None:
    op.create_table(
        "number_sequences",
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_number_sequences")),
    )
    op.create_table(
        "active_faults",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("villages", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(length=255), nullable=False),
        sa.Column("expected_restore_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_active_faults")),
    )
    with op.batch_alter_table("active_faults", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_active_faults_area"), ["area"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_user_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("public_id", name=op.f("uq_conversations_public_id")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_external_user_hash"), ["external_user_hash"], unique=False
        )

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("business_name", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_table(
        "planned_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("villages", sa.JSON(), nullable=False),
        sa.Column("line", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("notice_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_outages")),
    )
    with op.batch_alter_table("planned_outages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planned_outages_area"), ["area"], unique=False)

    op.create_table(
        "service_halls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("hours", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_halls")),
        sa.UniqueConstraint("name", name=op.f("uq_service_halls_name")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_no", sa.String(length=13), nullable=False),
        sa.Column("legacy_no", sa.String(length=10), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("town", sa.String(length=64), nullable=False),
        sa.Column("village", sa.String(length=64), nullable=True),
        sa.Column("area_type", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("tariff_code", sa.String(length=64), nullable=False),
        sa.Column("tou_enabled", sa.Boolean(), nullable=False),
        sa.Column("tou_share", sa.JSON(), nullable=True),
        sa.Column("payment_mode", sa.String(length=16), nullable=False),
        sa.Column("balance_yuan", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("arrears_yuan", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("supply_status", sa.String(length=32), nullable=False),
        sa.Column("suspended_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_accounts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("account_no", name=op.f("uq_accounts_account_no")),
        sa.UniqueConstraint("legacy_no", name=op.f("uq_accounts_legacy_no")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_accounts_town"), ["town"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("normalised_text", sa.Text(), nullable=True),
        sa.Column("channel_msg_id", sa.String(length=64), nullable=True),
        sa.Column("in_reply_to", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_messages_conversation_id_conversations")
        ),
        sa.ForeignKeyConstraint(
            ["in_reply_to"], ["messages.id"], name=op.f("fk_messages_in_reply_to_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("channel", "channel_msg_id", name=op.f("uq_messages_channel_channel_msg_id")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_conversation_id"), ["conversation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_in_reply_to"), ["in_reply_to"], unique=False)

    op.create_table(
        "bills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("kwh", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount_yuan", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("tariff_code", sa.String(length=64), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_bills_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bills")),
        sa.UniqueConstraint("account_id", "period", name=op.f("uq_bills_account_id_period")),
    )
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bills_account_id"), ["account_id"], unique=False)

    op.create_table(
        "identity_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("account_no", sa.String(length=13), nullable=True),
        sa.Column("account_masked", sa.String(length=16), nullable=True),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_identity_verifications_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_verifications")),
    )
    with op.batch_alter_table("identity_verifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_verifications_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_identity_verifications_lookup", ["conversation_id", "account_no", "success"], unique=False
        )

    op.create_table(
        "meters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_no", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("smart_prepay", sa.Boolean(), nullable=False),
        sa.Column("installed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_meters_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
        sa.UniqueConstraint("meter_no", name=op.f("uq_meters_meter_no")),
    )
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meters_account_id"), ["account_id"], unique=False)

    op.create_table(
        "monthly_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("kwh", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("peak_kwh", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("flat_kwh", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("valley_kwh", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("pv_feed_in_kwh", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_monthly_usage_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_usage")),
        sa.UniqueConstraint("account_id", "period", name=op.f("uq_monthly_usage_account_id_period")),
    )
    with op.batch_alter_table("monthly_usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monthly_usage_account_id"), ["account_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_yuan", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payments_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_account_id"), ["account_id"], unique=False)

    op.create_table(
        "service_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_no", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("business_type", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("current_step", sa.String(length=128), nullable=False),
        sa.Column("next_step", sa.String(length=255), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_service_applications_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_applications")),
        sa.UniqueConstraint("application_no", name=op.f("uq_service_applications_application_no")),
    )
    with op.batch_alter_table("service_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_applications_account_id"), ["account_id"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=40), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_tickets_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_tickets_ticket_no")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_conversation_id"), ["conversation_id"], unique=False)

    _create_audit_triggers()


def downgrade() -> None:
    _drop_audit_triggers()
    op.drop_table("number_sequences")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_tickets_account_id"))

    op.drop_table("tickets")
    with op.batch_alter_table("service_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_applications_account_id"))

    op.drop_table("service_applications")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_account_id"))

    op.drop_table("payments")
    with op.batch_alter_table("monthly_usage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monthly_usage_account_id"))

    op.drop_table("monthly_usage")
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meters_account_id"))

    op.drop_table("meters")
    with op.batch_alter_table("identity_verifications", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_verifications_lookup")
        batch_op.drop_index(batch_op.f("ix_identity_verifications_account_id"))

    op.drop_table("identity_verifications")
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bills_account_id"))

    op.drop_table("bills")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_in_reply_to"))
        batch_op.drop_index(batch_op.f("ix_messages_conversation_id"))

    op.drop_table("messages")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_town"))
        batch_op.drop_index(batch_op.f("ix_accounts_customer_id"))

    op.drop_table("accounts")
    op.drop_table("service_halls")
    with op.batch_alter_table("planned_outages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planned_outages_area"))

    op.drop_table("planned_outages")
    op.drop_table("customers")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_external_user_hash"))

    op.drop_table("conversations")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
    with op.batch_alter_table("active_faults", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_active_faults_area"))

    op.drop_table("active_faults")
