"""The console's global search: one box finds items, tracking numbers and people, as each
caller may see them."""

from __future__ import annotations

from django.test import Client

from mailwarden.core.roles import Role
from mailwarden.directory.models import Recipient
from tests.console import conftest as console
from tests.factories import VALID_UPS, intake, make_recipient

# The console tests' fixtures, under their own names.
as_role, make_person, recipient, site = (
    console.as_role,
    console.make_person,
    console.recipient,
    console.site,
)


def test_the_search_box_is_on_every_console_page(as_role, site):
    body = as_role(Role.CLERK).get("/sites/").content.decode()
    assert 'action="/search/"' in body and 'name="q"' in body


def test_one_query_finds_items_by_uid_and_tracking_number(as_role, site, recipient):
    item = intake(site, recipient, tracking_number=VALID_UPS)
    clerk = as_role(Role.CLERK)
    by_tracking = clerk.get("/search/", {"q": VALID_UPS}).content.decode()
    assert f"/items/{item.uid}/" in by_tracking and "Margaret Hamilton" in by_tracking
    by_uid = clerk.get("/search/", {"q": item.uid.lower()}).content.decode()
    assert f"/items/{item.uid}/" in by_uid
    without_prefix = clerk.get("/search/", {"q": item.uid[3:]}).content.decode()
    assert f"/items/{item.uid}/" in without_prefix
    spaced = clerk.get("/search/", {"q": f" {VALID_UPS[:6]} {VALID_UPS[6:]} "}).content.decode()
    assert f"/items/{item.uid}/" in spaced
    assert "Items and tracking numbers" in by_uid


def test_people_are_found_by_name_email_and_employee_id(as_role, site, recipient):
    clerk = as_role(Role.CLERK)
    for q in ("margaret hamilton", "Hamilton", recipient.email, recipient.employee_id):
        body = clerk.get("/search/", {"q": q}).content.decode()
        assert f"/recipients/{recipient.pk}/" in body, q
    nothing = clerk.get("/search/", {"q": "zzzz-nobody"}).content.decode()
    assert "data-no-results" in nothing


def test_a_recipient_finds_only_their_own_items_and_themselves(make_person, site, recipient):
    me = make_person(Role.RECIPIENT, "margaret")
    Recipient.objects.filter(pk=recipient.pk).update(user=me)
    other = make_recipient(first_name="Margaret", last_name="Other")
    mine = intake(site, recipient, tracking_number=VALID_UPS)
    theirs = intake(site, other, tracking_number="")
    client = Client()
    client.force_login(me)
    found = client.get("/search/", {"q": VALID_UPS.lower()}).content.decode()
    assert mine.uid in found
    assert f"/items/{theirs.uid}/" not in client.get("/search/", {"q": theirs.uid}).content.decode()
    people = client.get("/search/", {"q": "Margaret"}).content.decode()
    assert f"/recipients/{recipient.pk}/" in people and f"/recipients/{other.pk}/" not in people


def test_search_needs_a_sign_in_and_survives_odd_input(as_role, site):
    assert Client().get("/search/", {"q": "x"}).status_code == 302
    clerk = as_role(Role.CLERK)
    for q in ("", "   ", "%", "_", "a" * 5000, "\x00"):
        assert clerk.get("/search/", {"q": q}).status_code == 200
