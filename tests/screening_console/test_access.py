"""Who may open each screening page and who may act on it; a refusal changes nothing."""

from __future__ import annotations

import re

import pytest

from mailwarden.core.roles import Role
from tests.screening.conftest import snapshot

PAGES = ("/screening/", "/screening/items/{uid}/", "/screening/quarantine/", "/screening/policy/")

# role -> the pages (by index in PAGES) it may open
ALLOWED = {
    Role.SCREENER: {0, 1, 2},
    Role.SECURITY_MANAGER: {0, 1, 2, 3},
    Role.AUDITOR: {0, 1, 2, 3},
    Role.ADMIN: {0, 1, 2, 3},
    Role.CLERK: set(),
    Role.RECIPIENT: set(),
    Role.SECURITY_OPERATOR: set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_page_renders_for_its_roles_and_refuses_the_others(signed_in, item, role):
    client = signed_in(role)
    for index, page in enumerate(PAGES):
        response = client.get(page.format(uid=item.uid))
        expected = 200 if index in ALLOWED[role] else 403
        assert response.status_code == expected, (role, page)
        if expected == 403:
            assert "needs one of these roles" in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client, item):
    for page in PAGES:
        response = client.get(page.format(uid=item.uid))
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_an_unknown_item_is_not_found(signed_in, db):
    assert signed_in(Role.SCREENER).get("/screening/items/MW-00000000/").status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CLERK, Role.RECIPIENT])
def test_readers_and_outsiders_cannot_act(signed_in, item, role):
    client = signed_in(role)
    before = snapshot()
    posts = [
        (f"/screening/items/{item.uid}/decide/", {"decision": "clear"}),
        (f"/screening/items/{item.uid}/confirm/", {"decision_id": 1}),
        (f"/screening/items/{item.uid}/scans/", {}),
        (f"/screening/quarantine/{item.uid}/propose/", {"outcome": "released", "reason": "x"}),
        ("/screening/quarantine/requests/1/confirm/", {}),
        ("/screening/policy/", {"high_at": 6}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert snapshot() == before


def test_the_auditor_reads_the_workstation_without_the_decision_form(signed_in, item):
    body = signed_in(Role.AUDITOR).get(f"/screening/items/{item.uid}/").content.decode()
    assert "data-decide" not in body
    assert "Read only" in body


def nav(body: str) -> list[str]:
    return [
        t.strip()
        for t in re.findall(r'class="nav-link[^"]*"[^>]*>.*?<span>([^<]+)</span>', body, re.S)
    ]


def test_navigation_offers_screening_to_the_right_roles(signed_in, item):
    screener = nav(signed_in(Role.SCREENER).get("/screening/").content.decode())
    assert "Screening queue" in screener and "Quarantine" in screener
    assert "Screening policy" not in screener
    manager = nav(signed_in(Role.SECURITY_MANAGER).get("/screening/").content.decode())
    assert {"Screening queue", "Quarantine", "Screening policy"} <= set(manager)
    auditor = nav(signed_in(Role.AUDITOR).get("/screening/").content.decode())
    assert {"Screening queue", "Quarantine", "Screening policy"} <= set(auditor)
    clerk = nav(signed_in(Role.CLERK).get("/").content.decode())
    assert not {"Screening queue", "Quarantine", "Screening policy"} & set(clerk)


def test_the_workstation_is_marked_as_part_of_the_queue_section(signed_in, item):
    body = signed_in(Role.SCREENER).get(f"/screening/items/{item.uid}/").content.decode()
    assert re.search(r'href="/screening/" class="nav-link is-active"', body)
