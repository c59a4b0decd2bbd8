"""The screening policy page: a security manager changes it through update_policy, each refusal
next to its field; auditors read it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.screening import services
from mailwarden.screening.models import SitePolicy
from tests.factories import make_site
from tests.screening.conftest import snapshot


def form_data(body: str) -> dict[str, Any]:
    """What the browser would send for the page's policy form as drawn."""
    form = re.search(r'<form method="post" action="/screening/policy/".*?</form>', body, re.S)
    assert form
    html = form.group(0)
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) != "csrfmiddlewaretoken":
            data[name.group(1)] = value.group(1) if value else ""
    for name, inner in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        data[name] = re.search(r'<option value="([^"]+)"[^>]*selected', inner).group(1)
    for name, text in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[name] = text.strip()
    return data


@pytest.fixture
def manager(signed_in, site):
    return signed_in(Role.SECURITY_MANAGER)


def current(client) -> dict[str, Any]:
    response = client.get("/screening/policy/")
    assert response.status_code == 200
    return form_data(response.content.decode())


def field_error(body: str, field: str) -> str:
    found = re.search(rf'data-field-error="{field}">([^<]+)<', body)
    assert found, f"no error at {field}"
    return found.group(1)


def test_the_form_shows_the_policy_in_force(manager, site):
    data = current(manager)
    assert (data["elevated_at"], data["high_at"], data["critical_at"]) == ("2", "5", "9")
    assert data["action_elevated"] == "second_screener"
    assert data["xray_knife"] == "high" and data["xray_explosive"] == "critical"
    assert data["weight_protruding-wires"] == "5"
    assert data["confirm_within_minutes"] == "30"
    assert data["expected_version"] == "0"


def test_a_manager_changes_thresholds_weights_and_lists(manager, site):
    data = current(manager)
    data.update(
        {
            "high_at": "6",
            "weight_excessive-tape": "4",
            "high_risk_departments": "Finance\nExecutive Office",
            "confirm_within_minutes": "20",
        }
    )
    response = manager.post("/screening/policy/", data)
    assert response.status_code == 302
    view = services.site_policy(site)
    assert view.policy.high_at == 6
    assert view.policy.indicator_weights["excessive-tape"] == 4
    assert view.high_risk_departments == ("Finance", "Executive Office")
    assert view.confirm_within_minutes == 20
    entry = ledger.entry_data(ledger.entries_for("site", site.code)[-1])
    assert entry["version"] == 1
    assert entry["indicator_weights"] == {"excessive-tape": 4}
    assert set(entry) == {
        "version",
        "high_at",
        "indicator_weights",
        "high_risk_departments",
        "confirm_within_minutes",
    }
    body = manager.get(response["Location"]).content.decode()
    assert "saved (version 1)" in body
    assert "version 1, changed by security_manager" in body


def test_saving_an_unchanged_form_changes_nothing(manager, site):
    before = snapshot()
    response = manager.post("/screening/policy/", current(manager))
    assert response.status_code == 302
    assert "Nothing changed" in manager.get(response["Location"]).content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"high_at": "2"}, "high_at", "must be above elevated_at (2)"),
        ({"critical_at": "4"}, "critical_at", "must be above high_at (5)"),
        ({"action_critical": "second_screener"}, "actions", "higher tier must never require less"),
        (
            {
                "action_low": "second_screener",
                "action_high": "second_screener",
                "action_critical": "second_screener",
            },
            "action_critical",
            "quarantined or evacuated",
        ),
        ({"weight_lopsided": "101"}, "weight_lopsided", "less than or equal to 100"),
        ({"xray_min_score": "1.5"}, "xray_min_score", "less than or equal to 1"),
        ({"confirm_within_minutes": "0"}, "confirm_within_minutes", "greater than or equal to 1"),
        ({"high_risk_employee_ids": "E1\n" + "x" * 41}, "high_risk_employee_ids", "1 to 40"),
    ],
)
def test_refusals_are_shown_next_to_their_field(manager, site, change, field, words):
    data = {**current(manager), **change}
    before = snapshot()
    response = manager.post("/screening/policy/", data)
    assert response.status_code == 400
    assert words in field_error(response.content.decode(), field)
    assert snapshot() == before


def test_a_policy_changed_meanwhile_is_not_overwritten(manager, site):
    data = current(manager)
    services.update_policy(
        Actor("user", "max", frozenset({Role.SECURITY_MANAGER}), 7),
        site.code,
        services.PolicyUpdate(high_at=7),
    )
    response = manager.post("/screening/policy/", {**data, "critical_at": "12"})
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    assert SitePolicy.objects.get(site=site).critical_at == 9


def test_each_site_has_its_own_policy(manager, site):
    other = make_site("annex")
    body = manager.get("/screening/policy/", {"site": "annex"}).content.decode()
    assert '<option value="annex" selected>' in body
    data = {**form_data(body), "elevated_at": "3"}
    assert data["site"] == "annex"
    assert manager.post("/screening/policy/", data).status_code == 302
    assert services.site_policy(other).policy.elevated_at == 3
    assert services.site_policy(site).policy.elevated_at == 2


def test_the_auditor_reads_the_policy_and_cannot_save_it(signed_in, site):
    auditor = signed_in(Role.AUDITOR)
    body = auditor.get("/screening/policy/").content.decode()
    assert "Read only" in body and "Save policy" not in body
    assert re.search(r'name="high_at" value="5"[^>]*disabled', body)
    assert auditor.post("/screening/policy/", {"high_at": "6"}).status_code == 403
