"""Every console page checks the role: allowed roles see it, others get a friendly 403."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mailwarden.core.roles import HANDOVER, INTAKE, MANAGE_DIRECTORY, VIEW_ITEMS, Role
from mailwarden.core.services import MANAGE_SECURITY

EVERYONE = tuple(Role)

# (url, roles that may open it). Admin passes every role check, as in the services.
PAGES = [
    ("/", VIEW_ITEMS),
    ("/intake/", INTAKE),
    ("/items/", VIEW_ITEMS),
    ("/items/{uid}/", VIEW_ITEMS),
    ("/items/{uid}/label.png", VIEW_ITEMS),
    ("/pickup/", HANDOVER),
    ("/pickup/{uid}/", HANDOVER),
    ("/recipients/", VIEW_ITEMS),
    ("/recipients/import/", MANAGE_DIRECTORY),
    ("/my/", (Role.RECIPIENT,)),
    ("/settings/security/", MANAGE_SECURITY),
    ("/mfa/setup/", EVERYONE),
]


def _allowed(role: Role, roles: tuple[Role, ...]) -> bool:
    return role == Role.ADMIN or role in roles


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_page_is_shown_or_refused_by_role(as_role, item, role):
    client = as_role(role)
    refused = 0
    for template, roles in PAGES:
        url = template.format(uid=item.uid)
        response = client.get(url)
        if url == "/" and role == Role.RECIPIENT:
            # A recipient's start page is their own mail.
            assert response.status_code == 302 and response["Location"] == "/my/"
        elif _allowed(role, roles):
            assert response.status_code == 200, (url, role, response.status_code)
        else:
            refused += 1
            assert response.status_code == 403, (url, role, response.status_code)
            body = response.content.decode()
            assert "This page is not available to you" in body
            assert "needs one of these roles" in body
    # Admin passes every role check by design; everyone else meets at least one refusal.
    assert refused > 0 or role == Role.ADMIN


NAV_LINKS = {
    "/intake/": INTAKE,
    "/items/": VIEW_ITEMS,
    "/pickup/": HANDOVER,
    "/recipients/": VIEW_ITEMS,
    "/settings/security/": MANAGE_SECURITY,
}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_navigation_shows_only_what_the_role_can_use(as_role, db, role):
    # Shown to some roles and refused to others: both answers carry the navigation.
    body = as_role(role).get("/settings/security/").content.decode()
    nav = re.search(r'<nav class="nav".*?</nav>', body, re.S)
    assert nav is not None
    links = set(re.findall(r'href="([^"]+)"', nav.group(0)))
    for url, roles in NAV_LINKS.items():
        assert (url in links) == _allowed(role, roles), (role, url)
    # "My mail" means something only to a recipient, so admin does not get it either.
    assert ("/my/" in links) == (role == Role.RECIPIENT)


def test_signed_out_visitors_are_sent_to_sign_in(item):
    client = Client()
    for template, _ in PAGES:
        url = template.format(uid=item.uid)
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_htmx_request_after_the_session_ends_redirects_the_whole_page(db):
    response = Client().get("/items/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/login/"


def test_pages_carry_a_strict_csp_and_no_inline_script_or_style(as_role, item):
    client = as_role(Role.ADMIN)
    for template, _ in PAGES:
        url = template.format(uid=item.uid)
        response = client.get(url)
        csp = response.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        if response["Content-Type"].startswith("text/html"):
            body = response.content.decode()
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), url
            assert not re.search(r"\sstyle=", body), url
            assert not re.search(r"\son[a-z]+=", body), url


def test_unknown_item_is_a_404_page(as_role, db):
    response = as_role(Role.CLERK).get("/items/MW-NOTHERE1/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()
