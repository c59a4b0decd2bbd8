"""The site message API: send (confirmed), list, one with its counts by department, its
answers, re-send; each operation's roles; bad input answered with the field at fault."""

from __future__ import annotations

import pytest

from mailwarden.core.roles import Role
from mailwarden.incidents.models import Broadcast, Delivery
from mailwarden.incidents.services import broadcasts as services
from tests.api.conftest import Api, assert_refused, token_for
from tests.incidents.broadcast_helpers import Town, make_town, token

pytestmark = pytest.mark.django_db

MESSAGE = {
    "site": "hq",
    "kind": "shelter",
    "headline": "Shelter in place",
    "text": "Stay inside, away from windows.",
    "confirm": True,
}


@pytest.fixture
def town(frozen_clock) -> Town:
    return make_town()


def api(role: Role) -> Api:
    return Api(token_for(role))


def test_send_read_answers_and_resend(town):
    operator = api(Role.SECURITY_OPERATOR)
    sent = operator.post("/api/broadcasts", {**MESSAGE, "resend_minutes": 0})
    assert sent.status_code == 201, sent.content
    body = sent.json()
    assert (body["kind"], body["recipients"], body["messages"], body["roll_call"]) == (
        "shelter",
        4,
        8,
        True,
    )
    assert body["counts"] == {"total": 4, "safe": 0, "need_help": 0, "no_answer": 4}
    b = Broadcast.objects.get(pk=body["id"])
    services.answer_roll_call(token(b, town.alice), "need_help", note="asthma")
    services.answer_roll_call(token(b, town.bob), "safe")

    auditor = api(Role.AUDITOR)
    one = auditor.get(f"/api/broadcasts/{b.pk}").json()
    assert one["counts"] == {"total": 4, "safe": 1, "need_help": 1, "no_answer": 2}
    assert one["departments"][0] == {
        "department": "Finance",
        "total": 2,
        "safe": 1,
        "need_help": 1,
        "no_answer": 0,
    }
    assert [x["id"] for x in auditor.get("/api/broadcasts").json()] == [b.pk]
    assert auditor.get("/api/broadcasts", site="annex").json() == []
    helped = auditor.get(f"/api/broadcasts/{b.pk}/answers", answer="need_help").json()
    assert [(a["name"], a["note"], a["via"]) for a in helped] == [
        (town.alice.display_name, "asthma", "email")
    ]
    waiting = auditor.get(f"/api/broadcasts/{b.pk}/answers", answer="none").json()
    assert {a["recipient"] for a in waiting} == {town.carol.pk, town.dan.pk}
    assert len(auditor.get(f"/api/broadcasts/{b.pk}/answers").json()) == 4

    again = api(Role.SECURITY_MANAGER).post(f"/api/broadcasts/{b.pk}/resend")
    assert again.status_code == 200 and again.json()["rounds"] == 2
    assert (
        Delivery.objects.filter(ref=b.ref, payload__round=2).count() == 5
    )  # Carol on 3 channels, Dan on 2


def test_without_confirm_nothing_is_sent(town):
    refused = api(Role.SECURITY_MANAGER).post("/api/broadcasts", {**MESSAGE, "confirm": False})
    assert_refused(refused, 400, "confirm")
    assert not Broadcast.objects.exists()


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"site": "nowhere"}, 404, "site"),
        ({"kind": "panic"}, 422, "kind"),
        ({"text": ""}, 422, "text"),
        ({"text": "   "}, 400, "text"),
        ({"headline": "x" * 121}, 422, "headline"),
        ({"incident": 424242}, 404, "incident"),
        ({"max_rounds": 0}, 422, "max_rounds"),
    ],
)
def test_bad_input_names_the_field(town, change, status, field):
    refused = api(Role.SECURITY_OPERATOR).post("/api/broadcasts", {**MESSAGE, **change})
    body = assert_refused(refused, status, field)
    assert body["message"]
    assert not Broadcast.objects.exists()


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_only_managers_and_operators_send_or_resend(town, role):
    assert_refused(api(role).post("/api/broadcasts", MESSAGE), 403, None)
    b = services.send_broadcast(
        services.Actor("user", "m", frozenset({Role.SECURITY_MANAGER})),
        services.BroadcastRequest(**{k: v for k, v in MESSAGE.items() if k != "confirm"}),
        confirm=True,
    )
    assert_refused(api(role).post(f"/api/broadcasts/{b.pk}/resend"), 403, None)


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_other_roles_cannot_read_them(town, role):
    for path in ("/api/broadcasts", "/api/broadcasts/1", "/api/broadcasts/1/answers"):
        assert_refused(api(role).get(path), 403, None)


def test_unknown_message_and_re_sending_when_everyone_answered(town):
    manager = api(Role.SECURITY_MANAGER)
    assert_refused(manager.get("/api/broadcasts/999"), 404, "broadcast_id")
    assert_refused(manager.post("/api/broadcasts/999/resend"), 404, "broadcast_id")
    b = Broadcast.objects.get(pk=manager.post("/api/broadcasts", MESSAGE).json()["id"])
    for person in (town.alice, town.bob, town.carol, town.dan):
        services.answer_roll_call(token(b, person), "safe")
    assert_refused(manager.post(f"/api/broadcasts/{b.pk}/resend"), 409, "broadcast_id")


def test_stop_re_sending(town):
    manager = api(Role.SECURITY_MANAGER)
    b = manager.post("/api/broadcasts", MESSAGE).json()
    closed = manager.post(f"/api/broadcasts/{b['id']}/close")
    assert closed.status_code == 200 and closed.json()["closed_at"] is not None
    assert_refused(manager.post(f"/api/broadcasts/{b['id']}/close"), 409, "broadcast_id")
    assert_refused(api(Role.AUDITOR).post(f"/api/broadcasts/{b['id']}/close"), 403, None)
