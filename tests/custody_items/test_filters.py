"""The items list's filters and total, the same in the queries, the console and the API."""

from __future__ import annotations

import re
from datetime import date

import pytest

from mailwarden.core.errors import ServiceError
from mailwarden.core.roles import Role
from mailwarden.custody import queries
from mailwarden.custody.queries import ItemFilters
from tests.factories import AUDITOR, VALID_UPS, intake

FEDEX = "986578788855"


@pytest.fixture
def mailroom(frozen_clock, site, ny_site, ada, alan):
    """Items over three days at two sites, of several carriers and types."""
    made = {}
    made["ups"] = intake(site, ada, tracking_number=VALID_UPS)  # 2 Mar 09:00 UTC
    frozen_clock.advance(days=1)
    made["letter"] = intake(site, alan)  # 3 Mar 09:00 UTC, no carrier
    # 4 Mar 02:00 UTC: 3 March still in New York, 4 March in London.
    frozen_clock.advance(hours=17)
    made["late_ny"] = intake(ny_site, ada, tracking_number=FEDEX)
    frozen_clock.advance(hours=8)
    made["flat"] = services_intake_flat(site, alan)  # 4 Mar 10:00 UTC
    return made


def services_intake_flat(site, recipient):
    from mailwarden.custody import services
    from tests.factories import CLERK

    return services.intake(
        CLERK, services.IntakeRequest(site=site.code, recipient_id=recipient.pk, kind="flat")
    )


def uids(filters: ItemFilters, q: str = "") -> set[str]:
    found = {i.uid for i in queries.search_items(AUDITOR, q, filters=filters)}
    # The list, its total and its exports agree on what passes.
    assert found == set(queries.matching_items(AUDITOR, q, filters).values_list("uid", flat=True))
    assert queries.count_items(AUDITOR, q, filters) == len(found)
    return found


def test_each_filter_narrows_the_list(mailroom, ada, ny_site):
    m = {k: v.uid for k, v in mailroom.items()}
    assert uids(ItemFilters()) == set(m.values())
    assert uids(ItemFilters(carrier="ups")) == {m["ups"]}
    assert uids(ItemFilters(carrier="fedex")) == {m["late_ny"]}
    assert uids(ItemFilters(carrier="none")) == {m["letter"], m["flat"]}
    assert uids(ItemFilters(kind="flat")) == {m["flat"]}
    assert uids(ItemFilters(site_code="ny")) == {m["late_ny"]}
    assert uids(ItemFilters(recipient_id=ada.pk)) == {m["ups"], m["late_ny"]}
    assert uids(ItemFilters(recipient_query="Turing")) == {m["letter"], m["flat"]}
    assert uids(ItemFilters(state="awaiting_screening", kind="parcel", carrier="ups")) == {m["ups"]}
    assert uids(ItemFilters(state="cleared")) == set()
    # Filters and the search text together.
    assert uids(ItemFilters(carrier="none"), q="Turing") == {m["letter"], m["flat"]}
    assert uids(ItemFilters(kind="flat"), q="Byron") == set()


def test_dates_are_days_at_each_items_own_site(mailroom):
    m = {k: v.uid for k, v in mailroom.items()}
    march = lambda day: date(2026, 3, day)  # noqa: E731
    assert uids(ItemFilters(received_from=march(2), received_to=march(2))) == {m["ups"]}
    # 02:00 UTC on 4 March is still 3 March in New York.
    assert uids(ItemFilters(received_from=march(3), received_to=march(3))) == {
        m["letter"],
        m["late_ny"],
    }
    assert uids(ItemFilters(received_from=march(4))) == {m["flat"]}
    assert uids(ItemFilters(received_to=march(3))) == {m["ups"], m["letter"], m["late_ny"]}
    assert uids(ItemFilters(received_from=march(3), site_code="hq")) == {m["letter"], m["flat"]}


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        (ItemFilters(carrier="pigeon"), "carrier"),
        (ItemFilters(kind="crate"), "kind"),
        (ItemFilters(state="lost"), "state"),
        (ItemFilters(site_code="nowhere"), "site"),
        (ItemFilters(received_from=date(2026, 3, 4), received_to=date(2026, 3, 2)), "received_to"),
    ],
)
def test_a_bad_filter_is_refused_naming_its_field(db, filters, field):
    with pytest.raises(ServiceError) as refused:
        queries.matching_items(AUDITOR, "", filters)
    assert refused.value.field == field


def test_the_console_list_filters_counts_and_keeps_paging(console, mailroom, monkeypatch):
    from mailwarden.custody import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    client = console(Role.AUDITOR)

    def page(**params):
        body = client.get("/items/", params, HTTP_HX_REQUEST="true").content.decode()
        total = int(re.search(r"<strong data-total>(\d+)</strong>", body).group(1))
        return total, re.findall(r'class="uid" href="/items/([^/]+)/"', body), body

    total, shown, body = page()
    assert total == 4 and len(shown) == 2
    assert "page=2" in body
    total, shown, body = page(page=2)
    assert total == 4 and len(shown) == 2
    total, shown, _ = page(carrier="none", received_from="2026-03-03")
    assert total == 2 and set(shown) == {mailroom["letter"].uid, mailroom["flat"].uid}
    total, shown, body = page(carrier="none", page=1)
    # The export links carry the same filters.
    assert "/items/export.csv?carrier=none" in body
    total, shown, body = page(recipient="Byron", site="ny")
    assert (total, shown) == (1, [mailroom["late_ny"].uid])


def test_the_console_names_a_refused_filter(console, db, site):
    client = console(Role.CLERK)
    body = client.get(
        "/items/", {"received_from": "2026-03-04", "received_to": "2026-03-02"}
    ).content.decode()
    assert "the end date is before the start date" in body
    assert "data-filter-refused" in body
    body = client.get("/items/", {"received_from": "yesterday"}).content.decode()
    assert "enter a date such as 2026-03-31" in body
    body = client.get("/items/", {"carrier": "pigeon"}).content.decode()
    assert "choose a carrier from the list" in body


def test_the_api_takes_the_same_filters(api, mailroom):
    client = api(Role.AUDITOR)
    listed = client.get("/api/items", carrier="none", received_from="2026-03-03")
    assert listed.status_code == 200
    assert {i["uid"] for i in listed.json()} == {mailroom["letter"].uid, mailroom["flat"].uid}
    counted = client.get("/api/items/count", carrier="none", received_from="2026-03-03")
    assert counted.json() == {"total": 2}
    assert client.get("/api/items/count", kind="flat").json() == {"total": 1}
    assert client.get("/api/items/count").json() == {"total": 4}
    refused = client.get("/api/items/count", received_from="2026-03-04", received_to="2026-03-01")
    assert refused.status_code == 400
    assert refused.json()["field"] == "received_to"
    assert client.get("/api/items", carrier="pigeon").json()["field"] == "carrier"


def test_a_recipient_counts_only_their_own(db, mailroom, ada):
    from mailwarden.core.actor import Actor
    from mailwarden.core.services import create_user
    from mailwarden.directory.models import Recipient
    from tests.factories import ADMIN

    user = create_user(ADMIN, "ada", password="x", roles=["recipient"], check_password=False)
    Recipient.objects.filter(pk=ada.pk).update(user=user)
    me = Actor.for_user(user)
    assert queries.count_items(me, "", ItemFilters()) == 2
    assert queries.count_items(me, "", ItemFilters(carrier="none")) == 0
