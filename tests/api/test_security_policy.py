"""The two-factor policy over the API, as a security manager sets it in the console."""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.models import LedgerHead
from mailwarden.core.roles import Role
from tests.api.conftest import Api, assert_refused, token_for

PATH = "/api/security/mfa-policy"


def head() -> tuple[int, str] | None:
    return LedgerHead.objects.filter(id=1).values_list("seq", "hash").first()


@pytest.fixture
def manager(db) -> Api:
    return Api(token_for(Role.SECURITY_MANAGER))


def test_a_manager_reads_and_changes_the_policy(manager):
    before = manager.get(PATH)
    assert before.status_code == 200, before.content
    assert set(before.json()["roles"]) == {r.value for r in Role}
    assert before.json()["roles"]["clerk"] is False
    changed = manager.patch(PATH, {"roles": {"clerk": True, "auditor": True}})
    assert changed.status_code == 200, changed.content
    roles = changed.json()["roles"]
    assert roles["clerk"] is True and roles["auditor"] is True
    assert roles["screener"] == before.json()["roles"]["screener"]
    assert manager.get(PATH).json() == changed.json()
    entries = ledger.entries_for("role", "clerk")
    assert [ledger.entry_data(e)["mfa_required"] for e in entries] == [True]


def test_saving_what_is_already_set_records_nothing(manager):
    manager.patch(PATH, {"roles": {"clerk": True}})
    mark = head()
    again = manager.patch(PATH, {"roles": {"clerk": True}})
    assert again.status_code == 200, again.content
    assert head() == mark


@pytest.mark.parametrize("role", [Role.SECURITY_OPERATOR, Role.CLERK, Role.AUDITOR, Role.SCREENER])
def test_other_roles_can_neither_read_nor_change_it(db, role):
    api = Api(token_for(role))
    mark = head()
    assert_refused(api.get(PATH), 403, None)
    assert_refused(api.patch(PATH, {"roles": {role.value: False}}), 403, None)
    assert head() == mark


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"roles": {}}, "roles"),
        ({"roles": {"janitor": True}}, "roles.janitor.[key]"),
        ({}, "roles"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(manager, body, field):
    mark = head()
    body_out = assert_refused(manager.patch(PATH, body), 422, field)
    assert body_out["message"]
    assert head() == mark
