"""Item search: by ID, tracking number or name, newest first, only what the caller may see."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.roles import Role
from mailwarden.custody import services
from mailwarden.custody.models import MailItem
from mailwarden.custody.queries import search_items
from mailwarden.custody.states import State
from mailwarden.directory.models import Recipient
from tests.custody_services.conftest import advance
from tests.factories import AUDITOR, CLERK, VALID_UPS, make_recipient, make_site

STAFF = AUDITOR


@pytest.fixture
def mailroom(db, frozen_clock):
    """Three people, seven items, one minute apart (so newest-first order is known)."""
    site = make_site()
    ada = make_recipient(first_name="Ada", last_name="Lovelace", email="ada.l@example.org")
    alan = make_recipient(
        first_name="Alan", last_name="Turing", preferred_name="Bertie", email="at@example.org"
    )
    grace = make_recipient(first_name="Grace", last_name="Hopper", email="gh@example.org")
    items: dict[str, list[MailItem]] = {"ada": [], "alan": [], "grace": []}
    for who, person, number in (
        ("ada", ada, VALID_UPS),
        ("alan", alan, ""),
        ("ada", ada, ""),
        ("grace", grace, ""),
        ("alan", alan, ""),
        ("ada", ada, ""),
        ("grace", grace, ""),
    ):
        frozen_clock.advance(minutes=1)
        items[who].append(
            services.intake(
                CLERK,
                services.IntakeRequest(
                    site=site.code,
                    recipient_id=person.pk,
                    kind="letter",
                    tracking_number=number,
                ),
            )
        )
    return site, {"ada": ada, "alan": alan, "grace": grace}, items


def uids(found: list[MailItem]) -> list[str]:
    return [i.uid for i in found]


def newest_first(found: list[MailItem]) -> list[str]:
    return uids(sorted(found, key=lambda i: (i.received_at, i.id), reverse=True))


def test_empty_query_lists_newest_first_up_to_the_limit(mailroom):
    everything = list(MailItem.objects.all())
    assert uids(search_items(STAFF, "")) == newest_first(everything)
    assert uids(search_items(STAFF, "", limit=3)) == newest_first(everything)[:3]


@pytest.mark.parametrize("spelling", ["{uid}", "{lower}", "{bare}", " {uid} "])
def test_item_id_in_any_spelling(mailroom, spelling):
    _, _, items = mailroom
    uid = items["grace"][0].uid
    q = spelling.format(uid=uid, lower=uid.lower(), bare=uid.removeprefix("MW-"))
    assert uids(search_items(STAFF, q)) == [uid]


def test_tracking_number_with_spaces_and_case(mailroom):
    _, _, items = mailroom
    assert uids(search_items(STAFF, "1z5r 8939 0357 5671 27")) == [items["ada"][0].uid]


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("Lovelace", "ada"),
        ("love", "ada"),
        ("TURING", "alan"),
        ("bert", "alan"),  # preferred name
        ("Grace Hopper", "grace"),
        ("hopper grace", "grace"),
        ("Bertie Turing", "alan"),
        ("gh@", "grace"),  # email
    ],
)
def test_name_search(mailroom, q, who):
    _, _, items = mailroom
    assert uids(search_items(STAFF, q)) == newest_first(items[who])


def test_first_name_shared_by_two_people_finds_both(mailroom):
    _, _, items = mailroom
    # "A" starts Ada's and Alan's first names, and no one else's name or email.
    assert uids(search_items(STAFF, "a")) == newest_first(items["ada"] + items["alan"])


def test_two_words_must_both_match(mailroom):
    assert search_items(STAFF, "Ada Turing") == []


def test_state_filter_with_a_name(mailroom):
    _, _, items = mailroom
    first, _, third = items["ada"]
    advance(first.uid, State.CLEARED)
    advance(third.uid, State.CLEARED)
    assert uids(search_items(STAFF, "Lovelace", state="cleared")) == [third.uid, first.uid]
    assert uids(search_items(STAFF, "", state="cleared")) == [third.uid, first.uid]
    assert uids(search_items(STAFF, first.uid, state="awaiting_screening")) == []
    assert uids(search_items(STAFF, first.uid, state="cleared")) == [first.uid]


def test_site_and_recipient_filters(mailroom):
    _, people, items = mailroom
    other = make_site("annex")
    elsewhere = services.intake(
        CLERK,
        services.IntakeRequest(site=other.code, recipient_id=people["ada"].pk, kind="flat"),
    )
    assert uids(search_items(STAFF, "", site_code="annex")) == [elsewhere.uid]
    assert uids(search_items(STAFF, "Lovelace", site_code="hq")) == newest_first(items["ada"])
    found = search_items(STAFF, "", recipient_id=people["grace"].pk)
    assert uids(found) == newest_first(items["grace"])


def test_unknown_state_and_site_name_the_field(mailroom):
    with pytest.raises(ServiceError) as bad_state:
        search_items(STAFF, "", state="lost")
    assert bad_state.value.field == "state"
    with pytest.raises(ServiceError) as bad_site:
        search_items(STAFF, "", site_code="moon")
    assert bad_site.value.field == "site"


def test_a_recipient_finds_only_their_own_items(mailroom):
    _, people, items = mailroom
    user = User.objects.create_user("ada")
    Recipient.objects.filter(pk=people["ada"].pk).update(user=user)
    ada = Actor("user", "ada", frozenset({Role.RECIPIENT}), user.pk)

    assert uids(search_items(ada, "")) == newest_first(items["ada"])
    assert search_items(ada, items["grace"][0].uid) == []
    assert search_items(ada, "Hopper") == []
    assert search_items(Actor("user", "nobody"), "") == []


def test_employee_id_finds_the_person(mailroom):
    _, people, items = mailroom
    employee_id = people["grace"].employee_id
    assert uids(search_items(STAFF, employee_id.lower())) == newest_first(items["grace"])
