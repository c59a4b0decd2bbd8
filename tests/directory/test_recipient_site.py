"""Where people work: a recipient's site, set when adding or changing them, by the CSV import
(an optional ``site`` column), through the API, and shown and filtered on the recipients page.
Site-wide messages go to the people of a site."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory import services
from mailwarden.directory.csv_import import CsvImportError
from mailwarden.directory.models import Recipient
from tests.api.conftest import Api, assert_refused, token_for
from tests.factories import ADMIN, MANAGER, make_recipient, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites(db) -> None:
    make_site("hq")
    make_site("annex")


def data(**kw: str | None) -> services.RecipientData:
    base = {
        "employee_id": "E1",
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.org",
        **kw,
    }
    return services.RecipientData(**base)  # type: ignore[arg-type]


def test_adding_and_changing_a_person_sets_their_site(sites):
    grace = services.create_recipient(MANAGER, data(site="hq"))
    assert grace.site is not None and grace.site.code == "hq"
    nobody = services.create_recipient(MANAGER, data(employee_id="E2", site=""))
    assert nobody.site is None
    moved = services.update_recipient(MANAGER, "E1", data(site="annex", phone="+44 20 7946 0000"))
    assert moved.site is not None and moved.site.code == "annex"
    entry = LedgerEntry.objects.get(action="directory.recipient.updated")
    assert json.loads(entry.body)["data"]["changed"]["site"] == ["hq", "annex"]
    services.update_recipient(MANAGER, "E1", data(site=None, phone="+44 20 7946 0000"))
    assert Recipient.objects.get(employee_id="E1").site is None


def test_an_unknown_site_is_refused_naming_the_field(sites):
    with pytest.raises(NotFound) as refused:
        services.create_recipient(MANAGER, data(site="mars"))
    assert refused.value.field == "site" and "mars" in refused.value.message
    services.create_recipient(MANAGER, data())
    with pytest.raises(NotFound):
        services.update_recipient(MANAGER, "E1", data(site="mars"))
    with pytest.raises(NotFound) as missing:
        services.update_recipient(MANAGER, "E404", data())
    assert missing.value.field == "employee_id"
    with pytest.raises(ServiceError) as own:
        services.update_recipient(MANAGER, "E1", data(manager_employee_id="E1"))
    assert own.value.field == "manager_employee_id"


def test_the_import_takes_an_optional_site_column(sites):
    services.import_recipients(
        ADMIN,
        "employee_id,first_name,last_name,email,site\n"
        "E1,Grace,Hopper,grace@example.org,hq\n"
        "E2,Alan,Turing,alan@example.org,\n",
    )
    assert Recipient.objects.get(employee_id="E1").site.code == "hq"  # type: ignore[union-attr]
    assert Recipient.objects.get(employee_id="E2").site is None
    # A file without the column leaves everyone's site as it was.
    services.import_recipients(
        ADMIN, "employee_id,first_name,last_name,email\nE1,Grace,Hopper,grace@example.org\n"
    )
    assert Recipient.objects.get(employee_id="E1").site.code == "hq"  # type: ignore[union-attr]
    with pytest.raises(CsvImportError) as refused:
        services.import_recipients(
            ADMIN,
            "employee_id,first_name,last_name,email,site\n"
            "E1,Grace,Hopper,grace@example.org,annex\n"
            "E3,Ada,Lovelace,ada@example.org,mars\n",
        )
    [error] = refused.value.errors
    assert (error.line, error.field, error.reason) == (3, "site", "no site 'mars'")
    assert Recipient.objects.get(employee_id="E1").site.code == "hq"  # type: ignore[union-attr]
    assert not Recipient.objects.filter(employee_id="E3").exists()


def test_the_api_sets_changes_and_filters_by_site(sites):
    manager = Api(token_for(Role.SECURITY_MANAGER))
    made = manager.post(
        "/api/recipients",
        {
            "employee_id": "E7",
            "first_name": "Katherine",
            "last_name": "Johnson",
            "email": "kj@example.org",
            "site": "hq",
        },
    )
    assert made.status_code == 201, made.content
    assert made.json()["site"] == "hq"
    kj = made.json()["id"]
    make_recipient(first_name="Other")
    clerk = Api(token_for(Role.CLERK))
    assert [r["employee_id"] for r in clerk.get("/api/recipients", site="hq").json()] == ["E7"]
    assert_refused(clerk.get("/api/recipients", site="mars"), 404, "site")
    changed = manager.put(
        f"/api/recipients/{kj}",
        {
            "first_name": "Katherine",
            "last_name": "Johnson",
            "email": "kj@example.org",
            "site": "annex",
        },
    )
    assert changed.status_code == 200 and changed.json()["site"] == "annex"
    assert_refused(
        manager.put(
            f"/api/recipients/{kj}",
            {"first_name": "K", "last_name": "J", "email": "kj@example.org", "site": "mars"},
        ),
        404,
        "site",
    )
    assert_refused(
        manager.put(
            f"/api/recipients/{kj}",
            {"first_name": "K", "last_name": "J", "email": "kj@example.org", "site": "no spaces"},
        ),
        422,
        "site",
    )
    assert_refused(
        manager.put(
            "/api/recipients/999999",
            {"first_name": "K", "last_name": "J", "email": "kj@example.org"},
        ),
        404,
        "recipient_id",
    )
    assert_refused(
        clerk.put(
            f"/api/recipients/{kj}",
            {"first_name": "K", "last_name": "J", "email": "kj@example.org"},
        ),
        403,
        None,
    )


def test_the_recipients_page_shows_and_filters_by_site(sites):
    services.create_recipient(MANAGER, data(site="hq"))
    services.create_recipient(
        MANAGER, data(employee_id="E2", first_name="Alan", last_name="Turing", site="annex")
    )
    user = User.objects.filter(username="clerk-page").first() or create_user(
        ADMIN,
        "clerk-page",
        password="Correct-Horse-9-Battery",
        roles=["clerk"],
        check_password=False,
    )
    client = Client()
    client.force_login(user)
    page = client.get("/recipients/").content.decode()
    assert "Site hq" in page and "Site annex" in page and 'id="recipient-site"' in page
    only = client.get("/recipients/", {"site": "annex"}).content.decode()
    assert "Alan Turing" in only and "Grace Hopper" not in only
