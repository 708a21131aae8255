"""Work-order and application numbers on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.models import ServiceApplication, Ticket
from backend.services.numbering import issue_number, looks_like_number


def test_numbers_are_fourteen_digits_with_the_local_date(session: Session) -> None:
    # 2026-12-31 17:30 UTC is already 2027-01-01 in Asia/Shanghai.
    number = issue_number(session, datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    assert looks_like_number(number)
    assert number.startswith("20270101")


def test_numbers_increase_within_a_day_and_never_repeat(session_factory: sessionmaker[Session]) -> None:
    moment = datetime(2031, 5, 6, 2, 0, tzinfo=UTC)
    issued = []
    for _ in range(5):
        with session_factory() as session, session.begin():
            issued.append(issue_number(session, moment))
    assert issued == sorted(issued)
    assert len(set(issued)) == 5
    assert [int(n[8:]) - int(issued[0][8:]) for n in issued] == [0, 1, 2, 3, 4]


def test_seeded_tickets_and_applications_carry_issued_numbers(session: Session) -> None:
    numbers = list(session.scalars(select(Ticket.ticket_no))) + list(
        session.scalars(select(ServiceApplication.application_no))
    )
    assert numbers
    assert all(looks_like_number(n) for n in numbers)
