"""Site messages and their roll call through the services: who gets them and on which
channels, the confirmation, idempotent queueing, the signed links, answers counted by
department, re-sending to those who have not answered (by hand and every N minutes), roles,
and bad input answered with the field and the reason."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction

from mailwarden.core import clock
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.core.tasks import tick
from mailwarden.incidents.delivery import EXERCISE_LABEL
from mailwarden.incidents.models import (
    Answer,
    Broadcast,
    Channel,
    Delivery,
    RollCallAnswer,
    TimelineEntry,
)
from mailwarden.incidents.queries import broadcasts as queries
from mailwarden.incidents.services import broadcasts as services
from tests.incidents.broadcast_helpers import Town, evacuate, make_incident, make_town, token
from tests.incidents.conftest import AUDITOR, CLERK, MANAGER, OPERATOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def town(frozen_clock) -> Town:
    return make_town()


def addresses(broadcast: Broadcast, round_: int = 1) -> set[tuple[str, str, int]]:
    rows = Delivery.objects.filter(ref=broadcast.ref, payload__round=round_)
    return {(d.channel, d.address, int(d.key.split(":")[2])) for d in rows}


# ----------------------------------------------------------------------------- who gets it


def test_everyone_active_at_the_site_gets_it_on_every_channel(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    t = town
    assert addresses(b) == {
        (Channel.EMAIL, t.alice.email, t.alice.pk),
        (Channel.SMS, t.alice.phone, t.alice.pk),
        (Channel.EMAIL, t.bob.email, t.bob.pk),
        (Channel.EMAIL, t.carol.email, t.carol.pk),
        (Channel.SMS, t.carol.phone, t.carol.pk),
        (Channel.INAPP, str(t.carol.user_id), t.carol.pk),
        (Channel.EMAIL, t.dan.email, t.dan.pk),
        (Channel.SMS, t.dan.phone, t.dan.pk),
    }
    assert (b.recipients, b.messages, b.rounds, b.exercise) == (4, 8, 1, False)
    assert set(RollCallAnswer.objects.filter(broadcast=b).values_list("recipient", flat=True)) == {
        t.alice.pk,
        t.bob.pk,
        t.carol.pk,
        t.dan.pk,
    }
    msg = Delivery.objects.get(key=f"broadcast:{b.pk}:{t.alice.pk}:sms:1")
    assert msg.subject == "EVACUATE: Leave the building now"
    assert "assembly point B" in msg.text and "I need help: http" in msg.text
    assert msg.ref == f"broadcast:{b.pk}" and msg.status == "pending"
    entry = LedgerEntry.objects.get(action="incidents.broadcast.sent")
    assert entry.subject_id == str(b.pk) and json.loads(entry.body)["data"]["recipients"] == 4
    event = OutboxEvent.objects.get(topic="incidents.broadcast.sent")
    assert event.payload["messages"] == 8 and event.payload["round"] == 1


def test_nothing_goes_out_without_confirmation(town):
    with pytest.raises(ServiceError) as refused:
        services.send_broadcast(MANAGER, evacuate())
    assert refused.value.field == "confirm" and "everyone at hq" in refused.value.message
    assert not Broadcast.objects.exists() and not Delivery.objects.exists()


def test_queueing_is_idempotent_per_broadcast_person_channel_and_round(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    people = list(services.people_at(town.hq))
    with transaction.atomic():
        assert services._queue_round(b, people, 1, clock.now()) == 0
    assert Delivery.objects.count() == 8
    keys = set(Delivery.objects.values_list("key", flat=True))
    assert f"broadcast:{b.pk}:{town.carol.pk}:inapp:1" in keys


def test_an_incident_links_the_message_makes_it_an_exercise_and_writes_the_timeline(town):
    drill = make_incident(town.hq, exercise=True)
    b = services.send_broadcast(MANAGER, evacuate(incident=drill.pk), confirm=True)
    assert b.exercise and b.incident_id == drill.pk
    msg = Delivery.objects.get(key=f"broadcast:{b.pk}:{town.bob.pk}:email:1")
    assert msg.exercise and msg.subject.startswith(EXERCISE_LABEL)
    line = TimelineEntry.objects.get(incident=drill)
    assert line.kind == "message" and "Evacuate message to 4 people at hq" in line.text
    assert line.by == "user:mona"


def test_an_all_clear_has_no_roll_call_and_stops_earlier_re_sending(town):
    first = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    clear = services.send_broadcast(
        OPERATOR,
        evacuate(kind="all_clear", headline="All clear", text="Back to work"),
        confirm=True,
    )
    assert not RollCallAnswer.objects.filter(broadcast=clear).exists()
    msg = Delivery.objects.get(key=f"broadcast:{clear.pk}:{town.alice.pk}:email:1")
    assert "rollcall" not in msg.text and "Are you safe" not in msg.text
    first.refresh_from_db()
    assert first.closed_at == clock.now()
    with pytest.raises(Conflict):
        services.resend_unanswered(OPERATOR, clear.pk)


# ----------------------------------------------------------------------------- signed links


def test_a_link_records_the_answer_and_a_second_click_updates_it(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    row = services.answer_roll_call(token(b, town.alice, channel="sms"), "safe")
    assert (row.answer, row.via, row.answered_at) == ("safe", "sms", clock.now())
    row = services.answer_roll_call(
        token(b, town.alice), "need_help", note="twisted ankle", location="stairwell 3"
    )
    assert (row.answer, row.via, row.note, row.location) == (
        "need_help",
        "email",
        "twisted ankle",
        "stairwell 3",
    )
    # A later click without details keeps them.
    row = services.answer_roll_call(token(b, town.alice), "need_help")
    assert row.note == "twisted ankle"
    assert RollCallAnswer.objects.filter(broadcast=b, recipient=town.alice).count() == 1
    assert LedgerEntry.objects.filter(action="incidents.roll_call.answered").count() == 2
    assert OutboxEvent.objects.filter(topic="incidents.roll_call.answered").count() == 2


def test_a_tampered_link_is_refused(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    good = token(b, town.alice)
    parts = good.split(".")
    other_person = ".".join([parts[0], format(town.bob.pk, "x"), *parts[2:]])
    flipped = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    longer = ".".join([*parts[:3], "zzzzzz", parts[4]])
    for bad in (other_person, flipped, longer, "", "x.y", good + "."):
        with pytest.raises(services.LinkRefused) as refused:
            services.answer_roll_call(bad, "safe")
        assert refused.value.field == "token" and not refused.value.expired
    assert not RollCallAnswer.objects.exclude(answer=Answer.NONE).exists()


def test_a_link_expires_after_a_day(town, frozen_clock):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    tok = token(b, town.bob)
    frozen_clock.advance(hours=23, minutes=59)
    assert services.answer_roll_call(tok, "safe").answer == "safe"
    frozen_clock.advance(minutes=2)
    with pytest.raises(services.LinkRefused) as refused:
        services.answer_roll_call(tok, "need_help")
    assert refused.value.expired and refused.value.status == 410
    assert RollCallAnswer.objects.get(broadcast=b, recipient=town.bob).answer == "safe"


def test_a_link_holds_for_its_own_message_only(town):
    first = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    second = services.send_broadcast(OPERATOR, evacuate(headline="Second"), confirm=True)
    tok = token(first, town.dan)
    # The same person's link with the other message's ID is no longer signed.
    parts = tok.split(".")
    moved = ".".join([format(second.pk, "x"), *parts[1:]])
    with pytest.raises(services.LinkRefused):
        services.answer_roll_call(moved, "safe")
    services.answer_roll_call(tok, "safe")
    assert RollCallAnswer.objects.get(broadcast=first, recipient=town.dan).answer == "safe"
    assert RollCallAnswer.objects.get(broadcast=second, recipient=town.dan).answer == ""
    # A correctly signed link for someone the message never went to answers nothing.
    stray = services.make_token(
        first.pk, town.away.pk, Channel.EMAIL, clock.now() + timedelta(hours=1)
    )
    with pytest.raises(services.LinkRefused):
        services.answer_roll_call(stray, "safe")


def test_only_safe_or_need_help_and_short_notes(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    tok = token(b, town.bob)
    for answer, kw, field in (
        ("maybe", {}, "answer"),
        ("safe", {"note": "x" * 301}, "note"),
        ("safe", {"location": "bad\x00"}, "location"),
    ):
        with pytest.raises(ServiceError) as refused:
            services.answer_roll_call(tok, answer, **kw)
        assert refused.value.field == field


# ----------------------------------------------------------------------------- counting


def test_answers_update_the_counts_by_department(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    assert queries.tally(b) == queries.Tally(total=4, safe=0, need_help=0, no_answer=4)
    services.answer_roll_call(token(b, town.alice), "need_help", note="stuck in lift")
    services.answer_roll_call(token(b, town.bob), "safe")
    services.answer_roll_call(token(b, town.dan), "safe")
    assert queries.tally(b) == queries.Tally(total=4, safe=2, need_help=1, no_answer=1)
    by = {d.department: d.tally for d in queries.by_department(b)}
    assert by == {
        "Finance": queries.Tally(2, 1, 1, 0),
        "Mailroom": queries.Tally(1, 0, 0, 1),
        queries.NO_DEPARTMENT: queries.Tally(1, 1, 0, 0),
    }
    # Departments with people needing help come first.
    assert queries.by_department(b)[0].department == "Finance"
    assert [a.note for a in queries.need_help(b)] == ["stuck in lift"]
    services.answer_roll_call(token(b, town.alice), "safe")
    assert queries.tally(b).need_help == 0 and queries.tally(b).safe == 3


# ----------------------------------------------------------------------------- re-sending


def test_re_send_goes_only_to_those_who_have_not_answered(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    services.answer_roll_call(token(b, town.alice), "safe")
    services.answer_roll_call(token(b, town.carol, channel="inapp"), "need_help")
    b = services.resend_unanswered(MANAGER, b.pk)
    assert b.rounds == 2
    assert addresses(b, 2) == {
        (Channel.EMAIL, town.bob.email, town.bob.pk),
        (Channel.EMAIL, town.dan.email, town.dan.pk),
        (Channel.SMS, town.dan.phone, town.dan.pk),
    }
    reminder = Delivery.objects.get(key=f"broadcast:{b.pk}:{town.dan.pk}:sms:2")
    assert reminder.subject == "EVACUATE (reminder 1): Leave the building now"
    # The new round's link works like the first one's.
    services.answer_roll_call(token(b, town.dan, channel="sms", round_=2), "safe")
    services.answer_roll_call(token(b, town.bob), "safe")
    with pytest.raises(Conflict) as everyone:
        services.resend_unanswered(MANAGER, b.pk)
    assert everyone.value.field == "broadcast_id" and "everyone has answered" in str(everyone.value)
    assert LedgerEntry.objects.filter(action="incidents.broadcast.sent_again").count() == 1
    with pytest.raises(NotFound):
        services.resend_unanswered(MANAGER, 999_999)


def test_the_periodic_re_send_follows_the_interval_and_the_rounds(town, frozen_clock):
    drill = make_incident(town.hq)
    b = services.send_broadcast(
        OPERATOR, evacuate(incident=drill.pk, resend_minutes=5, max_rounds=3), confirm=True
    )
    services.answer_roll_call(token(b, town.alice), "safe")
    frozen_clock.advance(minutes=4)
    assert tick().jobs["incidents-broadcast-resend"] == 0
    frozen_clock.advance(minutes=1)
    assert tick().jobs["incidents-broadcast-resend"] == 3
    assert tick().jobs["incidents-broadcast-resend"] == 0  # not again within the interval
    services.answer_roll_call(token(b, town.bob, round_=2), "safe")
    frozen_clock.advance(minutes=5)
    assert tick().jobs["incidents-broadcast-resend"] == 2
    frozen_clock.advance(minutes=5)
    assert tick().jobs["incidents-broadcast-resend"] == 0  # three rounds were the most
    b.refresh_from_db()
    assert b.rounds == 3
    lines = TimelineEntry.objects.filter(incident=drill).values_list("text", flat=True)
    assert [t for t in lines if "re-sent" in t] == [
        "Site message re-sent (round 2) to 3 people who had not answered",
        "Site message re-sent (round 3) to 2 people who had not answered",
    ]


def test_a_re_send_to_one_person_says_person(town, frozen_clock):
    drill = make_incident(town.hq)
    b = services.send_broadcast(
        OPERATOR, evacuate(incident=drill.pk, resend_minutes=5), confirm=True
    )
    for person in (town.alice, town.bob, town.carol):
        services.answer_roll_call(token(b, person), "safe")
    frozen_clock.advance(minutes=5)
    assert tick().jobs["incidents-broadcast-resend"] == 1
    lines = TimelineEntry.objects.filter(incident=drill).values_list("text", flat=True)
    assert [t for t in lines if "re-sent" in t] == [
        "Site message re-sent (round 2) to 1 person who had not answered"
    ]


def test_resolving_the_incident_stops_its_re_sends(town, frozen_clock):
    from mailwarden.incidents.services import incidents

    case = make_incident(town.hq)
    b = services.send_broadcast(
        OPERATOR, evacuate(incident=case.pk, resend_minutes=5), confirm=True
    )
    other = services.send_broadcast(OPERATOR, evacuate(resend_minutes=5), confirm=True)
    incidents.move(MANAGER, case.pk, "resolved", note="parcel was harmless")
    tick()
    b.refresh_from_db()
    other.refresh_from_db()
    assert b.closed_at == clock.now() and other.closed_at is None
    frozen_clock.advance(minutes=5)
    # Only the message of no incident is re-sent, to its four people.
    assert tick().jobs["incidents-broadcast-resend"] == 4


def test_no_periodic_re_send_when_set_to_never_or_when_everyone_answered(town, frozen_clock):
    never = services.send_broadcast(OPERATOR, evacuate(resend_minutes=0), confirm=True)
    done = services.send_broadcast(OPERATOR, evacuate(headline="Two"), confirm=True)
    for person in (town.alice, town.bob, town.carol, town.dan):
        services.answer_roll_call(token(done, person), "safe")
    frozen_clock.advance(minutes=30)
    assert services.resend_due(clock.now()) == 0
    never.refresh_from_db()
    done.refresh_from_db()
    assert never.rounds == 1 and done.rounds == 1 and done.closed_at == clock.now()


# ----------------------------------------------------------------------------- roles and input


@pytest.mark.parametrize("actor", [AUDITOR, CLERK])
def test_only_security_managers_and_operators_send(town, actor):
    with pytest.raises(Forbidden):
        services.send_broadcast(actor, evacuate(), confirm=True)
    b = services.send_broadcast(MANAGER, evacuate(), confirm=True)
    with pytest.raises(Forbidden):
        services.resend_unanswered(actor, b.pk)
    with pytest.raises(Forbidden):
        services.close_roll_call(actor, b.pk)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"site": "nowhere"}, "site", "no site 'nowhere'"),
        ({"kind": "panic"}, "kind", "unknown kind 'panic'; choose one of evacuate, shelter"),
        ({"text": "  "}, "text", "must not be empty"),
        ({"headline": ""}, "headline", "must not be empty"),
        ({"text": "x" * 1001}, "text", "at most 1000"),
        ({"incident": 999_999}, "incident", "no incident 999999"),
        ({"resend_minutes": -1}, "resend_minutes", "0 (never) to 1440"),
        ({"max_rounds": 11}, "max_rounds", "1 to 10"),
    ],
)
def test_bad_input_names_the_field_and_the_reason(town, change, field, reason):
    with pytest.raises(ServiceError) as refused:
        services.send_broadcast(OPERATOR, evacuate(**change), confirm=True)
    assert refused.value.field == field and reason in refused.value.message
    assert not Broadcast.objects.exists()


def test_an_incident_at_another_site_is_refused(town):
    elsewhere = make_incident(town.other)
    with pytest.raises(ServiceError) as refused:
        services.send_broadcast(OPERATOR, evacuate(incident=elsewhere.pk), confirm=True)
    assert refused.value.field == "incident" and "another site" in refused.value.message


def test_closing_stops_the_periodic_re_send_but_not_answers(town, frozen_clock):
    b = services.send_broadcast(OPERATOR, evacuate(resend_minutes=5), confirm=True)
    services.close_roll_call(MANAGER, b.pk)
    with pytest.raises(Conflict):
        services.close_roll_call(MANAGER, b.pk)
    frozen_clock.advance(minutes=6)
    assert services.resend_due(clock.now()) == 0
    assert services.answer_roll_call(token(b, town.bob), "safe").answer == "safe"
    assert services.resend_unanswered(OPERATOR, b.pk).rounds == 2  # by hand, still possible
    assert LedgerEntry.objects.filter(action="incidents.roll_call.closed").count() == 1
