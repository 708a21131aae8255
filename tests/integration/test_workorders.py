"""The work-order state machine on SQLite and PostgreSQL: every (action, state) pair, side effects,
audit events, ratings and the supervisor queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.models import AuditEvent, Ticket
from backend.models_workorders import SupervisorNotification
from backend.services import workorders as wo
from backend.services.accounts import find_account

# How to reach each state from 受理; the note/assignee each step needs.
PATHS: dict[str, list[str]] = {
    "accepted": [],
    "dispatched": ["dispatch"],
    "acknowledged": ["dispatch", "acknowledge"],
    "in_progress": ["dispatch", "acknowledge", "start"],
    "answered": ["dispatch", "acknowledge", "start", "answer"],
    "follow_up": ["dispatch", "acknowledge", "start", "answer", "request_follow_up"],
    "closed": ["dispatch", "acknowledge", "start", "answer", "request_follow_up", "close"],
    "withdrawn": ["withdraw"],
}
ARGS = {
    "dispatch": {"assignee": "七里营供电所"},
    "answer": {"note": "经核实已处理，向客户致歉。"},
    "send_back": {"note": "不属于本所辖区"},
    "reopen": {"note": "客户不满意"},
}


def new_order(session, unique_id: str, **overrides) -> Ticket:
    fields = {
        "kind": "complaint",
        "category": "服务投诉",
        "summary": f"营业厅工作人员态度差 {unique_id}",
        "channel": "wechat",
        "actor": f"conversation:wx-{unique_id}",
        "conversation_id": f"wx-{unique_id}",
    }
    fields.update(overrides)
    return wo.create_work_order(session, **fields)


def drive(session, ticket_no: str, steps: list[str]) -> Ticket:
    ticket = wo.get_work_order(session, ticket_no)
    for step in steps:
        ticket = wo.transition(
            session, ticket_no, step, actor="agent:a1", channel="console", **ARGS.get(step, {})
        )
    assert ticket is not None
    return ticket


def events_for(session, ticket_no: str) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.entity_id == ticket_no).order_by(AuditEvent.id))
    )


def test_the_table_covers_every_action_and_labels_every_state() -> None:
    assert set(wo.STATE_LABELS) == set(PATHS)
    assert {action for action, _ in wo.TRANSITIONS} == set(wo.ACTIONS)
    assert set(wo.TRANSITIONS.values()) <= set(wo.STATE_LABELS)


@pytest.mark.parametrize("state", list(PATHS))
@pytest.mark.parametrize("action", wo.ACTIONS)
def test_every_action_from_every_state(session, unique_id, state, action) -> None:
    ticket = new_order(session, unique_id)
    drive(session, ticket.ticket_no, PATHS[state])
    before_events = len(events_for(session, ticket.ticket_no))
    target = wo.TRANSITIONS.get((action, state))
    if target is None:
        with pytest.raises(wo.InvalidTransition) as refused:
            wo.transition(
                session, ticket.ticket_no, action, actor="agent:a1", channel="console", **ARGS.get(action, {})
            )
        assert wo.STATE_LABELS[state] in str(refused.value)  # the message names the current state
        session.refresh(ticket)
        assert ticket.status == state
        assert len(events_for(session, ticket.ticket_no)) == before_events
    else:
        done = wo.transition(
            session, ticket.ticket_no, action, actor="agent:a1", channel="console", **ARGS.get(action, {})
        )
        assert done.status == target
        event = events_for(session, ticket.ticket_no)[-1]
        assert event.action == f"workorder.{action}"
        assert event.actor == "agent:a1" and event.channel == "console"
        assert event.before is not None and event.before["status"] == state
        assert event.after is not None and event.after["status"] == target


def test_create_sets_number_time_limits_and_audit(session, unique_id) -> None:
    account = find_account(session, "3100000001")
    assert account is not None
    at = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # Thursday 14:00 in 新乡
    ticket = new_order(session, unique_id, account_id=account.id, contact_phone="13803731234", now=at)
    assert ticket.ticket_no.startswith("20261126") and len(ticket.ticket_no) == 14
    assert ticket.status == "accepted"
    assert ticket.contact_due_at == at + timedelta(hours=24)
    assert ticket.answer_due_at == datetime(2026, 12, 2, 15, 59, 59, tzinfo=UTC)
    (event,) = events_for(session, ticket.ticket_no)
    assert event.action == "workorder.create"
    assert event.after is not None
    assert event.after["contact_phone_masked"] == "138****1234"
    assert "13803731234" not in str(event.after)  # personal data masked in the trail
    assert event.after["account_masked"] == "****0001"


def test_bad_input_is_refused(session, unique_id) -> None:
    with pytest.raises(wo.InvalidWorkOrder):
        new_order(session, unique_id, kind="gossip")
    with pytest.raises(wo.InvalidWorkOrder):
        new_order(session, unique_id, related_ticket_no="20990101999999")
    ticket = new_order(session, unique_id)
    with pytest.raises(wo.InvalidTransition, match="派单需要指定"):
        wo.transition(session, ticket.ticket_no, "dispatch", actor="agent:a1", channel="console")
    drive(session, ticket.ticket_no, ["dispatch", "acknowledge", "start"])
    with pytest.raises(wo.InvalidTransition, match="答复需要填写"):
        wo.transition(session, ticket.ticket_no, "answer", actor="agent:a1", channel="console", note="  ")
    with pytest.raises(wo.InvalidTransition):
        wo.transition(session, ticket.ticket_no, "fly", actor="agent:a1", channel="console")
    with pytest.raises(wo.WorkOrderNotFound):
        wo.transition(
            session, "20990101999999", "dispatch", actor="agent:a1", channel="console", assignee="x"
        )


def test_send_back_returns_the_order_to_the_previous_handler(session, unique_id) -> None:
    ticket = new_order(session, unique_id)
    drive(session, ticket.ticket_no, ["dispatch"])
    wo.transition(
        session, ticket.ticket_no, "dispatch", actor="agent:a1", channel="console", assignee="合河供电所"
    )
    drive(session, ticket.ticket_no, ["acknowledge"])
    back = wo.transition(
        session, ticket.ticket_no, "send_back", actor="agent:a2", channel="console", note="辖区不对"
    )
    assert back.status == "accepted"
    assert back.assigned_to == "七里营供电所"
    assert back.previous_assignee == "合河供电所"


def test_contact_and_answer_are_recorded_met_or_breached(session, unique_id) -> None:
    at = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    ticket = new_order(session, unique_id, now=at)
    for step in ("dispatch", "acknowledge"):
        wo.transition(
            session, ticket.ticket_no, step, actor="agent:a1", channel="console", now=at, **ARGS.get(step, {})
        )
    late = at + timedelta(hours=30)
    started = wo.transition(session, ticket.ticket_no, "start", actor="agent:a1", channel="console", now=late)
    assert started.contacted_at == late and started.contact_sla == "breached"
    answered = wo.transition(
        session, ticket.ticket_no, "answer", actor="agent:a1", channel="console", note="已处理", now=late
    )
    assert answered.answer == "已处理" and answered.answer_sla == "met"
    assert wo.next_deadline(answered) is None


def test_escalate_keeps_state_and_raises_priority(session, unique_id) -> None:
    ticket = new_order(session, unique_id)
    drive(session, ticket.ticket_no, ["dispatch"])
    once = wo.transition(session, ticket.ticket_no, "escalate", actor="supervisor:s1", channel="console")
    assert (once.status, once.priority, once.escalation_level) == ("dispatched", "high", 1)
    twice = wo.transition(
        session,
        ticket.ticket_no,
        "escalate",
        actor="supervisor:s1",
        channel="console",
        assignee="县公司客服中心",
    )
    assert (twice.priority, twice.escalation_level, twice.assigned_to) == ("urgent", 2, "县公司客服中心")
    thrice = wo.transition(session, ticket.ticket_no, "escalate", actor="supervisor:s1", channel="console")
    assert thrice.priority == "urgent"  # already the top


def test_satisfied_rating_closes(session, unique_id) -> None:
    ticket = new_order(session, unique_id)
    drive(session, ticket.ticket_no, PATHS["answered"])
    rated = wo.rate_work_order(session, ticket.ticket_no, "满意", actor="customer", channel="wechat")
    assert rated.status == "closed" and rated.rating == "满意" and rated.closed_at is not None
    actions = [e.action for e in events_for(session, ticket.ticket_no)]
    assert actions[-2:] == ["workorder.rate", "workorder.close"]


@pytest.mark.parametrize("rating", ["不满意", "非常不满意"])
def test_unsatisfied_rating_reopens_and_notifies_the_supervisor(session, unique_id, rating) -> None:
    at = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    ticket = new_order(session, unique_id, now=at)
    drive(session, ticket.ticket_no, PATHS["follow_up"])
    later = at + timedelta(days=3)
    reopened = wo.rate_work_order(
        session, ticket.ticket_no, rating, actor="customer", channel="wechat", now=later
    )
    assert reopened.status == "acknowledged"  # back with the handler, to contact and answer again
    assert reopened.reopen_count == 1 and reopened.rating == rating
    assert reopened.answer is None and reopened.answered_at is None
    assert reopened.contact_due_at == later + timedelta(hours=24)  # a new cycle on new limits
    assert reopened.priority == "high"
    note = session.scalars(
        select(SupervisorNotification).where(SupervisorNotification.ticket_id == reopened.id)
    ).one()
    assert note.reason == "unsatisfied" and rating in note.message
    actions = [e.action for e in events_for(session, ticket.ticket_no)]
    assert actions[-2:] == ["workorder.rate", "workorder.reopen"]


def test_rating_needs_an_answered_order_and_a_known_level(session, unique_id) -> None:
    ticket = new_order(session, unique_id)
    with pytest.raises(wo.InvalidTransition):
        wo.rate_work_order(session, ticket.ticket_no, "满意", actor="customer", channel="wechat")
    drive(session, ticket.ticket_no, PATHS["answered"])
    with pytest.raises(wo.InvalidWorkOrder):
        wo.rate_work_order(session, ticket.ticket_no, "还行吧", actor="customer", channel="wechat")


def test_supervisor_notifications_are_not_duplicated(session, unique_id) -> None:
    ticket = new_order(session, unique_id)
    first = wo.notify_supervisor(session, ticket, reason="breached", deadline="contact", message="x")
    again = wo.notify_supervisor(session, ticket, reason="breached", deadline="contact", message="x")
    assert first is not None and again is None
    count = session.scalar(
        select(func.count())
        .select_from(SupervisorNotification)
        .where(SupervisorNotification.ticket_id == ticket.id)
    )
    assert count == 1


def test_related_orders_and_account_listing(session, unique_id) -> None:
    account = find_account(session, "3100000002")
    assert account is not None
    first = new_order(session, unique_id, account_id=account.id)
    second = new_order(session, unique_id, account_id=account.id, related_ticket_no=first.ticket_no)
    listed = [t.ticket_no for t in wo.list_for_account(session, account.id)]
    assert listed.index(second.ticket_no) < listed.index(first.ticket_no)  # newest first
    view = wo.describe_work_order(session, second)
    assert view.related_ticket_no == first.ticket_no
    assert view.status_label == "受理" and view.next_deadline_kind == "contact"


def test_seeded_complaint_of_sun_li_is_in_progress_at_her_station(session) -> None:
    account = find_account(session, "3100000007")
    assert account is not None
    complaint = next(t for t in wo.list_for_account(session, account.id) if t.kind == "complaint")
    view = wo.describe_work_order(session, complaint)
    assert (view.status_label, view.handler) == ("处理中", "大召营供电所")
