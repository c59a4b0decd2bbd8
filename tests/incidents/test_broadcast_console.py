"""Site messages in the console through the Django test client: the send form and its
confirmation step, the board and its live stream, re-sending, roles on every page, and the
public roll-call page reached from a message's link (no sign-in; clear pages for bad links)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.core.streams import StreamSettings
from mailwarden.incidents.models import Broadcast, Delivery, RollCallAnswer
from mailwarden.incidents.services import broadcasts as services
from mailwarden.incidents.views import broadcasts as views
from tests.factories import ADMIN
from tests.incidents.broadcast_helpers import Town, evacuate, link, make_town
from tests.incidents.conftest import OPERATOR

pytestmark = pytest.mark.django_db

FORM = {
    "site": "hq",
    "kind": "evacuate",
    "headline": "Leave the building now",
    "text": "Go to assembly point B.",
    "incident": "",
    "resend_minutes": "10",
    "max_rounds": "3",
}


def signed_in(role: Role) -> Client:
    user = User.objects.filter(username=role.value).first() or create_user(
        ADMIN,
        role.value,
        password="Correct-Horse-9-Battery",
        roles=[role.value],
        check_password=False,
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def town(frozen_clock) -> Town:
    return make_town()


def path(url: str) -> str:
    return urlsplit(url).path


def test_the_form_asks_for_confirmation_then_sends(town):
    operator = signed_in(Role.SECURITY_OPERATOR)
    form = operator.get("/incidents/broadcasts/new/?site=hq&kind=shelter")
    assert form.status_code == 200
    assert 'value="shelter" selected' in form.content.decode()
    confirm = operator.post("/incidents/broadcasts/new/", FORM)
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "data-confirm" in html
    assert "<strong>4 people</strong>" in html and "8 messages" in html
    assert not Broadcast.objects.exists()
    sent = operator.post("/incidents/broadcasts/new/", {**FORM, "confirmed": "1"})
    b = Broadcast.objects.get()
    assert sent.status_code == 302 and sent["Location"] == f"/incidents/broadcasts/{b.pk}/"
    assert b.sent_by == "user:security_operator" and Delivery.objects.count() == 8


@pytest.mark.parametrize(
    ("change", "field"),
    [({"site": "nowhere"}, "site"), ({"kind": "panic"}, "kind"), ({"text": ""}, "text")],
)
def test_bad_input_is_shown_at_its_field(town, change, field):
    page = signed_in(Role.SECURITY_MANAGER).post(
        "/incidents/broadcasts/new/", {**FORM, **change, "confirmed": "1"}
    )
    assert page.status_code == 400
    assert f'data-field-error="{field}"' in page.content.decode()
    assert not Broadcast.objects.exists()


def test_an_incident_at_another_site_is_shown_at_its_field(town):
    from tests.incidents.broadcast_helpers import make_incident

    other = make_incident(town.other)
    page = signed_in(Role.SECURITY_MANAGER).post(
        "/incidents/broadcasts/new/", {**FORM, "incident": str(other.pk)}
    )
    assert page.status_code == 400
    assert 'data-field-error="incident"' in page.content.decode()


def test_the_board_lists_need_help_first_and_counts_by_department(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    anonymous = Client()
    assert anonymous.get(path(link(b, town.alice, "help"))).status_code == 200
    anonymous.post(
        f"/incidents/rollcall/{path(link(b, town.alice)).split('/')[3]}/",
        {"answer": "need_help", "note": "stuck in lift 2", "location": "lift 2"},
    )
    anonymous.get(path(link(b, town.bob)))
    page = signed_in(Role.AUDITOR).get(f"/incidents/broadcasts/{b.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index('id="need-help"') < html.index('id="departments"')
    assert "stuck in lift 2" in html and town.alice.display_name in html
    assert 'data-safe="1" data-need-help="1" data-no-answer="2"' in html
    assert re.search(r'data-department="Finance">.*?<td class="num">1</td><td class="num">1', html)
    assert "Re-send" not in html  # an auditor reads only
    assert "<script>" not in html.split("</head>")[1]
    listing = signed_in(Role.AUDITOR).get("/incidents/broadcasts/").content.decode()
    assert "1 need help" in listing and "New site message" not in listing


def test_re_send_from_the_board(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    manager = signed_in(Role.SECURITY_MANAGER)
    assert (
        "Re-send to those who have not answered"
        in manager.get(f"/incidents/broadcasts/{b.pk}/").content.decode()
    )
    done = manager.post(f"/incidents/broadcasts/{b.pk}/resend/", follow=True)
    assert "Re-sent (round 2)" in done.content.decode()
    b.refresh_from_db()
    assert b.rounds == 2
    stopped = manager.post(f"/incidents/broadcasts/{b.pk}/close/", follow=True).content.decode()
    assert "Re-sending stopped" in stopped and 'id="close-form"' not in stopped
    b.refresh_from_db()
    assert b.closed_at is not None
    again = manager.post(f"/incidents/broadcasts/{b.pk}/close/", follow=True).content.decode()
    assert "Not stopped: the roll call is closed already." in again


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_other_roles_are_refused_every_page(town, role):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    client = signed_in(role)
    for url in ("/incidents/broadcasts/", f"/incidents/broadcasts/{b.pk}/"):
        assert client.get(url).status_code == 403
    assert client.get(f"/incidents/broadcasts/{b.pk}/stream").status_code == 403
    assert client.post("/incidents/broadcasts/new/", FORM).status_code == 403
    assert client.post(f"/incidents/broadcasts/{b.pk}/resend/").status_code == 403
    assert client.post(f"/incidents/broadcasts/{b.pk}/close/").status_code == 403


def test_auditors_cannot_send_or_re_send(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    auditor = signed_in(Role.AUDITOR)
    assert auditor.get("/incidents/broadcasts/new/").status_code == 403
    assert auditor.post("/incidents/broadcasts/new/", {**FORM, "confirmed": "1"}).status_code == 403
    assert auditor.post(f"/incidents/broadcasts/{b.pk}/resend/").status_code == 403
    assert auditor.post(f"/incidents/broadcasts/{b.pk}/close/").status_code == 403
    assert Broadcast.objects.count() == 1


def test_signed_out_people_are_sent_to_sign_in(town):
    anonymous = Client()
    assert anonymous.get("/incidents/broadcasts/").status_code == 302
    assert anonymous.get("/incidents/broadcasts/1/stream").status_code == 401


def test_an_unknown_message_is_a_clear_404(town):
    page = signed_in(Role.AUDITOR).get("/incidents/broadcasts/999/")
    assert page.status_code == 404 and "There is no site message 999." in page.content.decode()


# ----------------------------------------------------------------------------- the public page


def test_one_click_answers_without_signing_in_and_shows_no_navigation(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    anonymous = Client()
    page = anonymous.get(path(link(b, town.dan, "help", channel="sms")))
    html = page.content.decode()
    assert page.status_code == 200 and "Your call for help is recorded" in html
    assert "nav" not in html.lower().split("<main")[0].split("</head>")[1]
    row = RollCallAnswer.objects.get(broadcast=b, recipient=town.dan)
    assert (row.answer, row.via) == ("need_help", "sms")
    again = anonymous.get(path(link(b, town.dan, "safe", channel="sms")))
    assert "you are marked safe" in again.content.decode()
    row.refresh_from_db()
    assert row.answer == "safe"


@pytest.mark.parametrize("mangle", ["tamper", "garbage", "answer"])
def test_bad_links_get_a_clear_page(town, mangle):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    url = path(link(b, town.bob))
    if mangle == "tamper":
        parts = url.split("/")
        tok = parts[3]
        parts[3] = tok[:-3] + ("AAA" if not tok.endswith("AAA") else "BBB")
        url = "/".join(parts)
    elif mangle == "garbage":
        url = "/incidents/rollcall/not-a-token/safe/"
    else:
        url = url.replace("/safe/", "/maybe/")
    page = Client().get(url)
    assert page.status_code == 400
    assert "This link is not valid" in page.content.decode()
    assert not RollCallAnswer.objects.exclude(answer="").exists()


def test_an_expired_link_says_so(town, frozen_clock):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    url = path(link(b, town.bob))
    frozen_clock.advance(hours=25)
    page = Client().get(url)
    assert page.status_code == 410 and "This link has expired" in page.content.decode()


def test_the_thanks_page_takes_a_note_and_refuses_bad_ones(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    tok = path(link(b, town.alice)).split("/")[3]
    client = Client()
    client.get(path(link(b, town.alice)))
    too_long = client.post(f"/incidents/rollcall/{tok}/", {"answer": "safe", "note": "x" * 301})
    assert too_long.status_code == 400 and 'data-field-error="note"' in too_long.content.decode()
    ok = client.post(
        f"/incidents/rollcall/{tok}/", {"answer": "need_help", "note": "", "location": "roof"}
    )
    assert ok.status_code == 200 and "Your call for help is recorded" in ok.content.decode()
    assert RollCallAnswer.objects.get(broadcast=b, recipient=town.alice).location == "roof"
    bad = client.post("/incidents/rollcall/nope/", {"answer": "safe"})
    assert bad.status_code == 400 and "This link is not valid" in bad.content.decode()


# ----------------------------------------------------------------------------- the stream


def read_stream(pk: int) -> list[dict]:
    async def collect() -> list[str]:
        from mailwarden.core.actor import Actor

        actor = Actor("user", "aud", frozenset({Role.AUDITOR}))
        once = StreamSettings()
        return [c async for c in views.board_events(pk, actor, live=False, settings=once)]

    chunks = async_to_sync(collect)()
    return [json.loads(c.split("data: ", 1)[1]) for c in chunks if c.startswith("event: board")]


def test_the_stream_sends_the_board_with_its_counts(town):
    b = services.send_broadcast(OPERATOR, evacuate(), confirm=True)
    Client().get(path(link(b, town.alice, "help")))
    [event] = read_stream(b.pk)
    assert (event["safe"], event["need_help"], event["no_answer"]) == (0, 1, 3)
    assert 'id="board"' in event["html"] and town.alice.display_name in event["html"]
    response = signed_in(Role.AUDITOR).get(f"/incidents/broadcasts/{b.pk}/stream")
    assert response["Content-Type"] == "text/event-stream"

    async def chunks() -> list[bytes]:
        return [chunk async for chunk in response.streaming_content]

    body = b"".join(async_to_sync(chunks)()).decode()
    assert body.startswith("retry: 10000") and "event: board" in body
