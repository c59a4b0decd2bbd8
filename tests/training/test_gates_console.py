"""The duty gates as people meet them: the screening workstation refuses an uncertified
screener's decision with the reason, and the intake page and the intake API show a clerk the
warning while logging the item."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django.test import Client

from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem
from mailwarden.screening.models import Decision
from tests.api.conftest import Api, token_for
from tests.factories import VALID_UPS, intake, make_recipient, make_site
from tests.training.helpers_b import (
    assign,
    certify,
    fast_passwords,  # noqa: F401
    intake_course,
    person,
    screener_course,
)


@pytest.fixture
def site(db):
    return make_site("hq")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_workstation_refuses_an_uncertified_screener_and_says_why(site, frozen_clock):
    course = screener_course()
    assign(course, role="screener")
    sam = person("sam", Role.SCREENER)
    certify(course, sam, issued=frozen_clock.current - timedelta(days=400), days=365)
    item = intake(site, make_recipient())
    response = signed_in(sam).post(f"/screening/items/{item.uid}/decide/", {"decision": "clear"})
    assert response.status_code == 403
    body = unescape(response.content.decode())
    assert "You cannot record screening decisions" in body
    assert "Screener certification certificate expired on 26 January 2026" in body
    assert MailItem.objects.get(pk=item.pk).state == "awaiting_screening"
    assert not Decision.objects.exists()

    certify(course, sam)  # renewed
    again = signed_in(sam).post(f"/screening/items/{item.uid}/decide/", {"decision": "clear"})
    assert again.status_code == 302
    assert MailItem.objects.get(pk=item.pk).state == "cleared"


def intake_form(recipient) -> dict[str, str]:
    return {
        "site": "hq",
        "tracking_number": VALID_UPS,
        "recipient_id": str(recipient.pk),
        "recipient_query": recipient.display_name,
        "kind": "parcel",
    }


def test_the_intake_page_shows_the_clerk_the_warning_with_the_logged_item(site, frozen_clock):
    assign(intake_course(), role="clerk")
    clerk = signed_in(person("cleo", Role.CLERK))
    recipient = make_recipient()
    response = clerk.post("/intake/", intake_form(recipient), HTTP_HX_REQUEST="true")
    body = unescape(response.content.decode())
    item = MailItem.objects.get()
    assert f'data-created="{item.uid}"' in body
    assert "data-intake-warning" in body
    assert "You have never held the Safe mail handling certificate" in body


def test_a_clerk_with_current_training_sees_no_warning(site, frozen_clock):
    course = intake_course()
    assign(course, role="clerk")
    cleo = person("cleo", Role.CLERK)
    certify(course, cleo)
    body = signed_in(cleo).post("/intake/", intake_form(make_recipient())).content.decode()
    assert "data-created" in body
    assert "data-intake-warning" not in body


def test_the_intake_api_answers_with_the_warnings(site, frozen_clock):
    assign(intake_course(), role="clerk")
    cleo = person("cleo", Role.CLERK)
    api = Api(token_for(Role.CLERK, cleo))
    recipient = make_recipient()
    logged = api.post("/api/items", {"site": "hq", "recipient_id": recipient.pk, "kind": "letter"})
    assert logged.status_code == 201, logged.content
    [warning] = logged.json()["warnings"]
    assert warning.startswith("You have never held the Safe mail handling certificate")
    assert logged.json()["uid"] == MailItem.objects.get().uid

    # a token without a person holds no certificate: no warning, and the field is still there
    anonymous = Api(token_for(Role.CLERK))
    other = anonymous.post(
        "/api/items", {"site": "hq", "recipient_id": recipient.pk, "kind": "letter"}
    )
    assert other.status_code == 201
    assert other.json()["warnings"] == []
