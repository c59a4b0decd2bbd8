"""SCIM 2.0 push from an identity provider, against the live test server: scim2-client plays the
provider, and scim2-tester's checks run against the endpoints."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import PatchOp, PatchOperation

from mailwarden.core.models import LedgerEntry
from mailwarden.core.services import issue_token
from mailwarden.directory.models import Recipient
from mailwarden.directory.scim import EmailAddress, MailroomEnterprise, PersonName, ScimUser
from tests.factories import ADMIN

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def idp_token(transactional_db) -> str:
    return issue_token(ADMIN, name="Entra ID", role="security_manager", device="scim-entra").secret


@pytest.fixture
def http(live_server, idp_token) -> Iterator[httpx2.Client]:
    with httpx2.Client(
        base_url=f"{live_server.url}/scim/v2",
        headers={"Authorization": f"Bearer {idp_token}"},
        timeout=30,
    ) as client:
        yield client


@pytest.fixture
def scim(http) -> SyncSCIMClient:
    client = SyncSCIMClient(http)
    client.discover()
    return client


def _grace() -> ScimUser:
    user = ScimUser(
        user_name="grace@example.org",
        external_id="a1b2c3",
        name=PersonName(given_name="Grace", family_name="Hopper"),
        emails=[EmailAddress(value="grace@example.org")],
        active=True,
    )
    user[MailroomEnterprise] = MailroomEnterprise(employee_number="E1906", department="Navy")
    return user


def test_the_provider_creates_reads_finds_replaces_patches_and_deletes_a_person(scim):
    created = scim.create(_grace())
    assert created.id and created.user_name == "grace@example.org"
    person = Recipient.objects.get(employee_id="E1906")
    assert (person.first_name, person.last_name, person.department_name) == (
        "Grace",
        "Hopper",
        "Navy",
    )
    assert person.scim_user_name == "grace@example.org" and person.external_id == "a1b2c3"

    fetched = scim.query(ScimUser, created.id)
    assert fetched.name.family_name == "Hopper"
    assert fetched[MailroomEnterprise].employee_number == "E1906"

    found = scim.query(ScimUser, query_parameters={"filter": 'userName eq "GRACE@example.org"'})
    assert found.total_results == 1 and found.resources[0].id == created.id
    none = scim.query(ScimUser, query_parameters={"filter": 'userName eq "nobody@example.org"'})
    assert none.total_results == 0

    fetched.name.family_name = "Murray Hopper"
    fetched[MailroomEnterprise].department = "Computing"
    replaced = scim.replace(fetched)
    assert replaced.name.family_name == "Murray Hopper"
    person.refresh_from_db()
    assert person.last_name == "Murray Hopper" and person.department_name == "Computing"

    patch = PatchOp[ScimUser](
        operations=[PatchOperation[ScimUser](op="replace", path="active", value=False)]
    )
    scim.modify(ScimUser, created.id, patch)
    person.refresh_from_db()
    assert not person.active

    scim.delete(ScimUser, created.id)
    person.refresh_from_db()
    assert not person.active and person.scim_user_name == ""
    actions = list(
        LedgerEntry.objects.filter(subject_id="E1906")
        .order_by("seq")
        .values_list("actor", "action")
    )
    assert [a for _, a in actions] == [
        "directory.recipient.created",
        "directory.recipient.updated",
        "directory.recipient.deactivated",
        "directory.recipient.unlinked",
    ]
    assert {actor for actor, _ in actions} == {"device:scim-entra"}


def test_listing_pages_through_everyone_synced(scim):
    for n in range(5):
        user = _grace()
        user.user_name = f"person{n}@example.org"
        user.emails = [EmailAddress(value=f"person{n}@example.org")]
        user[MailroomEnterprise] = MailroomEnterprise(employee_number=f"P{n}")
        scim.create(user)
    page = scim.query(ScimUser, query_parameters={"start_index": 3, "count": 2})
    assert page.total_results == 5 and page.start_index == 3
    assert [u.user_name for u in page.resources] == ["person2@example.org", "person3@example.org"]


def test_refusals_are_scim_errors_naming_the_attribute(http, scim, live_server):
    scim.create(_grace())
    again = http.post(
        "/Users", json=_grace().model_dump(), headers={"Content-Type": "application/scim+json"}
    )
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    assert again.json()["detail"] == "employeeNumber: employee E1906 exists already"
    twin = _grace()
    twin[MailroomEnterprise] = MailroomEnterprise(employee_number="E2000")
    taken = http.post("/Users", json=twin.model_dump())
    assert taken.status_code == 409 and taken.json()["detail"].startswith("userName:")
    missing = http.get("/Users/999999")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "application/scim+json"
    )
    bad_filter = http.get("/Users", params={"filter": "userName eq"})
    assert bad_filter.status_code == 400 and bad_filter.json()["scimType"] == "invalidFilter"
    no_token = httpx.get(f"{live_server.url}/scim/v2/Users")
    assert no_token.status_code == 401


def test_only_an_identity_providers_token_is_accepted(live_server, idp_token):
    other = issue_token(ADMIN, name="scanner", role="security_manager", device="xray-1").secret
    answer = httpx.get(
        f"{live_server.url}/scim/v2/Users", headers={"Authorization": f"Bearer {other}"}
    )
    assert answer.status_code == 403
    # And the provider's token reaches nothing but SCIM.
    api = httpx.get(
        f"{live_server.url}/api/recipients", headers={"Authorization": f"Bearer {idp_token}"}
    )
    assert api.status_code == 403


def test_scim2_testers_checks_pass(http):
    from scim2_tester import check_server
    from scim2_tester.utils import Status

    results = check_server(SyncSCIMClient(http))
    failed = [
        (r.title, r.reason) for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    assert failed == []
    # Discovery, every CRUD and PATCH check on User, and the random-URL check all ran.
    passed = {r.title for r in results if r.status == Status.SUCCESS}
    assert len(results) > 20 and {"object_creation", "object_replacement", "random_url"} <= passed


def test_entra_style_patches_deactivate_and_change_email(http, scim):
    created = scim.create(_grace())
    # Entra capitalises the op, sends booleans as strings and names entries by filter.
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "gh@example.org"},
            {"op": "Replace", "path": "title", "value": "Rear admiral"},
        ],
    }
    answer = http.patch(f"/Users/{created.id}", json=patch)
    assert answer.status_code == 200, answer.text
    person = Recipient.objects.get(employee_id="E1906")
    assert not person.active and person.email == "gh@example.org"


def test_an_entra_style_creation_with_attributes_a_recipient_does_not_hold(http):
    payload = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": "0f1e",
        "userName": "KJohnson@contoso.example",
        "active": True,
        "displayName": "Katherine Johnson",
        "title": "Mathematician",
        "emails": [{"primary": True, "type": "work", "value": "kj@contoso.example"}],
        "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
        "addresses": [{"type": "work", "locality": "Hampton", "primary": True}],
        "name": {"givenName": "Katherine", "familyName": "Johnson", "formatted": "K Johnson"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "N1953",
            "department": "Flight Research",
            "costCenter": "42",
        },
    }
    answer = http.post("/Users", json=payload)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"].endswith(f"/scim/v2/Users/{answer.json()['id']}")
    person = Recipient.objects.get(employee_id="N1953")
    assert (person.email, person.phone, person.department_name) == (
        "kj@contoso.example",
        "+1 555 0100",
        "Flight Research",
    )
    found = http.get("/Users", params={"filter": 'userName eq "kjohnson@contoso.example"'})
    assert found.json()["totalResults"] == 1


def test_a_synced_persons_page_says_so(scim, live_server):
    from django.test import Client

    from mailwarden.core.roles import Role
    from mailwarden.core.services import create_user

    created = scim.create(_grace())
    clerk = create_user(
        ADMIN, "clerk", password="x" * 12, roles=[Role.CLERK.value], check_password=False
    )
    client = Client()
    client.force_login(clerk)
    body = client.get(f"/recipients/{created.id}/").content.decode()
    assert "Synced from the identity provider as" in body and "grace@example.org" in body
