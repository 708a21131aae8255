from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from backend.manage import alembic_config, migrate
from backend.models import Account, Base, Conversation, Customer, Message, Payment
from backend.services.accounts import find_account


def test_migration_creates_every_model_table(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_database_is_at_the_single_head(engine):
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == heads[0]


def test_migrating_again_is_a_no_op(db_url, engine):
    migrate(db_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_money_round_trips_as_decimal_and_datetimes_as_aware_utc(session, unique_id):
    account = find_account(session, "3100000001")
    assert account is not None
    payment = Payment(
        account_id=account.id,
        amount_yuan=Decimal("100.10"),
        channel="wechat",
        reference=unique_id,
        paid_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    )
    session.add(payment)
    session.commit()
    session.expunge_all()
    stored = session.scalars(select(Payment).where(Payment.reference == unique_id)).one()
    assert stored.amount_yuan == Decimal("100.10")
    assert isinstance(stored.amount_yuan, Decimal)
    assert stored.paid_at == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert stored.paid_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session, unique_id):
    account = find_account(session, "3100000001")
    assert account is not None
    session.add(
        Payment(
            account_id=account.id,
            amount_yuan=Decimal(1),
            channel="x",
            reference=unique_id,
            paid_at=datetime(2026, 1, 1),
        )
    )  # naive on purpose
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


def test_account_numbers_are_unique(session):
    customer = session.scalars(select(Customer).limit(1)).one()
    session.add(
        Account(
            account_no="4103100000001",
            legacy_no=None,
            customer_id=customer.id,
            address="x",
            town="x",
            area_type="rural",
            category="residential",
            tariff_code="residential_tiered",
            payment_mode="prepaid",
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_are_enforced(session, unique_id):
    session.add(
        Message(
            conversation_id=987_654_321,
            channel="web",
            direction="in",
            sender="customer",
            text="x",
            channel_msg_id=unique_id,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_channel_message_id_is_unique_per_channel(session, unique_id):
    conversation = Conversation(public_id=f"web-{unique_id}", channel="web", external_user_hash=unique_id)
    session.add(conversation)
    session.flush()
    base = {"conversation_id": conversation.id, "direction": "in", "sender": "customer", "text": "你好"}
    session.add(Message(channel="web", channel_msg_id=unique_id, **base))
    session.add(Message(channel="wechat", channel_msg_id=unique_id, **base))  # other channel: allowed
    session.add(Message(channel="web", channel_msg_id=None, **base))
    session.add(Message(channel="web", channel_msg_id=None, **base))  # no id: never a duplicate
    session.flush()
    session.add(Message(channel="web", channel_msg_id=unique_id, **base))
    with pytest.raises(IntegrityError):
        session.flush()
